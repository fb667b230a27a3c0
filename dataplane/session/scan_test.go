package session_test

import (
	"math/rand/v2"
	"testing"

	"xdpgw/dataplane/session"
)

// TestTagCandidates compares the word-wise tag scan and find's unrolled
// scan with the slot-by-slot definition (slot s is a candidate iff its
// value v has v&tagMask == tag) on random buckets, for tag widths from 31 bits (capacity 1) to 9
// (capacity 2^22+5; larger tables only narrow the mask), with slots that
// are empty, match, differ in one tag bit, or hold any value (the top bit
// set too), and any overflow count.
func TestTagCandidates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, capacity := range []int{1, 2, 100, 1 << 10, 1 << 20, 1<<22 + 5} {
		tb, err := session.New(session.Config{Capacity: capacity, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, mask := session.TagCandidates(tb, [16]uint32{}, 0)
		for iter := 0; iter < 20000; iter++ {
			tag := rng.Uint32() & mask
			switch iter % 4 {
			case 0:
				tag = 0 // empty slots match tag 0: callers skip them
			case 1:
				tag = mask
			}
			var words [16]uint32
			for s := range words {
				switch rng.IntN(5) {
				case 0:
					words[s] = 0
				case 1:
					words[s] = rng.Uint32()&^mask | tag
				case 2:
					words[s] = (rng.Uint32()&^mask | tag) ^ 1<<rng.IntN(32)
				case 3:
					words[s] = tag ^ 1 // the borrow case of the classic zero test
				default:
					words[s] = rng.Uint32()
				}
			}
			var want uint32
			for s := 0; s < 15; s++ {
				if words[s]&mask == tag {
					want |= 1 << s
				}
			}
			if got, _ := session.TagCandidates(tb, words, tag); got != want {
				t.Fatalf("capacity %d tag %#x bucket %#x: candidates %015b, want %015b", capacity, tag, words, got, want)
			}
			// find's scan: the first candidate from s on, or 15.
			from := rng.IntN(16)
			next := 15
			for s := from; s < 15; s++ {
				if want&(1<<s) != 0 {
					next = s
					break
				}
			}
			if got := session.NextTag(words, from, tag, mask); got != next {
				t.Fatalf("capacity %d tag %#x bucket %#x: next tag from %d is %d, want %d", capacity, tag, words, from, got, next)
			}
		}
	}
}

// TestKeyHash: Prefetch hashes a key as prepare does.
func TestKeyHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tab := newTable(t, session.Config{Capacity: 1000})
	for range 1000 {
		k := session.Key{SrcPort: uint16(rng.Uint32()), DstPort: uint16(rng.Uint32()), Zone: uint16(rng.Uint32()),
			Proto: uint8(rng.Uint32()), Family: session.Family(rng.Uint32())}
		for i := range k.Src {
			k.Src[i], k.Dst[i] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		k.Family = session.Family(rng.IntN(4))
		if h, ok, ph, pok := session.KeyHash(tab, &k); h != ph && ok || ok != pok || ok != (k.Family == session.FamilyIPv4 || k.Family == session.FamilyNAT64) {
			t.Fatalf("%+v: Prefetch's hash %#x (%v), prepare's %#x (%v)", k, h, ok, ph, pok)
		}
	}
}

// TestPrepared: a prepared key finds what its Key finds, in both
// directions; a key the table cannot store prepares invalid (lookups
// miss, inserts are Invalid), and so does a key prepared for another
// table (its hash is seeded differently) or never prepared.
func TestPrepared(t *testing.T) {
	tab := newTable(t, session.Config{Capacity: 1000})
	w := tab.NewWorker()
	other := newTable(t, session.Config{Capacity: 1000, Seed: 2}).NewWorker()
	f, r := natKeys(1, protoTCP)
	h, res := w.Insert(&f, &r, session.ClassUDP, 0, session.Value{}, 0)
	if res != session.Inserted {
		t.Fatal(res)
	}
	for _, k := range []*session.Key{&f, &r} {
		var p session.Prepared
		if !w.Prepare(k, &p) {
			t.Fatalf("Prepare(%+v) false", *k)
		}
		var e1, e2, e3 session.Entry
		if !w.LookupPrepared(&p, &e1) || !w.Lookup(k, &e2) || e1 != e2 || e1.Handle != h {
			t.Fatalf("LookupPrepared %+v, Lookup %+v, handle %v", e1, e2, h)
		}
		var p3 session.Prepared
		if !w.LookupPrepare(k, &p3, &e3) || e3 != e2 || p3 != p {
			t.Fatalf("LookupPrepare %+v (prepared %+v), Lookup %+v (prepared %+v)", e3, p3, e2, p)
		}
		var po session.Prepared
		other.Prepare(k, &po)
		if w.LookupPrepared(&po, &e1) {
			t.Error("a key prepared for another table was found")
		}
	}
	var e session.Entry
	miss, _ := natKeys(2, protoTCP)
	var pm, pm2 session.Prepared
	if w.Prepare(&miss, &pm); w.LookupPrepared(&pm, &e) {
		t.Error("a missing key was found")
	}
	if w.LookupPrepare(&miss, &pm2, &e) || pm2 != pm {
		t.Errorf("LookupPrepare of a missing key: found, or prepared %+v, want %+v", pm2, pm)
	}
	v6 := session.Key{Family: session.FamilyIPv6, Proto: protoTCP}
	var p6, pr, zero session.Prepared
	if w.Prepare(&v6, &p6) {
		t.Error("Prepare(FamilyIPv6) true")
	}
	if w.LookupPrepared(&p6, &e) || w.LookupPrepared(&zero, &e) {
		t.Error("an invalid Prepared was found")
	}
	nf, nr := natKeys(3, protoTCP)
	w.Prepare(&nr, &pr)
	var pf session.Prepared
	other.Prepare(&nf, &pf)
	for _, bad := range []*session.Prepared{&p6, &zero, &pf} {
		if _, res := w.InsertPrepared(bad, &pr, session.ClassUDP, 0, session.Value{}, 0, 0); res != session.Invalid {
			t.Errorf("InsertPrepared of an invalid Prepared: %v", res)
		}
	}
}

// TestLookupWithoutOther: it finds what Lookup finds, in both directions,
// with the same fields but Other, which it leaves as it was.
func TestLookupWithoutOther(t *testing.T) {
	tab := newTable(t, session.Config{Capacity: 1000})
	w := tab.NewWorker()
	gf, gr := gwKeys(5)
	if _, res := w.Insert(&gf, &gr, session.ClassUDP, 0, session.Value{1, 2, 3}, 0); res != session.Inserted {
		t.Fatal(res)
	}
	nf, nr := natKeys(5, protoTCP)
	if _, res := w.Insert(&nf, &nr, session.ClassTCPTransitory, session.StateV6Init, session.Value{}, 0); res != session.Inserted {
		t.Fatal(res)
	}
	sentinel := session.Key{Zone: 0xbeef, SrcPort: 7}
	for _, k := range []*session.Key{&gf, &gr, &nf, &nr} {
		var want, got session.Entry
		if !w.Lookup(k, &want) {
			t.Fatalf("Lookup(%+v) missed", *k)
		}
		got.Other = sentinel
		if !w.LookupWithoutOther(k, &got) {
			t.Fatalf("LookupWithoutOther(%+v) missed", *k)
		}
		if got.Other != sentinel {
			t.Errorf("LookupWithoutOther wrote Other: %+v", got.Other)
		}
		got.Other = want.Other
		if got != want {
			t.Errorf("LookupWithoutOther %+v, Lookup %+v", got, want)
		}
	}
	miss, _ := natKeys(6, protoTCP)
	var e session.Entry
	if w.LookupWithoutOther(&miss, &e) {
		t.Error("a missing key was found")
	}
}
