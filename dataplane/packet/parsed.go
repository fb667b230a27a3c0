package packet

import "encoding/binary"

// DecodeStatus says how far Parsed.Decode got. DecodeOK means every layer
// that Decode looks at was well formed; any other value names the first
// problem and is meant to become a drop counter.
type DecodeStatus uint8

// Decode results. Keep decodeStatusNames in the same order.
const (
	DecodeOK             DecodeStatus = iota
	DecodeTruncatedL2                 // shorter than an Ethernet header or a VLAN tag
	DecodeBadVLAN                     // more than two VLAN tags
	DecodeTruncatedL3                 // shorter than the fixed IP/ARP header or its IHL
	DecodeBadIPVersion                // IP version field disagrees with the EtherType
	DecodeBadIPHeaderLen              // IPv4 IHL < 5
	DecodeBadIPLength                 // IP total/payload length inconsistent with the frame
	DecodeExtHeaderLimit              // more than MaxIPv6ExtHeaders extension headers
	DecodeBadExtHeader                // extension header misplaced, repeated or overrunning
	DecodeTruncatedL4                 // L4 header does not fit in the IP payload
	DecodeBadTCPHeader                // TCP Data Offset < 5
	DecodeBadUDPLength                // UDP Length < 8 or beyond the IP payload
	DecodeBadGRE                      // GRE version != 0, RFC 1701 bits, or header overrun
	DecodeBadARP                      // ARP not Ethernet/IPv4

	// NumDecodeStatus is the number of DecodeStatus values, for sizing
	// per-status counter arrays.
	NumDecodeStatus = iota
)

var decodeStatusNames = [NumDecodeStatus]string{
	"ok",
	"truncated_l2",
	"bad_vlan",
	"truncated_l3",
	"bad_ip_version",
	"bad_ip_header_len",
	"bad_ip_length",
	"ext_header_limit",
	"bad_ext_header",
	"truncated_l4",
	"bad_tcp_header",
	"bad_udp_length",
	"bad_gre",
	"bad_arp",
}

// String returns the lower_snake name of s, used as a counter label.
func (s DecodeStatus) String() string {
	if int(s) < len(decodeStatusNames) {
		return decodeStatusNames[s]
	}
	return "unknown"
}

// MaxVLANTags is the number of VLAN tags Decode skips: an 802.1ad service
// tag and an 802.1Q customer tag.
const MaxVLANTags = 2

// Parsed is the decode-once summary of a frame. Decode fills it in one pass
// without allocating; stages read it and must not keep it past the packet.
// Offsets are relative to the frame passed to Decode.
type Parsed struct {
	Status    DecodeStatus
	EtherType uint16 // after VLAN tags
	VLANs     uint8  // number of tags skipped (max 2: 802.1ad + 802.1Q)
	VLANID    uint16 // innermost VID, 0 if none
	L3Off     int    // offset of the IP/ARP header in the frame
	// L3Len is the IP total length (v4 TotalLength, v6 40+PayloadLength;
	// ARPSize for ARP): bytes beyond L3Off+L3Len are Ethernet padding.
	L3Len     int
	IPVersion uint8 // 4, 6 or 0 (ARP/other)
	Proto     uint8 // upper-layer protocol after extension headers
	// L4Off is the offset of the L4 header in the frame; 0 if there is
	// none (a non-first fragment, or decoding stopped before L4).
	L4Off int
	// Src and Dst hold IPv4 addresses in the first 4 bytes (not
	// v4-mapped) and IPv6 addresses whole. For ARP they hold the sender
	// and target protocol addresses.
	Src, Dst [16]byte
	// SrcPort and DstPort are the TCP/UDP ports; for ICMP echo both hold
	// the Identifier, which NAT treats as the port (RFC 5508 §3.1).
	SrcPort, DstPort   uint16
	TCPFlags           uint8
	ICMPType, ICMPCode uint8
	TTL                uint8  // TTL or hop limit
	Frag               bool   // v4 MF or offset != 0; v6 Fragment header present
	FragOff            uint16 // fragment offset in bytes
	MoreFrags          bool
	FragID             uint32
	FragHdrOff         int    // v6: frame offset of the Fragment header, else 0
	GREKey             uint32 // if Proto == ProtoGRE and L4 decoded: the key
	GREHasKey          bool
	GREHasChecksum     bool   // the C bit: the header holds a checksum
	GREProto           uint16 // inner protocol (EtherType) of GRE
	GREHdrLen          int
}

