package main

import (
	"context"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"xdpgw/control/gen"
)

func TestParseRate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want float64
		bad  bool
	}{
		{"max", 0, false}, {"0", 0, false}, {"", 0, false}, {"20000", 20000, false},
		{"500k", 500e3, false}, {"1.5M", 1.5e6, false}, {"2m", 2e6, false},
		{"fast", 0, true}, {"-5", 0, true}, {"k", 0, true},
	} {
		got, err := parseRate(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseRate(%q) = %v, %v; want %v, bad %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestParseGen(t *testing.T) {
	base := []string{"-dev", "xb-g0", "-dst-mac", "02:00:00:00:0b:02", "-src", "198.18.0.7", "-dst", "198.19.0.2"}
	t.Run("defaults", func(t *testing.T) {
		o, err := parseGen(base, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		tm := o.send.Template
		if tm.Kind != gen.KindUDP || tm.Flows != 1 || tm.Size != 60 || tm.SrcPort != 1024 || tm.DstPort != 9 || tm.TTL != 64 {
			t.Errorf("template %+v", tm)
		}
		if o.send.Rate != 0 || o.send.Duration != 5*time.Second || o.send.BatchSize != 64 || o.send.CPU != -1 || o.sinkDev != "" {
			t.Errorf("send options %+v", o.send)
		}
	})
	t.Run("everything", func(t *testing.T) {
		o, err := parseGen(append(base[:4:4], "-netns", "xb-gen", "-template", "gre", "-src", "10.0.0.7", "-dst", "198.18.0.7",
			"-outer-src", "198.19.0.2", "-outer-dst", "198.19.0.1", "-key", "2000", "-flows", "100", "-rate", "1.5M",
			"-duration", "2s", "-cpu", "0", "-sink-netns", "xb-sink", "-sink-dev", "xb-s0", "-json"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		tm := o.send.Template
		if tm.Kind != gen.KindGRE || tm.Key != 2000 || tm.Flows != 100 || tm.OuterDst != netip.MustParseAddr("198.19.0.1") {
			t.Errorf("template %+v", tm)
		}
		if o.send.Netns != "xb-gen" || o.send.Rate != 1.5e6 || o.send.Duration != 2*time.Second || o.send.CPU != 0 || !o.json ||
			o.sinkNetns != "xb-sink" || o.sinkDev != "xb-s0" {
			t.Errorf("options %+v", o)
		}
	})
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no dev", []string{"-dst-mac", "02:00:00:00:0b:02", "-src", "198.18.0.7", "-dst", "198.19.0.2"}, "-dev is required"},
		{"no mac", []string{"-dev", "x", "-src", "198.18.0.7", "-dst", "198.19.0.2"}, "-dst-mac is required"},
		{"bad mac", append(base, "-dst-mac", "zz"), "not a MAC"},
		{"bad template", append(base, "-template", "icmp"), "unknown template"},
		{"bad address", append(base, "-src", "1.2.3"), "-src"},
		{"families", append(base, "-dst", "fd00::1"), "address family"},
		{"nat64 needs IPv6", append(base, "-template", "nat64"), "must be IPv6"},
		{"gre needs outer", append(base, "-template", "gre"), "outer"},
		{"bad rate", append(base, "-rate", "lots"), "-rate"},
		{"minimal one flow", append(base, "-minimal", "-flows", "2"), "one flow"},
		{"sink netns alone", append(base, "-sink-netns", "x"), "-sink-dev"},
		{"no duration", append(base, "-duration", "0"), "-duration or -count"},
		{"extra argument", append(base, "extra"), "unexpected argument"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseGen(tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestGenUsageExitCodes(t *testing.T) {
	if rc, _, _ := runCmd("gen", "-h"); rc != 0 {
		t.Errorf("gen -h: rc %d", rc)
	}
	if rc, _, errs := runCmd("gen", "-template", "nope"); rc != 2 || !strings.Contains(errs, "unknown template") {
		t.Errorf("gen -template nope: rc %d, %q", rc, errs)
	}
	if rc, _, _ := runCmd("gen", "sink"); rc != 2 {
		t.Errorf("gen sink without -dev: rc %d", rc)
	}
}

// TestGenSmoke sends 20000 frames from one namespace to a sink in
// another through a veth pair, with the generator's programs, and checks
// that frames arrive and that no more arrive than were sent. Root only;
// it asserts no rate.
func TestGenSmoke(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, XDP, BPF_PROG_RUN)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2")
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	for _, ns := range []string{"xb-t-gen", "xb-t-sink"} {
		exec.Command("ip", "netns", "del", ns).Run()
		ip("netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	ip("-n", "xb-t-gen", "link", "add", "xb-t0", "type", "veth", "peer", "name", "xb-t1", "netns", "xb-t-sink")
	ip("-n", "xb-t-sink", "link", "set", "xb-t1", "address", "02:00:00:00:0c:02")
	ip("-n", "xb-t-gen", "link", "set", "xb-t0", "up")
	ip("-n", "xb-t-sink", "link", "set", "xb-t1", "up")
	// Flat out with one and with 64 flows, and paced (the pacing
	// prologue of the sender program).
	for _, c := range []struct{ flows, rate string }{{"1", ""}, {"64", ""}, {"1", "200k"}} {
		flows := c.flows
		args := []string{"-netns", "xb-t-gen", "-dev", "xb-t0", "-dst-mac", "02:00:00:00:0c:02",
			"-src", "198.18.0.7", "-dst", "198.19.0.2", "-flows", flows, "-count", "20000", "-duration", "0",
			"-sink-netns", "xb-t-sink", "-sink-dev", "xb-t1"}
		if c.rate != "" {
			args = append(args, "-rate", c.rate)
		}
		o, err := parseGen(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := runGen(context.Background(), o)
		if err != nil {
			if strings.Contains(err.Error(), "not supported") {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		t.Logf("%s", rep.line())
		// Paced calls are sized by the frames per iteration seen so
		// far: they may overshoot the count by a little.
		if rep.Sent < 20000 || (c.rate == "" && rep.Sent != 20000) || rep.Sent > 20400 {
			t.Errorf("flows %s rate %q: sent %d, want 20000", flows, c.rate, rep.Sent)
		}
		if c.rate != "" && rep.Seconds > 2 {
			t.Errorf("paced at %s, 20000 frames took %.2fs", c.rate, rep.Seconds)
		}
		if rep.Received == 0 || rep.Received > rep.Sent+10 { // +10: stray IPv6 frames of the link coming up
			t.Errorf("flows %s: received %d of %d", flows, rep.Received, rep.Sent)
		}
	}
}
