package packet_test

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

// This file cross-checks the views and Parsed.Decode against gopacket: frames
// are built with gopacket's serializers from seeded random field values,
// decoded by both, and compared field by field. gopacket is the oracle; it is
// only imported by tests.

var serializeOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, ls...); err != nil {
		tb.Fatalf("SerializeLayers: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// gen builds random frames. Every choice comes from rng so that a failing
// seed reproduces.
type gen struct {
	tb  testing.TB
	rng *rand.Rand
}

func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	g.rng.Read(b)
	return b
}

func (g *gen) mac() net.HardwareAddr { return net.HardwareAddr(g.bytes(6)) }
func (g *gen) ip4() net.IP           { return net.IP(g.bytes(4)) }
func (g *gen) ip6() net.IP           { return net.IP(g.bytes(16)) }
func (g *gen) u16() uint16           { return uint16(g.rng.Uint32()) }
func (g *gen) bool() bool            { return g.rng.Intn(2) == 0 }
func (g *gen) payload(max int) gopacket.Payload {
	return gopacket.Payload(g.bytes(1 + g.rng.Intn(max)))
}

// frameSpec is a generated frame plus what the generator decided, so that a
// failure message can say what kind of frame it was.
type frameSpec struct {
	name  string
	frame []byte
	// unknownPayload is set when gopacket is expected to report a decode
	// failure for a payload type it does not know (neither side decodes it).
	unknownPayload bool
}

// l2 wraps the L3 layers in Ethernet and 0, 1 or 2 VLAN tags.
func (g *gen) l2(name string, et layers.EthernetType, l3 []gopacket.SerializableLayer) frameSpec {
	eth := &layers.Ethernet{SrcMAC: g.mac(), DstMAC: g.mac(), EthernetType: et}
	ls := []gopacket.SerializableLayer{eth}
	switch g.rng.Intn(4) {
	case 1:
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{Priority: uint8(g.rng.Intn(8)), DropEligible: g.bool(), VLANIdentifier: uint16(g.rng.Intn(4096)), Type: et})
		name += "/vlan"
	case 2:
		eth.EthernetType = layers.EthernetTypeQinQ
		ls = append(ls,
			&layers.Dot1Q{Priority: uint8(g.rng.Intn(8)), VLANIdentifier: uint16(g.rng.Intn(4096)), Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{Priority: uint8(g.rng.Intn(8)), VLANIdentifier: uint16(g.rng.Intn(4096)), Type: et})
		name += "/qinq"
	}
	return frameSpec{name: name, frame: serialize(g.tb, append(ls, l3...)...)}
}

func (g *gen) ipv4Header(proto layers.IPProtocol) *layers.IPv4 {
	ip := &layers.IPv4{
		Version: 4, TOS: uint8(g.rng.Intn(256)), Id: g.u16(), TTL: uint8(g.rng.Intn(256)),
		Protocol: proto, SrcIP: g.ip4(), DstIP: g.ip4(),
	}
	if g.bool() {
		ip.Flags = layers.IPv4DontFragment
	}
	if g.rng.Intn(5) == 0 {
		// Router Alert (RFC 2113) plus NOP/EOL padding to a word.
		ip.Options = []layers.IPv4Option{
			{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}},
			{OptionType: 1, OptionLength: 1},
			{OptionType: 0, OptionLength: 1},
		}
		if g.bool() {
			ip.Options = append(ip.Options, layers.IPv4Option{OptionType: 7, OptionLength: 7, OptionData: g.bytes(5)}) // record route
		}
	}
	return ip
}

func (g *gen) ipv6Header(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{
		Version: 6, TrafficClass: uint8(g.rng.Intn(256)), FlowLabel: g.rng.Uint32() & 0xfffff,
		NextHeader: next, HopLimit: uint8(g.rng.Intn(256)), SrcIP: g.ip6(), DstIP: g.ip6(),
	}
}

