package fib_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"xdpgw/dataplane/fib"
)

// Lookup4Batch must answer exactly like Lookup4, on big tables (the batched
// path) and small ones, for every batch length.
func TestLookup4BatchMatchesLookup4(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, routes := range []int{10, 5000} {
		b := fib.NewBuilder()
		for i := 0; i < routes; i++ {
			bits := 8 + rng.IntN(25)
			a := netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			p, _ := a.Prefix(bits)
			b.Add(fib.Route{Prefix: p, NextHop: fib.NextHop{Port: uint16(i % 7)}})
		}
		tab := b.Build()
		for _, n := range []int{0, 1, 7, 8, 9, 64, 100} {
			dst := make([][4]byte, n)
			for i := range dst {
				dst[i] = [4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}
			}
			out := make([]*fib.NextHop, n)
			tab.Lookup4Batch(dst, out)
			for i, d := range dst {
				want, ok := tab.Lookup4(d)
				if !ok {
					want = nil
				}
				if out[i] != want {
					t.Fatalf("%d routes, batch %d, %v: batch %v, Lookup4 %v", routes, n, d, out[i], want)
				}
			}
		}
		dst, out := make([][4]byte, 64), make([]*fib.NextHop, 64)
		if allocs := testing.AllocsPerRun(100, func() { tab.Lookup4Batch(dst, out) }); allocs != 0 {
			t.Fatalf("Lookup4Batch allocates %v", allocs)
		}
	}
}
