package packet_test

import (
	"encoding/binary"
	"testing"

	"xdpgw/dataplane/packet"
)

// Frames for the hand-written tests are built with the package's own
// encoders, which the gopacket cross-check validates independently.

var (
	macA  = packet.MAC{0x02, 0, 0, 0, 0, 0xa}
	macB  = packet.MAC{0x02, 0, 0, 0, 0, 0xb}
	v4A   = [4]byte{192, 0, 2, 1}
	v4B   = [4]byte{198, 51, 100, 2}
	v6A   = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	v6B   = [16]byte{0x00, 0x64, 0xff, 0x9b, 12: 192, 13: 0, 14: 2, 15: 33}
	tcpHd = packet.TCPFields{SrcPort: 40000, DstPort: 443, Seq: 1, Ack: 2, Flags: packet.TCPFlagSYN | packet.TCPFlagACK, Window: 65535}
)

// eth returns an Ethernet header (with VLAN tags for each vid) followed by
// payload, whose EtherType is et.
func eth(et uint16, payload []byte, vids ...uint16) []byte {
	b := make([]byte, packet.EthernetSize, 64+len(payload))
	outer := et
	if len(vids) > 0 {
		outer = packet.EtherTypeVLAN
		if len(vids) > 1 {
			outer = packet.EtherTypeQinQ
		}
	}
	packet.EncodeEthernet(b, macB, macA, outer)
	for i, vid := range vids {
		var tag [4]byte
		next := uint16(packet.EtherTypeVLAN)
		if i == len(vids)-1 {
			next = et
		}
		v := packet.VLAN(tag[:])
		v.SetVID(vid)
		v.SetPCP(uint8(i + 3))
		v.SetEtherType(next)
		b = append(b, tag[:]...)
	}
	return append(b, payload...)
}

// ipv4 returns an IPv4 header (20 bytes) with TotalLength covering payload.
func ipv4(proto uint8, payload []byte) []byte {
	b := make([]byte, packet.IPv4MinSize, packet.IPv4MinSize+len(payload))
	packet.EncodeIPv4(b, packet.IPv4Fields{TotalLength: uint16(20 + len(payload)), ID: 0x1234, TTL: 64, Protocol: proto, Src: v4A, Dst: v4B, Flags: packet.IPv4FlagDF})
	return append(b, payload...)
}

func ipv6(next uint8, payload []byte) []byte {
	b := make([]byte, packet.IPv6Size, packet.IPv6Size+len(payload))
	packet.EncodeIPv6(b, packet.IPv6Fields{PayloadLength: uint16(len(payload)), NextHeader: next, HopLimit: 64, Src: v6A, Dst: v6B, FlowLabel: 0x12345})
	return append(b, payload...)
}

func tcpSeg(payload ...byte) []byte {
	b := make([]byte, packet.TCPMinSize, packet.TCPMinSize+len(payload))
	packet.EncodeTCP(b, tcpHd)
	return append(b, payload...)
}

func udpSeg(payload ...byte) []byte {
	b := make([]byte, packet.UDPSize, packet.UDPSize+len(payload))
	packet.EncodeUDP(b, 5353, 53, uint16(8+len(payload)), 0)
	return append(b, payload...)
}

// ext returns a generic 8-byte extension header.
func ext(next uint8) []byte { return []byte{next, 0, 1, 4, 0, 0, 0, 0} }

