package packet

import (
	"encoding/binary"

	"xdpgw/dataplane/checksum"
)

// GRE is a GRE header (RFC 2784 §2.1) with the Key and Sequence Number
// extensions (RFC 2890 §2):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|C| |K|S| Reserved0       | Ver |         Protocol Type         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      Checksum (optional)      |       Reserved1 (Optional)    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Key (optional)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Sequence Number (Optional)                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The optional words appear in that order, each only if its flag is set.
// Call IsValid once; the accessors are then unchecked. Checksum, Key and Seq
// return 0 when their flag is clear, and SetKey does nothing then.
type GRE []byte

const (
	greFlags    = 0
	greVersion  = 1
	greProtocol = 2
	greOptional = 4

	greFlagC   = 0x80 // checksum present (RFC 2784)
	greFlagR   = 0x40 // routing present (RFC 1701 only)
	greFlagK   = 0x20 // key present (RFC 2890)
	greFlagS   = 0x10 // sequence number present (RFC 2890)
	greFlagSSR = 0x08 // strict source route (RFC 1701 only)
	// Bits 5-7 of the first octet are RFC 1701's recursion control; bit 5
	// is its most significant bit.
	greFlagRecurTop = 0x04
	greVerMask      = 0x07
)

// IsValid reports whether g is a GRE header this gateway accepts: version
// 0, the header (with the optional words its flags announce) fits in g, and
// none of the RFC 1701-only bits 1 (routing) and 4 (strict source route)
// are set. RFC 2784 §2.3 says a receiver that does not implement RFC 1701
// MUST discard a packet with any of bits 1-5 set; RFC 2890 gives bits 2 and
// 3 to K and S, and bit 5 is the top bit of RFC 1701's recursion control,
// which is also refused. Bits 6-12 are ignored as RFC 2784 §2.3 requires.
func (g GRE) IsValid() bool {
	if len(g) < GREMinSize {
		return false
	}
	if g.Version() != 0 || g[greFlags]&(greFlagR|greFlagSSR|greFlagRecurTop) != 0 {
		return false
	}
	return g.HeaderLength() <= len(g)
}

// HasChecksum reports whether the C bit is set.
func (g GRE) HasChecksum() bool { return g[greFlags]&greFlagC != 0 }

// HasKey reports whether the K bit is set.
func (g GRE) HasKey() bool { return g[greFlags]&greFlagK != 0 }

// HasSeq reports whether the S bit is set.
func (g GRE) HasSeq() bool { return g[greFlags]&greFlagS != 0 }

// Version returns the 3-bit version (0 for RFC 2784 GRE, 1 for PPTP).
func (g GRE) Version() uint8 { return g[greVersion] & greVerMask }

// Protocol returns the EtherType of the payload (EtherTypeIPv4,
// EtherTypeIPv6, EtherTypeTEB).
func (g GRE) Protocol() uint16 { return binary.BigEndian.Uint16(g[greProtocol:]) }

// SetProtocol sets the protocol type.
func (g GRE) SetProtocol(p uint16) { binary.BigEndian.PutUint16(g[greProtocol:], p) }

// HeaderLength returns the header length in bytes implied by the flags:
// 4, plus 4 for each of checksum, key and sequence number.
func (g GRE) HeaderLength() int {
	f := g[greFlags]
	n := GREMinSize
	if f&greFlagC != 0 {
		n += 4
	}
	if f&greFlagK != 0 {
		n += 4
	}
	if f&greFlagS != 0 {
		n += 4
	}
	return n
}

func (g GRE) keyOffset() int {
	if g.HasChecksum() {
		return greOptional + 4
	}
	return greOptional
}

// Checksum returns the stored checksum, or 0 when C is clear.
func (g GRE) Checksum() uint16 {
	if !g.HasChecksum() {
		return 0
	}
	return binary.BigEndian.Uint16(g[greOptional:])
}

// SetChecksum stores v in the checksum field; it does nothing when C is
// clear.
func (g GRE) SetChecksum(v uint16) {
	if g.HasChecksum() {
		binary.BigEndian.PutUint16(g[greOptional:], v)
	}
}

// CalculateChecksum returns the value to store in the checksum field: the
// complemented sum of the GRE header and payload (all of g) with the
// checksum field taken as zero (RFC 2784 §2.5). g must be the whole GRE
// packet and have C set.
func (g GRE) CalculateChecksum() uint16 {
	s := checksum.Checksum(g[:greOptional], 0)
	s = checksum.Checksum(g[greOptional+2:], s)
	return ^s
}

// Key returns the key, or 0 when K is clear.
func (g GRE) Key() uint32 {
	if !g.HasKey() {
		return 0
	}
	return binary.BigEndian.Uint32(g[g.keyOffset():])
}

// SetKey stores the key; it does nothing when K is clear, since adding the
// word would move the payload.
func (g GRE) SetKey(k uint32) {
	if g.HasKey() {
		binary.BigEndian.PutUint32(g[g.keyOffset():], k)
	}
}

// Seq returns the sequence number, or 0 when S is clear.
func (g GRE) Seq() uint32 {
	if !g.HasSeq() {
		return 0
	}
	off := g.keyOffset()
	if g.HasKey() {
		off += 4
	}
	return binary.BigEndian.Uint32(g[off:])
}

// Payload returns the encapsulated packet.
func (g GRE) Payload() []byte { return g[g.HeaderLength():] }

// GREHeaderLength returns the length of the header EncodeGRE writes: 8 with
// a key, 4 without.
func GREHeaderLength(hasKey bool) int {
	if hasKey {
		return GREMinSize + 4
	}
	return GREMinSize
}

// EncodeGRE writes a version-0 GRE header with no checksum or sequence
// number, and a key if hasKey, into b. It returns the header length (4 or
// 8). b must have room.
func EncodeGRE(b []byte, proto uint16, key uint32, hasKey bool) int {
	n := GREHeaderLength(hasKey)
	g := GRE(b[:n])
	g[greFlags] = 0
	g[greVersion] = 0
	g.SetProtocol(proto)
	if hasKey {
		g[greFlags] = greFlagK
		binary.BigEndian.PutUint32(g[greOptional:], key)
	}
	return n
}
