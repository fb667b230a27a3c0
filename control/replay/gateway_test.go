package replay_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/control/compile"
	"xdpgw/control/config"
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
	"xdpgw/dataplane/session"
	"xdpgw/tools/fixture"
)

// The gateway prototype of background.md, frame by frame, on the embedded
// default configuration: the MACs and addresses below are the default's.
const (
	macInternet = "02:00:00:00:01:01"
	macUnderlay = "02:00:00:00:01:02"
	macClient   = "02:00:00:00:02:07"
	macHost1    = "02:00:00:00:03:0b"
	macHost2    = "02:00:00:00:03:0c"
	portInet    = 0
	portUnder   = 1
)

type gw struct {
	t  *testing.T
	rt *compile.Runtime
	dp *pipeline.Dataplane
	w  *pipeline.Worker
}

func newGW(t *testing.T, edit func(*config.Config)) *gw {
	t.Helper()
	cfg := config.Default()
	if edit != nil {
		edit(cfg)
		if err := cfg.Validate(); err != nil {
			t.Fatalf("edited config invalid: %v", err)
		}
	}
	rt, dp := runtimeFor(t, cfg)
	return &gw{t: t, rt: rt, dp: dp, w: dp.NewWorker()}
}

// send runs one frame arriving on port through the pipeline.
func (g *gw) send(port uint16, frame []byte) *pipeline.Frame {
	g.t.Helper()
	buf := make([]byte, 4096)
	n := copy(buf[256:], frame)
	b := []pipeline.Frame{{Buf: buf, Off: 256, Len: n, InPort: port, Time: 1}}
	g.w.Process(b, 1e9)
	g.w.Flush()
	return &b[0]
}

func (g *gw) expectTx(f *pipeline.Frame, port uint16) gopacket.Packet {
	g.t.Helper()
	if f.Verdict != pipeline.VerdictTx || f.OutPort != port {
		g.t.Fatalf("verdict %v port %d drop %v; want tx on %s", f.Verdict, f.OutPort, f.Drop, g.rt.PortNames[port])
	}
	pkt := gopacket.NewPacket(f.Data(), layers.LayerTypeEthernet, gopacket.Default)
	if el := pkt.ErrorLayer(); el != nil {
		g.t.Fatalf("output does not decode: %v", el.Error())
	}
	return pkt
}

func (g *gw) expectDrop(f *pipeline.Frame, r pipeline.DropReason) {
	g.t.Helper()
	if f.Verdict != pipeline.VerdictDrop || f.Drop != r {
		g.t.Fatalf("verdict %v drop %v; want drop %v", f.Verdict, f.Drop, r)
	}
}

// fromClient is a frame from the Internet client to dst.
func fromClient(dst string) *fixture.Builder {
	return fixture.New().Eth(macClient, macInternet).IPv4("1.1.1.7", dst)
}

// fromTenant is a GRE frame from a tenant host's tunnel endpoint with key,
// whose inner packet the caller adds.
func fromTenant(host int, key int64) *fixture.Builder {
	mac, src := macHost1, "172.168.0.11"
	if host == 2 {
		mac, src = macHost2, "172.168.0.12"
	}
	return fixture.New().Eth(mac, macUnderlay).IPv4(src, "172.168.0.1").GRE(key)
}

// outer checks the outer headers of a frame sent into a tenant tunnel and
// returns the GRE layer.
func outer(t *testing.T, pkt gopacket.Packet, dstMAC, dst string, key uint32) *layers.GRE {
	t.Helper()
	eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth.DstMAC.String() != dstMAC || eth.SrcMAC.String() != macUnderlay {
		t.Errorf("outer MACs %v > %v, want %s > %s", eth.SrcMAC, eth.DstMAC, macUnderlay, dstMAC)
	}
	ip := pkt.Layers()[1].(*layers.IPv4)
	if ip.SrcIP.String() != "172.168.0.1" || ip.DstIP.String() != dst || ip.Protocol != layers.IPProtocolGRE {
		t.Errorf("outer IPv4 %v > %v proto %v, want 172.168.0.1 > %s GRE", ip.SrcIP, ip.DstIP, ip.Protocol, dst)
	}
	if ^checksum.Checksum(ip.Contents, 0) != 0 {
		t.Error("outer IPv4 checksum invalid")
	}
	gre, ok := pkt.Layer(layers.LayerTypeGRE).(*layers.GRE)
	if !ok {
		t.Fatal("no GRE header")
	}
	if !gre.KeyPresent || gre.Key != key {
		t.Errorf("GRE key present=%v key=%d, want %d", gre.KeyPresent, gre.Key, key)
	}
	return gre
}

