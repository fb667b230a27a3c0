package replay_test

import (
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// Behaviours the differential test against tayga (testbed/nat64.sh diff,
// tools/nat64diff, docs/nat64.md) found wrong in xdpgw, each fixed and
// kept here with the RFC clause it checks.

// openUDP maps client6:6000 -> 2.2.2.11:7053 and returns the pool address
// and port.
func openUDP(t *testing.T, g *gw) (string, uint16) {
	t.Helper()
	pkt := g.expectTx(g.send(portV6, from6().UDP(6000, 7053).Payload([]byte("query")).Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	return ip.SrcIP.String(), uint16(pkt.Layer(layers.LayerTypeUDP).(*layers.UDP).SrcPort)
}

// ptbFromClient is an ICMPv6 Packet Too Big (MTU mtu) from the client about
// a 1300-byte UDP datagram the NAT64 delivered to it from 2.2.2.11:7053.
func ptbFromClient(t *testing.T, mtu uint32) []byte {
	t.Helper()
	quoted := fixture.New().IPv6(eip6, client6).UDP(7053, 6000).Payload(make([]byte, 1300)).Bytes()
	quoted = quoted[:1280-48]
	eth := &layers.Ethernet{SrcMAC: fixture.MAC(macC6), DstMAC: fixture.MAC(macV6), EthernetType: layers.EthernetTypeIPv6}
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6,
		SrcIP: fixture.New().IPv6(client6, eip6).Bytes()[8:24], DstIP: fixture.New().IPv6(client6, eip6).Bytes()[24:40]}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypePacketTooBig, 0)}
	if err := ic.SetNetworkLayerForChecksum(ip6); err != nil {
		t.Fatal(err)
	}
	rest := make([]byte, 4)
	binary.BigEndian.PutUint32(rest, mtu)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true},
		eth, ip6, ic, gopacket.Payload(append(rest, quoted...))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// RFC 7915 §5.2: Packet Too Big -> Fragmentation Needed with MTU
// min(advertised - 20, IPv4 next-hop MTU, IPv6 next-hop MTU - 20): with
// 1500-byte ports and 1400 advertised, 1380. xdpgw says 1260: the pipeline
// (nat64OutError) builds nat64.Config with MTU4 only, so MTU6 counts as
// the 1280 default.
func TestNAT64BugPacketTooBigMTU(t *testing.T) {
	g := newGW(t, nil)
	openUDP(t, g)
	pkt := g.expectTx(g.send(portV6, ptbFromClient(t, 1400)), portV4)
	ic := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic.TypeCode.Type() != layers.ICMPv4TypeDestinationUnreachable || ic.TypeCode.Code() != layers.ICMPv4CodeFragmentationNeeded {
		t.Fatalf("translated to %v", ic.TypeCode)
	}
	if ic.Seq != 1380 { // the Next-Hop MTU is the low 16 bits of the second word
		t.Errorf("Next-Hop MTU %d, want 1380 (RFC 7915 §5.2)", ic.Seq)
	}
}

// RFC 1812 §4.3.2.3: an ICMPv4 error holds as much of the offending
// datagram as fits in 576 bytes. A translated ICMPv6 error keeps up to
// the IPv4 MTU (1240 bytes from a 1280-byte Packet Too Big); tayga cuts
// at 576.
func TestNAT64BugTranslatedICMPv4ErrorAt576(t *testing.T) {
	g := newGW(t, nil)
	openUDP(t, g)
	pkt := g.expectTx(g.send(portV6, ptbFromClient(t, 1400)), portV4)
	ip, _ := decode4(t, pkt)
	if ip.Length > 576 {
		t.Errorf("translated ICMPv4 error of %d bytes, want at most 576 (RFC 1812 §4.3.2.3)", ip.Length)
	}
}