// upper returns upper-layer layers for the given network layer, with
// checksums computed against it.
func (g *gen) upper(netLayer gopacket.NetworkLayer, v6 bool, allowGRE bool) (layers.IPProtocol, []gopacket.SerializableLayer, string) {
	n := 4
	if allowGRE {
		n = 5
	}
	switch g.rng.Intn(n) {
	case 0:
		tcp := &layers.TCP{
			SrcPort: layers.TCPPort(g.u16()), DstPort: layers.TCPPort(g.u16()),
			Seq: g.rng.Uint32(), Ack: g.rng.Uint32(), Window: g.u16(), Urgent: g.u16(),
			FIN: g.bool(), SYN: g.bool(), RST: g.bool(), PSH: g.bool(), ACK: g.bool(),
			URG: g.bool(), ECE: g.bool(), CWR: g.bool(),
		}
		if g.bool() {
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionData: binary.BigEndian.AppendUint16(nil, g.u16())})
		}
		if g.bool() {
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindNop}, layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{uint8(g.rng.Intn(15))}})
		}
		if g.bool() {
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted})
		}
		if g.bool() {
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionData: g.bytes(8)})
		}
		_ = tcp.SetNetworkLayerForChecksum(netLayer)
		return layers.IPProtocolTCP, []gopacket.SerializableLayer{tcp, g.payload(200)}, "tcp"
	case 1:
		udp := &layers.UDP{SrcPort: layers.UDPPort(g.u16()), DstPort: layers.UDPPort(g.u16())}
		_ = udp.SetNetworkLayerForChecksum(netLayer)
		return layers.IPProtocolUDP, []gopacket.SerializableLayer{udp, g.payload(200)}, "udp"
	case 2, 3:
		if !v6 {
			var tc layers.ICMPv4TypeCode
			var rest []byte
			name := "icmp"
			switch g.rng.Intn(5) {
			case 0:
				tc = layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0)
			case 1:
				tc = layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0)
			case 2:
				tc = layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeFragmentationNeeded)
				name += "-fragneeded"
			case 3:
				tc = layers.CreateICMPv4TypeCode(layers.ICMPv4TypeTimeExceeded, 0)
				name += "-timeexceeded"
			case 4:
				tc = layers.CreateICMPv4TypeCode(layers.ICMPv4TypeParameterProblem, 0)
				name += "-paramproblem"
			}
			icmp := &layers.ICMPv4{TypeCode: tc, Id: g.u16(), Seq: g.u16()}
			rest = g.bytes(28) // quoted IPv4 header + 8 bytes
			return layers.IPProtocolICMPv4, []gopacket.SerializableLayer{icmp, gopacket.Payload(rest)}, name
		}
		icmp := &layers.ICMPv6{}
		_ = icmp.SetNetworkLayerForChecksum(netLayer)
		switch g.rng.Intn(4) {
		case 0:
			icmp.TypeCode = layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)
			return layers.IPProtocolICMPv6, []gopacket.SerializableLayer{icmp, &layers.ICMPv6Echo{Identifier: g.u16(), SeqNumber: g.u16()}, g.payload(64)}, "icmpv6-echo"
		case 1:
			icmp.TypeCode = layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoReply, 0)
			return layers.IPProtocolICMPv6, []gopacket.SerializableLayer{icmp, &layers.ICMPv6Echo{Identifier: g.u16(), SeqNumber: g.u16()}, g.payload(64)}, "icmpv6-echoreply"
		case 2:
			icmp.TypeCode = layers.CreateICMPv6TypeCode(layers.ICMPv6TypePacketTooBig, 0)
			body := binary.BigEndian.AppendUint32(nil, 1280+uint32(g.rng.Intn(8000)))
			return layers.IPProtocolICMPv6, []gopacket.SerializableLayer{icmp, gopacket.Payload(append(body, g.bytes(48)...))}, "icmpv6-ptb"
		default:
			icmp.TypeCode = layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)
			ns := &layers.ICMPv6NeighborSolicitation{TargetAddress: g.ip6(), Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: g.mac()}}}
			return layers.IPProtocolICMPv6, []gopacket.SerializableLayer{icmp, ns}, "icmpv6-ns"
		}
	default:
		gre := &layers.GRE{ChecksumPresent: g.bool(), KeyPresent: g.bool(), SeqPresent: g.bool(), Key: g.rng.Uint32(), Seq: g.rng.Uint32()}
		name := "gre"
		var inner []gopacket.SerializableLayer
		switch g.rng.Intn(3) {
		case 0:
			gre.Protocol = layers.EthernetTypeIPv4
			ip := g.ipv4Header(0)
			p, ls, n := g.upper(ip, false, false)
			ip.Protocol = p
			inner = append([]gopacket.SerializableLayer{ip}, ls...)
			name += "/ipv4/" + n
		case 1:
			gre.Protocol = layers.EthernetTypeIPv6
			ip := g.ipv6Header(0)
			p, ls, n := g.upper(ip, true, false)
			ip.NextHeader = p
			inner = append([]gopacket.SerializableLayer{ip}, ls...)
			name += "/ipv6/" + n
		default:
			gre.Protocol = layers.EthernetTypeTransparentEthernetBridging
			ip := g.ipv4Header(0)
			p, ls, n := g.upper(ip, false, false)
			ip.Protocol = p
			eth := &layers.Ethernet{SrcMAC: g.mac(), DstMAC: g.mac(), EthernetType: layers.EthernetTypeIPv4}
			inner = append([]gopacket.SerializableLayer{eth, ip}, ls...)
			name += "/teb/ipv4/" + n
		}
		return layers.IPProtocolGRE, append([]gopacket.SerializableLayer{gre}, inner...), name
	}
}

