package p4rt_test

import (
	"errors"
	"net/netip"
	"testing"

	"xdpgw/control/p4rt"
)

func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty is zero", nil, "\x00"},
		{"zero", []byte{0, 0, 0}, "\x00"},
		{"strip", []byte{0, 0, 1, 0}, "\x01\x00"},
		{"keep", []byte{0x80, 0}, "\x80\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(p4rt.Canonical(tc.in)); got != tc.want {
				t.Fatalf("Canonical(%x) = %x, want %x", tc.in, got, tc.want)
			}
		})
	}
}

func TestUintWidths(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    uint64
		bits int
		want string
		err  bool
	}{
		{"zero", 0, 17, "\x00", false},
		{"index max", 65536, 17, "\x01\x00\x00", false},
		{"index over", 1 << 17, 17, "", true},
		{"one bit", 1, 1, "\x01", false},
		{"one bit over", 2, 1, "", true},
		{"port", 511, 9, "\x01\xff", false},
		{"port over", 512, 9, "", true},
		{"u32", 0xc6336400, 32, "\xc6\x33\x64\x00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p4rt.Uint(tc.v, tc.bits)
			if tc.err {
				if !errors.Is(err, p4rt.ErrWidth) {
					t.Fatalf("Uint(%d, %d) = %x, %v; want ErrWidth", tc.v, tc.bits, got, err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Uint(%d, %d) = %x, %v; want %x", tc.v, tc.bits, got, err, tc.want)
			}
			back, err := p4rt.ToUint(got)
			if err != nil || back != tc.v {
				t.Fatalf("ToUint(%x) = %d, %v", got, back, err)
			}
		})
	}
	// Padded strings are accepted if the value fits (spec 8.4).
	if !p4rt.Fits([]byte{0, 0, 0, 1, 0xff}, 9) || p4rt.Fits([]byte{0, 2, 0}, 9) {
		t.Fatal("Fits on padded strings")
	}
	b, err := p4rt.IPv4(netip.MustParseAddr("0.0.1.2"))
	if err != nil || string(b) != "\x01\x02" {
		t.Fatalf("IPv4(0.0.1.2) = %x, %v", b, err)
	}
	if _, err := p4rt.IPv4(netip.MustParseAddr("::1")); err == nil {
		t.Fatal("IPv4 of an IPv6 address")
	}
}
