package nat64_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/packet"
)

// Packets are built with gopacket and translated outputs decoded with
// gopacket; the expectations are written from RFC 7915 in each test, never
// by calling the package. Checksums are verified by full recomputation
// (checkSums4/checkSums6), independently of the incremental updates.

const (
	headroom = 256
	bufSize  = 4096
)

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xa}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xb}

	// The testbed of issue 4: IPv6 client, EIP 2.2.2.11 behind the
	// prefix, pool address 198.51.100.1 (documentation block).
	client6    = mustAddr16("2001:db8:1::7")
	eip4       = [4]byte{2, 2, 2, 11}
	pool4      = [4]byte{198, 51, 100, 1}
	router6    = mustAddr16("2001:db8:ff::1")
	router4    = [4]byte{192, 0, 2, 254}
	prefix     = nat64.MustPrefix("64:ff9b::/96")
	eip6       = prefix.Embed(eip4)
	router4in6 = prefix.Embed(router4)
)

func mustAddr16(s string) [16]byte { return netip.MustParseAddr(s).As16() }

func ip16(a [16]byte) net.IP { return net.IP(append([]byte(nil), a[:]...)) }
func ip4(a [4]byte) net.IP   { return net.IP(append([]byte(nil), a[:]...)).To4() }

var serOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

func ser(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	b := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(b, serOpts, ls...); err != nil {
		tb.Fatalf("SerializeLayers: %v", err)
	}
	return append([]byte(nil), b.Bytes()...)
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

// l4For serializes transport layers with their checksum computed over the
// pseudo-header of nl (an *layers.IPv4 or *layers.IPv6, not serialized).
func l4For(tb testing.TB, nl gopacket.NetworkLayer, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	for _, l := range ls {
		switch l := l.(type) {
		case *layers.TCP:
			l.SetNetworkLayerForChecksum(nl)
		case *layers.UDP:
			l.SetNetworkLayerForChecksum(nl)
		case *layers.ICMPv6:
			l.SetNetworkLayerForChecksum(nl)
		}
	}
	return ser(tb, ls...)
}

// v6Frame builds Ethernet + ip + raw extension headers + raw upper layer.
func v6Frame(tb testing.TB, ip *layers.IPv6, ext, upper []byte) []byte {
	tb.Helper()
	return ser(tb, eth(layers.EthernetTypeIPv6), ip, gopacket.Payload(append(append([]byte(nil), ext...), upper...)))
}

// v4Frame builds Ethernet + ip + raw upper layer.
func v4Frame(tb testing.TB, ip *layers.IPv4, upper []byte) []byte {
	tb.Helper()
	return ser(tb, eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(upper))
}

func newIPv6(src, dst [16]byte, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, TrafficClass: 0xb8, FlowLabel: 0x12345, HopLimit: 63,
		NextHeader: next, SrcIP: ip16(src), DstIP: ip16(dst)}
}

func newIPv4(src, dst [4]byte, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TOS: 0x28, Id: 0x4321, Flags: layers.IPv4DontFragment,
		TTL: 61, Protocol: proto, SrcIP: ip4(src), DstIP: ip4(dst)}
}

// ext headers as raw bytes (gopacket cannot serialize Routing/Fragment).
func hopByHop(next uint8) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} } // PadN
func destOpts(next uint8) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} }
func routing(next, segLeft uint8) []byte {
	// Type 4 (segment routing header shape) with one 16-byte segment.
	b := make([]byte, 24)
	b[0], b[1], b[2], b[3] = next, 2, 4, segLeft
	return b
}
func fragHdr(next uint8, off uint16, more bool, id uint32) []byte {
	b := make([]byte, 8)
	b[0] = next
	v := off &^ 7
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(b[2:], v)
	binary.BigEndian.PutUint32(b[4:], id)
	return b
}

// frameOf copies pkt into a 4096-byte buffer with 256 bytes of headroom.
func frameOf(pkt []byte) *nat64.Frame {
	buf := make([]byte, bufSize)
	copy(buf[headroom:], pkt)
	return &nat64.Frame{Buf: buf, Off: headroom, Len: len(pkt)}
}

func parse(f *nat64.Frame) *packet.Parsed {
	var p packet.Parsed
	p.Decode(f.Data())
	return &p
}

func clone(f *nat64.Frame) []byte { return append([]byte(nil), f.Data()...) }

// decode4 decodes an Ethernet/IPv4 frame with gopacket.
func decode4(tb testing.TB, data []byte) (*layers.IPv4, gopacket.Packet) {
	tb.Helper()
	pk := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	e, _ := pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if e == nil || e.EthernetType != layers.EthernetTypeIPv4 {
		tb.Fatalf("not an Ethernet/IPv4 frame: %v", pk)
	}
	ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip == nil {
		tb.Fatalf("no IPv4 layer: %v", pk)
	}
	return ip, pk
}

func decode6(tb testing.TB, data []byte) (*layers.IPv6, gopacket.Packet) {
	tb.Helper()
	pk := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	e, _ := pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if e == nil || e.EthernetType != layers.EthernetTypeIPv6 {
		tb.Fatalf("not an Ethernet/IPv6 frame: %v", pk)
	}
	ip, _ := pk.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if ip == nil {
		tb.Fatalf("no IPv6 layer: %v", pk)
	}
	return ip, pk
}