// extHeader builds a raw Hop-by-Hop/Destination Options/Routing header of
// 8*(1+units) bytes. Options are PadN so that gopacket parses them.
func (g *gen) extHeader(kind, next uint8) []byte {
	units := g.rng.Intn(3)
	h := make([]byte, 8*(1+units))
	h[0], h[1] = next, uint8(units)
	if kind == packet.ProtoRouting {
		// Type 0 (RFC 2460, deprecated but well defined): 8 bytes then
		// addresses, which is the only type gopacket decodes.
		h = make([]byte, 8+16*(1+g.rng.Intn(2)))
		h[0], h[1] = next, uint8((len(h)-8)/8)
		h[2], h[3] = 0, uint8(g.rng.Intn(3))
		g.rng.Read(h[8:])
		return h
	}
	// PadN over the 6 option bytes of every 8-byte unit.
	h[2], h[3] = 1, uint8(len(h)-4)
	return h
}

func (g *gen) ipv6Frame() frameSpec {
	ip := g.ipv6Header(0)
	proto, upper, uname := g.upper(ip, true, true)
	// Choose an ordered chain following RFC 8200 §4.1's recommendation.
	var kinds []uint8
	if g.bool() {
		kinds = append(kinds, packet.ProtoHopByHop)
	}
	if g.rng.Intn(3) == 0 {
		kinds = append(kinds, packet.ProtoDestOpts)
	}
	if g.rng.Intn(3) == 0 {
		kinds = append(kinds, packet.ProtoRouting)
	}
	fragKind := -1 // -1 none, 0 atomic/first, 1 non-first
	if g.rng.Intn(3) == 0 {
		kinds = append(kinds, packet.ProtoFragment)
		fragKind = g.rng.Intn(2)
	}
	if g.rng.Intn(4) == 0 {
		kinds = append(kinds, packet.ProtoDestOpts)
	}
	name := "ipv6"
	var ext []byte
	for i, k := range kinds {
		next := uint8(proto)
		if i+1 < len(kinds) {
			next = kinds[i+1]
		}
		switch k {
		case packet.ProtoFragment:
			var f [8]byte
			off := uint16(0)
			if fragKind == 1 {
				off = uint16(1+g.rng.Intn(100)) * 8
			}
			packet.EncodeIPv6Fragment(f[:], next, off, g.bool() || fragKind == 1, g.rng.Uint32())
			ext = append(ext, f[:]...)
			name += "/frag"
		default:
			ext = append(ext, g.extHeader(k, next)...)
			name += map[uint8]string{0: "/hbh", 43: "/rt", 60: "/dst"}[k]
		}
	}
	if len(kinds) > 0 {
		ip.NextHeader = layers.IPProtocol(kinds[0])
	} else {
		ip.NextHeader = proto
	}
	ls := []gopacket.SerializableLayer{ip}
	if len(ext) > 0 {
		ls = append(ls, gopacket.Payload(ext))
	}
	if fragKind == 1 {
		// Fragment data, not an upper-layer header.
		ls = append(ls, g.payload(300))
		name += "/nonfirst"
	} else {
		ls = append(ls, upper...)
		name += "/" + uname
	}
	return g.l2(name, layers.EthernetTypeIPv6, ls)
}

func (g *gen) ipv4Frame() frameSpec {
	ip := g.ipv4Header(0)
	proto, upper, uname := g.upper(ip, false, true)
	ip.Protocol = proto
	name := "ipv4/" + uname
	ls := []gopacket.SerializableLayer{ip}
	switch g.rng.Intn(6) {
	case 0: // first fragment: offset 0, MF set, L4 header present
		ip.Flags = layers.IPv4MoreFragments
		ls = append(ls, upper...)
		name += "/firstfrag"
	case 1: // non-first fragment
		ip.Flags = layers.IPv4Flag(g.rng.Intn(2)) // MF or last
		ip.FragOffset = uint16(1 + g.rng.Intn(1000))
		ls = append(ls, g.payload(300))
		name += "/nonfirst"
	case 2: // unknown protocol
		ip.Protocol = 253 // RFC 3692 experimentation
		ls = append(ls, g.payload(100))
		name = "ipv4/proto253"
	default:
		ls = append(ls, upper...)
	}
	f := g.l2(name, layers.EthernetTypeIPv4, ls)
	f.unknownPayload = ip.Protocol == 253
	return f
}

