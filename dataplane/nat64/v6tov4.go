package nat64

import (
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

// V6ToV4 translates the IPv6 packet in f to IPv4 in place (RFC 7915 §5),
// with the addresses and ports the stateful layer chose in a. p is f's
// Parsed.Decode; only its L3Off, IPVersion and Status are trusted, the rest
// is re-read from the bytes so that a stale p cannot cause a bad write.
//
// The IPv4 header is written just before the transport header and the
// link-layer header (VLAN tags included, EtherType set to IPv4) is moved up
// in front of it: f.Off grows by 20 plus the extension headers, and f.Len
// drops any Ethernet padding. MAC addresses are the caller's to rewrite.
//
// Fields (§5.1, §5.1.1): TOS = Traffic Class (or 0, Config.ZeroTrafficClass);
// TTL = Hop Limit as it is: the caller, being the router, decrements the Hop
// Limit (and sends Time Exceeded at zero) before calling; Protocol = the
// upper-layer Next Header with 58 mapped to 1; Hop-by-Hop, Destination
// Options and Routing headers with Segments Left 0 are dropped. Without a
// Fragment header: ID = a.ID, DF set iff the IPv4 packet exceeds 1260 bytes
// (§5), MF and offset 0. With one: ID = its low 16 bits, MF = M, offset
// copied, DF clear. TCP and UDP checksums are patched for the address and
// port changes (a zero UDP checksum, only legal over IPv6 per RFC 6936, is
// left zero), ICMPv6 echo becomes ICMP echo with the pseudo-header removed
// from its checksum, ICMPv6 errors are rebuilt with the quoted packet
// translated too (§5.2, §5.3).
//
// On any result but ResultOK the frame is unchanged.
func V6ToV4(f *Frame, p *packet.Parsed, a *Addrs, c *Config) Result {
	l3, fend, ok := frameL3(f, p, 6)
	if !ok {
		return ResultMalformed
	}
	ip := packet.IPv6(f.Buf[l3:fend])
	if !ip.IsValid(len(ip)) {
		return ResultMalformed
	}
	if v6ToV4Fast(f, p, a, c, l3, ip) {
		return ResultOK
	}
	return v6ToV4(f, p, a, c, l3, ip)
}

// v6ToV4 is V6ToV4 after the frame checks: every case, the fast one
// included (the tests compare the two).
func v6ToV4(f *Frame, p *packet.Parsed, a *Addrs, c *Config, l3 int, ip packet.IPv6) Result {
	pkt := ip[:packet.IPv6Size+int(ip.PayloadLength())]
	e, r := walk6(pkt, false)
	if r != ResultOK {
		return r
	}
	isFrag := e.frag >= 0
	first := e.fragOff == 0
	seg := pkt[e.l4:]
	proto := e.proto
	switch proto {
	case packet.ProtoTCP:
		if first && len(seg) < packet.TCPMinSize {
			return ResultTruncated
		}
	case packet.ProtoUDP:
		if first && len(seg) < packet.UDPSize {
			return ResultTruncated
		}
	case packet.ProtoICMPv6:
		if isFrag {
			return ResultFragmentedICMP
		}
		if len(seg) < packet.ICMPv6MinSize {
			return ResultTruncated
		}
		if packet.ICMPv6IsError(seg[0]) {
			return v6ErrorToV4(f, p, a, c, l3, pkt, &e)
		}
		if seg[0] != packet.ICMPv6EchoRequest && seg[0] != packet.ICMPv6EchoReply {
			return ResultICMPUntranslatable // §5.2: MLD, ND, unknown
		}
		proto = packet.ProtoICMP
	default:
		return ResultUnsupportedProto
	}

	total := packet.IPv4MinSize + len(seg)
	var id uint16
	var flags uint8
	if isFrag {
		id = FragID6To4(e.fragID)
		if e.more {
			flags = packet.IPv4FlagMF
		}
	} else {
		id = a.ID
		if total > dfThreshold {
			flags = packet.IPv4FlagDF
		}
	}
	if total > c.mtu4() {
		return ResultPacketTooBig
	}

	// Read everything the new headers will overwrite.
	tc, hop := ip.TrafficClass(), ip.HopLimit()
	if first {
		src6, dst6 := ip.Src(), ip.Dst()
		switch e.proto {
		case packet.ProtoTCP, packet.ProtoUDP:
			l4Fix(e.proto, seg, a.SrcPort, a.DstPort, sum16(&src6, &dst6), sum4(a.Src4, a.Dst4))
		case packet.ProtoICMPv6:
			t := uint8(packet.ICMPv4Echo)
			if seg[0] == packet.ICMPv6EchoReply {
				t = packet.ICMPv4EchoReply
			}
			echoFix(seg, t, a.SrcPort, checksum.PseudoHeaderV6(src6, dst6, packet.ProtoICMPv6, uint32(len(seg))), 0)
		}
	}
	newL3 := l3 + e.l4 - packet.IPv4MinSize
	newOff := newL3 - p.L3Off
	buf := f.Buf
	moveL2(buf, f.Off, newOff, p.L3Off, packet.EtherTypeIPv4)
	packet.EncodeIPv4(buf[newL3:], packet.IPv4Fields{
		TOS:         c.tos(tc),
		TotalLength: uint16(total),
		ID:          id,
		Flags:       flags,
		FragOffset:  e.fragOff,
		TTL:         hop,
		Protocol:    proto,
		Src:         a.Src4,
		Dst:         a.Dst4,
	})
	f.Off = newOff
	f.Len = p.L3Off + total
	return ResultOK
}

// echoFix turns an echo message into the other family's (type t), sets its
// Identifier and patches its checksum: the pseudo-header sum oldPseudo is
// taken out and newPseudo put in (one of them is 0: ICMPv4 has none). seg
// may be cut short inside a quoted packet; what is there is translated.
func echoFix(seg []byte, t uint8, id uint16, oldPseudo, newPseudo uint16) {
	if len(seg) < 2 {
		if len(seg) == 1 {
			seg[0] = t
		}
		return
	}
	oldSum := add(oldPseudo, be16(seg))
	seg[0] = t
	newSum := add(newPseudo, be16(seg))
	if len(seg) >= 6 {
		oldSum = add(oldSum, be16(seg[4:]))
		put16(seg[4:], id)
		newSum = add(newSum, id)
	}
	if len(seg) >= 4 {
		put16(seg[2:], adjust(be16(seg[2:]), oldSum, newSum))
	}
}

// inner6 is the IPv6 packet quoted in an ICMPv6 error.
type inner6 struct {
	ip       packet.IPv6 // the quote, cut to its Payload Length
	e        ext6
	declared int // 40 + Payload Length: the length of the packet quoted
}

// parseInner6 parses the quoted packet in (the ICMPv6 message body).
// RFC 7915 §5.3: one level only, so a quoted ICMPv6 error, or a quoted
// informational message other than echo, is ResultBadInner.
func parseInner6(in []byte) (q inner6, r Result) {
	if len(in) < packet.IPv6Size || in[0]>>4 != packet.IPv6Version {
		return q, ResultBadInner
	}
	q.ip = packet.IPv6(in)
	q.declared = packet.IPv6Size + int(q.ip.PayloadLength())
	if len(q.ip) > q.declared {
		q.ip = q.ip[:q.declared]
	}
	var rr Result
	q.e, rr = walk6(q.ip, true)
	if rr != ResultOK {
		return q, ResultBadInner
	}
	switch q.e.proto {
	case packet.ProtoTCP, packet.ProtoUDP:
	case packet.ProtoICMPv6:
		if seg := q.ip[q.e.l4:]; q.e.fragOff == 0 && len(seg) > 0 &&
			seg[0] != packet.ICMPv6EchoRequest && seg[0] != packet.ICMPv6EchoReply {
			return q, ResultBadInner
		}
	default:
		return q, ResultUnsupportedProto
	}
	return q, ResultOK
}

// v6ErrorToV4 translates an ICMPv6 error (RFC 7915 §5.2) and the packet it
// quotes (§5.3). The message is rebuilt rather than patched, so its
// checksum is verified first. Layout, with the quoted transport bytes
// staying where they are:
//
//	in:  [L2][IPv6 + ext][ICMPv6 8][IPv6 + ext][transport...]
//	out:        [L2][IPv4 20][ICMP 8][IPv4 20][transport...]
func v6ErrorToV4(f *Frame, p *packet.Parsed, a *Addrs, c *Config, l3 int, pkt packet.IPv6, e *ext6) Result {
	msg := pkt[e.l4:]
	src6, dst6 := pkt.Src(), pkt.Dst()
	if checksum.Checksum(msg, checksum.PseudoHeaderV6(src6, dst6, packet.ProtoICMPv6, uint32(len(msg)))) != 0xffff {
		return ResultBadChecksum
	}
	t4, c4, rest, ok := icmp6To4(msg, c)
	if !ok {
		return ResultICMPUntranslatable
	}
	q, r := parseInner6(msg[packet.ICMPv6MinSize:])
	if r != ResultOK {
		return r
	}
	iseg := q.ip[q.e.l4:]
	iproto := q.e.proto
	if iproto == packet.ProtoICMPv6 {
		iproto = packet.ProtoICMP
	}
	const hdr = packet.IPv4MinSize + packet.ICMPv4MinSize + packet.IPv4MinSize
	itl := packet.IPv4MinSize + q.declared - q.e.l4
	total := hdr + len(iseg)
	// RFC 1812 4.3.2.3: an ICMPv4 error holds at most 576 bytes; the
	// IPv4 MTU bounds it too (mtu4 >= 68 > hdr).
	if m := min(c.mtu4(), icmp4ErrMax); total > m {
		total = m
	}
	var iid uint16
	var iflags uint8
	if q.e.frag >= 0 {
		iid = FragID6To4(q.e.fragID)
		if q.e.more {
			iflags = packet.IPv4FlagMF
		}
	} else if itl > dfThreshold {
		iflags = packet.IPv4FlagDF
	}
	var flags uint8
	if total > dfThreshold {
		flags = packet.IPv4FlagDF
	}

	// Read everything the new headers will overwrite.
	tc, hop := pkt.TrafficClass(), pkt.HopLimit()
	itc, ihop := q.ip.TrafficClass(), q.ip.HopLimit()
	isrc, idst := q.ip.Src(), q.ip.Dst()
	if q.e.fragOff == 0 {
		switch q.e.proto {
		case packet.ProtoTCP, packet.ProtoUDP:
			l4Fix(q.e.proto, iseg, a.InnerSrcPort, a.InnerDstPort, sum16(&isrc, &idst), sum4(a.InnerSrc4, a.InnerDst4))
		case packet.ProtoICMPv6:
			var ps uint16
			if q.e.frag < 0 {
				ps = checksum.PseudoHeaderV6(isrc, idst, packet.ProtoICMPv6, uint32(q.declared-q.e.l4))
			}
			t := uint8(packet.ICMPv4Echo)
			if len(iseg) > 0 && iseg[0] == packet.ICMPv6EchoReply {
				t = packet.ICMPv4EchoReply
			}
			echoFix(iseg, t, a.InnerSrcPort, ps, 0)
		}
	}

	inL4 := l3 + e.l4 + packet.ICMPv6MinSize + q.e.l4
	newIn := inL4 - packet.IPv4MinSize
	newICMP := newIn - packet.ICMPv4MinSize
	newL3 := newICMP - packet.IPv4MinSize
	newOff := newL3 - p.L3Off
	buf := f.Buf
	moveL2(buf, f.Off, newOff, p.L3Off, packet.EtherTypeIPv4)
	packet.EncodeIPv4(buf[newL3:], packet.IPv4Fields{
		TOS:         c.tos(tc),
		TotalLength: uint16(total),
		ID:          a.ID,
		Flags:       flags,
		TTL:         hop,
		Protocol:    packet.ProtoICMP,
		Src:         a.Src4,
		Dst:         a.Dst4,
	})
	packet.EncodeIPv4(buf[newIn:], packet.IPv4Fields{
		TOS:         c.tos(itc),
		TotalLength: uint16(itl),
		ID:          iid,
		Flags:       iflags,
		FragOffset:  q.e.fragOff,
		TTL:         ihop,
		Protocol:    iproto,
		Src:         a.InnerSrc4,
		Dst:         a.InnerDst4,
	})
	icmp := buf[newICMP : newL3+total]
	packet.EncodeICMPv4(icmp, t4, c4, rest)
	put16(icmp[2:], ^checksum.Checksum(icmp, 0))
	f.Off = newOff
	f.Len = p.L3Off + total
	return ResultOK
}