// checkSums4 verifies, by full recomputation, the IPv4 header checksum and,
// for a packet that is not a fragment, the transport checksum. For an ICMP
// error it also checks the quoted header's checksum and, when the quote is
// whole, the quoted transport checksum.
func checkSums4(tb testing.TB, l3 []byte) {
	tb.Helper()
	hl := int(l3[0]&15) * 4
	tl := int(binary.BigEndian.Uint16(l3[2:]))
	if s := checksum.Checksum(l3[:hl], 0); s != 0xffff {
		tb.Errorf("IPv4 header checksum: sum %#04x", s)
	}
	if binary.BigEndian.Uint16(l3[6:])&0x3fff != 0 {
		return // fragment: the transport checksum covers other fragments
	}
	seg := l3[hl:tl]
	var src, dst [4]byte
	copy(src[:], l3[12:16])
	copy(dst[:], l3[16:20])
	checkL4(tb, "", l3[9], seg, func(proto uint8, n int) uint16 { return checksum.PseudoHeaderV4(src, dst, proto, uint16(n)) })
	if l3[9] == packet.ProtoICMP && packet.ICMPv4IsError(seg[0]) {
		in := seg[8:]
		ihl := int(in[0]&15) * 4
		if s := checksum.Checksum(in[:ihl], 0); s != 0xffff {
			tb.Errorf("quoted IPv4 header checksum: sum %#04x", s)
		}
		itl := int(binary.BigEndian.Uint16(in[2:]))
		if itl == len(in) && binary.BigEndian.Uint16(in[6:])&0x3fff == 0 {
			var isrc, idst [4]byte
			copy(isrc[:], in[12:16])
			copy(idst[:], in[16:20])
			checkL4(tb, "quoted ", in[9], in[ihl:], func(proto uint8, n int) uint16 { return checksum.PseudoHeaderV4(isrc, idst, proto, uint16(n)) })
		}
	}
}

// checkSums6 is checkSums4 for IPv6 (no header checksum; the ICMPv6
// checksum includes the pseudo-header).
func checkSums6(tb testing.TB, l3 []byte) {
	tb.Helper()
	end := 40 + int(binary.BigEndian.Uint16(l3[4:]))
	proto, off, frag := walk(l3[:end])
	if frag {
		return
	}
	src, dst := [16]byte(l3[8:24]), [16]byte(l3[24:40])
	seg := l3[off:end]
	checkL4(tb, "", proto, seg, func(proto uint8, n int) uint16 { return checksum.PseudoHeaderV6(src, dst, proto, uint32(n)) })
	if proto == packet.ProtoICMPv6 && packet.ICMPv6IsError(seg[0]) {
		in := seg[8:]
		iend := 40 + int(binary.BigEndian.Uint16(in[4:]))
		if iend != len(in) {
			return // quote cut: nothing to verify inside
		}
		iproto, ioff, ifrag := walk(in)
		if ifrag {
			return
		}
		isrc, idst := [16]byte(in[8:24]), [16]byte(in[24:40])
		checkL4(tb, "quoted ", iproto, in[ioff:], func(proto uint8, n int) uint16 { return checksum.PseudoHeaderV6(isrc, idst, proto, uint32(n)) })
	}
}

// walk is a test-side extension header walk: hop-by-hop, destination
// options, routing, fragment.
func walk(pkt []byte) (proto uint8, off int, frag bool) {
	proto, off = pkt[6], 40
	for {
		switch proto {
		case 0, 43, 60:
			proto, off = pkt[off], off+(int(pkt[off+1])+1)*8
		case 44:
			frag = true
			proto, off = pkt[off], off+8
		default:
			return proto, off, frag
		}
	}
}

func checkL4(tb testing.TB, what string, proto uint8, seg []byte, pseudo func(uint8, int) uint16) {
	tb.Helper()
	switch proto {
	case packet.ProtoTCP:
		if s := checksum.Checksum(seg, pseudo(proto, len(seg))); s != 0xffff {
			tb.Errorf("%sTCP checksum: sum %#04x", what, s)
		}
	case packet.ProtoUDP:
		if binary.BigEndian.Uint16(seg[6:]) == 0 {
			return
		}
		if s := checksum.Checksum(seg, pseudo(proto, len(seg))); s != 0xffff {
			tb.Errorf("%sUDP checksum: sum %#04x", what, s)
		}
	case packet.ProtoICMP:
		if s := checksum.Checksum(seg, 0); s != 0xffff {
			tb.Errorf("%sICMP checksum: sum %#04x", what, s)
		}
	case packet.ProtoICMPv6:
		if s := checksum.Checksum(seg, pseudo(proto, len(seg))); s != 0xffff {
			tb.Errorf("%sICMPv6 checksum: sum %#04x", what, s)
		}
	}
}

func eq(tb testing.TB, what string, got, want any) {
	tb.Helper()
	switch g := got.(type) {
	case []byte:
		if !bytes.Equal(g, want.([]byte)) {
			tb.Errorf("%s: (-want +got)\n-% x\n+% x", what, want, got)
		}
		return
	case net.IP:
		if !g.Equal(want.(net.IP)) {
			tb.Errorf("%s: -%v +%v", what, want, got)
		}
		return
	}
	if got != want {
		tb.Errorf("%s: -%v +%v", what, want, got)
	}
}
