package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"xdpgw/control/daemon"
	"xdpgw/dataplane/afxdp"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (default: the embedded default, see `xdpgw config default`)")
	statsEvery := fs.Duration("stats-interval", 10*time.Second, "log a one-line stats summary this often (0: off)")
	mode := fs.String("mode", "auto", "AF_XDP mode: auto (zero-copy where the driver offers it), copy, zerocopy")
	ring := fs.Int("ring-size", 2048, "entries of each AF_XDP ring (power of two)")
	batch := fs.Int("batch", 64, "frames per batch")
	spin := fs.Bool("spin", false, "busy-spin workers instead of sleeping in poll when idle (only on CPUs of their own)")
	busyPoll := fs.Int("busy-poll", 0, "SO_BUSY_POLL microseconds with SO_PREFER_BUSY_POLL (0: off; best effort)")
	cpus := fs.String("cpus", "", "pin worker q to the q-th CPU of this comma-separated list (default: no pinning)")
	null := fs.Bool("null-forward", false, "benchmark only: no pipeline; re-address every frame and send it on the next port (the AF_XDP ceiling)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: xdpgw run [--config FILE] [--stats-interval 10s] [flags]")
		fmt.Fprintln(stderr, "\nRuns the appliance: binds the configured ports with AF_XDP, attaches the XDP program,")
		fmt.Fprintln(stderr, "learns next hops from the kernel. SIGHUP reloads the configuration; SIGINT/SIGTERM stop")
		fmt.Fprintln(stderr, "and detach everything. Needs root (or CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF). See docs/operations.md.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "xdpgw run: --log-level: %v\n", err)
		return 2
	}
	eo := afxdp.Options{RingSize: *ring, Batch: *batch, Spin: *spin, BusyPoll: *busyPoll}
	switch *mode {
	case "auto":
		eo.Mode = afxdp.ModeAuto
	case "copy":
		eo.Mode = afxdp.ModeCopy
	case "zerocopy", "zero-copy":
		eo.Mode = afxdp.ModeZeroCopy
	default:
		fmt.Fprintf(stderr, "xdpgw run: --mode: %q is not auto, copy or zerocopy\n", *mode)
		return 2
	}
	if *cpus != "" {
		for _, f := range strings.Split(*cpus, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 {
				fmt.Fprintf(stderr, "xdpgw run: --cpus: %q is not a CPU number\n", f)
				return 2
			}
			eo.CPUs = append(eo.CPUs, n)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))
	err := daemon.Run(context.Background(), daemon.Options{
		ConfigPath:    *cfgPath,
		StatsInterval: *statsEvery,
		Engine:        eo,
		NullForward:   *null,
		Log:           log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw run: %v\n", err)
		return 1
	}
	return 0
}
