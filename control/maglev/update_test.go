package maglev_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"xdpgw/control/maglev"
)

// checkBalanced fails unless every backend holds its exact share to one
// entry (unweighted: counts differ by at most one).
func checkBalanced(t *testing.T, tab maglev.Table) {
	t.Helper()
	var wsum float64
	for _, b := range tab.Backends {
		wsum += float64(b.Weight)
	}
	for i, c := range tab.Counts() {
		exact := float64(tab.Size()) * float64(tab.Backends[i].Weight) / wsum
		if d := float64(c) - exact; d >= 1 || d <= -1 {
			t.Fatalf("%s holds %d entries, exact share %.2f", tab.Backends[i].Name, c, exact)
		}
	}
}

// Minimal mode on removal: exactly the removed backend's entries change,
// and the survivors stay balanced to one entry.
func TestUpdateRemovalMovesOnlyRemoved(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, tt := range []struct{ n, m int }{{2, 1031}, {16, 1031}, {16, 65537}, {100, 10007}, {100, 200003}} {
		t.Run(fmt.Sprintf("N=%d/M=%d", tt.n, tt.m), func(t *testing.T) {
			bs := macs(r, tt.n)
			old := mustBuild(t, bs, tt.m)
			gone := r.IntN(tt.n)
			next := mustUpdate(t, old, without(bs, gone))
			on, nn := names(old), names(next)
			moved := 0
			for i := range on {
				if on[i] != nn[i] {
					moved++
					if on[i] != bs[gone].Name {
						t.Fatalf("entry %d moved from %s, a survivor", i, on[i])
					}
				} else if on[i] == bs[gone].Name {
					t.Fatalf("entry %d still names the removed backend", i)
				}
			}
			if want := countsByName(old)[bs[gone].Name]; moved != want {
				t.Fatalf("moved %d entries, the removed backend held %d", moved, want)
			}
			if s := spread(next.Counts()); s > 1 {
				t.Fatalf("counts spread %d after removal", s)
			}
		})
	}
}

// Minimal mode on addition: only the entries the new backend takes
// change; every old backend gives up the same number, to one entry.
func TestUpdateAdditionMovesOnlyNewShare(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, tt := range []struct{ n, m int }{{1, 1031}, {15, 1031}, {16, 65537}, {99, 20011}, {100, 200003}} {
		t.Run(fmt.Sprintf("N=%d/M=%d", tt.n, tt.m), func(t *testing.T) {
			bs := macs(r, tt.n+1)
			old := mustBuild(t, bs[:tt.n], tt.m)
			next := mustUpdate(t, old, bs)
			newName := bs[tt.n].Name
			on, nn := names(old), names(next)
			moved := 0
			for i := range on {
				if on[i] != nn[i] {
					moved++
					if nn[i] != newName {
						t.Fatalf("entry %d moved from %s to %s, not to the new backend", i, on[i], nn[i])
					}
				}
			}
			if got := countsByName(next)[newName]; moved != got {
				t.Fatalf("moved %d entries, the new backend took %d", moved, got)
			}
			oc, nc := countsByName(old), countsByName(next)
			var gave []int
			for _, b := range bs[:tt.n] {
				gave = append(gave, oc[b.Name]-nc[b.Name])
			}
			// Shares before differ by one and after by one: what each
			// gave up differs by at most two.
			if s := spread(gave); s > 2 {
				t.Fatalf("old backends gave up %d..%d entries: not even", slices.Min(gave), slices.Max(gave))
			}
			if s := spread(next.Counts()); s > 1 {
				t.Fatalf("counts spread %d after addition", s)
			}
		})
	}
}

