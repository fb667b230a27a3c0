package replay_test

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/control/compile"
	"xdpgw/control/config"
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// The NAT64 prototype of background.md on the embedded default: IPv6
// client 2001:db8:6::7 on port v6, IPv4 server 192.0.2.11 (holding EIP
// 2.2.2.11) on port v4, prefix 64:ff9b::/96, pool 198.51.100.0/28.
const (
	portV6    = 2
	portV4    = 3
	macV6     = "02:00:00:00:01:03"
	macV4     = "02:00:00:00:01:04"
	macC6     = "02:00:00:00:04:07"
	macServer = "02:00:00:00:05:0b"
	client6   = "2001:db8:6::7"
	eip6      = "64:ff9b::202:20b" // 2.2.2.11
)

func from6() *fixture.Builder { return fixture.New().Eth(macC6, macV6).IPv6(client6, eip6) }

func fromServer(dst string) *fixture.Builder {
	return fixture.New().Eth(macServer, macV4).IPv4("2.2.2.11", dst)
}

func decode4(t *testing.T, pkt gopacket.Packet) (*layers.IPv4, gopacket.Packet) {
	t.Helper()
	ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok {
		t.Fatalf("no IPv4 in %v", pkt)
	}
	if ^checksum.Checksum(ip.Contents, 0) != 0 {
		t.Error("IPv4 header checksum invalid")
	}
	return ip, pkt
}

func inPool(ip net.IP) bool {
	v4 := ip.To4()
	return v4 != nil && v4[0] == 198 && v4[1] == 51 && v4[2] == 100 && v4[3] < 16
}

// l4ok6 verifies the TCP/UDP/ICMPv6 checksum of an IPv6 packet's payload.
func l4ok6(t *testing.T, ip *layers.IPv6) {
	t.Helper()
	sum := checksum.PseudoHeaderV6([16]byte(ip.SrcIP.To16()), [16]byte(ip.DstIP.To16()), uint8(ip.NextHeader), uint32(len(ip.Payload)))
	if ^checksum.Checksum(ip.Payload, sum) != 0 {
		t.Errorf("%v checksum invalid", ip.NextHeader)
	}
}

