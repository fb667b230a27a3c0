//go:build !amd64

package session

// prefetch is a no-op where no prefetch instruction is wired up: Prefetch
// then only costs its hash.
func prefetch(addr uintptr) {}
