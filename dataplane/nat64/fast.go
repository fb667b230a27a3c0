package nat64

import (
	"encoding/binary"
	"math/bits"

	"xdpgw/dataplane/packet"
)

// The common case of an established session is a TCP or UDP packet with no
// IPv6 extension header or IPv4 option, not a fragment, that fits the next
// hop's MTU. V6ToV4 and V4ToV6 translate it here first, writing the new
// header through a fixed-size view with its checksum summed from the
// fields, instead of walking extension headers and filling an
// IPv4Fields/IPv6Fields passed by value; anything else returns false before
// writing and takes the general path, which gives the same bytes (the
// differential and corpus tests run both).

// v6ToV4Fast is V6ToV4 for that case (RFC 7915 §5.1 without a Fragment
// header: ID = a.ID, DF set iff the packet exceeds 1260 bytes). ip is the
// validated IPv6 header onwards, at absolute offset l3 of f.Buf. It calls
// nothing on the way (each call spills every live register), and sums
// addresses as big-endian 32-bit words: a folded one's complement sum of
// non-zero data has one representation, so the checksums are the bytes
// the general path writes.
func v6ToV4Fast(f *Frame, p *packet.Parsed, a *Addrs, c *Config, l3 int, ip packet.IPv6) bool {
	h6 := (*[packet.IPv6Size]byte)(ip)
	proto := h6[6]
	pl := int(binary.BigEndian.Uint16(h6[4:6]))
	switch {
	case proto == packet.ProtoTCP && pl >= packet.TCPMinSize:
	case proto == packet.ProtoUDP && pl >= packet.UDPSize:
	default:
		return false
	}
	total := packet.IPv4MinSize + pl
	if total > c.mtu4() || packet.IPv6Size+pl > len(ip) {
		return false // ResultPacketTooBig, or malformed: the general path says which
	}
	src4, dst4 := binary.BigEndian.Uint32(a.Src4[:]), binary.BigEndian.Uint32(a.Dst4[:])
	// l4Fix's arithmetic on a whole header, inline, each side's sum
	// folded once: folding a sum of folded sums gives what folding the
	// whole does.
	be := binary.BigEndian
	seg := ip[packet.IPv6Size : packet.IPv6Size+pl]
	ph := (*[8]byte)(seg)
	oldSum := fold(uint64(be.Uint32(h6[8:12])) + uint64(be.Uint32(h6[12:16])) + uint64(be.Uint32(h6[16:20])) + uint64(be.Uint32(h6[20:24])) +
		uint64(be.Uint32(h6[24:28])) + uint64(be.Uint32(h6[28:32])) + uint64(be.Uint32(h6[32:36])) + uint64(be.Uint32(h6[36:40])) +
		uint64(be.Uint32(ph[0:4])))
	newSum := fold(uint64(src4) + uint64(dst4) + uint64(a.SrcPort) + uint64(a.DstPort))
	be.PutUint16(ph[0:2], a.SrcPort)
	be.PutUint16(ph[2:4], a.DstPort)
	l4Checksum(proto, seg, oldSum, newSum)
	tos := c.tos(uint8(binary.BigEndian.Uint16(h6[0:2]) >> 4))
	w2 := uint32(h6[7])<<24 | uint32(proto)<<16 // TTL = Hop Limit, Protocol

	newL3 := l3 + packet.IPv6Size - packet.IPv4MinSize
	newOff := newL3 - p.L3Off
	buf := f.Buf
	if p.L3Off == packet.EthernetSize {
		moveEthUp(buf, f.Off, packet.EtherTypeIPv4) // to newOff = f.Off + 20
	} else {
		moveL2(buf, f.Off, newOff, p.L3Off, packet.EtherTypeIPv4)
	}
	var flags uint32
	if total > dfThreshold {
		flags = uint32(packet.IPv4FlagDF) << 13
	}
	w0 := 0x45<<24 | uint32(tos)<<16 | uint32(total)
	w1 := uint32(a.ID)<<16 | flags
	// RFC 791 header checksum: the one's complement sum of the ten 16-bit
	// words, the checksum word taken as zero.
	hs := fold(uint64(w0) + uint64(w1) + uint64(w2) + uint64(src4) + uint64(dst4))
	h := (*[packet.IPv4MinSize]byte)(buf[newL3:])
	binary.BigEndian.PutUint32(h[0:4], w0)
	binary.BigEndian.PutUint32(h[4:8], w1)
	binary.BigEndian.PutUint32(h[8:12], w2|uint32(^hs))
	binary.BigEndian.PutUint32(h[12:16], src4)
	binary.BigEndian.PutUint32(h[16:20], dst4)
	f.Off = newOff
	f.Len = p.L3Off + total
	return true
}

