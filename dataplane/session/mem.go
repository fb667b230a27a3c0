package session

import "unsafe"

// alignWords returns n zeroed words whose first word is align-byte aligned,
// carved from a slightly larger allocation (kept alive by the slice).
func alignWords(n, align int) []uint64 {
	pad := align / 8
	buf := make([]uint64, n+pad)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&buf[0])) % uintptr(align)); r != 0 {
		off = (align - r) / 8
	}
	return buf[off : off+n : off+n]
}

func unsafeStats(s *Stats) unsafe.Pointer { return unsafe.Pointer(s) }
