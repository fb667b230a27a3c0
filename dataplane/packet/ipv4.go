package packet

import (
	"encoding/binary"

	"xdpgw/dataplane/checksum"
)

// IPv4 is an IPv4 header followed by its payload (RFC 791 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Call IsValid once; the accessors are then unchecked. Before validation
// only the fixed 20-byte fields may be read, and only if len >= IPv4MinSize.
type IPv4 []byte

const (
	ipv4VersIHL   = 0
	ipv4TOS       = 1
	ipv4TotalLen  = 2
	ipv4ID        = 4
	ipv4FlagsFrag = 6
	ipv4TTL       = 8
	ipv4Protocol  = 9
	ipv4Checksum  = 10
	ipv4Src       = 12
	ipv4Dst       = 16
	ipv4Options   = 20

	ipv4FragOffMask = 0x1fff
	ipv4FlagsShift  = 13
)

// IPv4 flag bits as returned by Flags (RFC 791 §3.1: bit 0 reserved,
// bit 1 DF, bit 2 MF).
const (
	IPv4FlagMF       = 1 << 0
	IPv4FlagDF       = 1 << 1
	IPv4FlagReserved = 1 << 2
)

// IPv4Version is the value of the version field.
const IPv4Version = 4

// IsValid reports whether b holds a well-formed IPv4 header whose
// TotalLength fits in the first pktLen bytes: version 4, IHL >= 5, the
// header fits, and IHL*4 <= TotalLength <= pktLen. pktLen is normally
// len(b) and is clamped to it; bytes beyond TotalLength are link-layer
// padding. The header
// checksum is not checked (see IsChecksumValid).
func (b IPv4) IsValid(pktLen int) bool {
	if len(b) < IPv4MinSize {
		return false
	}
	pktLen = min(pktLen, len(b))
	if b[ipv4VersIHL]>>4 != IPv4Version {
		return false
	}
	hl := b.HeaderLength()
	if hl < IPv4MinSize || hl > len(b) {
		return false
	}
	tl := int(b.TotalLength())
	return tl >= hl && tl <= pktLen
}

// Version returns the IP version field.
func (b IPv4) Version() uint8 { return b[ipv4VersIHL] >> 4 }

// HeaderLength returns the header length in bytes (IHL*4).
func (b IPv4) HeaderLength() int { return int(b[ipv4VersIHL]&0x0f) * 4 }

// TOS returns the Type of Service / DS+ECN octet (RFC 2474, RFC 3168).
func (b IPv4) TOS() uint8 { return b[ipv4TOS] }

// SetTOS sets the TOS octet. It does not update the checksum.
func (b IPv4) SetTOS(v uint8) { b[ipv4TOS] = v }

// TotalLength returns the Total Length field: header plus payload.
func (b IPv4) TotalLength() uint16 { return binary.BigEndian.Uint16(b[ipv4TotalLen:]) }

// SetTotalLength sets Total Length. It does not update the checksum.
func (b IPv4) SetTotalLength(v uint16) { binary.BigEndian.PutUint16(b[ipv4TotalLen:], v) }

// ID returns the Identification field.
func (b IPv4) ID() uint16 { return binary.BigEndian.Uint16(b[ipv4ID:]) }

// SetID sets the Identification field. It does not update the checksum.
func (b IPv4) SetID(v uint16) { binary.BigEndian.PutUint16(b[ipv4ID:], v) }

// Flags returns the 3 flag bits (IPv4FlagDF, IPv4FlagMF, IPv4FlagReserved).
func (b IPv4) Flags() uint8 { return b[ipv4FlagsFrag] >> 5 }

// DF reports whether Don't Fragment is set.
func (b IPv4) DF() bool { return b.Flags()&IPv4FlagDF != 0 }

// MF reports whether More Fragments is set.
func (b IPv4) MF() bool { return b.Flags()&IPv4FlagMF != 0 }

// FragmentOffset returns the fragment offset in bytes (the field counts
// 8-octet units, RFC 791 §3.1).
func (b IPv4) FragmentOffset() uint16 {
	return (binary.BigEndian.Uint16(b[ipv4FlagsFrag:]) & ipv4FragOffMask) * 8
}

// SetFlagsFragmentOffset sets the flags and the fragment offset, given in
// bytes; offsetBytes must be a multiple of 8 (lower bits are dropped).
// It does not update the checksum.
func (b IPv4) SetFlagsFragmentOffset(flags uint8, offsetBytes uint16) {
	v := uint16(flags&7)<<ipv4FlagsShift | (offsetBytes/8)&ipv4FragOffMask
	binary.BigEndian.PutUint16(b[ipv4FlagsFrag:], v)
}

// IsFragment reports whether the packet is a fragment: MF set or a non-zero
// offset (RFC 791 §3.2). An unfragmented packet has both clear.
func (b IPv4) IsFragment() bool {
	return binary.BigEndian.Uint16(b[ipv4FlagsFrag:])&(IPv4FlagMF<<ipv4FlagsShift|ipv4FragOffMask) != 0
}

// TTL returns the Time to Live.
func (b IPv4) TTL() uint8 { return b[ipv4TTL] }

