package nat64

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Prefix is an IPv6 prefix under which IPv4 addresses are embedded
// (RFC 6052 §2.2):
//
//	+--+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//	|PL| 0-------------32--40--48--56--64--72--80--88--96--104---------|
//	+--+---------------------------------------------------------------+
//	|32|     prefix    |v4(32)         | u | suffix                    |
//	|40|     prefix        |v4(24)     | u |(8)| suffix                |
//	|48|     prefix            |v4(16) | u | (16)  | suffix            |
//	|56|     prefix                |(8)| u |  v4(24)   | suffix        |
//	|64|     prefix                    | u |   v4(32)      | suffix    |
//	|96|     prefix                                    |    v4(32)     |
//	+--+---------------------------------------------------------------+
//
// Bits 64-71 (the "u" octet) are skipped and always zero; so are the suffix
// bits. The zero value contains nothing: build one with NewPrefix. A Prefix is
// immutable after NewPrefix and safe to share between workers.
type Prefix struct {
	addr [16]byte // the prefix bits, every other bit zero
	bits uint8    // prefix length in bits
	pos  [4]uint8 // byte index of each IPv4 octet in the IPv6 address
	// Contains compares the first 12 bytes as two masked words.
	hi, hiMask uint64
	lo, loMask uint32
}

// WellKnownPrefix is 64:ff9b::/96, the Well-Known Prefix (RFC 6052 §2.1).
var WellKnownPrefix = netip.MustParsePrefix("64:ff9b::/96")

// Errors returned by NewPrefix.
var (
	ErrPrefixNotIPv6   = errors.New("nat64 prefix: not an IPv6 prefix")
	ErrPrefixLength    = errors.New("nat64 prefix: length must be 32, 40, 48, 56, 64 or 96 (RFC 6052 §2.2)")
	ErrPrefixHostBits  = errors.New("nat64 prefix: bits set beyond the prefix length")
	ErrPrefixUOctetSet = errors.New("nat64 prefix: bits 64-71 must be zero (RFC 6052 §2.2)")
)

// NewPrefix checks p and returns the Prefix that embeds IPv4 addresses
// under it. p must be IPv6 (not IPv4-mapped), of one of the six lengths of
// RFC 6052 §2.2, with no bit set beyond its length and none in bits 64-71.
func NewPrefix(p netip.Prefix) (Prefix, error) {
	a := p.Addr()
	if !p.IsValid() || !a.Is6() || a.Is4In6() {
		return Prefix{}, ErrPrefixNotIPv6
	}
	var px Prefix
	switch p.Bits() {
	case 32:
		px.pos = [4]uint8{4, 5, 6, 7}
	case 40:
		px.pos = [4]uint8{5, 6, 7, 9}
	case 48:
		px.pos = [4]uint8{6, 7, 9, 10}
	case 56:
		px.pos = [4]uint8{7, 9, 10, 11}
	case 64:
		px.pos = [4]uint8{9, 10, 11, 12}
	case 96:
		px.pos = [4]uint8{12, 13, 14, 15}
	default:
		return Prefix{}, ErrPrefixLength
	}
	if p.Masked() != p {
		return Prefix{}, ErrPrefixHostBits
	}
	px.addr = a.As16()
	if px.addr[8] != 0 {
		return Prefix{}, ErrPrefixUOctetSet
	}
	px.bits = uint8(p.Bits())
	px.hiMask = ^uint64(0) << (64 - min(p.Bits(), 64))
	if p.Bits() > 64 {
		px.loMask = ^uint32(0) << (96 - p.Bits())
	}
	px.hi = binary.BigEndian.Uint64(px.addr[0:8])
	px.lo = binary.BigEndian.Uint32(px.addr[8:12])
	return px, nil
}

// MustPrefix is NewPrefix for constants in tests and defaults: it panics
// on an invalid prefix.
func MustPrefix(s string) Prefix {
	px, err := NewPrefix(netip.MustParsePrefix(s))
	if err != nil {
		panic(err)
	}
	return px
}

