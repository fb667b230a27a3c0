package maglev

import "xdpgw/dataplane/flatmap"

// The two hashes of a backend name that define its permutation (section
// 3.4 of the paper: offset from one hash, skip from another, independent
// one). They are part of the contract of this package: the same name must
// give the same permutation in every release, or a manager upgraded in
// place would rewrite every entry of every VIP. TestGolden pins them.
//
// Each hash is FNV-1a (64 bit) over the name bytes from its own starting
// state, so the two runs are different functions of the whole name, then
// murmur3's 64-bit finaliser, because FNV's last step leaves names that
// differ only in their last byte ("nat64-1", "nat64-2") with outputs that
// differ in a structured way; the finaliser spreads that over all bits.

const (
	fnvPrime  = 1099511628211
	offsetIV  = 14695981039346656037 // the standard FNV-1a offset basis
	skipIV    = 0x9e3779b97f4a7c15   // 2^64 / golden ratio: any other odd constant would do
	skipTweak = 0xc2b2ae3d27d4eb4f   // keeps h2 apart from h1 even for an empty name
)

func fnv1a(s string, h uint64) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// nameHashes returns h1 (for the offset) and h2 (for the skip) of a name.
func nameHashes(name string) (h1, h2 uint64) {
	// flatmap.Mix64 is MurmurHash3's finaliser: every input bit affects
	// every output bit with probability close to 1/2.
	return flatmap.Mix64(fnv1a(name, offsetIV)), flatmap.Mix64(fnv1a(name, skipIV) ^ skipTweak)
}

// permutation returns a backend's permutation of a table of prime size m:
// slot j of its preference list is (offset + j*skip) mod m. skip is in
// [1, m-1], so, m being prime, the list visits every slot exactly once.
func permutation(name string, m uint32) (offset, skip uint32) {
	h1, h2 := nameHashes(name)
	offset = uint32(h1 % uint64(m))
	skip = 1
	if m > 1 {
		skip = uint32(h2%uint64(m-1)) + 1
	}
	return offset, skip
}
