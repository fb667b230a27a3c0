package replay_test

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/control/config"
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// RFC 7915 §4.1: an IPv4 fragment with DF clear that is too big for the
// IPv6 link once translated is cut into IPv6 fragments. A non-initial
// fragment (no ports: nat64InFragment) of 1500 bytes of IPv4 becomes 1528
// bytes of IPv6 on a 1500-byte port: it must be cut too, with the spare
// buffers, as the first fragment of a datagram is.
func TestNAT64LaterFragmentRefragmented(t *testing.T) {
	g := newGW(t, nil)
	pool, tport := openUDP(t, g)
	pool4 := [4]byte(net.ParseIP(pool).To4())
	payload := make([]byte, 2000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	udp, frag := serverUDPFragments(pool4, tport, payload, 0x4343)
	type piece struct {
		off  int
		data []byte
	}
	var got []piece
	collect := func(pkt gopacket.Packet) {
		fh, ok := pkt.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
		if !ok || fh.Identification != 0x4343 {
			t.Fatalf("no fragment header with the IPv4 ID: %v", pkt)
		}
		if n := len(pkt.Data()) - 14; n > 1500 {
			t.Errorf("IPv6 fragment of %d bytes exceeds the 1500-byte MTU", n)
		}
		got = append(got, piece{int(fh.FragmentOffset) * 8, append([]byte{}, fh.Payload...)})
	}
	// The first fragment, small: translated whole, tracked.
	collect(g.expectTx(g.send(portV4, frag(0, 256, true)), portV6))
	// A middle fragment of 1480 bytes: must be cut in two.
	spare := make([]pipeline.Frame, 4)
	for i := range spare {
		spare[i] = pipeline.Frame{Buf: make([]byte, 4096), Off: 256}
	}
	g.w.LendSpare(spare)
	collect(g.expectTx(g.send(portV4, frag(256, 256+1480, true)), portV6))
	if g.w.SpareUsed() != 1 {
		t.Fatalf("%d spare frames used, want 1", g.w.SpareUsed())
	}
	if spare[0].Verdict != pipeline.VerdictTx || spare[0].OutPort != portV6 {
		t.Fatalf("second piece: %v on %d", spare[0].Verdict, spare[0].OutPort)
	}
	collect(gopacket.NewPacket(spare[0].Data(), layers.LayerTypeEthernet, gopacket.Default))
	g.w.LendSpare(nil)
	collect(g.expectTx(g.send(portV4, frag(256+1480, len(udp), false)), portV6))

	whole := make([]byte, len(udp))
	n := 0
	for _, p := range got {
		n += copy(whole[p.off:], p.data)
	}
	sum := checksum.PseudoHeaderV6([16]byte(net.ParseIP(eip6).To16()), [16]byte(net.ParseIP(client6).To16()), 17, uint32(len(whole)))
	if n != len(udp) || ^checksum.Checksum(whole, sum) != 0 {
		t.Errorf("reassembled UDP: %d of %d bytes, checksum ok %v", n, len(udp), ^checksum.Checksum(whole, sum) == 0)
	}
}

// RFC 7915 §4.2: Fragmentation Needed -> Packet Too Big with MTU
// min(advertised + 20, IPv6 next-hop MTU, IPv4 next-hop MTU + 20). With
// 9000-byte ports and 8000 advertised that is 8020: the IPv4 next-hop MTU
// is the port's, not a default of 1500 (which would say 1520).
func TestNAT64FragNeededToPTBUsesIPv4PortMTU(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		for i := range c.Ports {
			c.Ports[i].MTU = 9000
		}
	})
	pkt := g.expectTx(g.send(portV6, from6().UDP(6000, 7053).Payload([]byte("query")).Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	quoted := append(append([]byte{}, ip.Contents...), ip.Payload[:8]...)
	frame := fixture.New().Eth(macServer, macV4).IPv4("192.0.2.11", ip.SrcIP.String()).ICMPError(3, 4, quoted).Bytes()
	ic := frame[14+20:]
	binary.BigEndian.PutUint16(ic[6:], 8000) // Next-Hop MTU
	binary.BigEndian.PutUint16(ic[2:], 0)
	binary.BigEndian.PutUint16(ic[2:], ^checksum.Checksum(ic, 0))
	back := g.expectTx(g.send(portV4, frame), portV6)
	ic6 := back.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	if ic6.TypeCode.Type() != layers.ICMPv6TypePacketTooBig {
		t.Fatalf("translated to %v", ic6.TypeCode)
	}
	if mtu := binary.BigEndian.Uint32(ic6.Payload[0:4]); mtu != 8020 {
		t.Errorf("Packet Too Big MTU %d, want 8020 (RFC 7915 §4.2)", mtu)
	}
}
