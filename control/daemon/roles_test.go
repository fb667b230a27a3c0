package daemon

import (
	"slices"
	"testing"

	"xdpgw/control/config"
)

func parse(t *testing.T, src string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(src), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAnnouncements: what each role announces besides bgp.announce.
func TestAnnouncements(t *testing.T) {
	const bgpSec = "bgp: {asn: 65001, router_id: 10.0.0.1, announce: [192.0.2.0/24]}\n"
	const nat64 = "nat64: {prefix: 64:ff9b::/96, vip: 100.64.0.1, pools: [{prefix: 198.51.100.0/28}, {prefix: 198.51.100.0/28, ports: 1-1023}, {prefix: 192.0.2.0/24}]}\n"
	const acc = "access: {prefix: 64:ff9b::/96}\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"nat64 server", "node: {roles: [nat64]}\n" + bgpSec + nat64, []string{"192.0.2.0/24", "100.64.0.1/32", "198.51.100.0/28"}},
		{"nat64 section without the role", "node: {roles: [gateway]}\n" + bgpSec + nat64, []string{"192.0.2.0/24"}},
		{"access", "node: {roles: [access]}\n" + bgpSec + acc, []string{"192.0.2.0/24", "64:ff9b::/96"}},
		{"no bgp section", "node: {roles: [access]}\n" + acc, []string{"64:ff9b::/96"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range announcements(parse(t, tt.src)) {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("announcements = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSameControl(t *testing.T) {
	a := parse(t, "node: {roles: [nat64]}\nbgp: {asn: 65001, router_id: 10.0.0.1}\nnat64: {prefix: 64:ff9b::/96, vip: 100.64.0.1, pools: [{prefix: 198.51.100.0/28}]}\n")
	b := parse(t, "node: {roles: [nat64]}\nbgp: {asn: 65001, router_id: 10.0.0.1}\nnat64: {prefix: 64:ff9b::/96, vip: 100.64.0.1, pools: [{prefix: 198.51.100.0/28}], hairpinning: false}\n")
	c := parse(t, "node: {roles: [nat64]}\nbgp: {asn: 65001, router_id: 10.0.0.1}\nnat64: {prefix: 64:ff9b::/96, vip: 100.64.0.2, pools: [{prefix: 198.51.100.0/28}]}\n")
	if !sameControl(a, b) {
		t.Error("a data-plane change counted as a control-plane change")
	}
	if sameControl(a, c) {
		t.Error("a new vip not noticed")
	}
}
