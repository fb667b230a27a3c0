package maglev_test

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"xdpgw/control/maglev"
)

func TestIsPrimeAgainstSieve(t *testing.T) {
	const n = 20000
	composite := make([]bool, n)
	for i := 2; i < n; i++ {
		for j := 2 * i; j < n; j += i {
			composite[j] = true
		}
	}
	for i := -1; i < n; i++ {
		want := i >= 2 && !composite[i]
		if got := maglev.IsPrime(i); got != want {
			t.Errorf("IsPrime(%d) = %v, want %v", i, got, want)
		}
	}
	for _, tt := range []struct{ in, want int }{
		{-5, 2}, {0, 2}, {2, 2}, {3, 3}, {4, 5}, {1000, 1009}, {1024, 1031},
		{32000, 32003}, {65536, 65537}, {65537, 65537}, {655360, 655373}, {200000, 200003},
	} {
		if got := maglev.NextPrime(tt.in); got != tt.want {
			t.Errorf("NextPrime(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	two := []maglev.Backend{{Name: "a"}, {Name: "b"}}
	tests := []struct {
		name     string
		backends []maglev.Backend
		size     int
		want     error
		wantMsg  string
	}{
		{"size not prime", two, 65536, maglev.ErrSizeNotPrime, "next prime: 65537"},
		{"size one", nil, 1, maglev.ErrSizeRange, "size 1"},
		{"size too big", two, maglev.MaxSize + 1, maglev.ErrSizeRange, ""},
		{"more backends than entries", []maglev.Backend{{Name: "a"}, {Name: "b"}, {Name: "c"}}, 2, maglev.ErrTooManyBackends, "3 backends"},
		{"empty name", []maglev.Backend{{Name: "a"}, {Name: ""}}, 7, maglev.ErrEmptyName, ""},
		{"duplicate name", []maglev.Backend{{Name: "b"}, {Name: "a"}, {Name: "b", Weight: 3}}, 7, maglev.ErrDuplicateName, `"b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := maglev.Build(tt.backends, tt.size)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Build: err %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.HasPrefix(err.Error(), "maglev: build: ") {
				t.Errorf("Build: message %q lacks %q", err, tt.wantMsg)
			}
			prev := mustBuild(t, nil, 7)
			if tt.size == 7 {
				if _, err := maglev.Update(prev, tt.backends); !errors.Is(err, tt.want) {
					t.Errorf("Update: err %v, want %v", err, tt.want)
				}
			}
		})
	}
	if _, err := maglev.Update(maglev.Table{}, two); !errors.Is(err, maglev.ErrNoPrevious) {
		t.Errorf("Update of a zero table: err %v, want ErrNoPrevious", err)
	}
}

func TestBuildNoBackends(t *testing.T) {
	tab := mustBuild(t, nil, 13)
	for i, e := range tab.Entries {
		if e != maglev.NoBackend {
			t.Fatalf("entry %d = %d, want NoBackend", i, e)
		}
	}
	if got := tab.Lookup(12345); got != maglev.NoBackend || tab.Name(got) != "" {
		t.Errorf("Lookup = %d (%q), want NoBackend", got, tab.Name(got))
	}
}

// The paper's property: with equal weights, counts differ by at most one,
// and the backends that get the extra entry are the first by name (they
// take their turn first in the last, partial round).
func TestBuildBalanced(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 16, 100, 1000} {
		for _, size := range []int{1031, 5003, 65537} {
			if n > size {
				continue
			}
			t.Run(fmt.Sprintf("N=%d/M=%d", n, size), func(t *testing.T) {
				tab := mustBuild(t, macs(r, n), size)
				c := tab.Counts()
				if s := spread(c); s > 1 {
					t.Fatalf("counts spread %d > 1: min %d max %d", s, slices.Min(c), slices.Max(c))
				}
				extra := size % n
				for i, k := range c {
					want := size / n
					if i < extra {
						want++
					}
					if k != want {
						t.Fatalf("backend %d (%s) holds %d, want %d", i, tab.Backends[i].Name, k, want)
					}
				}
			})
		}
	}
}

// Maglev's table must not depend on the order in which the manager lists
// the next hops: a recomputation from the same set is the same table.
func TestBuildOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, weighted := range []bool{false, true} {
		bs := macs(r, 40)
		if weighted {
			for i := range bs {
				bs[i].Weight = uint32(1 + r.IntN(5))
			}
		}
		want := mustBuild(t, bs, 10007)
		for trial := 0; trial < 5; trial++ {
			sh := slices.Clone(bs)
			r.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
			got := mustBuild(t, sh, 10007)
			if !slices.Equal(got.Entries, want.Entries) || !slices.Equal(got.Backends, want.Backends) {
				t.Fatalf("weighted=%v: shuffled input gives another table", weighted)
			}
		}
	}
}

// reference is the paper's pseudo-code, literally: full permutation
// arrays, a modulo per element, entries read back to test occupancy, and
// the weighted turn-taking. It is the oracle for the optimised populate.
func reference(bs []maglev.Backend, m int) []maglev.BackendID {
	bs = slices.Clone(bs)
	slices.SortFunc(bs, func(a, b maglev.Backend) int { return strings.Compare(a.Name, b.Name) })
	perm := make([][]int, len(bs))
	for i, b := range bs {
		off, skip := maglev.Permutation(b.Name, m)
		perm[i] = make([]int, m)
		for j := 0; j < m; j++ {
			perm[i][j] = (off + j*skip) % m
		}
	}
	entry := make([]maglev.BackendID, m)
	for i := range entry {
		entry[i] = -1
	}
	if len(bs) == 0 {
		return entry
	}
	w := func(i int) uint64 { return uint64(max(bs[i].Weight, 1)) }
	var wmax uint64
	for i := range bs {
		wmax = max(wmax, w(i))
	}
	next := make([]int, len(bs))
	credit := make([]uint64, len(bs))
	n := 0
	for {
		for i := range bs {
			credit[i] += w(i)
			if credit[i] < wmax {
				continue
			}
			credit[i] -= wmax
			c := perm[i][next[i]]
			for entry[c] >= 0 {
				next[i]++
				c = perm[i][next[i]]
			}
			entry[c] = maglev.BackendID(i)
			next[i]++
			n++
			if n == m {
				return entry
			}
		}
	}
}

func TestBuildMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tt := range []struct {
		n, m     int
		weighted bool
	}{
		{1, 2, false}, {2, 2, false}, {2, 3, false}, {3, 101, false}, {16, 1031, false},
		{16, 65537, false}, {100, 10007, false}, {5, 1031, true}, {16, 10007, true}, {100, 20011, true},
	} {
		bs := macs(r, tt.n)
		if tt.weighted {
			for i := range bs {
				bs[i].Weight = uint32(r.IntN(10)) // zero means one
			}
		}
		got := mustBuild(t, bs, tt.m)
		want := reference(bs, tt.m)
		if !slices.Equal(got.Entries, want) {
			t.Errorf("N=%d M=%d weighted=%v: optimised table differs from the reference", tt.n, tt.m, tt.weighted)
		}
	}
}

// TestGolden pins the name hashes and the algorithm: a change here
// rewrites every entry of every VIP on an in-place upgrade of the manager.
func TestGolden(t *testing.T) {
	bs := make([]maglev.Backend, 16)
	for i := range bs {
		bs[i].Name = fmt.Sprintf("nat64-%d", i)
	}
	tab := mustBuild(t, bs, maglev.DefaultSize)
	h := fnv.New64a()
	for _, e := range tab.Entries {
		h.Write([]byte{byte(e)})
	}
	off, skip := maglev.Permutation("nat64-0", maglev.DefaultSize)
	got := fmt.Sprintf("off=%d skip=%d first=%v sum=%016x", off, skip, tab.Entries[:8], h.Sum64())
	const want = "off=11468 skip=25697 first=[9 0 5 3 15 11 7 12] sum=310437bec79ad8e3"
	if got != want {
		t.Errorf("golden table changed:\n got %s\nwant %s", got, want)
	}
}

func TestLookup(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	tab := mustBuild(t, macs(r, 16), 1031)
	for i := 0; i < 1000; i++ {
		h := r.Uint64()
		if got, want := tab.Lookup(h), tab.Entries[h%1031]; got != want || tab.Index(h) != int(h%1031) {
			t.Fatalf("Lookup(%#x) = %d, want %d", h, got, want)
		}
	}
	if id := tab.ID(tab.Backends[5].Name); id != 5 {
		t.Errorf("ID of backend 5 = %d", id)
	}
	if id := tab.ID("nope"); id != maglev.NoBackend {
		t.Errorf("ID of an unknown name = %d", id)
	}
	if a := testing.AllocsPerRun(100, func() { tab.Lookup(r.Uint64()) }); a != 0 {
		t.Errorf("Lookup allocates %v times", a)
	}
}

// Weighted Maglev: counts proportional to the weights. With turn-taking,
// backend i holds floor(R*w_i/wmax) entries after R rounds, so the error
// is a round's rounding: under one entry per backend plus N*w_i/W.
func TestBuildWeighted(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, tt := range []struct {
		name    string
		weights []uint32
		size    int
	}{
		{"1:2:3:4", []uint32{1, 2, 3, 4}, 65537},
		{"one heavy", []uint32{1, 1, 1, 1, 1, 1, 1, 10}, 65537},
		{"one light", []uint32{100, 100, 100, 1}, 65537},
		{"random 1..100", nil, 65537},
		{"big weights", []uint32{1 << 31, 1 << 30, 3 << 29}, 5003},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := tt.weights
			if ws == nil {
				for range 32 {
					ws = append(ws, uint32(1+r.IntN(100)))
				}
			}
			bs := macs(r, len(ws))
			var wsum float64
			for i := range bs {
				bs[i].Weight = ws[i]
				wsum += float64(ws[i])
			}
			tab := mustBuild(t, bs, tt.size)
			c := tab.Counts()
			for i, b := range tab.Backends {
				exact := float64(tt.size) * float64(b.Weight) / wsum
				tol := 1 + float64(len(bs))*float64(b.Weight)/wsum
				if d := float64(c[i]) - exact; d > tol || d < -tol {
					t.Errorf("%s weight %d: %d entries, exact share %.1f (tolerance %.2f)", b.Name, b.Weight, c[i], exact, tol)
				}
			}
			// Scaling every weight changes nothing; equal weights are the
			// unweighted table.
			scaled := slices.Clone(bs)
			for i := range scaled {
				scaled[i].Weight *= 1 + uint32(len(tt.name)%2)
				if bs[i].Weight >= 1<<30 {
					scaled[i].Weight = bs[i].Weight
				}
			}
			if s := mustBuild(t, scaled, tt.size); !slices.Equal(s.Entries, tab.Entries) {
				t.Errorf("scaling the weights changed the table")
			}
		})
	}
	bs := macs(r, 10)
	plain := mustBuild(t, bs, 1031)
	for i := range bs {
		bs[i].Weight = 7
	}
	if eq := mustBuild(t, bs, 1031); !slices.Equal(eq.Entries, plain.Entries) {
		t.Errorf("equal weights give another table than no weights")
	}
}

// Plain Maglev on removal and addition of one backend: the entries of the
// backend removed (or taken by the one added) change, plus an excess that
// shrinks as M/N grows. The bound here is loose; `xdpgw bench maglev`
// measures the excess (docs/maglev.md).
func TestPlainDisruption(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, tt := range []struct {
		n, m      int
		maxExcess float64 // fraction of M
	}{
		{16, 1031, 0.10},
		{16, 32003, 0.02},
		{16, 65537, 0.02},
		{100, 200003, 0.02},
	} {
		t.Run(fmt.Sprintf("N=%d/M=%d", tt.n, tt.m), func(t *testing.T) {
			bs := macs(r, tt.n+1)
			old := mustBuild(t, bs[:tt.n], tt.m)
			gone := r.IntN(tt.n)
			rem := mustBuild(t, without(bs[:tt.n], gone), tt.m)
			ideal := countsByName(old)[bs[gone].Name]
			moved := changed(old, rem)
			if moved < ideal {
				t.Fatalf("removal moved %d < the removed backend's %d", moved, ideal)
			}
			ex := float64(moved-ideal) / float64(tt.m)
			t.Logf("remove: moved %d, ideal %d, excess %.3f%% of M", moved, ideal, 100*ex)
			if ex > tt.maxExcess {
				t.Errorf("removal excess %.3f%% > %.3f%%", 100*ex, 100*tt.maxExcess)
			}
			add := mustBuild(t, bs, tt.m)
			ideal = countsByName(add)[bs[tt.n].Name]
			moved = changed(old, add)
			ex = float64(moved-ideal) / float64(tt.m)
			t.Logf("add:    moved %d, ideal %d, excess %.3f%% of M", moved, ideal, 100*ex)
			if moved < ideal || ex > tt.maxExcess {
				t.Errorf("addition moved %d for %d taken: excess %.3f%%", moved, ideal, 100*ex)
			}
		})
	}
}