func (g *gen) arpFrame() frameSpec {
	op := uint16(g.rng.Intn(2) + 1)
	arp := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: g.mac(), SourceProtAddress: g.ip4(),
		DstHwAddress: g.mac(), DstProtAddress: g.ip4(),
	}
	return g.l2("arp", layers.EthernetTypeARP, []gopacket.SerializableLayer{arp})
}

func (g *gen) frame() frameSpec {
	switch r := g.rng.Intn(10); {
	case r < 4:
		return g.ipv4Frame()
	case r < 8:
		return g.ipv6Frame()
	case r < 9:
		return g.arpFrame()
	default:
		// Unsupported EtherType: IEEE 802 local experimental 1.
		f := g.l2("ethertype-88b5", layers.EthernetType(0x88b5), []gopacket.SerializableLayer{g.payload(60)})
		f.unknownPayload = true
		return f
	}
}

// offsetIn returns the offset of sub within frame; sub must be a subslice
// of frame (gopacket is run with NoCopy so that its layers are).
func offsetIn(frame, sub []byte) int { return cap(frame) - cap(sub) }

// oracle walks gopacket's layers and computes the Parsed that Decode should
// produce, checking each view's accessors against gopacket on the way.
type oracle struct {
	t       *testing.T
	frame   []byte
	want    packet.Parsed
	ipEnd   int // end of the current IP packet in frame
	icmpOff int
	// Layers that were decoded after GRE, for the inner check.
	inner []gopacket.Layer
}