// SetTTL sets the Time to Live. It does not update the checksum; the
// forwarding path decrements TTL with checksum.Update16 on the TTL/Protocol
// word (RFC 1624 §4 uses exactly that example).
func (b IPv4) SetTTL(v uint8) { b[ipv4TTL] = v }

// Protocol returns the Protocol field.
func (b IPv4) Protocol() uint8 { return b[ipv4Protocol] }

// SetProtocol sets the Protocol field. It does not update the checksum.
func (b IPv4) SetProtocol(v uint8) { b[ipv4Protocol] = v }

// Checksum returns the stored header checksum.
func (b IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(b[ipv4Checksum:]) }

// SetChecksum stores a header checksum.
func (b IPv4) SetChecksum(v uint16) { binary.BigEndian.PutUint16(b[ipv4Checksum:], v) }

// Src returns the source address.
func (b IPv4) Src() [4]byte { return [4]byte(b[ipv4Src : ipv4Src+4]) }

// Dst returns the destination address.
func (b IPv4) Dst() [4]byte { return [4]byte(b[ipv4Dst : ipv4Dst+4]) }

// SetSrc sets the source address. It does not update any checksum.
func (b IPv4) SetSrc(a [4]byte) { copy(b[ipv4Src:ipv4Src+4], a[:]) }

// SetDst sets the destination address. It does not update any checksum.
func (b IPv4) SetDst(a [4]byte) { copy(b[ipv4Dst:ipv4Dst+4], a[:]) }

// Options returns the options bytes between the fixed header and
// HeaderLength (empty when IHL is 5).
func (b IPv4) Options() []byte { return b[ipv4Options:b.HeaderLength()] }

// Payload returns the bytes after the header up to TotalLength, so that
// Ethernet padding is excluded. It is clamped to len(b) so that it cannot
// panic on a view that was never validated.
func (b IPv4) Payload() []byte {
	end := min(int(b.TotalLength()), len(b))
	hl := min(b.HeaderLength(), len(b))
	if end < hl {
		return b[hl:hl]
	}
	return b[hl:end]
}

// PayloadLength returns TotalLength minus the header length.
func (b IPv4) PayloadLength() int { return int(b.TotalLength()) - b.HeaderLength() }

// CalculateChecksum returns the value to store in the checksum field: the
// complemented one's complement sum of the header with the checksum field
// taken as zero (RFC 791 §3.1). The field itself is not read or written.
func (b IPv4) CalculateChecksum() uint16 {
	hl := b.HeaderLength()
	if hl == IPv4MinSize {
		// The sum of the whole header less the field's own value.
		return ^checksum.Combine(checksum.Sum20(b), ^b.Checksum())
	}
	// Sum around the field instead of zeroing it: the view may be shared
	// and the words on either side start at even offsets.
	s := checksum.Checksum(b[:ipv4Checksum], 0)
	s = checksum.Checksum(b[ipv4Checksum+2:hl], s)
	return ^s
}

// IsChecksumValid reports whether the header, checksum included, sums to
// 0xffff (RFC 1071 §1: the receiver's check).
func (b IPv4) IsChecksumValid() bool {
	// The IHL is taken from the first 8-byte word that Sum20 loads anyway:
	// a separate byte load of it keeps the compiler from merging that
	// word's eight byte loads into one.
	if len(b) >= IPv4MinSize && binary.BigEndian.Uint64(b)>>56&0x0f == IPv4MinSize/4 {
		return checksum.Sum20(b) == 0xffff
	}
	return checksum.Checksum(b[:b.HeaderLength()], 0) == 0xffff
}

// PseudoHeaderChecksum returns the TCP/UDP pseudo-header sum for this
// packet's addresses and protocol with the given upper-layer length.
func (b IPv4) PseudoHeaderChecksum(proto uint8, length uint16) uint16 {
	return checksum.PseudoHeaderV4(b.Src(), b.Dst(), proto, length)
}

// IPv4Fields holds the values EncodeIPv4 writes.
type IPv4Fields struct {
	TOS         uint8
	TotalLength uint16
	ID          uint16
	Flags       uint8  // IPv4FlagDF, IPv4FlagMF
	FragOffset  uint16 // bytes, multiple of 8
	TTL         uint8
	Protocol    uint8
	Src, Dst    [4]byte
}

// EncodeIPv4 writes a 20-byte IPv4 header without options into b, including
// a correct header checksum, and returns IPv4MinSize. b must have room.
func EncodeIPv4(b []byte, f IPv4Fields) int {
	h := IPv4(b[:IPv4MinSize])
	h[ipv4VersIHL] = IPv4Version<<4 | IPv4MinSize/4
	h.SetTOS(f.TOS)
	h.SetTotalLength(f.TotalLength)
	h.SetID(f.ID)
	h.SetFlagsFragmentOffset(f.Flags, f.FragOffset)
	h.SetTTL(f.TTL)
	h.SetProtocol(f.Protocol)
	h.SetSrc(f.Src)
	h.SetDst(f.Dst)
	h.SetChecksum(0)
	h.SetChecksum(h.CalculateChecksum())
	return IPv4MinSize
}
