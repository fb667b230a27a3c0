package packet

import (
	"encoding/binary"

	"xdpgw/dataplane/checksum"
)

// ICMPv6 types (RFC 4443 §2.1, RFC 4861 §4).
const (
	ICMPv6DestUnreachable = 1
	ICMPv6PacketTooBig    = 2
	ICMPv6TimeExceeded    = 3
	ICMPv6ParamProblem    = 4
	ICMPv6EchoRequest     = 128
	ICMPv6EchoReply       = 129
	ICMPv6RouterSolicit   = 133
	ICMPv6RouterAdvert    = 134
	ICMPv6NeighborSolicit = 135
	ICMPv6NeighborAdvert  = 136
	ICMPv6Redirect        = 137
)

// ICMPv6 Destination Unreachable codes (RFC 4443 §3.1).
const (
	ICMPv6NoRoute         = 0
	ICMPv6AdminProhibited = 1
	ICMPv6AddrUnreachable = 3
	ICMPv6PortUnreachable = 4
)

// ICMPv6 Time Exceeded codes (RFC 4443 §3.3).
const (
	ICMPv6HopLimitExceeded   = 0
	ICMPv6ReassemblyExceeded = 1
)

// ICMPv6IsError reports whether t is an error message: RFC 4443 §2.1 gives
// error messages types 0-127 and informational messages 128-255.
func ICMPv6IsError(t uint8) bool { return t < 128 }

// ICMPv6 is an ICMPv6 message (RFC 4443 §2.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Identifier / MTU / Pointer / unused (depends on type)       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Message Body                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Echo carries Identifier and Sequence Number (§4.1); Packet Too Big a
// 32-bit MTU (§3.2); Parameter Problem a 32-bit Pointer (§3.4). The
// checksum covers the IPv6 pseudo-header (RFC 8200 §8.1). The view is
// unchecked: the caller ensures len >= ICMPv6MinSize (Parsed.Decode does).
type ICMPv6 []byte

const (
	icmpv6MTU     = 4
	icmpv6Pointer = 4
)

// IsValid reports whether b is long enough for the 8-byte fixed part.
func (b ICMPv6) IsValid() bool { return len(b) >= ICMPv6MinSize }

// Type returns the message type.
func (b ICMPv6) Type() uint8 { return b[icmpType] }

// SetType sets the message type. It does not update the checksum.
func (b ICMPv6) SetType(t uint8) { b[icmpType] = t }

// Code returns the message code.
func (b ICMPv6) Code() uint8 { return b[icmpCode] }

// SetCode sets the message code. It does not update the checksum.
func (b ICMPv6) SetCode(c uint8) { b[icmpCode] = c }

// Checksum returns the stored checksum.
func (b ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(b[icmpChecksum:]) }

// SetChecksum stores a checksum.
func (b ICMPv6) SetChecksum(v uint16) { binary.BigEndian.PutUint16(b[icmpChecksum:], v) }

// Ident returns the echo identifier.
func (b ICMPv6) Ident() uint16 { return binary.BigEndian.Uint16(b[icmpIdent:]) }

// SetIdent sets the echo identifier. It does not update the checksum.
func (b ICMPv6) SetIdent(v uint16) { binary.BigEndian.PutUint16(b[icmpIdent:], v) }

// Seq returns the echo sequence number.
func (b ICMPv6) Seq() uint16 { return binary.BigEndian.Uint16(b[icmpSeq:]) }

// SetSeq sets the echo sequence number.
func (b ICMPv6) SetSeq(v uint16) { binary.BigEndian.PutUint16(b[icmpSeq:], v) }

// MTU returns the MTU of a Packet Too Big message.
func (b ICMPv6) MTU() uint32 { return binary.BigEndian.Uint32(b[icmpv6MTU:]) }

// SetMTU sets the MTU of a Packet Too Big message.
func (b ICMPv6) SetMTU(v uint32) { binary.BigEndian.PutUint32(b[icmpv6MTU:], v) }

// Pointer returns the Parameter Problem pointer.
func (b ICMPv6) Pointer() uint32 { return binary.BigEndian.Uint32(b[icmpv6Pointer:]) }

// SetPointer sets the Parameter Problem pointer.
func (b ICMPv6) SetPointer(v uint32) { binary.BigEndian.PutUint32(b[icmpv6Pointer:], v) }

// Payload returns the bytes after the 8-byte fixed part.
func (b ICMPv6) Payload() []byte { return b[icmpPayload:] }

// CalculateChecksum returns the value to store in the checksum field, given
// the pseudo-header sum (IPv6.PseudoHeaderChecksum with ProtoICMPv6 and
// len(b)). b must span the message exactly; the field is taken as zero.
func (b ICMPv6) CalculateChecksum(pseudo uint16) uint16 {
	s := checksum.Checksum(b[:icmpChecksum], pseudo)
	s = checksum.Checksum(b[icmpChecksum+2:], s)
	return ^s
}

// EncodeICMPv6 writes the 8-byte fixed part (type, code, zero checksum and
// the second word rest) into b and returns ICMPv6MinSize.
func EncodeICMPv6(b []byte, typ, code uint8, rest uint32) int {
	h := ICMPv6(b[:ICMPv6MinSize])
	h[icmpType] = typ
	h[icmpCode] = code
	h.SetChecksum(0)
	binary.BigEndian.PutUint32(h[icmpIdent:], rest)
	return ICMPv6MinSize
}