// inner returns the innermost IPv4 layer and checks its header checksum.
func inner(t *testing.T, pkt gopacket.Packet) *layers.IPv4 {
	t.Helper()
	var last *layers.IPv4
	for _, l := range pkt.Layers() {
		if ip, ok := l.(*layers.IPv4); ok {
			last = ip
		}
	}
	if last == nil {
		t.Fatal("no IPv4 layer")
	}
	if ^checksum.Checksum(last.Contents, 0) != 0 {
		t.Error("IPv4 header checksum invalid")
	}
	return last
}

// l4ok verifies the TCP/UDP checksum of ip's payload with its pseudo-header.
func l4ok(t *testing.T, ip *layers.IPv4) {
	t.Helper()
	seg := ip.Payload
	sum := checksum.PseudoHeaderV4([4]byte(ip.SrcIP.To4()), [4]byte(ip.DstIP.To4()), uint8(ip.Protocol), uint16(len(seg)))
	if ^checksum.Checksum(seg, sum) != 0 {
		t.Errorf("%v checksum invalid after NAT", ip.Protocol)
	}
}

func TestGatewayClientToTenants(t *testing.T) {
	tests := []struct {
		name    string
		eip     string
		dport   uint16
		host    string
		hostMAC string
		key     uint32
	}{
		{"client reaches tenant 1 ssh via 2.2.2.11", "2.2.2.11", 22, "172.168.0.11", macHost1, 1000},
		{"client reaches tenant 2 telnet via 2.2.2.12", "2.2.2.12", 23, "172.168.0.12", macHost2, 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGW(t, nil)
			pkt := g.expectTx(g.send(portInet, fromClient(tt.eip).TCP(40000, tt.dport, "S").Bytes()), portUnder)
			// Bug 1: the route-level tunnel keeps its key.
			outer(t, pkt, tt.hostMAC, tt.host, tt.key)
			ip := inner(t, pkt)
			if ip.SrcIP.String() != "1.1.1.7" || ip.DstIP.String() != "10.0.0.7" || ip.TTL != 63 {
				t.Errorf("inner %v > %v ttl %d, want 1.1.1.7 > 10.0.0.7 ttl 63", ip.SrcIP, ip.DstIP, ip.TTL)
			}
			l4ok(t, ip)
			st := g.dp.Stats()
			if st.Events[pipeline.EventDNAT] != 1 || st.Events[pipeline.EventEncap] != 1 {
				t.Errorf("events dnat %d encap %d", st.Events[pipeline.EventDNAT], st.Events[pipeline.EventEncap])
			}
		})
	}
}

func TestGatewayIngressFirewall(t *testing.T) {
	g := newGW(t, nil)
	// Tenant 1 admits SSH and ICMP only; tenant 2 telnet and ICMP.
	g.expectDrop(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 23, "S").Bytes()), pipeline.DropFirewallIngress)
	g.expectDrop(g.send(portInet, fromClient("2.2.2.12").TCP(40000, 22, "S").Bytes()), pipeline.DropFirewallIngress)
	g.expectDrop(g.send(portInet, fromClient("2.2.2.11").UDP(40000, 53).Payload([]byte("q")).Bytes()), pipeline.DropFirewallIngress)
	pkt := g.expectTx(g.send(portInet, fromClient("2.2.2.12").ICMPEcho(9, 1, false).Bytes()), portUnder)
	outer(t, pkt, macHost2, "172.168.0.12", 2000)
}

func TestGatewayTenantToClient(t *testing.T) {
	g := newGW(t, nil)
	// Tenant 1 answers the client's SSH connection: SNAT to its EIP.
	pkt := g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(22, 40000, "SA").Bytes()), portInet)
	eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth.DstMAC.String() != macClient || eth.SrcMAC.String() != macInternet {
		t.Errorf("MACs %v > %v", eth.SrcMAC, eth.DstMAC)
	}
	if pkt.Layer(layers.LayerTypeGRE) != nil {
		t.Fatal("GRE header left on the Internet side")
	}
	ip := inner(t, pkt)
	if ip.SrcIP.String() != "2.2.2.11" || ip.DstIP.String() != "1.1.1.7" || ip.TTL != 63 {
		t.Errorf("%v > %v ttl %d, want 2.2.2.11 > 1.1.1.7 ttl 63", ip.SrcIP, ip.DstIP, ip.TTL)
	}
	l4ok(t, ip)
	// Tenant 2's identical private address leaves from its own EIP.
	pkt = g.expectTx(g.send(portUnder, fromTenant(2, 2000).IPv4("10.0.0.7", "1.1.1.7").UDP(5000, 7000).Payload([]byte("x")).Bytes()), portInet)
	if ip := inner(t, pkt); ip.SrcIP.String() != "2.2.2.12" {
		t.Errorf("tenant 2 left from %v, want 2.2.2.12", ip.SrcIP)
	} else {
		l4ok(t, ip)
	}
}

