package main

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// Packet building by hand, byte by byte: the corpus needs what a packet
// library tends to fix up (zero UDP checksums, extension headers in any
// order, fragments of a checksummed datagram, bad header checksums).

const (
	protoHBH   = 0
	protoICMP  = 1
	protoTCP   = 6
	protoUDP   = 17
	protoRH    = 43
	protoFrag  = 44
	protoICMP6 = 58
	protoNone  = 59
	protoDst   = 60
	protoSCTP  = 132

	etIPv4 = 0x0800
	etIPv6 = 0x86dd
)

func sum(b []byte, s uint32) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// csum is the Internet checksum of b with the initial sum s.
func csum(b []byte, s uint32) uint16 { return ^fold(sum(b, s)) }

func pseudo6(src, dst netip.Addr, proto uint8, n int) uint32 {
	a, b := src.As16(), dst.As16()
	return sum(a[:], sum(b[:], uint32(n)+uint32(proto)))
}

func pseudo4(src, dst netip.Addr, proto uint8, n int) uint32 {
	a, b := src.As4(), dst.As4()
	return sum(a[:], sum(b[:], uint32(n)+uint32(proto)))
}

func put16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }
func put32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }
func be16(b []byte) uint16     { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32     { return binary.BigEndian.Uint32(b) }

// udpSeg is a UDP header and payload with a zero checksum.
func udpSeg(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	put16(b, sport)
	put16(b[2:], dport)
	put16(b[4:], uint16(len(b)))
	copy(b[8:], payload)
	return b
}

const (
	finF = 0x01
	synF = 0x02
	rstF = 0x04
	pshF = 0x08
	ackF = 0x10
)

// tcpSeg is a TCP header (with options, padded to 4 bytes) and payload,
// checksum zero.
func tcpSeg(sport, dport uint16, seq, ack uint32, flags uint8, opts, payload []byte) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	h := 20 + len(opts)
	b := make([]byte, h+len(payload))
	put16(b, sport)
	put16(b[2:], dport)
	put32(b[4:], seq)
	put32(b[8:], ack)
	b[12] = uint8(h/4) << 4
	b[13] = flags
	put16(b[14:], 64240)
	copy(b[20:], opts)
	copy(b[h:], payload)
	return b
}

// synOpts are a Linux SYN's options: MSS, SACK permitted, timestamps,
// window scale.
var synOpts = []byte{2, 4, 0x05, 0xa0, 4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 3, 3, 7}

// echoSeg is an ICMP or ICMPv6 echo message (type t), checksum zero.
func echoSeg(t uint8, id, seq uint16, payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	b[0] = t
	put16(b[4:], id)
	put16(b[6:], seq)
	copy(b[8:], payload)
	return b
}

// errSeg is an ICMP or ICMPv6 error (type, code, second word) quoting q,
// checksum zero.
func errSeg(t, code uint8, rest uint32, q []byte) []byte {
	b := make([]byte, 8+len(q))
	b[0], b[1] = t, code
	put32(b[4:], rest)
	copy(b[8:], q)
	return b
}

// fixL4 sets the checksum of a whole transport segment for the given
// pseudo-header sum (0 for ICMPv4). A UDP checksum of 0 is sent as 0xffff.
func fixL4(proto uint8, seg []byte, ps uint32) {
	var at int
	switch proto {
	case protoTCP:
		at = 16
	case protoUDP:
		at = 6
	case protoICMP, protoICMP6:
		at = 2
	default:
		return
	}
	put16(seg[at:], 0)
	c := csum(seg, ps)
	if proto == protoUDP && c == 0 {
		c = 0xffff
	}
	put16(seg[at:], c)
}

// ext is an IPv6 extension header: its type and its bytes, whose first
// byte (Next Header) is filled in when the chain is built.
type ext struct {
	typ  uint8
	body []byte
}

func hbhPadN() ext { return ext{protoHBH, []byte{0, 0, 1, 4, 0, 0, 0, 0}} }
func dstPadN() ext { return ext{protoDst, []byte{0, 0, 1, 4, 0, 0, 0, 0}} }
func fragExt(off uint16, more bool, id uint32) ext {
	b := make([]byte, 8)
	v := off &^ 7
	if more {
		v |= 1
	}
	put16(b[2:], v)
	put32(b[4:], id)
	return ext{protoFrag, b}
}

// rh0 is a type-0 Routing header with one address and segsLeft left.
func rh0(segsLeft uint8, addr netip.Addr) ext {
	b := make([]byte, 24)
	b[1] = 2
	b[2] = 0
	b[3] = segsLeft
	a := addr.As16()
	copy(b[8:], a[:])
	return ext{protoRH, b}
}

type v6hdr struct {
	src, dst netip.Addr
	hl       uint8
	tc       uint8
	flow     uint32
}

// ipv6 builds an IPv6 packet: header, extension chain, then the upper
// layer proto with bytes seg (already checksummed).
func ipv6(h v6hdr, chain []ext, proto uint8, seg []byte) []byte {
	var exts []byte
	for i, e := range chain {
		b := append([]byte(nil), e.body...)
		if i+1 < len(chain) {
			b[0] = chain[i+1].typ
		} else {
			b[0] = proto
		}
		exts = append(exts, b...)
	}
	first := proto
	if len(chain) > 0 {
		first = chain[0].typ
	}
	p := make([]byte, 40+len(exts)+len(seg))
	put32(p, 6<<28|uint32(h.tc)<<20|h.flow&0xfffff)
	put16(p[4:], uint16(len(exts)+len(seg)))
	p[6] = first
	p[7] = h.hl
	s, d := h.src.As16(), h.dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	copy(p[40:], exts)
	copy(p[40+len(exts):], seg)
	return p
}

type v4hdr struct {
	src, dst netip.Addr
	ttl, tos uint8
	id       uint16
	df, mf   bool
	off      uint16 // bytes
	opts     []byte
	badSum   bool
}

// ipv4 builds an IPv4 packet around seg.
func ipv4(h v4hdr, proto uint8, seg []byte) []byte {
	opts := append([]byte(nil), h.opts...)
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	hl := 20 + len(opts)
	p := make([]byte, hl+len(seg))
	p[0] = 0x40 | uint8(hl/4)
	p[1] = h.tos
	put16(p[2:], uint16(len(p)))
	put16(p[4:], h.id)
	fo := h.off / 8
	if h.df {
		fo |= 0x4000
	}
	if h.mf {
		fo |= 0x2000
	}
	put16(p[6:], fo)
	p[8] = h.ttl
	p[9] = proto
	s, d := h.src.As4(), h.dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	copy(p[20:], opts)
	c := csum(p[:hl], 0)
	if h.badSum {
		c ^= 0x5a5a
	}
	put16(p[10:], c)
	copy(p[hl:], seg)
	return p
}

// eth frames an IP packet.
func eth(dst, src net.HardwareAddr, et uint16, pkt []byte) []byte {
	f := make([]byte, 14+len(pkt))
	copy(f, dst)
	copy(f[6:], src)
	put16(f[12:], et)
	copy(f[14:], pkt)
	return f
}

// embed4 is prefix (a /96) with v4 in its last 32 bits.
func embed4(prefix netip.Prefix, v4 netip.Addr) netip.Addr {
	a := prefix.Addr().As16()
	b := v4.As4()
	copy(a[12:], b[:])
	return netip.AddrFrom16(a)
}

func fill(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}
