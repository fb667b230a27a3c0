package session_test

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"xdpgw/dataplane/session"
)

// racyKeys are session i's keys as writer w creates them, NAT64 sessions
// or (nat false) gateway flows: the same forward key for both writers,
// different reverse keys (pool or client ports), so the writers race on
// the forward key and a reader cannot guess which reverse key it will
// find. A gateway flow's value is the checksum of its keys (racyValue); a
// NAT64 session has no value, and its reader checks the other key alone.
func racyKeys(i uint32, w int, nat bool) (f, r session.Key) {
	if nat {
		f, r = natKeys(i, protoTCP)
	} else {
		f, r = gwKeys(i)
	}
	r.DstPort += uint16(w) * 32768
	return f, r
}

func racyValue(f, r *session.Key) session.Value {
	if f.Family == session.FamilyNAT64 {
		return session.Value{}
	}
	return check(f, r)
}

// shapes runs a test on NAT64 sessions and on gateway flows.
func shapes(t *testing.T, run func(t *testing.T, nat bool)) {
	t.Run("nat64", func(t *testing.T) { run(t, true) })
	t.Run("gateway", func(t *testing.T) { run(t, false) })
}

func ops() int {
	if raceEnabled {
		return 20_000
	}
	return 300_000
}

// readers runs n goroutines that look random keys up until stop, checking
// every hit: the value is the checksum of the entry's two keys, and the
// other key goes with the key looked up. It returns the hits checked.
func readers(t *testing.T, tab *session.Table, n int, ids uint32, nat bool, stop *atomic.Bool, wg *sync.WaitGroup) *atomic.Int64 {
	var checked atomic.Int64
	for ri := range n {
		w := tab.NewWorker()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(ri), 2))
			for !stop.Load() {
				i := rng.Uint32N(ids)
				f, r := racyKeys(i, rng.IntN(2), nat)
				key := &f
				if rng.IntN(2) == 0 {
					key = &r
				}
				var e session.Entry
				if !w.Lookup(key, &e) {
					continue
				}
				var got session.Value
				if e.Dir == session.DirForward {
					got = racyValue(key, &e.Other)
				} else {
					got = racyValue(&e.Other, key)
				}
				if e.Value != got {
					t.Errorf("torn entry: key %+v value %v, checksum of keys %v (other %+v)", *key, e.Value, got, e.Other)
					return
				}
				_, r0 := racyKeys(i, 0, nat)
				_, r1 := racyKeys(i, 1, nat)
				if e.Dir == session.DirForward && e.Other != r0 && e.Other != r1 ||
					e.Dir == session.DirReverse && e.Other != f {
					t.Errorf("wrong other key for %+v: %+v", *key, e.Other)
					return
				}
				checked.Add(1)
			}
		}()
	}
	return &checked
}

// TestConcurrentNoTornReads runs two writers (insert, replace the value,
// update the TCP state, delete, over one key space) against two readers.
func TestConcurrentNoTornReads(t *testing.T) { shapes(t, testConcurrentNoTornReads) }

func testConcurrentNoTornReads(t *testing.T, nat bool) {
	const ids = 2048
	tab := newTable(t, session.Config{Capacity: ids, Policy: session.PolicyDropNew})
	var stop atomic.Bool
	var rwg, wwg sync.WaitGroup
	checked := readers(t, tab, 2, ids, nat, &stop, &rwg)
	racyWriters(tab, ids, nat, 1, &wwg)
	wwg.Wait()
	stop.Store(true)
	rwg.Wait()
	if checked.Load() == 0 {
		t.Fatal("readers never hit")
	}
	t.Logf("%d hits checked", checked.Load())
	verifyQuiescent(t, tab, ids, nat)
}

// TestConcurrentExpiry: two workers insert with an advancing clock and
// sweep as they go (as the data plane does once per batch) while a third
// deletes and two readers check entries; then everything expires.
func TestConcurrentExpiry(t *testing.T) { shapes(t, testConcurrentExpiry) }

func testConcurrentExpiry(t *testing.T, nat bool) {
	const ids = 4096
	tab := newTable(t, session.Config{Capacity: ids})
	var stop atomic.Bool
	var rwg, wwg sync.WaitGroup
	checked := readers(t, tab, 2, ids, nat, &stop, &rwg)
	var clock atomic.Int64
	for wi := range 2 {
		w := tab.NewWorker()
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			rng := rand.New(rand.NewPCG(uint64(wi), 3))
			for n := range ops() {
				now := clock.Add(sec / 10) // ~1 tick per 10 ops
				f, r := racyKeys(rng.Uint32N(ids), wi, nat)
				cls := session.ClassICMP
				if rng.IntN(2) == 0 {
					cls = session.ClassUDP
				}
				w.Insert(&f, &r, cls, 0, racyValue(&f, &r), now)
				if n%8 == 0 {
					w.Sweep(32, now)
				}
				w.Flush()
			}
		}()
	}
	w := tab.NewWorker()
	wwg.Add(1)
	go func() {
		defer wwg.Done()
		rng := rand.New(rand.NewPCG(9, 3))
		for range ops() / 2 {
			f, _ := racyKeys(rng.Uint32N(ids), 0, nat)
			var e session.Entry
			if w.Lookup(&f, &e) {
				if rng.IntN(2) == 0 {
					w.Delete(e.Handle)
				} else {
					w.Touch(e.Handle, clock.Load())
				}
			}
		}
		w.Flush()
	}()
	wwg.Wait()
	stop.Store(true)
	rwg.Wait()
	t.Logf("%d hits checked", checked.Load())
	verifyQuiescent(t, tab, ids, nat)

	// Everything expires: one worker sweeps the whole table an hour on.
	w.Sweep(ids, clock.Load()+3600*sec)
	w.Flush()
	if s := tab.Stats(); s.Live() != 0 {
		t.Errorf("live after the final sweep = %d; stats %+v", s.Live(), s)
	}
	if got := session.UsedSlots(tab); got != 0 {
		t.Errorf("used slots after the final sweep = %d", got)
	}
	if got := session.OverflowSum(tab); got != 0 {
		t.Errorf("overflow counts after the final sweep = %d", got)
	}
	s := tab.Stats()
	if s.Expired == 0 {
		t.Errorf("nothing expired: %+v", s)
	}
}

