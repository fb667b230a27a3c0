package fib_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"xdpgw/dataplane/fib"
)

// ---- reference: a linear scan over all prefixes ----

type refRoute struct {
	hi, lo     uint64 // address, IPv4 in the top 32 bits of hi
	mhi, mlo   uint64 // mask
	bits       int
	nh         fib.NextHop
	is4        bool
	prefixText string
}

type ref struct{ routes []refRoute }

func mask128(bits int) (hi, lo uint64) {
	switch {
	case bits == 0:
		return 0, 0
	case bits <= 64:
		return ^uint64(0) << (64 - bits), 0
	default:
		return ^uint64(0), ^uint64(0) << (128 - bits)
	}
}

func newRef(routes []fib.Route) *ref {
	r := &ref{}
	for _, rt := range routes {
		p := rt.Prefix
		var rr refRoute
		rr.bits, rr.nh, rr.is4, rr.prefixText = p.Bits(), rt.NextHop, p.Addr().Is4(), p.String()
		if rr.is4 {
			a := p.Addr().As4()
			rr.hi = uint64(binary.BigEndian.Uint32(a[:])) << 32
			rr.mhi, _ = mask128(rr.bits)
		} else {
			a := p.Addr().As16()
			rr.hi, rr.lo = binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
			rr.mhi, rr.mlo = mask128(rr.bits)
		}
		r.routes = append(r.routes, rr)
	}
	return r
}

func (r *ref) lookup(is4 bool, hi, lo uint64) (fib.NextHop, bool) {
	best := -1
	var nh fib.NextHop
	for i := range r.routes {
		rr := &r.routes[i]
		if rr.is4 != is4 || rr.bits <= best {
			continue
		}
		if hi&rr.mhi == rr.hi && lo&rr.mlo == rr.lo {
			best, nh = rr.bits, rr.nh
		}
	}
	return nh, best >= 0
}

func (r *ref) lookup4(a [4]byte) (fib.NextHop, bool) {
	return r.lookup(true, uint64(binary.BigEndian.Uint32(a[:]))<<32, 0)
}

func (r *ref) lookup6(a [16]byte) (fib.NextHop, bool) {
	return r.lookup(false, binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]))
}

// ---- helpers ----

func mustPrefix(tb testing.TB, s string) netip.Prefix {
	tb.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func build(tb testing.TB, routes []fib.Route) *fib.Table {
	tb.Helper()
	b := fib.NewBuilder()
	for _, r := range routes {
		if err := b.Add(r); err != nil {
			tb.Fatal(err)
		}
	}
	return b.Build()
}

// nextHops is a pool of distinct next hops covering every field.
func nextHops(n int) []fib.NextHop {
	out := make([]fib.NextHop, n)
	for i := range out {
		nh := fib.NextHop{Port: uint16(i % 7)}
		switch i % 5 {
		case 0:
			nh.Via = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		case 1:
			nh.Via = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		case 2:
			nh.HasEncap = true
			nh.Encap = fib.Encap{Key: uint32(1000 + i), HasKey: i%2 == 0, OuterDst: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})}
		case 3:
			nh.Local = i%2 == 0
			nh.Blackhole = i%2 == 1
		case 4: // directly connected
		}
		out[i] = nh
	}
	return out
}

func addr4(v uint32) [4]byte {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return a
}

func addr6(hi, lo uint64) [16]byte {
	var a [16]byte
	binary.BigEndian.PutUint64(a[:8], hi)
	binary.BigEndian.PutUint64(a[8:], lo)
	return a
}

// randRoutes4 returns n distinct IPv4 routes of every length 0..32. The
// addresses come from a few clusters so that prefixes nest deeply.
func randRoutes4(rng *rand.Rand, n int, nhs []fib.NextHop) []fib.Route {
	clusters := make([]uint32, 1+n/64)
	for i := range clusters {
		clusters[i] = rng.Uint32()
	}
	return distinctRoutes(rng, n, nhs, func() netip.Prefix {
		a := clusters[rng.IntN(len(clusters))] ^ (rng.Uint32() >> rng.IntN(33) >> rng.IntN(8))
		bits := rng.IntN(33)
		if rng.IntN(3) == 0 {
			bits = 16 + rng.IntN(17)
		}
		p, _ := netip.AddrFrom4(addr4(a)).Prefix(bits)
		return p
	})
}

