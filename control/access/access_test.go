package access_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"xdpgw/control/access"
	"xdpgw/control/maglev"
	"xdpgw/control/p4rt"
	dpaccess "xdpgw/dataplane/access"
	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/packet"
	"xdpgw/dataplane/pipeline"
	"xdpgw/p4"
	"xdpgw/tools/fixture"
)

// TestFlowVectorsThroughP4Runtime programs the software target over a
// real P4Runtime connection with the tables of p4/testdata/flows.txt and
// checks that its data plane sends every flow where the model of
// access.p4 says: the whole chain manager -> P4Runtime -> target ->
// per-packet stage.
func programTarget(t *testing.T) (*access.Server, *p4.Vectors, [][6]byte, net.HardwareAddr) {
	t.Helper()
	v, err := p4.ReadVectors("../../p4/testdata/flows.txt")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := access.New(access.Config{DeviceID: 1, MaglevSize: v.Size, EIPSlots: 16, MeterSlots: 16, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := p4rt.Dial(ctx, p4rt.Config{Address: lis.Addr().String(), DeviceID: 1, ElectionID: p4rt.Uint128{Low: 1}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	schema, err := p4.LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	a, err := p4rt.NewAccess(c, schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Init(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range v.Prefixes {
		if err := a.SetPrefix(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, vip := range v.VIPs {
		var bs []maglev.Backend
		for _, n := range vip.Backends {
			bs = append(bs, maglev.Backend{Name: n})
		}
		tab, err := maglev.Build(bs, v.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.SetVIP(ctx, vip.VIP, tab); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range v.EIPs {
		if err := a.SetEIP(ctx, e.EIP, e.VIP, e.Port); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range v.Pools {
		hw, _ := net.ParseMAC(p.DMAC)
		if err := a.SetPool(ctx, p.Prefix, hw, p.Port); err != nil {
			t.Fatal(err)
		}
	}
	smac := net.HardwareAddr{0x02, 0xac, 0xce, 0x55, 0, 0}
	if err := a.SetPortSMAC(ctx, 2, smac); err != nil {
		t.Fatal(err)
	}
	portMACs := [][6]byte{{2, 0, 0, 0, 0xf0, 0}, {2, 0, 0, 0, 0xf0, 1}, {2, 0, 0, 0, 0xf0, 2}}
	return srv, v, portMACs, smac
}

func TestFlowVectorsThroughP4Runtime(t *testing.T) {
	srv, v, portMACs, smac := programTarget(t)
	stage := dpaccess.NewStage(srv.Target(), portMACs)
	for _, f := range v.Flows {
		b := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02")
		if f.Family == 6 {
			b.IPv6(f.Src.String(), f.Dst.String())
		} else {
			b.IPv4(f.Src.String(), f.Dst.String())
		}
		switch f.Proto {
		case "tcp":
			b.TCP(f.SPort, f.DPort, "S")
		case "udp":
			b.UDP(f.SPort, f.DPort)
		default:
			b.ICMPv6Echo(1, 1)
		}
		frame := b.Bytes()
		var p packet.Parsed
		p.Decode(frame)
		r := stage.Process(frame, &p, 0)
		if r.Verdict != dpaccess.VerdictForward || r.Port != f.Port {
			t.Errorf("line %d: %+v, want forward on %d", f.Line, r, f.Port)
			continue
		}
		eth := packet.Ethernet(frame)
		if got := eth.Dst().String(); got != f.Backend {
			t.Errorf("line %d: dst %s, want %s", f.Line, got, f.Backend)
		}
		wantSrc := net.HardwareAddr(portMACs[f.Port][:]).String()
		if f.Port == 2 {
			wantSrc = smac.String() // port_smac overrides the port's MAC
		}
		if eth.Src().String() != wantSrc {
			t.Errorf("line %d: src %s, want %s", f.Line, eth.Src(), wantSrc)
		}
	}
	// The SYNs were metered and counted per EIP (direct counters).
	if srv.Metrics.Publishes.Load() == 0 || stage.Stats.SYNs[dpaccess.DirDown]+stage.Stats.SYNs[dpaccess.DirUp] == 0 {
		t.Fatal("no publish or no SYN metered")
	}
}

// TestAccessThroughPipeline runs the same flows through the pipeline a
// worker runs on an access port (RoleAccess): the stage is wired in, the
// frames leave on the backend's port with its MAC.
func TestAccessThroughPipeline(t *testing.T) {
	srv, v, portMACs, _ := programTarget(t)
	env := &pipeline.Env{Access: srv.Target(), Neigh: new(neigh.Cache)}
	vrf := fib.NewVRF(0, "main")
	env.VRFs = []*fib.VRF{vrf}
	for i, m := range portMACs {
		env.Ports = append(env.Ports, pipeline.PortInfo{Name: "p" + string(rune('0'+i)), Role: pipeline.RoleAccess, MAC: m, MTU: 1500})
	}
	dp, err := pipeline.New(env)
	if err != nil {
		t.Fatal(err)
	}
	w := dp.NewWorker()
	for _, f := range v.Flows {
		b := fixture.New().Eth("02:00:00:00:ee:01", net.HardwareAddr(portMACs[0][:]).String())
		if f.Family == 6 {
			b.IPv6(f.Src.String(), f.Dst.String())
		} else {
			b.IPv4(f.Src.String(), f.Dst.String())
		}
		switch f.Proto {
		case "tcp":
			b.TCP(f.SPort, f.DPort, "S")
		case "udp":
			b.UDP(f.SPort, f.DPort)
		default:
			b.ICMPv6Echo(1, 1)
		}
		frame := b.Bytes()
		buf := make([]byte, 4096)
		n := copy(buf[256:], frame)
		batch := []pipeline.Frame{{Buf: buf, Off: 256, Len: n}}
		w.Process(batch, 1e9)
		w.Flush()
		fr := &batch[0]
		if fr.Verdict != pipeline.VerdictTx || fr.OutPort != f.Port {
			t.Errorf("line %d: %v port %d drop %v, want tx on %d", f.Line, fr.Verdict, fr.OutPort, fr.Drop, f.Port)
			continue
		}
		if got := packet.Ethernet(fr.Data()).Dst().String(); got != f.Backend {
			t.Errorf("line %d: dst %s, want %s", f.Line, got, f.Backend)
		}
	}
	// An IPv6 packet to the prefix for an EIP nobody configured is dropped
	// with the access tier's reason.
	frame := fixture.New().Eth("02:00:00:00:ee:01", net.HardwareAddr(portMACs[0][:]).String()).IPv6("2001:db8::1", v.Flows[0].Dst.String()).UDP(1, 2).Bytes()
	for i := 12; i < 16; i++ {
		frame[14+24+i] ^= 0x5a // another EIP in the same /96
	}
	buf := make([]byte, 4096)
	n := copy(buf[256:], frame)
	batch := []pipeline.Frame{{Buf: buf, Off: 256, Len: n}}
	w.Process(batch, 1e9)
	if v.Flows[0].Family == 6 && (batch[0].Verdict != pipeline.VerdictDrop || batch[0].Drop != pipeline.DropAccessUnknownEIP) {
		t.Errorf("unknown EIP: %v %v", batch[0].Verdict, batch[0].Drop)
	}
}
