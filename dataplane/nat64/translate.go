package nat64

import (
	"encoding/binary"
	"math/bits"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

// Frame is one packet in a buffer, the same triple as pipeline.Frame: the
// packet is Buf[Off:Off+Len], the bytes before Off are headroom and the
// bytes after Off+Len tailroom. Translation moves Off and Len.
type Frame struct {
	Buf []byte
	Off int
	Len int
}

// Data is the packet itself.
func (f *Frame) Data() []byte { return f.Buf[f.Off : f.Off+f.Len] }

// Addrs holds what the stateful layer decided for one packet: the addresses
// and ports to write. The translation functions only read it.
//
// V6ToV4 writes Src4/Dst4; V4ToV6 writes Src6/Dst6. For TCP and UDP the
// source and destination ports become SrcPort and DstPort (pass the packet's
// own ports to keep them). For an ICMP echo request or reply the Identifier
// becomes SrcPort (the stateful layer sets SrcPort == DstPort, as
// Parsed.Decode reports the Identifier in both).
//
// For an ICMP error the outer header takes Src*/Dst*, and the packet it
// quotes takes the Inner* fields: addresses, ports or echo Identifier, all
// from the session the quoted packet belongs to (RFC 6146 §3.5.3).
type Addrs struct {
	Src4, Dst4       [4]byte
	Src6, Dst6       [16]byte
	SrcPort, DstPort uint16

	InnerSrc4, InnerDst4       [4]byte
	InnerSrc6, InnerDst6       [16]byte
	InnerSrcPort, InnerDstPort uint16

	// ID is the IPv4 Identification V6ToV4 writes into a packet that has
	// no Fragment header (RFC 7915 §5.1: set by the translator's
	// Identification generator; a per-worker counter is enough, RFC 6864).
	ID uint16
}

// Config is the translator's configuration. It is read-only on the hot path
// and may be shared by every worker; a nil *Config means the defaults.
type Config struct {
	// MTU6 is the IPv6 next-hop MTU, which is also RFC 7915's
	// "lowest-ipv6-mtu" (§4.1): IPv4 packets with DF clear are fragmented
	// to fit it, those with DF set get ResultFragNeeded. 0 means 1280;
	// values below 1280 are raised to 1280 (RFC 8200 §5).
	MTU6 int
	// MTU4 is the IPv4 next-hop MTU: a translated IPv6 packet larger than
	// it gets ResultPacketTooBig (RFC 7915 §5.1). 0 means 1500; values
	// below 68 are raised to 68 and values above 65535 lowered to 65535
	// (RFC 791: Total Length is 16 bits).
	MTU4 int
	// ZeroTrafficClass writes 0 into the IPv4 TOS and IPv6 Traffic Class
	// instead of copying them (the option RFC 7915 §4.1 and §5.1 offer
	// for networks whose DSCP policies differ).
	ZeroTrafficClass bool
	// IPv4HeaderChecked says the caller has verified the IPv4 header
	// checksum of the packet it gives V4ToV6 (the data plane does so on
	// receipt, and keeps it valid through the TTL decrement): V4ToV6
	// then does not verify it a second time. Without it a bad checksum is
	// ResultBadChecksum (also with a nil Config).
	IPv4HeaderChecked bool
}

// Protocol constants used below.
const (
	minMTU6     = 1280 // RFC 8200 §5
	defaultMTU4 = 1500
	minMTU4     = 68    // RFC 791
	maxMTU4     = 65535 // RFC 791: Total Length is 16 bits

	// dfThreshold: RFC 7915 §5 says an IPv4 packet translated from IPv6
	// (without a Fragment header) is sent with DF clear when it is at most
	// 1260 bytes, DF set otherwise, so that the IPv6 sender learns of
	// IPv4 MTUs down to 1260 + 20 = 1280 through Packet Too Big.
	dfThreshold = 1260

	// icmp6ErrMax: RFC 4443 §2.4(c): an ICMPv6 error holds as much of the
	// offending packet as fits in the minimum IPv6 MTU.
	icmp6ErrMax = minMTU6
	// icmp4ErrMax: RFC 1812 §4.3.2.3: at most 576 bytes.
	icmp4ErrMax = 576
)

func (c *Config) mtu6() int {
	if c == nil || c.MTU6 < minMTU6 {
		return minMTU6
	}
	return c.MTU6
}

func (c *Config) mtu4() int {
	switch {
	case c == nil || c.MTU4 == 0:
		return defaultMTU4
	case c.MTU4 < minMTU4:
		return minMTU4
	case c.MTU4 > maxMTU4:
		return maxMTU4
	}
	return c.MTU4
}

func (c *Config) tos(v uint8) uint8 {
	if c != nil && c.ZeroTrafficClass {
		return 0
	}
	return v
}

// frameL3 checks f and p against each other and returns the absolute offset
// of the IP header and the end of the frame.
func frameL3(f *Frame, p *packet.Parsed, version uint8) (l3, end int, ok bool) {
	if p.Status != packet.DecodeOK || p.IPVersion != version {
		return 0, 0, false
	}
	// Unsigned: a negative Off or Len wraps above any length, so two
	// compares do the four tests (0 <= Off <= len, 0 <= Len <= len-Off).
	if uint(f.Off) > uint(len(f.Buf)) || uint(f.Len) > uint(len(f.Buf)-f.Off) {
		return 0, 0, false
	}
	// The EtherType sits in the two bytes before the IP header (Ethernet
	// or innermost VLAN tag); the translation rewrites it.
	if p.L3Off < 2 || p.L3Off > f.Len {
		return 0, 0, false
	}
	return f.Off + p.L3Off, f.Off + f.Len, true
}

// moveL2 copies the link-layer header (n bytes, VLAN tags included) from
// buf[from:] to buf[to:] and sets its EtherType. copy is a memmove, so the
// ranges may overlap. An untagged Ethernet header moved by at least its own
// length (every translation moves it by 20 or more) is copied as two
// overlapping 8-byte words: the MACs, the only bytes kept, are the first 12
// (a call to memmove for 14 bytes cost about 30 instructions a packet).
func moveL2(buf []byte, from, to, n int, etherType uint16) {
	if n == packet.EthernetSize && (to-from >= n || from-to >= n) {
		moveEth((*[packet.EthernetSize]byte)(buf[from:]), (*[packet.EthernetSize]byte)(buf[to:]), etherType)
		return
	}
	copy(buf[to:to+n], buf[from:from+n])
	binary.BigEndian.PutUint16(buf[to+n-2:], etherType)
}

// Checksum arithmetic. Sums are folded 16-bit one's complement sums, not
// complemented; adjust applies a change of covered data to a stored
// checksum with RFC 1624 eq. 3, the form checksum.Update16 uses.

func adjust(csum, oldSum, newSum uint16) uint16 {
	s := uint32(^csum) + uint32(^oldSum) + uint32(newSum)
	s = (s >> 16) + (s & 0xffff)
	s += s >> 16
	return ^uint16(s)
}

func add(a, b uint16) uint16 { return checksum.Combine(a, b) }

func sum4(a, b [4]byte) uint16 {
	s := uint32(binary.BigEndian.Uint16(a[0:])) + uint32(binary.BigEndian.Uint16(a[2:])) +
		uint32(binary.BigEndian.Uint16(b[0:])) + uint32(binary.BigEndian.Uint16(b[2:]))
	s = (s >> 16) + (s & 0xffff)
	s += s >> 16
	return uint16(s)
}

// sum16 is the folded sum of two IPv6 addresses. It adds them as 64-bit
// words in the machine's (little-endian) order with end-around carries and
// swaps the bytes of the result: the one's complement sum does not depend
// on byte order except for that swap (RFC 1071 2(B)). Four loads instead of
// eight big-endian 32-bit ones.
func sum16(a, b *[16]byte) uint16 {
	s, c := bits.Add64(binary.LittleEndian.Uint64(a[0:8]), binary.LittleEndian.Uint64(a[8:16]), 0)
	s, c2 := bits.Add64(s, binary.LittleEndian.Uint64(b[0:8]), 0)
	s, c3 := bits.Add64(s, binary.LittleEndian.Uint64(b[8:16]), 0)
	// Each carry out of bit 63 is worth 2^64 = 1 (mod 2^16-1).
	s, c4 := bits.Add64(s, c+c2+c3, 0)
	s += c4 // s+c4 cannot carry again: s is at most 2 after a carry out
	t := (s >> 32) + (s & 0xffffffff)
	t = (t >> 16) + (t & 0xffff)
	t = (t >> 16) + (t & 0xffff)
	t = (t >> 16) + (t & 0xffff)
	return bits.ReverseBytes16(uint16(t))
}

func be16(b []byte) uint16     { return binary.BigEndian.Uint16(b) }
func put16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }

// l4Fix rewrites the ports of a TCP or UDP header (seg holds at least the
// ports, maybe not the checksum: the quoted packet in an ICMP error may be
// cut anywhere) and updates its checksum for the port change and for the
// pseudo-header address change from oldAddr to newAddr sums. It returns
// false for a UDP checksum of zero, which it leaves alone.
func l4Fix(proto uint8, seg []byte, sport, dport, oldAddr, newAddr uint16) bool {
	if len(seg) < 4 {
		return true
	}
	os, od := be16(seg[0:]), be16(seg[2:])
	put16(seg[0:], sport)
	put16(seg[2:], dport)
	oldSum := add(oldAddr, add(os, od))
	newSum := add(newAddr, add(sport, dport))
	switch proto {
	case packet.ProtoTCP:
		if len(seg) >= 18 {
			put16(seg[16:], adjust(be16(seg[16:]), oldSum, newSum))
		}
	case packet.ProtoUDP:
		if len(seg) >= 8 {
			c := be16(seg[6:])
			if c == 0 {
				return false
			}
			c = adjust(c, oldSum, newSum)
			if c == 0 {
				c = 0xffff // RFC 768: a computed zero is sent as all ones
			}
			put16(seg[6:], c)
		}
	}
	return true
}

// ext6 is the result of walking an IPv6 extension-header chain.
type ext6 struct {
	proto   uint8  // upper-layer protocol
	l4      int    // offset of the upper-layer header from the IPv6 header
	frag    int    // offset of the Fragment header, -1 if none
	fragOff uint16 // bytes
	more    bool
	fragID  uint32
	rh      int // offset of Segments Left of a Routing header with SL != 0
}

