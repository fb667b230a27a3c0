package firewall_test

import (
	"net/netip"
	"testing"

	"xdpgw/dataplane/firewall"
)

// TestDuplicatesIPv4AgainstIPv6: the canonical form that finds duplicate
// rules must tell an IPv4 prefix (4 address bytes) from an IPv6 one (16):
// here rule 1's IPv6 destination and source ports spell, byte for byte,
// rule 0's IPv4 destination, source ports and destination ports. Rule 0
// cannot match an IPv6 packet at all, so rule 1 must.
func TestDuplicatesIPv4AgainstIPv6(t *testing.T) {
	rules := []firewall.Rule{{
		Action:   firewall.ActionDrop,
		Proto:    firewall.ProtoTCP,
		Dst:      []netip.Prefix{netip.MustParsePrefix("1.2.3.4/32")},
		SrcPorts: []firewall.PortRange{{Lo: 5, Hi: 6}},
		DstPorts: []firewall.PortRange{{Lo: 1, Hi: 2}, {Lo: 0x80, Hi: 0x100}, {Lo: 0x1000, Hi: 0x2000}},
	}, {
		Action:   firewall.ActionAccept,
		Proto:    firewall.ProtoTCP,
		Dst:      []netip.Prefix{netip.MustParsePrefix("102:304:2001:5:6:300:100:200/128")},
		SrcPorts: []firewall.PortRange{{Lo: 0x10, Hi: 0x20}},
	}}
	rs, err := firewall.Compile(rules, firewall.ActionReject)
	if err != nil {
		t.Fatal(err)
	}
	p := pkt(firewall.ProtoTCP, "2001:db8::1", "102:304:2001:5:6:300:100:200", 0x10, 80)
	wa, wr := refClassify(rules, firewall.ActionReject, &p)
	if wr != 1 {
		t.Fatalf("oracle: rule %d, want 1 (the test's premise)", wr)
	}
	if ga, gr := rs.Classify(&p); ga != wa || gr != wr {
		t.Fatalf("Classify = (%v, %d), want (%v, %d)", ga, gr, wa, wr)
	}
}