func TestNAT64TCPBothWays(t *testing.T) {
	g := newGW(t, nil)
	pkt := g.expectTx(g.send(portV6, from6().TCP(50000, 80, "S").Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	tcp := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !inPool(ip.SrcIP) || ip.DstIP.String() != "2.2.2.11" || ip.TTL != 63 || tcp.DstPort != 80 || tcp.SrcPort < 1024 {
		t.Fatalf("translated SYN %v:%d > %v:%d ttl %d", ip.SrcIP, tcp.SrcPort, ip.DstIP, tcp.DstPort, ip.TTL)
	}
	l4ok(t, ip)
	eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth.DstMAC.String() != macServer || eth.SrcMAC.String() != macV4 {
		t.Errorf("MACs %v > %v", eth.SrcMAC, eth.DstMAC)
	}
	pool, tport := ip.SrcIP.String(), uint16(tcp.SrcPort)

	// The server's answer goes back to the client from 64:ff9b::2.2.2.11.
	back := g.expectTx(g.send(portV4, fromServer(pool).TCP(80, tport, "SA").Bytes()), portV6)
	ip6 := back.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	tcp6 := back.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip6.SrcIP.String() != eip6 || ip6.DstIP.String() != client6 || tcp6.SrcPort != 80 || tcp6.DstPort != 50000 || ip6.HopLimit != 63 {
		t.Fatalf("translated answer %v:%d > %v:%d hlim %d", ip6.SrcIP, tcp6.SrcPort, ip6.DstIP, tcp6.DstPort, ip6.HopLimit)
	}
	l4ok6(t, ip6)

	// Endpoint-independent mapping: the same client port towards another
	// server keeps (T,t).
	pkt = g.expectTx(g.send(portV6, fixture.New().Eth(macC6, macV6).IPv6(client6, "64:ff9b::202:20c").TCP(50000, 443, "S").Bytes()), portV4)
	ip, _ = decode4(t, pkt)
	if ip.SrcIP.String() != pool || uint16(pkt.Layer(layers.LayerTypeTCP).(*layers.TCP).SrcPort) != tport {
		t.Errorf("second destination mapped to %v:%d, want %s:%d (RFC 6146 EIM)", ip.SrcIP, pkt.Layer(layers.LayerTypeTCP).(*layers.TCP).SrcPort, pool, tport)
	}
	st := g.dp.Stats()
	if st.Events[pipeline.EventNAT64BIBCreated] != 1 || st.Events[pipeline.EventNAT64SessionCreated] != 2 || st.Events[pipeline.EventNAT64Hit] != 1 {
		t.Errorf("bib %d sessions %d hits %d, want 1 2 1", st.Events[pipeline.EventNAT64BIBCreated], st.Events[pipeline.EventNAT64SessionCreated], st.Events[pipeline.EventNAT64Hit])
	}
	// A TCP segment that opens nothing has no session.
	g.expectDrop(g.send(portV6, from6().TCP(50001, 80, "A").Bytes()), pipeline.DropNAT64NoSession)
	g.expectDrop(g.send(portV4, fromServer(pool).TCP(80, tport+1, "A").Bytes()), pipeline.DropNAT64NoSession)
}

func TestNAT64UDPAndFiltering(t *testing.T) {
	g := newGW(t, nil)
	pkt := g.expectTx(g.send(portV6, from6().UDP(5353, 7053).Payload([]byte("query")).Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	udp := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	l4ok(t, ip)
	pool, tport := ip.SrcIP.String(), uint16(udp.SrcPort)
	// Endpoint-independent filtering: another IPv4 host may send to (T,t).
	other := fixture.New().Eth(macServer, macV4).IPv4("2.2.2.12", pool).UDP(9999, tport).Payload([]byte("hi")).Bytes()
	back := g.expectTx(g.send(portV4, other), portV6)
	ip6 := back.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if ip6.SrcIP.String() != "64:ff9b::202:20c" || ip6.DstIP.String() != client6 {
		t.Errorf("EIF packet %v > %v", ip6.SrcIP, ip6.DstIP)
	}
	l4ok6(t, ip6)
	// Nothing is bound to another port.
	g.expectDrop(g.send(portV4, fixture.New().Eth(macServer, macV4).IPv4("2.2.2.12", pool).UDP(9999, tport+1).Bytes()), pipeline.DropNAT64NoSession)

	// With address-dependent filtering the stranger is refused.
	g2 := newGW(t, func(c *config.Config) { c.NAT64.Filtering = config.FilteringAddressDependent })
	pkt = g2.expectTx(g2.send(portV6, from6().UDP(5353, 7053).Payload([]byte("query")).Bytes()), portV4)
	ip, _ = decode4(t, pkt)
	udp = pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	g2.expectDrop(g2.send(portV4, fixture.New().Eth(macServer, macV4).IPv4("2.2.2.12", ip.SrcIP.String()).UDP(9999, uint16(udp.SrcPort)).Bytes()), pipeline.DropNAT64NoSession)
}

func TestNAT64Ping(t *testing.T) {
	g := newGW(t, nil)
	pkt := g.expectTx(g.send(portV6, from6().ICMPv6Echo(77, 1).Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	ic := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic.TypeCode.Type() != layers.ICMPv4TypeEchoRequest || ^checksum.Checksum(ip.Payload, 0) != 0 {
		t.Fatalf("echo translated to %v (checksum ok %v)", ic.TypeCode, ^checksum.Checksum(ip.Payload, 0) == 0)
	}
	reply := fromServer(ip.SrcIP.String()).ICMPEcho(ic.Id, ic.Seq, true).Bytes()
	back := g.expectTx(g.send(portV4, reply), portV6)
	ic6 := back.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	if ic6.TypeCode.Type() != layers.ICMPv6TypeEchoReply {
		t.Fatalf("reply translated to %v", ic6.TypeCode)
	}
	echo := back.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo)
	if echo.Identifier != 77 {
		t.Errorf("echo identifier %d, want the client's 77", echo.Identifier)
	}
	l4ok6(t, back.Layer(layers.LayerTypeIPv6).(*layers.IPv6))
}

func TestNAT64ErrorsAndLimits(t *testing.T) {
	g := newGW(t, nil)
	// Hop limit 1: ICMPv6 time exceeded from the NAT64 (traceroute).
	back := g.expectTx(g.send(portV6, from6().TTL(1).UDP(33434, 33434).Bytes()), portV6)
	if ic := back.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ic.TypeCode.Type() != layers.ICMPv6TypeTimeExceeded {
		t.Errorf("hop limit 1 answered with %v", ic.TypeCode)
	}
	// An ICMPv4 time exceeded about a translated packet reaches the client
	// as ICMPv6, with the quoted packet translated back.
	pkt := g.expectTx(g.send(portV6, from6().UDP(6000, 33435).Payload([]byte("probe")).Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	quoted := ip.Contents
	quoted = append(quoted, ip.Payload[:8]...)
	router := fixture.New().Eth(macServer, macV4).IPv4("192.0.2.11", ip.SrcIP.String()).ICMPError(11, 0, quoted).Bytes()
	back = g.expectTx(g.send(portV4, router), portV6)
	ip6 := back.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	ic := back.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	if ic.TypeCode.Type() != layers.ICMPv6TypeTimeExceeded || ip6.DstIP.String() != client6 || ip6.SrcIP.String() != "64:ff9b::c000:20b" {
		t.Fatalf("error translated to %v %v > %v", ic.TypeCode, ip6.SrcIP, ip6.DstIP)
	}
	l4ok6(t, ip6)
	// 64:ff9b::/96 must not reach private IPv4 (RFC 6052 3.1).
	g.expectDrop(g.send(portV6, fixture.New().Eth(macC6, macV6).IPv6(client6, "64:ff9b::a00:1").UDP(1, 2).Bytes()), pipeline.DropNAT64NonGlobal)
	// Untranslatable: an IPv6 packet with no transport the RFC maps.
	g.expectDrop(g.send(portV6, from6().Bytes()), pipeline.DropNAT64Untranslatable)
}

func TestNAT64SYNLimit(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		c.NAT64.SYNLimit.PerEIP = []config.EIPSYNLimit{{EIP: "2.2.2.11", Rate: 5}}
	})
	passed := 0
	for i := 0; i < 20; i++ {
		f := g.sendAt(portV6, from6().TCP(uint16(40000+i), 80, "S").Bytes(), 5e9)
		if f.Verdict == pipeline.VerdictTx {
			passed++
		} else if f.Drop != pipeline.DropSYNLimit {
			t.Fatalf("SYN %d dropped for %v", i, f.Drop)
		}
	}
	if passed != 5 {
		t.Errorf("%d SYNs passed at once with a limit of 5/s", passed)
	}
	// A second later the bucket is full again; the other EIP was never limited.
	if f := g.sendAt(portV6, from6().TCP(41000, 80, "S").Bytes(), 6e9+1); f.Verdict != pipeline.VerdictTx {
		t.Errorf("SYN a second later: %v", f.Drop)
	}
	other := fixture.New().Eth(macC6, macV6).IPv6(client6, "64:ff9b::202:20c").TCP(42000, 80, "S").Bytes()
	if f := g.sendAt(portV6, other, 6e9+2); f.Verdict != pipeline.VerdictTx {
		t.Errorf("SYN to another EIP: %v", f.Drop)
	}
	if d := g.rt.Env.NAT64.SYN.Drops([4]byte{2, 2, 2, 11}); d != 15 {
		t.Errorf("per-EIP SYN drops %d, want 15", d)
	}
}

func TestNAT64PoolExhausted(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		c.NAT64.Pools = []config.Pool{{Prefix: "198.51.100.1/32", Ports: "2000-2000"}}
		c.BGP.Announce = []string{"198.51.100.1/32"}
	})
	g.expectTx(g.send(portV6, from6().UDP(1000, 7053).Bytes()), portV4)
	other := fixture.New().Eth(macC6, macV6).IPv6("2001:db8:6::8", eip6).UDP(1000, 7053).Bytes()
	g.expectDrop(g.send(portV6, other), pipeline.DropNAT64PoolExhausted)
}

// RFC 6146 3.8: a client reaching another client's mapping through the
// prefix (Prefix::T) is hairpinned back to the IPv6 side.
func TestNAT64Hairpin(t *testing.T) {
	g := newGW(t, nil)
	pkt := g.expectTx(g.send(portV6, from6().UDP(5353, 7053).Payload([]byte("open")).Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	tport := uint16(pkt.Layer(layers.LayerTypeUDP).(*layers.UDP).SrcPort)
	t4 := ip.SrcIP.To4()
	dst := net.IP(append([]byte{0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, t4...)).String()
	hp := fixture.New().Eth("02:00:00:00:04:08", macV6).IPv6("2001:db8:6::8", dst).UDP(6000, tport).Payload([]byte("hairpin")).Bytes()
	back := g.expectTx(g.send(portV6, hp), portV6)
	ip6 := back.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	udp := back.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip6.DstIP.String() != client6 || udp.DstPort != 5353 {
		t.Fatalf("hairpinned to %v:%d, want %s:5353", ip6.DstIP, udp.DstPort, client6)
	}
	l4ok6(t, ip6)
	if g.dp.Stats().Events[pipeline.EventNAT64Hairpin] != 1 {
		t.Error("nat64_hairpin not counted")
	}
}

// The NAT64 paths allocate nothing: new sessions (BIB + session inserts and
// translation), established sessions both ways.
func TestNAT64AllocatesNothing(t *testing.T) {
	g := newGW(t, nil)
	out := from6().UDP(6000, 7053).Payload([]byte("x")).Bytes()
	pkt := g.expectTx(g.send(portV6, out), portV4)
	ip, _ := decode4(t, pkt)
	tport := uint16(pkt.Layer(layers.LayerTypeUDP).(*layers.UDP).SrcPort)
	in := fromServer(ip.SrcIP.String()).UDP(7053, tport).Payload([]byte("y")).Bytes()
	syn := from6().TCP(40000, 80, "S").Bytes()
	frames := [][]byte{out, in, syn}
	ports := []uint16{portV6, portV4, portV6}
	bufs := make([][]byte, len(frames))
	for i := range bufs {
		bufs[i] = make([]byte, 4096)
	}
	batch := make([]pipeline.Frame, len(frames))
	sport := uint16(40000)
	now := int64(1e9)
	allocs := testing.AllocsPerRun(300, func() {
		sport++ // a new TCP session each round
		syn[14+40], syn[14+41] = byte(sport>>8), byte(sport)
		for i, fr := range frames {
			n := copy(bufs[i][256:], fr)
			batch[i] = pipeline.Frame{Buf: bufs[i], Off: 256, Len: n, InPort: ports[i]}
		}
		now += 1e6
		g.w.Process(batch, now)
		g.w.Flush()
	})
	if allocs != 0 {
		t.Fatalf("NAT64 paths allocate %v times per batch", allocs)
	}
	st := g.dp.Stats()
	if st.Events[pipeline.EventNAT64SessionCreated] < 300 || st.Events[pipeline.EventNAT64Hit] < 600 {
		t.Errorf("sessions created %d hits %d: both paths not exercised", st.Events[pipeline.EventNAT64SessionCreated], st.Events[pipeline.EventNAT64Hit])
	}
}

// Bad input with a defined verdict: an ICMP error about no session, an IPv6
// packet outside the prefix, a full session table.
func TestNAT64BadInput(t *testing.T) {
	g := newGW(t, nil)
	quoted := fixture.New().IPv4("198.51.100.3", "2.2.2.11").UDP(4444, 53).Bytes()
	g.expectDrop(g.send(portV4, fixture.New().Eth(macServer, macV4).IPv4("192.0.2.11", "198.51.100.3").ICMPError(3, 1, quoted).Bytes()), pipeline.DropNAT64NoSession)
	// Outside the prefix: plain IPv6 routing in the NAT64's VRF (no route here).
	f := g.send(portV6, fixture.New().Eth(macC6, macV6).IPv6(client6, "2001:db8:77::1").UDP(1, 2).Bytes())
	if f.Verdict != pipeline.VerdictTx || f.OutPort != portV6 {
		t.Errorf("outside the prefix: %v %v, want an ICMPv6 unreachable back", f.Verdict, f.Drop)
	}
}

// A full session table under drop-new refuses new sessions with a named
// drop and keeps the old ones; under oldest (the default) it evicts.
func TestNAT64FullSessionTable(t *testing.T) {
	for _, tc := range []struct {
		evict   string
		refused bool
	}{{config.EvictDropNew, true}, {config.EvictOldest, false}} {
		t.Run(tc.evict, func(t *testing.T) {
			cfg := config.Default()
			cfg.Sessions.Evict = tc.evict
			rt, err := compile.Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			dp, err := compile.NewDataplane(rt, 64)
			if err != nil {
				t.Fatal(err)
			}
			g := &gw{t: t, rt: rt, dp: dp, w: dp.NewWorker()}
			refused := 0
			for i := 0; i < 200; i++ {
				f := g.send(portV6, from6().UDP(uint16(10000+i), 7053).Bytes())
				if f.Verdict != pipeline.VerdictTx {
					if f.Drop != pipeline.DropSessionTableFull {
						t.Fatalf("flow %d dropped for %v", i, f.Drop)
					}
					refused++
				}
			}
			t.Logf("%s: %d of 200 new sessions refused", tc.evict, refused)
			// drop-new refuses everything past capacity (64 entries: a
			// binding and a session each); oldest evicts and admits
			// every one (single-threaded, no entry is ever being
			// written when another key looks for a victim).
			if tc.refused && refused < 150 || !tc.refused && refused > 0 {
				t.Errorf("%s: %d of 200 new sessions refused", tc.evict, refused)
			}
			if st := dp.Sessions().Stats(); tc.refused && st.InsertFailedFull == 0 || !tc.refused && st.Evicted == 0 {
				t.Errorf("%s: table counters %+v", tc.evict, st)
			}
		})
	}
}
