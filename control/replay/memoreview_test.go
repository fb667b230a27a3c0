package replay_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"weak"

	"github.com/google/gopacket/layers"

	"xdpgw/control/config"
	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// Second review of the per-worker memos (dataplane/pipeline: eiproute.go,
// routememo.go, routememo6.go, encapcache.go) and the flow fast path:
// each test is a way a memo could hand a packet an answer that belongs
// to another key, another tenant or an older table.

// Two tenants with the same private address and the same flow tuple to
// the same Internet destination: the route memo slot of that destination
// is shared, and each must keep its own route and its own EIP.
func TestReviewMemoTenantsShareAddress(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	egress := func(host int, key int64, flags string) *pipeline.Frame {
		return g.send(portUnder, fromTenant(host, key).IPv4("10.0.0.7", "1.1.1.7").TCP(5000, 80, flags).Bytes())
	}
	g.expectTx(egress(1, 1000, "S"), portInet)
	g.expectTx(egress(2, 2000, "S"), portInet)
	for range 3 {
		if s := inner(t, g.expectTx(egress(1, 1000, "A"), portInet)).SrcIP.String(); s != "2.2.2.11" {
			t.Fatalf("tenant 1 left as %s, want its EIP 2.2.2.11", s)
		}
		if s := inner(t, g.expectTx(egress(2, 2000, "A"), portInet)).SrcIP.String(); s != "2.2.2.12" {
			t.Fatalf("tenant 2 left as %s, want its EIP 2.2.2.12", s)
		}
	}
	// Tenant 2 loses its default route; tenant 1, whose route to the
	// same destination is in the shared slot, keeps its own.
	user2 := env.VRFs[env.Gateway.Tenants[1].VRF]
	user2.Publish(rebuildTable(t, user2, func(r *fib.Route) bool { return r.Prefix.Bits() != 0 }))
	g.expectTx(egress(1, 1000, "A"), portInet)
	g.expectDrop(egress(2, 2000, "A"), pipeline.DropNoRoute)
	g.expectTx(egress(1, 1000, "A"), portInet)
	g.expectDrop(egress(2, 2000, "A"), pipeline.DropNoRoute)

	// And the other way: each EIP into its own tenant's tunnel.
	ingress := func(eip string, dport uint16, flags string) *pipeline.Frame {
		return g.send(portInet, fromClient(eip).TCP(40000, dport, flags).Bytes())
	}
	g.expectTx(ingress("2.2.2.11", 22, "S"), portUnder)
	g.expectTx(ingress("2.2.2.12", 23, "S"), portUnder)
	for range 3 {
		outer(t, g.expectTx(ingress("2.2.2.11", 22, "A"), portUnder), macHost1, "172.168.0.11", 1000)
		outer(t, g.expectTx(ingress("2.2.2.12", 23, "A"), portUnder), macHost2, "172.168.0.12", 2000)
	}
}

// withoutNeighbours is the neighbour table of env without addrs.
func withoutNeighbours(env *pipeline.Env, addrs ...string) *neigh.Table {
	var kept []neigh.Entry
	for _, e := range env.Neigh.Load().Entries() {
		if !slices.Contains(addrs, e.Addr.String()) {
			kept = append(kept, e)
		}
	}
	return neigh.Build(kept)
}

// A neighbour that is deleted (not changed) must not be reached through
// the MAC a memo kept: the next packet has no neighbour.
func TestReviewMemoNeighbourDeleted(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	egress := func(flags string) *pipeline.Frame {
		return g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(5000, 80, flags).Bytes())
	}
	ingress := func(flags string) *pipeline.Frame {
		return g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, flags).Bytes())
	}
	out := func() *pipeline.Frame { return g.send(portV6, from6().UDP(5353, 7053).Payload([]byte("q")).Bytes()) }
	g.expectTx(egress("S"), portInet)
	g.expectTx(egress("A"), portInet)
	g.expectTx(ingress("S"), portUnder)
	g.expectTx(ingress("A"), portUnder)
	pkt := g.expectTx(out(), portV4)
	ip, _ := decode4(t, pkt)
	pool, tport := ip.SrcIP.String(), udpSrc(t, pkt)
	back := func() *pipeline.Frame {
		return g.send(portV4, fromServer(pool).UDP(7053, tport).Payload([]byte("a")).Bytes())
	}
	g.expectTx(out(), portV4)
	g.expectTx(back(), portV6)
	g.expectTx(back(), portV6)

	env.Neigh.Publish(withoutNeighbours(env, "1.1.1.7", "172.168.0.11", "192.0.2.11", "2001:db8:6::7"))
	g.expectDrop(egress("A"), pipeline.DropNoNeighbor)
	g.expectDrop(ingress("A"), pipeline.DropNoNeighbor)
	g.expectDrop(out(), pipeline.DropNoNeighbor)
	g.expectDrop(back(), pipeline.DropNoNeighbor)
}

