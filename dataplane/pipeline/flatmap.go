package pipeline

import "xdpgw/dataplane/flatmap"

// mix64 spreads the bits of a key (the flat maps' hash, reused for pool
// candidates and hashed SYN buckets).
func mix64(k uint64) uint64 { return flatmap.Mix64(k) }

func be32(a [4]byte) uint64 {
	return uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
}