func (o *oracle) walk(ls []gopacket.Layer) {
	t, frame, w := o.t, o.frame, &o.want
	next := 0 // end of the L2 headers
	for i, l := range ls {
		off := offsetIn(frame, l.LayerContents())
		switch l.(type) {
		case *layers.Ethernet, *layers.Dot1Q:
			next = off + len(l.LayerContents())
		}
		switch l := l.(type) {
		case *layers.Ethernet:
			w.EtherType = uint16(l.EthernetType)
			e := packet.Ethernet(frame[off:])
			eq(t, "Ethernet.Dst", packet.MAC(l.DstMAC), e.Dst())
			eq(t, "Ethernet.Src", packet.MAC(l.SrcMAC), e.Src())
			eq(t, "Ethernet.EtherType", uint16(l.EthernetType), e.EtherType())
			eq(t, "MAC.String", l.SrcMAC.String(), e.Src().String())
		case *layers.Dot1Q:
			w.VLANs++
			w.VLANID = l.VLANIdentifier
			w.EtherType = uint16(l.Type)
			v := packet.VLAN(frame[off:])
			eq(t, "VLAN.VID", l.VLANIdentifier, v.VID())
			eq(t, "VLAN.PCP", l.Priority, v.PCP())
			eq(t, "VLAN.DEI", l.DropEligible, v.DEI())
			eq(t, "VLAN.EtherType", uint16(l.Type), v.EtherType())
		case *layers.ARP:
			w.L3Off, w.L3Len = off, packet.ARPSize
			copy(w.Src[:], l.SourceProtAddress)
			copy(w.Dst[:], l.DstProtAddress)
			a := packet.ARP(frame[off:])
			eq(t, "ARP.IsValid", true, a.IsValid())
			eq(t, "ARP.HType", uint16(l.AddrType), a.HType())
			eq(t, "ARP.PType", uint16(l.Protocol), a.PType())
			eq(t, "ARP.Op", l.Operation, a.Op())
			eq(t, "ARP.SenderMAC", packet.MAC(l.SourceHwAddress), a.SenderMAC())
			eq(t, "ARP.SenderIP", [4]byte(l.SourceProtAddress), a.SenderIP())
			eq(t, "ARP.TargetMAC", packet.MAC(l.DstHwAddress), a.TargetMAC())
			eq(t, "ARP.TargetIP", [4]byte(l.DstProtAddress), a.TargetIP())
		case *layers.IPv4:
			if w.IPVersion != 0 {
				o.inner = ls[i:]
				return
			}
			w.L3Off, w.L3Len, w.IPVersion = off, int(l.Length), 4
			o.ipEnd = off + int(l.Length)
			w.Proto, w.TTL = uint8(l.Protocol), l.TTL
			copy(w.Src[:], l.SrcIP.To4())
			copy(w.Dst[:], l.DstIP.To4())
			w.MoreFrags = l.Flags&layers.IPv4MoreFragments != 0
			w.FragOff = l.FragOffset * 8
			w.Frag = w.MoreFrags || w.FragOff != 0
			if w.Frag {
				w.FragID = uint32(l.Id)
			}
			if w.FragOff == 0 {
				w.L4Off = off + int(l.IHL)*4
			}
			ip := packet.IPv4(frame[off:])
			eq(t, "IPv4.IsValid", true, ip.IsValid(len(ip)))
			eq(t, "IPv4.HeaderLength", int(l.IHL)*4, ip.HeaderLength())
			eq(t, "IPv4.TOS", l.TOS, ip.TOS())
			eq(t, "IPv4.TotalLength", l.Length, ip.TotalLength())
			eq(t, "IPv4.ID", l.Id, ip.ID())
			eq(t, "IPv4.Flags", uint8(l.Flags), ip.Flags())
			eq(t, "IPv4.DF", l.Flags&layers.IPv4DontFragment != 0, ip.DF())
			eq(t, "IPv4.MF", l.Flags&layers.IPv4MoreFragments != 0, ip.MF())
			eq(t, "IPv4.FragmentOffset", l.FragOffset*8, ip.FragmentOffset())
			eq(t, "IPv4.IsFragment", w.Frag, ip.IsFragment())
			eq(t, "IPv4.TTL", l.TTL, ip.TTL())
			eq(t, "IPv4.Protocol", uint8(l.Protocol), ip.Protocol())
			eq(t, "IPv4.Checksum", l.Checksum, ip.Checksum())
			eq(t, "IPv4.CalculateChecksum", l.Checksum, ip.CalculateChecksum())
			eq(t, "IPv4.IsChecksumValid", true, ip.IsChecksumValid())
			eq(t, "IPv4.Src", [4]byte(l.SrcIP.To4()), ip.Src())
			eq(t, "IPv4.Dst", [4]byte(l.DstIP.To4()), ip.Dst())
			eqBytes(t, "IPv4.Options", l.Contents[20:], ip.Options())
			eqBytes(t, "IPv4.Payload", frame[off+int(l.IHL)*4:o.ipEnd], ip.Payload())
		case *layers.IPv6:
			if w.IPVersion != 0 {
				o.inner = ls[i:]
				return
			}
			w.L3Off, w.L3Len, w.IPVersion = off, packet.IPv6Size+int(l.Length), 6
			o.ipEnd = off + w.L3Len
			w.Proto, w.TTL = uint8(l.NextHeader), l.HopLimit
			copy(w.Src[:], l.SrcIP)
			copy(w.Dst[:], l.DstIP)
			w.L4Off = off + packet.IPv6Size
			ip := packet.IPv6(frame[off:])
			eq(t, "IPv6.IsValid", true, ip.IsValid(len(ip)))
			eq(t, "IPv6.TrafficClass", l.TrafficClass, ip.TrafficClass())
			eq(t, "IPv6.FlowLabel", l.FlowLabel, ip.FlowLabel())
			eq(t, "IPv6.PayloadLength", l.Length, ip.PayloadLength())
			eq(t, "IPv6.NextHeader", uint8(l.NextHeader), ip.NextHeader())
			eq(t, "IPv6.HopLimit", l.HopLimit, ip.HopLimit())
			eq(t, "IPv6.Src", [16]byte(l.SrcIP), ip.Src())
			eq(t, "IPv6.Dst", [16]byte(l.DstIP), ip.Dst())
			eqBytes(t, "IPv6.Payload", frame[off+40:o.ipEnd], ip.Payload())
		case *layers.IPv6HopByHop:
			o.ext(off, uint8(l.NextHeader), l.ActualLength)
		case *layers.IPv6Destination:
			o.ext(off, uint8(l.NextHeader), l.ActualLength)
		case *layers.IPv6Routing:
			o.ext(off, uint8(l.NextHeader), l.ActualLength)
		case *layers.IPv6Fragment:
			w.Proto = uint8(l.NextHeader)
			w.Frag, w.FragHdrOff = true, off
			w.FragOff, w.MoreFrags, w.FragID = l.FragmentOffset*8, l.MoreFragments, l.Identification
			w.L4Off = off + 8
			if w.FragOff != 0 {
				w.L4Off = 0
			}
			f := packet.IPv6Fragment(frame[off:])
			eq(t, "IPv6Fragment.NextHeader", uint8(l.NextHeader), f.NextHeader())
			eq(t, "IPv6Fragment.FragmentOffset", l.FragmentOffset*8, f.FragmentOffset())
			eq(t, "IPv6Fragment.More", l.MoreFragments, f.More())
			eq(t, "IPv6Fragment.ID", l.Identification, f.ID())
		case *gopacket.Fragment:
			// gopacket stops at any fragment. For the first fragment the
			// upper-layer header is there: decode it with gopacket as
			// the protocol the IP layer announced, and keep walking.
			if w.FragOff != 0 || len(*l) == 0 {
				return
			}
			lt := layers.IPProtocol(w.Proto).LayerType()
			p := gopacket.NewPacket(frame[off:o.ipEnd], lt, gopacket.DecodeOptions{NoCopy: true})
			o.walk(p.Layers())
			return
		case *layers.TCP:
			w.SrcPort, w.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
			var f uint8
			for i, b := range []bool{l.FIN, l.SYN, l.RST, l.PSH, l.ACK, l.URG, l.ECE, l.CWR} {
				if b {
					f |= 1 << i
				}
			}
			w.TCPFlags = f
			tcp := packet.TCP(frame[off:o.ipEnd])
			eq(t, "TCP.IsValid", true, tcp.IsValid(len(tcp)))
			eq(t, "TCP.SrcPort", uint16(l.SrcPort), tcp.SrcPort())
			eq(t, "TCP.DstPort", uint16(l.DstPort), tcp.DstPort())
			eq(t, "TCP.Seq", l.Seq, tcp.Seq())
			eq(t, "TCP.Ack", l.Ack, tcp.Ack())
			eq(t, "TCP.DataOffset", int(l.DataOffset)*4, tcp.DataOffset())
			eq(t, "TCP.Flags", f, tcp.Flags())
			eq(t, "TCP.Window", l.Window, tcp.Window())
			eq(t, "TCP.Checksum", l.Checksum, tcp.Checksum())
			eq(t, "TCP.UrgentPointer", l.Urgent, tcp.UrgentPointer())
			eqBytes(t, "TCP.Options", l.Contents[20:], tcp.Options())
			eqBytes(t, "TCP.Payload", []byte(l.Payload), tcp.Payload())
			o.tcpOptions(l, tcp.Options())
			o.l4Checksum("TCP", packet.ProtoTCP, tcp, l.Checksum)
			eq(t, "TCP.CalculateChecksum", l.Checksum, tcp.CalculateChecksum(o.pseudo(packet.ProtoTCP, len(tcp))))
		case *layers.UDP:
			w.SrcPort, w.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
			u := packet.UDP(frame[off:o.ipEnd])
			eq(t, "UDP.IsValid", true, u.IsValid(len(u)))
			eq(t, "UDP.SrcPort", uint16(l.SrcPort), u.SrcPort())
			eq(t, "UDP.DstPort", uint16(l.DstPort), u.DstPort())
			eq(t, "UDP.Length", l.Length, u.Length())
			eq(t, "UDP.Checksum", l.Checksum, u.Checksum())
			eqBytes(t, "UDP.Payload", []byte(l.Payload), u.Payload())
			o.l4Checksum("UDP", packet.ProtoUDP, u, l.Checksum)
			eq(t, "UDP.CalculateChecksum", l.Checksum, u.CalculateChecksum(o.pseudo(packet.ProtoUDP, len(u))))
		case *layers.ICMPv4:
			w.ICMPType, w.ICMPCode = l.TypeCode.Type(), l.TypeCode.Code()
			if w.ICMPType == packet.ICMPv4Echo || w.ICMPType == packet.ICMPv4EchoReply {
				w.SrcPort, w.DstPort = l.Id, l.Id
			}
			m := packet.ICMPv4(frame[off:o.ipEnd])
			eq(t, "ICMPv4.Type", l.TypeCode.Type(), m.Type())
			eq(t, "ICMPv4.Code", l.TypeCode.Code(), m.Code())
			eq(t, "ICMPv4.Checksum", l.Checksum, m.Checksum())
			eq(t, "ICMPv4.CalculateChecksum", l.Checksum, m.CalculateChecksum())
			eq(t, "ICMPv4.Ident", l.Id, m.Ident())
			eq(t, "ICMPv4.Seq", l.Seq, m.Seq())
			eq(t, "ICMPv4.MTU", l.Seq, m.MTU()) // bytes 6-7 either way
			eq(t, "ICMPv4.Pointer", uint8(l.Id>>8), m.Pointer())
			eqBytes(t, "ICMPv4.Payload", []byte(l.Payload), m.Payload())
			eq(t, "ICMPv4IsError", l.TypeCode.Type() != 0 && l.TypeCode.Type() != 8, packet.ICMPv4IsError(m.Type()))
			// The ICMPv4 checksum through the checksum package alone.
			eq(t, "ICMPv4 checksum (checksum pkg)", uint16(0xffff), checksum.Checksum(m, 0))
		case *layers.ICMPv6:
			w.ICMPType, w.ICMPCode = l.TypeCode.Type(), l.TypeCode.Code()
			o.icmpOff = off
			m := packet.ICMPv6(frame[off:o.ipEnd])
			eq(t, "ICMPv6.Type", l.TypeCode.Type(), m.Type())
			eq(t, "ICMPv6.Code", l.TypeCode.Code(), m.Code())
			eq(t, "ICMPv6.Checksum", l.Checksum, m.Checksum())
			eq(t, "ICMPv6IsError", l.TypeCode.Type() < 128, packet.ICMPv6IsError(m.Type()))
			if l.TypeCode.Type() == layers.ICMPv6TypePacketTooBig {
				eq(t, "ICMPv6.MTU", binary.BigEndian.Uint32(l.Payload), m.MTU())
			}
			o.l4Checksum("ICMPv6", packet.ProtoICMPv6, m, l.Checksum)
			eq(t, "ICMPv6.CalculateChecksum", l.Checksum, m.CalculateChecksum(o.pseudo(packet.ProtoICMPv6, len(m))))
		case *layers.ICMPv6Echo:
			w.SrcPort, w.DstPort = l.Identifier, l.Identifier
			// gopacket's ICMPv6Echo contents are not a subslice of
			// the frame; use the ICMPv6 header's offset.
			m := packet.ICMPv6(frame[o.icmpOff:o.ipEnd])
			eq(t, "ICMPv6.Ident", l.Identifier, m.Ident())
			eq(t, "ICMPv6.Seq", l.SeqNumber, m.Seq())
		case *layers.GRE:
			w.GREProto, w.GREHasKey, w.GREHdrLen = uint16(l.Protocol), l.KeyPresent, len(l.Contents)
			w.GREHasChecksum = l.ChecksumPresent
			if l.KeyPresent {
				w.GREKey = l.Key
			}
			gr := packet.GRE(frame[off:o.ipEnd])
			eq(t, "GRE.IsValid", true, gr.IsValid())
			eq(t, "GRE.HasChecksum", l.ChecksumPresent, gr.HasChecksum())
			eq(t, "GRE.HasKey", l.KeyPresent, gr.HasKey())
			eq(t, "GRE.HasSeq", l.SeqPresent, gr.HasSeq())
			eq(t, "GRE.Version", l.Version, gr.Version())
			eq(t, "GRE.Protocol", uint16(l.Protocol), gr.Protocol())
			eq(t, "GRE.HeaderLength", len(l.Contents), gr.HeaderLength())
			eqBytes(t, "GRE.Payload", frame[off+len(l.Contents):o.ipEnd], gr.Payload())
			if l.ChecksumPresent {
				eq(t, "GRE.Checksum", l.Checksum, gr.Checksum())
				eq(t, "GRE.CalculateChecksum", l.Checksum, gr.CalculateChecksum())
			}
			if l.KeyPresent {
				eq(t, "GRE.Key", l.Key, gr.Key())
			}
			if l.SeqPresent {
				eq(t, "GRE.Seq", l.Seq, gr.Seq())
			}
			o.inner = ls[i+1:]
			return
		}
	}
	if w.L3Off == 0 {
		// Unknown EtherType: Decode still says where L3 would start.
		w.L3Off = next
	}
}

