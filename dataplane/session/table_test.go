package session_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"xdpgw/dataplane/session"
)

func TestInsertLookupBothDirections(t *testing.T) {
	nf, nr := natKeys(7, protoTCP)
	gf, gr := gwKeys(7)
	// A NAT64 binding: (X',x) <-> (T,t), both destinations empty.
	bf := session.Key{Family: session.FamilyNAT64, Zone: 3, Proto: protoTCP, Src: nf.Src, SrcPort: nf.SrcPort}
	br := session.Key{Family: session.FamilyIPv4, Zone: 3, Proto: protoTCP, Src: nr.Dst, SrcPort: nr.DstPort}
	// A gateway flow the tenant opened: SNAT, the reply comes from the
	// forward destination; and a reply that keeps the forward source.
	sf := session.Key{Family: session.FamilyIPv4, Zone: 1000, Proto: protoUDP, Src: v4(10, 0, 0, 7), Dst: v4(1, 1, 1, 7), SrcPort: 5000, DstPort: 53}
	sr := session.Key{Family: session.FamilyIPv4, Zone: 0, Proto: protoUDP, Src: v4(1, 1, 1, 7), Dst: v4(2, 2, 2, 11), SrcPort: 53, DstPort: 5000}
	kf := session.Key{Family: session.FamilyIPv4, Zone: 4, Proto: protoUDP, Src: v4(10, 0, 0, 7), Dst: v4(10, 9, 9, 9), SrcPort: 1, DstPort: 2}
	kr := session.Key{Family: session.FamilyIPv4, Zone: 5, Proto: protoUDP, Src: v4(10, 0, 0, 7), Dst: v4(10, 8, 8, 8), SrcPort: 3, DstPort: 4}
	tests := []struct {
		name     string
		fwd, rev session.Key
		class    session.Class
		state    session.TCPState
		v        session.Value
	}{
		{"nat64 tcp", nf, nr, session.ClassTCPTransitory, session.StateV6Init, session.Value{}},
		{"nat64 binding", bf, br, session.ClassTCPEstablished, session.StateClosed, session.Value{}},
		{"gateway tcp (dnat)", gf, gr, session.ClassTCPEstablished, session.StateEstablished, session.Value{1, 2, 3}},
		{"gateway udp (snat)", sf, sr, session.ClassUDP, session.StateClosed, session.Value{0xffffffff, 0, 0x80000001}},
		{"reply keeps the forward source", kf, kr, session.ClassUDP, session.StateClosed, session.Value{7, 8, 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := newTable(t, session.Config{Capacity: 100})
			w := tab.NewWorker()
			v := tc.v
			h, res := w.Insert(&tc.fwd, &tc.rev, tc.class, tc.state, v, 5*sec)
			if res != session.Inserted {
				t.Fatalf("Insert = %v, want inserted", res)
			}
			for _, d := range []struct {
				key, other session.Key
				dir        session.Dir
			}{{tc.fwd, tc.rev, session.DirForward}, {tc.rev, tc.fwd, session.DirReverse}} {
				var e session.Entry
				if !w.Lookup(&d.key, &e) {
					t.Fatalf("Lookup(dir %d) missed", d.dir)
				}
				want := session.Entry{Handle: h, Dir: d.dir, State: tc.state, Class: tc.class,
					LastSeen: session.Ticks(5 * sec), Value: v, Other: d.other}
				if e != want {
					t.Errorf("Lookup(dir %d) (-want +got):\n-%+v\n+%+v", d.dir, want, e)
				}
			}
			var f, r session.Key
			if !tab.Keys(h, &f, &r) || f != tc.fwd || r != tc.rev {
				t.Errorf("Keys = %+v %+v, want %+v %+v", f, r, tc.fwd, tc.rev)
			}
			// A different port, zone or protocol is another flow.
			for _, mut := range []func(k *session.Key){
				func(k *session.Key) { k.SrcPort++ },
				func(k *session.Key) { k.Zone++ },
				func(k *session.Key) { k.Proto++ },
				func(k *session.Key) { k.Src[3]++ },
				func(k *session.Key) { k.Dst[0]++ },
			} {
				k := tc.fwd
				mut(&k)
				var e session.Entry
				if w.Lookup(&k, &e) {
					t.Errorf("Lookup(%+v) hit, want miss", k)
				}
			}
			w.Flush()
			if s := tab.Stats(); s.Inserted != 1 || s.LookupHit != 2 || s.LookupMiss != 5 || s.Live() != 1 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

func TestInsertResults(t *testing.T) {
	f1, r1 := natKeys(1, protoUDP)
	f2, r2 := natKeys(2, protoUDP)
	v6 := f1
	v6.Family = session.FamilyIPv6
	noShare := r2
	noShare.Src = v4(9, 9, 9, 9)
	tests := []struct {
		name     string
		fwd, rev session.Key
		class    session.Class
		want     session.Result
	}{
		{"same forward key", f1, r2, session.ClassUDP, session.Exists},
		{"forward key is another session's reverse key", r1, r2, session.ClassUDP, session.Exists},
		{"reverse key taken (pool port in use)", f2, r1, session.ClassUDP, session.Conflict},
		{"reverse key NAT64", r2, f2, session.ClassUDP, session.Invalid},
		{"forward key IPv6", v6, r2, session.ClassUDP, session.Invalid},
		{"equal keys", r2, r2, session.ClassUDP, session.Invalid},
		{"reverse key shares no address", f2, noShare, session.ClassUDP, session.Invalid},
		{"nat64 session with a value", f2, r2, session.ClassUDP, session.Invalid},
		{"unknown class", f2, r2, session.Class(4), session.Invalid},
		{"zero key", session.Key{}, r2, session.ClassUDP, session.Invalid},
		{"new session", f2, r2, session.ClassUDP, session.Inserted},
	}
	// InsertAfterMiss and InsertNew skip lookups before publication; the
	// checks after it must give the same results (taking the entry back),
	// and leave the table as Insert does.
	for _, variant := range insertVariants {
		t.Run(variant, func(t *testing.T) {
			tab := newTable(t, session.Config{Capacity: 3})
			w := tab.NewWorker()
			insert := insertVariant(w, variant)
			h1, res := insert(&f1, &r1, session.ClassUDP, 0, session.Value{}, 0)
			if res != session.Inserted {
				t.Fatalf("first %s = %v", variant, res)
			}
			for _, tc := range tests {
				var v session.Value
				if tc.name == "nat64 session with a value" {
					v[2] = 1
				}
				h, res := insert(&tc.fwd, &tc.rev, tc.class, 0, v, 0)
				if res != tc.want {
					t.Fatalf("%s: %s = %v, want %v", tc.name, variant, res, tc.want)
				}
				if (res == session.Exists || res == session.Conflict) && h != h1 {
					t.Errorf("%s: handle = %v, want the holder's %v", tc.name, h, h1)
				}
			}
			w.Flush()
			s := tab.Stats()
			if s.Inserted != 2 || s.InsertExists != 2 || s.InsertConflict != 1 || s.InsertInvalid != 7 {
				t.Errorf("stats = %+v", s)
			}
			// Both sessions are whole, and the entries taken back were
			// freed: a third session fits the capacity of 3.
			var e session.Entry
			for _, k := range []session.Key{f1, r1, f2, r2} {
				if !w.Lookup(&k, &e) {
					t.Errorf("key %+v lost", k)
				}
			}
			f3, r3 := natKeys(3, protoUDP)
			if _, res := insert(&f3, &r3, session.ClassUDP, 0, session.Value{}, 0); res != session.Inserted {
				t.Errorf("third session: %v, want Inserted (entries leaked)", res)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  session.Config
		want error
	}{
		{"zero capacity", session.Config{}, session.ErrCapacity},
		{"capacity 2^28", session.Config{Capacity: 1 << 28}, session.ErrCapacity},
		{"no classes", session.Config{Capacity: 1, Timeouts: []time.Duration{}}, session.ErrTimeouts},
		{"16 classes", session.Config{Capacity: 1, Timeouts: make([]time.Duration, 16)}, session.ErrTimeouts},
		{"zero timeout", session.Config{Capacity: 1, Timeouts: []time.Duration{0}}, session.ErrTimeouts},
		{"timeout too long", session.Config{Capacity: 1, Timeouts: []time.Duration{200 * 24 * time.Hour}}, session.ErrTimeouts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := session.New(tc.cfg)
			if err == nil || (err != tc.want && !errorsIsText(err, tc.want)) {
				t.Errorf("New = %v, want %v", err, tc.want)
			}
		})
	}
}

func errorsIsText(err, want error) bool {
	return errors.Is(err, want) || len(err.Error()) >= len(want.Error()) && err.Error()[:len(want.Error())] == want.Error()
}

func TestDelete(t *testing.T) {
	const n = 1000
	tab := newTable(t, session.Config{Capacity: n})
	w := tab.NewWorker()
	hs := make([]session.Handle, n)
	for i := range n {
		f, r := natKeys(uint32(i), protoUDP)
		var res session.Result
		if hs[i], res = w.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, 0); res != session.Inserted {
			t.Fatalf("Insert %d = %v", i, res)
		}
	}
	if got := session.UsedSlots(tab); got != 2*n {
		t.Fatalf("used slots = %d, want %d", got, 2*n)
	}
	for i := 0; i < n; i += 2 {
		if !w.Delete(hs[i]) {
			t.Fatalf("Delete %d failed", i)
		}
		if w.Delete(hs[i]) || w.Touch(hs[i], 0) {
			t.Fatalf("stale handle %d still works", i)
		}
	}
	for i := range n {
		f, r := natKeys(uint32(i), protoUDP)
		var e session.Entry
		if got, want := w.Lookup(&f, &e), i%2 == 1; got != want {
			t.Errorf("Lookup(fwd %d) = %v, want %v", i, got, want)
		}
		if got, want := w.Lookup(&r, &e), i%2 == 1; got != want {
			t.Errorf("Lookup(rev %d) = %v, want %v", i, got, want)
		}
	}
	for i := 1; i < n; i += 2 {
		w.Delete(hs[i])
	}
	if got := session.UsedSlots(tab); got != 0 {
		t.Errorf("used slots after deleting all = %d", got)
	}
	if got := session.OverflowSum(tab); got != 0 {
		t.Errorf("overflow counts after deleting all = %d", got)
	}
	w.Flush()
	if s := tab.Stats(); s.Deleted != n || s.Live() != 0 {
		t.Errorf("stats = %+v", s)
	}
	// The freed entries are reused: the table takes n sessions again.
	for i := range n {
		f, r := natKeys(uint32(n+i), protoUDP)
		if _, res := w.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, 0); res != session.Inserted {
			t.Fatalf("re-Insert %d = %v", i, res)
		}
	}
}

func TestSetValue(t *testing.T) {
	tab := newTable(t, session.Config{Capacity: 10})
	w := tab.NewWorker()
	f, r := gwKeys(1)
	h, _ := w.Insert(&f, &r, session.ClassTCPEstablished, session.StateEstablished, session.Value{1, 2, 3}, 0)
	h2, ok := w.SetValue(h, session.Value{4, 5, 6})
	if !ok {
		t.Fatal("SetValue failed")
	}
	if _, ok := w.SetValue(h, session.Value{7, 8, 9}); ok {
		t.Error("SetValue with the old handle succeeded")
	}
	var e session.Entry
	if !w.Lookup(&r, &e) || e.Value != (session.Value{4, 5, 6}) || e.Handle != h2 {
		t.Errorf("after SetValue: %+v, want value {4 5 6} handle %v", e, h2)
	}
	var kf, kr session.Key
	if !tab.Keys(h2, &kf, &kr) || kf != f || kr != r {
		t.Error("SetValue changed the keys")
	}
}

// TestTimeouts checks each class's lifetime against a fake clock: a
// session survives a sweep one second before its timeout and is gone two
// ticks after it; a Touch restarts the lifetime.
func TestTimeouts(t *testing.T) {
	tos := session.DefaultTimeouts()
	tests := []struct {
		name  string
		class session.Class
		want  time.Duration
	}{
		{"udp", session.ClassUDP, 5 * time.Minute},
		{"tcp established", session.ClassTCPEstablished, 2*time.Hour + 4*time.Minute},
		{"tcp transitory", session.ClassTCPTransitory, 4 * time.Minute},
		{"icmp query", session.ClassICMP, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tos[tc.class] != tc.want {
				t.Fatalf("default timeout = %v, want %v", tos[tc.class], tc.want)
			}
			const n = 100
			tab := newTable(t, session.Config{Capacity: n})
			w := tab.NewWorker()
			t0 := 1000 * sec
			var hs []session.Handle
			for i := range n {
				f, r := natKeys(uint32(i), protoUDP)
				h, _ := w.Insert(&f, &r, tc.class, 0, session.Value{}, t0)
				hs = append(hs, h)
			}
			to := int64(tc.want)
			// Touch the first half 30 s later.
			for _, h := range hs[:n/2] {
				if !w.Touch(h, t0+30*sec) {
					t.Fatal("Touch failed")
				}
			}
			if got := w.Sweep(n, t0+to-sec); got != 0 {
				t.Fatalf("swept %d sessions before their timeout", got)
			}
			if got := w.Sweep(n, t0+to+3*sec); got != n/2 {
				t.Fatalf("swept %d sessions after the timeout, want the %d untouched", got, n/2)
			}
			if got := w.Sweep(n, t0+30*sec+to+3*sec); got != n/2 {
				t.Fatalf("swept %d touched sessions after their timeout, want %d", got, n/2)
			}
			w.Flush()
			if s := tab.Stats(); s.Expired != n || s.Live() != 0 {
				t.Errorf("stats = %+v", s)
			}
			if got := session.UsedSlots(tab); got != 0 {
				t.Errorf("used slots = %d", got)
			}
		})
	}
}

func TestConfiguredTimeouts(t *testing.T) {
	tab := newTable(t, session.Config{Capacity: 10, Timeouts: []time.Duration{10 * time.Second, time.Hour}})
	w := tab.NewWorker()
	f, r := natKeys(1, protoUDP)
	h, _ := w.Insert(&f, &r, 1, 0, session.Value{}, 0)
	f2, r2 := natKeys(2, protoUDP)
	w.Insert(&f2, &r2, 0, 0, session.Value{}, 0)
	if got := w.Sweep(10, 20*sec); got != 1 {
		t.Fatalf("swept %d, want the 10 s session", got)
	}
	var e session.Entry
	if !w.Lookup(&f, &e) || e.Handle != h {
		t.Error("the 1 h session is gone")
	}
}

// TestTCPLifetime drives a session through the state machine: its class,
// hence its timeout, follows the state.
func TestTCPLifetime(t *testing.T) {
	tab := newTable(t, session.Config{Capacity: 10})
	w := tab.NewWorker()
	f, r := natKeys(1, protoTCP)
	st, cls := session.NextTCPState(session.StateClosed, session.DirForward, session.FlagSYN)
	h, _ := w.Insert(&f, &r, cls, st, session.Value{}, 0)
	steps := []struct {
		dir   session.Dir
		flags uint8
		at    int64
		want  session.TCPState
		class session.Class
	}{
		{session.DirReverse, session.FlagSYN | session.FlagACK, 1 * sec, session.StateEstablished, session.ClassTCPEstablished},
		{session.DirForward, session.FlagACK, 2 * sec, session.StateEstablished, session.ClassTCPEstablished},
		{session.DirForward, session.FlagFIN | session.FlagACK, 3 * sec, session.StateV6FinRcv, session.ClassTCPEstablished},
		{session.DirReverse, session.FlagFIN | session.FlagACK, 4 * sec, session.StateV4V6FinRcv, session.ClassTCPTransitory},
		{session.DirForward, session.FlagACK, 100 * sec, session.StateV4V6FinRcv, session.ClassTCPTransitory},
	}
	for i, s := range steps {
		got, ok := w.UpdateTCP(h, s.dir, s.flags, s.at)
		var e session.Entry
		if !ok || got != s.want || !w.Lookup(&f, &e) || e.State != s.want || e.Class != s.class {
			t.Fatalf("step %d: UpdateTCP = %v %v, entry %+v; want %v class %d", i, got, ok, e, s.want, s.class)
		}
	}
	// The last ACK did not refresh the lifetime (RFC 6146: not updated in
	// V4 FIN + V6 FIN RCV): 4 min after the second FIN the session is gone.
	if got := w.Sweep(10, 4*sec+4*60*sec+3*sec); got != 1 {
		t.Errorf("swept %d, want 1", got)
	}
}

// TestExtend: a longer class is taken, a shorter one is not, the last-seen
// time moves either way, and a stale handle is refused.
func TestExtend(t *testing.T) {
	tab := newTable(t, session.Config{Capacity: 10})
	w := tab.NewWorker()
	f, r := natKeys(1, protoTCP)
	h, _ := w.Insert(&f, &r, session.ClassTCPTransitory, session.StateClosed, session.Value{}, 0)
	for i, s := range []struct {
		cls  session.Class
		at   int64
		want session.Class
	}{
		{session.ClassICMP, 10 * sec, session.ClassTCPTransitory}, // 60 s < 4 min: kept
		{session.ClassTCPEstablished, 20 * sec, session.ClassTCPEstablished},
		{session.ClassTCPTransitory, 30 * sec, session.ClassTCPEstablished}, // never shortened
	} {
		var e session.Entry
		if !w.Extend(h, s.cls, s.at) || !w.Lookup(&f, &e) || e.Class != s.want || e.LastSeen != session.Ticks(s.at) || e.Handle != h {
			t.Fatalf("step %d: Extend(%d) -> entry %+v; want class %d seen %d", i, s.cls, e, s.want, session.Ticks(s.at))
		}
	}
	// Established now: still there an hour later, gone after 2 h 4 min.
	if got := w.Sweep(10, 30*sec+3600*sec); got != 0 {
		t.Errorf("swept %d after an hour, want 0", got)
	}
	if got := w.Sweep(10, 30*sec+(2*3600+5*60)*sec); got != 1 {
		t.Errorf("swept %d after 2 h 5 min, want 1", got)
	}
	if w.Extend(h, session.ClassTCPEstablished, 0) {
		t.Error("Extend of a deleted session succeeded")
	}
	if w.Extend(session.Handle{}, session.Class(9), 0) {
		t.Error("Extend with an unconfigured class succeeded")
	}
}

// TestInsertOverExpired: a session whose lifetime ran out but that the
// sweep has not reached yet holds neither of its keys: an insert that
// meets it removes it (counted Expired), with every insert variant, both
// through the lookups before publication and the checks after it.
func TestInsertOverExpired(t *testing.T) {
	for _, variant := range insertVariants {
		t.Run(variant, func(t *testing.T) {
			tab := newTable(t, session.Config{Capacity: 10})
			w := tab.NewWorker()
			insert := insertVariant(w, variant)
			f1, r1 := natKeys(1, protoUDP)
			f2, r2 := natKeys(2, protoUDP)
			if _, res := insert(&f1, &r1, session.ClassICMP, 0, session.Value{}, 0); res != session.Inserted {
				t.Fatalf("first: %v", res)
			}
			// 30 s on, alive: its reverse key is taken.
			if _, res := insert(&f2, &r1, session.ClassUDP, 0, session.Value{}, 30*sec); res != session.Conflict {
				t.Fatalf("30 s on, reverse key of a live session: %v, want conflict", res)
			}
			// 2 min on (ICMP: 60 s), it is gone for both of its keys.
			if _, res := insert(&f2, &r1, session.ClassUDP, 0, session.Value{}, 120*sec); res != session.Inserted {
				t.Fatalf("reverse key of an expired session: %v, want inserted", res)
			}
			if _, res := insert(&f1, &r2, session.ClassICMP, 0, session.Value{}, 120*sec); res != session.Inserted {
				t.Fatalf("forward key of the expired session: %v, want inserted", res)
			}
			// And now f1's new session is live: its key is taken again.
			_, r3 := natKeys(3, protoUDP)
			if _, res := insert(&f1, &r3, session.ClassICMP, 0, session.Value{}, 150*sec); res != session.Exists {
				t.Fatalf("forward key of a live session: %v, want exists", res)
			}
			w.Flush()
			if s := tab.Stats(); s.Expired != 1 || s.Live() != 2 || session.UsedSlots(tab) != 4 {
				t.Errorf("stats %+v, %d slots; want 1 expired, 2 live, 4 slots", s, session.UsedSlots(tab))
			}
			var e session.Entry
			if !w.Lookup(&r1, &e) || e.Other != f2 {
				t.Errorf("r1 -> %+v, want f2's session", e)
			}
		})
	}
}

func TestEvictionPolicy(t *testing.T) {
	const n = 64
	tests := []struct {
		name       string
		policy     session.Policy
		icmpHalf   bool // half the sessions are ICMP, expired at insert time
		want       session.Result
		wantEvict  uint64
		wantExpire uint64
		wantFull   uint64
	}{
		{"drop-new refuses", session.PolicyDropNew, false, session.Full, 0, 0, 1},
		{"oldest evicts the least lifetime left", session.PolicyOldest, false, session.Inserted, 1, 0, 0},
		{"oldest takes an expired one first", session.PolicyOldest, true, session.Inserted, 0, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := newTable(t, session.Config{Capacity: n, Policy: tc.policy})
			w := tab.NewWorker()
			hs := make([]session.Handle, n)
			seen := make(map[uint32]int64) // entry index -> last seen
			for i := range n {
				f, r := natKeys(uint32(i), protoUDP)
				cls := session.ClassUDP
				if tc.icmpHalf && i%2 == 0 {
					cls = session.ClassICMP
				}
				at := int64(i) * 2 * sec
				var res session.Result
				if hs[i], res = w.Insert(&f, &r, cls, 0, session.Value{}, at); res != session.Inserted {
					t.Fatalf("Insert %d = %v", i, res)
				}
				seen[hs[i].Index()] = at
			}
			f, r := natKeys(n, protoUDP)
			cands := session.EvictionSample(tab, &f)
			now := 200 * sec // every ICMP session (60 s) has expired; no UDP one (300 s)
			_, res := w.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, now)
			if res != tc.want {
				t.Fatalf("Insert into a full table = %v, want %v", res, tc.want)
			}
			w.Flush()
			s := tab.Stats()
			if s.Evicted != tc.wantEvict || s.Expired != tc.wantExpire || s.InsertFailedFull != tc.wantFull {
				t.Errorf("stats = %+v", s)
			}
			if res != session.Inserted {
				return
			}
			// Exactly one old session is gone, and it was the best candidate.
			var gone []int
			for i := range n {
				kf, _ := natKeys(uint32(i), protoUDP)
				var e session.Entry
				if !w.Lookup(&kf, &e) {
					gone = append(gone, i)
				}
			}
			if len(gone) != 1 {
				t.Fatalf("sessions gone = %v, want one", gone)
			}
			g := hs[gone[0]].Index()
			if !slices.Contains(cands, g) {
				t.Errorf("evicted entry %d, not one of the sample %v", g, cands)
			}
			for _, c := range cands {
				if tc.icmpHalf {
					if gone[0]%2 != 0 {
						t.Errorf("evicted UDP session %d, not an expired ICMP one", gone[0])
					}
				} else if seen[c] < seen[g] {
					t.Errorf("evicted entry %d (seen %d) but candidate %d was older (%d)", g, seen[g], c, seen[c])
				}
			}
		})
	}
}

// TestCapacityRecycledAcrossWorkers fills the table from one worker,
// deletes everything from another, and refills from the first: freed
// entries travel back through the shared chain stack. At most the
// deleting worker's partial chains (under 2x64) stay out of reach.
func TestCapacityRecycledAcrossWorkers(t *testing.T) {
	const n = 1000
	tab := newTable(t, session.Config{Capacity: n, Policy: session.PolicyDropNew})
	a, b := tab.NewWorker(), tab.NewWorker()
	var hs []session.Handle
	for i := range n {
		f, r := natKeys(uint32(i), protoUDP)
		h, res := a.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, 0)
		if res != session.Inserted {
			t.Fatalf("Insert %d = %v", i, res)
		}
		hs = append(hs, h)
	}
	f, r := natKeys(n, protoUDP)
	if _, res := a.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, 0); res != session.Full {
		t.Fatalf("Insert into a full table = %v", res)
	}
	for _, h := range hs {
		b.Delete(h)
	}
	got := 0
	for i := range n {
		f, r := natKeys(uint32(n+1+i), protoUDP)
		if _, res := a.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, 0); res != session.Inserted {
			break
		}
		got++
	}
	if got < n-2*64 {
		t.Errorf("refilled %d sessions, want at least %d", got, n-2*64)
	}
}

