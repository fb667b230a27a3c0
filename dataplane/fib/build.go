package fib

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"net/netip"
	"slices"
)

// Errors wrapped by PrefixError.
var (
	ErrInvalidPrefix = errors.New("invalid prefix")
	ErrNotMasked     = errors.New("prefix has bits set beyond its length")
)

// PrefixError reports a prefix that Builder.Add refused.
type PrefixError struct {
	Prefix netip.Prefix
	Err    error
}

func (e *PrefixError) Error() string {
	s := "fib: prefix " + e.Prefix.String() + ": " + e.Err.Error()
	if errors.Is(e.Err, ErrNotMasked) {
		s += " (want " + e.Prefix.Masked().String() + ")"
	}
	return s
}

func (e *PrefixError) Unwrap() error { return e.Err }

// key6 identifies an IPv6 prefix in the builder.
type key6 struct {
	hi, lo uint64
	bits   uint8
}

// Builder accumulates routes and produces immutable Tables. It is not safe
// for concurrent use; Build may be called any number of times and the
// Builder stays usable afterwards (the tables share nothing with it).
type Builder struct {
	v4    map[uint64]uint32 // addr<<8 | bits -> index into nhs
	v6    map[key6]uint32
	nhs   []NextHop
	nhIdx map[NextHop]uint32
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{
		v4:    make(map[uint64]uint32),
		v6:    make(map[key6]uint32),
		nhIdx: make(map[NextHop]uint32),
	}
}

// NewBuilderFrom returns a Builder holding the routes of t, to derive a new
// table from a published one.
func NewBuilderFrom(t *Table) *Builder {
	b := NewBuilder()
	for _, r := range t.r4 {
		b.v4[r.key] = b.nhIndex(t.nhs[r.nh])
	}
	for _, r := range t.r6 {
		b.v6[key6{r.hi, r.lo, r.bits}] = b.nhIndex(t.nhs[r.nh])
	}
	return b
}

func (b *Builder) nhIndex(nh NextHop) uint32 {
	if i, ok := b.nhIdx[nh]; ok {
		return i
	}
	i := uint32(len(b.nhs))
	b.nhs = append(b.nhs, nh)
	b.nhIdx[nh] = i
	return i
}

// Len returns the number of routes in the builder.
func (b *Builder) Len() int { return len(b.v4) + len(b.v6) }

// Add adds a route, replacing the route of the same prefix if there is one.
// It refuses an invalid prefix and a prefix with host bits set (it must
// equal its Masked form) with a *PrefixError naming the prefix.
func (b *Builder) Add(r Route) error {
	p := r.Prefix
	if !p.IsValid() {
		return &PrefixError{Prefix: p, Err: ErrInvalidPrefix}
	}
	if p != p.Masked() {
		return &PrefixError{Prefix: p, Err: ErrNotMasked}
	}
	nh := b.nhIndex(r.NextHop)
	if p.Addr().Is4() {
		b.v4[key4(p)] = nh
	} else {
		b.v6[keyOf6(p)] = nh
	}
	return nil
}

// Delete removes the route of prefix p and reports whether there was one.
func (b *Builder) Delete(p netip.Prefix) bool {
	if !p.IsValid() || p != p.Masked() {
		return false
	}
	if p.Addr().Is4() {
		k := key4(p)
		_, ok := b.v4[k]
		delete(b.v4, k)
		return ok
	}
	k := keyOf6(p)
	_, ok := b.v6[k]
	delete(b.v6, k)
	return ok
}

func key4(p netip.Prefix) uint64 {
	a := p.Addr().As4()
	return uint64(binary.BigEndian.Uint32(a[:]))<<8 | uint64(p.Bits())
}

func keyOf6(p netip.Prefix) key6 {
	a := p.Addr().As16()
	return key6{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), uint8(p.Bits())}
}

// Build returns a new immutable Table with the builder's current routes.
func (b *Builder) Build() *Table {
	t := &Table{}

	r4 := make([]route4, 0, len(b.v4))
	for k, nh := range b.v4 {
		r4 = append(r4, route4{key: k, nh: nh})
	}
	sortRoutes4(r4)
	r6 := make([]route6, 0, len(b.v6))
	for k, nh := range b.v6 {
		r6 = append(r6, route6{hi: k.hi, lo: k.lo, bits: k.bits, nh: nh})
	}
	slices.SortFunc(r6, cmpRoute6)

	// Deduplicated next hops, numbered from 1 in route order so that
	// equal builders give equal tables.
	remap := make([]uint32, len(b.nhs))
	t.nhs = []NextHop{{}}
	use := func(i uint32) uint32 {
		if remap[i] == 0 {
			remap[i] = uint32(len(t.nhs))
			t.nhs = append(t.nhs, b.nhs[i])
		}
		return remap[i]
	}
	for i := range r4 {
		r4[i].nh = use(r4[i].nh)
	}
	for i := range r6 {
		r6[i].nh = use(r6[i].nh)
	}
	t.nhs = slices.Clip(t.nhs)
	t.r4, t.r6 = r4, r6

	t.build4()
	t.build6()
	return t
}

