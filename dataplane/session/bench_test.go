package session_test

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"xdpgw/dataplane/session"
)

// Benchmarks build each key from its number (as the data plane builds it
// from a parsed packet): a few ns of every op is that. Lookups visit the
// sessions in a scattered order so that, past a few MB, each one misses
// the caches (bucket, then entry), as live traffic over millions of flows
// does.

var (
	filledMu sync.Mutex
	filled   = map[int]*session.Table{}
)

// filledTable is a table holding n NAT64 sessions, built once per size.
func filledTable(b *testing.B, n int) *session.Table {
	b.Helper()
	filledMu.Lock()
	defer filledMu.Unlock()
	if t, ok := filled[n]; ok {
		return t
	}
	t := newTable(b, session.Config{Capacity: n})
	w := t.NewWorker()
	for i := range uint32(n) {
		f, r := natKeys(i, protoUDP)
		if _, res := w.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, 0); res != session.Inserted {
			b.Fatalf("fill %d: Insert = %v", i, res)
		}
	}
	filled[n] = t
	return t
}

func scatter(j, n uint32) uint32 { return uint32(uint64(j) * 2654435761 % uint64(n)) }

func rate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mops/s")
}

func BenchmarkLookup(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1M", 1 << 20}, {"10M", 10_000_000}} {
		for _, kind := range []string{"hit", "reverse-hit", "miss"} {
			b.Run(kind+"-"+size.name, func(b *testing.B) {
				tab := filledTable(b, size.n)
				w := tab.NewWorker()
				n := uint32(size.n)
				var e session.Entry
				b.ReportAllocs()
				b.ResetTimer()
				var j uint32
				for b.Loop() {
					i := scatter(j, n)
					j++
					f, r := natKeys(i, protoUDP)
					switch kind {
					case "hit":
						if !w.Lookup(&f, &e) {
							b.Fatal("miss")
						}
					case "reverse-hit":
						if !w.Lookup(&r, &e) {
							b.Fatal("miss")
						}
					default:
						f.SrcPort++ // never stored
						if w.Lookup(&f, &e) {
							b.Fatal("hit")
						}
					}
				}
				rate(b)
			})
		}
	}
}

// BenchmarkLookupBatch is BenchmarkLookup's hits as the pipeline does
// them: batches of 64 keys, optionally prefetched (Worker.Prefetch) before
// they are looked up, so that the bucket misses overlap.
func BenchmarkLookupBatch(b *testing.B) {
	for _, pf := range []int{0, 1, 2} {
		name := [...]string{"plain-10M", "prefetched-10M", "prefetched-2stage-10M"}[pf]
		b.Run(name, func(b *testing.B) {
			tab := filledTable(b, 10_000_000)
			w := tab.NewWorker()
			var keys [64]session.Key
			var e session.Entry
			var j uint32
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for i := range keys {
					keys[i], _ = natKeys(scatter(j, 10_000_000), protoUDP)
					j++
				}
				if pf > 0 {
					for i := range keys {
						w.Prefetch(&keys[i])
					}
				}
				if pf > 1 {
					for i := range keys {
						w.PrefetchEntry(&keys[i])
					}
				}
				for i := range keys {
					if !w.Lookup(&keys[i], &e) {
						b.Fatal("miss")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/lookup")
		})
	}
}

// BenchmarkLookupParallel: run with -cpu 1,2 to see the scaling of
// concurrent readers over one table.
func BenchmarkLookupParallel(b *testing.B) {
	tab := filledTable(b, 10_000_000)
	var seq atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := tab.NewWorker()
		j := seq.Add(1) * 7919
		var e session.Entry
		for pb.Next() {
			f, _ := natKeys(scatter(j, 10_000_000), protoUDP)
			j++
			if !w.Lookup(&f, &e) {
				b.Error("miss")
				return
			}
			w.Touch(e.Handle, 0)
		}
	})
	rate(b)
}

// BenchmarkInsert creates b.N sessions in a table of capacity b.N (it
// ends full: the last inserts probe a 100%-full entry array and an
// 80%-full index).
func BenchmarkInsert(b *testing.B) {
	tab := newTable(b, session.Config{Capacity: max(b.N, 1)})
	w := tab.NewWorker()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range uint32(b.N) {
		f, r := natKeys(i, protoTCP)
		if _, res := w.Insert(&f, &r, session.ClassTCPTransitory, session.StateV6Init, session.Value{}, 0); res != session.Inserted {
			b.Fatalf("Insert %d = %v", i, res)
		}
	}
	rate(b)
}