func fragHdr(next uint8, off uint16, more bool) []byte {
	b := make([]byte, 8)
	packet.EncodeIPv6Fragment(b, next, off, more, 0xdeadbeef)
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func greHdr(proto uint16, key uint32, hasKey bool) []byte {
	b := make([]byte, packet.GREHeaderLength(hasKey))
	packet.EncodeGRE(b, proto, key, hasKey)
	return b
}

func arpPkt() []byte {
	b := make([]byte, packet.ARPSize)
	packet.EncodeARP(b, packet.ARPRequest, macA, v4A, packet.MAC{}, v4B)
	return b
}

func set(b []byte, off int, v ...byte) []byte {
	copy(b[off:], v)
	return b
}

func TestDecodeStatus(t *testing.T) {
	const l3 = packet.EthernetSize
	tests := []struct {
		name   string
		frame  []byte
		status packet.DecodeStatus
		check  func(t *testing.T, p *packet.Parsed)
	}{
		{name: "empty", frame: nil, status: packet.DecodeTruncatedL2},
		{name: "13 bytes", frame: make([]byte, 13), status: packet.DecodeTruncatedL2},
		{name: "vlan tag truncated", frame: eth(packet.EtherTypeVLAN, []byte{0, 1}), status: packet.DecodeTruncatedL2},
		{name: "three vlan tags", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoUDP, udpSeg(1)), 1, 2, 3), status: packet.DecodeBadVLAN},
		{name: "qinq ok", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoUDP, udpSeg(1)), 100, 200), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "VLANs", uint8(2), p.VLANs)
			eq(t, "VLANID", uint16(200), p.VLANID)
			eq(t, "L3Off", l3+8, p.L3Off)
			eq(t, "DstPort", uint16(53), p.DstPort)
		}},
		{name: "unknown ethertype", frame: eth(0x88b5, make([]byte, 46)), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "IPVersion", uint8(0), p.IPVersion)
			eq(t, "EtherType", uint16(0x88b5), p.EtherType)
		}},
		{name: "ipv4 19 bytes", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoUDP, nil)[:19]), status: packet.DecodeTruncatedL3},
		{name: "ipv4 version 6", frame: eth(packet.EtherTypeIPv4, set(ipv4(packet.ProtoUDP, udpSeg()), 0, 0x65)), status: packet.DecodeBadIPVersion},
		{name: "ipv6 in ipv4 ethertype", frame: eth(packet.EtherTypeIPv4, ipv6(packet.ProtoUDP, udpSeg())), status: packet.DecodeBadIPVersion},
		{name: "ipv4 ihl 4", frame: eth(packet.EtherTypeIPv4, set(ipv4(packet.ProtoUDP, udpSeg()), 0, 0x44)), status: packet.DecodeBadIPHeaderLen},
		{name: "ipv4 ihl 15 beyond frame", frame: eth(packet.EtherTypeIPv4, set(ipv4(packet.ProtoUDP, udpSeg()), 0, 0x4f)), status: packet.DecodeTruncatedL3},
		{name: "ipv4 total length beyond frame", frame: eth(packet.EtherTypeIPv4, set(ipv4(packet.ProtoUDP, udpSeg()), 2, 0x05, 0xdc)), status: packet.DecodeBadIPLength},
		{name: "ipv4 total length below ihl", frame: eth(packet.EtherTypeIPv4, set(ipv4(packet.ProtoUDP, udpSeg()), 2, 0, 19)), status: packet.DecodeBadIPLength},
		{name: "ipv4 udp with ethernet padding", frame: eth(packet.EtherTypeIPv4, append(ipv4(packet.ProtoUDP, udpSeg(1, 2)), make([]byte, 16)...)), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "L3Len", 30, p.L3Len)
			eq(t, "L4Off", l3+20, p.L4Off)
			eq(t, "Src4", v4A, p.Src4())
			eq(t, "Dst4", v4B, p.Dst4())
			eq(t, "TTL", uint8(64), p.TTL)
		}},
		{name: "ipv4 non-first fragment", frame: eth(packet.EtherTypeIPv4, func() []byte {
			b := ipv4(packet.ProtoUDP, udpSeg(1, 2, 3))
			packet.IPv4(b).SetFlagsFragmentOffset(packet.IPv4FlagMF, 1480)
			return b
		}()), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "Frag", true, p.Frag)
			eq(t, "FragOff", uint16(1480), p.FragOff)
			eq(t, "MoreFrags", true, p.MoreFrags)
			eq(t, "FragID", uint32(0x1234), p.FragID)
			eq(t, "L4Off", 0, p.L4Off)
			eq(t, "DstPort", uint16(0), p.DstPort)
		}},
		{name: "ipv4 first fragment udp length covers later fragments", frame: eth(packet.EtherTypeIPv4, func() []byte {
			b := ipv4(packet.ProtoUDP, set(udpSeg(1, 2, 3), 4, 0x05, 0xc8))
			packet.IPv4(b).SetFlagsFragmentOffset(packet.IPv4FlagMF, 0)
			return b
		}()), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "Frag", true, p.Frag)
			eq(t, "DstPort", uint16(53), p.DstPort)
		}},
		{name: "tcp truncated", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoTCP, tcpSeg()[:19])), status: packet.DecodeTruncatedL4},
		{name: "tcp data offset 4", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoTCP, set(tcpSeg(), 12, 0x40))), status: packet.DecodeBadTCPHeader},
		{name: "tcp data offset beyond segment", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoTCP, set(tcpSeg(), 12, 0xf0))), status: packet.DecodeTruncatedL4},
		{name: "tcp ok", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoTCP, tcpSeg(1, 2, 3))), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "SrcPort", uint16(40000), p.SrcPort)
			eq(t, "DstPort", uint16(443), p.DstPort)
			eq(t, "TCPFlags", packet.TCPFlagSYN|packet.TCPFlagACK, p.TCPFlags)
		}},
		{name: "udp truncated", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoUDP, udpSeg()[:7])), status: packet.DecodeTruncatedL4},
		{name: "udp length 7", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoUDP, set(udpSeg(1), 4, 0, 7))), status: packet.DecodeBadUDPLength},
		{name: "udp length beyond ip payload", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoUDP, set(udpSeg(1), 4, 0, 10))), status: packet.DecodeBadUDPLength},
		{name: "icmp truncated", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoICMP, []byte{8, 0, 0, 0})), status: packet.DecodeTruncatedL4},
		{name: "icmp echo ident as ports", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoICMP, []byte{8, 0, 0, 0, 0xab, 0xcd, 0, 1})), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "ICMPType", uint8(packet.ICMPv4Echo), p.ICMPType)
			eq(t, "SrcPort", uint16(0xabcd), p.SrcPort)
			eq(t, "DstPort", uint16(0xabcd), p.DstPort)
		}},
		{name: "gre truncated", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, []byte{0, 0})), status: packet.DecodeTruncatedL4},
		{name: "gre version 1", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, []byte{0, 1, 0x08, 0})), status: packet.DecodeBadGRE},
		{name: "gre routing bit", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, []byte{0x40, 0, 0x08, 0, 0, 0, 0, 0})), status: packet.DecodeBadGRE},
		{name: "gre key flag without key", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, []byte{0x20, 0, 0x08, 0})), status: packet.DecodeBadGRE},
		{name: "gre all flags", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, cat([]byte{0xb0, 0, 0x86, 0xdd, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 9}, ipv6(packet.ProtoUDP, udpSeg())))), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "GREHdrLen", 16, p.GREHdrLen)
			eq(t, "GREKey", uint32(0x01020304), p.GREKey)
			eq(t, "GREHasKey", true, p.GREHasKey)
			eq(t, "GREProto", uint16(packet.EtherTypeIPv6), p.GREProto)
		}},
		{name: "ipv6 truncated", frame: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoUDP, nil)[:39]), status: packet.DecodeTruncatedL3},
		{name: "ipv6 payload length beyond frame", frame: eth(packet.EtherTypeIPv6, set(ipv6(packet.ProtoUDP, udpSeg()), 4, 0xff, 0xff)), status: packet.DecodeBadIPLength},
		{name: "ipv6 8 ext headers ok", frame: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoHopByHop, cat(ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(packet.ProtoUDP), udpSeg()))), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "Proto", uint8(packet.ProtoUDP), p.Proto)
			eq(t, "L4Off", l3+40+64, p.L4Off)
		}},
		{name: "ipv6 9 ext headers", frame: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoHopByHop, cat(ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(packet.ProtoUDP), udpSeg()))), status: packet.DecodeExtHeaderLimit},
		{name: "ipv6 hop-by-hop not first", frame: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoDestOpts, cat(ext(packet.ProtoHopByHop), ext(packet.ProtoUDP), udpSeg()))), status: packet.DecodeBadExtHeader},
		{name: "ipv6 ext header overruns payload", frame: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoDestOpts, []byte{packet.ProtoUDP, 4, 0, 0, 0, 0, 0, 0})), status: packet.DecodeBadExtHeader},
		{name: "ipv6 two fragment headers", frame: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoFragment, cat(fragHdr(packet.ProtoFragment, 0, true), fragHdr(packet.ProtoUDP, 0, true), udpSeg()))), status: packet.DecodeBadExtHeader},
		{name: "ipv6 non-first fragment", frame: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoHopByHop, cat(ext(packet.ProtoFragment), fragHdr(packet.ProtoTCP, 1232, false), []byte{1, 2, 3, 4}))), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "Frag", true, p.Frag)
			eq(t, "FragOff", uint16(1232), p.FragOff)
			eq(t, "MoreFrags", false, p.MoreFrags)
			eq(t, "FragID", uint32(0xdeadbeef), p.FragID)
			eq(t, "FragHdrOff", l3+48, p.FragHdrOff)
			eq(t, "Proto", uint8(packet.ProtoTCP), p.Proto)
			eq(t, "L4Off", 0, p.L4Off)
		}},
		{name: "ipv6 atomic fragment", frame: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoFragment, cat(fragHdr(packet.ProtoUDP, 0, false), udpSeg()))), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "Frag", true, p.Frag)
			eq(t, "L4Off", l3+48, p.L4Off)
			eq(t, "DstPort", uint16(53), p.DstPort)
		}},
		{name: "ipv6 no next header", frame: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoNoNext, nil)), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "Proto", uint8(packet.ProtoNoNext), p.Proto)
		}},
		{name: "icmpv6 in ipv4 not parsed", frame: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoICMPv6, []byte{128, 0, 0, 0})), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "ICMPType", uint8(0), p.ICMPType)
		}},
		{name: "arp short", frame: eth(packet.EtherTypeARP, arpPkt()[:27]), status: packet.DecodeTruncatedL3},
		{name: "arp not ethernet", frame: eth(packet.EtherTypeARP, set(arpPkt(), 0, 0, 6)), status: packet.DecodeBadARP},
		{name: "arp ok", frame: eth(packet.EtherTypeARP, arpPkt(), 7), check: func(t *testing.T, p *packet.Parsed) {
			eq(t, "Src4", v4A, p.Src4())
			eq(t, "Dst4", v4B, p.Dst4())
			eq(t, "L3Len", packet.ARPSize, p.L3Len)
			eq(t, "VLANID", uint16(7), p.VLANID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p packet.Parsed
			p.Decode(tt.frame)
			if p.Status != tt.status {
				t.Errorf("Status mismatch (-want +got):\n-%v\n+%v", tt.status, p.Status)
			}
			if tt.check != nil {
				tt.check(t, &p)
			}
		})
	}
}

