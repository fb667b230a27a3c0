package session_test

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"xdpgw/dataplane/session"
)

// hitKeys are the keys of session i of the differential test: NAT64
// sessions of three protocols, and gateway flows (which carry a value).
func hitKeys(i uint32) (f, r session.Key, tcp bool) {
	switch i % 4 {
	case 0:
		f, r = gwKeys(i)
		return f, r, true
	case 1:
		f, r = natKeys(i, protoTCP)
		return f, r, true
	case 2:
		f, r = natKeys(i, protoUDP)
	default:
		f, r = natKeys(i, protoICMP)
	}
	return f, r, false
}

// TestLookupRefreshMatchesThreeCalls: LookupTouch and LookupUpdateTCP (and
// their WithoutOther forms) do what their callers did with three calls,
// Lookup, Expired, then Touch or UpdateTCP on a live hit: two tables with
// one seed take the same random packets (times within a tick and across
// lifetimes, every TCP flag, both keys, deletes of expired hits as the
// gateway does, re-inserts), one the old way and one the new, and must
// report the same outcomes, snapshots, TCP states and counters, and end up
// with the same sessions.
func TestLookupRefreshMatchesThreeCalls(t *testing.T) {
	const n = 16
	tabA := newTable(t, session.Config{Capacity: 64})
	tabB := newTable(t, session.Config{Capacity: 64})
	wa, wb := tabA.NewWorker(), tabB.NewWorker()
	insert := func(i uint32, now int64) {
		f, r, tcp := hitKeys(i)
		cls, st := session.ClassUDP, session.StateClosed
		if tcp {
			cls, st = session.ClassTCPTransitory, session.StateV6Init
		}
		v := session.Value{}
		if f.Family == session.FamilyIPv4 {
			v = check(&f, &r)
		}
		ha, ra := wa.Insert(&f, &r, cls, st, v, now)
		hb, rb := wb.Insert(&f, &r, cls, st, v, now)
		if ra != rb || ha != hb || ra != session.Inserted {
			t.Fatalf("insert %d: %v %v / %v %v", i, ha, ra, hb, rb)
		}
	}
	for i := range uint32(n) {
		insert(i, 0)
	}
	steps := []int64{0, sec / 3, sec, 2 * sec, 61 * sec, 4*60*sec + sec, 5*60*sec + 2*sec, 2*3600*sec + 5*60*sec}
	flagSets := []uint8{session.FlagACK, session.FlagSYN, session.FlagSYN | session.FlagACK, session.FlagFIN | session.FlagACK,
		session.FlagRST, session.FlagRST | session.FlagACK, 0}
	rng := rand.New(rand.NewPCG(1, 2))
	now := int64(0)
	var live, expired, miss, moved int
	for step := range 20000 {
		// Mostly within a tick or a few; now and then past a lifetime.
		if rng.IntN(16) == 0 {
			now += steps[rng.IntN(len(steps))]
		} else {
			now += steps[rng.IntN(3)]
		}
		i := rng.Uint32N(n)
		f, r, tcp := hitKeys(i)
		k := &f
		if rng.IntN(2) == 0 {
			k = &r
		}
		flags := flagSets[rng.IntN(len(flagSets))]

		var ea session.Entry
		hitA, stA := session.HitMiss, session.StateClosed
		if wa.Lookup(k, &ea) {
			hitA = session.HitExpired
			if !tabA.Expired(&ea, now) {
				hitA, stA = session.HitLive, ea.State
				if tcp {
					var ok bool
					if stA, ok = wa.UpdateTCP(ea.Handle, ea.Dir, flags, now); !ok {
						t.Fatalf("step %d: UpdateTCP(%v) of a fresh hit failed at %d", step, ea.Handle, now)
					}
				} else {
					wa.Touch(ea.Handle, now)
				}
			}
		}

		var eb session.Entry
		without := rng.IntN(2) == 0
		sentinel := session.Key{Zone: 0xbeef}
		if without {
			eb.Other = sentinel
		}
		hitB, stB := session.HitMiss, session.StateClosed
		switch {
		case tcp && without:
			hitB, stB = wb.LookupUpdateTCPWithoutOther(k, &eb, flags, now)
		case tcp:
			hitB, stB = wb.LookupUpdateTCP(k, &eb, flags, now)
		case without:
			hitB = wb.LookupTouchWithoutOther(k, &eb, now)
		default:
			hitB = wb.LookupTouch(k, &eb, now)
		}
		if without {
			if eb.Other != sentinel {
				t.Fatalf("step %d: WithoutOther wrote Other: %+v", step, eb.Other)
			}
			eb.Other = ea.Other
		}
		if hitA != hitB {
			t.Fatalf("step %d key %+v: three calls %v, one call %v", step, *k, hitA, hitB)
		}
		switch hitB {
		case session.HitMiss:
			miss++
			if rng.IntN(2) == 0 {
				insert(i, now)
			}
			continue
		case session.HitExpired:
			expired++
			if stB != eb.State {
				t.Fatalf("step %d: expired state %v, snapshot %v", step, stB, eb.State)
			}
			if rng.IntN(2) == 0 { // the gateway deletes, the NAT64 leaves it
				if da, db := wa.Delete(ea.Handle), wb.Delete(eb.Handle); !da || !db {
					t.Fatalf("step %d: delete %v %v", step, da, db)
				}
			}
		case session.HitLive:
			live++
			if stB != eb.State {
				moved++
			}
		}
		if ea != eb {
			t.Fatalf("step %d: snapshots differ:\n%+v\n%+v", step, ea, eb)
		}
		if tcp && hitB == session.HitLive && stA != stB {
			t.Fatalf("step %d: TCP state %v, one call %v (flags %#x, snapshot %+v)", step, stA, stB, flags, eb)
		}
		var sa, sb session.Entry
		oka, okb := wa.Lookup(k, &sa), wb.Lookup(k, &sb)
		if oka != okb || sa != sb {
			t.Fatalf("step %d: after the refresh %v %+v, one call %v %+v", step, oka, sa, okb, sb)
		}
	}
	wa.Flush()
	wb.Flush()
	if a, b := tabA.Stats(), tabB.Stats(); a != b {
		t.Fatalf("counters differ:\n%+v\n%+v", a, b)
	}
	if live < 1000 || expired < 100 || miss < 100 || moved < 100 {
		t.Fatalf("weak coverage: %d live (%d moved the state), %d expired, %d misses", live, moved, expired, miss)
	}
	t.Logf("%d live (%d moved the TCP state), %d expired, %d misses", live, moved, expired, miss)
}

