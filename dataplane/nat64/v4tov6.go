package nat64

import (
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

// V4ToV6 translates the IPv4 packet in f to IPv6 in place (RFC 7915 §4),
// with the addresses and ports the stateful layer chose in a. p is f's
// Parsed.Decode; only its L3Off, IPVersion and Status are trusted.
//
// The IPv6 header (and a Fragment header when one is needed) is written just
// before the transport header, which does not move; the link-layer header
// (VLAN tags included, EtherType set to IPv6) is moved down in front of it,
// into the headroom: f.Off shrinks by 20 (28 with a Fragment header) minus
// the IPv4 options. MAC addresses are the caller's to rewrite.
//
// Fields (§4.1): Traffic Class = TOS (or 0, Config.ZeroTrafficClass); Flow
// Label 0; Hop Limit = TTL as it is: the caller, being the router,
// decrements the TTL (patching the header checksum) and sends Time Exceeded
// at zero before calling; Next Header = Protocol with 1 mapped to 58; IPv4
// options are dropped, but an unexpired source route gets
// ResultSourceRoute. The IPv4 header checksum is verified.
//
// Fragments and MTU (§4.1): a Fragment header is added when the packet is a
// fragment (offset and M copied, Identification = the IPv4 ID with the high
// 16 bits zero) or when DF is clear and the packet exceeds Config.MTU6; then
// it is cut into fragments of at most MTU6 bytes. The first stays in f and
// the others are written into spare, whose Buf and Off (where each frame may
// start) the caller sets; n is how many of them were used. DF set and too
// big gives ResultFragNeeded. A non-fragment that fits gets no Fragment
// header.
//
// Transport (§4.5): TCP and UDP checksums are patched for the address and
// port changes. A zero UDP checksum is computed when the datagram is whole
// (ResultUDPChecksumComputed); the first fragment of such a datagram gets
// ResultFragmentedZeroCsumUDP (RFC 6146 §3.4 leaves that choice to the
// NAT64; this package does not reassemble). ICMP echo becomes ICMPv6 echo
// with the pseudo-header added to its checksum; ICMP errors are rebuilt with
// the quoted packet translated too (§4.2, §4.3).
//
// On any result but ResultOK and ResultUDPChecksumComputed the frame and the
// spare frames are unchanged.
func V4ToV6(f *Frame, p *packet.Parsed, a *Addrs, c *Config, spare []Frame) (n int, r Result) {
	l3, fend, ok := frameL3(f, p, 4)
	if !ok {
		return 0, ResultMalformed
	}
	ip := packet.IPv4(f.Buf[l3:fend])
	if !ip.IsValid(len(ip)) {
		return 0, ResultMalformed
	}
	if v4ToV6Fast(f, p, a, c, l3, ip) {
		return 0, ResultOK
	}
	return v4ToV6(f, p, a, c, spare, l3, ip)
}

// v4ToV6 is V4ToV6 after the frame checks: every case, the fast one
// included (the tests compare the two).
func v4ToV6(f *Frame, p *packet.Parsed, a *Addrs, c *Config, spare []Frame, l3 int, ip packet.IPv4) (n int, r Result) {
	buf := f.Buf
	if (c == nil || !c.IPv4HeaderChecked) && !ip.IsChecksumValid() {
		return 0, ResultBadChecksum
	}
	hl, tl := ip.HeaderLength(), int(ip.TotalLength())
	if hl > packet.IPv4MinSize && sourceRoute(ip[packet.IPv4MinSize:hl]) {
		return 0, ResultSourceRoute
	}
	seg := ip[hl:tl]
	fragOff, mf, df := ip.FragmentOffset(), ip.MF(), ip.DF()
	isFrag := mf || fragOff != 0
	if int(fragOff)+len(seg) > 0xffff {
		return 0, ResultMalformed
	}
	first := fragOff == 0
	proto := ip.Protocol()
	next := proto
	res := ResultOK
	switch proto {
	case packet.ProtoTCP:
		if first && len(seg) < packet.TCPMinSize {
			return 0, ResultTruncated
		}
	case packet.ProtoUDP:
		if first {
			if len(seg) < packet.UDPSize {
				return 0, ResultTruncated
			}
			if be16(seg[6:]) == 0 {
				if isFrag {
					return 0, ResultFragmentedZeroCsumUDP
				}
				if l := int(be16(seg[4:])); l < packet.UDPSize || l > len(seg) {
					return 0, ResultMalformed
				}
				res = ResultUDPChecksumComputed
			}
		}
	case packet.ProtoICMP:
		if isFrag {
			return 0, ResultFragmentedICMP
		}
		if len(seg) < packet.ICMPv4MinSize {
			return 0, ResultTruncated
		}
		if packet.ICMPv4IsError(seg[0]) {
			return 0, v4ErrorToV6(f, p, a, c, l3, ip, hl, tl)
		}
		if seg[0] != packet.ICMPv4Echo && seg[0] != packet.ICMPv4EchoReply {
			return 0, ResultICMPUntranslatable // §4.2: timestamp, mask, router discovery, ...
		}
		next = packet.ProtoICMPv6
	default:
		return 0, ResultUnsupportedProto
	}

	hdr := packet.IPv6Size
	if isFrag {
		hdr += packet.IPv6FragmentSize
	}
	nfrag, chunk := 1, len(seg)
	mtu6 := c.mtu6()
	if hdr+len(seg) > mtu6 {
		if df {
			return 0, ResultFragNeeded
		}
		hdr = packet.IPv6Size + packet.IPv6FragmentSize
		chunk = (mtu6 - hdr) &^ 7
		nfrag = (len(seg) + chunk - 1) / chunk
		if nfrag-1 > len(spare) {
			return 0, ResultNeedSpare
		}
		for i := 1; i < nfrag; i++ {
			s := &spare[i-1]
			l := min(chunk, len(seg)-i*chunk)
			if s.Off < 0 || s.Off > len(s.Buf) || len(s.Buf)-s.Off < p.L3Off+hdr+l {
				return 0, ResultNeedSpare
			}
		}
	}
	newL3 := l3 + hl - hdr
	newOff := newL3 - p.L3Off
	if newOff < 0 {
		return 0, ResultNoHeadroom
	}

	// Read everything the new headers will overwrite.
	tos, ttl, id := ip.TOS(), ip.TTL(), ip.ID()
	if first {
		oldAddr := sum4(ip.Src(), ip.Dst())
		newAddr := sum16(&a.Src6, &a.Dst6)
		switch proto {
		case packet.ProtoTCP:
			l4Fix(proto, seg, a.SrcPort, a.DstPort, oldAddr, newAddr)
		case packet.ProtoUDP:
			if res == ResultUDPChecksumComputed {
				u := packet.UDP(seg)
				u.SetSrcPort(a.SrcPort)
				u.SetDstPort(a.DstPort)
				u.SetChecksum(u.CalculateChecksum(
					checksum.PseudoHeaderV6(a.Src6, a.Dst6, packet.ProtoUDP, uint32(u.Length()))))
			} else {
				l4Fix(proto, seg, a.SrcPort, a.DstPort, oldAddr, newAddr)
			}
		case packet.ProtoICMP:
			t := uint8(packet.ICMPv6EchoRequest)
			if seg[0] == packet.ICMPv4EchoReply {
				t = packet.ICMPv6EchoReply
			}
			echoFix(seg, t, a.SrcPort, 0, checksum.PseudoHeaderV6(a.Src6, a.Dst6, packet.ProtoICMPv6, uint32(len(seg))))
		}
	}
	moveL2(buf, f.Off, newOff, p.L3Off, packet.EtherTypeIPv6)
	nh := next
	if hdr > packet.IPv6Size {
		nh = packet.ProtoFragment
	}
	packet.EncodeIPv6(buf[newL3:], packet.IPv6Fields{
		TrafficClass:  c.tos(tos),
		PayloadLength: uint16(hdr - packet.IPv6Size + chunk),
		NextHeader:    nh,
		HopLimit:      ttl,
		Src:           a.Src6,
		Dst:           a.Dst6,
	})
	if hdr > packet.IPv6Size {
		packet.EncodeIPv6Fragment(buf[newL3+packet.IPv6Size:], next, fragOff, mf || nfrag > 1, FragID4To6(id))
	}
	f.Off = newOff
	f.Len = p.L3Off + hdr + chunk

	// The other fragments: the same headers, then their share of the
	// payload (RFC 7915 §4.1: offsets in 8-byte units, M set on all but
	// the last, which keeps the original MF).
	for i := 1; i < nfrag; i++ {
		s := &spare[i-1]
		start := i * chunk
		l := min(chunk, len(seg)-start)
		d := s.Buf[s.Off:]
		copy(d, buf[newOff:newOff+p.L3Off+hdr])
		copy(d[p.L3Off+hdr:], seg[start:start+l])
		packet.IPv6(d[p.L3Off:]).SetPayloadLength(uint16(packet.IPv6FragmentSize + l))
		fh := packet.IPv6Fragment(d[p.L3Off+packet.IPv6Size:])
		fh.SetFragmentOffset(fragOff + uint16(start))
		fh.SetMore(mf || i < nfrag-1)
		s.Len = p.L3Off + hdr + l
	}
	return nfrag - 1, res
}

// inner4 is the IPv4 packet quoted in an ICMPv4 error.
type inner4 struct {
	ip  packet.IPv4 // the quote, cut to its Total Length
	hl  int
	tl  int
	seg []byte // the transport bytes present
}

// parseInner4 parses the quoted packet in (the ICMPv4 message body). RFC
// 7915 §4.3: one level only, so a quoted ICMP error, or a quoted
// informational message other than echo, is ResultBadInner.
func parseInner4(in []byte) (q inner4, r Result) {
	if len(in) < packet.IPv4MinSize || in[0]>>4 != packet.IPv4Version {
		return q, ResultBadInner
	}
	q.ip = packet.IPv4(in)
	q.hl, q.tl = q.ip.HeaderLength(), int(q.ip.TotalLength())
	if q.hl < packet.IPv4MinSize || q.hl > len(in) || q.tl < q.hl {
		return q, ResultBadInner
	}
	if len(q.ip) > q.tl {
		q.ip = q.ip[:q.tl]
	}
	q.seg = q.ip[q.hl:]
	switch q.ip.Protocol() {
	case packet.ProtoTCP, packet.ProtoUDP:
	case packet.ProtoICMP:
		if q.ip.FragmentOffset() == 0 && len(q.seg) > 0 &&
			q.seg[0] != packet.ICMPv4Echo && q.seg[0] != packet.ICMPv4EchoReply {
			return q, ResultBadInner
		}
	default:
		return q, ResultUnsupportedProto
	}
	return q, ResultOK
}

// v4ErrorToV6 translates an ICMPv4 error (RFC 7915 §4.2) and the packet it
// quotes (§4.3), cut so that the result fits in 1280 bytes (RFC 4443
// §2.4(c)). The message is rebuilt rather than patched, so its checksum is
// verified first. Layout, with the quoted transport bytes staying where they
// are:
//
//	in:         [L2][IPv4 + opt][ICMP 8][IPv4 + opt][transport...]
//	out: [L2][IPv6 40][ICMPv6 8][IPv6 40 (+ Frag 8)][transport...]
func v4ErrorToV6(f *Frame, p *packet.Parsed, a *Addrs, c *Config, l3 int, ip packet.IPv4, hl, tl int) Result {
	msg := ip[hl:tl]
	if checksum.Checksum(msg, 0) != 0xffff {
		return ResultBadChecksum
	}
	q, r := parseInner4(msg[packet.ICMPv4MinSize:])
	if r != ResultOK {
		return r
	}
	t6, c6, rest, ok := icmp4To6(msg, q.tl, c)
	if !ok {
		return ResultICMPUntranslatable
	}
	ifo, imf := q.ip.FragmentOffset(), q.ip.MF()
	ifrag := imf || ifo != 0
	iproto := q.ip.Protocol()
	inext := iproto
	if iproto == packet.ProtoICMP {
		inext = packet.ProtoICMPv6
	}
	ihdr := packet.IPv6Size
	if ifrag {
		ihdr += packet.IPv6FragmentSize
	}
	total := packet.IPv6Size + packet.ICMPv6MinSize + ihdr + len(q.seg)
	total = min(total, icmp6ErrMax)

	inL4 := l3 + hl + packet.ICMPv4MinSize + q.hl
	newIn := inL4 - ihdr
	newICMP := newIn - packet.ICMPv6MinSize
	newL3 := newICMP - packet.IPv6Size
	newOff := newL3 - p.L3Off
	if newOff < 0 {
		return ResultNoHeadroom
	}

	// Read everything the new headers will overwrite.
	tos, ttl := ip.TOS(), ip.TTL()
	itos, ittl, iid := q.ip.TOS(), q.ip.TTL(), q.ip.ID()
	if ifo == 0 {
		switch iproto {
		case packet.ProtoTCP, packet.ProtoUDP:
			l4Fix(iproto, q.seg, a.InnerSrcPort, a.InnerDstPort,
				sum4(q.ip.Src(), q.ip.Dst()), sum16(&a.InnerSrc6, &a.InnerDst6))
		case packet.ProtoICMP:
			var ps uint16
			if !ifrag {
				ps = checksum.PseudoHeaderV6(a.InnerSrc6, a.InnerDst6, packet.ProtoICMPv6, uint32(q.tl-q.hl))
			}
			t := uint8(packet.ICMPv6EchoRequest)
			if len(q.seg) > 0 && q.seg[0] == packet.ICMPv4EchoReply {
				t = packet.ICMPv6EchoReply
			}
			echoFix(q.seg, t, a.InnerSrcPort, 0, ps)
		}
	}

	buf := f.Buf
	moveL2(buf, f.Off, newOff, p.L3Off, packet.EtherTypeIPv6)
	packet.EncodeIPv6(buf[newL3:], packet.IPv6Fields{
		TrafficClass:  c.tos(tos),
		PayloadLength: uint16(total - packet.IPv6Size),
		NextHeader:    packet.ProtoICMPv6,
		HopLimit:      ttl,
		Src:           a.Src6,
		Dst:           a.Dst6,
	})
	inh := inext
	if ifrag {
		inh = packet.ProtoFragment
	}
	packet.EncodeIPv6(buf[newIn:], packet.IPv6Fields{
		TrafficClass:  c.tos(itos),
		PayloadLength: uint16(q.tl - q.hl + ihdr - packet.IPv6Size),
		NextHeader:    inh,
		HopLimit:      ittl,
		Src:           a.InnerSrc6,
		Dst:           a.InnerDst6,
	})
	if ifrag {
		packet.EncodeIPv6Fragment(buf[newIn+packet.IPv6Size:], inext, ifo, imf, FragID4To6(iid))
	}
	icmp := buf[newICMP : newL3+total]
	packet.EncodeICMPv6(icmp, t6, c6, rest)
	put16(icmp[2:], ^checksum.Checksum(icmp,
		checksum.PseudoHeaderV6(a.Src6, a.Dst6, packet.ProtoICMPv6, uint32(len(icmp)))))
	f.Off = newOff
	f.Len = p.L3Off + total
	return ResultOK
}
