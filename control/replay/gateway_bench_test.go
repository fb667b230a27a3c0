package replay_test

import (
	"encoding/binary"
	"strconv"
	"testing"

	"xdpgw/control/compile"
	"xdpgw/control/config"
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
)

// Gateway benchmarks: the default configuration (background.md's
// prototype), frames from N distinct flows, batches of 64 as the AF_XDP
// engine delivers them. The copy of each frame into its buffer (the
// port's job) is inside the measurement. Results: docs/performance.md.

const benchBatch = 64

type benchGW struct {
	dp *pipeline.Dataplane
	w  *pipeline.Worker
}

func newBenchGW(b *testing.B, capacity int, edits ...func(*config.Config)) *benchGW {
	b.Helper()
	cfg := config.Default()
	for _, e := range edits {
		e(cfg)
	}
	rt, err := compile.Build(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dp, err := compile.NewDataplane(rt, capacity)
	if err != nil {
		b.Fatal(err)
	}
	return &benchGW{dp: dp, w: dp.NewWorker()}
}

// setPort4 rewrites a TCP/UDP source port of an Ethernet+IPv4 frame at the
// given L4 offset and fixes the L4 checksum incrementally.
func setPort(frame []byte, l4 int, csumOff int, port uint16) {
	old := binary.BigEndian.Uint16(frame[l4:])
	binary.BigEndian.PutUint16(frame[l4:], port)
	c := binary.BigEndian.Uint16(frame[l4+csumOff:])
	binary.BigEndian.PutUint16(frame[l4+csumOff:], checksum.Update16(c, old, port))
}

// run pushes frames through the worker in batches, round robin, for b.N
// batches, and reports Mpps and ns per packet.
func (g *benchGW) run(b *testing.B, frames [][]byte, ports []uint16) {
	bufs := make([]byte, benchBatch*4096)
	batch := make([]pipeline.Frame, benchBatch)
	now := int64(1e12)
	next := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			buf := bufs[i*4096 : (i+1)*4096]
			n := copy(buf[256:], frames[next])
			receive(&batch[i], buf, 256, n, ports[next])
			next++
			if next == len(frames) {
				next = 0
			}
		}
		now += 1000
		g.w.Process(batch, now)
		g.w.Flush()
	}
	reportRate(b, "Mpps", "ns/pkt")
}

// reportRate reports the b.N batches of benchBatch packets as a rate in
// millions per second (unit rate, e.g. "Mpps") and as ns each (unit per,
// e.g. "ns/pkt").
func reportRate(b *testing.B, rate, per string) {
	pkts := float64(b.N * benchBatch)
	b.ReportMetric(pkts/b.Elapsed().Seconds()/1e6, rate)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/pkts, per)
}

// BenchmarkGatewayFastPath: established flows in both directions: half the
// packets come from the Internet to the EIP (flow hit, DNAT, GRE encap),
// half from the tenant (GRE decap, flow hit, SNAT).
func BenchmarkGatewayFastPath(b *testing.B) {
	for _, flows := range []int{1000, 50000} {
		b.Run(strconv.Itoa(flows)+"flows", func(b *testing.B) {
			g := newBenchGW(b, 4*flows)
			var frames [][]byte
			var ports []uint16
			for i := 0; i < flows; i++ {
				port := uint16(1024 + i%60000)
				syn := fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()
				setPort(syn, 34, 16, port)
				// Vary the client address too beyond 60000 flows.
				syn[29] = byte(7 + i/60000)
				fixIPv4(syn[14:34])
				g.send(b, portInet, syn)
				in := fromClient("2.2.2.11").TCP(40000, 22, "A").Payload(make([]byte, 18)).Bytes()
				setPort(in, 34, 16, port)
				in[29] = syn[29]
				fixIPv4(in[14:34])
				out := fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(22, 40000, "A").Payload(make([]byte, 18)).Bytes()
				// inner TCP at 14+20+8+20 = 62; destination port at +2
				setPort(out, 62+2, 16-2, port)
				out[14+20+8+19] = syn[29]
				fixIPv4(out[14+20+8 : 14+20+8+20])
				frames = append(frames, in, out)
				ports = append(ports, portInet, portUnder)
			}
			g.run(b, frames, ports)
			st := g.dp.Stats()
			if st.TotalDrops() != 0 || st.Events[pipeline.EventFlowHit] == 0 {
				b.Fatalf("drops %d %v flow hits %d", st.TotalDrops(), st.Drops, st.Events[pipeline.EventFlowHit])
			}
		})
	}
}

