package fib_test

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"xdpgw/dataplane/fib"
)

// Benchmark data: built once per test binary, shared by sub-benchmarks.

const (
	bench4Routes = 1_000_000
	bench6Routes = 200_000
	benchAddrs   = 1 << 20 // pre-generated destinations, cycled
)

// len4Mix is a BGP-table-like IPv4 length mix, in percent.
var len4Mix = []struct{ lo, hi, pct int }{
	{24, 24, 60},
	{22, 23, 12}, // /22-/23
	{16, 21, 20}, // /16-/21
	{8, 15, 2},   // a few short ones
	{25, 32, 6},  // some more-specifics
}

// len6Mix is an IPv6 mix: mostly /48, then /32-/44, some /56 and /64.
var len6Mix = []struct{ lo, hi, pct int }{
	{48, 48, 55},
	{32, 32, 12},
	{33, 44, 21},
	{29, 31, 2},
	{45, 47, 2},
	{56, 56, 5},
	{64, 64, 3},
}

func pickLen(rng *rand.Rand, mix []struct{ lo, hi, pct int }) int {
	x := rng.IntN(100)
	for _, m := range mix {
		if x < m.pct {
			return m.lo + rng.IntN(m.hi-m.lo+1)
		}
		x -= m.pct
	}
	return mix[0].lo
}

type benchData struct {
	builder  *fib.Builder
	table    *fib.Table
	uniform4 [][4]byte
	inside4  [][4]byte
	uniform6 [][16]byte
	inside6  [][16]byte
}

var (
	bench4Once, bench6Once sync.Once
	bench4, bench6         benchData
)

// benchNextHops: 64 next hops, as on a box with a few ports and tunnels.
func benchNextHops() []fib.NextHop { return nextHops(64) }

func getBench4(b *testing.B) *benchData {
	bench4Once.Do(func() {
		rng := rand.New(rand.NewPCG(2024, 4))
		nhs := benchNextHops()
		bd := &bench4
		bd.builder = fib.NewBuilder()
		var prefixes []netip.Prefix
		for bd.builder.Len() < bench4Routes {
			p, _ := netip.AddrFrom4(addr4(rng.Uint32())).Prefix(pickLen(rng, len4Mix))
			if err := bd.builder.Add(fib.Route{Prefix: p, NextHop: nhs[rng.IntN(len(nhs))]}); err != nil {
				panic(err)
			}
			prefixes = append(prefixes, p)
		}
		bd.table = bd.builder.Build()
		bd.uniform4 = make([][4]byte, benchAddrs)
		bd.inside4 = make([][4]byte, benchAddrs)
		for i := range benchAddrs {
			bd.uniform4[i] = addr4(rng.Uint32())
			p := prefixes[rng.IntN(len(prefixes))]
			a := p.Addr().As4()
			v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
			host := uint32(uint64(rng.Uint32()) >> p.Bits())
			bd.inside4[i] = addr4(v | host)
		}
	})
	return &bench4
}

// getBench6 models a v6 table: /32 allocations under the RIR blocks, with
// more-specifics concentrated under a skewed choice of allocations.
func getBench6(b *testing.B) *benchData {
	bench6Once.Do(func() {
		rng := rand.New(rand.NewPCG(2024, 6))
		nhs := benchNextHops()
		bd := &bench6
		bd.builder = fib.NewBuilder()
		blocks := []uint64{0x2001, 0x2003, 0x2400, 0x2401, 0x2402, 0x2403, 0x2404, 0x2405, 0x2406, 0x2407,
			0x2600, 0x2601, 0x2602, 0x2603, 0x2604, 0x2605, 0x2606, 0x2607, 0x2800, 0x2801, 0x2803,
			0x2a00, 0x2a01, 0x2a02, 0x2a03, 0x2a04, 0x2a05, 0x2a06, 0x2a07, 0x2a0a, 0x2a0b, 0x2a0c, 0x2c0f}
		allocs := make([]uint64, 40_000)
		for i := range allocs {
			allocs[i] = blocks[rng.IntN(len(blocks))]<<48 | uint64(rng.Uint32())<<16
		}
		var prefixes []netip.Prefix
		for bd.builder.Len() < bench6Routes {
			// Squaring skews the choice: a few allocations hold many routes.
			f := rng.Float64()
			alloc := allocs[int(f*f*float64(len(allocs)))]
			bits := pickLen(rng, len6Mix)
			hi := alloc | rng.Uint64()>>32
			p, _ := netip.AddrFrom16(addr6(hi, rng.Uint64())).Prefix(bits)
			if err := bd.builder.Add(fib.Route{Prefix: p, NextHop: nhs[rng.IntN(len(nhs))]}); err != nil {
				panic(err)
			}
			prefixes = append(prefixes, p)
		}
		bd.table = bd.builder.Build()
		bd.uniform6 = make([][16]byte, benchAddrs)
		bd.inside6 = make([][16]byte, benchAddrs)
		for i := range benchAddrs {
			// "uniform" here is uniform over the allocations, not over
			// 2^128 (which would almost always miss at the first level).
			bd.uniform6[i] = addr6(allocs[rng.IntN(len(allocs))]|rng.Uint64()>>32, rng.Uint64())
			p := prefixes[rng.IntN(len(prefixes))]
			a := p.Addr().As16()
			mhi, mlo := mask128(p.Bits())
			hi := uint64(0)
			lo := uint64(0)
			for j := range 8 {
				hi = hi<<8 | uint64(a[j])
				lo = lo<<8 | uint64(a[8+j])
			}
			bd.inside6[i] = addr6(hi|rng.Uint64()&^mhi, lo|rng.Uint64()&^mlo)
		}
	})
	return &bench6
}

