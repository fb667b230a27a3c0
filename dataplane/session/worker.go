package session

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Stats are a worker's counters (or their sum over workers).
type Stats struct {
	Inserted         uint64 // sessions created
	Deleted          uint64 // sessions removed by Delete
	Expired          uint64 // sessions removed by Sweep, or evicted after their lifetime ran out
	Evicted          uint64 // live sessions removed to make room (PolicyOldest)
	InsertExists     uint64 // Insert found the forward key already stored
	InsertConflict   uint64 // Insert found the reverse key already stored
	InsertFailedFull uint64 // Insert found no room (and, under PolicyOldest, nothing to evict)
	InsertInvalid    uint64 // Insert refused the keys or class
	LookupHit        uint64
	LookupMiss       uint64
}

// Live is the number of sessions in the table according to the counters.
func (s *Stats) Live() int64 {
	return int64(s.Inserted) - int64(s.Deleted) - int64(s.Expired) - int64(s.Evicted)
}

const numCounters = 10

func (s *Stats) words() *[numCounters]uint64 { return (*[numCounters]uint64)(unsafeStats(s)) }

// pubStats are a worker's published counters: only Flush writes them.
type pubStats struct {
	_ [64]byte
	c [numCounters]atomic.Uint64
	_ [64]byte
}

func (p *pubStats) addTo(s *Stats) {
	d := s.words()
	for i := range p.c {
		d[i] += p.c[i].Load()
	}
}

// freeList is a chain of free entries linked through their word 1
// (index+1; 0 ends the chain).
type freeList struct {
	head uint32
	n    uint32
}

// Worker is one goroutine's handle on the table: its counters and its
// cache of free entries. A Worker must be used by one goroutine at a time;
// any number of Workers use the table concurrently.
type Worker struct {
	t                *Table
	cur, bld         freeList // cur feeds alloc; bld collects frees
	freshLo, freshHi uint32   // a range of never-used entries
	stats            Stats
	pub              *pubStats
}

// NewWorker returns a Worker of t. Workers live as long as the table: the
// free entries a Worker caches (at most 3*64) are not handed back.
func (t *Table) NewWorker() *Worker {
	w := &Worker{t: t, pub: new(pubStats)}
	t.mu.Lock()
	t.workers = append(t.workers, w)
	t.mu.Unlock()
	return w
}

// Flush publishes the counters counted since the last Flush (atomic adds,
// once per batch; readers sum the published copies without contention).
func (w *Worker) Flush() {
	s := w.stats.words()
	for i, v := range s {
		if v != 0 {
			w.pub.c[i].Add(v)
			s[i] = 0
		}
	}
}

// Table is the table w works on.
func (w *Worker) Table() *Table { return w.t }

// Lookup finds the session that has k as its forward or reverse key and
// fills e with a consistent snapshot of it. No lock, no allocation; the
// cost is two cache misses (the bucket, then the entry) when the table
// is larger than the caches.
func (w *Worker) Lookup(k *Key, e *Entry) bool { return w.lookup(k, e, true) }

// lookup is Lookup, with e.Other filled only if other.
func (w *Worker) lookup(k *Key, e *Entry, other bool) bool {
	var x enc // not a Prepared: see encodeHash
	if h, ok := w.t.encodeHash(k, &x); ok && w.t.find(&x, h, e, other) {
		w.stats.LookupHit++
		return true
	}
	w.stats.LookupMiss++
	return false
}

// LookupPrepare is Prepare(k, p) then LookupPrepared(p, e), in one call:
// for a caller that may insert k after a miss (the NAT64's new sessions),
// at the cost of a Lookup.
func (w *Worker) LookupPrepare(k *Key, p *Prepared, e *Entry) bool {
	if w.t.prepare(k, p) && w.t.find(&p.x, p.h, e, true) {
		w.stats.LookupHit++
		return true
	}
	w.stats.LookupMiss++
	return false
}

// LookupWithoutOther is Lookup without e.Other, which it leaves as it
// was: for callers that use only the value, handle, direction and state
// of a hit (the gateway's flows), it saves decoding the other key.
func (w *Worker) LookupWithoutOther(k *Key, e *Entry) bool { return w.lookup(k, e, false) }

// Hit is the outcome of a lookup that refreshes its session
// (LookupTouch, LookupUpdateTCP).
type Hit uint8

const (
	HitMiss    Hit = iota // no session has the key
	HitLive               // a live session: e holds it as looked up, and it was refreshed
	HitExpired            // a session that outlived its timeout and was not swept yet: e holds it, nothing was written
)

