package pipeline

import (
	"encoding/binary"
	"net/netip"
)

// The fast path passes IPv4 addresses as addr4 words: the 4 bytes loaded
// in memory order (little-endian), so that storing one back is a single
// move. A [4]byte is never kept in a register (the register ABI passes
// arrays on the stack, and copies go byte by byte); a word is one
// register, one load and one store.

// addr4 is the IPv4 address in the first 4 bytes of a (packet.Parsed's
// layout) as an addr4 word.
func addr4(a *[16]byte) uint32 { return binary.LittleEndian.Uint32(a[:4]) }

// word4 is addr4 for a [4]byte.
func word4(a *[4]byte) uint32 { return binary.LittleEndian.Uint32(a[:]) }

// wordAddr4 is the [4]byte of an addr4 word.
func wordAddr4(a uint32) (b [4]byte) {
	binary.LittleEndian.PutUint32(b[:], a)
	return b
}

// ipWord4 is as4 as an addr4 word.
func ipWord4(a netip.Addr) uint32 {
	if a.Is4() {
		b := a.As4()
		return binary.LittleEndian.Uint32(b[:])
	}
	return 0
}
