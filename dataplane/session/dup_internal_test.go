package session

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// holdEntry makes entry idx's seq odd as SetValue does before it writes
// the value, and returns the function that ends the write as SetValue
// does (seq even and new): a SetValue whose goroutine was descheduled
// between the two.
func holdEntry(t *Table, idx uint32) (release func()) {
	en := &t.entries[idx]
	for {
		w0 := atomic.LoadUint64(&en[0])
		if atomic.CompareAndSwapUint64(&en[0], w0, w0+1) {
			return func() { atomic.StoreUint64(&en[0], w0+2) }
		}
	}
}

// TestInsertDuringSetValue: an Insert of a key whose session is in the
// middle of a SetValue (its writer descheduled for longer than a lookup's
// retries) must not store the key a second time: the duplicate check
// after publication waits for the writer (SetValue keeps the key), and
// the Insert reports Exists.
func TestInsertDuringSetValue(t *testing.T) {
	for _, check := range []Check{0, CheckRev, CheckFwd | CheckRev} {
		for _, nat := range []bool{false, true} {
			tab, err := New(Config{Capacity: 100, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			w := tab.NewWorker()
			f := key4(0, 17, [4]byte{1, 2, 3, 4}, [4]byte{2, 2, 2, 11}, 1000, 53)
			if nat {
				f.Family = FamilyNAT64
				copy(f.Src[:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
			}
			r1 := key4(1, 17, [4]byte{2, 2, 2, 11}, [4]byte{198, 18, 0, 1}, 53, 1)
			r2 := r1
			r2.DstPort = 2
			h1, res := w.Insert(&f, &r1, ClassUDP, StateClosed, Value{}, 0)
			if res != Inserted {
				t.Fatal(res)
			}
			release := holdEntry(tab, h1.idx)
			go func() {
				time.Sleep(20 * time.Millisecond)
				release()
			}()
			var pf, pr Prepared
			w.Prepare(&f, &pf)
			w.Prepare(&r2, &pr)
			h2, res := w.InsertPrepared(&pf, &pr, ClassUDP, StateClosed, Value{}, 0, check)
			time.Sleep(40 * time.Millisecond) // the writer is done
			var e Entry
			if res != Exists || h2.idx != h1.idx || usedSlots(tab) != 2 || !w.Lookup(&r1, &e) || w.Lookup(&r2, &e) {
				t.Errorf("nat %v check %d: Insert of a key whose session was being written: %v %v (session %v), %d slots used, want exists and 2",
					nat, check, res, h2, h1, usedSlots(tab))
			}
		}
	}
}

// TestInsertDuringSetValueEnds: as TestInsertDuringSetValue, with the
// writer done at any moment of the Insert's scan (also between a read
// that found it holding the entry and the next): Exists every time.
func TestInsertDuringSetValueEnds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := key4(0, 17, [4]byte{1, 2, 3, 4}, [4]byte{2, 2, 2, 11}, 1000, 53)
	r1 := key4(1, 17, [4]byte{2, 2, 2, 11}, [4]byte{198, 18, 0, 1}, 53, 1)
	r2 := r1
	r2.DstPort = 2
	for i := range 3000 {
		tab, err := New(Config{Capacity: 16, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		w := tab.NewWorker()
		h1, res := w.Insert(&f, &r1, ClassUDP, StateClosed, Value{}, 0)
		if res != Inserted {
			t.Fatal(res)
		}
		release := holdEntry(tab, h1.idx)
		done := make(chan struct{})
		spin := rng.IntN(20000)
		go func() {
			for j := 0; j < spin; j++ {
				atomic.LoadUint64(&tab.entries[h1.idx][1])
			}
			release()
			close(done)
		}()
		_, res = w.InsertNew(&f, &r2, ClassUDP, StateClosed, Value{}, 0)
		<-done
		if res != Exists || usedSlots(tab) != 2 {
			t.Fatalf("iteration %d (writer done after %d loads): %v, %d slots used; want exists and 2", i, spin, res, usedSlots(tab))
		}
	}
}

func usedSlots(t *Table) int {
	n := 0
	for i := range t.index {
		for s := 0; s < slotsUsed; s++ {
			if atomic.LoadUint32(&t.index[i][s]) != 0 {
				n++
			}
		}
	}
	return n
}

// key4 is an IPv4 key of zone and proto from src:sport to dst:dport.
func key4(zone uint16, proto uint8, src, dst [4]byte, sport, dport uint16) Key {
	k := Key{Family: FamilyIPv4, Zone: zone, Proto: proto, SrcPort: sport, DstPort: dport}
	copy(k.Src[:], src[:])
	copy(k.Dst[:], dst[:])
	return k
}
