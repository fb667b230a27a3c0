package packet

import (
	"encoding/binary"

	"xdpgw/dataplane/checksum"
)

// ICMPv4 types (RFC 792).
const (
	ICMPv4EchoReply       = 0
	ICMPv4DestUnreachable = 3
	ICMPv4SourceQuench    = 4 // deprecated by RFC 6633
	ICMPv4Redirect        = 5
	ICMPv4Echo            = 8
	ICMPv4TimeExceeded    = 11
	ICMPv4ParamProblem    = 12
)

// ICMPv4 Destination Unreachable codes (RFC 792, RFC 1812 §5.2.7.1).
const (
	ICMPv4NetUnreachable  = 0
	ICMPv4HostUnreachable = 1
	ICMPv4PortUnreachable = 3
	ICMPv4FragNeeded      = 4
	ICMPv4AdminProhibited = 13
)

// ICMPv4IsError reports whether t is an ICMPv4 error message type: one that
// quotes an offending packet and must never be sent in reply to another
// error (RFC 1122 §3.2.2).
func ICMPv4IsError(t uint8) bool {
	switch t {
	case ICMPv4DestUnreachable, ICMPv4SourceQuench, ICMPv4Redirect,
		ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

// ICMPv4 is an ICMPv4 message (RFC 792):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Identifier / Pointer / unused |  Sequence / Next-Hop MTU     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Data (echo payload, or the quoted IP header + 8 bytes)    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The second word depends on the type: Identifier and Sequence Number for
// echo; Pointer in the first octet for Parameter Problem; Next-Hop MTU in
// bytes 6-7 for Fragmentation Needed (RFC 1191 §4). The view is unchecked:
// the caller ensures len >= ICMPv4MinSize (Parsed.Decode does).
type ICMPv4 []byte

const (
	icmpType     = 0
	icmpCode     = 1
	icmpChecksum = 2
	icmpIdent    = 4
	icmpSeq      = 6
	icmpPointer  = 4
	icmpv4MTU    = 6
	icmpPayload  = 8
)

// IsValid reports whether b is long enough for the 8-byte fixed part.
func (b ICMPv4) IsValid() bool { return len(b) >= ICMPv4MinSize }

// Type returns the message type.
func (b ICMPv4) Type() uint8 { return b[icmpType] }

// SetType sets the message type. It does not update the checksum.
func (b ICMPv4) SetType(t uint8) { b[icmpType] = t }

// Code returns the message code.
func (b ICMPv4) Code() uint8 { return b[icmpCode] }

// SetCode sets the message code. It does not update the checksum.
func (b ICMPv4) SetCode(c uint8) { b[icmpCode] = c }

// Checksum returns the stored checksum.
func (b ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(b[icmpChecksum:]) }

// SetChecksum stores a checksum.
func (b ICMPv4) SetChecksum(v uint16) { binary.BigEndian.PutUint16(b[icmpChecksum:], v) }

// Ident returns the echo identifier.
func (b ICMPv4) Ident() uint16 { return binary.BigEndian.Uint16(b[icmpIdent:]) }

// SetIdent sets the echo identifier. It does not update the checksum.
func (b ICMPv4) SetIdent(v uint16) { binary.BigEndian.PutUint16(b[icmpIdent:], v) }

// Seq returns the echo sequence number.
func (b ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(b[icmpSeq:]) }

// SetSeq sets the echo sequence number.
func (b ICMPv4) SetSeq(v uint16) { binary.BigEndian.PutUint16(b[icmpSeq:], v) }

// MTU returns the Next-Hop MTU of a Fragmentation Needed message (RFC 1191).
func (b ICMPv4) MTU() uint16 { return binary.BigEndian.Uint16(b[icmpv4MTU:]) }

// SetMTU sets the Next-Hop MTU.
func (b ICMPv4) SetMTU(v uint16) { binary.BigEndian.PutUint16(b[icmpv4MTU:], v) }

// Pointer returns the Parameter Problem pointer (RFC 792).
func (b ICMPv4) Pointer() uint8 { return b[icmpPointer] }

// SetPointer sets the Parameter Problem pointer.
func (b ICMPv4) SetPointer(v uint8) { b[icmpPointer] = v }

// RestOfHeader returns the second 32-bit word.
func (b ICMPv4) RestOfHeader() uint32 { return binary.BigEndian.Uint32(b[icmpIdent:]) }

// Payload returns the bytes after the 8-byte fixed part.
func (b ICMPv4) Payload() []byte { return b[icmpPayload:] }

// CalculateChecksum returns the value to store in the checksum field: the
// complemented sum over the whole message with the field taken as zero
// (RFC 792; ICMPv4 has no pseudo-header). b must span the message exactly.
func (b ICMPv4) CalculateChecksum() uint16 {
	s := checksum.Checksum(b[:icmpChecksum], 0)
	s = checksum.Checksum(b[icmpChecksum+2:], s)
	return ^s
}

// EncodeICMPv4 writes the 8-byte fixed part (type, code, zero checksum and
// the second word rest) into b and returns ICMPv4MinSize. Compute the
// checksum with CalculateChecksum once the payload is in place.
func EncodeICMPv4(b []byte, typ, code uint8, rest uint32) int {
	h := ICMPv4(b[:ICMPv4MinSize])
	h[icmpType] = typ
	h[icmpCode] = code
	h.SetChecksum(0)
	binary.BigEndian.PutUint32(h[icmpIdent:], rest)
	return ICMPv4MinSize
}
