package flatmap_test

import (
	"math/rand/v2"
	"testing"

	"xdpgw/dataplane/flatmap"
)

// The map agrees with a Go map on random keys, replacements and misses,
// at every size up to its capacity.
func TestAgainstGoMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 100, 5000} {
		m := flatmap.New(n)
		want := map[uint64]uint32{}
		for len(want) < n {
			k := r.Uint64() >> r.IntN(64) // small keys too, 0 included
			v := r.Uint32()
			_, had := want[k]
			if isNew := m.Put(k, v); isNew == had {
				t.Fatalf("n=%d: Put(%d) new=%v, key present before: %v", n, k, isNew, had)
			}
			want[k] = v
		}
		if m.Len() != len(want) {
			t.Fatalf("n=%d: Len %d, want %d", n, m.Len(), len(want))
		}
		for k, v := range want {
			if got, ok := m.Get(k); !ok || got != v {
				t.Fatalf("n=%d: Get(%d) = %d, %v; want %d", n, k, got, ok, v)
			}
		}
		for range 1000 {
			k := r.Uint64()
			_, in := want[k]
			if _, ok := m.Get(k); ok != in {
				t.Fatalf("n=%d: Get(%d) found=%v, want %v", n, k, ok, in)
			}
		}
	}
	var empty *flatmap.Map
	if _, ok := empty.Get(1); ok || empty.Len() != 0 {
		t.Error("a nil map is not empty")
	}
}

func TestNoAllocs(t *testing.T) {
	m := flatmap.New(10)
	m.Put(42, 7)
	if n := testing.AllocsPerRun(100, func() { m.Get(42); m.Get(43) }); n != 0 {
		t.Errorf("Get allocates %v times", n)
	}
}