func TestDecodeL3AfterGRE(t *testing.T) {
	inner := ipv6(packet.ProtoTCP, tcpSeg(9))
	frame := eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, cat(greHdr(packet.EtherTypeIPv6, 77, true), inner)))
	var p packet.Parsed
	p.Decode(frame)
	if p.Status != packet.DecodeOK || p.Proto != packet.ProtoGRE || p.GREKey != 77 {
		t.Fatalf("outer: status %v proto %d key %d", p.Status, p.Proto, p.GREKey)
	}
	off := p.L4Off + p.GREHdrLen
	p.VLANs = 9 // must be reset by DecodeL3
	p.DecodeL3(frame, off, p.GREProto)
	want := packet.Parsed{
		EtherType: packet.EtherTypeIPv6, L3Off: off, L3Len: len(inner), IPVersion: 6,
		Proto: packet.ProtoTCP, L4Off: off + 40, Src: v6A, Dst: v6B,
		SrcPort: 40000, DstPort: 443, TCPFlags: packet.TCPFlagSYN | packet.TCPFlagACK, TTL: 64,
	}
	if d := diffParsed(want, p); d != "" {
		t.Errorf("DecodeL3 mismatch (-want +got):\n%s", d)
	}
	// Out-of-range offsets are reported, not panicked on.
	for _, off := range []int{-1, len(frame) + 1} {
		p.DecodeL3(frame, off, packet.EtherTypeIPv4)
		eq(t, "Status", packet.DecodeTruncatedL3, p.Status)
	}
	p.DecodeL2(frame, -5)
	eq(t, "Status", packet.DecodeTruncatedL2, p.Status)
}

