package fib_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"xdpgw/dataplane/fib"
)

func edgeRoutes4(rng *rand.Rand, n int, nhs []fib.NextHop) []fib.Route {
	bases := []uint32{0, 0xffffffff, 0x0a000000, 0x0a0000ff, 0x0a00ff00, 0x7fffffff, 0x80000000}
	return distinctRoutes(rng, n, nhs, func() netip.Prefix {
		var a uint32
		switch rng.IntN(4) {
		case 0:
			a = bases[rng.IntN(len(bases))]
		case 1:
			a = bases[rng.IntN(len(bases))] ^ uint32(rng.IntN(256))
		case 2:
			a = 0x0a000000 | rng.Uint32()&0xffff
		default:
			a = rng.Uint32()
		}
		bits := []int{0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32}[rng.IntN(13)]
		p, _ := netip.AddrFrom4(addr4(a)).Prefix(bits)
		return p
	})
}

func edgeRoutes6(rng *rand.Rand, n int, nhs []fib.NextHop) []fib.Route {
	return distinctRoutes(rng, n, nhs, func() netip.Prefix {
		var hi, lo uint64
		switch rng.IntN(4) {
		case 0:
			hi, lo = 0, 0
		case 1:
			hi, lo = ^uint64(0), ^uint64(0)
		case 2:
			hi, lo = 0x20010db800000000|rng.Uint64()&0xffff, rng.Uint64()&0xff
		default:
			hi, lo = rng.Uint64(), rng.Uint64()
		}
		bits := []int{0, 1, 7, 8, 9, 15, 16, 17, 32, 48, 63, 64, 65, 96, 120, 127, 128}[rng.IntN(17)]
		p, _ := netip.AddrFrom16(addr6(hi, lo)).Prefix(bits)
		return p
	})
}

func TestReviewEdgeDifferential(t *testing.T) {
	for _, n := range []int{1, 2, 3, 15, 16, 17, 18, 21, 22, 100, 1023, 1024, 1025, 1300} {
		for seed := uint64(0); seed < 3; seed++ {
			rng := rand.New(rand.NewPCG(seed, uint64(n)))
			nhs := nextHops(1 + rng.IntN(40))
			routes := append(edgeRoutes4(rng, n, nhs), edgeRoutes6(rng, n, nhs)...)
			b := fib.NewBuilder()
			for _, r := range routes {
				if err := b.Add(r); err != nil {
					t.Fatal(err)
				}
			}
			// replace and delete some, through the builder
			for i := 0; i < n/4+1; i++ {
				j := rng.IntN(len(routes))
				if rng.IntN(2) == 0 {
					routes[j].NextHop = nhs[rng.IntN(len(nhs))]
					b.Add(routes[j])
				} else {
					if !b.Delete(routes[j].Prefix) {
						t.Fatal("delete")
					}
					routes = append(routes[:j], routes[j+1:]...)
				}
			}
			tab := b.Build()
			tab2 := fib.NewBuilderFrom(tab).Build()
			r := newRef(routes)
			a4 := edges4(routes)
			a4 = append(a4, addr4(0), addr4(0xffffffff))
			for range 3000 {
				a4 = append(a4, addr4(rng.Uint32()), addr4(0x0a000000|rng.Uint32()&0xffff))
			}
			check4(t, tab, r, a4)
			check4(t, tab2, r, a4)
			nh := make([]*fib.NextHop, len(a4))
			tab.Lookup4Batch(a4, nh)
			for i, a := range a4 {
				g, ok := tab.Lookup4(a)
				if !ok {
					g = nil
				}
				if g != nh[i] {
					t.Fatalf("batch mismatch at %v", a)
				}
			}
			a6 := edges6(routes)
			a6 = append(a6, addr6(0, 0), addr6(^uint64(0), ^uint64(0)))
			for range 3000 {
				a6 = append(a6, addr6(rng.Uint64(), rng.Uint64()), addr6(0x20010db800000000|rng.Uint64()&0xffff, rng.Uint64()&0xff))
			}
			check6(t, tab, r, a6)
			check6(t, tab2, r, a6)
			if t.Failed() {
				t.Fatalf("n=%d seed=%d", n, seed)
			}
		}
	}
}

func TestReviewDense4(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	nhs := nextHops(300)
	b := fib.NewBuilder()
	ref := map[netip.Prefix]fib.NextHop{}
	for len(ref) < 150000 {
		a := uint32(rng.IntN(6))<<16 | rng.Uint32()&0xffff
		if rng.IntN(3) == 0 {
			a = ^a
		}
		bits := 14 + rng.IntN(19)
		p, _ := netip.AddrFrom4(addr4(a)).Prefix(bits)
		nh := nhs[rng.IntN(len(nhs))]
		ref[p] = nh
		b.Add(fib.Route{Prefix: p, NextHop: nh})
	}
	for p := range ref {
		if rng.IntN(5) == 0 {
			b.Delete(p)
			delete(ref, p)
		}
	}
	tab := b.Build()
	look := func(a [4]byte) (fib.NextHop, bool) {
		for l := 32; l >= 0; l-- {
			p, _ := netip.AddrFrom4(a).Prefix(l)
			if nh, ok := ref[p]; ok {
				return nh, true
			}
		}
		return fib.NextHop{}, false
	}
	var as [][4]byte
	for range 200000 {
		a := uint32(rng.IntN(6))<<16 | rng.Uint32()&0xffff
		if rng.IntN(2) == 0 {
			a = ^a
		}
		as = append(as, addr4(a))
	}
	nh := make([]*fib.NextHop, len(as))
	tab.Lookup4Batch(as, nh)
	for i, a := range as {
		want, wok := look(a)
		got, ok := tab.Lookup4(a)
		if ok != wok || ok && *got != want || (nh[i] != nil) != wok || ok && nh[i] != got {
			t.Fatalf("%v: got %v %v want %v %v", a, got, ok, want, wok)
		}
	}
}
