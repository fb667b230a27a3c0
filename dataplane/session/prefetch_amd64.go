package session

// prefetch asks the CPU to bring the cache line at addr into the caches
// (PREFETCHT0) without waiting for it: a hint, never a fault, whatever
// addr is.
//
//go:noescape
func prefetch(addr uintptr)