// distinctRoutes returns n routes to distinct prefixes drawn from next,
// each with a random one of nhs.
func distinctRoutes(rng *rand.Rand, n int, nhs []fib.NextHop, next func() netip.Prefix) []fib.Route {
	seen := map[netip.Prefix]bool{}
	var out []fib.Route
	for len(out) < n {
		p := next()
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, fib.Route{Prefix: p, NextHop: nhs[rng.IntN(len(nhs))]})
	}
	return out
}

// randRoutes6 is randRoutes4 for IPv6, lengths 0..128 (biased to <= 64).
func randRoutes6(rng *rand.Rand, n int, nhs []fib.NextHop) []fib.Route {
	type c struct{ hi, lo uint64 }
	clusters := make([]c, 1+n/64)
	for i := range clusters {
		clusters[i] = c{rng.Uint64(), rng.Uint64()}
	}
	return distinctRoutes(rng, n, nhs, func() netip.Prefix {
		cl := clusters[rng.IntN(len(clusters))]
		hi := cl.hi ^ (rng.Uint64() >> (16 + rng.IntN(49)))
		lo := cl.lo ^ (rng.Uint64() >> rng.IntN(65))
		var bits int
		switch rng.IntN(4) {
		case 0:
			bits = rng.IntN(129)
		case 1:
			bits = 64 + rng.IntN(65)
		default:
			bits = 16 + rng.IntN(49)
		}
		p, _ := netip.AddrFrom16(addr6(hi, lo)).Prefix(bits)
		return p
	})
}

// edges4 returns, for each route, its first and last address and the
// addresses just outside it.
func edges4(routes []fib.Route) [][4]byte {
	var out [][4]byte
	for _, r := range routes {
		if !r.Prefix.Addr().Is4() {
			continue
		}
		a := r.Prefix.Addr().As4()
		first := binary.BigEndian.Uint32(a[:])
		last := first | uint32(uint64(1)<<(32-r.Prefix.Bits())-1)
		out = append(out, addr4(first), addr4(last), addr4(first-1), addr4(last+1))
	}
	return out
}

func edges6(routes []fib.Route) [][16]byte {
	var out [][16]byte
	for _, r := range routes {
		if r.Prefix.Addr().Is4() {
			continue
		}
		a := r.Prefix.Addr().As16()
		hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
		mhi, mlo := mask128(r.Prefix.Bits())
		lhi, llo := hi|^mhi, lo|^mlo
		// first-1 and last+1 with carry across the halves
		phi, plo := hi, lo-1
		if lo == 0 {
			phi--
		}
		nhi, nlo := lhi, llo+1
		if nlo == 0 {
			nhi++
		}
		out = append(out, addr6(hi, lo), addr6(lhi, llo), addr6(phi, plo), addr6(nhi, nlo))
	}
	return out
}

func check4(t *testing.T, tab *fib.Table, r *ref, addrs [][4]byte) {
	t.Helper()
	bad := 0
	for _, a := range addrs {
		want, wok := r.lookup4(a)
		got, ok := tab.Lookup4(a)
		if ok != wok || (ok && *got != want) {
			var g fib.NextHop
			if ok {
				g = *got
			}
			t.Errorf("Lookup4(%v) = %+v, %v; want %+v, %v", netip.AddrFrom4(a), g, ok, want, wok)
			if bad++; bad > 10 {
				t.Fatal("too many errors")
			}
		}
	}
}

func check6(t *testing.T, tab *fib.Table, r *ref, addrs [][16]byte) {
	t.Helper()
	bad := 0
	for _, a := range addrs {
		want, wok := r.lookup6(a)
		got, ok := tab.Lookup6(a)
		if ok != wok || (ok && *got != want) {
			var g fib.NextHop
			if ok {
				g = *got
			}
			t.Errorf("Lookup6(%v) = %+v, %v; want %+v, %v", netip.AddrFrom16(a), g, ok, want, wok)
			if bad++; bad > 10 {
				t.Fatal("too many errors")
			}
		}
	}
}

