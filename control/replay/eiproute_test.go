package replay_test

import (
	"net/netip"
	"strconv"
	"testing"
	"weak"

	"xdpgw/control/config"
	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/pipeline"
)

// The worker remembers, per EIP, the route of its private address and the
// tenant table it came from (dataplane/pipeline/eiproute.go). A route
// change in the tenant's VRF must apply to the very next packet of an
// established flow, and a replaced table must not be kept alive.
func TestGatewayEIPRouteFollowsChanges(t *testing.T) {
	// Enough EIPs that the release round (one memo per batch) does not
	// reach EIP 0's memo during the test: the per-packet check must
	// catch the change by itself.
	g := newGW(t, func(c *config.Config) {
		tn, _ := c.FindTenant("user1")
		for i := range 40 {
			tn.EIPs = append(tn.EIPs, config.EIP{EIP: "2.2.3." + strconv.Itoa(i+1), Private: "10.0.0." + strconv.Itoa(i+20)})
		}
	})
	env := g.dp.Env()
	vrf := env.VRFs[env.Gateway.Tenants[0].VRF] // user1
	old := vrf.Table()
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()), portUnder)
	ack := func() *pipeline.Frame { return g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "A").Bytes()) }
	outer(t, g.expectTx(ack(), portUnder), macHost1, "172.168.0.11", 1000)

	// The private address's route moves to tenant 2's tunnel endpoint.
	rebuild := func(edit func(*fib.Route) bool) *fib.Table {
		b := fib.NewBuilder()
		for _, r := range old.Routes() {
			if edit(&r) {
				if err := b.Add(r); err != nil {
					t.Fatal(err)
				}
			}
		}
		return b.Build()
	}
	private := netip.MustParsePrefix("10.0.0.0/24")
	vrf.Publish(rebuild(func(r *fib.Route) bool {
		if r.Prefix == private {
			r.NextHop.Encap.OuterDst = netip.MustParseAddr("172.168.0.12")
		}
		return true
	}))
	outer(t, g.expectTx(ack(), portUnder), macHost2, "172.168.0.12", 1000)

	// The route becomes a blackhole: the next packet has none.
	vrf.Publish(rebuild(func(r *fib.Route) bool {
		if r.Prefix == private {
			r.NextHop = fib.NextHop{Blackhole: true}
		}
		return true
	}))
	g.expectDrop(ack(), pipeline.DropNoRoute)

	vrf.Publish(old)
	outer(t, g.expectTx(ack(), portUnder), macHost1, "172.168.0.11", 1000)
}

func TestGatewayEIPRouteLetsGoOfReplacedTables(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	vrf := env.VRFs[env.Gateway.Tenants[0].VRF] // user1
	rebuild := func() *fib.Table {
		b := fib.NewBuilder()
		for _, r := range vrf.Table().Routes() {
			if err := b.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		return b.Build()
	}
	t0 := rebuild()
	vrf.Publish(t0)
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()), portUnder) // EIP 1's route, from t0
	old := weak.Make(t0)
	t0 = nil
	vrf.Publish(rebuild())
	// EIP 1 falls idle; EIP 2 carries on, batch after batch.
	for i := range 20 {
		g.expectTx(g.send(portInet, fromClient("2.2.2.12").TCP(uint16(41000+i), 23, "S").Bytes()), portUnder)
	}
	expectReleased(t, g, old, "the replaced tenant table is still reachable after 20 batches (held by an idle EIP's route memo)")
}