func (o *oracle) ext(off int, next uint8, length int) {
	o.want.Proto = next
	o.want.L4Off = off + length
	h := packet.IPv6ExtHeader(o.frame[off:])
	eq(o.t, "IPv6ExtHeader.NextHeader", next, h.NextHeader())
	eq(o.t, "IPv6ExtHeader.Length", length, h.Length())
}

// pseudo returns the pseudo-header sum of the current IP packet.
func (o *oracle) pseudo(proto uint8, length int) uint16 {
	w := &o.want
	if w.IPVersion == 4 {
		return checksum.PseudoHeaderV4(w.Src4(), w.Dst4(), proto, uint16(length))
	}
	return checksum.PseudoHeaderV6(w.Src, w.Dst, proto, uint32(length))
}

// l4Checksum recomputes an upper-layer checksum with the checksum package
// and the pseudo-header, independently of the views' helpers.
func (o *oracle) l4Checksum(what string, proto uint8, seg []byte, want uint16) {
	c := make([]byte, len(seg))
	copy(c, seg)
	csumOff := map[uint8]int{packet.ProtoTCP: 16, packet.ProtoUDP: 6, packet.ProtoICMPv6: 2}[proto]
	c[csumOff], c[csumOff+1] = 0, 0
	got := ^checksum.Checksum(c, o.pseudo(proto, len(c)))
	if proto == packet.ProtoUDP && got == 0 {
		got = 0xffff
	}
	eq(o.t, what+" checksum (checksum pkg + pseudo-header)", want, got)
}