func TestDecodeStatusString(t *testing.T) {
	seen := map[string]bool{}
	for s := packet.DecodeStatus(0); s < packet.NumDecodeStatus; s++ {
		name := s.String()
		if name == "unknown" || seen[name] {
			t.Errorf("status %d has name %q (missing or duplicate)", s, name)
		}
		seen[name] = true
	}
	eq(t, "truncated_l3", "truncated_l3", packet.DecodeTruncatedL3.String())
	eq(t, "out of range", "unknown", packet.DecodeStatus(200).String())
}

func TestMACString(t *testing.T) {
	eq(t, "String", "02:00:5e:10:ab:ff", packet.MAC{0x02, 0x00, 0x5e, 0x10, 0xab, 0xff}.String())
	eq(t, "IsBroadcast", true, packet.BroadcastMAC.IsBroadcast())
	eq(t, "IsMulticast", true, packet.MAC{0x01, 0, 0x5e, 0, 0, 1}.IsMulticast())
	eq(t, "IsZero", true, packet.MAC{}.IsZero())
}

func TestSetters(t *testing.T) {
	t.Run("ethernet", func(t *testing.T) {
		e := packet.Ethernet(make([]byte, 14))
		e.SetDst(macA)
		e.SetSrc(macB)
		e.SetEtherType(packet.EtherTypeIPv6)
		eq(t, "Dst", macA, e.Dst())
		eq(t, "Src", macB, e.Src())
		eq(t, "EtherType", uint16(packet.EtherTypeIPv6), e.EtherType())
	})
	t.Run("vlan", func(t *testing.T) {
		v := packet.VLAN(make([]byte, 4))
		v.SetTCI(0xe000 | 0x1000 | 5)
		v.SetVID(0xfff7) // high bits ignored
		eq(t, "VID", uint16(0xff7), v.VID())
		eq(t, "PCP", uint8(7), v.PCP())
		eq(t, "DEI", true, v.DEI())
		v.SetPCP(2)
		eq(t, "PCP", uint8(2), v.PCP())
		eq(t, "VID", uint16(0xff7), v.VID())
	})
	t.Run("ipv4", func(t *testing.T) {
		ip := packet.IPv4(ipv4(packet.ProtoUDP, udpSeg()))
		ip.SetTOS(0xb8)
		ip.SetID(7)
		ip.SetTTL(3)
		ip.SetProtocol(packet.ProtoTCP)
		ip.SetSrc(v4B)
		ip.SetDst(v4A)
		ip.SetTotalLength(28)
		ip.SetFlagsFragmentOffset(packet.IPv4FlagMF, 8*100)
		ip.SetChecksum(ip.CalculateChecksum())
		eq(t, "IsValid", true, ip.IsValid(len(ip)))
		eq(t, "IsChecksumValid", true, ip.IsChecksumValid())
		eq(t, "TOS", uint8(0xb8), ip.TOS())
		eq(t, "ID", uint16(7), ip.ID())
		eq(t, "TTL", uint8(3), ip.TTL())
		eq(t, "Protocol", uint8(packet.ProtoTCP), ip.Protocol())
		eq(t, "Src", v4B, ip.Src())
		eq(t, "Dst", v4A, ip.Dst())
		eq(t, "FragmentOffset", uint16(800), ip.FragmentOffset())
		eq(t, "MF", true, ip.MF())
		eq(t, "DF", false, ip.DF())
		eq(t, "IsFragment", true, ip.IsFragment())
		eq(t, "PayloadLength", 8, ip.PayloadLength())
		eq(t, "IsValid(short pktLen)", false, ip.IsValid(27))
		// Clamped Payload never panics on an unvalidated view.
		ip.SetTotalLength(0xffff)
		eq(t, "Payload len", len(ip)-20, len(ip.Payload()))
		ip.SetTotalLength(3)
		eq(t, "Payload len", 0, len(ip.Payload()))
	})
	t.Run("ipv6", func(t *testing.T) {
		ip := packet.IPv6(ipv6(packet.ProtoUDP, udpSeg()))
		ip.SetTrafficClass(0xab)
		ip.SetFlowLabel(0xfffff)
		ip.SetHopLimit(1)
		ip.SetNextHeader(packet.ProtoTCP)
		ip.SetSrc(v6B)
		ip.SetDst(v6A)
		eq(t, "Version", uint8(6), ip.Version())
		eq(t, "TrafficClass", uint8(0xab), ip.TrafficClass())
		eq(t, "FlowLabel", uint32(0xfffff), ip.FlowLabel())
		ip.SetTrafficClass(0x01)
		eq(t, "FlowLabel kept", uint32(0xfffff), ip.FlowLabel())
		eq(t, "Version kept", uint8(6), ip.Version())
		eq(t, "HopLimit", uint8(1), ip.HopLimit())
		eq(t, "NextHeader", uint8(packet.ProtoTCP), ip.NextHeader())
		eq(t, "Src", v6B, ip.Src())
		eq(t, "Dst", v6A, ip.Dst())
		ip.SetPayloadLength(9)
		eq(t, "IsValid", false, ip.IsValid(len(ip)))
	})
	t.Run("ipv6 fragment", func(t *testing.T) {
		f := packet.IPv6Fragment(fragHdr(packet.ProtoUDP, 0, false))
		f.SetFragmentOffset(65528)
		f.SetMore(true)
		f.SetID(5)
		f.SetNextHeader(packet.ProtoTCP)
		eq(t, "FragmentOffset", uint16(65528), f.FragmentOffset())
		eq(t, "More", true, f.More())
		f.SetMore(false)
		eq(t, "More", false, f.More())
		eq(t, "FragmentOffset kept", uint16(65528), f.FragmentOffset())
		eq(t, "ID", uint32(5), f.ID())
		eq(t, "NextHeader", uint8(packet.ProtoTCP), f.NextHeader())
	})
	t.Run("tcp", func(t *testing.T) {
		s := packet.TCP(tcpSeg(1, 2))
		s.SetSrcPort(1)
		s.SetDstPort(2)
		s.SetSeq(3)
		s.SetAck(4)
		s.SetFlags(packet.TCPFlagFIN | packet.TCPFlagCWR)
		s.SetWindow(5)
		s.SetChecksum(6)
		eq(t, "SrcPort", uint16(1), s.SrcPort())
		eq(t, "DstPort", uint16(2), s.DstPort())
		eq(t, "Seq", uint32(3), s.Seq())
		eq(t, "Ack", uint32(4), s.Ack())
		eq(t, "Flags", packet.TCPFlagFIN|packet.TCPFlagCWR, s.Flags())
		eq(t, "Window", uint16(5), s.Window())
		eq(t, "Checksum", uint16(6), s.Checksum())
		eq(t, "Payload", 2, len(s.Payload()))
		ph := packet.IPv4(ipv4(packet.ProtoTCP, s)).PseudoHeaderChecksum(packet.ProtoTCP, uint16(len(s)))
		s.SetChecksum(s.CalculateChecksum(ph))
		eq(t, "IsChecksumValid", true, s.IsChecksumValid(ph))
	})
	t.Run("udp", func(t *testing.T) {
		u := packet.UDP(udpSeg(1, 2, 3))
		u.SetSrcPort(1)
		u.SetDstPort(2)
		u.SetLength(10)
		u.SetChecksum(3)
		eq(t, "SrcPort", uint16(1), u.SrcPort())
		eq(t, "DstPort", uint16(2), u.DstPort())
		eq(t, "Length", uint16(10), u.Length())
		eq(t, "Checksum", uint16(3), u.Checksum())
		eq(t, "Payload", 2, len(u.Payload()))
		u.SetLength(0xffff)
		eq(t, "Payload clamped", 3, len(u.Payload()))
	})
	t.Run("icmpv4", func(t *testing.T) {
		m := packet.ICMPv4(make([]byte, 12))
		packet.EncodeICMPv4(m, packet.ICMPv4DestUnreachable, packet.ICMPv4FragNeeded, 0)
		m.SetMTU(1400)
		m.SetChecksum(m.CalculateChecksum())
		eq(t, "MTU", uint16(1400), m.MTU())
		eq(t, "Type", uint8(3), m.Type())
		eq(t, "Code", uint8(4), m.Code())
		eq(t, "sum", uint16(0xffff), checksum16Of(m))
		m.SetType(packet.ICMPv4Echo)
		m.SetCode(0)
		m.SetIdent(9)
		m.SetSeq(10)
		eq(t, "Ident", uint16(9), m.Ident())
		eq(t, "Seq", uint16(10), m.Seq())
		m.SetPointer(20)
		eq(t, "Pointer", uint8(20), m.Pointer())
		eq(t, "ICMPv4IsError(echo)", false, packet.ICMPv4IsError(packet.ICMPv4Echo))
		eq(t, "ICMPv4IsError(redirect)", true, packet.ICMPv4IsError(packet.ICMPv4Redirect))
	})
	t.Run("icmpv6", func(t *testing.T) {
		m := packet.ICMPv6(make([]byte, 8))
		packet.EncodeICMPv6(m, packet.ICMPv6PacketTooBig, 0, 1280)
		eq(t, "MTU", uint32(1280), m.MTU())
		m.SetMTU(1500)
		eq(t, "MTU", uint32(1500), m.MTU())
		m.SetPointer(40)
		eq(t, "Pointer", uint32(40), m.Pointer())
		m.SetType(packet.ICMPv6EchoRequest)
		m.SetIdent(1)
		m.SetSeq(2)
		eq(t, "Ident", uint16(1), m.Ident())
		eq(t, "Seq", uint16(2), m.Seq())
		eq(t, "ICMPv6IsError(128)", false, packet.ICMPv6IsError(128))
		eq(t, "ICMPv6IsError(2)", true, packet.ICMPv6IsError(2))
	})
	t.Run("gre", func(t *testing.T) {
		g := packet.GRE(greHdr(packet.EtherTypeTEB, 1, true))
		g.SetKey(0xcafef00d)
		eq(t, "Key", uint32(0xcafef00d), g.Key())
		eq(t, "HeaderLength", 8, g.HeaderLength())
		eq(t, "Seq absent", uint32(0), g.Seq())
		eq(t, "Checksum absent", uint16(0), g.Checksum())
		g2 := packet.GRE(greHdr(packet.EtherTypeIPv4, 1, false))
		g2.SetKey(5) // no key word: must not write past the header
		eq(t, "Key absent", uint32(0), g2.Key())
		eq(t, "len", 4, len(g2))
	})
	t.Run("arp", func(t *testing.T) {
		a := packet.ARP(arpPkt())
		a.SetOp(packet.ARPReply)
		a.SetSenderMAC(macB)
		a.SetTargetMAC(macA)
		a.SetSenderIP(v4B)
		a.SetTargetIP(v4A)
		eq(t, "IsValid", true, a.IsValid())
		eq(t, "Op", uint16(packet.ARPReply), a.Op())
		eq(t, "SenderMAC", macB, a.SenderMAC())
		eq(t, "TargetMAC", macA, a.TargetMAC())
		eq(t, "SenderIP", v4B, a.SenderIP())
		eq(t, "TargetIP", v4A, a.TargetIP())
		eq(t, "HLen", uint8(6), a.HLen())
		eq(t, "PLen", uint8(4), a.PLen())
	})
}

func TestTCPOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []byte
		mss     uint16
		mssOK   bool
		mssOff  int
		ws      uint8
		wsOK    bool
		sackOK  bool
		tsOK    bool
		iterErr bool
	}{
		{name: "empty", mssOff: -1},
		{name: "mss", opts: []byte{2, 4, 0x05, 0xb4}, mss: 1460, mssOK: true, mssOff: 2},
		{name: "nop nop mss", opts: []byte{1, 1, 2, 4, 0x05, 0x78}, mss: 1400, mssOK: true, mssOff: 4},
		{name: "linux syn", opts: []byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}, mss: 1460, mssOK: true, mssOff: 2, ws: 7, wsOK: true, sackOK: true, tsOK: true},
		{name: "eol stops", opts: []byte{0, 2, 4, 5, 0xb4}, mssOff: -1},
		{name: "length 0", opts: []byte{2, 0, 5, 0xb4}, mssOff: -1, iterErr: true},
		{name: "length 1", opts: []byte{8, 1, 2, 4, 5, 0xb4}, mssOff: -1, iterErr: true},
		{name: "length past end", opts: []byte{2, 4, 5}, mssOff: -1, iterErr: true},
		{name: "kind without length", opts: []byte{1, 2}, mssOff: -1, iterErr: true},
		{name: "mss wrong size", opts: []byte{2, 3, 5}, mssOff: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mss, ok := packet.TCPOptionMSS(tt.opts)
			eq(t, "MSS", [2]any{tt.mss, tt.mssOK}, [2]any{mss, ok})
			eq(t, "MSSOffset", tt.mssOff, packet.TCPOptionMSSOffset(tt.opts))
			ws, ok := packet.TCPOptionWindowScale(tt.opts)
			eq(t, "WindowScale", [2]any{tt.ws, tt.wsOK}, [2]any{ws, ok})
			eq(t, "SACKPermitted", tt.sackOK, packet.TCPOptionSACKPermitted(tt.opts))
			_, _, ok = packet.TCPOptionTimestamp(tt.opts)
			eq(t, "Timestamp", tt.tsOK, ok)
			it := packet.TCPOptionIter{Opts: tt.opts}
			for it.Next() {
			}
			eq(t, "Err", tt.iterErr, it.Err)
		})
	}
}

