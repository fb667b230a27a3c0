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
	"strconv"
	"strings"
	"syscall"
	"time"

	"xdpgw/control/gen"
)

// genOptions is `xdpgw gen` after flag parsing.
type genOptions struct {
	send      gen.SendOptions
	sinkNetns string
	sinkDev   string
	interval  time.Duration
	drain     time.Duration
	json      bool
	search    searchParams // MaxLoss > 0: search the highest rate with at most that loss
}

// parseRate accepts "0" or "max" (flat out), "20000", "500k", "1.5M".
func parseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || strings.EqualFold(s, "max") {
		return 0, nil
	}
	mult := 1.0
	switch s[len(s)-1] {
	case 'k', 'K':
		mult, s = 1e3, s[:len(s)-1]
	case 'm', 'M':
		mult, s = 1e6, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad rate %q (want pps: 20000, 500k, 1.5M, or max)", s)
	}
	return v * mult, nil
}

func parseAddr(name, s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, fmt.Errorf("-%s: %v", name, err)
	}
	return a.Unmap(), nil
}

func parseGen(args []string, stderr io.Writer) (genOptions, error) {
	var o genOptions
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	netnsName := fs.String("netns", "", "network namespace of -dev (default: the current one)")
	dev := fs.String("dev", "", "interface the frames leave by (a veth: its peer receives them); required")
	tmpl := fs.String("template", "udp", "frame template: udp, gre (keyed GRE overlay, tenant -> Internet), nat64 (IPv6 UDP to a NAT64 prefix), syn (TCP SYN)")
	src := fs.String("src", "", "source address (inner for gre); required")
	dst := fs.String("dst", "", "destination address (inner for gre; an address inside the NAT64 prefix for nat64, e.g. fd00:64::10.20.2.2); required")
	sport := fs.Uint("sport", 1024, "first source port; -flows vary it upwards")
	dport := fs.Uint("dport", 9, "destination port")
	flows := fs.Int("flows", 1, "distinct flows: source ports sport .. sport+flows-1, changing every frame")
	size := fs.Int("size", 60, "frame size in bytes without FCS (60 = a 64-byte frame on the wire)")
	ttl := fs.Uint("ttl", 64, "IPv4 TTL or IPv6 hop limit")
	srcMAC := fs.String("src-mac", "02:00:00:00:00:01", "source MAC")
	dstMAC := fs.String("dst-mac", "", "destination MAC: the receiving interface's (the router's); required")
	outerSrc := fs.String("outer-src", "", "gre: outer (underlay) source, the tenant's tunnel endpoint")
	outerDst := fs.String("outer-dst", "", "gre: outer destination, the gateway's underlay address")
	key := fs.Uint("key", 1000, "gre: GRE key (the tenant)")
	rate := fs.String("rate", "max", "frames per second, evenly spaced by the sending program: 20000, 500k, 1.5M, or max (flat out)")
	dur := fs.Duration("duration", 5*time.Second, "how long to send")
	count := fs.Uint64("count", 0, "stop after so many frames (0: only -duration)")
	batch := fs.Uint("batch", 64, "frames per batch of the kernel's live-frame loop")
	cpu := fs.Int("cpu", -1, "pin the sending thread to this CPU (-1: no pinning)")
	minimal := fs.Bool("minimal", false, "send with the two-instruction XDP_TX program (one flow; sent frames counted by the repeat count)")
	fs.StringVar(&o.sinkNetns, "sink-netns", "", "network namespace of -sink-dev")
	fs.StringVar(&o.sinkDev, "sink-dev", "", "count what arrives on this interface during the run (an XDP counter is attached) and report the loss")
	fs.DurationVar(&o.interval, "interval", time.Second, "sink sampling interval (the rate reported is the median of the samples)")
	fs.DurationVar(&o.drain, "drain", 200*time.Millisecond, "sink: keep counting this long after the last frame is sent")
	fs.BoolVar(&o.json, "json", false, "print the summary as one JSON object")
	fs.Float64Var(&o.search.MaxLoss, "search-loss", 0, "search the highest rate carried with at most this loss (0.01: 1%), in probes of -duration each (needs -sink-dev)")
	searchStart := fs.String("search-start", "1M", "rate of the search's first probe")
	searchMax := fs.String("search-max", "0", "the search never probes above this rate (0: 20x the start)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: xdpgw gen -dev IF -dst-mac MAC -src ADDR -dst ADDR [-netns NS] [-template udp|gre|nat64|syn]")
		fmt.Fprintln(stderr, "                 [-flows N] [-rate max|PPS] [-duration 5s] [-sink-netns NS -sink-dev IF] [-json]")
		fmt.Fprintln(stderr, "       xdpgw gen sink -dev IF [-netns NS] [-duration 10s] [-json]")
		fmt.Fprintln(stderr, "\nSends frames out of -dev with BPF_PROG_RUN and live frames (root; a veth's peer receives")
		fmt.Fprintln(stderr, "them only if it has an XDP program or GRO on). With -sink-dev, counts what arrives there")
		fmt.Fprintln(stderr, "meanwhile and prints sent, received, rates and loss on one line. `gen sink` only counts.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	kind, err := gen.ParseKind(*tmpl)
	if err != nil {
		return o, fmt.Errorf("-template: %v", err)
	}
	if *dev == "" {
		return o, errors.New("-dev is required")
	}
	if *dstMAC == "" {
		return o, errors.New("-dst-mac is required (the MAC of the interface receiving the frames)")
	}
	t := gen.Template{Kind: kind, Flows: *flows, Size: *size, Key: uint32(*key)}
	for _, m := range []struct {
		name string
		s    string
		to   *net.HardwareAddr
	}{{"src-mac", *srcMAC, &t.SrcMAC}, {"dst-mac", *dstMAC, &t.DstMAC}} {
		if *m.to, err = net.ParseMAC(m.s); err != nil || len(*m.to) != 6 {
			return o, fmt.Errorf("-%s: %q is not a MAC address", m.name, m.s)
		}
	}
	for _, a := range []struct {
		name, s string
		to      *netip.Addr
	}{{"src", *src, &t.Src}, {"dst", *dst, &t.Dst}, {"outer-src", *outerSrc, &t.OuterSrc}, {"outer-dst", *outerDst, &t.OuterDst}} {
		if *a.to, err = parseAddr(a.name, a.s); err != nil {
			return o, err
		}
	}
	if *sport == 0 || *sport > 65535 || *dport > 65535 || *ttl == 0 || *ttl > 255 {
		return o, errors.New("-sport 1..65535, -dport 0..65535, -ttl 1..255")
	}
	if *key > 1<<32-1 {
		return o, errors.New("-key is 32 bits")
	}
	t.SrcPort, t.DstPort, t.TTL = uint16(*sport), uint16(*dport), uint8(*ttl)
	t.Defaults()
	if err := t.Validate(); err != nil {
		return o, err
	}
	r, err := parseRate(*rate)
	if err != nil {
		return o, fmt.Errorf("-rate: %v", err)
	}
	if *dur <= 0 && *count == 0 {
		return o, errors.New("-duration or -count must be positive")
	}
	if *batch == 0 || *batch > 256 {
		return o, errors.New("-batch is 1..256")
	}
	if *minimal && *flows > 1 {
		return o, errors.New("-minimal sends one flow: drop -flows or -minimal")
	}
	if *minimal && r > 0 {
		return o, errors.New("-minimal cannot pace: drop -rate or -minimal")
	}
	if o.sinkNetns != "" && o.sinkDev == "" {
		return o, errors.New("-sink-netns needs -sink-dev")
	}
	if o.interval <= 0 {
		return o, errors.New("-interval must be positive")
	}
	if o.search.MaxLoss != 0 {
		if o.search.MaxLoss < 0 || o.search.MaxLoss >= 1 || o.sinkDev == "" || *minimal || r > 0 || *count > 0 || *dur <= 0 {
			return o, errors.New("-search-loss is a fraction in (0, 1) and needs -sink-dev and -duration, without -minimal, -rate or -count")
		}
		if o.search.Start, err = parseRate(*searchStart); err != nil || o.search.Start <= 0 {
			return o, fmt.Errorf("-search-start: want a positive rate")
		}
		if o.search.Max, err = parseRate(*searchMax); err != nil {
			return o, fmt.Errorf("-search-max: %v", err)
		}
	}
	o.send = gen.SendOptions{
		Netns: *netnsName, Dev: *dev, Template: t, Minimal: *minimal,
		Rate: r, Duration: *dur, Count: *count, BatchSize: uint32(*batch), CPU: *cpu,
	}
	return o, nil
}

// genReport is the one-line summary (and the -json object).
type genReport struct {
	Template  string  `json:"template"`
	Flows     int     `json:"flows"`
	Size      int     `json:"size"`
	Dev       string  `json:"dev"`
	Sent      uint64  `json:"sent"`
	Seconds   float64 `json:"seconds"`
	SentPPS   float64 `json:"sent_pps"`
	Calls     int     `json:"calls"`
	SinkDev   string  `json:"sink_dev,omitempty"`
	Received  uint64  `json:"received,omitempty"`
	RxPPS     float64 `json:"rx_pps,omitempty"`        // median of the full sampling intervals (the first dropped as warm-up when there are 3 or more)
	RxPPSMin  float64 `json:"rx_pps_min,omitempty"`    // over the same samples
	RxPPSMax  float64 `json:"rx_pps_max,omitempty"`    //
	RxSamples int     `json:"rx_samples,omitempty"`    //
	Loss      float64 `json:"loss_fraction,omitempty"` // (sent - received) / sent, 0 when more arrived
}

func where(ns, dev string) string {
	if ns == "" {
		return dev
	}
	return ns + "/" + dev
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func steady(samples []float64) []float64 {
	if len(samples) >= 3 {
		return samples[1:]
	}
	return samples
}

func (r genReport) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gen %s flows=%d size=%d %s: sent %d in %.2fs = %.3f Mpps", r.Template, r.Flows, r.Size, r.Dev, r.Sent, r.Seconds, r.SentPPS/1e6)
	if r.SinkDev != "" {
		fmt.Fprintf(&b, "; sink %s: received %d, %.3f Mpps (median of %d samples, min %.3f, max %.3f), loss %.2f%%",
			r.SinkDev, r.Received, r.RxPPS/1e6, r.RxSamples, r.RxPPSMin/1e6, r.RxPPSMax/1e6, 100*r.Loss)
	}
	return b.String()
}

func cmdGen(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "sink" {
		return cmdGenSink(args[1:], stdout, stderr)
	}
	o, err := parseGen(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw gen: %v\n", err)
		return 2
	}
	if err := gen.EnsureNoAsyncPreempt(); err != nil {
		fmt.Fprintf(stderr, "xdpgw gen: re-exec with GODEBUG=asyncpreemptoff=1: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.search.MaxLoss > 0 {
		res, err := searchRate(ctx, o.search, func(rate float64) (genReport, error) {
			p := o
			p.send.Rate = rate
			return runGen(ctx, p)
		}, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "xdpgw gen: %v\n", err)
			return 1
		}
		printSearch(stdout, res, o.json)
		return 0
	}
	rep, err := runGen(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw gen: %v\n", err)
		return 1
	}
	printReport(stdout, rep, o.json)
	return 0
}

func printSearch(w io.Writer, r searchResult, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintln(w, string(b))
		return
	}
	fmt.Fprintf(w, "highest rate with loss <= %.2f%%: asked %.3f Mpps, sent %.3f, carried %.3f (loss %.2f%%); next rate tried above it: %.3f Mpps; %d probes\n",
		100*r.MaxLoss, r.Best.Rate/1e6, r.Best.SentPPS/1e6, r.Best.RxPPS/1e6, 100*r.Best.Loss, r.Above/1e6, len(r.Probes))
}

