package session

import (
	"errors"
	"hash/maphash"
	"math/bits"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Class is a timeout class: the index of an idle timeout in
// Config.Timeouts. The first four are RFC 6146's; a table may configure up
// to MaxClasses.
type Class uint8

const (
	ClassUDP            Class = iota // UDP: 5 min (RFC 6146 UDP_DEFAULT)
	ClassTCPEstablished              // TCP_EST: 2 h 4 min
	ClassTCPTransitory               // TCP_TRANS: 4 min
	ClassICMP                        // ICMP query: 60 s (ICMP_DEFAULT)

	// MaxClasses is the number of classes an entry can name (4 bits).
	MaxClasses = 15
	// ClassKeep, returned by NextTCPState, means "leave the lifetime as
	// it is"; it is not a class an entry can have.
	ClassKeep Class = 0xff
)

// DefaultTimeouts are RFC 6146's default lifetimes, indexed by Class.
func DefaultTimeouts() []time.Duration {
	return []time.Duration{
		ClassUDP:            5 * time.Minute,
		ClassTCPEstablished: 2*time.Hour + 4*time.Minute,
		ClassTCPTransitory:  4 * time.Minute,
		ClassICMP:           60 * time.Second,
	}
}

// Policy says what Insert does when the table (or the new keys' probe
// window) is full.
type Policy uint8

const (
	// PolicyOldest evicts, among the sessions of the new key's home
	// bucket (or of the nearest bucket after it that has any), the one
	// with the least lifetime left (an expired one first), and stores the
	// new session in its place.
	PolicyOldest Policy = iota
	// PolicyDropNew refuses the new session.
	PolicyDropNew
)

// Dir is the direction of a packet relative to its session: which of the
// session's two keys it matched.
type Dir uint8

const (
	DirForward Dir = 0 // the forward key: the IPv6 side of a NAT64 session
	DirReverse Dir = 1 // the reverse key: the reply tuple after translation
)

// Value is the fixed-size area of an entry that the user interprets: for
// instance output port and next-hop/encap index per direction. It is 12
// bytes, stored in the room an IPv4 forward key leaves in the 48-byte
// entry; a FamilyNAT64 session (whose client address fills that room) has
// none: its value is always zero.
type Value [3]uint32

// Handle names one incarnation of an entry: its index and its version.
// Operations on a handle whose entry has since been deleted, reused or had
// its value replaced fail (return false); the caller looks the key up
// again.
type Handle struct {
	idx, seq uint32
}

// Index is the entry's position in the table (for diagnostics).
func (h Handle) Index() uint32 { return h.idx }

// Entry is what a lookup returns: a consistent snapshot of one session.
type Entry struct {
	Handle   Handle
	Dir      Dir // the key that matched
	State    TCPState
	Class    Class
	LastSeen uint32 // in ticks (see Ticks)
	Value    Value
	// Other is the session's key in the other direction. A hit's rewrite
	// is the reverse of Other: the packet leaves with source
	// Other.Dst:Other.DstPort and destination Other.Src:Other.SrcPort
	// (for NAT64 the IPv6 side is rebuilt from Other's IPv4 part and the
	// prefix named by Other.Zone).
	Other Key
}

// Config fixes a table at creation.
type Config struct {
	// Capacity is the number of sessions; memory is allocated for all of
	// them at once (about 59.4 bytes each, see doc.go). At most 2^28-1.
	Capacity int
	// Timeouts are the idle lifetimes by Class; nil means DefaultTimeouts.
	Timeouts []time.Duration
	// Policy applies when the table is full.
	Policy Policy
	// Seed keys the hash; 0 picks a random one.
	Seed uint64
}

// Errors from New.
var (
	ErrCapacity = errors.New("session: capacity out of range (1 .. 2^28-1)")
	ErrTimeouts = errors.New("session: timeouts: 1 to 15 classes, each positive and below 2^23 ticks")
)

const (
	entryWords  = 6  // uint64 words per entry: 48 bytes (doc.go, "Memory layout")
	bucketSlots = 16 // uint32 words per bucket: 64 bytes
	slotsUsed   = 15 // slots 0..14 hold keys; slot 15 counts overflow
	ovfSlot     = 15
	maxProbe    = 32 // buckets a key may be placed away from home (see below)
	// The index has 8 buckets per 45 sessions: 2 keys per session over 15
	// slots a bucket, 75% load when the entry array is full. Linear
	// probing clusters as it fills; measured on 2M sessions at 80% load,
	// 1 insert in 3,400 found its 8-bucket window full, so the window is
	// 32 buckets (lookups stop at the first bucket whose overflow count is
	// 0, so a long window costs nothing while it is not used).
	bucketsPer45 = 8
	minBuckets   = 2 * maxProbe
	readRetries  = 64

	// Time is kept in ticks of 2^30 ns (1.07 s): RFC 6146's lifetimes are
	// minutes, and a coarse last-seen time is written at most once per
	// tick per session, which keeps the two directions' workers from
	// fighting over the entry's cache line.
	tickShift = 30
	seenBits  = 24
	seenMask  = 1<<seenBits - 1

	chainLen = 64 // free entries move between workers in chains of this many

	pendingBit = 1 << 35
)

// Ticks converts a time in ns to the table's coarse clock (24 bits,
// wrapping every ~208 days; ages are computed modulo 2^24).
func Ticks(now int64) uint32 { return uint32(uint64(now)>>tickShift) & seenMask }

// age is now-seen in ticks, modulo 2^24 and signed: workers' clocks differ
// slightly, and a session touched by a worker whose now is a tick ahead of
// the sweeper's is young, not 2^24 ticks old.
func age(now, seen uint32) int32 { return int32((now-seen)<<(32-seenBits)) >> (32 - seenBits) }

// w0, the control word of an entry: seq in bits 0-31 (odd while a writer
// owns the entry), TCP state in 32-34, the pending bit in 35 (set while
// the inserter has not finished publishing: nobody else may delete the
// entry), class+1 in 36-39 (0 = free entry), last-seen ticks in 40-63.
func w0Seq(w uint64) uint32     { return uint32(w) }
func w0State(w uint64) TCPState { return TCPState(w >> 32 & 0x7) }
func w0Pending(w uint64) bool   { return w&pendingBit != 0 }
func w0Class(w uint64) uint8    { return uint8(w >> 36 & 0xf) }
func w0Seen(w uint64) uint32    { return uint32(w >> 40) }
func w0Live(w uint64) bool      { return w>>36&0xf != 0 }
func mkW0(seq uint32, st TCPState, cls1 uint8, seen uint32) uint64 {
	return uint64(seq) | uint64(st&0x7)<<32 | uint64(cls1&0xf)<<36 | uint64(seen&seenMask)<<40
}

type entry [entryWords]uint64
type bucket [bucketSlots]uint32

// padded keeps a shared atomic on its own cache line.
type padded struct {
	_ [64]byte
	v atomic.Uint64
	_ [56]byte
}

// Table is the session table. All methods are safe for concurrent use;
// per-goroutine operations go through a Worker.
type Table struct {
	entries  []entry
	index    []bucket
	nb       uint64
	capacity uint32
	tagBits  uint32
	tagMask  uint32
	policy   Policy
	nclasses int
	timeouts [16]uint32 // ticks, by stored class (Class+1)
	seeds    hashSeeds
	bytes    int

	next   padded // bump allocator: entries below it have been used once
	hand   padded // the sweep's clock hand
	chains padded // lock-free stack of free chains: tag<<32 | head index+1

	mu      sync.Mutex // guards workers; never taken per packet
	workers []*Worker
}

// New allocates a table for cfg.Capacity sessions.
func New(cfg Config) (*Table, error) {
	if cfg.Capacity < 1 || cfg.Capacity >= 1<<28 {
		return nil, ErrCapacity
	}
	tos := cfg.Timeouts
	if tos == nil {
		tos = DefaultTimeouts()
	}
	if len(tos) < 1 || len(tos) > MaxClasses {
		return nil, ErrTimeouts
	}
	t := &Table{capacity: uint32(cfg.Capacity), policy: cfg.Policy, nclasses: len(tos)}
	for i, d := range tos {
		tk := (uint64(d) + 1<<tickShift - 1) >> tickShift // round up
		if d <= 0 || tk >= 1<<(seenBits-1) {
			return nil, errors.New(ErrTimeouts.Error() + ": class " + strconv.Itoa(i))
		}
		t.timeouts[i+1] = uint32(tk)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = maphash.Bytes(maphash.MakeSeed(), []byte("xdpgw session"))
	}
	t.seeds = newSeeds(seed)

	idxBits := uint32(bits.Len32(t.capacity)) // slots store index+1
	t.tagBits = 32 - idxBits
	t.tagMask = 1<<t.tagBits - 1
	nb := (cfg.Capacity*bucketsPer45 + 44) / 45
	nb = max(nb, minBuckets)
	t.nb = uint64(nb)

	ew, freeEntries := makeWords(cfg.Capacity * entryWords)
	t.entries = unsafe.Slice((*entry)(unsafe.Pointer(&ew[0])), cfg.Capacity)
	bw, freeIndex := makeWords(nb * bucketSlots / 2)
	t.index = unsafe.Slice((*bucket)(unsafe.Pointer(&bw[0])), nb)
	t.bytes = len(ew)*8 + len(bw)*8
	// Arrays mapped outside the Go heap are unmapped once nothing can
	// reach the table (workers hold it, so none is running on it).
	if freeEntries != nil || freeIndex != nil {
		runtime.AddCleanup(t, func(fs [2]func()) {
			for _, f := range fs {
				if f != nil {
					f()
				}
			}
		}, [2]func(){freeEntries, freeIndex})
	}
	return t, nil
}

// Capacity is the number of sessions the table holds.
func (t *Table) Capacity() int { return int(t.capacity) }

// Bytes is the memory the table allocated (entries and index).
func (t *Table) Bytes() int { return t.bytes }

// timeoutTicks is the lifetime of stored class cls1 (Class+1) in ticks.
func (t *Table) timeoutTicks(cls1 uint8) uint32 { return t.timeouts[cls1&0xf] }

// home is the key's home bucket (Lemire's multiply-shift range reduction,
// so the bucket count need not be a power of two) and tag its slot tag.
func (t *Table) home(h uint64) uint64 { return (h >> 32 * t.nb) >> 32 }
func (t *Table) tag(h uint64) uint32  { return uint32(h) & t.tagMask }

func (t *Table) slotValue(idx uint32, tag uint32) uint32 { return (idx+1)<<t.tagBits | tag }
func (t *Table) slotIndex(v uint32) uint32               { return v>>t.tagBits - 1 }

// match reads entry idx as a seqlock reader and reports whether it is live
// and holds key k; if so it fills out (not nil), out.Other only if other (decoding
// it is a fifth of a hit's work, and the gateway's fast path and Insert's
// checks do not read it). A mismatch needs no validation: keys change
// only when an entry is deleted and reused, and a lookup that misses an
// entry being deleted is ordered before the deletion's end.
func (t *Table) match(idx uint32, k *enc, out *Entry, other bool) bool {
	en := &t.entries[idx]
	for try := 0; try < readRetries; try++ {
		w0 := atomic.LoadUint64(&en[0])
		if w0&1 != 0 {
			continue // a writer owns the entry: it will be quick
		}
		if !w0Live(w0) {
			return false
		}
		w1, w2 := atomic.LoadUint64(&en[1]), atomic.LoadUint64(&en[2])
		w3, w5 := atomic.LoadUint64(&en[3]), atomic.LoadUint64(&en[5])
		var dir Dir
		switch {
		case w1 == k.meta && uint32(w5) == k.c && w3&k.amask == k.a &&
			(k.fam == FamilyIPv4 || atomic.LoadUint64(&en[4]) == k.b):
			dir = DirForward
		case k.fam == FamilyIPv4 && (w2^k.meta)&^famMask == 0:
			rs, rd := revAddrs(w2, w3, w5)
			if rs != uint32(k.a) || rd != k.c {
				return false
			}
			dir = DirReverse
		default:
			return false
		}
		w4 := atomic.LoadUint64(&en[4])
		if w0Seq(atomic.LoadUint64(&en[0])) != w0Seq(w0) {
			continue // torn: a writer came and went
		}
		// The words are a consistent snapshot: out is filled from them
		// after the loop's last branch, so the retry loop's own state
		// is not kept across the stores (it was spilled to the stack).
		setValue(&out.Value, w1, w3, w4)
		out.Handle = Handle{idx: idx, seq: w0Seq(w0)}
		out.Dir = dir
		out.State = w0State(w0)
		out.Class = Class(w0Class(w0) - 1)
		out.LastSeen = w0Seen(w0)
		switch { // without other, out.Other is left as it was
		case !other:
		case dir == DirForward:
			rs, rd := revAddrs(w2, w3, w5)
			decode(w2&^famMask|uint64(FamilyIPv4)<<famShift, uint64(rs), 0, rd, &out.Other)
		case Family(w1>>famShift) == FamilyIPv4:
			decode(w1, w3&0xffffffff, 0, uint32(w5), &out.Other)
		default:
			decode(w1, w3, w4, uint32(w5), &out.Other)
		}
		return true
	}
	return false
}

// Scans that must visit every slot with a given tag (publish's duplicate
// scan, PrefetchEntry) read a bucket as 8 uint64 words, two slots each
// (slot 2i in the low half of word i on a little-endian machine; the
// overflow count is the other half of word 7), and pick the matching
// slots without a compare and branch per slot: about 72 instructions a
// bucket where the slot-by-slot loop took about 150 (and 20 fewer per
// new NAT64 session than nextTag's unrolled scan). find scans slot by
// slot (nextTag): a hit stops at its slot, which in a bucket filled from
// slot 0 is early, and the word-wise test costs the whole bucket (it made
// the gateway's fast path 3% slower). A 64-bit atomic load of an aligned
// pair of slots is a sequentially consistent load of each (doc.go, "Why
// it is correct without locks"); on amd64 it is a plain MOV.
const (
	lanesHi = 0x80000000_80000000
	// lanesK added to a word whose two halves are below 2^31 sets bit
	// 31 of a half exactly when the half is not zero, and never carries
	// into the next half.
	lanesK = 0x7fffffff_7fffffff
	// slotBits are the bits of a candidate mask that name slots (not
	// the overflow count).
	slotBits = 1<<slotsUsed - 1
)

// bucketWords views a bucket as the 8 words it is scanned by (the index
// is allocated as uint64 words, each bucket on a 64-byte boundary).
func bucketWords(bk *bucket) *[bucketSlots / 2]uint64 {
	return (*[bucketSlots / 2]uint64)(unsafe.Pointer(bk))
}

// tagCandidates returns a mask of the slots s of bk (bit s) whose value v
// had v&tagMask == tag when read (tag <= tagMask < 2^31). Empty slots are
// among them when tag is 0, and a slot may change after the read: callers
// reload each candidate slot with an atomic load and check it.
func (t *Table) tagCandidates(bk *bucket, tag uint32) uint32 {
	w := bucketWords(bk)
	p, m := uint64(tag)|uint64(tag)<<32, uint64(t.tagMask)|uint64(t.tagMask)<<32
	// Each half of (word^p)&m is below 2^31 and zero exactly for a
	// matching slot; + lanesK sets its bit 31 when it is not. Word i's
	// flags (bits 31 and 63) go to the disjoint bits 2i and 32+2i of
	// nz, so the complement of nz is the matches. Unrolled by hand: the
	// compiler does not unroll, and a loop's counter and branch cost as
	// much as the test (a loop over the words with an early exit, tried
	// for find, cost twice as much as this).
	nz := ((atomic.LoadUint64(&w[0])^p)&m+lanesK)&lanesHi>>31 |
		((atomic.LoadUint64(&w[1])^p)&m+lanesK)&lanesHi>>29 |
		((atomic.LoadUint64(&w[2])^p)&m+lanesK)&lanesHi>>27 |
		((atomic.LoadUint64(&w[3])^p)&m+lanesK)&lanesHi>>25 |
		((atomic.LoadUint64(&w[4])^p)&m+lanesK)&lanesHi>>23 |
		((atomic.LoadUint64(&w[5])^p)&m+lanesK)&lanesHi>>21 |
		((atomic.LoadUint64(&w[6])^p)&m+lanesK)&lanesHi>>19 |
		((atomic.LoadUint64(&w[7])^p)&m+lanesK)&lanesHi>>17
	c := ^(uint32(nz) | uint32(nz>>32)<<1)
	if !littleEndian {
		// Slot 2i is the high half of word i: swap each pair of bits.
		c = c&0x55555555<<1 | c>>1&0x55555555
	}
	return c & slotBits
}

// find looks k (hash h) up in the index: the home bucket, then the next
// ones while the previous one's overflow count says keys homed at or
// before it were placed further on. It fills out.Other only if other.
func (t *Table) find(k *enc, h uint64, out *Entry, other bool) bool {
	b := t.home(h)
	tag, mask := t.tag(h), t.tagMask
	for p := 0; p < maxProbe; p++ {
		bk := &t.index[b]
		for s := nextTag(bk, 0, tag, mask); s < slotsUsed; s = nextTag(bk, s+1, tag, mask) {
			// Empty slots match tag 0.
			if v := atomic.LoadUint32(&bk[s]); v != 0 && t.match(t.slotIndex(v), k, out, other) {
				return true
			}
		}
		if atomic.LoadUint32(&bk[ovfSlot]) == 0 {
			return false
		}
		if b++; b == t.nb {
			b = 0
		}
	}
	return false
}

// nextTag is the first slot of bk from s on whose value v has
// (v^tag)&mask == 0 (or slotsUsed), unrolled by hand (a jump into the
// run, then 5 instructions a slot where a loop took 7 to 11): a miss reads
// every slot, a hit stops at its own.
func nextTag(bk *bucket, s int, tag, mask uint32) int {
	switch s {
	case 0:
		if (atomic.LoadUint32(&bk[0])^tag)&mask == 0 {
			return 0
		}
		fallthrough
	case 1:
		if (atomic.LoadUint32(&bk[1])^tag)&mask == 0 {
			return 1
		}
		fallthrough
	case 2:
		if (atomic.LoadUint32(&bk[2])^tag)&mask == 0 {
			return 2
		}
		fallthrough
	case 3:
		if (atomic.LoadUint32(&bk[3])^tag)&mask == 0 {
			return 3
		}
		fallthrough
	case 4:
		if (atomic.LoadUint32(&bk[4])^tag)&mask == 0 {
			return 4
		}
		fallthrough
	case 5:
		if (atomic.LoadUint32(&bk[5])^tag)&mask == 0 {
			return 5
		}
		fallthrough
	case 6:
		if (atomic.LoadUint32(&bk[6])^tag)&mask == 0 {
			return 6
		}
		fallthrough
	case 7:
		if (atomic.LoadUint32(&bk[7])^tag)&mask == 0 {
			return 7
		}
		fallthrough
	case 8:
		if (atomic.LoadUint32(&bk[8])^tag)&mask == 0 {
			return 8
		}
		fallthrough
	case 9:
		if (atomic.LoadUint32(&bk[9])^tag)&mask == 0 {
			return 9
		}
		fallthrough
	case 10:
		if (atomic.LoadUint32(&bk[10])^tag)&mask == 0 {
			return 10
		}
		fallthrough
	case 11:
		if (atomic.LoadUint32(&bk[11])^tag)&mask == 0 {
			return 11
		}
		fallthrough
	case 12:
		if (atomic.LoadUint32(&bk[12])^tag)&mask == 0 {
			return 12
		}
		fallthrough
	case 13:
		if (atomic.LoadUint32(&bk[13])^tag)&mask == 0 {
			return 13
		}
		fallthrough
	case 14:
		if (atomic.LoadUint32(&bk[14])^tag)&mask == 0 {
			return 14
		}
	}
	return slotsUsed
}

// place puts slot value v for a key of hash h into the first free slot of
// its probe window, counting every full bucket it passes in that bucket's
// overflow word first (so a reader never stops short of a placed slot).
func (t *Table) place(h uint64, v uint32) bool {
	b := t.home(h)
	for p := 0; p < maxProbe; p++ {
		bk := &t.index[b]
		for s := 0; s < slotsUsed; s++ {
			if atomic.LoadUint32(&bk[s]) == 0 && atomic.CompareAndSwapUint32(&bk[s], 0, v) {
				return true
			}
		}
		atomic.AddUint32(&bk[ovfSlot], 1)
		if b++; b == t.nb {
			b = 0
		}
	}
	// Window full: take the overflow counts back.
	b = t.home(h)
	for p := 0; p < maxProbe; p++ {
		atomic.AddUint32(&t.index[b][ovfSlot], ^uint32(0))
		if b++; b == t.nb {
			b = 0
		}
	}
	return false
}

// unplace removes slot value v of a key of hash h and takes back the
// overflow counts of the buckets its placement passed. Only the entry's
// owning writer removes its slots, and slot values are unique to an entry,
// so the slot is found by value. (If the forward and reverse keys share a
// tag, the first removal may take the other key's slot; doc.go shows the
// overflow counts still balance once both are removed.)
func (t *Table) unplace(h uint64, v uint32) bool {
	b := t.home(h)
	for p := uint64(0); p < t.nb; p++ {
		bk := &t.index[b]
		for s := 0; s < slotsUsed; s++ {
			if atomic.LoadUint32(&bk[s]) == v && atomic.CompareAndSwapUint32(&bk[s], v, 0) {
				hb := t.home(h)
				for q := uint64(0); q < p; q++ {
					atomic.AddUint32(&t.index[hb][ovfSlot], ^uint32(0))
					if hb++; hb == t.nb {
						hb = 0
					}
				}
				return true
			}
		}
		if atomic.LoadUint32(&bk[ovfSlot]) == 0 {
			return false
		}
		if b++; b == t.nb {
			b = 0
		}
	}
	return false
}

// keysOf re-encodes the two keys of an entry the caller owns.
func (t *Table) keysOf(en *entry, f, r *enc) {
	w1, w2 := atomic.LoadUint64(&en[1]), atomic.LoadUint64(&en[2])
	w3, w4, w5 := atomic.LoadUint64(&en[3]), atomic.LoadUint64(&en[4]), atomic.LoadUint64(&en[5])
	f.meta = w1
	f.fam = Family(w1 >> famShift)
	f.a, f.b, f.amask = w3, w4, ^uint64(0)
	if f.fam == FamilyIPv4 {
		f.a, f.b, f.amask = w3&0xffffffff, 0, 0xffffffff
	}
	f.c = uint32(w5)
	rs, rd := revAddrs(w2, w3, w5)
	r.meta = w2&^famMask | uint64(FamilyIPv4)<<famShift
	r.a, r.b, r.amask = uint64(rs), 0, 0xffffffff
	r.c = rd
	r.fam = FamilyIPv4
}

// Keys reads the two keys of the entry h names.
func (t *Table) Keys(h Handle, fwd, rev *Key) bool {
	if h.idx >= t.capacity {
		return false
	}
	en := &t.entries[h.idx]
	for try := 0; try < readRetries; try++ {
		w0 := atomic.LoadUint64(&en[0])
		if w0Seq(w0) != h.seq || !w0Live(w0) {
			return false
		}
		var f, r enc
		t.keysOf(en, &f, &r)
		if w0Seq(atomic.LoadUint64(&en[0])) != h.seq {
			continue
		}
		decode(f.meta, f.a, f.b, f.c, fwd)
		decode(r.meta, r.a, r.b, r.c, rev)
		return true
	}
	return false
}

// Range calls fn with each live session from entry index from on, in
// index order, until fn returns false or the entries end, and returns the
// index to continue from (Capacity when it reached the end). Each session
// is a consistent snapshot: its forward key, and an Entry with Dir
// DirForward whose Other is the reverse key. Sessions being inserted are
// skipped; sessions created or deleted while Range runs may or may not be
// seen. For diagnostics (xdpgw ctl sessions), not for the data path: it
// reads every entry it passes.
func (t *Table) Range(from int, fn func(fwd *Key, e *Entry) bool) int {
	hwm := int(min(t.next.v.Load(), uint64(t.capacity)))
	var fwd Key
	var e Entry
	for i := max(from, 0); i < hwm; i++ {
		if t.snapshot(uint32(i), &fwd, &e) && !fn(&fwd, &e) {
			return i + 1
		}
	}
	return int(t.capacity)
}

// snapshot reads entry idx as a seqlock reader into fwd and e; false if it
// is free, pending or kept changing.
func (t *Table) snapshot(idx uint32, fwd *Key, e *Entry) bool {
	en := &t.entries[idx]
	for try := 0; try < readRetries; try++ {
		w0 := atomic.LoadUint64(&en[0])
		if w0&1 != 0 {
			continue
		}
		if !w0Live(w0) || w0Pending(w0) {
			return false
		}
		var f, r enc
		t.keysOf(en, &f, &r)
		var v Value
		setValue(&v, f.meta, atomic.LoadUint64(&en[3]), atomic.LoadUint64(&en[4]))
		if atomic.LoadUint64(&en[0]) != w0 {
			continue
		}
		decode(f.meta, f.a, f.b, f.c, fwd)
		*e = Entry{Handle: Handle{idx: idx, seq: w0Seq(w0)}, Dir: DirForward, State: w0State(w0),
			Class: Class(w0Class(w0) - 1), LastSeen: w0Seen(w0), Value: v}
		decode(r.meta, r.a, r.b, r.c, &e.Other)
		return true
	}
	return false
}

// Timeout is the idle lifetime of class c (rounded up to whole ticks), 0
// for a class the table does not have.
func (t *Table) Timeout(c Class) time.Duration {
	if int(c) >= t.nclasses {
		return 0
	}
	return time.Duration(uint64(t.timeoutTicks(uint8(c)+1)) << tickShift)
}

// Stats sums the published counters of every worker.
func (t *Table) Stats() Stats {
	var s Stats
	t.mu.Lock()
	ws := t.workers
	t.mu.Unlock()
	for _, w := range ws {
		w.pub.addTo(&s)
	}
	return s
}

// Idle is how long the session snapshot e has been idle at now, in whole
// ticks (~1.07 s).
func (t *Table) Idle(e *Entry, now int64) time.Duration {
	return time.Duration(uint64(max(age(Ticks(now), e.LastSeen), 0)) << tickShift)
}

// Expired reports whether the session snapshot e has outlived its class's
// timeout at now. Lookup returns sessions that expired but were not swept
// yet; callers treat those as absent (and may Delete them).
func (t *Table) Expired(e *Entry, now int64) bool {
	if int(e.Class) >= t.nclasses {
		return false
	}
	return age(Ticks(now), e.LastSeen) > int32(t.timeoutTicks(uint8(e.Class)+1))
}
