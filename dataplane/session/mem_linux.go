package session

import (
	"syscall"
	"unsafe"
)

const hugePage = 2 << 20

// makeWords returns n zeroed uint64 words starting on a 64-byte boundary
// (one entry or bucket per cache line), and the function that releases
// them (nil for Go memory, which the GC frees).
//
// Large arrays are mapped from the kernel (anonymous mmap) on a 2 MiB
// boundary and advised MADV_HUGEPAGE before their first touch: lookups are
// random over gigabytes, and with 4 KiB pages nearly every one would also
// miss the TLB. Go heap memory was not enough: the allocator hands a new
// large object the memory of a freed one after zeroing it itself, which
// faults every page in at 4 KiB before the advice can apply (a benchmark
// that made tables in turn got 42 huge pages for 900 MiB of tables). A
// fresh mapping is untouched until written, so RSS grows with the
// sessions actually stored; it holds no Go pointers and the GC never
// scans it. If the mapping fails, Go memory is used.
func makeWords(n int) ([]uint64, func()) {
	if n*8 < 4*hugePage {
		return alignWords(n, 64), nil
	}
	size := (n*8+hugePage-1)/hugePage*hugePage + hugePage
	m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return alignWords(n, 64), nil
	}
	off := 0
	if r := int(uintptr(unsafe.Pointer(&m[0])) % hugePage); r != 0 {
		off = hugePage - r
	}
	_ = syscall.Madvise(m[off:off+(n*8+hugePage-1)/hugePage*hugePage], syscall.MADV_HUGEPAGE) // a hint; ignored without THP
	return unsafe.Slice((*uint64)(unsafe.Pointer(&m[off])), n), func() { _ = syscall.Munmap(m) }
}
