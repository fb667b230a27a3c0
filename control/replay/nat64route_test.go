package replay_test

import (
	"fmt"
	"net/netip"
	"testing"
	"weak"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// An established NAT64 session's packets take their route and next-hop
// MAC from the worker's route memos (IPv4 side: routememo.go; IPv6 side:
// routememo6.go), checked per packet against the tables they came from. A
// change of either table must apply to the very next packet, and a
// replaced table must not be kept alive.

func TestNAT64RoutesFollowChanges(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	vrf := env.VRFs[env.Ports[portV6].VRF]
	out := func() *pipeline.Frame { return g.send(portV6, from6().UDP(5353, 7053).Payload([]byte("q")).Bytes()) }
	pkt := g.expectTx(out(), portV4)
	ip, _ := decode4(t, pkt)
	pool, tport := ip.SrcIP.String(), udpSrc(t, pkt)
	back := func() *pipeline.Frame {
		return g.send(portV4, fromServer(pool).UDP(7053, tport).Payload([]byte("a")).Bytes())
	}
	if m := dstMAC(g.expectTx(out(), portV4)); m != macServer {
		t.Fatalf("out to %s, want the server %s", m, macServer)
	}
	if m := dstMAC(g.expectTx(back(), portV6)); m != macC6 {
		t.Fatalf("back to %s, want the client %s", m, macC6)
	}

	// New MACs for the server and the client: the next packets go to them.
	entries := env.Neigh.Load().Entries()
	entries = setMAC(entries, "192.0.2.11", [6]byte{2, 0, 0, 0, 5, 0x99})
	entries = setMAC(entries, "2001:db8:6::7", [6]byte{2, 0, 0, 0, 4, 0x99})
	env.Neigh.Publish(neigh.Build(entries))
	if m := dstMAC(g.expectTx(out(), portV4)); m != "02:00:00:00:05:99" {
		t.Errorf("after the server's MAC changed to 02:00:00:00:05:99, out to %s", m)
	}
	if m := dstMAC(g.expectTx(back(), portV6)); m != "02:00:00:00:04:99" {
		t.Errorf("after the client's MAC changed to 02:00:00:00:04:99, back to %s", m)
	}

	// The EIPs' route now goes through another next hop, the client's
	// subnet through a router (their neighbours are known first: only
	// the route table changes).
	entries = append(entries,
		neigh.Entry{Port: portV4, Addr: netip.MustParseAddr("192.0.2.12"), MAC: [6]byte{2, 0, 0, 0, 5, 0x0c}},
		neigh.Entry{Port: portV6, Addr: netip.MustParseAddr("2001:db8:6::fe"), MAC: [6]byte{2, 0, 0, 0, 4, 0xfe}})
	env.Neigh.Publish(neigh.Build(entries))
	g.expectTx(out(), portV4)
	g.expectTx(back(), portV6)
	old := vrf.Table()
	vrf.Publish(rebuildTable(t, vrf, func(r *fib.Route) bool {
		switch r.Prefix {
		case netip.MustParsePrefix("2.2.2.0/24"):
			r.NextHop.Via = netip.MustParseAddr("192.0.2.12")
		case netip.MustParsePrefix("2001:db8:6::/64"):
			r.NextHop.Via = netip.MustParseAddr("2001:db8:6::fe")
		}
		return true
	}))
	if m := dstMAC(g.expectTx(out(), portV4)); m != "02:00:00:00:05:0c" {
		t.Errorf("after the route's change, out to %s, want 02:00:00:00:05:0c", m)
	}
	if m := dstMAC(g.expectTx(back(), portV6)); m != "02:00:00:00:04:fe" {
		t.Errorf("after the route's change, back to %s, want 02:00:00:00:04:fe", m)
	}

	// No routes at all.
	vrf.Publish(rebuildTable(t, vrf, func(r *fib.Route) bool {
		return r.Prefix != netip.MustParsePrefix("2.2.2.0/24") && r.Prefix != netip.MustParsePrefix("2001:db8:6::/64")
	}))
	g.expectDrop(out(), pipeline.DropNoRoute)
	g.expectDrop(back(), pipeline.DropNoRoute)

	vrf.Publish(old)
	if m := dstMAC(g.expectTx(out(), portV4)); m != "02:00:00:00:05:99" {
		t.Errorf("with the old table back, out to %s, want 02:00:00:00:05:99", m)
	}
	if m := dstMAC(g.expectTx(back(), portV6)); m != "02:00:00:00:04:99" {
		t.Errorf("with the old table back, back to %s, want 02:00:00:00:04:99", m)
	}
}

// udpSrc is the source port of the UDP datagram in pkt.
func udpSrc(t *testing.T, pkt gopacket.Packet) uint16 {
	t.Helper()
	u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok {
		t.Fatal("not UDP")
	}
	return uint16(u.SrcPort)
}

// TestNAT64RoutesManyClients: more IPv6 clients than the memo has slots,
// each with its own MAC, so that some share a slot: each reply goes to its
// own client.
func TestNAT64RoutesManyClients(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	const n = 40
	entries := env.Neigh.Load().Entries()
	for i := range n {
		entries = append(entries, neigh.Entry{Port: portV6, Addr: netip.MustParseAddr(fmt.Sprintf("2001:db8:6::%x", 0x100+i)), MAC: [6]byte{2, 0, 0, 0, 6, byte(i)}})
	}
	env.Neigh.Publish(neigh.Build(entries))
	pools, ports := make([]string, n), make([]uint16, n)
	for i := range n {
		c := fmt.Sprintf("2001:db8:6::%x", 0x100+i)
		pkt := g.expectTx(g.send(portV6, fixture.New().Eth(macC6, macV6).IPv6(c, eip6).UDP(5353, 7053).Bytes()), portV4)
		ip, _ := decode4(t, pkt)
		pools[i], ports[i] = ip.SrcIP.String(), udpSrc(t, pkt)
	}
	for range 2 {
		for i := range n {
			back := g.expectTx(g.send(portV4, fromServer(pools[i]).UDP(7053, ports[i]).Bytes()), portV6)
			if m, want := dstMAC(back), fmt.Sprintf("02:00:00:00:06:%02x", i); m != want {
				t.Fatalf("reply to client %d went to %s, want %s", i, m, want)
			}
		}
	}
}

func TestNAT64RoutesLetGoOfReplacedTables(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	vrf := env.VRFs[env.Ports[portV6].VRF]
	keep := func(*fib.Route) bool { return true }
	t0 := rebuildTable(t, vrf, keep)
	vrf.Publish(t0)
	pkt := g.expectTx(g.send(portV6, from6().UDP(5353, 7053).Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	g.expectTx(g.send(portV4, fromServer(ip.SrcIP.String()).UDP(7053, udpSrc(t, pkt)).Bytes()), portV6)
	old := weak.Make(t0)
	t0 = nil
	vrf.Publish(rebuildTable(t, vrf, keep))
	// Those destinations fall idle; other traffic goes on, batch after
	// batch (to the IPv4 side's own subnet, not through the memos').
	for range 70 {
		g.send(portV6, fixture.New().Eth(macC6, macV6).IPv6(client6, "2001:db8:6::1").Bytes())
	}
	expectReleased(t, g, old, "the replaced table is still reachable after 70 batches (held by an idle NAT64 route memo)")
}
