package replay_test

import (
	"testing"

	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/pipeline"
	"xdpgw/dataplane/session"
)

// The keys a worker prefetches for a frame (from its raw headers, before
// processing it) must be the keys its processing looks up or creates:
// after the frame went through, each prefetched key is in the table. A key
// built differently would be found by nobody, and the prefetch would load
// a bucket for nothing.
func TestPrefetchKeysMatchLookups(t *testing.T) {
	g := newGW(t, nil)
	sw := g.dp.Sessions().NewWorker()
	check := func(name string, port uint16, frame []byte, want int) *pipeline.Frame {
		t.Helper()
		var keys [pipeline.MaxPrefetchKeys]session.Key
		f := &pipeline.Frame{Buf: frame, Len: len(frame), InPort: port}
		n := g.w.PrefetchKeys(f, &keys)
		if n != want {
			t.Fatalf("%s: %d prefetch keys, want %d", name, n, want)
		}
		out := g.send(port, frame)
		var e session.Entry
		for i := 0; i < n; i++ {
			if !sw.Lookup(&keys[i], &e) {
				t.Errorf("%s: prefetched key %d %+v is not in the table after the frame", name, i, keys[i])
			}
		}
		return out
	}
	// Gateway: a client's SYN to an EIP, a tenant's SYN in its tunnel.
	check("EIP ingress", portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes(), 1)
	check("tenant egress", portUnder, fromTenant(2, 2000).IPv4("10.0.0.7", "1.1.1.7").UDP(5000, 7000).Payload([]byte("x")).Bytes(), 1)
	// NAT64: a SYN (binding, its candidate, both session keys), the
	// server's answer to the pool, an established IPv6 packet.
	out := check("NAT64 SYN", portV6, from6().TCP(50000, 80, "S").Bytes(), 4)
	ip, pkt := decode4(t, g.expectTx(out, portV4))
	pool, tport := ip.SrcIP.String(), uint16(pkt.Layer(layers.LayerTypeTCP).(*layers.TCP).SrcPort)
	check("NAT64 IPv4 reply", portV4, fromServer(pool).TCP(80, tport, "SA").Bytes(), 1)
	check("NAT64 IPv6 established", portV6, from6().TCP(50000, 80, "A").Bytes(), 1)
	// Frames the pass does not understand prefetch nothing and do not
	// panic: truncated, other protocols.
	for _, b := range [][]byte{fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()[:30], from6().ICMPv6Echo(1, 1).Bytes(), {}} {
		var keys [pipeline.MaxPrefetchKeys]session.Key
		for port := uint16(0); port < 6; port++ {
			if n := g.w.PrefetchKeys(&pipeline.Frame{Buf: b, Len: len(b), InPort: port}, &keys); n != 0 {
				t.Errorf("port %d: %d keys for a frame without a session key", port, n)
			}
		}
	}
}
