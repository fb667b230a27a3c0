package nat64

import (
	"math/rand"
	"testing"
)

// foldRef is fold by repeated shift-mask-add folds (RFC 1071).
func foldRef(s uint64) uint16 {
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint16(s)
}

// TestFoldRotate checks the rotating fold against the plain one at the
// carry edges and on random sums of up to 16 32-bit words (its callers
// add at most 10).
func TestFoldRotate(t *testing.T) {
	edges := []uint64{0, 1, 0xffff, 0x10000, 0x1fffe, 0xffffffff, 0x100000000, 0x1_0000_ffff,
		0xffff_0001, 0xffff_ffff_0000, 0xf_ffff_fff0, 0xf_0000_0000, 0xe_ffff_ffff, 16 * 0xffffffff}
	for _, s := range edges {
		if got, want := fold(s), foldRef(s); got != want {
			t.Fatalf("fold(%#x) = %#x, want %#x", s, got, want)
		}
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 1_000_000; i++ {
		var s uint64
		for n := r.Intn(17); n > 0; n-- {
			w := r.Uint32()
			if r.Intn(4) == 0 {
				w |= 0xffff0000 | uint32(r.Intn(2))*0xffff
			}
			s += uint64(w)
		}
		if got, want := fold(s), foldRef(s); got != want {
			t.Fatalf("fold(%#x) = %#x, want %#x", s, got, want)
		}
	}
}