func TestGatewayEgressFirewall(t *testing.T) {
	g := newGW(t, nil)
	// Tenant 1 cannot open SSH to the client; tenant 2 cannot open telnet.
	g.expectDrop(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(40000, 22, "S").Bytes()), pipeline.DropFirewallEgress)
	g.expectDrop(g.send(portUnder, fromTenant(2, 2000).IPv4("10.0.0.7", "1.1.1.7").TCP(40000, 23, "S").Bytes()), pipeline.DropFirewallEgress)
	// ... but each may open the other's port.
	g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(40000, 23, "S").Bytes()), portInet)
	g.expectTx(g.send(portUnder, fromTenant(2, 2000).IPv4("10.0.0.7", "1.1.1.7").TCP(40000, 22, "S").Bytes()), portInet)
}

func TestGatewayTenantIsolation(t *testing.T) {
	g := newGW(t, nil)
	for _, dst := range []string{"2.2.2.12", "2.2.2.11", "172.168.0.12", "172.168.0.1", "1.1.1.1", "10.0.0.8"} {
		t.Run(dst, func(t *testing.T) {
			g.expectDrop(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", dst).ICMPEcho(1, 1, false).Bytes()), pipeline.DropTenantIsolation)
		})
	}
}

func TestGatewayBadTunnels(t *testing.T) {
	g := newGW(t, nil)
	tests := []struct {
		name  string
		frame []byte
		want  pipeline.DropReason
	}{
		{"unknown key", fromTenant(1, 3000).IPv4("10.0.0.7", "1.1.1.7").UDP(1, 2).Bytes(), pipeline.DropGREUnknownKey},
		{"no key", fromTenant(1, -1).IPv4("10.0.0.7", "1.1.1.7").UDP(1, 2).Bytes(), pipeline.DropGRENoKey},
		{"truncated GRE", truncOuter(fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").UDP(1, 2).Bytes(), 14+20+6), pipeline.DropBadGRE},
		{"truncated inner", truncOuter(fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").UDP(1, 2).Bytes(), 14+20+8+10), pipeline.DropTruncatedL3},
		{"bad GRE checksum", badGRECsum(), pipeline.DropBadGREChecksum},
		{"GRE on the Internet port is not decapsulated", fixture.New().Eth(macClient, macInternet).IPv4("1.1.1.7", "1.1.1.1").GRE(1000).IPv4("10.0.0.7", "1.1.1.7").UDP(1, 2).Bytes(), pipeline.DropNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := uint16(portUnder)
			if tt.want == pipeline.DropNone {
				port = portInet
			}
			f := g.send(port, tt.frame)
			if tt.want == pipeline.DropNone {
				if f.Verdict != pipeline.VerdictLocal {
					t.Fatalf("verdict %v %v, want local", f.Verdict, f.Drop)
				}
				return
			}
			if f.Verdict != pipeline.VerdictDrop {
				t.Fatalf("verdict %v, want drop %v", f.Verdict, tt.want)
			}
			if f.Drop != tt.want && !(tt.want == pipeline.DropTruncatedL3 && f.Drop == pipeline.DropTruncatedL4) {
				t.Fatalf("drop %v, want %v", f.Drop, tt.want)
			}
		})
	}
}

// truncOuter cuts a frame at n bytes and fixes the outer IPv4 length and
// checksum, so the outer packet is well formed and what follows is short.
func truncOuter(b []byte, n int) []byte {
	b = b[:n]
	b[16], b[17] = byte((n-14)>>8), byte(n-14)
	fixIPv4(b[14:34])
	return b
}

func badGRECsum() []byte {
	// Build GRE with the C bit by hand: flags C|K, proto IPv4, csum, key.
	innerPkt := fixture.New().IPv4("10.0.0.7", "1.1.1.7").UDP(1, 2).Bytes()
	gre := []byte{0xb0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0x03, 0xe8}
	payload := append(gre, innerPkt...)
	c := ^checksum.Checksum(payload, 0)
	payload[4], payload[5] = byte(c>>8), byte(c)^0xff // wrong on purpose
	frame := fixture.New().Eth(macHost1, macUnderlay).IPv4("172.168.0.11", "172.168.0.1").Payload(payload).Bytes()
	frame[14+9] = 47
	fixIPv4(frame[14:34])
	return frame
}

// The gateway answers ICMP echo to its overlay address through the tunnel
// the request came by, with the request's key.
func TestGatewayTunnelEcho(t *testing.T) {
	g := newGW(t, nil)
	pkt := g.expectTx(g.send(portUnder, fromTenant(2, 2000).IPv4("10.0.0.7", "10.0.0.1").ICMPEcho(3, 4, false).Payload([]byte("ping")).Bytes()), portUnder)
	outer(t, pkt, macHost2, "172.168.0.12", 2000)
	ip := inner(t, pkt)
	if ip.SrcIP.String() != "10.0.0.1" || ip.DstIP.String() != "10.0.0.7" {
		t.Errorf("reply %v > %v", ip.SrcIP, ip.DstIP)
	}
	ic := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || ic.Id != 3 || ic.Seq != 4 {
		t.Errorf("reply %v id %d seq %d", ic.TypeCode, ic.Id, ic.Seq)
	}
	if ^checksum.Checksum(ip.Payload, 0) != 0 {
		t.Error("ICMP checksum invalid")
	}
}

// Bug 3: an ARP reply through a keyed tunnel keeps the request's key.
func TestBugARPReplyKeepsTunnelKey(t *testing.T) {
	g := newGW(t, nil)
	req := fromTenant(1, 1000).Eth("02:00:00:00:0a:07", "ff:ff:ff:ff:ff:ff").ARPRequest("02:00:00:00:0a:07", "10.0.0.7", "10.0.0.1").Bytes()
	pkt := g.expectTx(g.send(portUnder, req), portUnder)
	outer(t, pkt, macHost1, "172.168.0.11", 1000)
	arp, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !ok || arp.Operation != layers.ARPReply {
		t.Fatalf("no ARP reply in %v", pkt)
	}
	if netip.AddrFrom4([4]byte(arp.SourceProtAddress)).String() != "10.0.0.1" || netip.AddrFrom4([4]byte(arp.DstProtAddress)).String() != "10.0.0.7" {
		t.Errorf("ARP reply %v is-at for %v", arp.SourceProtAddress, arp.DstProtAddress)
	}
	if g.dp.Stats().Events[pipeline.EventTunnelARPReply] != 1 {
		t.Error("tunnel_arp_reply not counted")
	}
}

// Bug 1: a packet sent through a route-level tunnel keeps its key.
func TestBugRouteEncapKeepsKey(t *testing.T) {
	g := newGW(t, nil)
	pkt := g.expectTx(g.send(portInet, fromClient("2.2.2.11").ICMPEcho(1, 1, false).Bytes()), portUnder)
	outer(t, pkt, macHost1, "172.168.0.11", 1000)
}

// Bug 2: a tenant's tunnel with a fixed key sends through route-level
// attributes: a route that names only the tunnel destination gets the
// tenant's key.
func TestBugFixedKeyTunnelSendsThroughRoute(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		vrf, _ := c.FindVRF("user1")
		vrf.Routes[0].Encap.Key = nil
	})
	pkt := g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()), portUnder)
	outer(t, pkt, macHost1, "172.168.0.11", 1000)
}

