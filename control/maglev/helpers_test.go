package maglev_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"xdpgw/control/maglev"
)

// macs returns n distinct backend names shaped like the next-hop MACs the
// NAT64 manager uses, from a seeded generator.
func macs(r *rand.Rand, n int) []maglev.Backend {
	seen := make(map[string]bool, n)
	out := make([]maglev.Backend, 0, n)
	for len(out) < n {
		name := fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))
		if !seen[name] {
			seen[name] = true
			out = append(out, maglev.Backend{Name: name})
		}
	}
	return out
}

func mustBuild(tb testing.TB, bs []maglev.Backend, size int) maglev.Table {
	tb.Helper()
	t, err := maglev.Build(bs, size)
	if err != nil {
		tb.Fatalf("Build(%d backends, %d): %v", len(bs), size, err)
	}
	return t
}

func mustUpdate(tb testing.TB, prev maglev.Table, bs []maglev.Backend) maglev.Table {
	tb.Helper()
	t, err := maglev.Update(prev, bs)
	if err != nil {
		tb.Fatalf("Update(%d backends -> %d): %v", len(prev.Backends), len(bs), err)
	}
	return t
}

// names returns the backend name of every entry ("" for none).
func names(t maglev.Table) []string {
	out := make([]string, len(t.Entries))
	for i, e := range t.Entries {
		out[i] = t.Name(e)
	}
	return out
}

// countsByName returns each backend's number of entries, by name.
func countsByName(t maglev.Table) map[string]int {
	c := t.Counts()
	out := make(map[string]int, len(c))
	for i, b := range t.Backends {
		out[b.Name] = c[i]
	}
	return out
}

// changed counts the entries whose backend name differs.
func changed(a, b maglev.Table) int {
	an, bn := names(a), names(b)
	n := 0
	for i := range an {
		if an[i] != bn[i] {
			n++
		}
	}
	return n
}

// spread returns max - min of the counts.
func spread(c []int) int {
	if len(c) == 0 {
		return 0
	}
	return slices.Max(c) - slices.Min(c)
}

func without(bs []maglev.Backend, i int) []maglev.Backend {
	return slices.Delete(slices.Clone(bs), i, i+1)
}