// The NAT64 and the gateway share the IPv4 route memo. Here the same
// destination, the client 1.1.1.7, is routed by both: by the NAT64 (VRF
// nat64) through the IPv4 server, by tenant 1 (through the leak into main)
// on the Internet port. Neither may take the other's route or MAC from the
// shared slot.
func TestReviewMemoNAT64AndGatewayShareDestination(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		for vi := range c.VRFs {
			if c.VRFs[vi].Name == "nat64" {
				c.VRFs[vi].Routes = append(c.VRFs[vi].Routes, config.Route{Prefix: "1.1.1.0/24", Via: "192.0.2.11", Port: "v4"})
			}
		}
	})
	out := func() *pipeline.Frame {
		return g.send(portV6, fixture.New().Eth(macC6, macV6).IPv6(client6, "64:ff9b::101:107").UDP(5353, 7053).Payload([]byte("q")).Bytes())
	}
	egress := func(flags string) *pipeline.Frame {
		return g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(5000, 80, flags).Bytes())
	}
	g.expectTx(egress("S"), portInet)
	for i := range 6 {
		if i%3 != 2 {
			if m := dstMAC(g.expectTx(out(), portV4)); m != macServer {
				t.Fatalf("NAT64 to 1.1.1.7 through %s, want the server %s", m, macServer)
			}
		}
		if i%3 != 1 {
			if m := dstMAC(g.expectTx(egress("A"), portInet)); m != macClient {
				t.Fatalf("tenant to 1.1.1.7 through %s, want the client %s", m, macClient)
			}
		}
	}
}

// More tenant destinations than the route memo has slots, each with its
// own MAC: destinations that share a slot must each reach their own.
func TestReviewMemoManyDestinations(t *testing.T) {
	const n = 200
	g := newGW(t, func(c *config.Config) {
		for i := range n {
			c.Neighbors = append(c.Neighbors, config.Neighbor{Port: "internet", IP: fmt.Sprintf("1.1.1.%d", 10+i), MAC: fmt.Sprintf("02:00:00:00:07:%02x", i)})
		}
	})
	send := func(i int, flags string) *pipeline.Frame {
		return g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", fmt.Sprintf("1.1.1.%d", 10+i)).TCP(5000, 80, flags).Bytes())
	}
	for i := range n {
		g.expectTx(send(i, "S"), portInet)
	}
	for range 2 {
		for i := range n {
			if m, want := dstMAC(g.expectTx(send(i, "A"), portInet)), fmt.Sprintf("02:00:00:00:07:%02x", i); m != want {
				t.Fatalf("to 1.1.1.%d went to %s, want %s", 10+i, m, want)
			}
		}
	}
	if st := g.dp.Stats(); st.Events[pipeline.EventFlowHit] != 2*n {
		t.Errorf("flow_hit %d, want %d (the ACKs took the fast path)", st.Events[pipeline.EventFlowHit], 2*n)
	}
}

// More EIPs, each with its own tunnel (endpoint and MAC), than the
// encapsulation cache has slots: each packet goes into its own tunnel.
func TestReviewMemoManyTunnels(t *testing.T) {
	const n = 150
	g := newGW(t, func(c *config.Config) {
		tn, _ := c.FindTenant("user1")
		for i := range n {
			tn.EIPs = append(tn.EIPs, config.EIP{EIP: fmt.Sprintf("2.2.4.%d", i+1), Private: fmt.Sprintf("10.0.1.%d", i+1)})
			c.Neighbors = append(c.Neighbors, config.Neighbor{Port: "underlay", IP: fmt.Sprintf("172.168.0.%d", 100+i), MAC: fmt.Sprintf("02:00:00:00:08:%02x", i)})
		}
		for vi := range c.VRFs {
			if c.VRFs[vi].Name != "user1" {
				continue
			}
			for i := range n {
				key := int64(3000) // one key: only the endpoint tells tunnels apart
				c.VRFs[vi].Routes = append(c.VRFs[vi].Routes, config.Route{Prefix: fmt.Sprintf("10.0.1.%d/32", i+1), Port: "underlay",
					Encap: &config.Encap{Type: "gre", Key: &key, Dst: fmt.Sprintf("172.168.0.%d", 100+i)}})
			}
		}
	})
	send := func(i int, flags string) *pipeline.Frame {
		return g.send(portInet, fromClient(fmt.Sprintf("2.2.4.%d", i+1)).TCP(40000, 22, flags).Bytes())
	}
	for i := range n {
		g.expectTx(send(i, "S"), portUnder)
	}
	for range 2 {
		for i := range n {
			pkt := g.expectTx(send(i, "A"), portUnder)
			outer(t, pkt, fmt.Sprintf("02:00:00:00:08:%02x", i), fmt.Sprintf("172.168.0.%d", 100+i), 3000)
			if d := inner(t, pkt).DstIP.String(); d != fmt.Sprintf("10.0.1.%d", i+1) {
				t.Fatalf("EIP %d DNATed to %s", i, d)
			}
		}
	}
}