// LookupTouch is Lookup, Expired and Touch in one call, for a hit path:
// it looks k up and, if the session is live at now, records that it was
// seen now. e is the session as looked up (its LastSeen is the time
// before this call). An expired session is reported as HitExpired and
// left as it is (the caller may Delete it); counters are those of the
// three calls (LookupHit for either kind of hit).
func (w *Worker) LookupTouch(k *Key, e *Entry, now int64) Hit {
	return w.lookupTouch(k, e, true, now)
}

// LookupTouchWithoutOther is LookupTouch without e.Other (see
// LookupWithoutOther).
func (w *Worker) LookupTouchWithoutOther(k *Key, e *Entry, now int64) Hit {
	return w.lookupTouch(k, e, false, now)
}

// LookupUpdateTCP is Lookup, Expired and UpdateTCP(e.Handle, e.Dir,
// flags, now) in one call: for a live session (HitLive) it runs the TCP
// state machine for a packet with flags and returns the new state. e is
// the session as looked up (e.State the state before the packet). If the
// session changed meanwhile (deleted, value replaced) nothing is written
// and the state returned is e.State. HitExpired and HitMiss as in
// LookupTouch.
func (w *Worker) LookupUpdateTCP(k *Key, e *Entry, flags uint8, now int64) (Hit, TCPState) {
	return w.lookupUpdateTCP(k, e, true, flags, now)
}

// LookupUpdateTCPWithoutOther is LookupUpdateTCP without e.Other.
func (w *Worker) LookupUpdateTCPWithoutOther(k *Key, e *Entry, flags uint8, now int64) (Hit, TCPState) {
	return w.lookupUpdateTCP(k, e, false, flags, now)
}

// lookupTouch and lookupUpdateTCP are the four Lookup* above (two
// functions, not one with a tcp flag: the NAT64's UDP hit paid 18
// instructions for the flag's generality). A hit's snapshot already holds
// everything the refresh decides on (class, state, last seen), so the
// common case, a session seen earlier in the same tick whose TCP state
// does not change, writes nothing and reads no word of the entry again:
// no second call, bounds check, control word load or seq test (what
// Expired then Touch or UpdateTCP cost per packet). Only a refresh that
// must write goes back to the entry, with a CAS against the snapshot's
// seq as Touch and UpdateTCP do (doc.go, "Why it is correct without
// locks").
func (w *Worker) lookupTouch(k *Key, e *Entry, other bool, now int64) Hit {
	var x enc // not a Prepared: see encodeHash
	if h, ok := w.t.encodeHash(k, &x); !ok || !w.t.find(&x, h, e, other) {
		w.stats.LookupMiss++
		return HitMiss
	}
	w.stats.LookupHit++
	// Seen in this tick: age 0, never expired (every timeout is at least
	// one tick), and nothing to write.
	if tk := Ticks(now); e.LastSeen != tk {
		if w.t.Expired(e, now) {
			return HitExpired
		}
		w.touch(e.Handle, tk)
	}
	return HitLive
}

func (w *Worker) lookupUpdateTCP(k *Key, e *Entry, other bool, flags uint8, now int64) (Hit, TCPState) {
	var x enc
	if h, ok := w.t.encodeHash(k, &x); !ok || !w.t.find(&x, h, e, other) {
		w.stats.LookupMiss++
		return HitMiss, StateClosed
	}
	w.stats.LookupHit++
	tk := Ticks(now)
	if e.LastSeen != tk && w.t.Expired(e, now) {
		return HitExpired, e.State
	}
	st, cls := NextTCPState(e.State, e.Dir, flags)
	if st == e.State && (cls == ClassKeep || cls == e.Class && e.LastSeen == tk) {
		// What UpdateTCP would store is the control word as looked up.
		return HitLive, st
	}
	if st, ok := w.updateTCP(e.Handle, e.Dir, flags, tk); ok {
		return HitLive, st
	}
	return HitLive, e.State
}

// Prepared is a key encoded in the table's stored form, with its hash:
// what every operation on a Key computes first (about 50 instructions, a
// tenth of a new NAT64 session's table work per key). A caller that looks
// a key up and then inserts it (the NAT64's new sessions and bindings)
// prepares it once (Prepare) and passes it to LookupPrepared and
// InsertPrepared. It is a copy of the key, holds no pointer and belongs to
// the table whose Worker prepared it (the hash is seeded per table:
// another table's operations treat it as invalid, as they do a zero
// Prepared). A caller that keeps one must prepare it again whenever the
// Key it was made from would change (a zone renumbered by a new
// configuration, say).
type Prepared struct {
	x    enc
	h    uint64
	seed uint64 // the table's first hash seed (never 0); 0: not a storable key
}

// Prepare encodes and hashes k for this worker's table. It returns false,
// and makes p invalid (lookups miss, inserts are Invalid), for a key
// family the table cannot store.
func (w *Worker) Prepare(k *Key, p *Prepared) bool {
	return w.t.prepare(k, p)
}