var sink uint

func reportTable(b *testing.B, t *fib.Table, routes int) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlookups/s")
	b.ReportMetric(float64(t.MemoryBytes())/float64(routes), "bytes/route")
	b.ReportMetric(float64(t.MemoryBytes())/(1<<20), "MiB")
}

func BenchmarkLookup4_1M(b *testing.B) {
	bd := getBench4(b)
	for _, c := range []struct {
		name  string
		addrs [][4]byte
	}{{"uniform", bd.uniform4}, {"inprefix", bd.inside4}} {
		b.Run(c.name, func(b *testing.B) {
			t, addrs := bd.table, c.addrs
			var s uint
			b.ResetTimer()
			for i := range b.N {
				nh, ok := t.Lookup4(addrs[i&(benchAddrs-1)])
				if ok {
					s += uint(nh.Port)
				}
			}
			sink += s
			reportTable(b, t, bench4Routes)
		})
	}
}

func BenchmarkLookup6_200k(b *testing.B) {
	bd := getBench6(b)
	for _, c := range []struct {
		name  string
		addrs [][16]byte
	}{{"uniform", bd.uniform6}, {"inprefix", bd.inside6}} {
		b.Run(c.name, func(b *testing.B) {
			t, addrs := bd.table, c.addrs
			var s uint
			b.ResetTimer()
			for i := range b.N {
				nh, ok := t.Lookup6(addrs[i&(benchAddrs-1)])
				if ok {
					s += uint(nh.Port)
				}
			}
			sink += s
			reportTable(b, t, bench6Routes)
		})
	}
}

func BenchmarkBuild4_1M(b *testing.B) {
	bd := getBench4(b)
	b.ResetTimer()
	var t *fib.Table
	for range b.N {
		t = bd.builder.Build()
	}
	b.ReportMetric(float64(t.MemoryBytes())/float64(t.Len()), "bytes/route")
}

func BenchmarkBuild6_200k(b *testing.B) {
	bd := getBench6(b)
	b.ResetTimer()
	var t *fib.Table
	for range b.N {
		t = bd.builder.Build()
	}
	b.ReportMetric(float64(t.MemoryBytes())/float64(t.Len()), "bytes/route")
}

// BenchmarkSmallTable measures the per-VRF cost of small tenant tables.
func BenchmarkSmallTable(b *testing.B) {
	for _, n := range []int{0, 10, 100} {
		b.Run("routes="+strconv.Itoa(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			nhs := nextHops(4)
			bl := fib.NewBuilder()
			for _, r := range randRoutes4(rng, n, nhs) {
				_ = bl.Add(r)
			}
			t := bl.Build()
			addrs := make([][4]byte, 1024)
			for i := range addrs {
				addrs[i] = addr4(rng.Uint32())
			}
			var s uint
			b.ResetTimer()
			for i := range b.N {
				if nh, ok := t.Lookup4(addrs[i&1023]); ok {
					s += uint(nh.Port)
				}
			}
			sink += s
			b.ReportMetric(float64(t.MemoryBytes()), "bytes")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlookups/s")
		})
	}
}

// BenchmarkSmallTable6: an appliance's IPv6 side (the NAT64's clients):
// a /64 on a port, a /48 and a default route, addresses inside the /64 (the
// deepest descent). Up to 16 routes are scanned (Table.v6lin); 17 and more
// use the trie.
func BenchmarkSmallTable6(b *testing.B) {
	for _, n := range []int{3, 16, 17, 100} {
		b.Run("routes="+strconv.Itoa(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, uint64(n)))
			bl := fib.NewBuilder()
			for i, p := range []string{"2001:db8:6::/64", "2001:db8::/48", "::/0"} {
				_ = bl.Add(fib.Route{Prefix: netip.MustParsePrefix(p), NextHop: fib.NextHop{Port: uint16(i + 1)}})
			}
			for _, r := range randRoutes6(rng, n-3, nextHops(4)) {
				_ = bl.Add(r)
			}
			t := bl.Build()
			addrs := make([][16]byte, 1024)
			for i := range addrs {
				addrs[i] = addr6(0x20010db800060000, rng.Uint64())
			}
			var s uint
			b.ResetTimer()
			for i := range b.N {
				if nh, ok := t.Lookup6(addrs[i&1023]); ok {
					s += uint(nh.Port)
				}
			}
			sink += s
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlookups/s")
		})
	}
}

// BenchmarkLookup4Batch_1M is BenchmarkLookup4_1M through Lookup4Batch in
// batches of 64 (the pipeline's batch size): per lookup figures.
func BenchmarkLookup4Batch_1M(b *testing.B) {
	bd := getBench4(b)
	for _, c := range []struct {
		name  string
		addrs [][4]byte
	}{{"uniform", bd.uniform4}, {"inprefix", bd.inside4}} {
		b.Run(c.name, func(b *testing.B) {
			t, addrs := bd.table, c.addrs
			out := make([]*fib.NextHop, 64)
			var s uint
			b.ResetTimer()
			for i := 0; i < b.N; i += 64 {
				j := i & (benchAddrs - 1) &^ 63
				t.Lookup4Batch(addrs[j:j+64], out)
				if out[0] != nil {
					s += uint(out[0].Port)
				}
			}
			sink += s
			reportTable(b, t, bench4Routes)
		})
	}
}
