package daemon

import (
	"testing"

	"xdpgw/dataplane/session"
)

// TestSweeperCoversTable: sweepTicks ticks of the daemon's sweeper expire
// every session whose lifetime ran out, with no packet (no worker sweep)
// at all, and leave the live ones.
func TestSweeperCoversTable(t *testing.T) {
	const n = 100_000
	tab, err := session.New(session.Config{Capacity: n, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := tab.NewWorker()
	const sec = int64(1e9)
	for i := range uint32(n) {
		cls := session.ClassICMP // 60 s
		if i%4 == 0 {
			cls = session.ClassUDP // 5 min
		}
		f := session.Key{Family: session.FamilyIPv4, Zone: 1, Proto: 17, SrcPort: uint16(i), DstPort: uint16(i >> 16)}
		f.Src[0], f.Src[1], f.Dst[0] = 10, byte(i>>8), 1
		f.Src[2] = byte(i)
		r := f
		r.Src, r.Dst = f.Dst, f.Src
		r.Src[3], r.Zone = 9, 2
		if _, res := w.Insert(&f, &r, cls, session.StateClosed, session.Value{}, 0); res != session.Inserted {
			t.Fatalf("insert %d: %v", i, res)
		}
	}
	w.Flush()
	s := newSweeper(tab)
	expired := 0
	for range sweepTicks {
		expired += s.tick(2 * 60 * sec)
	}
	if want := n - n/4; expired != want {
		t.Errorf("expired %d in %d ticks, want %d (every ICMP session)", expired, sweepTicks, want)
	}
	st := tab.Stats()
	if live := st.Live(); live != n/4 {
		t.Errorf("live %d, want %d", live, n/4)
	}
}
