package replay_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"xdpgw/control/compile"
	"xdpgw/control/config"
	"xdpgw/control/replay"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

var update = flag.Bool("update", false, "rewrite the golden output pcaps in testdata/")

// demoCapture writes the demo frames as pcapng (one interface per port).
func demoCapture(tb testing.TB, cfg *config.Config) ([]byte, []fixture.Frame) {
	tb.Helper()
	frames, err := fixture.Demo(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: cfg.Ports[0].Name, LinkType: layers.LinkTypeEthernet}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		tb.Fatal(err)
	}
	ids := map[string]int{cfg.Ports[0].Name: 0}
	for _, p := range cfg.Ports[1:] {
		id, err := w.AddInterface(pcapgo.NgInterface{Name: p.Name, LinkType: layers.LinkTypeEthernet})
		if err != nil {
			tb.Fatal(err)
		}
		ids[p.Name] = id
	}
	t0 := time.Unix(1_800_000_000, 0)
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f.Data), Length: len(f.Data), InterfaceIndex: ids[f.Port]}
		if err := w.WritePacket(ci, f.Data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), frames
}

func runtimeFor(tb testing.TB, cfg *config.Config) (*compile.Runtime, *pipeline.Dataplane) {
	tb.Helper()
	rt, err := compile.Build(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	dp, err := compile.NewDataplane(rt, 4096)
	if err != nil {
		tb.Fatal(err)
	}
	return rt, dp
}

// TestDemoReplay replays the demo capture through the embedded default
// and checks every frame's fate from the trace, the counters, and the
// output frames against the golden pcapng.
func TestDemoReplay(t *testing.T) {
	cfg := config.Default()
	rt, dp := runtimeFor(t, cfg)
	in, frames := demoCapture(t, cfg)
	var out, trace bytes.Buffer
	sum, err := replay.Run(dp, replay.Options{
		In: bytes.NewReader(in), Out: &out, OutFormat: "pcapng", Trace: &trace,
		PortNames: rt.PortNames, Interfaces: rt.Interfaces,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Frames != uint64(len(frames)) {
		t.Fatalf("read %d frames, want %d", sum.Frames, len(frames))
	}
	// The fate of each frame, in the order of fixture.Demo.
	want := []string{
		"local", "out underlay", "out underlay", "out internet", "out underlay",
		"out internet", // TTL 1 -> time exceeded back to the client
		"out internet", "out underlay", "out underlay", "drop: firewall_ingress",
		"drop: firewall_egress", "out underlay", "drop: tenant_isolation", "drop: gre_unknown_key",
		"out internet", "local",
		"out v6", "out v6", // ICMPv6 errors back to the client
		"drop: other_host", "drop: bad_ip_header_len", "drop: bad_ip_checksum",
		"drop: truncated_l3", "drop: truncated_l2",
	}
	if len(want) != len(frames) {
		t.Fatalf("test table has %d fates for %d demo frames", len(want), len(frames))
	}
	var fates []string
	for _, line := range strings.Split(trace.String(), "\n") {
		if _, fate, ok := strings.Cut(line, " -> "); ok {
			fate, _, _ = strings.Cut(fate, ":")
			fate, _, _ = strings.Cut(fate, " (")
			if strings.HasPrefix(line, "#") && strings.Contains(line, "-> drop: ") {
				_, r, _ := strings.Cut(line, "-> drop: ")
				fate = "drop: " + r
			}
			fates = append(fates, fate)
		}
	}
	for i := range want {
		if i >= len(fates) || fates[i] != want[i] {
			t.Errorf("frame #%d (%s): got %q, want %q", i+1, frames[i].Desc, at(fates, i), want[i])
		}
	}
	st := sum.Stats
	for _, r := range []pipeline.DropReason{pipeline.DropBadIPHeaderLen, pipeline.DropBadIPChecksum, pipeline.DropTruncatedL3, pipeline.DropTruncatedL2, pipeline.DropOtherHost, pipeline.DropNoRoute} {
		if st.Drops[r] != 1 {
			t.Errorf("drops[%v] = %d, want 1", r, st.Drops[r])
		}
	}
	if st.Drops[pipeline.DropTTLExceeded] != 2 || st.Events[pipeline.EventICMPTimeExceeded] != 2 {
		t.Errorf("ttl_exceeded %d, time exceeded sent %d; want 2 and 2", st.Drops[pipeline.DropTTLExceeded], st.Events[pipeline.EventICMPTimeExceeded])
	}
	checkGolden(t, filepath.Join("testdata", "demo-out.pcapng"), out.Bytes())
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<nothing>"
}

type outFrame struct {
	iface int
	data  []byte
}

func readNg(tb testing.TB, b []byte) []outFrame {
	tb.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		tb.Fatal(err)
	}
	var out []outFrame
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, outFrame{ci.InterfaceIndex, append([]byte(nil), data...)})
	}
}

