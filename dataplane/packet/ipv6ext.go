package packet

import "encoding/binary"

// MaxIPv6ExtHeaders bounds the extension-header chain WalkIPv6Ext follows.
// RFC 8200 §4.1 recommends an order in which each header appears at most
// once (destination options twice), so eight is above any legitimate chain;
// the bound keeps per-packet work constant against crafted chains
// (RFC 7112, RFC 9098).
const MaxIPv6ExtHeaders = 8

// IPv6ExtHeader is a generic IPv6 extension header in the TLV-length form
// shared by Hop-by-Hop Options, Routing and Destination Options
// (RFC 8200 §4.3, §4.4, §4.6):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |  Hdr Ext Len  |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	.                header-specific data (6 + 8*Hdr Ext Len)       .
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Hdr Ext Len counts 8-octet units beyond the first 8 octets. The view is
// unchecked: the caller ensures len >= 2 (len >= Length() to use Data).
type IPv6ExtHeader []byte

const (
	ipv6ExtNextHeader = 0
	ipv6ExtLen        = 1
	ipv6ExtMinSize    = 8
)

// NextHeader returns the protocol of the header that follows.
func (e IPv6ExtHeader) NextHeader() uint8 { return e[ipv6ExtNextHeader] }

// SetNextHeader sets the Next Header field.
func (e IPv6ExtHeader) SetNextHeader(v uint8) { e[ipv6ExtNextHeader] = v }

// Length returns the header length in bytes: (Hdr Ext Len + 1) * 8.
func (e IPv6ExtHeader) Length() int { return (int(e[ipv6ExtLen]) + 1) * 8 }

// AHLength returns the length in bytes if the header is an Authentication
// Header, whose Payload Len counts 4-octet units minus 2 (RFC 4302 §2.2).
func (e IPv6ExtHeader) AHLength() int { return (int(e[ipv6ExtLen]) + 2) * 4 }

// Data returns the header-specific bytes after the first two octets.
func (e IPv6ExtHeader) Data() []byte { return e[2:e.Length()] }

// IPv6Fragment is the IPv6 Fragment header (RFC 8200 §4.5):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Identification                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The view is unchecked: the caller ensures len >= IPv6FragmentSize.
type IPv6Fragment []byte

const (
	ipv6FragNextHeader = 0
	ipv6FragOffFlags   = 2
	ipv6FragID         = 4

	ipv6FragOffMask = 0xfff8 // offset in 8-octet units, already shifted by 3
	ipv6FragMore    = 0x0001
)

// NextHeader returns the protocol of the fragmentable part.
func (f IPv6Fragment) NextHeader() uint8 { return f[ipv6FragNextHeader] }

// SetNextHeader sets the Next Header field.
func (f IPv6Fragment) SetNextHeader(v uint8) { f[ipv6FragNextHeader] = v }

// FragmentOffset returns the fragment offset in bytes. The 13-bit field
// counts 8-octet units and sits 3 bits up, so masking gives bytes directly.
func (f IPv6Fragment) FragmentOffset() uint16 {
	return binary.BigEndian.Uint16(f[ipv6FragOffFlags:]) & ipv6FragOffMask
}

// More reports whether the M (more fragments) flag is set.
func (f IPv6Fragment) More() bool {
	return binary.BigEndian.Uint16(f[ipv6FragOffFlags:])&ipv6FragMore != 0
}

// ID returns the Identification field.
func (f IPv6Fragment) ID() uint32 { return binary.BigEndian.Uint32(f[ipv6FragID:]) }

// SetFragmentOffset sets the offset, given in bytes (a multiple of 8),
// keeping the M flag. Reserved bits are cleared.
func (f IPv6Fragment) SetFragmentOffset(offsetBytes uint16) {
	v := binary.BigEndian.Uint16(f[ipv6FragOffFlags:])&ipv6FragMore | offsetBytes&ipv6FragOffMask
	binary.BigEndian.PutUint16(f[ipv6FragOffFlags:], v)
}

// SetMore sets or clears the M flag, keeping the offset.
func (f IPv6Fragment) SetMore(more bool) {
	v := binary.BigEndian.Uint16(f[ipv6FragOffFlags:]) &^ ipv6FragMore
	if more {
		v |= ipv6FragMore
	}
	binary.BigEndian.PutUint16(f[ipv6FragOffFlags:], v)
}

// SetID sets the Identification field.
func (f IPv6Fragment) SetID(id uint32) { binary.BigEndian.PutUint32(f[ipv6FragID:], id) }

// EncodeIPv6Fragment writes an 8-byte Fragment header into b and returns
// IPv6FragmentSize. b must have room.
func EncodeIPv6Fragment(b []byte, next uint8, offsetBytes uint16, more bool, id uint32) int {
	f := IPv6Fragment(b[:IPv6FragmentSize])
	f[ipv6FragNextHeader] = next
	f[1] = 0
	binary.BigEndian.PutUint16(f[ipv6FragOffFlags:], 0)
	f.SetFragmentOffset(offsetBytes)
	f.SetMore(more)
	f.SetID(id)
	return IPv6FragmentSize
}

// IsIPv6ExtHeader reports whether proto is an extension header that
// WalkIPv6Ext steps over.
func IsIPv6ExtHeader(proto uint8) bool {
	switch proto {
	case ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDestOpts, ProtoAH:
		return true
	}
	return false
}

// WalkIPv6Ext follows the extension-header chain at the start of b, the
// IPv6 payload (bounded by Payload Length), where first is the fixed
// header's Next Header. It returns the upper-layer protocol, its offset in
// b, and the offset of the Fragment header in b or -1.
//
// Walked: Hop-by-Hop (only as the first header, RFC 8200 §4.3), Routing,
// Fragment, Destination Options, and AH (by its own length rule, RFC 4302).
// ESP, No Next Header and anything else end the walk and are returned as
// the upper-layer protocol. At most MaxIPv6ExtHeaders headers are followed;
// one more yields DecodeExtHeaderLimit.
//
// For a non-first fragment (offset != 0) the walk stops at the Fragment
// header: what follows is fragment data, not headers (RFC 8200 §4.5), so
// proto is the Fragment header's Next Header and off points past it. A
// second Fragment header, a misplaced Hop-by-Hop header or a header running
// past b yields DecodeBadExtHeader. It never panics.
func WalkIPv6Ext(b []byte, first uint8) (proto uint8, off int, frag int, status DecodeStatus) {
	proto, frag = first, -1
	for n := 0; IsIPv6ExtHeader(proto); n++ {
		if n == MaxIPv6ExtHeaders {
			return proto, off, frag, DecodeExtHeaderLimit
		}
		if proto == ProtoHopByHop && n != 0 {
			return proto, off, frag, DecodeBadExtHeader
		}
		if len(b)-off < ipv6ExtMinSize {
			return proto, off, frag, DecodeBadExtHeader
		}
		h := IPv6ExtHeader(b[off:])
		var l int
		switch proto {
		case ProtoFragment:
			if frag >= 0 {
				return proto, off, frag, DecodeBadExtHeader
			}
			frag = off
			l = IPv6FragmentSize
			if IPv6Fragment(h).FragmentOffset() != 0 {
				return h.NextHeader(), off + l, frag, DecodeOK
			}
		case ProtoAH:
			l = h.AHLength()
		default:
			l = h.Length()
		}
		if l > len(b)-off {
			return proto, off, frag, DecodeBadExtHeader
		}
		proto = h.NextHeader()
		off += l
	}
	return proto, off, frag, DecodeOK
}
