package neigh_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"xdpgw/dataplane/neigh"
)

func TestLookupAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type key struct {
		port uint16
		addr netip.Addr
	}
	want := map[key]neigh.MAC{}
	var entries []neigh.Entry
	for i := 0; i < 5000; i++ {
		var a netip.Addr
		if r.IntN(2) == 0 {
			a = netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))})
		} else {
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			b[15] = byte(r.IntN(256))
			b[14] = byte(r.IntN(64))
			a = netip.AddrFrom16(b)
		}
		e := neigh.Entry{Port: uint16(r.IntN(3)), Addr: a, MAC: neigh.MAC{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}}
		entries = append(entries, e)
		want[key{e.Port, a}] = e.MAC
	}
	tab := neigh.Build(entries)
	if tab.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", tab.Len(), len(want))
	}
	for k, mac := range want {
		var got neigh.MAC
		var ok bool
		if k.addr.Is4() {
			got, ok = tab.Lookup4(k.port, k.addr.As4())
		} else {
			got, ok = tab.Lookup6(k.port, k.addr.As16())
		}
		if !ok || got != mac {
			t.Fatalf("lookup %v on port %d = %v,%v want %v", k.addr, k.port, got, ok, mac)
		}
	}
	// Misses: same address on a port it is not on, and an absent address.
	if _, ok := tab.Lookup4(7, [4]byte{10, 0, 0, 1}); ok {
		t.Error("lookup on port 7 hit, want miss")
	}
	if _, ok := tab.Lookup4(0, [4]byte{192, 0, 2, 1}); ok {
		t.Error("lookup of absent address hit")
	}
	// An IPv4 address must not match an IPv6 address with the same leading bytes.
	v4 := neigh.Build([]neigh.Entry{{Port: 0, Addr: netip.MustParseAddr("10.0.0.1"), MAC: neigh.MAC{1}}})
	if _, ok := v4.Lookup6(0, [16]byte{10, 0, 0, 1}); ok {
		t.Error("IPv6 lookup matched an IPv4 entry")
	}
	if got := len(tab.Entries()); got != len(want) {
		t.Errorf("Entries() has %d, want %d", got, len(want))
	}
}

func TestEmptyAndMapped(t *testing.T) {
	var c neigh.Cache
	if _, ok := c.Load().Lookup4(0, [4]byte{1, 2, 3, 4}); ok {
		t.Fatal("empty cache hit")
	}
	c.Publish(neigh.Build([]neigh.Entry{{Port: 1, Addr: netip.MustParseAddr("::ffff:1.2.3.4"), MAC: neigh.MAC{9}}}))
	if m, ok := c.Load().Lookup4(1, [4]byte{1, 2, 3, 4}); !ok || m != (neigh.MAC{9}) {
		t.Fatalf("v4-mapped entry not found as IPv4: %v %v", m, ok)
	}
}

func TestLookupAllocs(t *testing.T) {
	tab := neigh.Build([]neigh.Entry{{Port: 1, Addr: netip.MustParseAddr("1.2.3.4"), MAC: neigh.MAC{9}}})
	n := testing.AllocsPerRun(1000, func() {
		tab.Lookup4(1, [4]byte{1, 2, 3, 4})
		tab.Lookup6(1, [16]byte{1})
	})
	if n != 0 {
		t.Fatalf("lookup allocates %v per run", n)
	}
}

func BenchmarkLookup4(b *testing.B) {
	var entries []neigh.Entry
	for i := 0; i < 1024; i++ {
		entries = append(entries, neigh.Entry{Port: 0, Addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})})
	}
	tab := neigh.Build(entries)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tab.Lookup4(0, [4]byte{10, 0, byte(i>>8) & 3, byte(i)})
	}
}
