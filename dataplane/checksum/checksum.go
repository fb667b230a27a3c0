package checksum

import (
	"encoding/binary"
	"math/bits"
)

// fold64 reduces a 64-bit one's complement accumulator to 16 bits.
// End-around carries are added back in at every width (RFC 1071 §2(B)), so
// the order of additions does not matter.
//
// Each halving adds the word to itself rotated by half its width: the top
// half of the result is then hi + lo plus the carry out of the bottom half's
// lo + hi, which is exactly the end-around carry (the carry out of the top
// is dropped). Two rotate-adds replace four shift-mask-add folds; this runs
// for every checksum of every packet.
func fold64(s uint64) uint16 {
	s += bits.RotateLeft64(s, 32)
	h := uint32(s >> 32)
	h += bits.RotateLeft32(h, 16)
	return uint16(h >> 16)
}

// Checksum returns the 16-bit one's complement sum of b added to initial,
// folded but not complemented (RFC 1071). An odd trailing byte is treated as
// the high byte of a word padded with zero. The caller stores ^Checksum(...)
// in a checksum field.
//
// The loop adds 64-bit big-endian words with explicit carry (math/bits.Add64
// compiles to ADC); one's complement addition is associative and byte-order
// independent across word widths (RFC 1071 §2(A),(C)), so summing 8 bytes at
// a time and folding once at the end gives the same 16-bit result.
func Checksum(b []byte, initial uint16) uint16 {
	var sum, carry uint64
	sum = uint64(initial)
	for len(b) >= 32 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[0:8]), 0)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[8:16]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[16:24]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[24:32]), carry)
		sum += carry // cannot overflow: sum <= 2^64-2 after a carry out
		b = b[32:]
	}
	for len(b) >= 8 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[0:8]), 0)
		sum += carry
		b = b[8:]
	}
	// Tail: at most 7 bytes; these additions cannot overflow 64 bits
	// unless sum is already near the top, so use Add64 for the word-sized
	// pieces to stay exact.
	if len(b) >= 4 {
		sum, carry = bits.Add64(sum, uint64(binary.BigEndian.Uint32(b)), 0)
		sum += carry
		b = b[4:]
	}
	if len(b) >= 2 {
		sum, carry = bits.Add64(sum, uint64(binary.BigEndian.Uint16(b)), 0)
		sum += carry
		b = b[2:]
	}
	if len(b) == 1 {
		sum, carry = bits.Add64(sum, uint64(b[0])<<8, 0)
		sum += carry
	}
	return fold64(sum)
}

// Sum20 is Checksum(b[:20], 0) unrolled for an IPv4 header without
// options, the one length every forwarded packet has: two 64-bit and one
// 32-bit addition instead of the general loop.
func Sum20(b []byte) uint16 {
	_ = b[19]
	s, c := bits.Add64(binary.BigEndian.Uint64(b[0:8]), binary.BigEndian.Uint64(b[8:16]), 0)
	s, c2 := bits.Add64(s, uint64(binary.BigEndian.Uint32(b[16:20])), c)
	return fold64(s + c2)
}

// Combine returns the one's complement sum of a and b (RFC 1071 §1).
func Combine(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>16)
}