// BenchmarkGatewayNewFlows: every packet opens a new connection from the
// Internet to the EIP: EIP lookup, ingress firewall, DNAT, route, GRE
// encap and a session insert (the table evicts the oldest when full).
func BenchmarkGatewayNewFlows(b *testing.B) {
	g := newBenchGW(b, 1<<22)
	const n = 1 << 16
	frames := make([][]byte, n)
	ports := make([]uint16, n)
	for i := range frames {
		syn := fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()
		setPort(syn, 34, 16, uint16(1024+i%60000))
		syn[28] = byte(1 + i/60000)
		fixIPv4(syn[14:34])
		frames[i] = syn
		ports[i] = portInet
	}
	// Each round reuses the frames with a different client address, so
	// every packet is a new flow.
	bufs := make([]byte, benchBatch*4096)
	batch := make([]pipeline.Frame, benchBatch)
	now := int64(1e12)
	next, round := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			buf := bufs[i*4096 : (i+1)*4096]
			c := copy(buf[256:], frames[next])
			f := buf[256:]
			f[27] = byte(round) // client 11.r.x.7, 12.r.x.7 ...: distinct per round
			f[26] = 11 + byte(round>>8)
			fixIPv4(f[14:34])
			receive(&batch[i], buf, 256, c, ports[next])
			next++
			if next == n {
				next, round = 0, round+1
			}
		}
		now += 1000
		g.w.Process(batch, now)
		g.w.Flush()
	}
	reportRate(b, "Mflows/s", "ns/flow")
	st := g.dp.Stats()
	if st.Events[pipeline.EventFlowCreated] == 0 || st.TotalDrops() != 0 {
		b.Fatalf("flows created %d, drops %d %v", st.Events[pipeline.EventFlowCreated], st.TotalDrops(), st.Drops)
	}
}

// send is gw.send for benchmarks.
func (g *benchGW) send(b *testing.B, port uint16, frame []byte) {
	buf := make([]byte, 4096)
	n := copy(buf[256:], frame)
	fr := []pipeline.Frame{{Buf: buf, Off: 256, Len: n, InPort: port}}
	g.w.Process(fr, 1e12)
	g.w.Flush()
	if fr[0].Verdict != pipeline.VerdictTx {
		b.Fatalf("setup frame: %v %v", fr[0].Verdict, fr[0].Drop)
	}
}

func fixIPv4(h []byte) {
	h[10], h[11] = 0, 0
	c := ^checksum.Checksum(h, 0)
	h[10], h[11] = byte(c>>8), byte(c)
}

// BenchmarkHarnessFloor is what every per-packet figure here pays before
// any stage's own work: copying the frame into its buffer, the batch, the
// decode of Ethernet, IPv4 and TCP, and a drop (the frame is for another
// host) with its counter. It is the floor under the fast-path figures.
func BenchmarkHarnessFloor(b *testing.B) {
	g := newBenchGW(b, 4000)
	f := fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()
	f[5] ^= 0x80 // the destination MAC is not the port's
	g.run(b, [][]byte{f}, []uint16{portInet})
	if st := g.dp.Stats(); st.Drops[pipeline.DropOtherHost] == 0 {
		b.Fatalf("frame not dropped as for another host: %v", dropNames(st))
	}
}

// receive fills f as the AF_XDP engine does (afxdp.Socket.Receive after
// Loop.RunOnce has zeroed the batch): field by field. A composite literal
// here (batch[i] = pipeline.Frame{...}) is built in a stack temporary and
// copied with 16-byte loads that straddle its 8-byte stores, a store-
// forwarding stall per frame that the real port does not pay.
func receive(f *pipeline.Frame, buf []byte, off, n int, port uint16) {
	f.Buf = buf
	f.Off = off
	f.Len = n
	f.Addr = 0
	f.Time = 0
	f.InPort = port
	f.OutPort = 0
	f.Verdict = pipeline.VerdictDrop
	f.Drop = pipeline.DropNone
}
