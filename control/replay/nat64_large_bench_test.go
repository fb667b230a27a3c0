package replay_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"xdpgw/control/config"
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
	"xdpgw/dataplane/session"
	"xdpgw/tools/fixture"
)

// largeFlows is the number of sessions of BenchmarkNAT64EstablishedLarge:
// with its 2x table, about 470 MiB of entries and index, far beyond the
// caches, as a full-size NAT64's table is.
const largeFlows = 4 << 20

// largeClients is where BenchmarkNAT64EstablishedLarge's clients are:
// beyond a router (the testbed's client 2001:db8:6::7), so that the NAT64
// knows one neighbour for all of them.
const largeClients = "2001:db8:7::/64"

// largeFlow is flow i's client (X',x) and pool address (T,t): clients
// 2001:db8:7::7 + i/60000, ports 1024 + i%60000; pool 198.51.96.0/20, the
// address i%4096, the port 1024 + i/4096.
func largeFlow(i uint32) (x6 [16]byte, x uint16, t [4]byte, tport uint16) {
	x6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 7} // 2001:db8:7::
	binary.BigEndian.PutUint32(x6[12:], 7+i/60000)
	binary.BigEndian.PutUint32(t[:], 198<<24|51<<16|96<<8+i%4096)
	return x6, uint16(1024 + i%60000), t, uint16(1024 + i/4096)
}

// largeStart is the large benchmarks' clock at the start (ns).
const largeStart = int64(1e12)

// largeNAT64 is a benchmark data plane with a session table of capacity
// entries holding the UDP sessions of largeFlow 0..n-1 (to server
// 2.2.2.11:7053, last seen at largeStart), inserted directly; its pool is
// 198.51.96.0/20 and its clients are beyond the router 2001:db8:6::7.
func largeNAT64(b *testing.B, capacity, n int, edits ...func(*config.Config)) *benchGW {
	g := newBenchGW(b, capacity, append([]func(*config.Config){func(c *config.Config) {
		c.NAT64.Pools = []config.Pool{{Prefix: "198.51.96.0/20", Ports: "1024-65535"}}
		c.BGP.Announce = []string{"198.51.96.0/20"}
		v, _ := c.FindVRF("nat64")
		v.Routes = append(v.Routes, config.Route{Prefix: largeClients, Via: client6, Port: "v6"})
	}}, edits...)...)
	sw := g.dp.Sessions().NewWorker()
	server := [4]byte{2, 2, 2, 11}
	for i := range uint32(n) {
		x6, x, t, tport := largeFlow(i)
		f, r := pipeline.NAT64SessionKeys(17, x6, x, server, 7053, t, tport)
		if _, res := sw.Insert(&f, &r, session.ClassUDP, session.StateClosed, session.Value{}, largeStart); res != session.Inserted {
			b.Fatalf("session %d: %v", i, res)
		}
	}
	sw.Flush()
	return g
}