func printReport(w io.Writer, r genReport, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintln(w, string(b))
		return
	}
	fmt.Fprintln(w, r.line())
}

// runGen sends, counting at the sink meanwhile when one is set.
func runGen(ctx context.Context, o genOptions) (genReport, error) {
	t := o.send.Template
	rep := genReport{Template: string(t.Kind), Flows: t.Flows, Dev: where(o.send.Netns, o.send.Dev)}
	s, err := gen.NewSender(o.send)
	if err != nil {
		return rep, err
	}
	defer s.Close()
	rep.Size = len(s.Frame())
	var sink *gen.Sink
	var sampled chan *gen.Sampler
	stopSampling := make(chan struct{})
	if o.sinkDev != "" {
		if sink, err = gen.AttachSink(o.sinkNetns, o.sinkDev, gen.XDPDrop); err != nil {
			return rep, err
		}
		defer sink.Close()
		rep.SinkDev = where(o.sinkNetns, o.sinkDev)
		sampled = make(chan *gen.Sampler, 1)
		go func() {
			sp, _ := gen.Sample(sink, o.interval, stopSampling)
			sampled <- sp
		}()
	}
	res, err := s.Run(ctx)
	rep.Sent, rep.Seconds, rep.SentPPS, rep.Calls = res.Sent, res.Elapsed.Seconds(), res.PPS(), res.Calls
	if sink != nil {
		time.Sleep(o.drain)
		close(stopSampling)
		sp := <-sampled
		if sp != nil {
			rep.Received = sp.Last.Packets - sp.First.Packets
			st := steady(sp.Samples)
			rep.RxSamples = len(st)
			if len(st) > 0 {
				rep.RxPPS, rep.RxPPSMin, rep.RxPPSMax = median(st), slices.Min(st), slices.Max(st)
			} else if res.Elapsed > 0 {
				rep.RxPPS = float64(rep.Received) / res.Elapsed.Seconds()
				rep.RxPPSMin, rep.RxPPSMax = rep.RxPPS, rep.RxPPS
			}
			if rep.Sent > rep.Received {
				rep.Loss = float64(rep.Sent-rep.Received) / float64(rep.Sent)
			}
		}
	}
	return rep, err
}

