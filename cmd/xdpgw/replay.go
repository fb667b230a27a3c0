package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"xdpgw/control/compile"
	"xdpgw/control/config"
	"xdpgw/control/replay"
	"xdpgw/dataplane/pipeline"
)

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (default: the embedded default, see `xdpgw config default`)")
	in := fs.String("in", "", "input capture, pcap or pcapng (required)")
	out := fs.String("out", "", "write every transmitted frame here (pcapng with one interface per port if the name ends in .pcapng)")
	outDir := fs.String("out-dir", "", "write one pcap per output port into this directory")
	port := fs.String("port", "", "input port of every frame (default: pcapng interface names)")
	sessions := fs.Int("sessions", 65536, "session table capacity for the replay (the configured sessions.capacity is for the daemon)")
	verbose := fs.Bool("v", false, "print one line per frame: what came in, the verdict, what went out")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: xdpgw replay [--config FILE] --in IN.pcap[ng] [--out OUT.pcap[ng]] [--out-dir DIR] [--port NAME] [-v]")
		fmt.Fprintln(stderr, "\nRuns every frame of the capture through the same pipeline `xdpgw run` runs and")
		fmt.Fprintln(stderr, "prints frames in/out per port and drops per reason. No root needed.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	inFile, err := os.Open(*in)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw replay: %v\n", err)
		return 1
	}
	defer inFile.Close()
	// A live capture carries the daemon's port MACs and neighbours.
	cc, err := replay.ReadCaptureContext(inFile)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw replay: %s: capture context: %v\n", filepath.Base(*in), err)
		return 1
	}
	rt, err := loadAndCompile(*cfgPath, cc)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	dp, err := compile.NewDataplane(rt, *sessions)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw replay: %v\n", err)
		return 1
	}
	opts := replay.Options{In: inFile, Port: *port, OutDir: *outDir, PortNames: rt.PortNames, Interfaces: rt.Interfaces}
	var outFile *os.File
	if *out != "" {
		outFile, err = os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "xdpgw replay: %v\n", err)
			return 1
		}
		opts.Out = outFile
		if strings.HasSuffix(*out, ".pcapng") {
			opts.OutFormat = "pcapng"
		}
	}
	if *verbose {
		opts.Trace = stdout
	}
	sum, err := replay.Run(dp, opts)
	if outFile != nil {
		if cerr := outFile.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw replay: %s: %v\n", filepath.Base(*in), err)
		return 1
	}
	printSummary(stdout, sum)
	return 0
}

func printSummary(w io.Writer, s *replay.Summary) {
	st := &s.Stats
	fmt.Fprintf(w, "\nframes read: %d", s.Frames)
	if s.Truncated > 0 {
		fmt.Fprintf(w, " (%d cut short by the capture's snap length)", s.Truncated)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "port\tin\tout\tlocal\t")
	for i, n := range s.PortNames {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", n, st.RxFrames[i], st.TxFrames[i], st.Local[i])
	}
	tw.Flush()
	type kv struct {
		k string
		v uint64
	}
	var drops []kv
	for r := pipeline.DropReason(1); r < pipeline.NumDropReasons; r++ {
		if v := st.Drops[r]; v > 0 {
			drops = append(drops, kv{r.String(), v})
		}
	}
	sort.SliceStable(drops, func(i, j int) bool { return drops[i].v > drops[j].v })
	fmt.Fprintf(w, "drops: %d\n", st.TotalDrops())
	for _, d := range drops {
		fmt.Fprintf(w, "  %-24s %d\n", d.k, d.v)
	}
	var evs []kv
	for e := pipeline.Event(0); e < pipeline.NumEvents; e++ {
		if v := st.Events[e]; v > 0 {
			evs = append(evs, kv{e.String(), v})
		}
	}
	if len(evs) > 0 {
		fmt.Fprintln(w, "events:")
		for _, e := range evs {
			fmt.Fprintf(w, "  %-24s %d\n", e.k, e.v)
		}
	}
}

// loadAndCompile reads a configuration (the embedded default when path is
// empty), completes it with a live capture's context (cc, may be nil) and
// builds the data plane's tables from it.
func loadAndCompile(path string, cc *replay.CaptureContext) (*compile.Runtime, error) {
	var cfg *config.Config
	var err error
	if path == "" {
		cfg = config.Default()
	} else if cfg, err = config.Load(path); err != nil {
		return nil, err
	}
	if cc != nil {
		cc.Apply(cfg)
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("the configuration with the capture's ports and neighbours: %w", err)
		}
	}
	rt, err := compile.Build(cfg)
	if err != nil {
		name := path
		if name == "" {
			name = "default config"
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rt, nil
}