// walk6 follows the extension headers of the IPv6 packet pkt (bounded by its
// Payload Length, or cut short when it is a quoted packet). RFC 7915 §5.1:
// Hop-by-Hop, Destination Options and Routing headers with Segments Left 0
// are skipped; a Routing header with Segments Left != 0 stops translation
// unless inner (a quoted packet is not routed); the Fragment header is
// translated. Anything else (AH and ESP included) is the upper layer.
func walk6(pkt []byte, inner bool) (e ext6, r Result) {
	next := pkt[6]
	off := packet.IPv6Size
	e.frag = -1
	for n := 0; ; n++ {
		switch next {
		case packet.ProtoHopByHop, packet.ProtoDestOpts, packet.ProtoRouting, packet.ProtoFragment:
		default:
			e.proto, e.l4 = next, off
			return e, ResultOK
		}
		if n == packet.MaxIPv6ExtHeaders || (next == packet.ProtoHopByHop && n != 0) || len(pkt)-off < 8 {
			return e, ResultMalformed
		}
		h := pkt[off:]
		switch next {
		case packet.ProtoFragment:
			if e.frag >= 0 {
				return e, ResultMalformed
			}
			e.frag = off
			fo := be16(h[2:])
			e.fragOff = fo & 0xfff8
			e.more = fo&1 != 0
			e.fragID = binary.BigEndian.Uint32(h[4:])
			next = h[0]
			off += packet.IPv6FragmentSize
			if e.fragOff != 0 {
				// RFC 8200 §4.5: what follows is data, not headers.
				e.proto, e.l4 = next, off
				return e, ResultOK
			}
			continue
		case packet.ProtoRouting:
			if h[3] != 0 && !inner {
				e.rh = off + 3
				return e, ResultRoutingHeader
			}
		}
		l := (int(h[1]) + 1) * 8
		if l > len(pkt)-off {
			return e, ResultMalformed
		}
		next = h[0]
		off += l
	}
}

// RoutingHeaderPointer returns the Parameter Problem pointer for a frame
// that V6ToV4 refused with ResultRoutingHeader: the offset of the Segments
// Left field from the start of the IPv6 header (RFC 7915 §5.1). It returns
// 0 for a frame without such a header.
func RoutingHeaderPointer(frame []byte, p *packet.Parsed) uint32 {
	if p.Status != packet.DecodeOK || p.IPVersion != 6 || p.L3Off < 0 || p.L3Off > len(frame) {
		return 0
	}
	ip := packet.IPv6(frame[p.L3Off:])
	if !ip.IsValid(len(ip)) {
		return 0
	}
	e, r := walk6(ip[:packet.IPv6Size+int(ip.PayloadLength())], false)
	if r != ResultRoutingHeader {
		return 0
	}
	return uint32(e.rh)
}

// sourceRoute reports whether the IPv4 options opts hold an unexpired Loose
// or Strict Source and Record Route (RFC 791 §3.1: the route is exhausted
// when the pointer exceeds the option length).
func sourceRoute(opts []byte) bool {
	for len(opts) > 0 {
		switch t := opts[0]; t {
		case 0: // End of Option List
			return false
		case 1: // No Operation
			opts = opts[1:]
			continue
		default:
			if len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts) {
				return false // malformed options are ignored with the rest
			}
			l := int(opts[1])
			if (t == 131 || t == 137) && l >= 3 && int(opts[2]) <= l {
				return true
			}
			opts = opts[l:]
		}
	}
	return false
}

// FragID6To4 maps an IPv6 Fragment header Identification to the IPv4
// Identification of the translated fragment: its low-order 16 bits (RFC 7915
// §5.1.1). All fragments of one packet map to the same value; the stateful
// layer keys its fragment tracking on it.
func FragID6To4(id uint32) uint16 { return uint16(id) }

// FragID4To6 maps an IPv4 Identification to the Fragment header
// Identification: high-order 16 bits zero (RFC 7915 §4.1).
func FragID4To6(id uint16) uint32 { return uint32(id) }
