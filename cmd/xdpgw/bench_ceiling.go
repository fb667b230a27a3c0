package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"

	"xdpgw/control/gen"
)

// ceilingRow is one program's figure over the runs.
type ceilingRow struct {
	What    string    `json:"what"`
	PPS     []float64 `json:"pps"` // per run: median of the 1-s samples
	Min     float64   `json:"min"`
	Median  float64   `json:"median"`
	Max     float64   `json:"max"`
	Counted string    `json:"counted_at"`
	// Search: the highest rate with at most -search-loss loss.
	Search *searchResult `json:"search,omitempty"`
}

// benchCeiling measures the machine's XDP ceiling on the testbed's veth:
// a counting XDP_DROP program on the DUT's inbound interface, then a
// counting XDP_TX program there with the reflected frames counted back on
// the generator's interface. The CPU placement is the caller's (threaded
// NAPI and taskset: testbed/bench.sh).
func benchCeiling(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	genNS := fs.String("gen-netns", "xb-gen", "generator's namespace")
	genDev := fs.String("gen-dev", "xb-g0", "generator's interface (its peer is -dut-dev)")
	dutNS := fs.String("dut-netns", "xb-dut", "namespace of the device under test")
	dutDev := fs.String("dut-dev", "xb-di", "the DUT's inbound interface: the programs are attached there")
	src := fs.String("src", "198.18.0.7", "source address of the UDP frames")
	dst := fs.String("dst", "198.19.0.2", "destination address of the UDP frames")
	flows := fs.Int("flows", 1, "distinct flows (source ports)")
	dur := fs.Duration("duration", 6*time.Second, "length of each run")
	runs := fs.Int("runs", 3, "runs per program (min / median / max over the runs)")
	cpu := fs.Int("cpu", 0, "pin the generator's thread to this CPU (-1: no pinning)")
	asJSON := fs.Bool("json", false, "print the rows as JSON")
	searchLoss := fs.Float64("search-loss", 0, "also search each program's highest rate with at most this loss (0.01: 1%), from its flat-out figure")
	searchDur := fs.Duration("search-duration", 3*time.Second, "length of each probe of the search")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: xdpgw bench ceiling [-gen-netns xb-gen -gen-dev xb-g0 -dut-netns xb-dut -dut-dev xb-di] [-runs 3] [-duration 6s] [-json]")
		fmt.Fprintln(stderr, "\nThe XDP ceiling of this machine on a veth pair (root): xdpgw's own minimal XDP_DROP and XDP_TX")
		fmt.Fprintln(stderr, "programs (each counting frames per CPU) on -dut-dev, fed flat out by `xdpgw gen` from -gen-dev.")
		fmt.Fprintln(stderr, "XDP_TX is counted where the reflected frames arrive, back on -gen-dev.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || *runs < 1 || *dur <= 0 || *searchLoss < 0 || *searchLoss >= 1 || *searchDur <= 0 {
		fs.Usage()
		return 2
	}
	if err := gen.EnsureNoAsyncPreempt(); err != nil {
		fmt.Fprintf(stderr, "xdpgw bench ceiling: %v\n", err)
		return 1
	}
	var dutMAC net.HardwareAddr
	if err := gen.InNetns(*dutNS, func() error {
		l, err := netlink.LinkByName(*dutDev)
		if err != nil {
			return fmt.Errorf("interface %s: %w", *dutDev, err)
		}
		dutMAC = l.Attrs().HardwareAddr
		return nil
	}); err != nil {
		fmt.Fprintf(stderr, "xdpgw bench ceiling: %v\n", err)
		return 1
	}
	s, d := netip.MustParseAddr(*src), netip.MustParseAddr(*dst)
	t := gen.Template{Kind: gen.KindUDP, Src: s, Dst: d, DstMAC: dutMAC, Flows: *flows}
	t.Defaults()
	base := genOptions{
		send:     gen.SendOptions{Netns: *genNS, Dev: *genDev, Template: t, Duration: *dur, BatchSize: 64, CPU: *cpu},
		interval: time.Second, drain: 200 * time.Millisecond,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// once runs a program once at rate (0: flat out).
	once := func(action int, rate float64, d time.Duration) (genReport, error) {
		o := base
		o.send.Rate, o.send.Duration = rate, d
		var prog *gen.Sink
		var err error
		if action == gen.XDPDrop {
			o.sinkNetns, o.sinkDev = *dutNS, *dutDev
		} else {
			// The reflecting program on the DUT, the counter on the generator's side.
			if prog, err = gen.AttachSink(*dutNS, *dutDev, gen.XDPTX); err != nil {
				return genReport{}, err
			}
			o.sinkNetns, o.sinkDev = *genNS, *genDev
		}
		rep, err := runGen(ctx, o)
		if prog != nil {
			if cerr := prog.Close(); err == nil {
				err = cerr
			}
		}
		return rep, err
	}
	measure := func(action int) ([]float64, error) {
		var out []float64
		for r := 0; r < *runs; r++ {
			rep, err := once(action, 0, *dur)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(stderr, "  %s\n", rep.line())
			out = append(out, rep.RxPPS)
		}
		return out, nil
	}
	var rows []ceilingRow
	for _, c := range []struct {
		what, at string
		action   int
	}{
		{"XDP_DROP", where(*dutNS, *dutDev), gen.XDPDrop},
		{"XDP_TX", where(*genNS, *genDev) + " (reflected)", gen.XDPTX},
	} {
		fmt.Fprintf(stderr, "ceiling %s on %s, %d runs of %v\n", c.what, where(*dutNS, *dutDev), *runs, *dur)
		pps, err := measure(c.action)
		if err != nil {
			fmt.Fprintf(stderr, "xdpgw bench ceiling: %s: %v\n", c.what, err)
			return 1
		}
		row := ceilingRow{What: c.what, PPS: pps, Min: slices.Min(pps), Median: median(pps), Max: slices.Max(pps), Counted: c.at}
		if *searchLoss > 0 {
			fmt.Fprintf(stderr, "ceiling %s: highest rate with loss <= %.2f%%, probes of %v\n", c.what, 100**searchLoss, *searchDur)
			res, err := searchRate(ctx, searchParams{MaxLoss: *searchLoss, Start: row.Median}, func(rate float64) (genReport, error) {
				return once(c.action, rate, *searchDur)
			}, stderr)
			if err != nil {
				fmt.Fprintf(stderr, "xdpgw bench ceiling: %s: search: %v\n", c.what, err)
				return 1
			}
			row.Search = &res
		}
		rows = append(rows, row)
	}
	if *asJSON {
		b, _ := json.Marshal(rows)
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	fmt.Fprintf(stdout, "XDP ceiling on %s (64-byte frames, %d flow(s), %d runs of %v; Mpps, each run the median of 1-s samples)\n\n", where(*dutNS, *dutDev), *flows, *runs, *dur)
	fmt.Fprintln(stdout, "| program | counted at | min / median / max (Mpps) |")
	fmt.Fprintln(stdout, "|---|---|---:|")
	for _, r := range rows {
		fmt.Fprintf(stdout, "| %s | %s | %.2f / %.2f / %.2f |\n", r.What, r.Counted, r.Min/1e6, r.Median/1e6, r.Max/1e6)
		if r.Search != nil {
			fmt.Fprintf(stdout, "|   at <= %.0f%% loss | | %.2f (asked %.2f) |\n", 100*r.Search.MaxLoss, r.Search.Best.RxPPS/1e6, r.Search.Best.Rate/1e6)
		}
	}
	return 0
}