func TestWalkIPv6Ext(t *testing.T) {
	ah := []byte{packet.ProtoUDP, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} // (4+2)*4 = 24 bytes
	tests := []struct {
		name   string
		b      []byte
		first  uint8
		proto  uint8
		off    int
		frag   int
		status packet.DecodeStatus
	}{
		{name: "no ext", b: udpSeg(), first: packet.ProtoUDP, proto: packet.ProtoUDP, frag: -1},
		{name: "hbh dst", b: cat(ext(60), ext(6)), first: 0, proto: 6, off: 16, frag: -1},
		{name: "ah", b: cat(ah, udpSeg()), first: packet.ProtoAH, proto: packet.ProtoUDP, off: 24, frag: -1},
		{name: "esp ends walk", b: make([]byte, 16), first: packet.ProtoESP, proto: packet.ProtoESP, frag: -1},
		{name: "frag first", b: cat(fragHdr(6, 0, true), tcpSeg()), first: 44, proto: 6, off: 8, frag: 0},
		{name: "frag non-first stops", b: cat(ext(44), fragHdr(60, 8, true), ext(6)), first: 60, proto: 60, off: 16, frag: 8},
		{name: "empty", b: nil, first: 60, proto: 60, frag: -1, status: packet.DecodeBadExtHeader},
		{name: "7 bytes", b: make([]byte, 7), first: 43, proto: 43, frag: -1, status: packet.DecodeBadExtHeader},
		{name: "hbh second", b: cat(ext(0), ext(6)), first: 60, proto: 0, off: 8, frag: -1, status: packet.DecodeBadExtHeader},
		{name: "limit", b: cat(ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(6)), first: 60, proto: 60, off: 64, frag: -1, status: packet.DecodeExtHeaderLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proto, off, frag, st := packet.WalkIPv6Ext(tt.b, tt.first)
			eq(t, "result", [4]any{tt.proto, tt.off, tt.frag, tt.status}, [4]any{proto, off, frag, st})
		})
	}
}

