package nat64

import (
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

// ICMP errors the translator itself originates are built in place, as
// pipeline/icmp.go does: the offending packet is moved behind a new IP and
// ICMP header inside the same buffer (its tailroom), so an error costs no
// allocation and no second buffer. The link-layer header stays in front
// (the caller rewrites the MACs and picks the port); the packet goes back to
// the offending packet's source.

// BuildICMPv4Error turns the IPv4 packet in f into an ICMPv4 error of type
// typ and code about it, from src to the packet's source, with rest as the
// second header word (the Next-Hop MTU of a Fragmentation Needed is its low
// 16 bits) and id as the IPv4 Identification. The quote is cut at 576 bytes
// (RFC 1812 §4.3.2.3). It refuses, with ResultNoICMPError, to answer an ICMP
// error or a non-first fragment (RFC 1122 §3.2.2).
func BuildICMPv4Error(f *Frame, p *packet.Parsed, src [4]byte, id uint16, typ, code uint8, rest uint32) Result {
	l3, end, ok := frameL3(f, p, 4)
	if !ok || p.L3Len < packet.IPv4MinSize || p.L3Len > end-l3 {
		return ResultMalformed
	}
	if p.FragOff != 0 || (p.Proto == packet.ProtoICMP && packet.ICMPv4IsError(p.ICMPType)) {
		return ResultNoICMPError
	}
	const hdr = packet.IPv4MinSize + packet.ICMPv4MinSize
	quoted := min(p.L3Len, icmp4ErrMax-hdr, len(f.Buf)-l3-hdr)
	if quoted < packet.IPv4MinSize {
		return ResultNoHeadroom // no tailroom, in fact: the buffer ends
	}
	buf := f.Buf
	dst := packet.IPv4(buf[l3:]).Src()
	copy(buf[l3+hdr:l3+hdr+quoted], buf[l3:l3+quoted])
	packet.EncodeIPv4(buf[l3:], packet.IPv4Fields{
		TOS:         0xc0, // internetwork control, RFC 1812 §4.3.2.5
		TotalLength: uint16(hdr + quoted),
		ID:          id,
		TTL:         64,
		Protocol:    packet.ProtoICMP,
		Src:         src,
		Dst:         dst,
	})
	ic := buf[l3+packet.IPv4MinSize : l3+hdr+quoted]
	packet.EncodeICMPv4(ic, typ, code, rest)
	put16(ic[2:], ^checksum.Checksum(ic, 0))
	f.Len = p.L3Off + hdr + quoted
	return ResultOK
}

// BuildFragNeeded answers an IPv4 packet that V4ToV6 refused with
// ResultFragNeeded: ICMPv4 Fragmentation Needed (type 3 code 4) with the
// Next-Hop MTU the packet must fit once translated: Config.MTU6 minus 20,
// minus 8 more for a fragment, which gets a Fragment header (RFC 7915 §4.1).
func BuildFragNeeded(f *Frame, p *packet.Parsed, src [4]byte, id uint16, c *Config) Result {
	mtu := c.mtu6() - (packet.IPv6Size - packet.IPv4MinSize)
	if p.Frag {
		mtu -= packet.IPv6FragmentSize
	}
	return BuildICMPv4Error(f, p, src, id, packet.ICMPv4DestUnreachable, packet.ICMPv4FragNeeded, uint32(min(mtu, 0xffff)))
}

// BuildICMPv6Error turns the IPv6 packet in f into an ICMPv6 error of type
// typ and code about it, from src to the packet's source, with rest as the
// second header word (MTU or pointer). The quote is cut so that the error
// fits in 1280 bytes (RFC 4443 §2.4(c)). It refuses, with
// ResultNoICMPError, to answer an ICMPv6 error, a non-first fragment, or a
// packet to a multicast address unless the error is Packet Too Big
// (RFC 4443 §2.4(e)).
func BuildICMPv6Error(f *Frame, p *packet.Parsed, src [16]byte, typ, code uint8, rest uint32) Result {
	l3, end, ok := frameL3(f, p, 6)
	if !ok || p.L3Len < packet.IPv6Size || p.L3Len > end-l3 {
		return ResultMalformed
	}
	if p.FragOff != 0 || (p.Proto == packet.ProtoICMPv6 && packet.ICMPv6IsError(p.ICMPType)) ||
		(p.Dst[0] == 0xff && typ != packet.ICMPv6PacketTooBig) {
		return ResultNoICMPError
	}
	const hdr = packet.IPv6Size + packet.ICMPv6MinSize
	quoted := min(p.L3Len, icmp6ErrMax-hdr, len(f.Buf)-l3-hdr)
	if quoted < packet.IPv6Size {
		return ResultNoHeadroom
	}
	buf := f.Buf
	dst := packet.IPv6(buf[l3:]).Src()
	copy(buf[l3+hdr:l3+hdr+quoted], buf[l3:l3+quoted])
	packet.EncodeIPv6(buf[l3:], packet.IPv6Fields{
		PayloadLength: uint16(packet.ICMPv6MinSize + quoted),
		NextHeader:    packet.ProtoICMPv6,
		HopLimit:      64,
		Src:           src,
		Dst:           dst,
	})
	ic := buf[l3+packet.IPv6Size : l3+hdr+quoted]
	packet.EncodeICMPv6(ic, typ, code, rest)
	put16(ic[2:], ^checksum.Checksum(ic, checksum.PseudoHeaderV6(src, dst, packet.ProtoICMPv6, uint32(len(ic)))))
	f.Len = p.L3Off + hdr + quoted
	return ResultOK
}

// BuildPacketTooBig answers an IPv6 packet that V6ToV4 refused with
// ResultPacketTooBig: ICMPv6 Packet Too Big with MTU Config.MTU4 + 20, and
// at least 1280 (RFC 7915 §5.1, RFC 8200 §5).
func BuildPacketTooBig(f *Frame, p *packet.Parsed, src [16]byte, c *Config) Result {
	mtu := max(c.mtu4()+packet.IPv6Size-packet.IPv4MinSize, minMTU6)
	return BuildICMPv6Error(f, p, src, packet.ICMPv6PacketTooBig, 0, uint32(mtu))
}

// BuildRoutingHeaderError answers an IPv6 packet that V6ToV4 refused with
// ResultRoutingHeader: ICMPv6 Parameter Problem code 0 pointing at Segments
// Left (RFC 7915 §5.1).
func BuildRoutingHeaderError(f *Frame, p *packet.Parsed, src [16]byte) Result {
	if f.Off < 0 || f.Len < 0 || f.Off > len(f.Buf) || f.Len > len(f.Buf)-f.Off {
		return ResultMalformed
	}
	ptr := RoutingHeaderPointer(f.Data(), p)
	if ptr == 0 {
		return ResultMalformed
	}
	return BuildICMPv6Error(f, p, src, packet.ICMPv6ParamProblem, 0, ptr)
}

// Embedded is the packet quoted in an ICMP error, as the stateful layer
// needs it to find the session the error is about (RFC 6146 §3.5.1.1,
// §3.5.3) before calling the translator.
type Embedded struct {
	Proto    uint8    // ProtoTCP, ProtoUDP, or ProtoICMP / ProtoICMPv6 (echo)
	Src, Dst [16]byte // IPv4 addresses in the first 4 bytes
	// SrcPort and DstPort are the ports, or for echo the Identifier in
	// both; valid only when HasPorts.
	SrcPort, DstPort uint16
	// HasPorts is false for a quoted non-first fragment or a quote cut
	// before the ports.
	HasPorts bool
}

// ParseEmbedded fills e from the ICMP or ICMPv6 error in frame (p is its
// Parsed.Decode). It returns ResultOK, or the Result the translator would
// return for the quote (ResultBadInner, ResultUnsupportedProto), or
// ResultMalformed when frame is not an ICMP error.
func ParseEmbedded(frame []byte, p *packet.Parsed, e *Embedded) Result {
	*e = Embedded{}
	if p.Status != packet.DecodeOK || p.L4Off <= 0 || p.L3Off < 0 ||
		p.L3Off+p.L3Len > len(frame) || p.L4Off+packet.ICMPv4MinSize > p.L3Off+p.L3Len {
		return ResultMalformed
	}
	msg := frame[p.L4Off : p.L3Off+p.L3Len]
	var seg []byte
	first := false
	switch {
	case p.IPVersion == 4 && p.Proto == packet.ProtoICMP && packet.ICMPv4IsError(msg[0]):
		q, r := parseInner4(msg[packet.ICMPv4MinSize:])
		if r != ResultOK {
			return r
		}
		e.Proto = q.ip.Protocol()
		copy(e.Src[:4], q.ip[12:16])
		copy(e.Dst[:4], q.ip[16:20])
		seg, first = q.seg, q.ip.FragmentOffset() == 0
	case p.IPVersion == 6 && p.Proto == packet.ProtoICMPv6 && packet.ICMPv6IsError(msg[0]):
		q, r := parseInner6(msg[packet.ICMPv6MinSize:])
		if r != ResultOK {
			return r
		}
		e.Proto = q.e.proto
		e.Src, e.Dst = q.ip.Src(), q.ip.Dst()
		seg, first = q.ip[q.e.l4:], q.e.fragOff == 0
	default:
		return ResultMalformed
	}
	if !first {
		return ResultOK
	}
	switch e.Proto {
	case packet.ProtoTCP, packet.ProtoUDP:
		if len(seg) >= 4 {
			e.SrcPort, e.DstPort, e.HasPorts = be16(seg), be16(seg[2:]), true
		}
	default: // echo
		if len(seg) >= 6 {
			id := be16(seg[4:])
			e.SrcPort, e.DstPort, e.HasPorts = id, id, true
		}
	}
	return ResultOK
}