// Bits returns the prefix length.
func (p *Prefix) Bits() int { return int(p.bits) }

// Prefix returns p as a netip.Prefix.
func (p *Prefix) Prefix() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16(p.addr), int(p.bits))
}

// IsWellKnown reports whether p is 64:ff9b::/96.
func (p *Prefix) IsWellKnown() bool { return p.bits == 96 && p.addr == wkp }

var wkp = [16]byte{0x00, 0x64, 0xff, 0x9b}

// Embed returns the IPv4-embedded IPv6 address of v4 under p (RFC 6052
// §2.2): the prefix, the IPv4 octets around the u octet, a zero suffix.
func (p *Prefix) Embed(v4 [4]byte) [16]byte {
	a := p.addr
	a[p.pos[0]&15] = v4[0]
	a[p.pos[1]&15] = v4[1]
	a[p.pos[2]&15] = v4[2]
	a[p.pos[3]&15] = v4[3]
	return a
}

// Contains reports whether v6 is under p. Only the prefix bits are
// compared: the u octet and the suffix are not checked, as RFC 6052 §2.2
// only requires that they be generated as zero.
func (p *Prefix) Contains(v6 *[16]byte) bool {
	return p.bits != 0 && binary.BigEndian.Uint64(v6[0:8])&p.hiMask == p.hi &&
		binary.BigEndian.Uint32(v6[8:12])&p.loMask == p.lo
}

// Extract returns the IPv4 address embedded in v6 (RFC 6052 §2.3), or
// false if v6 is not under p.
func (p *Prefix) Extract(v6 *[16]byte) ([4]byte, bool) {
	if !p.Contains(v6) {
		return [4]byte{}, false
	}
	return [4]byte{v6[p.pos[0]&15], v6[p.pos[1]&15], v6[p.pos[2]&15], v6[p.pos[3]&15]}, true
}

// EmbeddableV4 reports whether v4 may be embedded under p. RFC 6052 §3.1
// forbids the Well-Known Prefix for non-global IPv4 addresses (RFC 6890
// special-purpose blocks: "this network", private, shared, loopback,
// link-local, IETF protocol assignments, documentation, benchmarking,
// reserved, multicast); a network-specific prefix may embed any address.
// The stateful layer checks this when it creates state, not per packet.
func (p *Prefix) EmbeddableV4(v4 [4]byte) bool {
	if !p.IsWellKnown() {
		return true
	}
	return IsGlobalV4(v4)
}

// IsGlobalV4 reports whether v4 lies outside the non-global special-purpose
// blocks listed with EmbeddableV4. An address whose first octet starts none
// of them (most: the stateful NAT64 asks per packet) is answered from a
// table, inline.
func IsGlobalV4(v4 [4]byte) bool {
	return !nonGlobalTop[v4[0]] || isGlobalV4(v4)
}

// nonGlobalTop is true for each first octet of a block that isGlobalV4
// excludes (whole or in part).
var nonGlobalTop = func() (t [256]bool) {
	for _, a := range []int{0, 10, 100, 127, 169, 172, 192, 198, 203} {
		t[a] = true
	}
	for a := 224; a < 256; a++ { // 224/4, 240/4
		t[a] = true
	}
	return t
}()

// isGlobalV4 is IsGlobalV4 without the table.
func isGlobalV4(v4 [4]byte) bool {
	a, b, c := v4[0], v4[1], v4[2]
	switch {
	case a == 0, a == 10, a == 127, a >= 224: // 0/8, 10/8, 127/8, 224/4, 240/4
		return false
	case a == 100 && b&0xc0 == 64: // 100.64/10
		return false
	case a == 169 && b == 254, a == 172 && b&0xf0 == 16, a == 192 && b == 168:
		return false
	case a == 192 && b == 0 && (c == 0 || c == 2): // 192.0.0/24, 192.0.2/24
		return false
	case a == 198 && (b&0xfe == 18 || b == 51 && c == 100): // 198.18/15, 198.51.100/24
		return false
	case a == 203 && b == 0 && c == 113: // 203.0.113/24
		return false
	}
	return true
}