// TestNoPointers: the large arrays' element types hold no pointers, so
// the GC never scans them whatever their size.
func TestNoPointers(t *testing.T) {
	tab := newTable(t, session.Config{Capacity: 10})
	for _, typ := range session.ArrayTypes(tab) {
		if hasPointers(typ) {
			t.Errorf("%v contains pointers", typ)
		}
	}
	// And the accounting: 48 bytes per entry plus the index (issue 4's
	// goal: at most 64 bytes per session).
	tab = newTable(t, session.Config{Capacity: 6_000_000})
	if per := float64(tab.Bytes()) / 6e6; per < 48 || per > 64 {
		t.Errorf("bytes per session = %.1f, want 48-64", per)
	}
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}

// TestFillToCapacity fills a table to its last entry: every session is
// found from both keys and none was evicted to make room (the index's
// probe window never fills, even at 100% of the entries).
func TestFillToCapacity(t *testing.T) {
	n := 500_000
	if raceEnabled {
		n = 50_000
	}
	tab := newTable(t, session.Config{Capacity: n})
	w := tab.NewWorker()
	for i := range uint32(n) {
		f, r := natKeys(i, protoTCP)
		if _, res := w.Insert(&f, &r, session.ClassTCPEstablished, session.StateEstablished, session.Value{}, 0); res != session.Inserted {
			t.Fatalf("Insert %d = %v", i, res)
		}
	}
	for i := range uint32(n) {
		f, r := natKeys(i, protoTCP)
		var e1, e2 session.Entry
		if !w.Lookup(&f, &e1) || !w.Lookup(&r, &e2) || e1.Handle != e2.Handle || e1.Other != r || e2.Other != f {
			t.Fatalf("session %d: %+v %+v", i, e1, e2)
		}
	}
	w.Flush()
	if s := tab.Stats(); s.Evicted != 0 || s.Live() != int64(n) {
		t.Errorf("stats = %+v", s)
	}
}