// Bug 4: with DNAT, the route towards the tenant is resolved for the
// post-DNAT address (10.0.0.7), not the EIP: a route for the EIP in the
// tenant's VRF pointing elsewhere must not be used.
func TestBugDNATRoutesPostDNATAddress(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		vrf, _ := c.FindVRF("user1")
		k := int64(1000)
		vrf.Routes = append(vrf.Routes, config.Route{Prefix: "2.2.2.0/24", Port: "underlay", Encap: &config.Encap{Type: "gre", Key: &k, Dst: "172.168.0.12"}})
	})
	pkt := g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()), portUnder)
	outer(t, pkt, macHost1, "172.168.0.11", 1000)
}

// Bug 6: each packet is classified exactly once per direction: a DNATed
// packet is matched against the ingress rules only. Tenant 1's egress set
// drops TCP port 22; an inbound SSH SYN must pass, and only the ingress
// rule counts it.
func TestBugClassifiedOncePerDirection(t *testing.T) {
	g := newGW(t, nil)
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()), portUnder)
	t1 := &g.rt.Env.Gateway.Tenants[0]
	in, inDef := t1.Ingress.Counters()
	eg, egDef := t1.Egress.Counters()
	if in[0] != 1 || inDef != 0 {
		t.Errorf("ingress counters %v default %d, want the ssh rule once", in, inDef)
	}
	var egTotal uint64
	for _, v := range eg {
		egTotal += v
	}
	if egTotal+egDef != 0 {
		t.Errorf("egress rule set consulted for an inbound packet: %v default %d", eg, egDef)
	}
}

