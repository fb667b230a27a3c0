package checksum

import "encoding/binary"

// Incremental update, RFC 1624 §3 equation 3:
//
//	HC' = ~(~HC + ~m + m')
//
// where HC is the checksum as stored in the header (complemented), m the old
// 16-bit field and m' the new one, all added with end-around carry.
//
// Why equation 3 and not RFC 1141's HC' = HC + m + ~m': a full computation
// over data that is not all zeros never yields a sum of 0x0000 (+0), only
// 0xFFFF (-0), so the stored checksum ~sum can be 0x0000 but never 0xFFFF.
// The RFC 1141 form can produce 0xFFFF where a full recomputation gives
// 0x0000 (RFC 1624 §4, worked example in §5: HC=0xDD2F, m=0x5555,
// m'=0x3285 must give 0x0000). Equation 3 sums ~HC (the old data sum, never
// +0) with the change, so its inner sum is never +0 and the result is
// exactly what a full recomputation would store.
//
// UDP over IPv4 uses a stored 0x0000 to mean "no checksum" (RFC 768): callers
// patching UDP must leave a zero field alone rather than call Update*, and
// store 0xFFFF if an update yields 0x0000 (RFC 768 transmits a computed zero
// checksum as all ones).

// Update16 returns the stored checksum csum updated for a 16-bit field
// changing from old to new.
func Update16(csum, old, new uint16) uint16 {
	s := uint32(^csum) + uint32(^old) + uint32(new)
	s = (s >> 16) + (s & 0xffff)
	s += s >> 16
	return ^uint16(s)
}

// Update32 returns the stored checksum csum updated for a 4-byte field (an
// IPv4 address) changing from old to new. The field must start at an even
// offset in the checksummed data, which every IPv4/TCP/UDP address and port
// field does.
func Update32(csum uint16, old, new [4]byte) uint16 {
	s := uint64(^csum)
	s += uint64(^binary.BigEndian.Uint16(old[0:2]))
	s += uint64(^binary.BigEndian.Uint16(old[2:4]))
	s += uint64(binary.BigEndian.Uint16(new[0:2]))
	s += uint64(binary.BigEndian.Uint16(new[2:4]))
	return ^fold64(s)
}

// Update128 returns the stored checksum csum updated for a 16-byte field (an
// IPv6 address) changing from old to new.
func Update128(csum uint16, old, new [16]byte) uint16 {
	// Sum 32-bit halves as uint64; 8 terms of < 2^32 each plus csum cannot
	// overflow 64 bits. ^x for a 32-bit word is the one's complement
	// negation of both of its 16-bit halves at once.
	s := uint64(^csum)
	for i := 0; i < 16; i += 4 {
		s += uint64(^binary.BigEndian.Uint32(old[i : i+4]))
		s += uint64(binary.BigEndian.Uint32(new[i : i+4]))
	}
	return ^fold64(s)
}

// UpdateBytes returns the stored checksum csum updated for a field changing
// from old to new. old and new must have the same, even length and start at
// an even offset within the checksummed data. If the lengths differ or are
// odd, csum is returned unchanged: the function never panics, but the caller
// has broken the contract.
func UpdateBytes(csum uint16, old, new []byte) uint16 {
	if len(old) != len(new) || len(old)%2 != 0 {
		return csum
	}
	// ~sum(old) == sum(~old) in one's complement arithmetic, so the old
	// bytes can be summed with the fast routine and negated once.
	s := uint32(^csum) + uint32(^Checksum(old, 0)) + uint32(Checksum(new, 0))
	s = (s >> 16) + (s & 0xffff)
	s += s >> 16
	return ^uint16(s)
}

// Several changes to one packet can share their arithmetic: Diff16 and
// Diff32 return a field's change (~old + new, RFC 1624 equation 3) as an
// unfolded sum; diffs add as plain integers (a handful cannot overflow 64
// bits) and Apply updates a stored checksum with their total. Applying the
// sum of several changes gives what a full recomputation would store, as
// applying them one by one does; an address's change computed once serves
// both the IPv4 header checksum and the TCP/UDP one.

// Diff16 is the change of a 16-bit field from old to new.
func Diff16(old, new uint16) uint64 { return uint64(^old) + uint64(new) }

// Diff32 is the change of a 4-byte field (an IPv4 address) from old to new.
// ^ of a 32-bit word negates both of its 16-bit halves at once.
func Diff32(old, new [4]byte) uint64 {
	return uint64(^binary.BigEndian.Uint32(old[:])) + uint64(binary.BigEndian.Uint32(new[:]))
}

// Apply returns the stored checksum csum updated by diff, a sum of Diff16
// and Diff32 results.
func Apply(csum uint16, diff uint64) uint16 { return ^fold64(uint64(^csum) + diff) }