// Src4 returns the IPv4 source address (the first 4 bytes of Src).
func (p *Parsed) Src4() [4]byte { return [4]byte(p.Src[:4]) }

// Dst4 returns the IPv4 destination address (the first 4 bytes of Dst).
func (p *Parsed) Dst4() [4]byte { return [4]byte(p.Dst[:4]) }

// IsFirstFragmentOrWhole reports whether the packet carries its L4 header:
// it is not a fragment, or it is the fragment at offset 0.
func (p *Parsed) IsFirstFragmentOrWhole() bool { return !p.Frag || p.FragOff == 0 }

// Decode parses frame from its Ethernet header. It never panics and never
// allocates; on a malformed frame Status names the problem and the fields
// for the layers already decoded stay filled in. An EtherType other than
// IPv4, IPv6 or ARP is DecodeOK with IPVersion 0. The IPv4 header checksum
// is not verified.
func (p *Parsed) Decode(frame []byte) { p.DecodeL2(frame, 0) }

// DecodeL2 is Decode for an Ethernet header at frame[off:], as found after a
// GRE header with protocol EtherTypeTEB; offsets stay relative to frame.
func (p *Parsed) DecodeL2(frame []byte, off int) {
	*p = Parsed{}
	if off < 0 || len(frame)-off < EthernetSize {
		p.Status = DecodeTruncatedL2
		return
	}
	et := Ethernet(frame[off:]).EtherType()
	off += EthernetSize
	// An untagged IPv4 frame, nearly every frame, skips the VLAN loop's
	// test.
	if et != EtherTypeIPv4 {
		// IEEE 802.1ad: an S-tag (0x88a8) outside a C-tag (0x8100).
		// Some networks stack two 0x8100 tags instead, which is
		// accepted too.
		for et == EtherTypeVLAN || et == EtherTypeQinQ {
			if p.VLANs == MaxVLANTags {
				p.Status = DecodeBadVLAN
				return
			}
			if len(frame)-off < VLANSize {
				p.Status = DecodeTruncatedL2
				return
			}
			v := VLAN(frame[off:])
			p.VLANs++
			p.VLANID = v.VID()
			et = v.EtherType()
			off += VLANSize
		}
		if et != EtherTypeIPv4 {
			p.decodeL3(frame, off, et)
			return
		}
	}
	// What decodeL3 would do, without its call (len(frame)-off >= 0 was
	// checked above).
	p.EtherType = EtherTypeIPv4
	p.L3Off = off
	p.decodeIPv4(frame, off)
}

// DecodeL3 parses frame from an L3 header at off whose type is etherType,
// as found after GRE decapsulation. It overwrites all of p: VLAN fields are
// zero and L3Off is off.
func (p *Parsed) DecodeL3(frame []byte, off int, etherType uint16) {
	*p = Parsed{}
	if etherType == EtherTypeIPv4 && off >= 0 && off <= len(frame) {
		// decodeL3 without its call, for the inner packet of a tunnel.
		p.EtherType = etherType
		p.L3Off = off
		p.decodeIPv4(frame, off)
		return
	}
	p.decodeL3(frame, off, etherType)
}

func (p *Parsed) decodeL3(frame []byte, off int, et uint16) {
	p.EtherType = et
	p.L3Off = off
	if off < 0 || off > len(frame) {
		p.Status = DecodeTruncatedL3
		return
	}
	switch et {
	case EtherTypeIPv4:
		p.decodeIPv4(frame, off)
	case EtherTypeIPv6:
		p.decodeIPv6(frame, off)
	case EtherTypeARP:
		a := ARP(frame[off:])
		if len(a) < ARPSize {
			p.Status = DecodeTruncatedL3
			return
		}
		if !a.IsValid() {
			p.Status = DecodeBadARP
			return
		}
		p.L3Len = ARPSize
		copy(p.Src[:4], a[arpSPA:arpSPA+4])
		copy(p.Dst[:4], a[arpTPA:arpTPA+4])
	}
}

