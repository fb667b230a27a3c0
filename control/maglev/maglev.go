package maglev

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DefaultSize is the table size of a VIP when the configuration does not
// set one: a prime a little above 2^16, large enough that 16 backends
// split it to within 1/4096 of equal shares, small enough for a switch
// table per VIP.
const DefaultSize = 65537

// MaxSize bounds the table size. A Tofino exact-match table holds far
// fewer entries; the bound keeps slot arithmetic in uint32 (2*MaxSize
// fits) and a mistaken size from allocating gigabytes.
const MaxSize = 1 << 24

// Errors returned by Build and Update, wrapped with the offending value;
// test them with errors.Is.
var (
	ErrSizeNotPrime    = errors.New("table size is not prime")
	ErrSizeRange       = errors.New("table size out of range")
	ErrTooManyBackends = errors.New("more backends than table entries")
	ErrEmptyName       = errors.New("backend name is empty")
	ErrDuplicateName   = errors.New("duplicate backend name")
	ErrNoPrevious      = errors.New("previous table is empty")
)

// Backend is one destination of a VIP: for the NAT64 Access tier, the
// next-hop MAC of one NAT64 server, written as text. The name is the
// backend's identity: its permutation of the table is derived from the
// name alone, so the same name keeps the same preferences wherever it
// appears in a list.
//
// Weight sets the backend's share relative to the others of the same
// VIP: a backend of weight 2 gets twice the entries of a backend of
// weight 1. Zero means 1, so that unweighted callers leave it unset. To
// drain a backend, remove it.
type Backend struct {
	Name   string
	Weight uint32
}

// BackendID is the index of a backend in Table.Backends. It is local to
// one table: the same name can have different IDs in two tables.
type BackendID int32

// NoBackend is the entry of a table that has no backends.
const NoBackend BackendID = -1

// Table is one VIP's lookup table.
type Table struct {
	// Backends are sorted by name, each once, with Weight >= 1.
	Backends []Backend
	// Entries has one element per slot; its length is the table size, a
	// prime. Entries[i] indexes Backends, or is NoBackend when Backends is
	// empty.
	Entries []BackendID
}

// Size returns the number of entries (M).
func (t Table) Size() int { return len(t.Entries) }

// Index returns the entry a flow hash selects: hash mod M.
func (t Table) Index(hash uint64) int {
	return int(hash % uint64(len(t.Entries)))
}

// Lookup returns the backend of a flow hash, or NoBackend for a table
// without backends. The table must not be the zero Table.
func (t Table) Lookup(hash uint64) BackendID {
	return t.Entries[hash%uint64(len(t.Entries))]
}

// Name returns the name of a backend of this table, "" for NoBackend.
func (t Table) Name(id BackendID) string {
	if id < 0 || int(id) >= len(t.Backends) {
		return ""
	}
	return t.Backends[id].Name
}

// ID returns the ID of the backend with this name, or NoBackend.
func (t Table) ID(name string) BackendID {
	i, ok := slices.BinarySearchFunc(t.Backends, name, func(b Backend, n string) int {
		return strings.Compare(b.Name, n)
	})
	if !ok {
		return NoBackend
	}
	return BackendID(i)
}

// Counts returns how many entries each backend holds, indexed by BackendID.
func (t Table) Counts() []int {
	c := make([]int, len(t.Backends))
	for _, e := range t.Entries {
		if e >= 0 {
			c[e]++
		}
	}
	return c
}