// scaled returns n, or a quarter of it under -race and -short.
func scaled(n int) int {
	if raceEnabled || testing.Short() {
		return max(n/4, 1)
	}
	return n
}

// sample returns at most n elements of s, spread over it.
func sample[E any](s []E, n int) []E {
	if len(s) <= n {
		return s
	}
	out := make([]E, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, s[i*len(s)/n])
	}
	return out
}

// ---- tests ----

func TestAddRejects(t *testing.T) {
	tests := []struct {
		name   string
		prefix netip.Prefix
		want   error
		text   string
	}{
		{name: "zero prefix", prefix: netip.Prefix{}, want: fib.ErrInvalidPrefix, text: "invalid Prefix"},
		{name: "v4 host bits", prefix: netip.MustParsePrefix("10.1.2.3/8"), want: fib.ErrNotMasked, text: "10.1.2.3/8"},
		{name: "v4 /31 host bit", prefix: netip.MustParsePrefix("10.0.0.1/31"), want: fib.ErrNotMasked, text: "10.0.0.0/31"},
		{name: "v6 host bits", prefix: netip.MustParsePrefix("2001:db8::1/64"), want: fib.ErrNotMasked, text: "2001:db8::1/64"},
		{name: "v4 default with bits", prefix: netip.MustParsePrefix("1.0.0.0/0"), want: fib.ErrNotMasked, text: "1.0.0.0/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fib.NewBuilder()
			err := b.Add(fib.Route{Prefix: tt.prefix})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Add(%v) = %v, want %v", tt.prefix, err, tt.want)
			}
			var pe *fib.PrefixError
			if !errors.As(err, &pe) || pe.Prefix != tt.prefix {
				t.Errorf("Add(%v) error %v does not carry the prefix", tt.prefix, err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
			if b.Len() != 0 {
				t.Errorf("Len() = %d after a refused Add", b.Len())
			}
		})
	}
}

