package session_test

import (
	"math/rand/v2"
	"testing"

	"xdpgw/dataplane/session"
)

// TestTagCandidates compares the word-wise tag scan with the slot-by-slot
// definition (slot s is a candidate iff its value v has v&tagMask == tag)
// on random buckets, for tag widths from 31 bits (capacity 1) to 9
// (capacity 2^22+5; larger tables only narrow the mask), with slots that
// are empty, match, differ in one tag bit, or hold any value (the top bit
// set too), and any overflow count.
func TestTagCandidates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, capacity := range []int{1, 2, 100, 1 << 10, 1 << 20, 1<<22 + 5} {
		tb, err := session.New(session.Config{Capacity: capacity, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, mask := session.TagCandidates(tb, [16]uint32{}, 0)
		for iter := 0; iter < 20000; iter++ {
			tag := rng.Uint32() & mask
			switch iter % 4 {
			case 0:
				tag = 0 // empty slots match tag 0: callers skip them
			case 1:
				tag = mask
			}
			var words [16]uint32
			for s := range words {
				switch rng.IntN(5) {
				case 0:
					words[s] = 0
				case 1:
					words[s] = rng.Uint32()&^mask | tag
				case 2:
					words[s] = (rng.Uint32()&^mask | tag) ^ 1<<rng.IntN(32)
				case 3:
					words[s] = tag ^ 1 // the borrow case of the classic zero test
				default:
					words[s] = rng.Uint32()
				}
			}
			var want uint32
			for s := 0; s < 15; s++ {
				if words[s]&mask == tag {
					want |= 1 << s
				}
			}
			if got, _ := session.TagCandidates(tb, words, tag); got != want {
				t.Fatalf("capacity %d tag %#x bucket %#x: candidates %015b, want %015b", capacity, tag, words, got, want)
			}
		}
	}
}
