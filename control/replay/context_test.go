package replay_test

import (
	"bytes"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"xdpgw/control/config"
	"xdpgw/control/replay"
)

// A capture file's context (the daemon's MACs and neighbours) comes back
// from the file and completes a configuration that leaves MACs out,
// without overriding what the configuration says.
func TestCaptureContextRoundTrip(t *testing.T) {
	g := newGW(t, nil)
	comment := replay.NewCaptureContext(g.dp.Env(), g.rt.PortNames)
	var buf bytes.Buffer
	ng, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "internet", LinkType: layers.LinkTypeEthernet},
		pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Comment: comment}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ng.Flush(); err != nil {
		t.Fatal(err)
	}
	in := bytes.NewReader(buf.Bytes())
	cc, err := replay.ReadCaptureContext(in)
	if err != nil || cc == nil {
		t.Fatalf("ReadCaptureContext: %v, %v", cc, err)
	}
	if pos, _ := in.Seek(0, 1); pos != 0 {
		t.Errorf("input left at %d, want rewound", pos)
	}
	if cc.Ports["internet"] != "02:00:00:00:01:01" || len(cc.Neighbours) == 0 {
		t.Fatalf("context %+v", cc)
	}
	cfg := config.Default()
	cfg.Ports[0].MAC = ""
	cfg.Ports[1].MAC = "02:00:00:00:09:09"
	n := len(cfg.Neighbors)
	cc.Apply(cfg)
	if cfg.Ports[0].MAC != "02:00:00:00:01:01" || cfg.Ports[1].MAC != "02:00:00:00:09:09" {
		t.Errorf("ports' MACs %q %q: want the capture's where the configuration has none", cfg.Ports[0].MAC, cfg.Ports[1].MAC)
	}
	if len(cfg.Neighbors) != n {
		t.Errorf("%d neighbours after Apply, want the configuration's %d (the capture's are the same)", len(cfg.Neighbors), n)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
	// Any other file has no context.
	if cc, err := replay.ReadCaptureContext(bytes.NewReader([]byte("not a capture"))); cc != nil || err != nil {
		t.Errorf("plain bytes: %v, %v", cc, err)
	}
}