// decodeIPv4 decodes the IPv4 packet at frame[off:] into p, which is zero
// but for EtherType and L3Off (every caller clears it first): fields whose
// value is zero are not stored.
func (p *Parsed) decodeIPv4(frame []byte, off int) {
	ip := IPv4(frame[off:])
	if len(ip) < IPv4MinSize {
		p.Status = DecodeTruncatedL3
		return
	}
	// The fixed header as an array: its fields are read without a bounds
	// check each, and the addresses are copied as words (copy would test
	// for overlap first).
	h := (*[IPv4MinSize]byte)(ip)
	vihl := h[ipv4VersIHL]
	// Version 4 and IHL >= 5 is 0x45 <= vihl <= 0x4f: one compare on
	// the way of every packet, the two statuses told apart off it.
	if vihl-0x45 > 0x4f-0x45 {
		if vihl>>4 != IPv4Version {
			p.Status = DecodeBadIPVersion
			return
		}
		p.IPVersion = 4
		p.Status = DecodeBadIPHeaderLen
		return
	}
	p.IPVersion = 4
	hl := int(vihl&0x0f) * 4
	if hl > len(ip) {
		p.Status = DecodeTruncatedL3
		return
	}
	tl := int(binary.BigEndian.Uint16(h[ipv4TotalLen:]))
	if tl < hl || tl > len(ip) {
		p.Status = DecodeBadIPLength
		return
	}
	p.L3Len = tl
	// In locals: p's fields, once stored, would be loaded back to test.
	proto := h[ipv4Protocol]
	p.Proto = proto
	p.TTL = h[ipv4TTL]
	binary.LittleEndian.PutUint32(p.Src[:4], binary.LittleEndian.Uint32(h[ipv4Src:]))
	binary.LittleEndian.PutUint32(p.Dst[:4], binary.LittleEndian.Uint32(h[ipv4Dst:]))
	// A whole packet (MF clear, offset 0) leaves the fragment fields
	// zero: one test.
	if ff := binary.BigEndian.Uint16(h[ipv4FlagsFrag:]); ff&(IPv4FlagMF<<ipv4FlagsShift|ipv4FragOffMask) != 0 {
		fragOff := (ff & ipv4FragOffMask) * 8
		p.FragOff = fragOff
		p.MoreFrags = ff&(IPv4FlagMF<<ipv4FlagsShift) != 0
		p.Frag = true
		p.FragID = uint32(binary.BigEndian.Uint16(h[ipv4ID:]))
		if fragOff != 0 {
			// RFC 791: only the fragment at offset 0 carries the L4 header.
			return
		}
	}
	if proto == ProtoTCP {
		// decodeL4 without its call for the most common payload.
		p.L4Off = off + hl
		p.decodeTCP(ip[hl:tl])
		return
	}
	p.decodeL4(frame, off+hl, off+tl)
}

func (p *Parsed) decodeIPv6(frame []byte, off int) {
	ip := IPv6(frame[off:])
	if len(ip) < IPv6Size {
		p.Status = DecodeTruncatedL3
		return
	}
	if ip.Version() != IPv6Version {
		p.Status = DecodeBadIPVersion
		return
	}
	p.IPVersion = 6
	pl := int(ip.PayloadLength())
	if IPv6Size+pl > len(ip) {
		p.Status = DecodeBadIPLength
		return
	}
	p.L3Len = IPv6Size + pl
	p.TTL = ip.HopLimit()
	// The fixed header as an array: the addresses are copied as array
	// values, two 16-byte moves each, where copy called memmove.
	h := (*[IPv6Size]byte)(ip)
	p.Src = [16]byte(h[ipv6Src : ipv6Src+16])
	p.Dst = [16]byte(h[ipv6Dst : ipv6Dst+16])
	payload := ip[IPv6Size : IPv6Size+pl]
	proto, l4, frag, st := WalkIPv6Ext(payload, ip.NextHeader())
	p.Proto = proto
	if frag >= 0 {
		f := IPv6Fragment(payload[frag:])
		p.Frag = true
		p.FragHdrOff = off + IPv6Size + frag
		p.FragOff = f.FragmentOffset()
		p.MoreFrags = f.More()
		p.FragID = f.ID()
	}
	if st != DecodeOK {
		p.Status = st
		return
	}
	if p.FragOff != 0 {
		// RFC 8200 §4.5: the upper-layer header is in the first fragment.
		return
	}
	p.decodeL4(frame, off+IPv6Size+l4, off+p.L3Len)
}