// verifyQuiescent checks a table nobody is writing: each forward key is in
// at most one session, found from both of its keys with the same handle;
// the index holds exactly two slots per session and the counters agree;
// deleting everything leaves the index empty, overflow counts included.
func verifyQuiescent(t *testing.T, tab *session.Table, ids uint32, nat bool) {
	t.Helper()
	w := tab.NewWorker()
	var live []session.Handle
	for i := range ids {
		f, _ := racyKeys(i, 0, nat)
		var e session.Entry
		if !w.Lookup(&f, &e) {
			continue
		}
		var r2 session.Entry
		if !w.Lookup(&e.Other, &r2) || r2.Handle != e.Handle || r2.Dir != session.DirReverse {
			t.Errorf("session %d: reverse key %+v not found with handle %v (got %+v)", i, e.Other, e.Handle, r2)
		}
		live = append(live, e.Handle)
	}
	if got := session.UsedSlots(tab); got != 2*len(live) {
		t.Errorf("used slots = %d, want 2 x %d live sessions (a duplicate or a leaked slot)", got, len(live))
	}
	if s := tab.Stats(); s.Live() != int64(len(live)) {
		t.Errorf("counters say %d live, the table has %d; stats %+v", s.Live(), len(live), s)
	}
	for _, h := range live {
		if !w.Delete(h) {
			t.Errorf("Delete(%v) failed", h)
		}
	}
	w.Flush()
	if got := session.UsedSlots(tab); got != 0 {
		t.Errorf("used slots after deleting all = %d", got)
	}
	if got := session.OverflowSum(tab); got != 0 {
		t.Errorf("overflow counts after deleting all = %d", got)
	}
}

// TestConcurrentSameKey: two workers insert the same forward keys with
// different reverse keys at the same moment; exactly one wins each.
func TestConcurrentSameKey(t *testing.T) {
	for _, v := range insertVariants {
		t.Run(v, func(t *testing.T) { shapes(t, func(t *testing.T, nat bool) { testConcurrentSameKey(t, v, nat) }) })
	}
}

// testConcurrentSameKey races two workers inserting the same keys with the
// named variant; InsertAfterMiss and InsertNew publish before they check,
// so that every collision goes through the publish-then-resolve protocol.
func testConcurrentSameKey(t *testing.T, variant string, nat bool) {
	const ids = 20_000
	tab := newTable(t, session.Config{Capacity: 2 * ids})
	var wg sync.WaitGroup
	var won [2]atomic.Int64
	start := make(chan struct{})
	for wi := range 2 {
		w := tab.NewWorker()
		insert := insertVariant(w, variant)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range uint32(ids) {
				f, r := racyKeys(i, wi, nat)
				if _, res := insert(&f, &r, session.ClassUDP, 0, racyValue(&f, &r), 0); res == session.Inserted {
					won[wi].Add(1)
				} else if res != session.Exists {
					t.Errorf("Insert %d = %v", i, res)
				}
			}
			w.Flush()
		}()
	}
	close(start)
	wg.Wait()
	if got := won[0].Load() + won[1].Load(); got != ids {
		t.Errorf("sessions created = %d (%d + %d), want %d", got, won[0].Load(), won[1].Load(), ids)
	}
	verifyQuiescent(t, tab, ids, nat)
}

// racyWriters starts two writers that insert, replace the value of, update
// the TCP state of and delete sessions of one key space (racyKeys), seeded
// with seed, for ops() operations each.
func racyWriters(tab *session.Table, ids uint32, nat bool, seed uint64, wg *sync.WaitGroup) {
	for wi := range 2 {
		w := tab.NewWorker()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(wi), seed))
			for range ops() {
				f, r := racyKeys(rng.Uint32N(ids), wi, nat)
				var e session.Entry
				switch op := rng.IntN(4); {
				case !w.Lookup(&f, &e):
					w.Insert(&f, &r, session.ClassTCPEstablished, session.StateEstablished, racyValue(&f, &r), 0)
				case op == 0:
					var kf, kr session.Key
					if tab.Keys(e.Handle, &kf, &kr) {
						w.SetValue(e.Handle, racyValue(&kf, &kr))
					}
				case op == 1:
					w.UpdateTCP(e.Handle, e.Dir, session.FlagACK, int64(rng.IntN(100))*sec)
				default:
					w.Delete(e.Handle)
				}
				w.Flush()
			}
		}()
	}
}