// TestLookupRefreshWrites: a hit refreshes only when needed and as
// documented: the snapshot is the session before the packet, the session
// after it is refreshed; a miss leaves the entry alone.
func TestLookupRefreshWrites(t *testing.T) {
	tab := newTable(t, session.Config{Capacity: 16})
	w := tab.NewWorker()
	f, r := natKeys(1, protoTCP)
	if _, res := w.Insert(&f, &r, session.ClassTCPTransitory, session.StateV6Init, session.Value{}, 0); res != session.Inserted {
		t.Fatal(res)
	}
	var e session.Entry
	// The SYN+ACK from the IPv4 side establishes it, 10 s later.
	h, st := w.LookupUpdateTCP(&r, &e, session.FlagSYN|session.FlagACK, 10*sec)
	if h != session.HitLive || st != session.StateEstablished || e.State != session.StateV6Init || e.LastSeen != 0 ||
		e.Dir != session.DirReverse || e.Other != f {
		t.Fatalf("SYN+ACK: %v %v %+v", h, st, e)
	}
	if !w.Lookup(&f, &e) || e.State != session.StateEstablished || e.Class != session.ClassTCPEstablished ||
		e.LastSeen != session.Ticks(10*sec) {
		t.Fatalf("after SYN+ACK: %+v", e)
	}
	// Established for 2 h 4 min: alive at 2 h, refreshed then.
	at := 2 * 3600 * sec
	if h, st = w.LookupUpdateTCP(&f, &e, session.FlagACK, at); h != session.HitLive || st != session.StateEstablished {
		t.Fatalf("ACK at 2 h: %v %v", h, st)
	}
	if !w.Lookup(&f, &e) || e.LastSeen != session.Ticks(at) {
		t.Fatalf("ACK at 2 h did not refresh: %+v", e)
	}
	// A FIN keeps the lifetime (RFC 6146): expired 2 h 5 min later.
	if h, st = w.LookupUpdateTCP(&f, &e, session.FlagFIN|session.FlagACK, at+sec); h != session.HitLive || st != session.StateV6FinRcv {
		t.Fatalf("FIN: %v %v", h, st)
	}
	late := at + (2*3600+5*60)*sec
	if h, st = w.LookupUpdateTCP(&r, &e, session.FlagACK, late); h != session.HitExpired || st != session.StateV6FinRcv {
		t.Fatalf("ACK after the lifetime: %v %v", h, st)
	}
	if !w.Lookup(&f, &e) || e.State != session.StateV6FinRcv || e.LastSeen != session.Ticks(at) {
		t.Fatalf("an expired hit wrote the entry: %+v", e)
	}
	if w.LookupTouch(&f, &e, late) != session.HitExpired {
		t.Fatal("LookupTouch of an expired session")
	}
	// UDP: touched once per tick, expired after 5 min.
	uf, ur := natKeys(2, protoUDP)
	w.Insert(&uf, &ur, session.ClassUDP, session.StateClosed, session.Value{}, 0)
	if w.LookupTouch(&ur, &e, 4*60*sec) != session.HitLive || e.LastSeen != 0 {
		t.Fatalf("UDP at 4 min: %+v", e)
	}
	if w.LookupTouch(&uf, &e, 8*60*sec) != session.HitLive || e.LastSeen != session.Ticks(4*60*sec) {
		t.Fatalf("UDP at 8 min (refreshed at 4): %+v", e)
	}
	if w.LookupTouchWithoutOther(&uf, &e, 14*60*sec) != session.HitExpired {
		t.Fatal("UDP at 14 min: not expired")
	}
	miss, _ := natKeys(3, protoUDP)
	if w.LookupTouch(&miss, &e, 0) != session.HitMiss {
		t.Fatal("miss")
	}
	if h, st := w.LookupUpdateTCPWithoutOther(&miss, &e, session.FlagSYN, 0); h != session.HitMiss || st != session.StateClosed {
		t.Fatalf("TCP miss: %v %v", h, st)
	}
	var ipv6 session.Key
	ipv6.Family = session.FamilyIPv6
	if w.LookupTouch(&ipv6, &e, 0) != session.HitMiss {
		t.Fatal("an IPv6 key hit")
	}
	w.Flush()
	if s := tab.Stats(); s.LookupHit != 11 || s.LookupMiss != 3 {
		t.Fatalf("counters: %+v", s)
	}
}

