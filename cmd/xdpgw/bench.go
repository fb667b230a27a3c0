package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"xdpgw/control/maglev"
)

// cmdBench runs the studies that docs/ record. Each study is a
// subcommand; `go test -bench` covers the micro-benchmarks.
func cmdBench(args []string, stdout, stderr io.Writer) int {
	const use = "usage: xdpgw bench maglev|ceiling [flags]   (xdpgw bench STUDY -h for the flags)"
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return 2
	}
	switch args[0] {
	case "maglev":
		return benchMaglev(args[1:], stdout, stderr)
	case "ceiling":
		return benchCeiling(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, use)
		return 0
	}
	fmt.Fprintf(stderr, "xdpgw bench: unknown study %q\n%s\n", args[0], use)
	return 2
}

// benchMaglev reproduces the disruption study of docs/background.md
// (Maglev's table on one backend added or removed) for both modes of
// control/maglev, and times the table computations.
func benchMaglev(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench maglev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nList := fs.String("n", "16", "numbers of backends, comma-separated: one table per N")
	sizeList := fs.String("sizes", "", "table sizes, comma-separated, each rounded up to a prime (default: 1031 and the primes from 125N to 4000N, plus 65537)")
	trials := fs.Int("trials", 10, "random backend-name sets averaged per row")
	seed := fs.Uint64("seed", 1, "seed of the backend names")
	timing := fs.Bool("timing", true, "also time Build, Update and Diff at M=65537,N=16 and M=655373,N=100")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: xdpgw bench maglev [-n 16,100] [-sizes 1031,...] [-trials 10] [-seed 1] [-timing=false]")
		fmt.Fprintln(stderr, "\nFor each N and table size M, over random sets of N backend names: the entries")
		fmt.Fprintln(stderr, "that change when one backend is removed and when one is added, beyond the")
		fmt.Fprintln(stderr, "ideal (the removed backend's entries, the added one's), in plain Maglev (Build)")
		fmt.Fprintln(stderr, "and in the minimal-disruption mode (Update). Prints markdown tables.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ns, err := parseInts(*nList)
	if err != nil || len(ns) == 0 || fs.NArg() != 0 || *trials < 1 {
		fs.Usage()
		return 2
	}
	sizes, err := parseInts(*sizeList)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw bench maglev: -sizes: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "xdpgw bench maglev -n %s -trials %d -seed %d", *nList, *trials, *seed)
	if *sizeList != "" {
		fmt.Fprintf(stdout, " -sizes %s", *sizeList)
	}
	fmt.Fprintf(stdout, "\n(%s %s/%s, GOMAXPROCS %d)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	for _, n := range ns {
		ms := sizes
		if len(ms) == 0 {
			ms = defaultSizes(n)
		}
		if err := disruptionTable(stdout, n, ms, *trials, *seed); err != nil {
			fmt.Fprintf(stderr, "xdpgw bench maglev: %v\n", err)
			return 1
		}
	}
	if *timing {
		if err := timingTable(stdout, *seed); err != nil {
			fmt.Fprintf(stderr, "xdpgw bench maglev: %v\n", err)
			return 1
		}
	}
	return 0
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// defaultSizes: the paper's small table (about 1000), then multiples of N
// up to twice the 2000N of the claim, and the default size.
func defaultSizes(n int) []int {
	ms := []int{1031, maglev.DefaultSize}
	for _, k := range []int{125, 250, 500, 1000, 2000, 4000} {
		ms = append(ms, k*n)
	}
	for i := range ms {
		ms[i] = maglev.NextPrime(ms[i])
	}
	slices.Sort(ms)
	return slices.Compact(ms)
}

// backendNames returns n distinct names shaped like next-hop MACs.
func backendNames(r *rand.Rand, n int) []maglev.Backend {
	seen := make(map[string]bool, n)
	out := make([]maglev.Backend, 0, n)
	for len(out) < n {
		name := fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
		if !seen[name] {
			seen[name] = true
			out = append(out, maglev.Backend{Name: name})
		}
	}
	return out
}

// stat accumulates one column: entries changed and the excess over the
// ideal, as fractions of M.
type stat struct {
	changed, excess, maxExcess float64
	n                          int
}

func (s *stat) add(changed, ideal, m int) {
	ex := float64(changed-ideal) / float64(m)
	s.changed += float64(changed) / float64(m)
	s.excess += ex
	s.maxExcess = max(s.maxExcess, ex)
	s.n++
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 3, 64) }

func (s stat) full() string {
	return fmt.Sprintf("%s / %s (%s)", pct(s.changed/float64(s.n)), pct(s.excess/float64(s.n)), pct(s.maxExcess))
}