// valid reports whether p was prepared for t.
func (p *Prepared) valid(t *Table) bool { return p.seed == t.seeds[0] }

// LookupPrepared is Lookup of a prepared key.
func (w *Worker) LookupPrepared(p *Prepared, e *Entry) bool {
	if p.valid(w.t) && w.t.find(&p.x, p.h, e, true) {
		w.stats.LookupHit++
		return true
	}
	w.stats.LookupMiss++
	return false
}

// Prefetch starts loading the index bucket where k's lookup (or insert)
// begins, and returns at once: a worker that knows the keys of a batch's
// packets before it processes them prefetches them all first, so that the
// buckets' cache misses overlap instead of costing one full memory latency
// each, in turn (the table is DRAM-bound: two misses per operation). It
// reads nothing and changes nothing; a key that cannot be stored is
// ignored.
func (w *Worker) Prefetch(k *Key) {
	if h, ok := w.t.keyHash(k); ok {
		prefetch(uintptr(unsafe.Pointer(&w.t.index[w.t.home(h)])))
	}
}

// PrefetchEntry is the second stage after Prefetch: once k's bucket has
// arrived, it starts loading the entries whose slot tags match k (the
// lookup's second miss). It reads the bucket with atomic loads and writes
// nothing. Call it for a batch's keys after Prefetch for all of them. (The
// data plane does not: in its batches the second pass cost more than it
// saved, docs/performance.md.)
func (w *Worker) PrefetchEntry(k *Key) {
	var p Prepared
	t := w.t
	if !t.prepare(k, &p) {
		return
	}
	h := p.h
	bk := &t.index[t.home(h)]
	tag := t.tag(h)
	for c := t.tagCandidates(bk, tag); c != 0; c &= c - 1 {
		if v := atomic.LoadUint32(&bk[bits.TrailingZeros32(c)&(bucketSlots-1)]); v != 0 && v&t.tagMask == tag {
			// A 48-byte entry may straddle two cache lines.
			en := &t.entries[t.slotIndex(v)]
			prefetch(uintptr(unsafe.Pointer(&en[0])))
			prefetch(uintptr(unsafe.Pointer(&en[entryWords-1])))
		}
	}
}

// Result is the outcome of Insert.
type Result uint8

const (
	Inserted Result = iota // the session was created
	Exists                 // the forward key is already stored; the Handle names its session
	Conflict               // the reverse key is already stored (NAT64: choose another port); the Handle names its holder
	Full                   // no room, and nothing could be evicted
	Invalid                // unsupported key families, equal keys, or an unknown class
)

var resultNames = [...]string{"inserted", "exists", "conflict", "full", "invalid"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "unknown"
}

// Insert creates the session fwd <-> rev with timeout class class, TCP
// state state (StateClosed for non-TCP) and value v, last seen at now.
// fwd must be FamilyIPv4 or FamilyNAT64, rev FamilyIPv4, and rev must
// share one address with fwd, as every NAT's reply tuple does (its source
// is fwd's destination, or its destination is fwd's source or
// destination); a FamilyNAT64 session's value must be zero (doc.go,
// "Memory layout"). Anything else is Invalid. The reverse key is the
// translated reply tuple: for NAT64 (EIP:y -> pool:t), for the gateway the
// post-DNAT reply.
//
// Insert takes no lock: it claims a free entry from the worker's cache,
// writes it, publishes the reverse key then the forward key in the index
// with one CAS each, and backs out if a racing Insert published either key
// first (Exists, Conflict).
func (w *Worker) Insert(fwd, rev *Key, class Class, state TCPState, v Value, now int64) (Handle, Result) {
	return w.insertKeys(fwd, rev, class, state, v, now, CheckFwd|CheckRev)
}

// InsertAfterMiss is Insert for a caller whose lookup of fwd has just
// missed: it skips looking fwd up again before it writes, and still looks
// rev up first (a NAT64 binding's pool port is often taken). A fwd stored
// meanwhile is still found, by the check after publication, which then
// takes the entry back: the result is the same as Insert's.
func (w *Worker) InsertAfterMiss(fwd, rev *Key, class Class, state TCPState, v Value, now int64) (Handle, Result) {
	return w.insertKeys(fwd, rev, class, state, v, now, CheckRev)
}

// InsertNew is InsertAfterMiss for a caller who also expects rev to be
// free (a new flow's reply tuple, a session whose binding it has just
// made): neither key is looked up before publication; the checks after it
// give the same results, an Exists or Conflict outcome at the cost of an
// entry written and taken back.
func (w *Worker) InsertNew(fwd, rev *Key, class Class, state TCPState, v Value, now int64) (Handle, Result) {
	return w.insertKeys(fwd, rev, class, state, v, now, 0)
}