// An Env published with the same tables and gateway but other port
// attributes: the encapsulation cache must not keep the old port MAC, and
// the MTU check must use the new MTU.
func TestReviewMemoPortChange(t *testing.T) {
	g := newGW(t, nil)
	ingress := func(flags string) *pipeline.Frame {
		return g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, flags).DF().Payload(make([]byte, 200)).Bytes())
	}
	egress := func(flags string) *pipeline.Frame {
		return g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(5000, 80, flags).Payload(make([]byte, 200)).Bytes())
	}
	g.expectTx(ingress("S"), portUnder)
	g.expectTx(ingress("A"), portUnder)
	g.expectTx(egress("S"), portInet)
	g.expectTx(egress("A"), portInet)

	old := g.dp.Env()
	env := *old
	env.Ports = slices.Clone(old.Ports)
	env.Ports[portUnder].MAC = [6]byte{2, 0, 0, 0, 1, 0x22}
	env.Ports[portInet].MAC = [6]byte{2, 0, 0, 0, 1, 0x21}
	if err := g.dp.Publish(&env); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the slow path (the flows are stale), then the fast one
		pkt := g.expectTx(g.send(portInet, fixture.New().Eth(macClient, "02:00:00:00:01:21").IPv4("1.1.1.7", "2.2.2.11").TCP(40000, 22, "A").DF().Payload(make([]byte, 200)).Bytes()), portUnder)
		if s := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet).SrcMAC.String(); s != "02:00:00:00:01:22" {
			t.Errorf("into the tunnel from %s, want the underlay port's new MAC 02:00:00:00:01:22", s)
		}
		pkt = g.expectTx(g.send(portUnder, fixture.New().Eth(macHost1, "02:00:00:00:01:22").IPv4("172.168.0.11", "172.168.0.1").GRE(1000).IPv4("10.0.0.7", "1.1.1.7").TCP(5000, 80, "A").Payload(make([]byte, 200)).Bytes()), portInet)
		if s := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet).SrcMAC.String(); s != "02:00:00:00:01:21" {
			t.Errorf("to the Internet from %s, want the Internet port's new MAC 02:00:00:00:01:21", s)
		}
	}

	env2 := *old
	env2.Ports = slices.Clone(old.Ports)
	env2.Ports[portUnder].MTU = 200
	env2.Ports[portInet].MTU = 200
	if err := g.dp.Publish(&env2); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		// DF: answered with Fragmentation Needed and the MTU left for
		// the inner packet (200 less the outer IPv4 and GRE headers).
		pkt := g.expectTx(ingress("A"), portInet)
		ic, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if !ok || ic.TypeCode.Type() != layers.ICMPv4TypeDestinationUnreachable || ic.TypeCode.Code() != layers.ICMPv4CodeFragmentationNeeded || ic.Seq != 200-28 {
			t.Fatalf("ingress over the new MTU: %v, want fragmentation needed with MTU %d", pkt, 200-28)
		}
		// Without DF: not fragmented on this path (drop.go's
		// fragmentation_needed, not mtu_exceeded).
		g.expectDrop(egress("A"), pipeline.DropFragmentationNeeded)
	}
}