// TestConcurrentRefresh: the refreshing lookups against writers that
// insert, replace values (a new seq), update and delete the same keys: no
// torn snapshot, and the table is consistent afterwards.
func TestConcurrentRefresh(t *testing.T) { shapes(t, testConcurrentRefresh) }

func testConcurrentRefresh(t *testing.T, nat bool) {
	const ids = 1024
	tab := newTable(t, session.Config{Capacity: ids, Policy: session.PolicyDropNew})
	var stop atomic.Bool
	var rwg, wwg sync.WaitGroup
	var checked atomic.Int64
	for ri := range 2 {
		w := tab.NewWorker()
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			rng := rand.New(rand.NewPCG(uint64(ri), 3))
			for !stop.Load() {
				f, r := racyKeys(rng.Uint32N(ids), rng.IntN(2), nat)
				key := &f
				if rng.IntN(2) == 0 {
					key = &r
				}
				var e session.Entry
				now := int64(rng.IntN(100)) * sec
				var h session.Hit
				if rng.IntN(2) == 0 {
					h, _ = w.LookupUpdateTCP(key, &e, []uint8{session.FlagACK, session.FlagRST, session.FlagFIN}[rng.IntN(3)], now)
				} else {
					h = w.LookupTouch(key, &e, now)
				}
				if h == session.HitMiss {
					continue
				}
				got := racyValue(&e.Other, key)
				if e.Dir == session.DirForward {
					got = racyValue(key, &e.Other)
				}
				if e.Value != got {
					t.Errorf("torn entry: key %+v value %v, checksum of keys %v", *key, e.Value, got)
					return
				}
				checked.Add(1)
				w.Flush()
			}
		}()
	}
	racyWriters(tab, ids, nat, 4, &wwg)
	wwg.Wait()
	stop.Store(true)
	rwg.Wait()
	if checked.Load() == 0 {
		t.Fatal("refreshers never hit")
	}
	verifyQuiescent(t, tab, ids, nat)
}
