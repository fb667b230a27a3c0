package p4rt

import (
	"errors"
	"fmt"
	"net/netip"
)

// Entry encoding helpers: values of match fields and action parameters are
// byte strings of the P4Info bitwidth, in the canonical form of the
// P4Runtime spec (section 8.4, "Bytestrings"): big-endian, the shortest
// string that holds the value, at least one byte (0 is "\x00").

// ErrWidth is returned for a value that does not fit its bitwidth.
var ErrWidth = errors.New("value does not fit the bitwidth")

// Canonical strips leading zero bytes, keeping at least one byte. It does
// not copy when there is nothing to strip.
func Canonical(b []byte) []byte {
	i := 0
	for i < len(b)-1 && b[i] == 0 {
		i++
	}
	if len(b) == 0 {
		return []byte{0}
	}
	return b[i:]
}

// Fits reports whether the unsigned value b holds fits in bits bits, once
// leading zeros are ignored (spec 8.4: padded strings are accepted).
func Fits(b []byte, bits int) bool {
	c := Canonical(b)
	if len(c)*8 <= bits {
		return true
	}
	if len(c) > (bits+7)/8 {
		return false
	}
	// Same byte count: the excess high bits of the first byte must be 0.
	return c[0]>>(bits%8) == 0
}

// Bytes checks that b fits bits and returns its canonical form.
func Bytes(b []byte, bits int) ([]byte, error) {
	if bits <= 0 || !Fits(b, bits) {
		return nil, fmt.Errorf("%x in bit<%d>: %w", b, bits, ErrWidth)
	}
	return Canonical(b), nil
}

// Uint encodes v for a bit<bits> field.
func Uint(v uint64, bits int) ([]byte, error) {
	var b [8]byte
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
	return Bytes(b[:], bits)
}

// ToUint decodes a byte string of at most 64 significant bits.
func ToUint(b []byte) (uint64, error) {
	c := Canonical(b)
	if len(c) > 8 {
		return 0, fmt.Errorf("%x: %w", b, ErrWidth)
	}
	var v uint64
	for _, x := range c {
		v = v<<8 | uint64(x)
	}
	return v, nil
}

// IPv4 encodes an IPv4 address (bit<32>).
func IPv4(a netip.Addr) ([]byte, error) {
	if !a.Is4() {
		return nil, fmt.Errorf("%s is not IPv4: %w", a, ErrWidth)
	}
	b := a.As4()
	return Canonical(b[:]), nil
}

// MAC encodes a MAC address (bit<48>).
func MAC(m [6]byte) []byte { return Canonical(append([]byte(nil), m[:]...)) }

// Pad returns b left-padded with zeros to n bytes (for decoding fixed
// fields such as addresses); b must fit in n bytes once canonical.
func Pad(b []byte, n int) ([]byte, error) {
	c := Canonical(b)
	if len(c) > n {
		return nil, fmt.Errorf("%x in %d bytes: %w", b, n, ErrWidth)
	}
	out := make([]byte, n)
	copy(out[n-len(c):], c)
	return out, nil
}