// Build computes the Maglev table of a set of backends: the paper's
// algorithm (section 3.4, "Populate Maglev hashing lookup table"). Every
// backend walks its own permutation of the slots (offset and skip from
// two hashes of its name) and, in turn, takes the next slot of its
// permutation that is still empty, until the table is full. With equal
// weights every backend takes one slot per round, so the counts differ by
// at most one; the backends that take the last, partial round are the
// first by name.
//
// Weighted (the same turn-taking as Katran's weighted Maglev): each round
// every backend adds its weight to a credit and takes a slot only when
// the credit reaches the largest weight, which it then subtracts. The
// heaviest backends take a slot every round, a backend of half their
// weight every second round, and so on, so the counts are proportional
// to the weights up to a round's rounding. With equal weights this is
// exactly the unweighted algorithm.
//
// Build is a pure function of the set: the input order does not matter.
// Errors: size not prime or outside [2, MaxSize], more backends than
// entries, an empty or duplicate name.
func Build(backends []Backend, size int) (Table, error) {
	bs, err := normalise(backends, size)
	if err != nil {
		return Table{}, fmt.Errorf("maglev: build: %w", err)
	}
	t := Table{Backends: bs, Entries: make([]BackendID, size)}
	populate(t.Entries, bs)
	return t, nil
}

// normalise checks the size and the backends and returns the backends
// sorted by name with zero weights made 1, in a new slice.
func normalise(backends []Backend, size int) ([]Backend, error) {
	if size < 2 || size > MaxSize {
		return nil, fmt.Errorf("size %d: %w (2..%d)", size, ErrSizeRange, MaxSize)
	}
	if !IsPrime(size) {
		return nil, fmt.Errorf("size %d: %w (next prime: %d)", size, ErrSizeNotPrime, NextPrime(size))
	}
	if len(backends) > size {
		return nil, fmt.Errorf("%d backends, size %d: %w", len(backends), size, ErrTooManyBackends)
	}
	bs := make([]Backend, len(backends))
	copy(bs, backends)
	slices.SortFunc(bs, func(a, b Backend) int { return strings.Compare(a.Name, b.Name) })
	for i := range bs {
		if bs[i].Name == "" {
			return nil, fmt.Errorf("backend %d: %w", i, ErrEmptyName)
		}
		if i > 0 && bs[i].Name == bs[i-1].Name {
			return nil, fmt.Errorf("backend %q: %w", bs[i].Name, ErrDuplicateName)
		}
		if bs[i].Weight == 0 {
			bs[i].Weight = 1
		}
	}
	return bs, nil
}

// walker is a backend's position in its permutation: the next slot to try
// and the step. Slot arithmetic stays below 2*MaxSize, in uint32, and
// the step wraps by one conditional subtraction instead of a modulo.
type walker struct {
	next, skip uint32
}

func newWalkers(bs []Backend, m uint32) []walker {
	w := make([]walker, len(bs))
	for i, b := range bs {
		w[i].next, w[i].skip = permutation(b.Name, m)
	}
	return w
}

// populate fills entries (all of them) from the sorted, normalised
// backends. Occupancy is tracked in a bitmap (8 KiB for 65537 slots, L1
// resident) rather than by reading entries back, which would be 32 times
// larger and miss the cache on big tables.
func populate(entries []BackendID, bs []Backend) {
	if len(bs) == 0 {
		for i := range entries {
			entries[i] = NoBackend
		}
		return
	}
	m := uint32(len(entries))
	ws := newWalkers(bs, m)
	used := make([]uint64, (m+63)/64)
	wmax := uint64(bs[0].Weight)
	weighted := false
	for _, b := range bs {
		weighted = weighted || uint64(b.Weight) != wmax
		wmax = max(wmax, uint64(b.Weight))
	}
	var credit []uint64
	if weighted {
		credit = make([]uint64, len(bs))
	}
	for filled := uint32(0); ; {
		for i := range ws {
			if weighted {
				credit[i] += uint64(bs[i].Weight)
				if credit[i] < wmax {
					continue
				}
				credit[i] -= wmax
			}
			// Take the next empty slot of backend i's permutation.
			w := &ws[i]
			c, s := w.next, w.skip
			for used[c>>6]&(1<<(c&63)) != 0 {
				if c += s; c >= m {
					c -= m
				}
			}
			used[c>>6] |= 1 << (c & 63)
			entries[c] = BackendID(i)
			if c += s; c >= m {
				c -= m
			}
			w.next = c
			if filled++; filled == m {
				return
			}
		}
	}
}
