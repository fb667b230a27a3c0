package access

import "encoding/binary"

// The flow hash of access.p4: Hash<bit<32>>(HashAlgorithm_t.CRC32) over
// {ipv6.src_addr, ipv6.dst_addr, src_port, dst_port}, each field big-endian
// and concatenated in that order (36 bytes). CRC32 is CRC-32/IEEE 802.3:
// reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF,
// the same as hash/crc32.ChecksumIEEE, which the tests use as the oracle.
// Keep in step with p4/access.p4 (flow_hash) and p4/testdata/flows.txt.
//
// hash/crc32 itself is not used per packet: its dispatch through a
// function variable makes the argument escape, which allocates.

// crcTable is the slicing-by-8 table of the reflected IEEE polynomial.
var crcTable = func() (t [8][256]uint32) {
	const poly = 0xedb88320
	for i := range 256 {
		c := uint32(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

// crc32Update continues a CRC-32/IEEE over b (crc is the running value
// before the final xor).
func crc32Update(crc uint32, b []byte) uint32 {
	t := &crcTable
	for len(b) >= 8 {
		crc ^= binary.LittleEndian.Uint32(b)
		hi := binary.LittleEndian.Uint32(b[4:])
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24] ^
			t[3][hi&0xff] ^ t[2][hi>>8&0xff] ^ t[1][hi>>16&0xff] ^ t[0][hi>>24]
		b = b[8:]
	}
	for _, c := range b {
		crc = t[0][byte(crc)^c] ^ crc>>8
	}
	return crc
}

// CRC32 returns the CRC-32/IEEE of b.
func CRC32(b []byte) uint32 { return ^crc32Update(^uint32(0), b) }

// FlowKeySize is the length of the hashed flow key.
const FlowKeySize = 16 + 16 + 2 + 2

// FlowHash6 is access.p4's flow_hash for an IPv6 flow.
func FlowHash6(src, dst *[16]byte, sport, dport uint16) uint32 {
	var k [FlowKeySize]byte
	copy(k[0:16], src[:])
	copy(k[16:32], dst[:])
	binary.BigEndian.PutUint16(k[32:], sport)
	binary.BigEndian.PutUint16(k[34:], dport)
	return CRC32(k[:])
}

// MaglevIndex is the table index of a flow hash: hash mod size. For the
// P4 program's size, 65537, this equals the divider-free fold access.p4
// computes (fold_index_ge/lt); p4_test.go checks both on the vectors.
func MaglevIndex(hash, size uint32) uint32 { return hash % size }