func (o *oracle) tcpOptions(l *layers.TCP, opts []byte) {
	var wantMSS uint16
	var hasMSS, hasWS, hasSACK, hasTS bool
	var wantWS uint8
	for _, op := range l.Options {
		switch op.OptionType {
		case layers.TCPOptionKindMSS:
			wantMSS, hasMSS = binary.BigEndian.Uint16(op.OptionData), true
		case layers.TCPOptionKindWindowScale:
			wantWS, hasWS = op.OptionData[0], true
		case layers.TCPOptionKindSACKPermitted:
			hasSACK = true
		case layers.TCPOptionKindTimestamps:
			hasTS = true
		}
	}
	mss, ok := packet.TCPOptionMSS(opts)
	eq(o.t, "TCPOptionMSS", [2]any{wantMSS, hasMSS}, [2]any{mss, ok})
	ws, ok := packet.TCPOptionWindowScale(opts)
	eq(o.t, "TCPOptionWindowScale", [2]any{wantWS, hasWS}, [2]any{ws, ok})
	eq(o.t, "TCPOptionSACKPermitted", hasSACK, packet.TCPOptionSACKPermitted(opts))
	_, _, ok = packet.TCPOptionTimestamp(opts)
	eq(o.t, "TCPOptionTimestamp ok", hasTS, ok)
}