// BenchmarkInsertParallel: each goroutine its own worker and key range;
// run with -cpu 1,2.
func BenchmarkInsertParallel(b *testing.B) {
	tab := newTable(b, session.Config{Capacity: max(b.N, 1)})
	var next atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := tab.NewWorker()
		for pb.Next() {
			i := next.Add(1) - 1
			f, r := natKeys(i, protoTCP)
			if _, res := w.Insert(&f, &r, session.ClassTCPTransitory, session.StateV6Init, session.Value{}, 0); res != session.Inserted {
				b.Errorf("Insert %d = %v", i, res)
				return
			}
		}
	})
	rate(b)
}

// BenchmarkChurn is the steady state of a busy NAT: 1M live sessions,
// each op creates one and deletes the oldest.
func BenchmarkChurn(b *testing.B) {
	const live = 1 << 20
	tab := newTable(b, session.Config{Capacity: live + 1024})
	w := tab.NewWorker()
	hs := make([]session.Handle, live)
	for i := range uint32(live) {
		f, r := natKeys(i, protoUDP)
		hs[i], _ = w.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := uint32(live)
	for b.Loop() {
		w.Delete(hs[i%live])
		f, r := natKeys(i, protoUDP)
		var res session.Result
		if hs[i%live], res = w.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, 0); res != session.Inserted {
			b.Fatalf("Insert %d = %v", i, res)
		}
		i++
	}
	rate(b)
}

// BenchmarkSweep is one worker's per-batch sweep step of 64 entries over
// a 1M table where nothing expires.
func BenchmarkSweep(b *testing.B) {
	tab := filledTable(b, 1<<20)
	w := tab.NewWorker()
	b.ReportAllocs()
	for b.Loop() {
		w.Sweep(64, 0)
	}
}

// BenchmarkFill100M fills one table with XDPGW_BENCH_SESSIONS NAT64
// sessions (make bench-sessions sets 100000000) and reports the process's
// RSS and bytes per session, the fill rate, lookups on the full table and
// the time of a full GC with the table live.
func BenchmarkFill100M(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("XDPGW_BENCH_SESSIONS"))
	if n <= 0 {
		b.Skip("set XDPGW_BENCH_SESSIONS (make bench-sessions uses 100000000)")
	}
	for b.Loop() {
		runtime.GC()
		rss0 := vmRSS(b)
		tab := newTable(b, session.Config{Capacity: n})
		w := tab.NewWorker()
		start := time.Now()
		for i := range uint32(n) {
			f, r := natKeys(i, protoTCP)
			if _, res := w.Insert(&f, &r, session.ClassTCPEstablished, session.StateEstablished, session.Value{}, 0); res != session.Inserted {
				b.Fatalf("Insert %d = %v", i, res)
			}
		}
		fill := time.Since(start)
		rss1 := vmRSS(b)

		const probes = 2_000_000
		var e session.Entry
		start = time.Now()
		for j := range uint32(probes) {
			f, _ := natKeys(scatter(j, uint32(n)), protoTCP)
			if !w.Lookup(&f, &e) {
				b.Fatalf("lookup %d missed", j)
			}
		}
		look := time.Since(start)
		start = time.Now()
		runtime.GC()
		gc := time.Since(start)

		b.ReportMetric(float64(rss1)/float64(n), "RSS-B/session")
		b.ReportMetric(float64(rss1-rss0)/float64(n), "table-RSS-B/session")
		b.ReportMetric(float64(tab.Bytes())/float64(n), "alloc-B/session")
		b.ReportMetric(float64(rss1)/(1<<30), "RSS-GiB")
		b.ReportMetric(float64(fill.Nanoseconds())/float64(n), "ns/insert")
		b.ReportMetric(float64(look.Nanoseconds())/probes, "ns/lookup")
		b.ReportMetric(float64(gc.Microseconds())/1000, "GC-ms")
		b.Logf("%d sessions: VmRSS %.2f GiB (%.1f B/session; table %.1f B/session, allocated %.1f B/session); fill %v (%.0f ns/insert); %.0f ns/lookup; full GC %v",
			n, float64(rss1)/(1<<30), float64(rss1)/float64(n), float64(rss1-rss0)/float64(n),
			float64(tab.Bytes())/float64(n), fill, float64(fill.Nanoseconds())/float64(n),
			float64(look.Nanoseconds())/probes, gc)
		runtime.KeepAlive(tab)
	}
}

// vmRSS is the process's resident set (VmRSS of /proc/self/status) in bytes.
func vmRSS(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal("VmRSS:", err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
