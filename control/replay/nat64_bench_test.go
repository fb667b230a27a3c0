package replay_test

import (
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"testing"

	"xdpgw/control/config"
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// nat64Frames makes n established UDP flows: the client's datagrams (IPv6
// side) and the server's answers (IPv4 side), by sending each flow's first
// datagram through the worker to learn its (T,t).
func nat64Frames(b *testing.B, g *benchGW, n int) ([][]byte, []uint16) {
	var frames [][]byte
	var ports []uint16
	for i := 0; i < n; i++ {
		sport := uint16(1024 + i%60000)
		src := "2001:db8:6::7"
		out := fixture.New().Eth(macC6, macV6).IPv6(src, eip6).UDP(sport, 7053).Payload(make([]byte, 18)).Bytes()
		out[14+8+15] = byte(7 + i/60000) // vary the client beyond 60000 flows
		fixUDP6(out)
		buf := make([]byte, 4096)
		c := copy(buf[256:], out)
		fr := []pipeline.Frame{{Buf: buf, Off: 256, Len: c, InPort: portV6}}
		g.w.Process(fr, 1e12)
		g.w.Flush()
		if fr[0].Verdict != pipeline.VerdictTx {
			b.Fatalf("setup flow %d: %v", i, fr[0].Drop)
		}
		tr := fr[0].Data()
		pool := [4]byte(tr[14+12 : 14+16])
		tport := binary.BigEndian.Uint16(tr[34:])
		in := fixture.New().Eth(macServer, macV4).IPv4("2.2.2.11", "198.51.100.1").UDP(7053, tport).Payload(make([]byte, 18)).Bytes()
		copy(in[14+16:], pool[:])
		fixIPv4(in[14:34])
		fixUDP4(in)
		frames = append(frames, out, in)
		ports = append(ports, portV6, portV4)
	}
	return frames, ports
}

func fixUDP6(f []byte) {
	u := f[54:]
	u[6], u[7] = 0, 0
	c := ^checksum.Checksum(u, checksum.PseudoHeaderV6([16]byte(f[22:38]), [16]byte(f[38:54]), 17, uint32(len(u))))
	u[6], u[7] = byte(c>>8), byte(c)
}

// BenchmarkNAT64Established: both directions of established UDP sessions
// (session hit + RFC 7915 translation + route + neighbour).
func BenchmarkNAT64Established(b *testing.B) {
	for _, flows := range []int{1000, 50000} {
		b.Run(strconv.Itoa(flows)+"flows", func(b *testing.B) {
			g := newBenchGW(b, 4*flows)
			frames, ports := nat64Frames(b, g, flows)
			g.run(b, frames, ports)
			if st := g.dp.Stats(); st.TotalDrops() != 0 {
				b.Fatalf("drops %v", st.Drops)
			}
		})
	}
}

// BenchmarkNAT64EstablishedParallel is BenchmarkNAT64Established/50000flows
// with one worker per goroutine over the shared session table, each
// taking its own slice of the flows (as RSS spreads flows over queues):
// run with -cpu 1,2 for the scaling of the whole pipeline over cores. The
// Mpps figure is the total of all workers.
func BenchmarkNAT64EstablishedParallel(b *testing.B) {
	g := newBenchGW(b, 4*50000)
	frames, ports := nat64Frames(b, g, 50000)
	var seq, batches atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := g.dp.NewWorker()
		id := int(seq.Add(1))
		bufs := make([]byte, benchBatch*4096)
		batch := make([]pipeline.Frame, benchBatch)
		next := (id * 7919 * 2) % len(frames)
		now := int64(1e12)
		for pb.Next() {
			for i := range batch {
				buf := bufs[i*4096 : (i+1)*4096]
				n := copy(buf[256:], frames[next])
				receive(&batch[i], buf, 256, n, ports[next])
				if next++; next == len(frames) {
					next = 0
				}
			}
			now += 1000
			w.Process(batch, now)
			w.Flush()
			batches.Add(1)
		}
	})
	pkts := float64(batches.Load() * benchBatch)
	b.ReportMetric(pkts/b.Elapsed().Seconds()/1e6, "Mpps")
	if st := g.dp.Stats(); st.TotalDrops() != 0 {
		b.Fatalf("drops %v", dropNames(st))
	}
}

// BenchmarkNAT64NewSessions: every packet is a TCP SYN from a new client
// port: SYN limit check, BIB and session creation, translation.
func BenchmarkNAT64NewSessions(b *testing.B) {
	// The SYN limit is off here: this measures session creation, and
	// 50,000 SYN/s per EIP would drop almost every packet.
	g := newBenchGW(b, 1<<22, func(c *config.Config) {
		c.NAT64.SYNLimit.Default = 0
		c.Access = nil
		// A pool of 4096 addresses: a /28 fills up within the run.
		c.NAT64.Pools = []config.Pool{{Prefix: "198.51.96.0/20", Ports: "1024-65535"}}
		c.BGP.Announce = []string{"198.51.96.0/20"}
	})
	const n = 1 << 16
	frames := make([][]byte, n)
	ports := make([]uint16, n)
	for i := range frames {
		syn := fixture.New().Eth(macC6, macV6).IPv6("2001:db8:6::7", eip6).TCP(uint16(1024+i%60000), 80, "S").Bytes()
		syn[14+8+14] = byte(i / 60000)
		frames[i], ports[i] = syn, portV6
	}
	bufs := make([]byte, benchBatch*4096)
	batch := make([]pipeline.Frame, benchBatch)
	now := int64(1e12)
	next, round := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			buf := bufs[i*4096 : (i+1)*4096]
			c := copy(buf[256:], frames[next])
			buf[256+14+8+13] = byte(round) // a new client address each round
			buf[256+14+8+12] = byte(round >> 8)
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
	reportRate(b, "Msessions/s", "ns/session")
	st := g.dp.Stats()
	if st.Events[pipeline.EventNAT64SessionCreated] == 0 || st.TotalDrops() != 0 {
		b.Fatalf("sessions created %d; drops %s", st.Events[pipeline.EventNAT64SessionCreated], dropNames(st))
	}
}

func fixUDP4(f []byte) {
	u := f[34:]
	u[6], u[7] = 0, 0
	c := ^checksum.Checksum(u, checksum.PseudoHeaderV4([4]byte(f[26:30]), [4]byte(f[30:34]), 17, uint16(len(u))))
	if c == 0 {
		c = 0xffff
	}
	u[6], u[7] = byte(c>>8), byte(c)
}

func dropNames(st pipeline.Stats) string {
	s := ""
	for r := pipeline.DropReason(0); r < pipeline.NumDropReasons; r++ {
		if st.Drops[r] != 0 {
			s += r.String() + "=" + strconv.FormatUint(st.Drops[r], 10) + " "
		}
	}
	return s
}
