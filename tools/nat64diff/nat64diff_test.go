package main

import (
	"net/netip"
	"strings"
	"testing"
)

func testNAT() *nat {
	return &nat{name: "xdpgw", client: netip.MustParseAddr("2001:db8:6::70"), pool: netip.MustParsePrefix("198.51.100.0/28"),
		own4: addrs("192.0.2.1"), own6: addrs("2001:db8:6::1")}
}

func get(kvs []kv, k string) string {
	for _, x := range kvs {
		if x.k == k {
			return x.v
		}
	}
	return "<none>"
}

// The builders make valid checksums, and the flattener names what differs
// between NAT64s.
func TestBuildAndFlatten(t *testing.T) {
	n := testNAT()
	p := v6(n, remote, 64, []ext{hbhPadN()}, protoUDP, udpSeg(40001, 53, []byte("x")), false)
	f := flatten(n, "v6", p)
	if get(f, "udp.csum") != "ok" || get(f, "ip6.src") != "CLIENT" || get(f, "ext0.type") != "0" || get(f, "ip6.dst") != "fd00:64::cb00:7107" {
		t.Errorf("IPv6 UDP flattened to %s", fields(f))
	}
	n.maps = map[string]mapping{flowUDP: {netip.MustParseAddr("198.51.100.3"), 2000}}
	ps, why := v4(n, flowUDP, v4hdr{id: 7, df: true}, protoUDP, func(port uint16) []byte { return udpSeg(port, 53, []byte("y")) })
	if why != "" {
		t.Fatal(why)
	}
	// Swap addresses so that the pool address is the source, as a NAT64's
	// output on the IPv4 side.
	q := ps[0]
	var a [4]byte
	copy(a[:], q[12:16])
	copy(q[12:16], q[16:20])
	copy(q[16:20], a[:])
	f = flatten(n, "v4", q)
	for k, want := range map[string]string{"ip4.csum": "ok", "ip4.src": "POOL", "ip4.dst": "203.0.113.7", "ip4.id": "ID", "udp.sport": "MAPPED", "udp.dport": "53", "udp.csum": "ok", "ip4.df": "true"} {
		if got := get(f, k); got != want {
			t.Errorf("%s = %s, want %s (%s)", k, got, want, fields(f))
		}
	}
	bad := ipv4(v4hdr{src: remote, dst: server, ttl: 1, badSum: true}, protoUDP, udpSeg(1, 2, nil))
	if get(flatten(n, "v4", bad), "ip4.csum") != "bad" {
		t.Error("bad header checksum not seen")
	}
}

// Every corpus item builds for a NAT that has all its mappings, and the
// IPv6 items carry valid checksums where they mean to.
func TestCorpusBuilds(t *testing.T) {
	n := testNAT()
	n.maps = map[string]mapping{}
	for _, f := range []string{flowUDP, flowUDP2, flowTCP, flowEcho, flowBig} {
		n.maps[f] = mapping{netip.MustParseAddr("198.51.100.3"), 2000}
	}
	names := map[string]bool{}
	for _, it := range corpus() {
		if names[it.name] {
			t.Errorf("duplicate item %s", it.name)
		}
		names[it.name] = true
		ps, why := it.build(n)
		if why != "" || len(ps) == 0 {
			t.Errorf("%s: not built: %s", it.name, why)
			continue
		}
		for _, p := range ps {
			if len(p)+14 > 1514 {
				t.Errorf("%s: %d bytes exceed a 1500-byte link", it.name, len(p))
			}
		}
		if strings.Contains(it.name, "checksum") || strings.HasPrefix(it.name, "frag") || strings.HasPrefix(it.name, "r-") || it.name == "sctp" || it.name == "no-next-header" {
			continue
		}
		if c := get(flatten(n, "v6", ps[0]), "udp.csum"); c != "<none>" && c != "ok" {
			t.Errorf("%s: UDP checksum %s", it.name, c)
		}
	}
}

func TestKnownLookup(t *testing.T) {
	if k := lookupKnown("udp", "ip4.df", "false", "true"); k == nil || k.id != "df-1260" {
		t.Errorf("df: %v", k)
	}
	if k := lookupKnown("udp", "ip4.ttl", "63", "61"); k == nil || k.id != "ttl-one-hop" {
		t.Errorf("ttl: %v", k)
	}
	if k := lookupKnown("udp", "ip4.ttl", "63", "50"); k != nil {
		t.Errorf("a TTL 13 lower is not the extra hops: %v", k)
	}
	if k := lookupKnown("udp", "udp.payload", "a", "b"); k != nil {
		t.Errorf("payload differences are never known: %v", k)
	}
}