// decodeTCP decodes the TCP header at the start of seg, the IP payload. It
// is inlined where it is called, decodeIPv4's TCP case among them.
func (p *Parsed) decodeTCP(seg []byte) {
	if len(seg) < TCPMinSize {
		p.Status = DecodeTruncatedL4
		return
	}
	t := (*[TCPMinSize]byte)(seg)
	do := int(t[tcpDataOffset]>>4) * 4
	if do < TCPMinSize {
		p.Status = DecodeBadTCPHeader
		return
	}
	if do > len(seg) {
		p.Status = DecodeTruncatedL4
		return
	}
	p.SrcPort = binary.BigEndian.Uint16(t[tcpSrcPort:])
	p.DstPort = binary.BigEndian.Uint16(t[tcpDstPort:])
	p.TCPFlags = t[tcpFlags]
}

// decodeL4 decodes the upper-layer header at frame[off:end], where end is
// the end of the IP packet.
func (p *Parsed) decodeL4(frame []byte, off, end int) {
	p.L4Off = off
	seg := frame[off:end]
	switch p.Proto {
	case ProtoTCP:
		p.decodeTCP(seg)
	case ProtoUDP:
		if len(seg) < UDPSize {
			p.Status = DecodeTruncatedL4
			return
		}
		u := UDP(seg)
		p.SrcPort = u.SrcPort()
		p.DstPort = u.DstPort()
		// A first fragment holds only part of the datagram Length covers.
		if l := int(u.Length()); l < UDPSize || (l > len(seg) && !p.MoreFrags) {
			p.Status = DecodeBadUDPLength
		}
	case ProtoICMP, ProtoICMPv6:
		// ICMPv4 in IPv6 or ICMPv6 in IPv4 is not a message we parse.
		if (p.Proto == ProtoICMP) != (p.IPVersion == 4) {
			return
		}
		if len(seg) < ICMPv4MinSize {
			p.Status = DecodeTruncatedL4
			return
		}
		p.ICMPType = seg[icmpType]
		p.ICMPCode = seg[icmpCode]
		switch {
		case p.Proto == ProtoICMP && (p.ICMPType == ICMPv4Echo || p.ICMPType == ICMPv4EchoReply),
			p.Proto == ProtoICMPv6 && (p.ICMPType == ICMPv6EchoRequest || p.ICMPType == ICMPv6EchoReply):
			id := binary.BigEndian.Uint16(seg[icmpIdent:])
			p.SrcPort, p.DstPort = id, id
		}
	case ProtoGRE:
		if len(seg) < GREMinSize {
			p.Status = DecodeTruncatedL4
			return
		}
		// GRE.IsValid, HeaderLength and Key in one pass over the flags
		// (every packet from a tenant comes through here).
		g := (*[GREMinSize]byte)(seg)
		f := g[greFlags]
		if g[greVersion]&greVerMask != 0 || f&(greFlagR|greFlagSSR|greFlagRecurTop) != 0 {
			p.Status = DecodeBadGRE
			return
		}
		hl := GREMinSize
		if f&greFlagC != 0 {
			hl += 4
		}
		key := hl // the key follows the checksum word, if any
		if f&greFlagK != 0 {
			hl += 4
		}
		if f&greFlagS != 0 {
			hl += 4
		}
		if hl > len(seg) {
			p.Status = DecodeBadGRE
			return
		}
		p.GREProto = binary.BigEndian.Uint16(g[greProtocol:])
		p.GREHasChecksum = f&greFlagC != 0
		if f&greFlagK != 0 {
			p.GREHasKey = true
			p.GREKey = binary.BigEndian.Uint32(seg[key:])
		}
		p.GREHdrLen = hl
	}
}
