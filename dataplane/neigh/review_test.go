package neigh_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"xdpgw/dataplane/neigh"
)

// Updates (a later entry replaces an earlier one), the same bytes as IPv4
// and IPv6, address 0 and all-ones, mapped addresses, at every fill.
func TestReviewUpdates(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 3, 4, 5, 8, 100, 3000} {
		type key struct {
			port uint16
			addr netip.Addr
		}
		want := map[key]neigh.MAC{}
		var es []neigh.Entry
		for i := 0; i < n; i++ {
			var a netip.Addr
			switch r.IntN(5) {
			case 0:
				a = netip.AddrFrom4([4]byte{0, 0, 0, byte(r.IntN(3))})
			case 1:
				a = netip.AddrFrom16([16]byte{15: byte(r.IntN(3))})
			case 2:
				a = netip.AddrFrom4([4]byte{255, 255, 255, 255 - byte(r.IntN(3))})
			case 3:
				a = netip.AddrFrom16(netip.AddrFrom4([4]byte{0, 0, 0, byte(r.IntN(3))}).As16()) // mapped
			default:
				var b [16]byte
				for j := range b {
					b[j] = 0xff
				}
				b[15] = byte(r.IntN(3))
				a = netip.AddrFrom16(b)
			}
			e := neigh.Entry{Port: uint16(r.IntN(2)), Addr: a, MAC: neigh.MAC{byte(i), byte(i >> 8), 1}}
			es = append(es, e)
			want[key{e.Port, a.Unmap()}] = e.MAC
		}
		tab := neigh.Build(es)
		if tab.Len() != len(want) || len(tab.Entries()) != len(want) {
			t.Fatalf("n=%d Len %d Entries %d want %d", n, tab.Len(), len(tab.Entries()), len(want))
		}
		for _, e := range tab.Entries() {
			if want[key{e.Port, e.Addr}] != e.MAC {
				t.Fatalf("entry %v", e)
			}
		}
		for p := uint16(0); p < 3; p++ {
			for i := 0; i < 3; i++ {
				for _, a := range []netip.Addr{
					netip.AddrFrom4([4]byte{0, 0, 0, byte(i)}),
					netip.AddrFrom4([4]byte{255, 255, 255, 255 - byte(i)}),
					netip.AddrFrom16([16]byte{15: byte(i)}),
					netip.AddrFrom16([16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, byte(i)}),
				} {
					w, wok := want[key{p, a}]
					var got neigh.MAC
					var ok bool
					if a.Is4() {
						got, ok = tab.Lookup4(p, a.As4())
					} else {
						got, ok = tab.Lookup6(p, a.As16())
					}
					if ok != wok || got != w {
						t.Fatalf("n=%d %v port %d: %v %v want %v %v", n, a, p, got, ok, w, wok)
					}
				}
			}
		}
	}
}