// RFC 7915 §4.1 (and issue 4, item 5): an IPv4 packet with DF clear that
// is too big for the IPv6 link once translated is fragmented. A 1500-byte
// datagram (1520 as IPv6 on a 1500-byte port) is dropped instead, as
// fragmentation_needed: the pipeline passes no spare frames to
// nat64.V4ToV6, which answers ResultNeedSpare.
func TestNAT64FragmentsDFClear(t *testing.T) {
	g := newGW(t, nil)
	pool, tport := openUDP(t, g)
	big := fromServer(pool).UDP(7053, tport).Payload(make([]byte, 1472)).Bytes() // 1500 bytes of IPv4, DF clear
	spare := make([]pipeline.Frame, 4)
	for i := range spare {
		spare[i] = pipeline.Frame{Buf: make([]byte, 4096), Off: 256}
	}
	g.w.LendSpare(spare)
	pkt := g.expectTx(g.send(portV4, big), portV6)
	if pkt.Layer(layers.LayerTypeIPv6Fragment) == nil {
		t.Error("the first translated fragment has no Fragment header")
	}
	if n := len(pkt.Data()) - 14; n > 1500 {
		t.Errorf("first fragment of %d bytes exceeds the 1500-byte IPv6 MTU", n)
	}
	if g.w.SpareUsed() != 1 {
		t.Fatalf("%d spare frames used, want 1 (1520 bytes of IPv6 in two fragments)", g.w.SpareUsed())
	}
	sf := &spare[0]
	if sf.Verdict != pipeline.VerdictTx || sf.OutPort != portV6 {
		t.Fatalf("second fragment: %v on %d", sf.Verdict, sf.OutPort)
	}
	second := gopacket.NewPacket(sf.Data(), layers.LayerTypeEthernet, gopacket.Default)
	fh, ok := second.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
	if !ok || fh.MoreFragments || fh.FragmentOffset == 0 {
		t.Fatalf("second fragment header %+v", fh)
	}
	first := pkt.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
	whole := append(append([]byte{}, first.Payload...), fh.Payload...)
	ip6 := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	sum := checksum.PseudoHeaderV6([16]byte(ip6.SrcIP.To16()), [16]byte(ip6.DstIP.To16()), 17, uint32(len(whole)))
	if len(whole) != 1480 || ^checksum.Checksum(whole, sum) != 0 {
		t.Errorf("reassembled UDP: %d bytes, checksum ok %v", len(whole), ^checksum.Checksum(whole, sum) == 0)
	}
	// Without spare buffers the datagram cannot be cut: counted, dropped.
	g.w.LendSpare(nil)
	g.expectDrop(g.send(portV4, big), pipeline.DropFragmentationNeeded)
}

// RFC 7915 §5.1: a Routing header with Segments Left != 0 MUST NOT be
// translated (xdpgw drops it: right) and an ICMPv6 Parameter Problem code
// 0 pointing at Segments Left SHOULD go back; xdpgw sends none
// (nat64_untranslatable). nat64.BuildRoutingHeaderError exists for it.
func TestNAT64BugRoutingHeaderParamProblem(t *testing.T) {
	g := newGW(t, nil)
	frame := from6().UDP(6000, 7053).Payload([]byte("rh")).Bytes()
	// Insert a type-0 Routing header (one address, Segments Left 1)
	// between the IPv6 header and UDP.
	rh := make([]byte, 24)
	rh[0], rh[1], rh[3] = byte(layers.IPProtocolUDP), 2, 1
	copy(rh[8:], frame[14+24:14+40])
	out := append(append(append([]byte{}, frame[:54]...), rh...), frame[54:]...)
	out[14+6] = byte(layers.IPProtocolIPv6Routing)
	binary.BigEndian.PutUint16(out[14+4:], binary.BigEndian.Uint16(frame[14+4:])+24)
	back := g.expectTx(g.send(portV6, out), portV6)
	ic := back.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	if ic.TypeCode.Type() != layers.ICMPv6TypeParameterProblem || ic.TypeCode.Code() != 0 {
		t.Fatalf("answered with %v", ic.TypeCode)
	}
	if ptr := binary.BigEndian.Uint32(ic.Payload[:4]); ptr != 43 {
		t.Errorf("pointer %d, want 43 (Segments Left)", ptr)
	}
}

// RFC 7915 §4.1: an IPv4 packet with an unexpired source route option
// MUST NOT be translated (xdpgw drops it: right) and an ICMPv4 Destination
// Unreachable / Source Route Failed (type 3, code 5) SHOULD go back;
// xdpgw sends none (nat64_untranslatable).
func TestNAT64BugSourceRouteFailed(t *testing.T) {
	g := newGW(t, nil)
	pool, tport := openUDP(t, g)
	f := fromServer(pool).UDP(7053, tport).Payload([]byte("lsrr")).Bytes()
	// Add an 8-byte LSRR option (NOP, LSRR len 7 ptr 4, one address).
	opt := []byte{1, 131, 7, 4, 192, 0, 2, 9}
	out := append(append(append([]byte{}, f[:34]...), opt...), f[34:]...)
	out[14] = 0x47
	binary.BigEndian.PutUint16(out[16:], binary.BigEndian.Uint16(f[16:])+8)
	out[24], out[25] = 0, 0
	binary.BigEndian.PutUint16(out[24:], ^checksum.Checksum(out[14:42], 0))
	back := g.expectTx(g.send(portV4, out), portV4)
	ic := back.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic.TypeCode.Type() != layers.ICMPv4TypeDestinationUnreachable || ic.TypeCode.Code() != 5 {
		t.Fatalf("answered with %v", ic.TypeCode)
	}
}