// An Env whose gateway maps an EIP to another private address, published
// with the same route tables: the EIP's route memo (kept per EIP index)
// must not keep the old address's route.
func TestReviewMemoEIPRemapped(t *testing.T) {
	g := newGW(t, nil)
	old := g.dp.Env()
	// 10.0.0.99 of tenant 1 is behind tenant 2's endpoint; the table is
	// published before the EIP's route is remembered.
	user1 := old.VRFs[old.Gateway.Tenants[0].VRF]
	b := fib.NewBuilder()
	for _, r := range user1.Table().Routes() {
		if err := b.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add(fib.Route{Prefix: netip.MustParsePrefix("10.0.0.99/32"), NextHop: fib.NextHop{Port: portUnder, HasEncap: true,
		Encap: fib.Encap{Key: 1000, HasKey: true, OuterDst: netip.MustParseAddr("172.168.0.12")}}}); err != nil {
		t.Fatal(err)
	}
	user1.Publish(b.Build())
	ingress := func(flags string) *pipeline.Frame {
		return g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, flags).Bytes())
	}
	g.expectTx(ingress("S"), portUnder)
	outer(t, g.expectTx(ingress("A"), portUnder), macHost1, "172.168.0.11", 1000)

	eips := slices.Clone(old.Gateway.EIPs)
	ei := slices.IndexFunc(eips, func(e pipeline.EIP) bool { return e.Addr == [4]byte{2, 2, 2, 11} })
	eips[ei].Private = [4]byte{10, 0, 0, 99}
	gw, err := pipeline.NewGateway(slices.Clone(old.Gateway.Tenants), eips, len(old.VRFs))
	if err != nil {
		t.Fatal(err)
	}
	env := *old
	env.Gateway = gw
	if err := g.dp.Publish(&env); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		pkt := g.expectTx(ingress("A"), portUnder)
		outer(t, pkt, macHost2, "172.168.0.12", 1000)
		if d := inner(t, pkt).DstIP.String(); d != "10.0.0.99" {
			t.Errorf("packet %d: DNAT to %s, want 10.0.0.99", i, d)
		}
	}
}

// The last neighbour per output port (forward.go's neighMemo) is a memo
// like the others: once the neighbour table it came from is replaced and
// its port falls idle, it must not keep that table alive.
func TestReviewNeighbourMemoLetsGoOfReplacedTables(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	t0 := neigh.Build(env.Neigh.Load().Entries())
	env.Neigh.Publish(t0)
	// A tenant's packet to the client: the Internet port's neighbour
	// memo now holds t0.
	g.expectTx(g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(5000, 80, "S").Bytes()), portInet)
	old := weak.Make(t0)
	t0 = nil
	env.Neigh.Publish(neigh.Build(env.Neigh.Load().Entries()))
	// The Internet port falls idle; the NAT64 carries on, batch after
	// batch, more batches than any memo has slots.
	for i := range 200 {
		g.expectTx(g.send(portV6, from6().UDP(uint16(6000+i), 7053).Bytes()), portV4)
	}
	expectReleased(t, g, old, "the replaced neighbour table is still reachable after 200 batches (held by an idle port's neighbour memo)")
}