// v4ToV6Fast is V4ToV6 for that case (RFC 7915 §4.1: no Fragment header
// for a non-fragment that fits MTU6; Flow Label 0), with the header
// checksum verified by the caller (Config.IPv4HeaderChecked). ip is the
// validated IPv4 header onwards, at absolute offset l3 of f.Buf. A zero
// UDP checksum is left to the general path, which computes one (§4.5).
func v4ToV6Fast(f *Frame, p *packet.Parsed, a *Addrs, c *Config, l3 int, ip packet.IPv4) bool {
	h4 := (*[packet.IPv4MinSize]byte)(ip)
	tl := int(binary.BigEndian.Uint16(h4[2:4]))
	// IHL 5 (no options), MF clear and offset 0 (not a fragment).
	if h4[0] != 0x45 || binary.BigEndian.Uint16(h4[6:8])&0x3fff != 0 || c == nil || !c.IPv4HeaderChecked ||
		tl < packet.IPv4MinSize || tl > len(ip) {
		return false
	}
	proto := h4[9]
	seg := ip[packet.IPv4MinSize:tl]
	switch {
	case proto == packet.ProtoTCP && len(seg) >= packet.TCPMinSize:
	case proto == packet.ProtoUDP && len(seg) >= packet.UDPSize && binary.BigEndian.Uint16(seg[6:8]) != 0:
	default:
		return false
	}
	newL3 := l3 + packet.IPv4MinSize - packet.IPv6Size
	newOff := newL3 - p.L3Off
	if packet.IPv6Size+len(seg) > c.mtu6() || newOff < 0 {
		return false // ResultFragNeeded, fragmentation or ResultNoHeadroom
	}
	// l4Fix's arithmetic on a whole header, inline, each side's sum
	// folded once (see v6ToV4Fast).
	be := binary.BigEndian
	x, y := &a.Src6, &a.Dst6
	ph := (*[8]byte)(seg)
	oldSum := fold(uint64(be.Uint32(h4[12:16])) + uint64(be.Uint32(h4[16:20])) + uint64(be.Uint32(ph[0:4])))
	newSum := fold(uint64(be.Uint32(x[0:4])) + uint64(be.Uint32(x[4:8])) + uint64(be.Uint32(x[8:12])) + uint64(be.Uint32(x[12:16])) +
		uint64(be.Uint32(y[0:4])) + uint64(be.Uint32(y[4:8])) + uint64(be.Uint32(y[8:12])) + uint64(be.Uint32(y[12:16])) +
		uint64(a.SrcPort) + uint64(a.DstPort))
	be.PutUint16(ph[0:2], a.SrcPort)
	be.PutUint16(ph[2:4], a.DstPort)
	l4Checksum(proto, seg, oldSum, newSum)
	w0 := uint32(packet.IPv6Version)<<28 | uint32(c.tos(h4[1]))<<20
	w1 := uint32(len(seg))<<16 | uint32(proto)<<8 | uint32(h4[8]) // Next Header, Hop Limit = TTL
	buf := f.Buf
	if p.L3Off == packet.EthernetSize {
		moveEthDown(buf, newOff, packet.EtherTypeIPv6) // from f.Off = newOff + 20
	} else {
		moveL2(buf, f.Off, newOff, p.L3Off, packet.EtherTypeIPv6)
	}
	h := (*[packet.IPv6Size]byte)(buf[newL3:])
	binary.BigEndian.PutUint32(h[0:4], w0)
	binary.BigEndian.PutUint32(h[4:8], w1)
	*(*[16]byte)(h[8:24]) = a.Src6
	*(*[16]byte)(h[24:40]) = a.Dst6
	f.Off = newOff
	f.Len = p.L3Off + packet.IPv6Size + len(seg)
	return true
}