// Check says which keys InsertPrepared looks up before it publishes the
// session (the checks after publication are always made): Insert checks
// both, InsertAfterMiss CheckRev, InsertNew none.
type Check uint8

const (
	CheckFwd Check = 1 << iota // look the forward key up first
	CheckRev                   // look the reverse key up first
)

// InsertPrepared is Insert (check CheckFwd|CheckRev), InsertAfterMiss
// (CheckRev) or InsertNew (0) of prepared keys.
func (w *Worker) InsertPrepared(fwd, rev *Prepared, class Class, state TCPState, v Value, now int64, check Check) (Handle, Result) {
	return w.insert(fwd, rev, class, state, v, now, check)
}

func (w *Worker) insertKeys(fwd, rev *Key, class Class, state TCPState, v Value, now int64, check Check) (Handle, Result) {
	var pf, pr Prepared
	w.t.prepare(fwd, &pf)
	w.t.prepare(rev, &pr)
	return w.insert(&pf, &pr, class, state, v, now, check)
}

func (w *Worker) insert(pf, pr *Prepared, class Class, state TCPState, v Value, now int64, check Check) (Handle, Result) {
	t := w.t
	f, r := &pf.x, &pr.x
	if !pf.valid(t) || !pr.valid(t) || r.fam != FamilyIPv4 ||
		int(class) >= t.nclasses || state >= NumTCPStates ||
		(f.meta == r.meta && f.a == r.a && f.b == r.b && f.c == r.c) {
		w.stats.InsertInvalid++
		return Handle{}, Invalid
	}
	mode, ok := revMode(f, r)
	if !ok || f.fam != FamilyIPv4 && v != (Value{}) {
		w.stats.InsertInvalid++
		return Handle{}, Invalid
	}
	hf, hr := pf.h, pr.h
	var e Entry
	if check&CheckFwd != 0 && t.find(f, hf, &e, false) && !w.expire(&e, now) {
		w.stats.InsertExists++
		return e.Handle, Exists
	}
	if check&CheckRev != 0 && t.find(r, hr, &e, false) && !w.expire(&e, now) {
		w.stats.InsertConflict++
		return e.Handle, Conflict
	}
	idx, ok := w.alloc()
	if !ok && t.policy == PolicyOldest && w.evict(hf, now) {
		idx, ok = w.alloc()
	}
	if !ok {
		w.stats.InsertFailedFull++
		return Handle{}, Full
	}

	// Write the entry as a seqlock writer. It is not reachable from the
	// index yet, but a reader holding its index from a previous life may
	// still be reading it: the odd seq makes that reader retry.
	en := &t.entries[idx]
	seq := w0Seq(atomic.LoadUint64(&en[0])) + 2
	atomic.StoreUint64(&en[0], uint64(seq-1))
	own := r.c // the reverse key's address not shared with the forward key
	if mode&modeSrcNew != 0 {
		own = uint32(r.a)
	}
	w3, w4 := f.a, f.b
	if f.fam == FamilyIPv4 {
		w3, w4 = f.a|uint64(v[0])<<32, uint64(v[1])|uint64(v[2])<<32
	}
	atomic.StoreUint64(&en[1], f.meta)
	atomic.StoreUint64(&en[2], r.meta&^famMask|mode<<famShift)
	atomic.StoreUint64(&en[3], w3)
	atomic.StoreUint64(&en[4], w4)
	atomic.StoreUint64(&en[5], uint64(f.c)|uint64(own)<<32)
	atomic.StoreUint64(&en[0], mkW0(seq, state, uint8(class)+1, Ticks(now))|pendingBit)

	// Publish the reverse key first: for NAT64 it is the one likely to be
	// taken (the pool port), and nobody can have found the entry yet.
	switch w.publish(r, hr, idx, &e, now) {
	case publishFull:
		w.retract(idx, seq, hf, hr, false, false)
		w.stats.InsertFailedFull++
		return Handle{}, Full
	case publishDuplicate:
		w.retract(idx, seq, hf, hr, false, true)
		w.stats.InsertConflict++
		return e.Handle, Conflict
	}
	switch w.publish(f, hf, idx, &e, now) {
	case publishFull:
		w.retract(idx, seq, hf, hr, false, true)
		w.stats.InsertFailedFull++
		return Handle{}, Full
	case publishDuplicate:
		w.retract(idx, seq, hf, hr, true, true)
		w.stats.InsertExists++
		return e.Handle, Exists
	}
	// Done: clear pending (Touch may be changing the control word).
	for {
		w0 := atomic.LoadUint64(&en[0])
		if atomic.CompareAndSwapUint64(&en[0], w0, w0&^pendingBit) {
			break
		}
	}
	w.stats.Inserted++
	return Handle{idx: idx, seq: seq}, Inserted
}