func cmpRoute6(a, b route6) int {
	switch {
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo != b.lo:
		if a.lo < b.lo {
			return -1
		}
		return 1
	}
	return int(a.bits) - int(b.bits)
}

// sortRoutes4 sorts by key with an LSD radix sort on the 40 key bits: a
// million routes sort in a few milliseconds, several times faster than a
// comparison sort.
func sortRoutes4(r []route4) {
	if len(r) < 256 {
		slices.SortFunc(r, func(a, b route4) int {
			switch {
			case a.key < b.key:
				return -1
			case a.key > b.key:
				return 1
			}
			return 0
		})
		return
	}
	tmp := make([]route4, len(r))
	src, dst := r, tmp
	for shift := uint(0); shift < 40; shift += 8 {
		var cnt [256]int
		for i := range src {
			cnt[byte(src[i].key>>shift)]++
		}
		if cnt[byte(src[0].key>>shift)] == len(src) {
			continue // every key has the same digit
		}
		sum := 0
		for i := range cnt {
			cnt[i], sum = sum, sum+cnt[i]
		}
		for i := range src {
			d := byte(src[i].key >> shift)
			dst[cnt[d]] = src[i]
			cnt[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &r[0] {
		copy(r, src)
	}
}

// fill expands the routes rs of the subtree at bit depth into slots, which
// cover bits [depth, depth+stride) and hold the inherited entry on entry.
// rs is sorted by address then length, so a covering prefix always comes
// before the prefixes it contains and writing in order leaves the longest
// match in each slot. Routes longer than depth+stride are grouped by slot
// (they are contiguous in rs) and become children built by child.
func fill[R any](slots []uint32, rs []R, depth, stride int, slotOf func(*R, int, int) int, bitsOf func(*R) int, nhOf func(*R) uint32, child func([]R, int, uint32) uint32) {
	end := depth + stride
	for i := range rs {
		r := &rs[i]
		bl := bitsOf(r)
		if bl > end {
			continue
		}
		start := slotOf(r, depth, stride)
		n := 1 << (end - bl)
		nh := nhOf(r)
		s := slots[start : start+n]
		for j := range s {
			s[j] = nh
		}
	}
	for i := 0; i < len(rs); {
		if bitsOf(&rs[i]) <= end {
			i++
			continue
		}
		v := slotOf(&rs[i], depth, stride)
		j := i + 1
		for j < len(rs) && bitsOf(&rs[j]) > end && slotOf(&rs[j], depth, stride) == v {
			j++
		}
		slots[v] = child(rs[i:j], end, slots[v])
		i = j
	}
}

// ---- IPv4 ----

func slot4(r *route4, depth, stride int) int {
	return int((r.addr() << depth) >> (32 - stride))
}
func bits4(r *route4) int  { return r.bits() }
func nh4(r *route4) uint32 { return r.nh }
func slot6(r *route6, depth, stride int) int {
	var top uint64
	switch {
	case depth == 0:
		top = r.hi
	case depth < 64:
		top = r.hi<<depth | r.lo>>(64-depth)
	default:
		top = r.lo << (depth - 64)
	}
	return int(top >> (64 - stride))
}
func bits6(r *route6) int  { return int(r.bits) }
func nh6(r *route6) uint32 { return r.nh }

type builder4 struct {
	chunks []uint32
}

func (b *builder4) child(rs []route4, depth int, def uint32) uint32 {
	var s [256]uint32
	for i := range s {
		s[i] = def
	}
	fill(s[:], rs, depth, 8, slot4, bits4, nh4, b.child)
	if uniform(&s) {
		return s[0]
	}
	idx := uint32(len(b.chunks) >> 8)
	b.chunks = append(b.chunks, s[:]...)
	return ptrBit | idx
}

// uniform reports whether all entries of s are equal; such a chunk or node
// is replaced by its one entry (it cannot hold pointers: children are
// distinct).
func uniform(s *[256]uint32) bool {
	for _, e := range s {
		if e != s[0] {
			return false
		}
	}
	return true
}

func (t *Table) build4() {
	rs := t.r4
	if len(rs) == 0 {
		t.v4root = zeroRoot[:]
		return
	}
	stride := 8
	if len(rs) >= bigRootMin {
		stride = 16
		t.v4big = true
	}
	var b builder4
	// Chunk 0 is the dummy the branch-free lookup reads for terminals.
	b.chunks = makeLarge[uint32]((1 + chunks4Estimate(rs, stride)) << 8)[:256]
	t.v4root = make([]uint32, 1<<stride)
	fill(t.v4root, rs, 0, stride, slot4, bits4, nh4, b.child)
	t.v4chunks = trim(b.chunks)
}

// chunks4Estimate counts the chunks the trie needs (an upper bound: uniform
// chunks are dropped) so that the chunk array is allocated once.
func chunks4Estimate(rs []route4, stride int) int {
	n := 0
	for end := stride; end < 32; end += 8 {
		last := uint32(0)
		first := true
		for i := range rs {
			if rs[i].bits() <= end {
				continue
			}
			g := rs[i].addr() >> (32 - end)
			if first || g != last {
				n++
				last, first = g, false
			}
		}
	}
	return n
}

// compact returns a copy of s without spare capacity, in memory from
// makeLarge.
func compact[E uint32 | uint64](s []E) []E {
	c := makeLarge[E](len(s))
	copy(c, s)
	return c
}

// trim returns s without spare capacity if the spare is large.
func trim[E uint32 | uint64](s []E) []E {
	if cap(s)-len(s) <= len(s)/16 {
		return s
	}
	c := makeLarge[E](len(s))
	copy(c, s)
	return c
}

// ---- IPv6 ----

type builder6 struct {
	nodes   []uint64
	entries []uint32
}

// child builds the compressed node for bits [depth, depth+8). The node is
// five words: meta (entry base in the low 32 bits, then the number of run
// starts before bitmap words 1, 2 and 3 in bytes 5, 6 and 7) and a 256-bit
// bitmap whose bit v is set when slot v starts a run of equal entries. The
// entry of slot v is entries[base + runs before v's word + popcount of the
// word's bits 0..v - 1].
func (b *builder6) child(rs []route6, depth int, def uint32) uint32 {
	var s [256]uint32
	for i := range s {
		s[i] = def
	}
	fill(s[:], rs, depth, 8, slot6, bits6, nh6, b.child)
	if uniform(&s) {
		return s[0]
	}
	var bm [4]uint64
	base := uint64(len(b.entries))
	for v := range s {
		if v == 0 || s[v] != s[v-1] {
			bm[v>>6] |= 1 << (v & 63)
			b.entries = append(b.entries, s[v])
		}
	}
	c1 := uint64(bits.OnesCount64(bm[0]))
	c2 := c1 + uint64(bits.OnesCount64(bm[1]))
	c3 := c2 + uint64(bits.OnesCount64(bm[2]))
	meta := base | c1<<40 | c2<<48 | c3<<56
	idx := uint32(len(b.nodes) / 5)
	b.nodes = append(b.nodes, meta, bm[0], bm[1], bm[2], bm[3])
	return ptrBit | idx
}

// linear6Max is the largest IPv6 route count looked up by a linear scan
// (Table.v6lin): up to here the scan's compares cost less than the trie's
// dependent loads (one to two per byte of the longest prefix).
const linear6Max = 16

// lin6 is a route of Table.v6lin: address and mask as big-endian halves.
type lin6 struct {
	hi, lo, mhi, mlo uint64
	nh               uint32
}

func (t *Table) build6() {
	rs := t.r6
	if len(rs) == 0 {
		t.v6root = zeroRoot[:]
		return
	}
	if len(rs) <= linear6Max {
		lin := make([]lin6, len(rs))
		for i, r := range rs {
			mhi, mlo := ^uint64(0), ^uint64(0)
			switch {
			case r.bits == 0:
				mhi, mlo = 0, 0
			case r.bits < 64:
				mhi, mlo = ^uint64(0)<<(64-r.bits), 0
			case r.bits == 64:
				mlo = 0
			default:
				mlo = ^uint64(0) << (128 - r.bits)
			}
			lin[i] = lin6{hi: r.hi & mhi, lo: r.lo & mlo, mhi: mhi, mlo: mlo, nh: r.nh}
		}
		// Longest first: the first match is the longest prefix.
		slices.SortStableFunc(lin, func(a, b lin6) int {
			return bits.OnesCount64(b.mhi) + bits.OnesCount64(b.mlo) - bits.OnesCount64(a.mhi) - bits.OnesCount64(a.mlo)
		})
		t.v6lin = lin
		return
	}
	stride := 8
	if len(rs) >= bigRootMin {
		stride = 16
		t.v6big = true
	}
	var b builder6
	t.v6root = make([]uint32, 1<<stride)
	fill(t.v6root, rs, 0, stride, slot6, bits6, nh6, b.child)
	t.v6nodes = compact(b.nodes)
	t.v6entries = compact(b.entries)
}
