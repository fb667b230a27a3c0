package checksum

import "encoding/binary"

// PseudoHeaderV4 returns the folded, uncomplemented sum of the IPv4
// pseudo-header used by TCP and UDP (RFC 793 §3.1, RFC 768):
//
//	+--------+--------+--------+--------+
//	|           Source Address          |
//	+--------+--------+--------+--------+
//	|         Destination Address       |
//	+--------+--------+--------+--------+
//	|  zero  |  PTCL  |    TCP Length   |
//	+--------+--------+--------+--------+
//
// length is the upper-layer header plus payload length. Pass the result as
// the initial value of Checksum over the upper-layer segment.
func PseudoHeaderV4(src, dst [4]byte, proto uint8, length uint16) uint16 {
	s := uint32(binary.BigEndian.Uint16(src[0:2]))
	s += uint32(binary.BigEndian.Uint16(src[2:4]))
	s += uint32(binary.BigEndian.Uint16(dst[0:2]))
	s += uint32(binary.BigEndian.Uint16(dst[2:4]))
	s += uint32(proto)
	s += uint32(length)
	s = (s >> 16) + (s & 0xffff)
	s += s >> 16
	return uint16(s)
}

// PseudoHeaderV6 returns the folded, uncomplemented sum of the IPv6
// pseudo-header (RFC 8200 §8.1):
//
//	source address (16), destination address (16),
//	upper-layer packet length (32), zero (24), next header (8)
//
// length is the upper-layer length (not including extension headers) and
// proto the upper-layer protocol (not the first Next Header value).
func PseudoHeaderV6(src, dst [16]byte, proto uint8, length uint32) uint16 {
	var s uint64
	for i := 0; i < 16; i += 4 {
		s += uint64(binary.BigEndian.Uint32(src[i : i+4]))
		s += uint64(binary.BigEndian.Uint32(dst[i : i+4]))
	}
	s += uint64(length)
	s += uint64(proto)
	return fold64(s)
}