func checksum16Of(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s>>16 != 0 {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

func TestEthernetSetAddrs(t *testing.T) {
	dst := packet.MAC{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	src := packet.MAC{0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	got := packet.Ethernet(make([]byte, 14))
	got.SetEtherType(packet.EtherTypeIPv4)
	got.SetAddrs(&dst, &src)
	want := packet.Ethernet(make([]byte, 14))
	want.SetEtherType(packet.EtherTypeIPv4)
	want.SetDst(dst)
	want.SetSrc(src)
	if string(got) != string(want) {
		t.Errorf("SetAddrs wrote % x, want % x", []byte(got), []byte(want))
	}
}

// TestDecodeIPv4FirstByte: every value of the version/IHL byte gets its
// status (decodeIPv4 tests both fields with one range compare and tells
// the two errors apart only off the way of valid packets).
func TestDecodeIPv4FirstByte(t *testing.T) {
	for v := 0; v < 256; v++ {
		var p packet.Parsed
		p.Decode(eth(packet.EtherTypeIPv4, set(ipv4(packet.ProtoUDP, udpSeg(1, 2, 3, 4, 5, 6, 7, 8)), 0, byte(v))))
		switch {
		case v>>4 != 4:
			if p.Status != packet.DecodeBadIPVersion || p.IPVersion != 0 {
				t.Errorf("%#x: status %v version %d, want bad_ip_version, 0", v, p.Status, p.IPVersion)
			}
		case v&0xf < 5:
			if p.Status != packet.DecodeBadIPHeaderLen || p.IPVersion != 4 {
				t.Errorf("%#x: status %v version %d, want bad_ip_header_len, 4", v, p.Status, p.IPVersion)
			}
		case v == 0x45:
			if p.Status != packet.DecodeOK || p.L4Off == 0 || p.DstPort != 53 {
				t.Errorf("%#x: status %v L4Off %d DstPort %d", v, p.Status, p.L4Off, p.DstPort)
			}
		default: // options: the header swallows the UDP header or more
			if p.Status == packet.DecodeBadIPVersion || p.Status == packet.DecodeBadIPHeaderLen || p.IPVersion != 4 {
				t.Errorf("%#x: status %v version %d", v, p.Status, p.IPVersion)
			}
		}
	}
}
