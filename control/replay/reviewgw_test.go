package replay_test

import (
	"testing"

	"github.com/google/gopacket/layers"

	"xdpgw/control/config"
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// A tenant's DF packet larger than the Internet port's MTU must be answered
// with Fragmentation Needed (next-hop MTU = that port's MTU) from the
// gateway's overlay address, through the tunnel and key it came by: a
// silent drop black-holes path MTU discovery from the tenant's hosts. A
// packet without DF is a fragmentation_needed drop, not mtu_exceeded.
func TestReviewTenantEgressFragNeeded(t *testing.T) {
	g := newGW(t, func(c *config.Config) { c.Ports[portInet].MTU = 1400 })
	big := fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").DF().UDP(5000, 7000).Payload(make([]byte, 1420)).Bytes()
	pkt := g.expectTx(g.send(portUnder, big), portUnder)
	outer(t, pkt, macHost1, "172.168.0.11", 1000)
	ip := inner(t, pkt)
	if ip.SrcIP.String() != "10.0.0.1" || ip.DstIP.String() != "10.0.0.7" {
		t.Errorf("answer %v > %v, want 10.0.0.1 > 10.0.0.7", ip.SrcIP, ip.DstIP)
	}
	ic, qip, _ := icmpQuote(t, pkt)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(3, 4) || ic.Seq != 1400 {
		t.Errorf("ICMP %v MTU %d, want frag needed 1400", ic.TypeCode, ic.Seq)
	}
	if qip.SrcIP.String() != "10.0.0.7" || qip.DstIP.String() != "1.1.1.7" {
		t.Errorf("quote %v > %v", qip.SrcIP, qip.DstIP)
	}
	st := g.dp.Stats()
	if st.Drops[pipeline.DropMTUExceeded] != 1 || st.Events[pipeline.EventICMPFragNeeded] != 1 {
		t.Errorf("mtu_exceeded %d frag needed sent %d", st.Drops[pipeline.DropMTUExceeded], st.Events[pipeline.EventICMPFragNeeded])
	}
	noDF := fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").UDP(5000, 7000).Payload(make([]byte, 1420)).Bytes()
	g.expectDrop(g.send(portUnder, noDF), pipeline.DropFragmentationNeeded)
}

// greCsumFrame wraps inner in GRE with the checksum and key bits (key
// 1000) from host 1.
func greCsumFrame(inner []byte, seq bool) []byte {
	gre := []byte{0xa0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0x03, 0xe8} // C|K
	if seq {
		gre[0] |= 0x10
		gre = append(gre, 0, 0, 0, 9)
	}
	payload := append(gre, inner...)
	c := ^checksum.Checksum(payload, 0)
	payload[4], payload[5] = byte(c>>8), byte(c)
	frame := fixture.New().Eth(macHost1, macUnderlay).IPv4("172.168.0.11", "172.168.0.1").Payload(payload).Bytes()
	frame[14+9] = 47
	fixIPv4(frame[14:34])
	return frame
}

// Time exceeded and echo replies through a tunnel with GRE checksum (and
// sequence) keep a valid GRE checksum over the new payload.
func TestReviewTunnelRepliesGREChecksum(t *testing.T) {
	for _, seq := range []bool{false, true} {
		g := newGW(t, nil)
		for _, in := range [][]byte{
			fixture.New().IPv4("10.0.0.7", "1.1.1.7").TTL(1).UDP(33434, 33434).Payload([]byte("trace")).Bytes(),
			fixture.New().IPv4("10.0.0.7", "10.0.0.1").ICMPEcho(3, 4, false).Payload([]byte("ping")).Bytes(),
		} {
			pkt := g.expectTx(g.send(portUnder, greCsumFrame(in, seq)), portUnder)
			gre := outer(t, pkt, macHost1, "172.168.0.11", 1000)
			if !gre.ChecksumPresent {
				t.Fatal("checksum flag lost")
			}
			oip := pkt.Layers()[1].(*layers.IPv4)
			if ^checksum.Checksum(oip.Payload, 0) != 0 {
				t.Errorf("seq %v: GRE checksum invalid", seq)
			}
			if int(oip.Length) != len(oip.Contents)+len(oip.Payload) {
				t.Errorf("outer length %d", oip.Length)
			}
		}
	}
}

// No time exceeded about an ICMP error (RFC 1812 4.3.2.7), even related.
func TestReviewNoTimeExceededForICMPError(t *testing.T) {
	g := newGW(t, nil)
	in := g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(41000, 22, "S").Bytes()), portUnder)
	got := inner(t, in)
	q := append(append([]byte{}, got.Contents...), got.Payload...)
	g.expectDrop(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TTL(1).ICMPError(3, 3, q).Bytes()), pipeline.DropTTLExceeded)
	if g.dp.Stats().Events[pipeline.EventICMPTimeExceeded] != 0 {
		t.Error("time exceeded about an ICMP error")
	}
}

// No RST for a RST, no reject answer to an ICMP error.
func TestReviewNoRejectForRSTOrError(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		for i := range c.Tenants {
			for j := range c.Tenants[i].Firewall.Ingress.Rules {
				c.Tenants[i].Firewall.Ingress.Rules[j].Action = "reject"
			}
			c.Tenants[i].Firewall.Ingress.Default = "reject"
		}
	})
	g.expectDrop(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 23, "R").Bytes()), pipeline.DropFirewallIngress)
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 23, "S").Bytes()), portInet)
	g.expectDrop(g.send(portInet, fromClient("2.2.2.11").ICMPError(3, 3, fixture.New().IPv4("2.2.2.11", "1.1.1.7").UDP(1, 2).Bytes()).Bytes()), pipeline.DropFirewallIngress)
}

// An error from a tenant host is related to a flow only if it goes to the
// peer whose datagram it quotes: quoting a flow's packet must not carry an
// ICMP error past the egress rules to any other Internet address.
func TestReviewRelatedErrorGoesToQuotedPeer(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		c.Tenants[0].Firewall.Egress.Default = "drop"
		c.Tenants[0].Firewall.Egress.Rules = nil
	})
	in := g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(41000, 22, "S").Bytes()), portUnder)
	got := inner(t, in)
	q := append(append([]byte{}, got.Contents...), got.Payload...)
	f := g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.9").ICMPError(3, 3, q).Bytes())
	if g.dp.Stats().Events[pipeline.EventICMPRelated] != 0 {
		t.Errorf("error to 1.1.1.9 quoting a datagram from 1.1.1.7 passed as related (verdict %v drop %v)", f.Verdict, f.Drop)
	}
	g.expectDrop(f, pipeline.DropFirewallEgress)
	// To the peer it quotes, it is related.
	g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").ICMPError(3, 3, q).Bytes()), portInet)
}
