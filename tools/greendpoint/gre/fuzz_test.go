package gre_test

import (
	"bytes"
	"net/netip"
	"testing"

	"xdpgw/dataplane/packet"
	"xdpgw/tools/greendpoint/gre"
)

// The seeds of FuzzDecap are in seeds_test.go and in testdata/fuzz/FuzzDecap,
// which TestWriteFuzzCorpus keeps in step with them.

// FuzzDecap feeds arbitrary packets to Decap against the tenant-1 tunnel
// with a fuzzed key. Decap must not panic, must name a known reason, and an
// accepted packet must be an IPv4 or IPv6 payload that survives a round
// trip through Encap.
func FuzzDecap(f *testing.F) {
	for _, s := range decapSeeds() {
		f.Add(s.pkt, s.key, s.hasKey)
	}
	f.Fuzz(func(t *testing.T, pkt []byte, key uint32, hasKey bool) {
		cfg := gre.Config{Local: tenant1, Remote: gateway, Key: key, HasKey: hasKey}
		inner, proto, reason := gre.Decap(pkt, cfg)
		if reason >= gre.NumReasons {
			t.Fatalf("reason %d out of range", reason)
		}
		if reason != gre.OK {
			if inner != nil || proto != 0 {
				t.Fatalf("refused (%v) but returned inner %x proto %#x", reason, inner, proto)
			}
			// Whatever the fuzzer found, zero config must not panic either.
			gre.Decap(pkt, gre.Config{})
			return
		}
		if proto != packet.EtherTypeIPv4 && proto != packet.EtherTypeIPv6 {
			t.Fatalf("accepted protocol %#04x", proto)
		}
		if len(inner) == 0 || len(inner) > len(pkt)-packet.IPv4MinSize-packet.GREMinSize {
			t.Fatalf("inner length %d from a %d-byte packet", len(inner), len(pkt))
		}
		if !bytes.HasSuffix(packet.IPv4(pkt).Payload(), inner) {
			t.Fatalf("inner is not the tail of the outer payload")
		}
		if _, ok := gre.InnerProtocol(inner); !ok {
			return // not an IP packet after all; the TUN device drops it
		}
		for _, csum := range []bool{false, true} {
			g := gre.Encap(nil, inner, key, hasKey, csum)
			again, _, r := gre.Decap(outer(gateway, tenant1, packet.ProtoGRE, g), cfg)
			if r != gre.OK || !bytes.Equal(again, inner) {
				t.Fatalf("round trip (csum %v): %v, %x; want %x", csum, r, again, inner)
			}
		}
	})
}

// FuzzEncap checks that whatever Encap accepts, Decap gives back.
func FuzzEncap(f *testing.F) {
	f.Add(icmp4(), uint32(1000), true, false)
	f.Add(udp6(), uint32(0), false, true)
	f.Add([]byte{0x45}, uint32(7), true, true)
	f.Fuzz(func(t *testing.T, inner []byte, key uint32, hasKey, csum bool) {
		if len(inner) > 65535-packet.IPv4MinSize-packet.GREMaxSize {
			return
		}
		g := gre.Encap(nil, inner, key, hasKey, csum)
		if _, ok := gre.InnerProtocol(inner); !ok {
			if len(g) != 0 {
				t.Fatalf("Encap wrote %x for a non-IP packet", g)
			}
			return
		}
		cfg := gre.Config{Local: tenant1, Remote: netip.Addr{}, Key: key, HasKey: hasKey}
		got, _, r := gre.Decap(fromGateway(g), cfg)
		if r != gre.OK || !bytes.Equal(got, inner) {
			t.Fatalf("Decap(Encap(%x)) = %v, %x", inner, r, got)
		}
	})
}
