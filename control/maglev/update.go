package maglev

import (
	"cmp"
	"fmt"
	"slices"
)

// Update is the minimal-disruption mode: it computes the table of a new
// set of backends from the previous table, keeping the table size, and
// moves as few entries as balanced shares allow.
//
//  1. Every entry of a backend still in the set keeps it; entries of
//     removed backends become free.
//  2. Targets: backend i should hold M*w_i/W entries (W the sum of the
//     weights). Each gets the floor of that; the M - sum(floors) entries
//     left over go, one each, first to the backends that already hold
//     more than their floor and whose share is not an integer (so that
//     they keep it instead of moving it), then by largest fractional
//     part, then by name. Every target is the floor or the ceiling of the
//     exact share: an integer share is never exceeded.
//  3. A backend above its target is a donor of the surplus; a backend
//     below is a receiver of the deficit. Receivers take turns, in name
//     order, one entry per turn: each walks its own Maglev permutation
//     (the same offset and skip as in Build) from its start and takes the
//     first slot that is free or belongs to a donor with surplus left.
//
// On removal of one backend of N (with M >= N*(N-1), so that no survivor
// ends above its new target) only the removed backend's entries change,
// spread over the survivors. On addition (M >= 2*N*(N+1)) only the
// entries the new backend takes change, and every old backend gives up
// its surplus, the same for all to one entry. The slots a receiver takes
// are those its permutation prefers, so the result is deterministic: a
// pure function of (prev, set), independent of the input order.
//
// Unlike Build, the result depends on history: after a sequence of
// updates, the table is generally not Build of the final set (but is as
// balanced). When no backend of the new set is in prev, nothing can be
// kept and Update returns Build of the set. A zero prev (no entries) is
// an error: the size comes from prev; use Build for a new VIP.
func Update(prev Table, backends []Backend) (Table, error) {
	size := len(prev.Entries)
	if size == 0 {
		return Table{}, fmt.Errorf("maglev: update: %w", ErrNoPrevious)
	}
	bs, err := normalise(backends, size)
	if err != nil {
		return Table{}, fmt.Errorf("maglev: update: %w", err)
	}
	// remap: previous ID -> new ID (NoBackend for a removed backend).
	remap := make([]BackendID, len(prev.Backends))
	kept := false
	for i, b := range prev.Backends {
		remap[i] = NoBackend
		if j, ok := slices.BinarySearchFunc(bs, b.Name, func(x Backend, n string) int { return cmp.Compare(x.Name, n) }); ok {
			remap[i] = BackendID(j)
			kept = true
		}
	}
	t := Table{Backends: bs, Entries: make([]BackendID, size)}
	if !kept || len(bs) == 0 {
		populate(t.Entries, bs)
		return t, nil
	}
	counts := make([]int, len(bs))
	for s, e := range prev.Entries {
		n := NoBackend
		if e >= 0 && int(e) < len(remap) {
			n = remap[e]
		}
		t.Entries[s] = n
		if n >= 0 {
			counts[n]++
		}
	}
	target := targets(size, bs, counts)
	surplus := make([]int, len(bs)) // what a donor may still give
	deficit := make([]int, len(bs)) // what a receiver must still take
	var receivers []int
	for i := range bs {
		if d := counts[i] - target[i]; d > 0 {
			surplus[i] = d
		} else if d < 0 {
			deficit[i] = -d
			receivers = append(receivers, i)
		}
	}
	if len(receivers) == 0 {
		return t, nil
	}
	m := uint32(size)
	ws := make([]walker, len(receivers))
	steps := make([]int, len(receivers))
	for k, i := range receivers {
		ws[k].next, ws[k].skip = permutation(bs[i].Name, m)
	}
	// cand marks the slots a receiver may take: free, or held by a donor.
	// The walk tests this bitmap (80 KiB for 655373 slots, cache
	// resident) and reads the entry only on a hit; a donor's slots stay
	// marked after their owner's surplus is spent and fail the second
	// test. It pays when candidates are sparse (a removal: only the
	// removed backend's slots); on an addition every old backend is a
	// donor, so every slot is a candidate and all bits are set.
	candidates := size
	for i := range bs {
		if surplus[i] == 0 {
			candidates -= counts[i]
		}
	}
	cand := make([]uint64, (m+63)/64)
	if candidates > size/4 {
		for k := range cand {
			cand[k] = ^uint64(0)
		}
	} else {
		for s, e := range t.Entries {
			if e == NoBackend || surplus[e] > 0 {
				cand[s>>6] |= 1 << (s & 63)
			}
		}
	}
	for active := len(receivers); active > 0; {
		for k, i := range receivers {
			if deficit[i] == 0 {
				continue
			}
			w := &ws[k]
			c := w.next
			for {
				// Invariant: free slots + remaining surplus == remaining
				// deficit, and a slot passed over never becomes takeable,
				// so a receiver finds its share within one full turn of
				// its permutation. The bound turns a broken invariant
				// into an error rather than a hang.
				if steps[k]++; steps[k] > size {
					return Table{}, fmt.Errorf("maglev: update: internal error: %s found no slot", bs[i].Name)
				}
				if cand[c>>6]&(1<<(c&63)) != 0 {
					e := t.Entries[c]
					if e == NoBackend || surplus[e] > 0 {
						if e != NoBackend {
							surplus[e]--
						}
						break
					}
				}
				if c += w.skip; c >= m {
					c -= m
				}
			}
			t.Entries[c] = BackendID(i)
			cand[c>>6] &^= 1 << (c & 63)
			if c += w.skip; c >= m {
				c -= m
			}
			w.next = c
			if deficit[i]--; deficit[i] == 0 {
				active--
			}
		}
	}
	return t, nil
}

// targets apportions size entries to the backends in proportion to their
// weights (step 2 of Update). Receivers never have surplus, so a
// receiver's own slots are never taken back by the walk.
func targets(size int, bs []Backend, counts []int) []int {
	var wsum uint64
	for _, b := range bs {
		wsum += uint64(b.Weight)
	}
	t := make([]int, len(bs))
	frac := make([]uint64, len(bs))
	left := size
	for i, b := range bs {
		// size <= 2^24 and weights < 2^32: the product fits in 64 bits.
		p := uint64(size) * uint64(b.Weight)
		t[i] = int(p / wsum)
		frac[i] = p % wsum
		left -= t[i]
	}
	if left == 0 {
		return t
	}
	order := make([]int, len(bs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ka, kb := counts[a] > t[a] && frac[a] > 0, counts[b] > t[b] && frac[b] > 0
		if ka != kb {
			if ka {
				return -1
			}
			return 1
		}
		return cmp.Compare(frac[b], frac[a])
	})
	for _, i := range order[:left] {
		t[i]++
	}
	return t
}