func cmdGenSink(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	netnsName := fs.String("netns", "", "network namespace of -dev")
	dev := fs.String("dev", "", "interface to count on (an XDP counter is attached; ARP and ICMPv6 pass to the kernel); required")
	action := fs.String("action", "drop", "what the counter does with the frames: drop, pass or tx (reflect)")
	dur := fs.Duration("duration", 10*time.Second, "how long to count")
	interval := fs.Duration("interval", time.Second, "sampling interval")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	act := map[string]int{"drop": gen.XDPDrop, "pass": gen.XDPPass, "tx": gen.XDPTX}[*action]
	if *dev == "" || act == 0 || *dur <= 0 || *interval <= 0 || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "xdpgw gen sink: -dev is required; -action drop|pass|tx; -duration and -interval positive")
		return 2
	}
	sink, err := gen.AttachSink(*netnsName, *dev, act)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw gen sink: %v\n", err)
		return 1
	}
	defer sink.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(*dur):
		}
		close(done)
	}()
	start := time.Now()
	sp, err := gen.Sample(sink, *interval, done)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw gen sink: %v\n", err)
		return 1
	}
	st := steady(sp.Samples)
	rep := struct {
		Dev      string  `json:"dev"`
		Received uint64  `json:"received"`
		Bytes    uint64  `json:"bytes"`
		Seconds  float64 `json:"seconds"`
		RxPPS    float64 `json:"rx_pps"`
		Samples  int     `json:"rx_samples"`
	}{where(*netnsName, *dev), sp.Last.Packets - sp.First.Packets, sp.Last.Bytes - sp.First.Bytes, time.Since(start).Seconds(), median(st), len(st)}
	if *asJSON {
		b, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "sink %s: received %d frames, %d bytes in %.2fs, %.3f Mpps (median of %d samples)\n",
			rep.Dev, rep.Received, rep.Bytes, rep.Seconds, rep.RxPPS/1e6, rep.Samples)
	}
	return 0
}
