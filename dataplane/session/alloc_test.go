package session_test

import (
	"testing"

	"xdpgw/dataplane/session"
)

// TestZeroAllocs: every per-packet operation and the sweep step allocate
// nothing.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	tab := newTable(t, session.Config{Capacity: 1000})
	w := tab.NewWorker()
	f, r := natKeys(1, protoTCP)
	h, _ := w.Insert(&f, &r, session.ClassTCPEstablished, session.StateEstablished, session.Value{}, 0)
	miss, _ := natKeys(2, protoTCP)
	nf, nr := natKeys(3, protoTCP)
	var e session.Entry
	now := int64(0)
	tests := []struct {
		name string
		fn   func()
	}{
		{"Lookup hit", func() { w.Lookup(&f, &e) }},
		{"Lookup reverse hit", func() { w.Lookup(&r, &e) }},
		{"Lookup miss", func() { w.Lookup(&miss, &e) }},
		{"LookupWithoutOther", func() { w.LookupWithoutOther(&r, &e) }},
		{"LookupPrepare", func() {
			var p session.Prepared
			w.LookupPrepare(&f, &p, &e)
		}},
		{"Prepare+LookupPrepared", func() {
			var p session.Prepared
			w.Prepare(&r, &p)
			w.LookupPrepared(&p, &e)
		}},
		{"LookupTouch", func() { now += sec; w.LookupTouch(&f, &e, now) }},
		{"LookupTouchWithoutOther", func() { now += sec; w.LookupTouchWithoutOther(&r, &e, now) }},
		{"LookupUpdateTCP", func() { now += sec; w.LookupUpdateTCP(&r, &e, session.FlagACK, now) }},
		{"LookupUpdateTCPWithoutOther", func() { w.LookupUpdateTCPWithoutOther(&f, &e, session.FlagACK, now) }},
		{"LookupTouch miss", func() { w.LookupTouch(&miss, &e, now) }},
		{"Touch", func() { now += sec; w.Touch(h, now) }},
		{"UpdateTCP", func() { now += sec; w.UpdateTCP(h, session.DirReverse, session.FlagACK, now) }},
		{"Extend", func() { now += sec; w.Extend(h, session.ClassTCPEstablished, now) }},
		{"SetValue", func() { h, _ = w.SetValue(h, session.Value{1, 2, 3}) }},
		{"Insert+Delete", func() {
			nh, _ := w.Insert(&nf, &nr, session.ClassUDP, 0, session.Value{}, now)
			w.Delete(nh)
		}},
		{"InsertPrepared+Delete", func() {
			var pf, pr session.Prepared
			w.Prepare(&nf, &pf)
			w.Prepare(&nr, &pr)
			nh, _ := w.InsertPrepared(&pf, &pr, session.ClassUDP, 0, session.Value{}, now, 0)
			w.Delete(nh)
		}},
		{"Insert exists", func() { w.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, now) }},
		{"Sweep", func() { w.Sweep(64, now) }},
		{"Flush", func() { w.Flush() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("%s: %v allocs/op, want 0", tc.name, n)
			}
		})
	}
}