// The minimal mode is a pure function of (previous table, set): the input
// order does not matter, and a first population is Build's table.
func TestUpdateDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	bs := macs(r, 30)
	old := mustBuild(t, bs[:20], 10007)
	set := append(slices.Clone(bs[2:20]), bs[25:]...)
	want := mustUpdate(t, old, set)
	for trial := 0; trial < 5; trial++ {
		sh := slices.Clone(set)
		r.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		if got := mustUpdate(t, old, sh); !slices.Equal(got.Entries, want.Entries) {
			t.Fatalf("shuffled input gives another table")
		}
	}
	empty := mustBuild(t, nil, 10007)
	if got, b := mustUpdate(t, empty, bs), mustBuild(t, bs, 10007); !slices.Equal(got.Entries, b.Entries) {
		t.Errorf("Update from an empty table differs from Build")
	}
	if got := mustUpdate(t, want, set); !slices.Equal(got.Entries, want.Entries) {
		t.Errorf("Update with the same set changed the table")
	}
	if got := mustUpdate(t, want, nil); spread(got.Counts()) != 0 || got.Lookup(1) != maglev.NoBackend {
		t.Errorf("Update to no backends left entries")
	}
}

// A random walk of changes (several added and removed at once, weights
// changed) keeps the table balanced, and each step moves no more than
// the churn requires: entries of removed backends plus the gains of
// backends below their target.
func TestUpdateRandomWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	pool := macs(r, 60)
	for _, weighted := range []bool{false, true} {
		cur := slices.Clone(pool[:20])
		tab := mustBuild(t, cur, 20011)
		for step := 0; step < 30; step++ {
			next := slices.Clone(cur)
			for k := r.IntN(3); k > 0 && len(next) > 1; k-- {
				next = without(next, r.IntN(len(next)))
			}
			for k := r.IntN(3); k > 0; k-- {
				b := pool[r.IntN(len(pool))]
				if !slices.ContainsFunc(next, func(x maglev.Backend) bool { return x.Name == b.Name }) {
					next = append(next, b)
				}
			}
			if weighted {
				for i := range next {
					if r.IntN(4) == 0 {
						next[i].Weight = uint32(1 + r.IntN(4))
					}
				}
			}
			up := mustUpdate(t, tab, next)
			checkBalanced(t, up)
			// Lower bound on any balanced result: entries of removed
			// backends plus what backends above target must give.
			oc, nc := countsByName(tab), countsByName(up)
			need := 0
			for name, c := range oc {
				if k, ok := nc[name]; !ok {
					need += c
				} else if c > k {
					need += c - k
				}
			}
			if moved := changed(tab, up); moved != need {
				t.Fatalf("weighted=%v step %d: moved %d, necessary %d", weighted, step, moved, need)
			}
			tab, cur = up, next
		}
	}
}

func TestDiff(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	bs := macs(r, 40)
	a := mustBuild(t, bs[:16], 1031)
	cases := []struct {
		name     string
		old, new maglev.Table
	}{
		{"same", a, a},
		{"plain remove", a, mustBuild(t, without(bs[:16], 3), 1031)},
		{"plain add before in name order", a, mustBuild(t, bs[:17], 1031)},
		{"minimal add", a, mustUpdate(t, a, bs[:20])},
		{"minimal swap", a, mustUpdate(t, a, bs[8:24])},
		{"weight change", a, mustUpdate(t, a, append([]maglev.Backend{{Name: bs[0].Name, Weight: 3}}, bs[1:16]...))},
		{"to empty", a, mustBuild(t, nil, 1031)},
		{"from empty", mustBuild(t, nil, 1031), a},
		{"new VIP", maglev.Table{}, a},
		{"deleted VIP", a, maglev.Table{}},
		{"resize up", a, mustBuild(t, bs[:16], 2053)},
		{"resize down", mustBuild(t, bs[:16], 2053), a},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			ch := maglev.Diff(tt.old, tt.new)
			// Apply the diff to the old table's names.
			got := names(tt.old)
			for len(got) < tt.new.Size() {
				got = append(got, "")
			}
			last := -1
			for _, c := range ch {
				if c.Index <= last {
					t.Fatalf("changes not in increasing index order at %d", c.Index)
				}
				last = c.Index
				was := ""
				if c.Index < tt.old.Size() {
					was = tt.old.Name(tt.old.Entries[c.Index])
				}
				now := ""
				if c.Index < tt.new.Size() {
					now = tt.new.Name(tt.new.Entries[c.Index])
				}
				if tt.old.Name(c.Old) != was || tt.new.Name(c.New) != now {
					t.Fatalf("change %+v does not describe entry %d", c, c.Index)
				}
				if c.Index < tt.old.Size() && c.Index < tt.new.Size() && tt.old.Name(c.Old) == tt.new.Name(c.New) {
					t.Fatalf("change %+v lists an unchanged entry", c)
				}
				got[c.Index] = tt.new.Name(c.New)
			}
			got = got[:tt.new.Size()]
			if want := names(tt.new); !slices.Equal(got, want) {
				t.Fatalf("old + diff != new")
			}
			if tt.old.Size() == tt.new.Size() {
				if n := changed(tt.old, tt.new); n != len(ch) {
					t.Fatalf("%d changes listed, %d entries differ", len(ch), n)
				}
			}
		})
	}
}

