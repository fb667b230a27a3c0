package flatmap_test

import (
	"math/rand/v2"
	"testing"

	"xdpgw/dataplane/flatmap"
)

// Keys chosen to share the first slot (and the wrap-around slots), the
// map filled to exactly its sized capacity.
func TestReviewCollidingKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 4, 8, 9, 64, 1000} {
		size, shift := 8, 61
		for size < 2*n {
			size <<= 1
			shift--
		}
		target := uint64(size - 1) // last slot: probe chains wrap around
		m := flatmap.New(n)
		want := map[uint64]uint32{}
		keys := []uint64{0}
		for len(keys) < n {
			k := r.Uint64()
			if k*0x9e3779b97f4a7c15>>shift == target || r.IntN(8) == 0 {
				keys = append(keys, k)
			}
		}
		for i, k := range keys {
			m.Put(k, uint32(i))
			want[k] = uint32(i)
		}
		for i, k := range keys[:len(keys)/2] {
			if m.Put(k, uint32(i)+7) {
				t.Fatal("replace reported new")
			}
			want[k] = uint32(i) + 7
		}
		if m.Len() != len(want) {
			t.Fatalf("Len %d want %d", m.Len(), len(want))
		}
		for k, v := range want {
			if got, ok := m.Get(k); !ok || got != v {
				t.Fatalf("n=%d Get(%d)=%d,%v want %d", n, k, got, ok, v)
			}
		}
		for range 2000 {
			k := r.Uint64()
			if k*0x9e3779b97f4a7c15>>shift != target {
				continue
			}
			_, in := want[k]
			if _, ok := m.Get(k); ok != in {
				t.Fatalf("miss %d", k)
			}
		}
	}
}