// expire removes the session e if its lifetime ran out at now (counted
// Expired), and reports whether it is gone: an expired session that the
// sweep has not reached yet must not keep a new one from its keys (a
// NAT64 pool port stays taken until the sweep comes round otherwise).
func (w *Worker) expire(e *Entry, now int64) bool {
	if !w.t.Expired(e, now) {
		return false
	}
	if w.remove(e.Handle.idx, e.Handle.seq) {
		w.stats.Expired++
		return true
	}
	// Someone else removed it meanwhile (or it is being written).
	w0 := atomic.LoadUint64(&w.t.entries[e.Handle.idx][0])
	return w0Seq(w0) != e.Handle.seq || !w0Live(w0)
}

func (w *Worker) placeOrEvict(h uint64, v uint32, now int64) bool {
	if w.t.place(h, v) {
		return true
	}
	return w.t.policy == PolicyOldest && w.evict(h, now) && w.t.place(h, v)
}

// retract unpublishes an entry whose Insert failed. The entry is pending,
// so nobody else deletes it; readers may have found it through a placed
// slot and see it disappear like any deleted session.
func (w *Worker) retract(idx, seq uint32, hf, hr uint64, fwdPlaced, revPlaced bool) {
	t := w.t
	en := &t.entries[idx]
	for {
		w0 := atomic.LoadUint64(&en[0])
		if atomic.CompareAndSwapUint64(&en[0], w0, w0+1) {
			break
		}
	}
	if revPlaced {
		t.unplace(hr, t.slotValue(idx, t.tag(hr)))
	}
	if fwdPlaced {
		t.unplace(hf, t.slotValue(idx, t.tag(hf)))
	}
	atomic.StoreUint64(&en[0], uint64(seq+2))
	w.free(idx)
}

// remove deletes the entry (idx, seq) if it is still that incarnation,
// live and not pending. The CAS that makes seq odd elects the one deleter
// among racing workers, sweepers and evictors; the winner removes both
// slots, marks the entry free (seq+2) and keeps it in its free cache.
func (w *Worker) remove(idx, seq uint32) bool {
	t := w.t
	en := &t.entries[idx]
	for {
		w0 := atomic.LoadUint64(&en[0])
		if w0Seq(w0) != seq || !w0Live(w0) || w0Pending(w0) {
			return false
		}
		if atomic.CompareAndSwapUint64(&en[0], w0, w0+1) {
			break
		}
	}
	var f, r enc
	t.keysOf(en, &f, &r)
	hf, hr := t.seeds.hash(&f), t.seeds.hash(&r)
	t.unplace(hf, t.slotValue(idx, t.tag(hf)))
	t.unplace(hr, t.slotValue(idx, t.tag(hr)))
	atomic.StoreUint64(&en[0], uint64(seq+2))
	w.free(idx)
	return true
}

// Delete removes the session h names. It returns false if the session is
// already gone (or its handle is stale).
func (w *Worker) Delete(h Handle) bool {
	if h.idx >= w.t.capacity || !w.remove(h.idx, h.seq) {
		return false
	}
	w.stats.Deleted++
	return true
}

// Touch records that the session was seen at now. It writes the entry only
// when the coarse time changed (once per tick per session). False: the
// handle is stale; look the key up again.
func (w *Worker) Touch(h Handle, now int64) bool {
	if h.idx >= w.t.capacity {
		return false
	}
	return w.touch(h, Ticks(now))
}

// touch is Touch of a valid handle, at tick tk.
func (w *Worker) touch(h Handle, tk uint32) bool {
	en := &w.t.entries[h.idx]
	for {
		w0 := atomic.LoadUint64(&en[0])
		if w0Seq(w0) != h.seq || !w0Live(w0) {
			return false
		}
		if w0Seen(w0) == tk {
			return true
		}
		if atomic.CompareAndSwapUint64(&en[0], w0, w0&^(uint64(seenMask)<<40)|uint64(tk)<<40) {
			return true
		}
	}
}

// UpdateTCP runs the RFC 6146 state machine (NextTCPState) for a packet
// with TCP flags seen in direction dir at now, and stores the new state,
// class and last-seen time with one CAS (retried if another worker changed
// the session meanwhile). It returns the new state; false means the handle
// is stale.
func (w *Worker) UpdateTCP(h Handle, dir Dir, flags uint8, now int64) (TCPState, bool) {
	if h.idx >= w.t.capacity {
		return StateClosed, false
	}
	return w.updateTCP(h, dir, flags, Ticks(now))
}

