//go:build !linux

package session

// makeWords returns n zeroed uint64 words starting on a 64-byte boundary.
func makeWords(n int) ([]uint64, func()) { return alignWords(n, 64), nil }