func TestLookupCases(t *testing.T) {
	// Routes name their next hop by port; port 0 in want means "no route".
	tests := []struct {
		name   string
		routes map[string]uint16
		want   map[string]uint16
	}{
		{
			name:   "empty table",
			routes: nil,
			want:   map[string]uint16{"0.0.0.0": 0, "255.255.255.255": 0, "::": 0, "ffff::1": 0},
		},
		{
			name:   "v4 default route only",
			routes: map[string]uint16{"0.0.0.0/0": 1},
			want:   map[string]uint16{"0.0.0.0": 1, "10.1.2.3": 1, "255.255.255.255": 1, "::1": 0},
		},
		{
			name:   "v6 default route only",
			routes: map[string]uint16{"::/0": 2},
			want:   map[string]uint16{"::": 2, "2001:db8::1": 2, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 2, "1.2.3.4": 0},
		},
		{
			name:   "v4 host routes at the edges",
			routes: map[string]uint16{"0.0.0.0/32": 1, "255.255.255.255/32": 2, "10.0.0.0/32": 3},
			want:   map[string]uint16{"0.0.0.0": 1, "0.0.0.1": 0, "255.255.255.255": 2, "255.255.255.254": 0, "10.0.0.0": 3, "9.255.255.255": 0, "10.0.0.1": 0},
		},
		{
			name:   "v6 host routes at the edges",
			routes: map[string]uint16{"::/128": 1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128": 2, "2001:db8::/128": 3},
			want:   map[string]uint16{"::": 1, "::1": 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 2, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe": 0, "2001:db8::": 3, "2001:db8::1": 0, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff": 0},
		},
		{
			name: "v4 nested prefixes at every stride boundary",
			routes: map[string]uint16{
				"0.0.0.0/0": 1, "10.0.0.0/8": 2, "10.0.0.0/15": 3, "10.0.0.0/16": 4, "10.0.0.0/17": 5,
				"10.0.0.0/23": 6, "10.0.0.0/24": 7, "10.0.0.0/25": 8, "10.0.0.0/31": 9, "10.0.0.0/32": 10,
			},
			want: map[string]uint16{
				"10.0.0.0": 10, "10.0.0.1": 9, "10.0.0.2": 8, "10.0.0.127": 8, "10.0.0.128": 7,
				"10.0.1.0": 6, "10.0.2.0": 5, "10.0.128.0": 4, "10.1.0.0": 3, "10.2.0.0": 2,
				"10.255.255.255": 2, "11.0.0.0": 1, "9.255.255.255": 1,
			},
		},
		{
			name: "v4 longer prefix inside a shorter one, both ends",
			routes: map[string]uint16{
				"192.168.0.0/16": 1, "192.168.255.0/24": 2, "192.168.0.0/24": 3, "192.168.128.0/17": 4,
			},
			want: map[string]uint16{
				"192.168.0.0": 3, "192.168.0.255": 3, "192.168.1.0": 1, "192.168.127.255": 1,
				"192.168.128.0": 4, "192.168.254.255": 4, "192.168.255.0": 2, "192.168.255.255": 2,
				"192.167.255.255": 0, "192.169.0.0": 0,
			},
		},
		{
			name: "v6 nested prefixes off the byte boundaries",
			routes: map[string]uint16{
				"2000::/3": 1, "2001:db8::/32": 2, "2001:db8::/33": 3, "2001:db8:8000::/33": 4,
				"2001:db8:1::/48": 5, "2001:db8:1::/61": 6, "2001:db8:1::/64": 7, "2001:db8:1::/127": 8,
			},
			want: map[string]uint16{
				"2001:db8:1::": 8, "2001:db8:1::1": 8, "2001:db8:1::2": 7, "2001:db8:1:0:ffff::": 7,
				"2001:db8:1:1::": 6, "2001:db8:1:7:ffff::": 6, "2001:db8:1:8::": 5, "2001:db8:2::": 3,
				"2001:db8:8000::": 4, "2001:db9::": 1, "3fff::": 1, "4000::": 0, "1fff::": 0,
			},
		},
		{
			name: "mixed families do not leak",
			routes: map[string]uint16{
				"10.0.0.0/8": 1, "::ffff:10.0.0.0/104": 2, "::/96": 3,
			},
			want: map[string]uint16{
				"10.1.1.1": 1, "::ffff:10.1.1.1": 2, "::10.1.1.1": 3, "11.0.0.0": 0,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var routes []fib.Route
			for p, port := range tt.routes {
				routes = append(routes, fib.Route{Prefix: mustPrefix(t, p), NextHop: fib.NextHop{Port: port}})
			}
			tab := build(t, routes)
			for a, want := range tt.want {
				addr := netip.MustParseAddr(a)
				var nh *fib.NextHop
				var ok bool
				if addr.Is4() {
					nh, ok = tab.Lookup4(addr.As4())
				} else {
					nh, ok = tab.Lookup6(addr.As16())
				}
				var got uint16
				if ok {
					got = nh.Port
				}
				if got != want || ok != (want != 0) {
					t.Errorf("lookup %s: port %d (ok %v), want %d", a, got, ok, want)
				}
			}
		})
	}
}

func TestLookupRandom(t *testing.T) {
	// The sizes straddle the threshold between the 8-bit and the 16-bit
	// first level.
	tests := []struct {
		name   string
		seed   uint64
		n4, n6 int
		nhs    int
	}{
		{name: "one", seed: 6, n4: 1, n6: 1, nhs: 1},
		{name: "linear IPv6", seed: 7, n4: 3, n6: 16, nhs: 4},
		{name: "just past linear IPv6", seed: 8, n4: 3, n6: 17, nhs: 4},
		{name: "tiny", seed: 1, n4: 10, n6: 10, nhs: 3},
		{name: "small", seed: 2, n4: 300, n6: 300, nhs: 20},
		{name: "just below big root", seed: 3, n4: 1023, n6: 1023, nhs: 50},
		{name: "big root", seed: 4, n4: 3000, n6: 3000, nhs: 200},
		{name: "one next hop", seed: 5, n4: 2000, n6: 2000, nhs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(tt.seed, 42))
			nhs := nextHops(tt.nhs)
			routes := append(randRoutes4(rng, tt.n4, nhs), randRoutes6(rng, tt.n6, nhs)...)
			tab := build(t, routes)
			if tab.Len() != len(routes) {
				t.Fatalf("Len() = %d, want %d", tab.Len(), len(routes))
			}
			r := newRef(routes)

			a4 := sample(edges4(routes), scaled(8000))
			for range scaled(2000) {
				a4 = append(a4, addr4(rng.Uint32()))
				rt := routes[rng.IntN(tt.n4)].Prefix
				a := rt.Addr().As4()
				v := binary.BigEndian.Uint32(a[:]) | rng.Uint32()>>rt.Bits()>>1 // inside or just past
				a4 = append(a4, addr4(v))
			}
			check4(t, tab, r, a4)

			a6 := sample(edges6(routes), scaled(8000))
			for range scaled(2000) {
				a6 = append(a6, addr6(rng.Uint64(), rng.Uint64()))
				rt := routes[tt.n4+rng.IntN(tt.n6)].Prefix
				a := rt.Addr().As16()
				mhi, mlo := mask128(rt.Bits())
				a6 = append(a6, addr6(binary.BigEndian.Uint64(a[:8])|rng.Uint64()&^mhi, binary.BigEndian.Uint64(a[8:])|rng.Uint64()&^mlo))
			}
			check6(t, tab, r, a6)
		})
	}
}