func TestGatewayReject(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		tn, _ := c.FindTenant("user1")
		tn.Firewall.Ingress.Rules = append(tn.Firewall.Ingress.Rules,
			config.Rule{Name: "no-smtp", Action: "reject", Proto: "tcp", DstPorts: []string{"25"}},
			config.Rule{Name: "no-dns", Action: "reject", Proto: "udp", DstPorts: []string{"53"}})
		tn.Firewall.Egress.Rules = append(tn.Firewall.Egress.Rules,
			config.Rule{Name: "no-irc", Action: "reject", Proto: "tcp", DstPorts: []string{"6667"}})
	})
	t.Run("ingress TCP gets a RST from the EIP", func(t *testing.T) {
		pkt := g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 25, "S").Bytes()), portInet)
		ip := inner(t, pkt)
		tcp := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip.SrcIP.String() != "2.2.2.11" || ip.DstIP.String() != "1.1.1.7" || !tcp.RST || !tcp.ACK || tcp.Ack != 1001 || tcp.SrcPort != 25 || tcp.DstPort != 40000 {
			t.Errorf("answer %v:%d > %v:%d rst %v ack %v/%d", ip.SrcIP, tcp.SrcPort, ip.DstIP, tcp.DstPort, tcp.RST, tcp.ACK, tcp.Ack)
		}
		l4ok(t, ip)
	})
	t.Run("ingress UDP gets ICMP admin prohibited", func(t *testing.T) {
		pkt := g.expectTx(g.send(portInet, fromClient("2.2.2.11").UDP(40000, 53).Payload([]byte("query")).Bytes()), portInet)
		ip := inner(t, pkt)
		ic := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if ip.SrcIP.String() != "2.2.2.11" || ic.TypeCode != layers.CreateICMPv4TypeCode(3, 13) {
			t.Errorf("answer from %v: %v", ip.SrcIP, ic.TypeCode)
		}
		if ^checksum.Checksum(ip.Payload, 0) != 0 {
			t.Error("ICMP checksum invalid")
		}
	})
	t.Run("egress TCP gets a RST through the tunnel with the key", func(t *testing.T) {
		pkt := g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(40001, 6667, "S").Bytes()), portUnder)
		outer(t, pkt, macHost1, "172.168.0.11", 1000)
		ip := inner(t, pkt)
		tcp := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip.SrcIP.String() != "1.1.1.7" || ip.DstIP.String() != "10.0.0.7" || !tcp.RST {
			t.Errorf("answer %v > %v rst %v", ip.SrcIP, ip.DstIP, tcp.RST)
		}
		l4ok(t, ip)
	})
	t.Run("no RST for a RST", func(t *testing.T) {
		g.expectDrop(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 25, "R").Bytes()), pipeline.DropFirewallIngress)
	})
	st := g.dp.Stats()
	if st.Events[pipeline.EventRejectRST] != 2 || st.Events[pipeline.EventRejectICMP] != 1 {
		t.Errorf("reject events rst %d icmp %d, want 2 and 1", st.Events[pipeline.EventRejectRST], st.Events[pipeline.EventRejectICMP])
	}
}

func (g *gw) sendAt(port uint16, frame []byte, now int64) *pipeline.Frame {
	g.t.Helper()
	buf := make([]byte, 4096)
	n := copy(buf[256:], frame)
	b := []pipeline.Frame{{Buf: buf, Off: 256, Len: n, InPort: port}}
	g.w.Process(b, now)
	g.w.Flush()
	return &b[0]
}

// Stateful: the answer to a connection the tenant opened passes the
// tenant's ingress rules (default drop) because the flow admits it; the
// same packet without the opening SYN is dropped.
func TestGatewayStatefulReplies(t *testing.T) {
	g := newGW(t, nil)
	synAck := fromClient("2.2.2.11").TCP(23, 40000, "SA").Bytes()
	g.expectDrop(g.send(portInet, synAck), pipeline.DropFirewallIngress)

	g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(40000, 23, "S").Bytes()), portInet)
	pkt := g.expectTx(g.send(portInet, synAck), portUnder)
	outer(t, pkt, macHost1, "172.168.0.11", 1000)
	ip := inner(t, pkt)
	if ip.DstIP.String() != "10.0.0.7" {
		t.Errorf("reply DNATed to %v", ip.DstIP)
	}
	l4ok(t, ip)
	// Tenant 2 shares 10.0.0.7 but not the flow: its key would differ.
	st := g.dp.Stats()
	if st.Events[pipeline.EventFlowCreated] != 1 || st.Events[pipeline.EventFlowHit] != 1 {
		t.Errorf("flow created %d hit %d, want 1 and 1", st.Events[pipeline.EventFlowCreated], st.Events[pipeline.EventFlowHit])
	}
}

