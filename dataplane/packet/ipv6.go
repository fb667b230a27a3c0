package packet

import (
	"encoding/binary"

	"xdpgw/dataplane/checksum"
)

// IPv6 is an IPv6 fixed header followed by its payload (RFC 8200 §3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                         Source Address                        +
//	|                          (16 octets)                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                      Destination Address                      +
//	|                          (16 octets)                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Call IsValid once; the accessors are then unchecked (they need
// len >= IPv6Size). Jumbograms (RFC 2675, Payload Length 0) are not
// supported: a zero Payload Length means an empty payload.
type IPv6 []byte

const (
	ipv6VersTCFlow = 0
	ipv6PayloadLen = 4
	ipv6NextHeader = 6
	ipv6HopLimit   = 7
	ipv6Src        = 8
	ipv6Dst        = 24

	ipv6FlowMask = 0x000fffff
)

// IPv6Version is the value of the version field.
const IPv6Version = 6

// IsValid reports whether b holds an IPv6 header (version 6) whose payload,
// per Payload Length, fits in the first pktLen bytes. pktLen is normally
// len(b) and is clamped to it; the rest is link-layer padding.
func (b IPv6) IsValid(pktLen int) bool {
	if len(b) < IPv6Size {
		return false
	}
	pktLen = min(pktLen, len(b))
	if b[ipv6VersTCFlow]>>4 != IPv6Version {
		return false
	}
	return IPv6Size+int(b.PayloadLength()) <= pktLen
}

// Version returns the IP version field.
func (b IPv6) Version() uint8 { return b[ipv6VersTCFlow] >> 4 }

// TrafficClass returns the 8-bit traffic class (DS + ECN, RFC 2474/3168).
func (b IPv6) TrafficClass() uint8 {
	return uint8(binary.BigEndian.Uint16(b[ipv6VersTCFlow:]) >> 4)
}

// SetTrafficClass sets the traffic class, keeping version and flow label.
func (b IPv6) SetTrafficClass(tc uint8) {
	v := binary.BigEndian.Uint16(b[ipv6VersTCFlow:])
	v = v&0xf00f | uint16(tc)<<4
	binary.BigEndian.PutUint16(b[ipv6VersTCFlow:], v)
}

// FlowLabel returns the 20-bit flow label.
func (b IPv6) FlowLabel() uint32 {
	return binary.BigEndian.Uint32(b[ipv6VersTCFlow:]) & ipv6FlowMask
}

// SetFlowLabel sets the flow label (low 20 bits of l), keeping version and
// traffic class.
func (b IPv6) SetFlowLabel(l uint32) {
	v := binary.BigEndian.Uint32(b[ipv6VersTCFlow:])
	v = v&^ipv6FlowMask | l&ipv6FlowMask
	binary.BigEndian.PutUint32(b[ipv6VersTCFlow:], v)
}

// PayloadLength returns the Payload Length: everything after the fixed
// header, extension headers included.
func (b IPv6) PayloadLength() uint16 { return binary.BigEndian.Uint16(b[ipv6PayloadLen:]) }

// SetPayloadLength sets the Payload Length.
func (b IPv6) SetPayloadLength(v uint16) { binary.BigEndian.PutUint16(b[ipv6PayloadLen:], v) }

// NextHeader returns the Next Header field of the fixed header.
func (b IPv6) NextHeader() uint8 { return b[ipv6NextHeader] }

// SetNextHeader sets the Next Header field.
func (b IPv6) SetNextHeader(v uint8) { b[ipv6NextHeader] = v }

// HopLimit returns the Hop Limit.
func (b IPv6) HopLimit() uint8 { return b[ipv6HopLimit] }

// SetHopLimit sets the Hop Limit.
func (b IPv6) SetHopLimit(v uint8) { b[ipv6HopLimit] = v }

// Src returns the source address.
func (b IPv6) Src() [16]byte { return [16]byte(b[ipv6Src : ipv6Src+16]) }

// Dst returns the destination address.
func (b IPv6) Dst() [16]byte { return [16]byte(b[ipv6Dst : ipv6Dst+16]) }

// SetSrc sets the source address. It does not update any checksum.
func (b IPv6) SetSrc(a [16]byte) { copy(b[ipv6Src:ipv6Src+16], a[:]) }

// SetDst sets the destination address. It does not update any checksum.
func (b IPv6) SetDst(a [16]byte) { copy(b[ipv6Dst:ipv6Dst+16], a[:]) }

// Payload returns the bytes after the fixed header up to Payload Length
// (extension headers included), clamped to len(b) so that it cannot panic.
func (b IPv6) Payload() []byte {
	end := min(IPv6Size+int(b.PayloadLength()), len(b))
	return b[IPv6Size:end]
}

// PseudoHeaderChecksum returns the upper-layer pseudo-header sum (RFC 8200
// §8.1) for this packet's addresses. proto and length are those of the
// upper-layer header, after any extension headers.
func (b IPv6) PseudoHeaderChecksum(proto uint8, length uint32) uint16 {
	return checksum.PseudoHeaderV6(b.Src(), b.Dst(), proto, length)
}

// IPv6Fields holds the values EncodeIPv6 writes.
type IPv6Fields struct {
	TrafficClass  uint8
	FlowLabel     uint32
	PayloadLength uint16
	NextHeader    uint8
	HopLimit      uint8
	Src, Dst      [16]byte
}

// EncodeIPv6 writes a 40-byte IPv6 header into b and returns IPv6Size.
// b must have room.
func EncodeIPv6(b []byte, f IPv6Fields) int {
	h := IPv6(b[:IPv6Size])
	binary.BigEndian.PutUint32(h[ipv6VersTCFlow:],
		uint32(IPv6Version)<<28|uint32(f.TrafficClass)<<20|f.FlowLabel&ipv6FlowMask)
	h.SetPayloadLength(f.PayloadLength)
	h.SetNextHeader(f.NextHeader)
	h.SetHopLimit(f.HopLimit)
	h.SetSrc(f.Src)
	h.SetDst(f.Dst)
	return IPv6Size
}