// fold is the folded 16-bit one's complement sum of the 16-bit words
// summed into s (RFC 1071). Each half is added to the other with its
// end-around carry by one add of the word and its rotation (Linux's
// csum_fold): the high half of s + rot(s) is hi + lo + carry(hi + lo).
// Two rotations instead of four shift-mask-add folds, same result (zero
// only for s == 0, otherwise the value in 1..0xffff congruent to s modulo
// 0xffff); 2-3 folds a translated packet.
func fold(s uint64) uint16 {
	t := uint32((s + bits.RotateLeft64(s, 32)) >> 32)
	return uint16((t + bits.RotateLeft32(t, 16)) >> 16)
}

// l4Checksum updates the checksum of a whole TCP or UDP header (seg
// holds at least 20 or 8 bytes) for covered data whose sum went from
// oldSum to newSum, as l4Fix does: a zero UDP checksum is left alone
// (V6ToV4 keeps it; V4ToV6 does not come here with one).
func l4Checksum(proto uint8, seg []byte, oldSum, newSum uint16) {
	if proto == packet.ProtoTCP {
		c := (*[2]byte)(seg[16:18])
		binary.BigEndian.PutUint16(c[:], adjust(binary.BigEndian.Uint16(c[:]), oldSum, newSum))
		return
	}
	c := (*[2]byte)(seg[6:8])
	if v := binary.BigEndian.Uint16(c[:]); v != 0 {
		if v = adjust(v, oldSum, newSum); v == 0 {
			v = 0xffff // RFC 768: a computed zero is sent as all ones
		}
		binary.BigEndian.PutUint16(c[:], v)
	}
}

// ethSpan is an untagged Ethernet header and the 20 bytes the fast paths
// move it by (an IPv6 header without extensions against an IPv4 header
// without options).
type ethSpan = [packet.EthernetSize + packet.IPv6Size - packet.IPv4MinSize]byte

// moveEthUp and moveEthDown are moveL2 for an untagged Ethernet header
// moved by exactly 20 bytes, up (V6ToV4) or down (V4ToV6), from or to
// buf[off:]: one bounds check for both places (two conversions cost 26
// instructions a packet), two overlapping 8-byte words, the EtherType.
func moveEthUp(buf []byte, off int, etherType uint16) {
	w := (*ethSpan)(buf[off:])
	moveEth((*[packet.EthernetSize]byte)(w[0:]), (*[packet.EthernetSize]byte)(w[len(w)-packet.EthernetSize:]), etherType)
}

func moveEthDown(buf []byte, off int, etherType uint16) {
	w := (*ethSpan)(buf[off:])
	moveEth((*[packet.EthernetSize]byte)(w[len(w)-packet.EthernetSize:]), (*[packet.EthernetSize]byte)(w[0:]), etherType)
}

func moveEth(src, dst *[packet.EthernetSize]byte, etherType uint16) {
	lo, hi := binary.LittleEndian.Uint64(src[0:8]), binary.LittleEndian.Uint64(src[6:14])
	binary.LittleEndian.PutUint64(dst[0:8], lo)
	binary.LittleEndian.PutUint64(dst[6:14], hi)
	binary.BigEndian.PutUint16(dst[12:14], etherType)
}
