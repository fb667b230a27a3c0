package replay_test

import (
	"net/netip"
	"testing"
	"weak"

	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/pipeline"
)

// The worker keeps each tunnel's outer headers (dataplane/pipeline/
// encapcache.go). Each packet must still get its own TOS, length and ID
// under a valid checksum, and a neighbour or underlay route change must
// apply to the very next packet.
func TestGatewayEncapHeadersFollowChanges(t *testing.T) {
	g := newGW(t, nil)
	var inLen int // the inner packet's IPv4 length
	send := func(tos uint8, payload int) *pipeline.Frame {
		f := fromClient("2.2.2.11").TCP(40000, 22, "S").Payload(make([]byte, payload)).Bytes()
		f[15] = tos
		fixIPv4(f[14:34])
		inLen = int(f[16])<<8 | int(f[17])
		return g.send(portInet, f)
	}
	var lastID uint16
	for i, tc := range []struct {
		tos     uint8
		payload int
	}{{0, 0}, {0xb8, 100}, {0x01, 7}} {
		pkt := g.expectTx(send(tc.tos, tc.payload), portUnder)
		outer(t, pkt, macHost1, "172.168.0.11", 1000)
		ip := pkt.Layers()[1].(*layers.IPv4)
		if ip.TOS != tc.tos || int(ip.Length) != 20+8+inLen || ip.TTL != 64 || ip.Flags != layers.IPv4DontFragment {
			t.Errorf("packet %d: outer tos %#x length %d ttl %d flags %v, want tos %#x length %d ttl 64 DF",
				i, ip.TOS, ip.Length, ip.TTL, ip.Flags, tc.tos, 20+8+inLen)
		}
		if i > 0 && ip.Id != lastID+1 {
			t.Errorf("packet %d: outer ID %d after %d", i, ip.Id, lastID)
		}
		lastID = ip.Id
	}

	// A new MAC for the tenant's tunnel endpoint: the next packet uses it.
	env := g.dp.Env()
	entries := env.Neigh.Load().Entries()
	for i := range entries {
		if entries[i].Addr == netip.MustParseAddr("172.168.0.11") {
			entries[i].MAC = [6]byte{0x02, 0, 0, 0, 0x03, 0x99}
		}
	}
	env.Neigh.Publish(neigh.Build(entries))
	pkt := g.expectTx(send(0, 0), portUnder)
	outer(t, pkt, "02:00:00:00:03:99", "172.168.0.11", 1000)

	// The underlay loses its route to the endpoint: the next packet is
	// dropped, not sent with the old headers.
	main := env.VRFs[env.Ports[portUnder].VRF]
	old := main.Table()
	b := fib.NewBuilder()
	for _, r := range old.Routes() {
		if r.Prefix != netip.MustParsePrefix("172.168.0.0/24") {
			if err := b.Add(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	main.Publish(b.Build())
	g.expectDrop(send(0, 0), pipeline.DropNoTunnelRoute)
	main.Publish(old)
	outer(t, g.expectTx(send(0, 0), portUnder), "02:00:00:00:03:99", "172.168.0.11", 1000)
}

// The worker remembers the last neighbour per output port (dataplane/
// pipeline/forward.go, neighMemo): a changed or removed neighbour must
// apply to the very next packet.
func TestGatewayNeighbourChangeAppliesAtOnce(t *testing.T) {
	g := newGW(t, nil)
	send := func() *pipeline.Frame {
		return g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").UDP(5000, 7000).Payload([]byte("x")).Bytes())
	}
	dstMAC := func(f *pipeline.Frame) string {
		t.Helper()
		return g.expectTx(f, portInet).Layer(layers.LayerTypeEthernet).(*layers.Ethernet).DstMAC.String()
	}
	for i := 0; i < 2; i++ {
		if m := dstMAC(send()); m != macClient {
			t.Fatalf("packet %d to %s, want %s", i, m, macClient)
		}
	}
	nc := g.dp.Env().Neigh
	entries := nc.Load().Entries()
	var kept []neigh.Entry
	for _, e := range entries {
		if e.Addr == netip.MustParseAddr("1.1.1.7") {
			e.MAC = [6]byte{0x02, 0, 0, 0, 0x02, 0x99}
		}
		kept = append(kept, e)
	}
	nc.Publish(neigh.Build(kept))
	if m := dstMAC(send()); m != "02:00:00:00:02:99" {
		t.Errorf("after the change: to %s, want 02:00:00:00:02:99", m)
	}
	kept = kept[:0]
	for _, e := range entries {
		if e.Addr != netip.MustParseAddr("1.1.1.7") {
			kept = append(kept, e)
		}
	}
	nc.Publish(neigh.Build(kept))
	g.expectDrop(send(), pipeline.DropNoNeighbor)
}

// A tunnel's cached headers hold the underlay table they were built from;
// a tunnel that fell idle kept a replaced table (a full BGP table is 100+
// MiB) alive. The worker now lets go of slots built from replaced tables,
// one slot per batch: after a table change and encapCacheSize (128)
// batches of other traffic, the old table can be collected.
func TestEncapCacheLetsGoOfReplacedTables(t *testing.T) {
	g := newGW(t, nil)
	env := g.dp.Env()
	main := env.VRFs[env.Ports[portUnder].VRF]
	rebuild := func() *fib.Table {
		b := fib.NewBuilder()
		for _, r := range main.Table().Routes() {
			if err := b.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		return b.Build()
	}
	t0 := rebuild()
	main.Publish(t0)
	g.expectTx(g.send(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()), portUnder) // tenant 1's tunnel, built with t0
	old := weak.Make(t0)
	t0 = nil
	main.Publish(rebuild())
	// Tenant 1's tunnel falls idle; tenant 2's carries on, batch after batch.
	for i := range 200 {
		g.expectTx(g.send(portInet, fromClient("2.2.2.12").TCP(uint16(41000+i), 23, "S").Bytes()), portUnder)
	}
	expectReleased(t, g, old, "the replaced underlay table is still reachable after 200 batches (held by an idle tunnel's cached headers)")
}
