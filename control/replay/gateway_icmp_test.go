package replay_test

import (
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/control/config"
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
)

// icmpQuote checks the ICMPv4 error in pkt (its checksum over the whole
// message) and returns the datagram it quotes, decoded, with the quoted
// IPv4 header checksum checked.
func icmpQuote(t *testing.T, pkt gopacket.Packet) (*layers.ICMPv4, *layers.IPv4, gopacket.Packet) {
	t.Helper()
	ic, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if !ok {
		t.Fatal("no ICMPv4 layer")
	}
	msg := append(append([]byte{}, ic.Contents...), ic.Payload...)
	if ^checksum.Checksum(msg, 0) != 0 {
		t.Error("ICMP checksum invalid after the quote was rewritten")
	}
	q := gopacket.NewPacket(ic.Payload, layers.LayerTypeIPv4, gopacket.Default)
	qip, ok := q.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok {
		t.Fatal("quote is not IPv4")
	}
	if ^checksum.Checksum(qip.Contents, 0) != 0 {
		t.Error("quoted IPv4 header checksum invalid")
	}
	return ic, qip, q
}

// ICMP errors cross the EIP NAT with their quote rewritten, and an error
// about a flow's packet passes without the rules.
func TestGatewayICMPErrors(t *testing.T) {
	// Tenant 1 admits SSH only: no ICMP rule, so only related errors pass.
	g := newGW(t, func(c *config.Config) {
		fw := c.Tenants[0].Firewall.Ingress
		fw.Rules = fw.Rules[:1]
	})

	// Tenant 1 opens telnet to the client; the client's side sees it from
	// the EIP. An Internet router answers that datagram with
	// Fragmentation Needed (MTU 1400).
	out := g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(40000, 23, "S").Bytes()), portInet)
	sent := out.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	quote := append(append([]byte{}, sent.Contents...), sent.Payload...)
	fragNeeded := func(q []byte) []byte {
		b := fromClient("2.2.2.11").ICMPError(3, 4, q).Bytes()
		// Next-hop MTU 1400 (RFC 1191) in the second word, checksum fixed.
		b[14+20+6], b[14+20+7] = 0x05, 0x78
		b[14+20+2], b[14+20+3] = 0, 0
		c := ^checksum.Checksum(b[14+20:], 0)
		b[14+20+2], b[14+20+3] = byte(c>>8), byte(c)
		return b
	}
	pkt := g.expectTx(g.send(portInet, fragNeeded(quote)), portUnder)
	outer(t, pkt, macHost1, "172.168.0.11", 1000)
	if ip := inner(t, pkt); ip.DstIP.String() != "10.0.0.7" {
		t.Errorf("error DNATed to %v, want 10.0.0.7", ip.DstIP)
	}
	ic, qip, q := icmpQuote(t, pkt)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(3, 4) || ic.Seq != 1400 {
		t.Errorf("ICMP %v MTU %d, want frag needed 1400", ic.TypeCode, ic.Seq)
	}
	if qip.SrcIP.String() != "10.0.0.7" || qip.DstIP.String() != "1.1.1.7" {
		t.Errorf("quote %v > %v, want 10.0.0.7 > 1.1.1.7 (what the host sent)", qip.SrcIP, qip.DstIP)
	}
	if tcp, ok := q.Layer(layers.LayerTypeTCP).(*layers.TCP); !ok || tcp.SrcPort != 40000 || tcp.DstPort != 23 {
		t.Errorf("quoted TCP %v", q.Layer(layers.LayerTypeTCP))
	} else {
		l4ok(t, qip)
	}
	st := g.dp.Stats()
	if st.Events[pipeline.EventICMPRelated] != 1 || st.Events[pipeline.EventICMPErrorNAT] != 1 {
		t.Errorf("related %d nat %d, want 1 and 1", st.Events[pipeline.EventICMPRelated], st.Events[pipeline.EventICMPErrorNAT])
	}

	// The same error about a port the tenant never used is not related:
	// the rules (no ICMP accepted) drop it.
	other := append([]byte{}, quote...)
	other[20+0], other[20+1] = 0x9c, 0x41 // source port 40001
	g.expectDrop(g.send(portInet, fragNeeded(other)), pipeline.DropFirewallIngress)

	// Quotes that cannot be about this EIP.
	wrongEIP := append([]byte{}, quote...)
	copy(wrongEIP[12:16], []byte{2, 2, 2, 12})
	g.expectDrop(g.send(portInet, fragNeeded(wrongEIP)), pipeline.DropICMPBadQuote)
	g.expectDrop(g.send(portInet, fragNeeded(quote[:12])), pipeline.DropICMPBadQuote)

	// From the tenant: the client opens SSH to the EIP, the host answers
	// a datagram of that connection with an error; the client must see
	// the EIP in the quote.
	in := g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(41000, 22, "S").Bytes()), portUnder)
	got := inner(t, in)
	hostQuote := append(append([]byte{}, got.Contents...), got.Payload...)
	pkt = g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").ICMPError(3, 3, hostQuote).Bytes()), portInet)
	if ip := inner(t, pkt); ip.SrcIP.String() != "2.2.2.11" {
		t.Errorf("error SNATed to %v, want 2.2.2.11", ip.SrcIP)
	}
	_, qip, q = icmpQuote(t, pkt)
	if qip.SrcIP.String() != "1.1.1.7" || qip.DstIP.String() != "2.2.2.11" {
		t.Errorf("quote %v > %v, want 1.1.1.7 > 2.2.2.11 (what the client sent)", qip.SrcIP, qip.DstIP)
	}
	if tcp, ok := q.Layer(layers.LayerTypeTCP).(*layers.TCP); !ok || tcp.SrcPort != 41000 || tcp.DstPort != 22 {
		t.Errorf("quoted TCP %v", q.Layer(layers.LayerTypeTCP))
	} else {
		l4ok(t, qip)
	}
	if st := g.dp.Stats(); st.Events[pipeline.EventICMPRelated] != 2 || st.Events[pipeline.EventICMPErrorNAT] != 2 {
		t.Errorf("related %d nat %d, want 2 and 2", st.Events[pipeline.EventICMPRelated], st.Events[pipeline.EventICMPErrorNAT])
	}
	// A host quoting a datagram to another address: not ours to rewrite.
	bad := append([]byte{}, hostQuote...)
	copy(bad[16:20], []byte{10, 0, 0, 8})
	g.expectDrop(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").ICMPError(3, 3, bad).Bytes()), pipeline.DropICMPBadQuote)
}