// The NAT64's IPv6 route memo with a leaked route: the client's prefix
// continues from VRF nat64 into VRF v6side. A change of either table
// applies to the next packet: each comparison (the table the route was
// found in, the table it leaked into) catches the change the other cannot.
func TestReviewMemoNAT64LeakedRoute6(t *testing.T) {
	const client = "2001:db8:7::5"
	g := newGW(t, func(c *config.Config) {
		c.VRFs = append(c.VRFs, config.VRF{Name: "v6side", Routes: []config.Route{{Prefix: "2001:db8:7::/64", Port: "v6"}}})
		for vi := range c.VRFs {
			if c.VRFs[vi].Name == "nat64" {
				c.VRFs[vi].Routes = append(c.VRFs[vi].Routes, config.Route{Prefix: "2001:db8:7::/64", VRF: "v6side"})
			}
		}
		c.Neighbors = append(c.Neighbors,
			config.Neighbor{Port: "v6", IP: client, MAC: "02:00:00:00:04:55"},
			config.Neighbor{Port: "v6", IP: "2001:db8:6::fe", MAC: "02:00:00:00:04:fe"})
	})
	env := g.dp.Env()
	nat64 := env.VRFs[env.Ports[portV6].VRF]
	v6side := env.VRFs[slices.Index(g.rt.VRFNames, "v6side")]
	pkt := g.expectTx(g.send(portV6, fixture.New().Eth(macC6, macV6).IPv6(client, eip6).UDP(5353, 7053).Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	pool, tport := ip.SrcIP.String(), udpSrc(t, pkt)
	back := func() string {
		return dstMAC(g.expectTx(g.send(portV4, fromServer(pool).UDP(7053, tport).Bytes()), portV6))
	}
	for range 2 {
		if m := back(); m != "02:00:00:00:04:55" {
			t.Fatalf("back to %s, want the client 02:00:00:00:04:55", m)
		}
	}
	via := func(r *fib.Route) bool {
		if r.Prefix == netip.MustParsePrefix("2001:db8:7::/64") {
			r.NextHop = fib.NextHop{Port: portV6, Via: netip.MustParseAddr("2001:db8:6::fe")}
		}
		return true
	}

	// The leaked-into table changes.
	oldSide := v6side.Table()
	v6side.Publish(rebuildTable(t, v6side, via))
	if m := back(); m != "02:00:00:00:04:fe" {
		t.Errorf("after v6side's change, back to %s, want the router 02:00:00:00:04:fe", m)
	}
	v6side.Publish(oldSide)
	if m := back(); m != "02:00:00:00:04:55" {
		t.Fatalf("with v6side's table back, to %s, want the client 02:00:00:00:04:55", m)
	}

	// The table the route was found in changes: no more leak, the
	// router directly (v6side's table is the same).
	nat64.Publish(rebuildTable(t, nat64, via))
	if m := back(); m != "02:00:00:00:04:fe" {
		t.Errorf("after nat64's change, back to %s, want the router 02:00:00:00:04:fe", m)
	}
}

// Two tunnels that differ only in their outer source (same endpoint, key
// and port, hence the same encapsulation cache slot): each packet leaves
// with its own tunnel's source.
func TestReviewMemoTunnelsDifferOnlyInSource(t *testing.T) {
	g := newGW(t, func(c *config.Config) {
		tn, _ := c.FindTenant("user1")
		tn.EIPs = append(tn.EIPs, config.EIP{EIP: "2.2.3.1", Private: "10.0.0.8"})
		for vi := range c.VRFs {
			if c.VRFs[vi].Name == "user1" {
				key := int64(1000)
				c.VRFs[vi].Routes = append(c.VRFs[vi].Routes, config.Route{Prefix: "10.0.0.8/32", Port: "underlay",
					Encap: &config.Encap{Type: "gre", Key: &key, Dst: "172.168.0.11", Src: "172.168.0.2"}})
			}
		}
	})
	send := func(eip, flags string) *pipeline.Frame {
		return g.send(portInet, fromClient(eip).TCP(40000, 22, flags).Bytes())
	}
	g.expectTx(send("2.2.2.11", "S"), portUnder)
	g.expectTx(send("2.2.3.1", "S"), portUnder)
	for range 3 {
		for eip, src := range map[string]string{"2.2.2.11": "172.168.0.1", "2.2.3.1": "172.168.0.2"} {
			ip := g.expectTx(send(eip, "A"), portUnder).Layers()[1].(*layers.IPv4)
			if ip.SrcIP.String() != src || ip.DstIP.String() != "172.168.0.11" {
				t.Fatalf("to %s: tunnel %v > %v, want %s > 172.168.0.11", eip, ip.SrcIP, ip.DstIP, src)
			}
		}
	}
}

// More IPv6 clients than the NAT64's IPv6 route memo has slots, with the
// same interface identifier in different /64s: clients that share a slot
// differ only in the destination's first half, and each reply must still
// go to its own client.
func TestReviewMemoNAT64ClientsDifferInPrefix(t *testing.T) {
	const n = 20 // > route6MemoSize: some share a slot
	g := newGW(t, func(c *config.Config) {
		for vi := range c.VRFs {
			if c.VRFs[vi].Name == "nat64" {
				c.VRFs[vi].Routes = append(c.VRFs[vi].Routes, config.Route{Prefix: "2001:db8:100::/48", Port: "v6"})
			}
		}
		for i := range n {
			c.Neighbors = append(c.Neighbors, config.Neighbor{Port: "v6", IP: fmt.Sprintf("2001:db8:100:%x::7", i), MAC: fmt.Sprintf("02:00:00:00:09:%02x", i)})
		}
	})
	pools, ports := make([]string, n), make([]uint16, n)
	for i := range n {
		pkt := g.expectTx(g.send(portV6, fixture.New().Eth(macC6, macV6).IPv6(fmt.Sprintf("2001:db8:100:%x::7", i), eip6).UDP(5353, 7053).Bytes()), portV4)
		ip, _ := decode4(t, pkt)
		pools[i], ports[i] = ip.SrcIP.String(), udpSrc(t, pkt)
	}
	for range 2 {
		for i := range n {
			back := g.expectTx(g.send(portV4, fromServer(pools[i]).UDP(7053, ports[i]).Bytes()), portV6)
			if m, want := dstMAC(back), fmt.Sprintf("02:00:00:00:09:%02x", i); m != want {
				t.Fatalf("reply to client %d went to %s, want %s", i, m, want)
			}
		}
	}
}