// BenchmarkNAT64EstablishedLarge is BenchmarkNAT64Established over 4M
// sessions visited in a scattered order: each packet's session is in
// DRAM, the regime of a full-size table (issue 4: 100M sessions a box).
// The sessions are inserted directly (pipeline.NAT64SessionKeys, the keys
// the data plane makes); each packet is its flow's datagram made from a
// template, the address and port patched with incremental checksums (a
// few ns of the figure), alternately from the client and from the server.
func BenchmarkNAT64EstablishedLarge(b *testing.B) {
	g := largeNAT64(b, 2*largeFlows, largeFlows)
	// Templates: flow 0's datagram each way (nat64Frames makes them
	// through the data plane; here its session exists already).
	_, x, t, tport := largeFlow(0)
	out := fixture.New().Eth(macC6, macV6).IPv6("2001:db8:7::7", eip6).UDP(x, 7053).Payload(make([]byte, 18)).Bytes()
	in := fromServer(netip.AddrFrom4(t).String()).UDP(7053, tport).Payload(make([]byte, 18)).Bytes()

	bufs := make([]byte, benchBatch*4096)
	batch := make([]pipeline.Frame, benchBatch)
	now := largeStart
	var j uint32
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			buf := bufs[i*4096 : (i+1)*4096]
			k := uint32(uint64(j>>1) * 2654435761 % largeFlows) // scattered
			cx6, cx, ct, ctport := largeFlow(k)
			f := buf[256:]
			if j&1 == 0 {
				n := copy(f, out)
				// IPv6 source at 22, UDP source port at 54, checksum at 60.
				c := binary.BigEndian.Uint16(f[60:])
				c = checksum.Update32(c, [4]byte(f[34:38]), [4]byte(cx6[12:]))
				c = checksum.Update16(c, binary.BigEndian.Uint16(f[54:]), cx)
				copy(f[34:38], cx6[12:])
				binary.BigEndian.PutUint16(f[54:], cx)
				binary.BigEndian.PutUint16(f[60:], c)
				receive(&batch[i], buf, 256, n, portV6)
			} else {
				n := copy(f, in)
				// IPv4 destination at 30, UDP destination port at 36,
				// checksums at 24 (header) and 40 (UDP).
				ic := checksum.Update32(binary.BigEndian.Uint16(f[24:]), [4]byte(f[30:34]), ct)
				c := checksum.Update32(binary.BigEndian.Uint16(f[40:]), [4]byte(f[30:34]), ct)
				c = checksum.Update16(c, binary.BigEndian.Uint16(f[36:]), ctport)
				copy(f[30:34], ct[:])
				binary.BigEndian.PutUint16(f[36:], ctport)
				binary.BigEndian.PutUint16(f[24:], ic)
				binary.BigEndian.PutUint16(f[40:], c)
				receive(&batch[i], buf, 256, n, portV4)
			}
			j++
		}
		now += 1000
		g.w.Process(batch, now)
		g.w.Flush()
	}
	reportRate(b, "Mpps", "ns/pkt")
	if st := g.dp.Stats(); st.TotalDrops() != 0 || st.Events[pipeline.EventNAT64Hit] == 0 {
		b.Fatalf("drops %s, hits %d", dropNames(st), st.Events[pipeline.EventNAT64Hit])
	}
}

// BenchmarkNAT64NewSessionsFullTable: new sessions (IPv6 SYN in, BIB and
// session created, IPv4 SYN out) into a table that is full: 8M entries of
// live sessions (470 MiB, in DRAM), so that every new binding and session
// first evicts the entry with the least lifetime left among its home
// bucket's (sessions.evict: oldest). The regime of a NAT64 whose table
// has filled, or of a flood of new clients.
func BenchmarkNAT64NewSessionsFullTable(b *testing.B) {
	const entries = 8 << 20
	g := largeNAT64(b, entries, entries, func(c *config.Config) {
		c.NAT64.SYNLimit.Default = 0
		c.Access = nil
	})
	syn := fixture.New().Eth(macC6, macV6).IPv6(client6, eip6).TCP(1024, 80, "S").Bytes()
	bufs := make([]byte, benchBatch*4096)
	batch := make([]pipeline.Frame, benchBatch)
	now := largeStart
	var j uint32
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			buf := bufs[i*4096 : (i+1)*4096]
			f := buf[256:]
			n := copy(f, syn)
			// A new client (X',x) each packet: 2001:db8:6::/64 host
			// j/60000+8, port 1024 + j%60000; TCP checksum at 14+40+16.
			x := uint16(1024 + j%60000)
			var host [4]byte
			binary.BigEndian.PutUint32(host[:], 8+j/60000)
			c := binary.BigEndian.Uint16(f[70:])
			c = checksum.Update32(c, [4]byte(f[34:38]), host)
			c = checksum.Update16(c, binary.BigEndian.Uint16(f[54:]), x)
			copy(f[34:38], host[:])
			binary.BigEndian.PutUint16(f[54:], x)
			binary.BigEndian.PutUint16(f[70:], c)
			receive(&batch[i], buf, 256, n, portV6)
			j++
		}
		now += 1000
		g.w.Process(batch, now)
		g.w.Flush()
	}
	reportRate(b, "Msessions/s", "ns/session")
	st := g.dp.Stats()
	ts := g.dp.Sessions().Stats()
	if st.TotalDrops() != 0 || st.Events[pipeline.EventNAT64SessionCreated] == 0 || ts.Evicted == 0 {
		b.Fatalf("drops %s, sessions created %d, evicted %d", dropNames(st), st.Events[pipeline.EventNAT64SessionCreated], ts.Evicted)
	}
}