func eq[T comparable](t *testing.T, what string, want, got T) {
	t.Helper()
	if want != got {
		t.Errorf("%s mismatch (-want +got):\n-%v\n+%v", what, want, got)
	}
}

func eqBytes(t *testing.T, what string, want, got []byte) {
	t.Helper()
	if !bytes.Equal(want, got) {
		t.Errorf("%s mismatch (-want +got):\n-% x\n+% x", what, want, got)
	}
}

func decodeGopacket(frame []byte, first gopacket.LayerType) []gopacket.Layer {
	p := gopacket.NewPacket(frame, first, gopacket.DecodeOptions{NoCopy: true})
	return p.Layers()
}

// TestDecodeMatchesGopacket is the main cross-check: hundreds of random
// frames, every Parsed field and every view accessor compared.
func TestDecodeMatchesGopacket(t *testing.T) {
	g := &gen{tb: t, rng: rand.New(rand.NewSource(20240601))}
	counts := map[string]int{}
	for i := 0; i < 3000; i++ {
		spec := g.frame()
		counts[spec.name]++
		t.Run(spec.name, func(t *testing.T) {
			checkFrame(t, spec)
		})
		if t.Failed() {
			t.Fatalf("frame %d (%s) failed: % x", i, spec.name, spec.frame)
		}
	}
	if testing.Verbose() {
		for k, v := range counts {
			t.Logf("%5d %s", v, k)
		}
	}
	// The corpus must reach every interesting shape.
	for _, want := range []string{"/qinq", "/vlan", "gre/ipv4", "gre/ipv6", "gre/teb", "/hbh", "/rt", "/frag", "/nonfirst", "/firstfrag", "icmpv6-ptb", "icmp-fragneeded", "arp"} {
		found := false
		for k := range counts {
			if bytes.Contains([]byte(k), []byte(want)) {
				found = true
			}
		}
		if !found {
			t.Errorf("corpus has no %q frame", want)
		}
	}
}

func checkFrame(t *testing.T, spec frameSpec) {
	t.Helper()
	frame := spec.frame
	ls := decodeGopacket(frame, layers.LayerTypeEthernet)
	for _, l := range ls {
		if el, ok := l.(*gopacket.DecodeFailure); ok && !spec.unknownPayload {
			t.Fatalf("gopacket failed to decode the generated frame: %v", el.Error())
		}
	}
	o := &oracle{t: t, frame: frame}
	o.walk(ls)
	var got packet.Parsed
	got.Decode(frame)
	if d := diffParsed(o.want, got); d != "" {
		t.Errorf("Decode mismatch (-want +got):\n%s", d)
	}
	if len(o.inner) == 0 {
		return
	}
	// Inner packet after GRE: DecodeL2 for TEB, DecodeL3 otherwise.
	innerOff := got.L4Off + got.GREHdrLen
	oi := &oracle{t: t, frame: frame}
	oi.walk(o.inner)
	var gi packet.Parsed
	if got.GREProto == packet.EtherTypeTEB {
		gi.DecodeL2(frame[:got.L3Off+got.L3Len], innerOff)
	} else {
		oi.want.EtherType = got.GREProto
		gi.DecodeL3(frame[:got.L3Off+got.L3Len], innerOff, got.GREProto)
	}
	if d := diffParsed(oi.want, gi); d != "" {
		t.Errorf("inner Decode mismatch (-want +got):\n%s", d)
	}
}
