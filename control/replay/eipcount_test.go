package replay_test

import (
	"encoding/binary"
	"strconv"
	"testing"

	"xdpgw/control/compile"
	"xdpgw/control/config"

	"xdpgw/dataplane/pipeline"
)

// Traffic per EIP: what was forwarded through it each way, in packets and
// IP bytes; drops and the gateway's own answers are not counted.
func TestGatewayEIPTraffic(t *testing.T) {
	g := newGW(t, nil)
	syn := fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()
	g.expectTx(g.send(portInet, syn), portUnder)
	g.expectDrop(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 23, "S").Bytes()), pipeline.DropFirewallIngress)
	synAck := fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(22, 40000, "SA").Bytes()
	g.expectTx(g.send(portUnder, synAck), portInet)
	g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "10.0.0.1").ICMPEcho(1, 1, false).Bytes()), portUnder) // the gateway's echo reply
	// Tenant 2's traffic is its own EIP's.
	g.expectTx(g.send(portUnder, fromTenant(2, 2000).IPv4("10.0.0.7", "1.1.1.7").UDP(5000, 7000).Payload([]byte("x")).Bytes()), portInet)

	gw := g.dp.Env().Gateway
	e1, _ := gw.EIPByAddr([4]byte{2, 2, 2, 11})
	e2, _ := gw.EIPByAddr([4]byte{2, 2, 2, 12})
	ipLen := func(b []byte, l3 int) uint64 { return uint64(binary.BigEndian.Uint16(b[l3+2:])) }
	want1 := pipeline.EIPTraffic{InPackets: 1, InBytes: ipLen(syn, 14), OutPackets: 1, OutBytes: ipLen(synAck, 14+20+8)}
	if got := gw.EIPTraffic(e1); got != want1 {
		t.Errorf("2.2.2.11: %+v, want %+v", got, want1)
	}
	if got := gw.EIPTraffic(e2); got.OutPackets != 1 || got.InPackets != 0 {
		t.Errorf("2.2.2.12: %+v, want 1 packet out", got)
	}

	// A reload makes a new Gateway whose counters start at zero; what a
	// worker counted before it went to the old one.
	rt, err := compile.Build(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.dp.Publish(rt.Env); err != nil {
		t.Fatal(err)
	}
	g.expectTx(g.send(portInet, syn), portUnder)
	if got := gw.EIPTraffic(e1); got.InPackets != 1 {
		t.Errorf("old gateway after reload: %+v, want its 1 packet in", got)
	}
	if got := rt.Env.Gateway.EIPTraffic(e1); got.InPackets != 1 || got.OutPackets != 0 {
		t.Errorf("new gateway: %+v, want the 1 packet since the reload", got)
	}
}

// A worker lists the EIPs it counted since its last flush, each once:
// every EIP of a batch that touches them all, and the same EIP many times,
// is counted exactly.
func TestGatewayEIPTrafficManyInOneBatch(t *testing.T) {
	const n = 200
	g := newGW(t, func(c *config.Config) {
		tn, _ := c.FindTenant("user1")
		for i := range n {
			tn.EIPs = append(tn.EIPs, config.EIP{EIP: "2.2.3." + strconv.Itoa(i+1), Private: "10.0.0." + strconv.Itoa(i+20)})
		}
	})
	var frames [][]byte
	for i := range n {
		frames = append(frames, fromClient("2.2.3."+strconv.Itoa(i+1)).TCP(40000, 22, "S").Bytes())
		frames = append(frames, fromClient("2.2.2.11").TCP(uint16(40000+i), 22, "S").Bytes())
	}
	batch := make([]pipeline.Frame, len(frames))
	for round := 1; round <= 2; round++ {
		for i, frame := range frames {
			buf := make([]byte, 4096)
			batch[i] = pipeline.Frame{Buf: buf, Off: 256, Len: copy(buf[256:], frame), InPort: portInet, Time: 1}
		}
		g.w.Process(batch, int64(round)*1e9)
		g.w.Flush()
		gw := g.dp.Env().Gateway
		for i := range n {
			ei, _ := gw.EIPByAddr([4]byte{2, 2, 3, byte(i + 1)})
			if got := gw.EIPTraffic(ei); got.InPackets != uint64(round) {
				t.Fatalf("round %d: 2.2.3.%d: %+v, want %d packets in", round, i+1, got, round)
			}
		}
		e1, _ := gw.EIPByAddr([4]byte{2, 2, 2, 11})
		if got := gw.EIPTraffic(e1); got.InPackets != uint64(round*n) {
			t.Fatalf("round %d: 2.2.2.11: %+v, want %d packets in", round, got, round*n)
		}
	}
}
