package replay_test

import (
	"net/netip"
	"runtime"
	"testing"
	"weak"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/pipeline"
)

// The worker remembers the routes of tenants' egress destinations with
// the tables they came from, the tenant's and, for its leaked default
// route, the main table (dataplane/pipeline/routememo.go). A change in
// either table, or in the neighbour table (the memo keeps the next hop's
// MAC), must apply to the very next packet of an established flow, and a
// replaced table must not be kept alive.

// rebuildTable copies vrf's table through edit, which may change a route
// or return false to leave it out.
func rebuildTable(t *testing.T, vrf *fib.VRF, edit func(*fib.Route) bool) *fib.Table {
	t.Helper()
	b := fib.NewBuilder()
	for _, r := range vrf.Table().Routes() {
		if edit(&r) {
			if err := b.Add(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b.Build()
}

// setMAC gives addr the MAC mac in entries.
func setMAC(entries []neigh.Entry, addr string, mac [6]byte) []neigh.Entry {
	for i := range entries {
		if entries[i].Addr == netip.MustParseAddr(addr) {
			entries[i].MAC = mac
		}
	}
	return entries
}

func dstMAC(pkt gopacket.Packet) string {
	return pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet).DstMAC.String()
}

func TestGatewayEgressRouteFollowsChanges(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	user1 := env.VRFs[env.Gateway.Tenants[0].VRF]
	main := env.VRFs[env.Ports[portInet].VRF]
	oldUser1, oldMain := user1.Table(), main.Table()
	g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(5000, 80, "S").Bytes()), portInet)
	ack := func() *pipeline.Frame {
		return g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(5000, 80, "A").Bytes())
	}
	if m := dstMAC(g.expectTx(ack(), portInet)); m != macClient {
		t.Fatalf("to %s, want the client %s", m, macClient)
	}

	// The leaked-into table changes: the client's subnet is now reached
	// through the upstream router.
	client := netip.MustParsePrefix("1.1.1.0/24")
	main.Publish(rebuildTable(t, main, func(r *fib.Route) bool {
		if r.Prefix == client {
			r.NextHop.Via = netip.MustParseAddr("1.1.1.254")
		}
		return true
	}))
	if m := dstMAC(g.expectTx(ack(), portInet)); m != "02:00:00:00:02:fe" {
		t.Errorf("after the main table's change to %s, want the router 02:00:00:00:02:fe", m)
	}

	// The client gets a new MAC: the next packet goes to it.
	env.Neigh.Publish(neigh.Build(setMAC(env.Neigh.Load().Entries(), "1.1.1.254", [6]byte{2, 0, 0, 0, 2, 0x99})))
	if m := dstMAC(g.expectTx(ack(), portInet)); m != "02:00:00:00:02:99" {
		t.Errorf("after the router's MAC changed to 02:00:00:00:02:99, to %s", m)
	}

	// The tenant's own table changes: no more default route.
	user1.Publish(rebuildTable(t, user1, func(r *fib.Route) bool { return r.Prefix.Bits() != 0 }))
	g.expectDrop(ack(), pipeline.DropNoRoute)

	user1.Publish(oldUser1)
	main.Publish(oldMain)
	if m := dstMAC(g.expectTx(ack(), portInet)); m != macClient {
		t.Errorf("with the old tables back to %s, want the client %s", m, macClient)
	}
}

func TestGatewayEgressRouteLetsGoOfReplacedTables(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	main := env.VRFs[env.Ports[portInet].VRF]
	keep := func(*fib.Route) bool { return true }
	t0 := rebuildTable(t, main, keep)
	main.Publish(t0)
	// Tenant 1's route to the client leaks into t0.
	g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(5000, 80, "S").Bytes()), portInet)
	old := weak.Make(t0)
	t0 = nil
	main.Publish(rebuildTable(t, main, keep))
	// That destination falls idle; tenant 2 carries on, batch after batch.
	for i := range 70 {
		g.expectTx(g.send(portUnder, fromTenant(2, 2000).IPv4("10.0.0.7", "1.1.1.254").TCP(uint16(6000+i), 80, "S").Bytes()), portInet)
	}
	expectReleased(t, g, old, "the replaced main table is still reachable after 70 batches (held by an idle egress route memo)")
}

// expectReleased fails the test with msg if old, a table replaced while
// g's worker still runs, is reachable after two collections: a memo of
// the worker holds it.
func expectReleased[T any](t *testing.T, g *gw, old weak.Pointer[T], msg string) {
	t.Helper()
	runtime.GC()
	runtime.GC()
	if old.Value() != nil {
		t.Error(msg)
	}
	runtime.KeepAlive(g) // the worker, whose memos are what is being checked
}