// updateTCP is UpdateTCP of a valid handle, at tick tk.
func (w *Worker) updateTCP(h Handle, dir Dir, flags uint8, tk uint32) (TCPState, bool) {
	en := &w.t.entries[h.idx]
	for {
		w0 := atomic.LoadUint64(&en[0])
		if w0Seq(w0) != h.seq || !w0Live(w0) {
			return StateClosed, false
		}
		st, cls := NextTCPState(w0State(w0), dir, flags)
		n := w0&^(0x7<<32) | uint64(st)<<32
		if cls != ClassKeep && int(cls) < w.t.nclasses {
			n = n&^(0xf<<36|uint64(seenMask)<<40) | uint64(cls+1)<<36 | uint64(tk)<<40
		}
		if n == w0 || atomic.CompareAndSwapUint64(&en[0], w0, n) {
			return st, true
		}
	}
}

// Extend records that the session was seen at now and gives it timeout
// class cls if that lifetime is longer than its own (a NAT64 binding
// whose TCP session became established takes the session's longer
// lifetime). One CAS, retried if another worker changed the control word.
// False: the handle is stale (or cls is not a configured class).
func (w *Worker) Extend(h Handle, cls Class, now int64) bool {
	if h.idx >= w.t.capacity || int(cls) >= w.t.nclasses {
		return false
	}
	en := &w.t.entries[h.idx]
	tk := Ticks(now)
	for {
		w0 := atomic.LoadUint64(&en[0])
		if w0Seq(w0) != h.seq || !w0Live(w0) {
			return false
		}
		n := w0&^(uint64(seenMask)<<40) | uint64(tk)<<40
		if w.t.timeoutTicks(uint8(cls)+1) > w.t.timeoutTicks(w0Class(w0)) {
			n = n&^(0xf<<36) | uint64(cls+1)<<36
		}
		if n == w0 || atomic.CompareAndSwapUint64(&en[0], w0, n) {
			return true
		}
	}
}

// SetValue replaces the session's value. Readers see the old or the new
// value, never a mix. The session gets a new version: the returned handle
// replaces h, and other holders of h must look the key up again. A
// FamilyNAT64 session holds no value: a non-zero v is refused (false).
func (w *Worker) SetValue(h Handle, v Value) (Handle, bool) {
	if h.idx >= w.t.capacity {
		return Handle{}, false
	}
	en := &w.t.entries[h.idx]
	var w0 uint64
	for {
		w0 = atomic.LoadUint64(&en[0])
		if w0Seq(w0) != h.seq || !w0Live(w0) || w0Pending(w0) {
			return Handle{}, false
		}
		// Refused before the entry is taken, not by backing out: a
		// writer always leaves a new seq (publish's matchSettled
		// relies on it). w1 is this incarnation's if seq is unchanged.
		if v != (Value{}) && Family(atomic.LoadUint64(&en[1])>>famShift) != FamilyIPv4 {
			if w0Seq(atomic.LoadUint64(&en[0])) == h.seq {
				return Handle{}, false
			}
			continue
		}
		if atomic.CompareAndSwapUint64(&en[0], w0, w0+1) {
			break
		}
	}
	if Family(atomic.LoadUint64(&en[1])>>famShift) == FamilyIPv4 {
		src := atomic.LoadUint64(&en[3]) & 0xffffffff
		atomic.StoreUint64(&en[3], src|uint64(v[0])<<32)
		atomic.StoreUint64(&en[4], uint64(v[1])|uint64(v[2])<<32)
	}
	// Nobody else can change w0 while seq is odd (every CAS checks seq).
	// The seq wraps within its 32 bits (w0+2 carried into the state).
	atomic.StoreUint64(&en[0], w0&^0xffffffff|uint64(w0Seq(w0)+2))
	return Handle{idx: h.idx, seq: h.seq + 2}, true
}

// Sweep examines the next n entries of the table's clock hand and deletes
// those idle for longer than their class's timeout. Every worker calls it
// with a small n once per batch (the hand is shared: one atomic add per
// call), so the whole table is swept without a stop and without a sweeper
// goroutine; a goroutine calling it in a loop works too. It returns the
// number of sessions expired.
func (w *Worker) Sweep(n int, now int64) int {
	t := w.t
	hwm := min(t.next.v.Load(), uint64(t.capacity))
	if hwm == 0 || n <= 0 {
		return 0
	}
	i := (t.hand.v.Add(uint64(n)) - uint64(n)) % hwm
	tk := Ticks(now)
	expired := 0
	for ; n > 0; n-- {
		w0 := atomic.LoadUint64(&t.entries[i][0])
		if w0Live(w0) && w0&1 == 0 && !w0Pending(w0) &&
			age(tk, w0Seen(w0)) > int32(t.timeoutTicks(w0Class(w0))) &&
			w.remove(uint32(i), w0Seq(w0)) {
			expired++
		}
		if i++; i == hwm {
			i = 0
		}
	}
	w.stats.Expired += uint64(expired)
	return expired
}