func (s stat) short() string {
	return fmt.Sprintf("%s (%s)", pct(s.excess/float64(s.n)), pct(s.maxExcess))
}

func disruptionTable(w io.Writer, n int, sizes []int, trials int, seed uint64) error {
	fmt.Fprintf(w, "\nN = %d backends, %d random name sets per row. Entries changed on one backend removed or added,\n", n, trials)
	fmt.Fprintf(w, "in %% of M: \"changed / excess (max excess)\", excess = changed - ideal, ideal = the removed\n")
	fmt.Fprintf(w, "backend's entries or the added one's (about 1/N = %s%% or 1/(N+1) = %s%%).\n\n", pct(1/float64(n)), pct(1/float64(n+1)))
	fmt.Fprintln(w, "| M | M/N | plain remove | plain add | minimal remove: excess | minimal add: excess | Build ms (min) |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
	for _, m := range sizes {
		if !maglev.IsPrime(m) {
			m = maglev.NextPrime(m)
		}
		if m <= n {
			continue
		}
		r := rand.New(rand.NewPCG(seed, uint64(m)))
		var pr, pa, mr, ma stat
		build := time.Duration(1<<63 - 1)
		for t := 0; t < trials; t++ {
			bs := backendNames(r, n+1)
			cur, added := bs[:n], bs[n]
			gone := cur[r.IntN(n)].Name
			rest := slices.DeleteFunc(slices.Clone(cur), func(b maglev.Backend) bool { return b.Name == gone })
			start := time.Now()
			old, err := maglev.Build(cur, m)
			build = min(build, time.Since(start))
			if err != nil {
				return err
			}
			share := func(t maglev.Table, name string) int { return t.Counts()[t.ID(name)] }
			removedShare := share(old, gone)
			for _, c := range []struct {
				st    *stat
				mode  maglev.Mode
				set   []maglev.Backend
				added bool
			}{
				{&pr, maglev.Plain, rest, false}, {&pa, maglev.Plain, bs, true},
				{&mr, maglev.Minimal, rest, false}, {&ma, maglev.Minimal, bs, true},
			} {
				next, err := maglev.Recompute(c.mode, old, c.set)
				if err != nil {
					return err
				}
				ideal := removedShare
				if c.added {
					ideal = share(next, added.Name)
				}
				c.st.add(len(maglev.Diff(old, next)), ideal, m)
			}
		}
		fmt.Fprintf(w, "| %d | %.0f | %s | %s | %s | %s | %.2f |\n", m, float64(m)/float64(n),
			pr.full(), pa.full(), mr.short(), ma.short(), build.Seconds()*1000)
	}
	return nil
}

// timingTable times the computations of a change at the two sizes of
// the package's benchmark goals: the fastest of several runs each.
func timingTable(w io.Writer, seed uint64) error {
	fmt.Fprintln(w, "\nTimes in ms, the fastest of 7 runs (the machine may be shared: the minimum is the")
	fmt.Fprintln(w, "least disturbed run):")
	fmt.Fprintln(w, "\n| M | N | Build | Update remove | Update add | Diff (plain add) |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
	for _, c := range []struct{ m, n int }{{65537, 16}, {655373, 100}} {
		r := rand.New(rand.NewPCG(seed, 7))
		bs := backendNames(r, c.n+1)
		cur := bs[:c.n]
		rest := slices.Clone(cur[1:])
		old, err := maglev.Build(cur, c.m)
		if err != nil {
			return err
		}
		plainAdd, err := maglev.Build(bs, c.m)
		if err != nil {
			return err
		}
		fastest := func(f func() error) (float64, error) {
			var d []time.Duration
			for range 7 {
				start := time.Now()
				if err := f(); err != nil {
					return 0, err
				}
				d = append(d, time.Since(start))
			}
			return slices.Min(d).Seconds() * 1000, nil
		}
		var cols []float64
		for _, f := range []func() error{
			func() error { _, err := maglev.Build(cur, c.m); return err },
			func() error { _, err := maglev.Update(old, rest); return err },
			func() error { _, err := maglev.Update(old, bs); return err },
			func() error { maglev.Diff(old, plainAdd); return nil },
		} {
			v, err := fastest(f)
			if err != nil {
				return err
			}
			cols = append(cols, v)
		}
		fmt.Fprintf(w, "| %d | %d | %.2f | %.2f | %.2f | %.2f |\n", c.m, c.n, cols[0], cols[1], cols[2], cols[3])
	}
	return nil
}