// A quoted UDP datagram with checksum zero keeps it zero (RFC 768); a
// quote cut inside the UDP header keeps the ports matched and the rest as
// it came.
func TestGatewayICMPErrorUDPQuotes(t *testing.T) {
	g := newGW(t, nil)
	out := g.expectTx(g.send(portUnder, fromTenant(2, 2000).IPv4("10.0.0.7", "1.1.1.7").UDP(5000, 7000).Payload([]byte("x")).Bytes()), portInet)
	sent := out.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	full := append(append([]byte{}, sent.Contents...), sent.Payload...)
	for _, tt := range []struct {
		name  string
		quote []byte
	}{
		{"zero checksum", func() []byte { b := append([]byte{}, full...); b[26], b[27] = 0, 0; return b }()},
		{"ports only", append([]byte{}, full[:24]...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pkt := g.expectTx(g.send(portInet, fromClient("2.2.2.12").ICMPError(3, 3, tt.quote).Bytes()), portUnder)
			outer(t, pkt, macHost2, "172.168.0.12", 2000)
			ic, qip, _ := icmpQuote(t, pkt)
			if qip.SrcIP.String() != "10.0.0.7" {
				t.Errorf("quote source %v", qip.SrcIP)
			}
			rest := ic.Payload[20:]
			if len(rest) != len(tt.quote)-20 {
				t.Fatalf("quote length %d, want %d", len(rest), len(tt.quote)-20)
			}
			if len(rest) >= 8 && (rest[6] != 0 || rest[7] != 0) {
				t.Errorf("zero UDP checksum became %x", rest[6:8])
			}
		})
	}
	if st := g.dp.Stats(); st.Events[pipeline.EventICMPRelated] != 2 {
		t.Errorf("related %d, want 2", st.Events[pipeline.EventICMPRelated])
	}
}
