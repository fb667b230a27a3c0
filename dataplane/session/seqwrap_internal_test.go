package session

import (
	"sync/atomic"
	"testing"
)

// TestSetValueSeqWraps: an entry reused for 2^30 sessions has its 32-bit
// seq wrap; SetValue at seq 2^32-2 must give seq 0 and leave the TCP
// state, pending bit, class and last-seen time alone (not carry into
// them: from StateTrans the carry set the pending bit, and the session
// could never be deleted or swept).
func TestSetValueSeqWraps(t *testing.T) {
	tab, err := New(Config{Capacity: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := tab.NewWorker()
	// Entry 0, free after 2^30-1 sessions: the next one gets seq 2^32-2.
	atomic.StoreUint64(&tab.entries[0][0], 0xfffffffc)
	f := key4(0, 6, [4]byte{1, 2, 3, 4}, [4]byte{2, 2, 2, 11}, 1000, 22)
	r := key4(1, 6, [4]byte{10, 0, 0, 7}, [4]byte{1, 2, 3, 4}, 22, 1000)
	h, res := w.Insert(&f, &r, ClassTCPTransitory, StateTrans, Value{1, 2, 3}, 5e9)
	if res != Inserted || h.idx != 0 || h.seq != 0xfffffffe {
		t.Fatalf("insert: %v %v", h, res)
	}
	h2, ok := w.SetValue(h, Value{4, 5, 6})
	if !ok {
		t.Fatal("SetValue failed")
	}
	var e Entry
	if !w.Lookup(&f, &e) || e.Handle != h2 || e.State != StateTrans || e.Class != ClassTCPTransitory ||
		e.LastSeen != Ticks(5e9) || e.Value != (Value{4, 5, 6}) {
		t.Fatalf("after SetValue at seq 2^32-2: handle %v, %+v", h2, e)
	}
	if !w.Delete(h2) {
		t.Fatalf("Delete(%v) after SetValue at seq 2^32-2 failed (control word %#x)", h2, tab.entries[0][0])
	}
}