// The fast path: later packets of an admitted connection are forwarded from
// the flow entry, in both directions, without consulting the rules again.
func TestGatewayFastPath(t *testing.T) {
	g := newGW(t, nil)
	syn := fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()
	g.expectTx(g.send(portInet, syn), portUnder)
	g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(22, 40000, "SA").Bytes()), portInet)
	for i := 0; i < 5; i++ {
		pkt := g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "A").Payload([]byte("data")).Bytes()), portUnder)
		outer(t, pkt, macHost1, "172.168.0.11", 1000)
		l4ok(t, inner(t, pkt))
	}
	st := g.dp.Stats()
	if st.Events[pipeline.EventFlowHit] != 6 {
		t.Errorf("flow hits %d, want 6", st.Events[pipeline.EventFlowHit])
	}
	in, _ := g.rt.Env.Gateway.Tenants[0].Ingress.Counters()
	if in[0] != 1 {
		t.Errorf("ssh rule consulted %d times, want once (the SYN)", in[0])
	}
}

// Bug 5: the flow entry records the real ingress and egress ports (the
// underlay and Internet ports), not a VRF.
func TestBugFlowRecordsRealPorts(t *testing.T) {
	g := newGW(t, nil)
	g.expectTx(g.send(portInet, fromClient("2.2.2.12").TCP(40000, 23, "S").Bytes()), portUnder)
	tab := g.dp.Sessions()
	sw := tab.NewWorker()
	k := session.Key{Family: session.FamilyIPv4, Proto: 6, Zone: 0, SrcPort: 40000, DstPort: 23}
	copy(k.Src[:], []byte{1, 1, 1, 7})
	copy(k.Dst[:], []byte{2, 2, 2, 12})
	var e session.Entry
	if !sw.Lookup(&k, &e) {
		t.Fatal("no flow entry for the client's connection")
	}
	kind, tport, iport := pipeline.FlowPorts(e.Value)
	if kind != 1 || tport != portUnder || iport != portInet {
		t.Fatalf("flow records kind %d tenant port %d Internet port %d, want 1, %d (underlay), %d (internet)", kind, tport, iport, portUnder, portInet)
	}
	var fwd, rev session.Key
	if !tab.Keys(e.Handle, &fwd, &rev) || rev.Zone != 2 || [4]byte(rev.Src[:4]) != [4]byte{10, 0, 0, 7} {
		t.Errorf("reverse key %+v, want tenant 2's zone and 10.0.0.7", rev)
	}
}

// A configuration change re-decides existing flows: when tenant 1 stops
// admitting SSH, the next packet of an open SSH connection is dropped.
func TestGatewayFlowInvalidatedByReload(t *testing.T) {
	g := newGW(t, nil)
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()), portUnder)
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "A").Bytes()), portUnder)
	cfg := config.Default()
	tn, _ := cfg.FindTenant("user1")
	tn.Firewall.Ingress.Rules = tn.Firewall.Ingress.Rules[1:] // no ssh
	rt, err := compile.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.dp.Publish(rt.Env); err != nil {
		t.Fatal(err)
	}
	g.expectDrop(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "A").Bytes()), pipeline.DropFirewallIngress)
	if st := g.dp.Stats(); st.Events[pipeline.EventFlowStale] != 1 {
		t.Errorf("flow_stale %d, want 1", st.Events[pipeline.EventFlowStale])
	}
}