// checkGolden compares the frames (bytes and port) of got with the golden
// file; go test -update rewrites it.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	g, w := readNg(t, got), readNg(t, golden)
	if len(g) != len(w) {
		t.Fatalf("%d output frames, golden has %d", len(g), len(w))
	}
	for i := range g {
		if g[i].iface != w[i].iface || !bytes.Equal(g[i].data, w[i].data) {
			t.Errorf("output frame %d differs from %s (-want +got):\n- port %d % x\n+ port %d % x", i+1, path, w[i].iface, w[i].data, g[i].iface, g[i].data)
		}
	}
}

func TestInputPortMapping(t *testing.T) {
	cfg := config.Default()
	rt, _ := runtimeFor(t, cfg)
	frame := fixture.New().Eth("02:00:00:00:02:07", "02:00:00:00:01:01").IPv4("1.1.1.7", "172.168.0.11").UDP(1, 2).Bytes()

	classic := func() []byte {
		var b bytes.Buffer
		w := pcapgo.NewWriter(&b)
		w.WriteFileHeader(65535, layers.LinkTypeEthernet)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(frame), Length: len(frame)}, frame)
		return b.Bytes()
	}
	ng := func(name string) []byte {
		var b bytes.Buffer
		w, _ := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: name, LinkType: layers.LinkTypeEthernet}, pcapgo.DefaultNgWriterOptions)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(frame), Length: len(frame)}, frame)
		w.Flush()
		return b.Bytes()
	}
	tests := []struct {
		name    string
		in      []byte
		port    string
		wantErr string
		wantIn  string
	}{
		{name: "classic pcap needs --port", in: classic(), wantErr: "--port"},
		{name: "classic pcap with --port", in: classic(), port: "internet", wantIn: "internet"},
		{name: "unknown --port", in: classic(), port: "eth9", wantErr: `no such port`},
		{name: "pcapng interface name", in: ng("internet"), wantIn: "internet"},
		{name: "pcapng interface unknown", in: ng("wlan0"), wantErr: `"wlan0"`},
		{name: "pcapng --port overrides", in: ng("wlan0"), port: "internet", wantIn: "internet"},
		{name: "not a capture", in: []byte("hello, this is not a pcap file at all"), wantErr: "read pcap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dp := runtimeFor(t, cfg)
			sum, err := replay.Run(dp, replay.Options{In: bytes.NewReader(tt.in), Port: tt.port, PortNames: rt.PortNames, Interfaces: rt.Interfaces})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range sum.PortNames {
				want := uint64(0)
				if n == tt.wantIn {
					want = 1
				}
				if sum.Stats.RxFrames[i] != want {
					t.Errorf("port %s received %d, want %d", n, sum.Stats.RxFrames[i], want)
				}
			}
		})
	}
}

func TestOutDir(t *testing.T) {
	cfg := config.Default()
	rt, dp := runtimeFor(t, cfg)
	in, _ := demoCapture(t, cfg)
	dir := t.TempDir()
	sum, err := replay.Run(dp, replay.Options{In: bytes.NewReader(in), OutDir: dir, PortNames: rt.PortNames, Interfaces: rt.Interfaces})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range sum.PortNames {
		path := filepath.Join(dir, n+".pcap")
		f, err := os.Open(path)
		if sum.Stats.TxFrames[i] == 0 {
			if err == nil {
				f.Close()
				t.Errorf("%s written for a port that sent nothing", path)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for {
			if _, _, err := r.ReadPacketData(); err != nil {
				break
			}
			n++
		}
		f.Close()
		if n != sum.Stats.TxFrames[i] {
			t.Errorf("%s holds %d frames, port sent %d", path, n, sum.Stats.TxFrames[i])
		}
	}
}

func TestOversizeFrameCounted(t *testing.T) {
	cfg := config.Default()
	rt, dp := runtimeFor(t, cfg)
	big := fixture.New().Eth("02:00:00:00:02:07", "02:00:00:00:01:01").IPv4("1.1.1.7", "172.168.0.11").UDP(1, 2).Payload(make([]byte, 9000)).Bytes()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(big), Length: len(big)}, big)
	sum, err := replay.Run(dp, replay.Options{In: &b, Port: "internet", PortNames: rt.PortNames, Interfaces: rt.Interfaces})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stats.Drops[pipeline.DropOversizeFrame] != 1 {
		t.Fatalf("oversize frame not counted: %v", sum.Stats.Drops)
	}
}
