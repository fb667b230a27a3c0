package session

import (
	"syscall"
	"unsafe"
)

const hugePage = 2 << 20

// makeWords returns n zeroed uint64 words starting on a 64-byte boundary
// (one entry or bucket per cache line). Large arrays start on a 2 MiB
// boundary and are advised MADV_HUGEPAGE: lookups are random over
// gigabytes, and with 4 KiB pages nearly every one would also miss the TLB.
// The memory is an ordinary Go allocation of a pointer-free type: the GC
// never scans it, and fresh pages are not touched until written, so RSS
// grows with the sessions actually stored.
func makeWords(n int) []uint64 {
	if n*8 < 4*hugePage {
		return alignWords(n, 64)
	}
	s := alignWords(n, hugePage)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n*8/hugePage*hugePage)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) // a hint; ignored without THP
	return s
}
