//go:build !linux

package fib

// makeLarge returns a zeroed slice of n elements (huge pages are only
// requested on Linux).
func makeLarge[E uint32 | uint64](n int) []E { return make([]E, n) }