// A flow is decided for the ports it was seen on: a packet of it that
// arrives on another Internet port (a second uplink) is not forwarded
// from the cached decision, whose output ports came from the first, but
// judged again, and the entry dropped as stale.
func TestGatewayFlowStaleOnOtherPort(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		c.Ports = append(c.Ports, config.Port{Name: "internet2", Role: "external",
			MAC: "02:00:00:00:01:05", Addresses: []string{"1.1.2.1/24"}, MTU: 1500, Queues: 1, VRF: "main"})
	})
	inet2 := uint16(slices.Index(g.rt.PortNames, "internet2"))
	if int(inet2) >= len(g.rt.PortNames) || inet2 == portInet {
		t.Fatalf("no second Internet port in %v", g.rt.PortNames)
	}
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()), portUnder)
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "A").Bytes()), portUnder)
	st := g.dp.Stats()
	hits, stale := st.Events[pipeline.EventFlowHit], st.Events[pipeline.EventFlowStale]
	if hits != 1 || stale != 0 {
		t.Fatalf("after SYN and ACK on %s: flow_hit %d flow_stale %d, want 1 and 0", g.rt.PortNames[portInet], hits, stale)
	}
	ack := fixture.New().Eth(macClient, "02:00:00:00:01:05").IPv4("1.1.1.7", "2.2.2.11").TCP(40000, 22, "A").Bytes()
	g.expectTx(g.send(inet2, ack), portUnder)
	st = g.dp.Stats()
	if st.Events[pipeline.EventFlowHit] != hits || st.Events[pipeline.EventFlowStale] != 1 {
		t.Errorf("ACK on internet2: flow_hit %d flow_stale %d, want %d (no hit) and 1", st.Events[pipeline.EventFlowHit], st.Events[pipeline.EventFlowStale], hits)
	}
	// The entry is gone: the next ACK on the first port finds no flow
	// either (an ACK does not open one).
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "A").Bytes()), portUnder)
	if st := g.dp.Stats(); st.Events[pipeline.EventFlowHit] != hits {
		t.Errorf("flow_hit %d after the stale entry was dropped, want %d", st.Events[pipeline.EventFlowHit], hits)
	}
}

// Flows expire after their class's idle time (RFC 6146 defaults): a UDP
// answer after 5 minutes of silence is judged by the rules again.
func TestGatewayFlowExpires(t *testing.T) {
	g := newGW(t, nil)
	t0 := int64(1000e9)
	query := fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").UDP(5353, 7000).Payload([]byte("q")).Bytes()
	answer := fromClient("2.2.2.11").UDP(7000, 5353).Payload([]byte("a")).Bytes()
	g.expectTx(g.sendAt(portUnder, query, t0), portInet)
	g.expectTx(g.sendAt(portInet, answer, t0+int64(60e9)), portUnder)
	g.expectDrop(g.sendAt(portInet, answer, t0+int64(60e9)+int64(6*60e9)), pipeline.DropFirewallIngress)
}

// Neither the slow path (new flows: classify, NAT, encap, session insert)
// nor the fast path allocates.
func TestGatewayAllocatesNothing(t *testing.T) {
	g := newGW(t, nil)
	syn := fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()
	ack := fromClient("2.2.2.11").TCP(40000, 22, "A").Payload([]byte("data")).Bytes()
	out := fromTenant(2, 2000).IPv4("10.0.0.7", "1.1.1.7").UDP(5000, 7000).Payload([]byte("x")).Bytes()
	frames := [][]byte{syn, ack, out}
	bufs := make([][]byte, len(frames))
	for i := range bufs {
		bufs[i] = make([]byte, 4096)
	}
	batch := make([]pipeline.Frame, len(frames))
	var port uint16 = 1000
	now := int64(1e9)
	allocs := testing.AllocsPerRun(500, func() {
		port++
		// A new client port each round: the SYN takes the slow path.
		syn[14+20], syn[14+21] = byte(port>>8), byte(port)
		for i, fr := range frames {
			n := copy(bufs[i][256:], fr)
			in := uint16(portInet)
			if i == 2 {
				in = portUnder
			}
			batch[i] = pipeline.Frame{Buf: bufs[i], Off: 256, Len: n, InPort: in}
		}
		now += 1e6
		g.w.Process(batch, now)
		g.w.Flush()
	})
	if allocs != 0 {
		t.Fatalf("gateway paths allocate %v times per batch", allocs)
	}
	st := g.dp.Stats()
	if st.Events[pipeline.EventFlowCreated] < 500 || st.Events[pipeline.EventFlowHit] < 500 {
		t.Errorf("flows created %d hit %d: the test did not exercise both paths", st.Events[pipeline.EventFlowCreated], st.Events[pipeline.EventFlowHit])
	}
}

