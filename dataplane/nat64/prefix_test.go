package nat64_test

import (
	"errors"
	"math/rand"
	"net/netip"
	"testing"

	"xdpgw/dataplane/nat64"
)

// TestPrefixRFC6052Examples: the examples of RFC 6052 §2.4 (Table 1: the
// Well-Known Prefix; Table 2: each network-specific prefix length).
func TestPrefixRFC6052Examples(t *testing.T) {
	tests := []struct {
		prefix string
		v4     [4]byte
		want   string
	}{
		{"64:ff9b::/96", [4]byte{192, 0, 2, 33}, "64:ff9b::192.0.2.33"},
		{"2001:db8::/32", [4]byte{192, 0, 2, 33}, "2001:db8:c000:221::"},
		{"2001:db8:100::/40", [4]byte{192, 0, 2, 33}, "2001:db8:1c0:2:21::"},
		{"2001:db8:122::/48", [4]byte{192, 0, 2, 33}, "2001:db8:122:c000:2:2100::"},
		{"2001:db8:122:300::/56", [4]byte{192, 0, 2, 33}, "2001:db8:122:3c0:0:221::"},
		{"2001:db8:122:344::/64", [4]byte{192, 0, 2, 33}, "2001:db8:122:344:c0:2:2100:0"},
		{"2001:db8:122:344::/96", [4]byte{192, 0, 2, 33}, "2001:db8:122:344::192.0.2.33"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			p, err := nat64.NewPrefix(netip.MustParsePrefix(tt.prefix))
			if err != nil {
				t.Fatal(err)
			}
			want := netip.MustParseAddr(tt.want).As16()
			got := p.Embed(tt.v4)
			if got != want {
				t.Errorf("Embed(%v) = %v, want %v", tt.v4, netip.AddrFrom16(got), tt.want)
			}
			if !p.Contains(&want) {
				t.Errorf("Contains(%s) = false", tt.want)
			}
			v4, ok := p.Extract(&want)
			if !ok || v4 != tt.v4 {
				t.Errorf("Extract(%s) = %v, %v; want %v, true", tt.want, v4, ok, tt.v4)
			}
			if got := p.Prefix().String(); got != tt.prefix {
				t.Errorf("Prefix() = %s, want %s", got, tt.prefix)
			}
			if p.Bits() != netip.MustParsePrefix(tt.prefix).Bits() {
				t.Errorf("Bits() = %d", p.Bits())
			}
		})
	}
}

func TestPrefixRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, s := range []string{"2001:db8::/32", "2001:db8:100::/40", "2001:db8:122::/48",
		"2001:db8:122:300::/56", "2001:db8:122:344::/64", "64:ff9b::/96", "fd00:64::/96"} {
		p := nat64.MustPrefix(s)
		for i := 0; i < 1000; i++ {
			var v4 [4]byte
			rng.Read(v4[:])
			a := p.Embed(v4)
			if a[8] != 0 {
				t.Fatalf("%s: Embed(%v) sets the u octet: %v", s, v4, netip.AddrFrom16(a))
			}
			if got, ok := p.Extract(&a); !ok || got != v4 {
				t.Fatalf("%s: Extract(Embed(%v)) = %v, %v", s, v4, got, ok)
			}
			// Suffix bits are zero (RFC 6052 §2.2).
			if p.Bits() < 96 {
				for _, b := range a[13:] {
					if b != 0 {
						t.Fatalf("%s: suffix not zero in %v", s, netip.AddrFrom16(a))
					}
				}
			}
		}
	}
}

func TestPrefixNotContained(t *testing.T) {
	p := nat64.MustPrefix("2001:db8:122::/48")
	for _, s := range []string{"2001:db8:123::1", "2001:db9:122::", "::", "64:ff9b::1.2.3.4"} {
		a := netip.MustParseAddr(s).As16()
		if p.Contains(&a) {
			t.Errorf("Contains(%s) = true", s)
		}
		if _, ok := p.Extract(&a); ok {
			t.Errorf("Extract(%s) ok", s)
		}
	}
	a := netip.MustParseAddr("2001:db8:122:ffff::").As16()
	if !p.Contains(&a) {
		t.Errorf("Contains(2001:db8:122:ffff::) = false")
	}
}

func TestNewPrefixErrors(t *testing.T) {
	tests := []struct {
		in   netip.Prefix
		want error
	}{
		{netip.MustParsePrefix("192.0.2.0/24"), nat64.ErrPrefixNotIPv6},
		{netip.MustParsePrefix("::ffff:0:0/96"), nat64.ErrPrefixNotIPv6},
		{netip.Prefix{}, nat64.ErrPrefixNotIPv6},
		{netip.MustParsePrefix("2001:db8::/33"), nat64.ErrPrefixLength},
		{netip.MustParsePrefix("2001:db8::/128"), nat64.ErrPrefixLength},
		{netip.MustParsePrefix("2001:db8::1/96"), nat64.ErrPrefixHostBits},
		{netip.MustParsePrefix("2001:db8:0:0:ff00::/96"), nat64.ErrPrefixUOctetSet},
	}
	for _, tt := range tests {
		if _, err := nat64.NewPrefix(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("NewPrefix(%v) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestWellKnownPrefixEmbeddable(t *testing.T) {
	wkp := nat64.MustPrefix("64:ff9b::/96")
	nsp := nat64.MustPrefix("fd00:64::/96")
	if !wkp.IsWellKnown() || nsp.IsWellKnown() {
		t.Fatalf("IsWellKnown: wkp %v nsp %v", wkp.IsWellKnown(), nsp.IsWellKnown())
	}
	tests := []struct {
		v4     [4]byte
		global bool
	}{
		{[4]byte{2, 2, 2, 11}, true},
		{[4]byte{8, 8, 8, 8}, true},
		{[4]byte{10, 0, 0, 7}, false},
		{[4]byte{172, 16, 0, 1}, false},
		{[4]byte{172, 32, 0, 1}, true},
		{[4]byte{192, 168, 1, 1}, false},
		{[4]byte{100, 64, 0, 1}, false},
		{[4]byte{100, 128, 0, 1}, true},
		{[4]byte{127, 0, 0, 1}, false},
		{[4]byte{169, 254, 1, 1}, false},
		{[4]byte{192, 0, 2, 1}, false},
		{[4]byte{198, 18, 0, 1}, false},
		{[4]byte{198, 51, 100, 1}, false},
		{[4]byte{203, 0, 113, 1}, false},
		{[4]byte{224, 0, 0, 1}, false},
		{[4]byte{0, 1, 2, 3}, false},
	}
	for _, tt := range tests {
		if got := wkp.EmbeddableV4(tt.v4); got != tt.global {
			t.Errorf("wkp.EmbeddableV4(%v) = %v, want %v", tt.v4, got, tt.global)
		}
		if !nsp.EmbeddableV4(tt.v4) {
			t.Errorf("nsp.EmbeddableV4(%v) = false", tt.v4)
		}
	}
}