// evictSample is how many sessions of a bucket eviction compares: a
// sample, from a slot the new key's hash picks, rather than all 15, whose
// entries are as many cache misses in a large table (an approximation of
// "the least lifetime left", as Redis samples keys for LRU).
const evictSample = 4

// sample fills idx and w0s with up to evictSample live, settled entries
// (not being written or inserted) of bucket b, reading its slots from off
// round, and returns how many.
func (t *Table) sample(b uint64, off int, idx *[evictSample]uint32, w0s *[evictSample]uint64) int {
	bk := &t.index[b]
	n := 0
	for i := 0; i < slotsUsed && n < evictSample; i++ {
		s := off + i
		if s >= slotsUsed {
			s -= slotsUsed
		}
		v := atomic.LoadUint32(&bk[s])
		if v == 0 {
			continue
		}
		x := t.slotIndex(v)
		w0 := atomic.LoadUint64(&t.entries[x][0])
		if !w0Live(w0) || w0&1 != 0 || w0Pending(w0) {
			continue
		}
		idx[n], w0s[n] = x, w0
		n++
	}
	return n
}

// evictOffset is the slot where eviction for a key of hash h starts its
// sample: any bits of the hash do, they only spread the samples' starts
// over the bucket (in small tables they overlap the tag's, which is of no
// consequence).
func evictOffset(h uint64) int { return int(h>>16&0xffff) % slotsUsed }

// evict removes, among a sample of the sessions in the home bucket of
// hash h (or of the nearest bucket after it in the probe window that has
// any), the one with the least lifetime left (an expired one first).
func (w *Worker) evict(h uint64, now int64) bool {
	t := w.t
	tk := Ticks(now)
	var idx [evictSample]uint32
	var w0s [evictSample]uint64
	// The home bucket, or if it holds no candidate (empty, or only
	// entries being written) the nearest bucket after it in the probe
	// window that does: an entry freed there frees a slot where the key
	// can be placed, and an entry for the allocator.
	b, n := t.home(h), 0
	for p := 0; p < maxProbe; p++ {
		if n = t.sample(b, evictOffset(h), &idx, &w0s); n > 0 {
			break
		}
		if b++; b == t.nb {
			b = 0
		}
	}
	if n == 0 {
		return false
	}
	best, bestLeft := 0, int64(1)<<62
	for i := range n {
		left := int64(t.timeoutTicks(w0Class(w0s[i]))) - int64(age(tk, w0Seen(w0s[i])))
		if left < bestLeft {
			best, bestLeft = i, left
		}
	}
	if !w.remove(idx[best], w0Seq(w0s[best])) {
		return false
	}
	if bestLeft < 0 {
		w.stats.Expired++
	} else {
		w.stats.Evicted++
	}
	return true
}

// alloc takes a free entry: from the worker's cache, from a never-used
// range, from a chain other workers freed, or a new range from the bump
// allocator (one atomic add per 64 entries).
func (w *Worker) alloc() (uint32, bool) {
	t := w.t
	for {
		if w.cur.n > 0 {
			idx := w.cur.head - 1
			w.cur.head = uint32(atomic.LoadUint64(&t.entries[idx][1]))
			w.cur.n--
			return idx, true
		}
		if w.freshLo < w.freshHi {
			w.freshLo++
			return w.freshLo - 1, true
		}
		if w.bld.n > 0 {
			w.cur, w.bld = w.bld, freeList{}
			continue
		}
		if h := t.popChain(); h != 0 {
			w.cur = freeList{head: h, n: chainLen}
			continue
		}
		if t.next.v.Load() < uint64(t.capacity) {
			lo := t.next.v.Add(chainLen) - chainLen
			if lo < uint64(t.capacity) {
				w.freshLo, w.freshHi = uint32(lo), uint32(min(lo+chainLen, uint64(t.capacity)))
				continue
			}
		}
		return 0, false
	}
}

// free caches a freed entry; every full chain of 64 goes to the shared
// stack when the worker already has entries to allocate from.
func (w *Worker) free(idx uint32) {
	t := w.t
	atomic.StoreUint64(&t.entries[idx][1], uint64(w.bld.head))
	w.bld.head = idx + 1
	w.bld.n++
	if w.bld.n == chainLen {
		if w.cur.n == 0 {
			w.cur = w.bld
		} else {
			t.pushChain(w.bld.head)
		}
		w.bld = freeList{}
	}
}

