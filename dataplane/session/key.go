package session

import (
	"encoding/binary"
	"math/bits"
)

// Family says how a Key's addresses are laid out. The table stores a key's
// addresses in their shortest exact form (see doc.go, "Memory layout").
type Family uint8

const (
	// FamilyIPv4: Src and Dst hold IPv4 addresses in their first 4 bytes;
	// the other 12 bytes are ignored.
	FamilyIPv4 Family = 1
	// FamilyNAT64: Src is a full IPv6 address (16 bytes), Dst holds in
	// its first 4 bytes the IPv4 address embedded in the RFC 6052
	// destination. This is the IPv6 side of a NAT64 session, (X',x) ->
	// (Y',y) of RFC 6146 3.5 with Y' = Pref64::Z stored as Z: the prefix
	// is configuration, not per-session state, and the NAT64 puts the
	// prefix's identity into Zone when it has several.
	FamilyNAT64 Family = 2
	// FamilyIPv6: both addresses are full IPv6 addresses. Such keys can be
	// hashed and looked up (always a miss) but not stored: a 64-byte entry
	// has no room for 64 bytes of addresses (see doc.go).
	FamilyIPv6 Family = 3
)

// Key identifies one direction of a flow. IPv4 addresses occupy the first
// 4 bytes of Src and Dst. Zone is the VRF/tenant (gateway) or the
// NAT64 instance/prefix identity; it separates overlapping address spaces.
// For ICMP query sessions the ports are the echo identifier (RFC 6146
// 3.5.3 keys ICMP by the identifier) and 0.
type Key struct {
	Src, Dst         [16]byte
	SrcPort, DstPort uint16
	Zone             uint16
	Proto            uint8
	Family           Family
}

// enc is a Key in the table's stored form: the meta word (zone, protocol,
// family, ports) and the address words. For FamilyIPv4, a is the source
// (32 bits) and b is 0; c is always the 32-bit destination.
type enc struct {
	meta uint64
	a, b uint64
	c    uint32
	fam  Family
}

func encode(k *Key, e *enc) bool {
	switch k.Family {
	case FamilyIPv4:
		e.a = uint64(binary.LittleEndian.Uint32(k.Src[0:4]))
		e.b = 0
	case FamilyNAT64:
		e.a = binary.LittleEndian.Uint64(k.Src[0:8])
		e.b = binary.LittleEndian.Uint64(k.Src[8:16])
	default:
		return false
	}
	e.c = binary.LittleEndian.Uint32(k.Dst[0:4])
	e.fam = k.Family
	e.meta = uint64(k.Zone) | uint64(k.Proto)<<16 | uint64(k.Family)<<24 |
		uint64(k.SrcPort)<<32 | uint64(k.DstPort)<<48
	return true
}

// decode is the inverse of encode.
func decode(meta, a, b uint64, c uint32, k *Key) {
	k.Zone = uint16(meta)
	k.Proto = uint8(meta >> 16)
	k.Family = Family(meta >> 24)
	k.SrcPort = uint16(meta >> 32)
	k.DstPort = uint16(meta >> 48)
	binary.LittleEndian.PutUint64(k.Src[0:8], a)
	binary.LittleEndian.PutUint64(k.Src[8:16], b)
	binary.LittleEndian.PutUint64(k.Dst[0:8], uint64(c))
	binary.LittleEndian.PutUint64(k.Dst[8:16], 0)
}

// mum is the 64x64->128 multiply folded to 64 bits (wyhash's mixer): one
// MUL instruction, full avalanche of both operands into the result.
func mum(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

// hashSeeds are derived from Config.Seed; a per-table random seed keeps
// an outsider from aiming many flows at one bucket.
type hashSeeds [6]uint64

func newSeeds(seed uint64) hashSeeds {
	var s hashSeeds
	for i := range s {
		// splitmix64
		seed += 0x9e3779b97f4a7c15
		z := seed
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		s[i] = z ^ z>>31 | 1
	}
	return s
}

// hash of an encoded key: three multiplies, no allocation. The high 32
// bits choose the bucket, the low bits give the slot tag.
func (s *hashSeeds) hash(e *enc) uint64 {
	h1 := mum(e.meta^s[0], e.a^s[1])
	h2 := mum(e.b^s[2], uint64(e.c)^s[3])
	return mum(h1^s[4], h2^s[5])
}