// An IPv6 underlay: the same tenants, their tunnels over IPv6 (the route's
// encap dst is an IPv6 address, the gateway's underlay port has one).
func TestGatewayIPv6Underlay(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		c.Ports[1].Addresses = append(c.Ports[1].Addresses, "2001:db8:ff::1/64")
		c.Neighbors = append(c.Neighbors, config.Neighbor{Port: "underlay", IP: "2001:db8:ff::11", MAC: macHost1})
		vrf, _ := c.FindVRF("user1")
		vrf.Routes[0].Encap.Dst = "2001:db8:ff::11"
		c.VRFs[0].Routes = append(c.VRFs[0].Routes, config.Route{Prefix: "2001:db8:ff::/64", Port: "underlay"})
	})
	// Internet -> EIP: DNAT and GRE over IPv6 with the tenant's key.
	pkt := g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()), portUnder)
	ip6, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if !ok || ip6.SrcIP.String() != "2001:db8:ff::1" || ip6.DstIP.String() != "2001:db8:ff::11" || ip6.NextHeader != layers.IPProtocolGRE {
		t.Fatalf("outer header %+v", ip6)
	}
	gre := pkt.Layer(layers.LayerTypeGRE).(*layers.GRE)
	if !gre.KeyPresent || gre.Key != 1000 {
		t.Errorf("GRE key %v %d", gre.KeyPresent, gre.Key)
	}
	in := inner(t, pkt)
	if in.DstIP.String() != "10.0.0.7" {
		t.Errorf("inner to %v", in.DstIP)
	}
	l4ok(t, in)
	// The tenant answers through its IPv6 tunnel: decap and SNAT.
	reply := fixture.New().Eth(macHost1, macUnderlay).IPv6("2001:db8:ff::11", "2001:db8:ff::1").GRE(1000).IPv4("10.0.0.7", "1.1.1.7").TCP(22, 40000, "SA").Bytes()
	out := g.expectTx(g.send(portUnder, reply), portInet)
	if ip := inner(t, out); ip.SrcIP.String() != "2.2.2.11" {
		t.Errorf("reply left from %v", ip.SrcIP)
	} else {
		l4ok(t, ip)
	}
	// The gateway's overlay address answers through the same IPv6 tunnel.
	echo := fixture.New().Eth(macHost1, macUnderlay).IPv6("2001:db8:ff::11", "2001:db8:ff::1").GRE(1000).IPv4("10.0.0.7", "10.0.0.1").ICMPEcho(5, 1, false).Bytes()
	back := g.expectTx(g.send(portUnder, echo), portUnder)
	o6 := back.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if o6.SrcIP.String() != "2001:db8:ff::1" || o6.DstIP.String() != "2001:db8:ff::11" {
		t.Errorf("echo reply outer %v > %v", o6.SrcIP, o6.DstIP)
	}
	if k := back.Layer(layers.LayerTypeGRE).(*layers.GRE); !k.KeyPresent || k.Key != 1000 {
		t.Error("echo reply lost the key")
	}
}

// A tenant's packet whose TTL runs out at the gateway is answered with ICMP
// time exceeded from the gateway's overlay address, through the tunnel and
// key it came by (traceroute from a tenant's host).
func TestGatewayTenantTTLExceeded(t *testing.T) {
	g := newGW(t, nil)
	probe := fromTenant(2, 2000).IPv4("10.0.0.7", "1.1.1.7").TTL(1).UDP(33434, 33434).Payload([]byte("trace")).Bytes()
	pkt := g.expectTx(g.send(portUnder, probe), portUnder)
	outer(t, pkt, macHost2, "172.168.0.12", 2000)
	ip := inner(t, pkt)
	ic := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ip.SrcIP.String() != "10.0.0.1" || ip.DstIP.String() != "10.0.0.7" || ic.TypeCode.Type() != layers.ICMPv4TypeTimeExceeded {
		t.Fatalf("answer %v > %v %v", ip.SrcIP, ip.DstIP, ic.TypeCode)
	}
	if ^checksum.Checksum(ip.Payload, 0) != 0 {
		t.Error("ICMP checksum invalid")
	}
	st := g.dp.Stats()
	if st.Drops[pipeline.DropTTLExceeded] != 1 || st.Events[pipeline.EventICMPTimeExceeded] != 1 {
		t.Errorf("ttl_exceeded %d, time exceeded sent %d", st.Drops[pipeline.DropTTLExceeded], st.Events[pipeline.EventICMPTimeExceeded])
	}
}

// A packet the gateway admits but then cannot send (TTL expired, too big)
// leaves no flow behind.
func TestGatewayNoFlowForUnsentPackets(t *testing.T) {
	g := newGW(t, nil)
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TTL(1).TCP(40000, 22, "S").Bytes()), portInet) // time exceeded back
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").DF().TCP(40001, 22, "S").Payload(make([]byte, 1460)).Bytes()), portInet)
	g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TTL(1).UDP(5000, 7000).Bytes()), portUnder) // time exceeded into the tunnel
	if n := g.dp.Stats().Events[pipeline.EventFlowCreated]; n != 0 {
		t.Fatalf("%d flows created for packets that were not sent", n)
	}
}