// TestRange: every live session once, with both keys, its state and
// value; deleted ones not; and a dump cut short continues where it
// stopped.
func TestRange(t *testing.T) {
	tab := newTable(t, session.Config{Capacity: 1000})
	w := tab.NewWorker()
	want := map[session.Key]session.Key{}
	var hs []session.Handle
	for i := range uint32(300) {
		f, r := natKeys(i, protoUDP)
		v := session.Value{}
		if i%2 == 1 {
			f, r = gwKeys(i)
			v = session.Value{i, 2 * i, 3 * i}
		}
		h, res := w.Insert(&f, &r, session.ClassUDP, session.StateClosed, v, 7*sec)
		if res != session.Inserted {
			t.Fatalf("insert %d: %v", i, res)
		}
		hs = append(hs, h)
		want[f] = r
	}
	for i := 0; i < 300; i += 3 {
		var f, r session.Key
		if !tab.Keys(hs[i], &f, &r) || !w.Delete(hs[i]) {
			t.Fatalf("delete %d", i)
		}
		delete(want, f)
	}
	got := map[session.Key]session.Key{}
	next, calls := 0, 0
	for next < tab.Capacity() {
		next = tab.Range(next, func(fwd *session.Key, e *session.Entry) bool {
			calls++
			if _, dup := got[*fwd]; dup {
				t.Errorf("session %+v seen twice", *fwd)
			}
			got[*fwd] = e.Other
			if e.Dir != session.DirForward || e.Class != session.ClassUDP || e.LastSeen != session.Ticks(7*sec) {
				t.Errorf("entry %+v", e)
			}
			if fwd.Family == session.FamilyIPv4 && e.Value[1] != 2*e.Value[0] {
				t.Errorf("value %v", e.Value)
			}
			return calls%50 != 0 // stop every 50 sessions and continue
		})
	}
	if len(got) != len(want) || calls != len(want) {
		t.Fatalf("Range saw %d sessions in %d calls, want %d", len(got), calls, len(want))
	}
	for f, r := range want {
		if got[f] != r {
			t.Errorf("%+v: reverse %+v, want %+v", f, got[f], r)
		}
	}
	if d := tab.Timeout(session.ClassUDP); d < 5*time.Minute || d > 5*time.Minute+2*time.Second {
		t.Errorf("Timeout(UDP) = %v", d)
	}
}