func TestDelete(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	nhs := nextHops(10)
	routes := append(randRoutes4(rng, 2000, nhs), randRoutes6(rng, 2000, nhs)...)
	b := fib.NewBuilder()
	for _, r := range routes {
		if err := b.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	first := b.Build()

	// Delete every third route, replace every fifth with a new next hop.
	var kept []fib.Route
	for i, r := range routes {
		switch {
		case i%3 == 0:
			if !b.Delete(r.Prefix) {
				t.Fatalf("Delete(%v) = false, want true", r.Prefix)
			}
			if b.Delete(r.Prefix) {
				t.Fatalf("second Delete(%v) = true", r.Prefix)
			}
		case i%5 == 0:
			r.NextHop = fib.NextHop{Port: 999}
			if err := b.Add(r); err != nil {
				t.Fatal(err)
			}
			kept = append(kept, r)
		default:
			kept = append(kept, r)
		}
	}
	if b.Delete(netip.MustParsePrefix("1.2.3.4/5")) {
		t.Error("Delete of a non-masked prefix = true")
	}
	second := b.Build()
	if second.Len() != len(kept) {
		t.Fatalf("Len() = %d, want %d", second.Len(), len(kept))
	}
	// The first table must be unchanged by later builder operations.
	for name, c := range map[string]struct {
		tab    *fib.Table
		routes []fib.Route
	}{"before delete": {first, routes}, "after delete": {second, kept}} {
		t.Run(name, func(t *testing.T) {
			r := newRef(c.routes)
			a4 := sample(edges4(routes), scaled(8000))
			a6 := sample(edges6(routes), scaled(8000))
			check4(t, c.tab, r, a4)
			check6(t, c.tab, r, a6)
		})
	}

	// Rebuilding from the table gives the same routes.
	again := fib.NewBuilderFrom(second).Build()
	if !slices.Equal(again.Routes(), second.Routes()) {
		t.Error("NewBuilderFrom(t).Build().Routes() differs from t.Routes()")
	}
}

func TestRoutes(t *testing.T) {
	in := []fib.Route{
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), NextHop: fib.NextHop{Port: 3}},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), NextHop: fib.NextHop{Port: 1}},
		{Prefix: netip.MustParsePrefix("10.0.0.0/24"), NextHop: fib.NextHop{Port: 2}},
		{Prefix: netip.MustParsePrefix("0.0.0.0/0"), NextHop: fib.NextHop{Port: 4, Via: netip.MustParseAddr("192.0.2.1")}},
		{Prefix: netip.MustParsePrefix("::/0"), NextHop: fib.NextHop{Blackhole: true}},
		{Prefix: netip.MustParsePrefix("9.0.0.0/8"), NextHop: fib.NextHop{Port: 1}},
	}
	want := []fib.Route{in[3], in[5], in[1], in[2], in[4], in[0]}
	tab := build(t, in)
	got := tab.Routes()
	if !slices.Equal(got, want) {
		t.Errorf("Routes() (-want +got):\n-%v\n+%v", want, got)
	}
	got[0].NextHop.Port = 77
	if tab.Routes()[0].NextHop.Port == 77 {
		t.Error("Routes() does not return a copy")
	}
	if tab.Len() != len(in) || tab.Len4() != 4 || tab.Len6() != 2 {
		t.Errorf("Len() = %d (%d+%d), want %d (4+2)", tab.Len(), tab.Len4(), tab.Len6(), len(in))
	}
	if tab.NextHops() != 5 {
		t.Errorf("NextHops() = %d, want 5 (one shared)", tab.NextHops())
	}
}