// pushChain and popChain are a Treiber stack of chains (linked through the
// head entry's word 2), its top word tagged against ABA.
func (t *Table) pushChain(head uint32) {
	for {
		old := t.chains.v.Load()
		atomic.StoreUint64(&t.entries[head-1][2], uint64(uint32(old)))
		if t.chains.v.CompareAndSwap(old, (old>>32+1)<<32|uint64(head)) {
			return
		}
	}
}

func (t *Table) popChain() uint32 {
	for {
		old := t.chains.v.Load()
		h := uint32(old)
		if h == 0 {
			return 0
		}
		next := uint32(atomic.LoadUint64(&t.entries[h-1][2]))
		if t.chains.v.CompareAndSwap(old, (old>>32+1)<<32|uint64(next)) {
			return h
		}
	}
}

// publish places the slot of entry idx for key k (hash h) in the index
// (evicting under PolicyOldest when its window is full: publishFull if
// that fails too), then looks for another live entry holding k, which an
// Insert racing with ours published (publishDuplicate; out names it).
// One function for both, sharing the hash's home and tag: place and
// duplicate as two calls (and placeOrEvict around place) cost a fifth
// more. All index operations are
// sequentially consistent atomics, so of two racing inserters at least the
// later one to publish sees the other. The rules, checked in this order:
// another entry that has finished its Insert (not pending) wins; between
// two pending entries the smaller index wins; and an inserter that would
// win against a pending larger one waits for that one to decide (it backs
// out when it sees us, or finishes if it checked before we published, and
// then we back out). Waits only go from smaller to larger indices, so they
// cannot form a cycle; they happen only when two inserts of one key meet.
// A finished entry whose lifetime ran out at now holds nothing: it is
// removed (counted Expired), as the sweep would have, and is no duplicate.
func (w *Worker) publish(k *enc, h uint64, idx uint32, out *Entry, now int64) uint8 {
	t := w.t
	home, tag := t.home(h), t.tag(h)
	mine := t.slotValue(idx, tag)
	// The first free slot of the home bucket; beyond it, place (which
	// reads the home bucket again) or eviction.
	bk := &t.index[home]
	placed := false
	for s := 0; s < slotsUsed; s++ {
		if atomic.LoadUint32(&bk[s]) == 0 && atomic.CompareAndSwapUint32(&bk[s], 0, mine) {
			placed = true
			break
		}
	}
	if !placed && !w.placeOrEvict(h, mine, now) {
		return publishFull
	}
	b := home
	for p := 0; p < maxProbe; p++ {
		bk := &t.index[b]
		for c := t.tagCandidates(bk, tag); c != 0; c &= c - 1 {
			v := atomic.LoadUint32(&bk[bits.TrailingZeros32(c)&(bucketSlots-1)])
			if v == mine || v == 0 || v&t.tagMask != tag {
				continue // ours (the only slot of entry idx with this tag), or changed
			}
			o := t.slotIndex(v)
			if !t.matchSettled(o, k, out) {
				continue
			}
			for {
				w0 := atomic.LoadUint64(&t.entries[o][0])
				if w0Seq(w0) != out.Handle.seq || !w0Live(w0) {
					if t.matchSettled(o, k, out) {
						continue // a new version (SetValue) of the same session
					}
					break // it backed out or was deleted: not a duplicate
				}
				if !w0Pending(w0) && w.expire(out, now) {
					break // its lifetime ran out: removed, no duplicate
				}
				if !w0Pending(w0) || o < idx {
					return publishDuplicate
				}
				runtime.Gosched()
			}
		}
		if atomic.LoadUint32(&bk[ovfSlot]) == 0 {
			return publishPlaced
		}
		if b++; b == t.nb {
			b = 0
		}
	}
	return publishPlaced
}

// matchSettled is match for publish's duplicate scan, which must not take
// an entry whose writer holds it (seq odd for longer than match's
// retries) for a mismatch: that writer may be SetValue, which keeps the
// session and its keys, and the key would be stored twice. A mismatch
// counts only if the seq was even before match and unchanged after it
// (every writer leaves a new seq): no writer held the entry meanwhile.
// Otherwise it waits for the writer (no writer that holds an entry waits
// for anyone) and reads again.
func (t *Table) matchSettled(idx uint32, k *enc, out *Entry) bool {
	en := &t.entries[idx]
	for {
		if w0 := atomic.LoadUint64(&en[0]); w0&1 == 0 {
			if t.match(idx, k, out, false) {
				return true
			}
			if w0Seq(atomic.LoadUint64(&en[0])) == w0Seq(w0) {
				return false
			}
		}
		runtime.Gosched()
	}
}

// publish's results.
const (
	publishPlaced    = iota // placed, no other entry holds the key
	publishFull             // no room
	publishDuplicate        // placed, but another entry holds the key
)
