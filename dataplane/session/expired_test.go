package session_test

import (
	"testing"
	"time"

	"xdpgw/dataplane/session"
)

func TestExpired(t *testing.T) {
	tab, err := session.New(session.Config{Capacity: 64, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := tab.NewWorker()
	fwd := session.Key{Family: session.FamilyIPv4, Proto: 17, Src: [16]byte{10, 0, 0, 1}, Dst: [16]byte{1, 1, 1, 1}, SrcPort: 1, DstPort: 2}
	rev := session.Key{Family: session.FamilyIPv4, Proto: 17, Src: [16]byte{1, 1, 1, 1}, Dst: [16]byte{2, 2, 2, 2}, SrcPort: 2, DstPort: 1}
	start := int64(100 * time.Second)
	if _, r := w.Insert(&fwd, &rev, session.ClassICMP, session.StateClosed, session.Value{}, start); r != session.Inserted {
		t.Fatal(r)
	}
	var e session.Entry
	if !w.Lookup(&fwd, &e) {
		t.Fatal("miss")
	}
	if tab.Expired(&e, start+int64(30*time.Second)) {
		t.Error("ICMP session expired after 30 s (timeout 60 s)")
	}
	if !tab.Expired(&e, start+int64(65*time.Second)) {
		t.Error("ICMP session alive after 65 s (timeout 60 s)")
	}
}