func TestVIPs(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	bs := macs(r, 5)
	for _, mode := range []maglev.Mode{maglev.Plain, maglev.Minimal} {
		t.Run(mode.String(), func(t *testing.T) {
			v := maglev.VIPs{Size: 1031, Mode: mode}
			ch, err := v.SetBackends("vip-a", bs[:4])
			if err != nil || len(ch) != 1031 {
				t.Fatalf("new VIP: %d changes, err %v", len(ch), err)
			}
			tab, _ := v.Table("vip-a")
			ch, err = v.AddBackends("vip-a", bs[4])
			next, _ := v.Table("vip-a")
			if err != nil || len(ch) != changed(tab, next) || len(ch) == 0 {
				t.Fatalf("add backend: %d changes, err %v", len(ch), err)
			}
			if mode == maglev.Minimal && len(ch) != countsByName(next)[bs[4].Name] {
				t.Fatalf("minimal add moved %d, new backend holds %d", len(ch), countsByName(next)[bs[4].Name])
			}
			ch, err = v.DeleteBackends("vip-a", bs[0].Name, "unknown")
			after, _ := v.Table("vip-a")
			if err != nil || len(after.Backends) != 4 || len(ch) == 0 {
				t.Fatalf("delete backend: %d changes, %d backends, err %v", len(ch), len(after.Backends), err)
			}
			if _, err := v.SetBackends("vip-a", []maglev.Backend{{Name: "x"}, {Name: "x"}}); err == nil {
				t.Fatalf("duplicate names accepted")
			}
			if again, _ := v.Table("vip-a"); !slices.Equal(again.Entries, after.Entries) {
				t.Fatalf("a failed verb changed the table")
			}
			if _, err := v.DeleteBackends("vip-b", "x"); err == nil {
				t.Fatalf("DeleteBackends of an unknown VIP succeeded")
			}
			v.SetBackends("vip-0", bs)
			if got := v.Names(); !slices.Equal(got, []string{"vip-0", "vip-a"}) {
				t.Fatalf("Names = %v", got)
			}
			if !v.DeleteVIP("vip-a") || v.DeleteVIP("vip-a") {
				t.Fatalf("DeleteVIP")
			}
		})
	}
}

// A backend whose exact share is an integer must get exactly that share:
// the entry left over after the floors goes to a backend with a fraction,
// even when the integer-share backend holds more entries (stickiness).
// Here "a" (weight 4 of 10, M=5) has an exact share of 2 and held all 5.
func TestUpdateIntegerShareGetsNoExtraEntry(t *testing.T) {
	old := mustBuild(t, []maglev.Backend{{Name: "a", Weight: 3}}, 5)
	next := mustUpdate(t, old, []maglev.Backend{
		{Name: "a", Weight: 4}, {Name: "b", Weight: 1}, {Name: "c", Weight: 2},
		{Name: "d", Weight: 2}, {Name: "e", Weight: 1},
	})
	checkBalanced(t, next)
}