func TestZeroAndEmptyTable(t *testing.T) {
	tests := []struct {
		name string
		tab  *fib.Table
	}{
		{name: "zero Table", tab: &fib.Table{}},
		{name: "built empty", tab: fib.NewBuilder().Build()},
		{name: "new VRF", tab: fib.NewVRF(1, "x").Table()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := tt.tab.Lookup4([4]byte{1, 2, 3, 4}); ok {
				t.Error("Lookup4 found a route in an empty table")
			}
			if _, ok := tt.tab.Lookup6([16]byte{0x20}); ok {
				t.Error("Lookup6 found a route in an empty table")
			}
			if tt.tab.Len() != 0 || len(tt.tab.Routes()) != 0 {
				t.Error("empty table has routes")
			}
		})
	}
}

func TestVRF(t *testing.T) {
	v := fib.NewVRF(7, "tenant-a")
	if v.Table() == nil {
		t.Fatal("Table() = nil for a new VRF")
	}
	tab := build(t, []fib.Route{{Prefix: netip.MustParsePrefix("0.0.0.0/0"), NextHop: fib.NextHop{Port: 1}}})
	v.Publish(tab)
	if v.Table() != tab {
		t.Error("Table() is not the published table")
	}
	v.Publish(nil)
	if v.Table() == nil || v.Table().Len() != 0 {
		t.Error("Publish(nil) did not publish an empty table")
	}

	a, b := fib.NewVRF(0, "default"), fib.NewVRF(300, "b")
	b.Publish(tab)
	s, err := fib.NewSet(b, a)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 || s.VRF(0) != a || s.VRF(300) != b || s.VRF(1) != nil || s.VRF(65535) != nil {
		t.Error("Set does not index VRFs by ID")
	}
	if got := s.VRFs(); len(got) != 2 || got[0] != a || got[1] != b {
		t.Error("VRFs() not sorted by ID")
	}
	if nh, ok := s.Lookup4(300, [4]byte{8, 8, 8, 8}); !ok || nh.Port != 1 {
		t.Error("Set.Lookup4 in VRF 300 missed")
	}
	if _, ok := s.Lookup4(5, [4]byte{8, 8, 8, 8}); ok {
		t.Error("Set.Lookup4 in a missing VRF found a route")
	}
	if _, err := fib.NewSet(a, fib.NewVRF(0, "dup")); !errors.Is(err, fib.ErrDuplicateVRF) {
		t.Errorf("NewSet with a duplicate ID: err = %v, want ErrDuplicateVRF", err)
	}
	if _, err := fib.NewSet(a, nil); err == nil {
		t.Error("NewSet with a nil VRF: no error")
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	nhs := nextHops(10)
	for _, n := range []int{10, 2000} {
		tab := build(t, append(randRoutes4(rng, n, nhs), randRoutes6(rng, n, nhs)...))
		a4 := [4]byte{10, 1, 2, 3}
		a6 := [16]byte{0x20, 0x01, 0x0d, 0xb8}
		if n := testing.AllocsPerRun(1000, func() {
			a4[3]++
			tab.Lookup4(a4)
		}); n != 0 {
			t.Errorf("Lookup4 allocates %v times per call", n)
		}
		if n := testing.AllocsPerRun(1000, func() {
			a6[15]++
			tab.Lookup6(a6)
		}); n != 0 {
			t.Errorf("Lookup6 allocates %v times per call", n)
		}
		v := fib.NewVRF(1, "x")
		v.Publish(tab)
		if n := testing.AllocsPerRun(1000, func() { v.Table().Lookup4(a4) }); n != 0 {
			t.Errorf("VRF.Table().Lookup4 allocates %v times per call", n)
		}
	}
}

// TestConcurrentPublish runs readers against a VRF whose table a writer
// keeps rebuilding and replacing by one of two route sets. Every answer
// must come whole from one of the two tables. Run it with -race.
func TestConcurrentPublish(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	nhs := nextHops(30)
	n := scaled(2000)
	routesA := append(randRoutes4(rng, n, nhs[:15]), randRoutes6(rng, n, nhs[:15])...)
	routesB := append(randRoutes4(rng, n, nhs[15:]), randRoutes6(rng, n, nhs[15:])...)
	refA, refB := newRef(routesA), newRef(routesB)

	a4 := append(edges4(routesA), edges4(routesB)...)
	a6 := append(edges6(routesA), edges6(routesB)...)
	a4, a6 = sample(a4, scaled(1500)), sample(a6, scaled(1500))
	type want struct {
		nh fib.NextHop
		ok bool
	}
	w4 := make([][2]want, len(a4))
	for i, a := range a4 {
		nh, ok := refA.lookup4(a)
		w4[i][0] = want{nh, ok}
		nh, ok = refB.lookup4(a)
		w4[i][1] = want{nh, ok}
	}
	w6 := make([][2]want, len(a6))
	for i, a := range a6 {
		nh, ok := refA.lookup6(a)
		w6[i][0] = want{nh, ok}
		nh, ok = refB.lookup6(a)
		w6[i][1] = want{nh, ok}
	}
	match := func(nh *fib.NextHop, ok bool, w want) bool {
		return ok == w.ok && (!ok || *nh == w.nh)
	}

	v := fib.NewVRF(1, "race")
	v.Publish(build(t, routesA))
	var stop atomic.Bool
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for i, a := range a4 {
					nh, ok := v.Table().Lookup4(a)
					if !match(nh, ok, w4[i][0]) && !match(nh, ok, w4[i][1]) {
						failures.Add(1)
					}
				}
				for i, a := range a6 {
					tab := v.Table()
					nh, ok := tab.Lookup6(a)
					if !match(nh, ok, w6[i][0]) && !match(nh, ok, w6[i][1]) {
						failures.Add(1)
					}
				}
			}
		}()
	}
	// The writer rebuilds the tables from scratch each time, so readers
	// race against freshly written memory.
	bA, bB := fib.NewBuilder(), fib.NewBuilder()
	for _, r := range routesA {
		_ = bA.Add(r)
	}
	for _, r := range routesB {
		_ = bB.Add(r)
	}
	rounds := scaled(20)
	for i := range rounds {
		if i%2 == 0 {
			v.Publish(bB.Build())
		} else {
			v.Publish(bA.Build())
		}
	}
	stop.Store(true)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Errorf("%d lookups returned an answer from neither table", f)
	}
}

func TestMemorySmallTables(t *testing.T) {
	tests := []struct {
		name string
		n    int
		max  int
	}{
		{name: "empty", n: 0, max: 1024},
		{name: "3 routes", n: 3, max: 64 << 10},
		{name: "10 routes", n: 10, max: 64 << 10},
	}
	nhs := nextHops(3)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, uint64(tt.n)))
			tab := build(t, append(randRoutes4(rng, tt.n, nhs), randRoutes6(rng, tt.n, nhs)...))
			if m := tab.MemoryBytes(); m > tt.max {
				t.Errorf("MemoryBytes() = %d, want <= %d", m, tt.max)
			}
			t.Logf("%s: %d bytes", tt.name, tab.MemoryBytes())
		})
	}
}
