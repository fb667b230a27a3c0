package config_test

import (
	"strconv"
	"strings"
	"testing"

	"xdpgw/control/config"
)

// Snippets shared by the validation cases.
const (
	onePort    = "ports: [{name: p, role: external}]\n"
	tenantVRFs = "vrfs: [{name: t}, {name: u}]\n"
	bgpOK      = "bgp: {asn: 64512, router_id: 10.0.0.1}\n"
)

// rule returns a config with one tenant whose ingress rule set holds the
// given rule (a YAML flow mapping).
func rule(r string) string {
	return "vrfs: [{name: t}]\ntenants:\n  - name: t\n    gre_key: 1\n    firewall:\n      ingress:\n        rules:\n          - " + r + "\n"
}

// nat64 returns a config with a valid NAT64 section plus extra keys.
func nat64(extra string) string {
	return "nat64:\n  prefix: 64:ff9b::/96\n  pools: [{prefix: 198.51.100.0/28}]\n" + extra
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name string
		src  string
		path string
		msg  string
		line int // 0: not checked
	}{
		// node
		{"node role unknown", "node: {roles: [gateway, router]}", "node.roles[1]", `unknown node role "router"`, 1},
		{"node role duplicate", "node: {roles: [nat64, nat64]}", "node.roles[1]", `duplicate node role "nat64"`, 0},

		// ports
		{"port name missing", "ports: [{role: external}]", "ports[0].name", "missing port name", 1},
		{"port name duplicate", "ports: [{name: a, role: external}, {name: a, role: overlay}]", "ports[1].name", `duplicate port name "a" (first at ports[0].name, line 1)`, 0},
		{"port role missing", "ports: [{name: a}]", "ports[0].role", "missing port role", 0},
		{"port role unknown", "ports: [{name: a, role: internal}]", "ports[0].role", `unknown port role "internal"`, 0},
		{"port interface too long", "ports: [{name: a, role: external, interface: abcdefghijklmnop}]", "ports[0].interface", "bad interface name", 0},
		{"port interface slash", "ports: [{name: a, role: external, interface: a/b}]", "ports[0].interface", "bad interface name", 0},
		{"port interface duplicate", "ports: [{name: a, role: external, interface: eth0}, {name: b, role: overlay, interface: eth0}]", "ports[1].interface", `interface "eth0" already used by ports[0].interface`, 0},
		{"port interface clashes with default", "ports: [{name: a, role: external}, {name: b, role: overlay, interface: a}]", "ports[1].interface", `interface "a" already used`, 0},
		{"port mac syntax", "ports: [{name: a, role: external, mac: '02:00:00:00:01'}]", "ports[0].mac", "bad mac address", 0},
		{"port mac hex", "ports: [{name: a, role: external, mac: '02:00:00:00:01:zz'}]", "ports[0].mac", `"zz" is not a hex octet`, 0},
		{"port mac separators", "ports: [{name: a, role: external, mac: '02:00-00:00:01:01'}]", "ports[0].mac", "bad mac address", 0},
		{"port mac multicast", "ports: [{name: a, role: external, mac: '01:00:5e:00:00:01'}]", "ports[0].mac", "want a unicast mac", 0},
		{"port mac zero", "ports: [{name: a, role: external, mac: '00:00:00:00:00:00'}]", "ports[0].mac", "want a non-zero mac", 0},
		{"port address not cidr", "ports: [{name: a, role: external, addresses: [1.1.1.1]}]", "ports[0].addresses[0]", "bad address", 0},
		{"port address garbage", "ports: [{name: a, role: external, addresses: [1.1.1.1/24, x/24]}]", "ports[0].addresses[1]", `"x/24": bad address`, 0},
		{"port address unspecified", "ports: [{name: a, role: external, addresses: [0.0.0.0/0]}]", "ports[0].addresses[0]", "unspecified", 0},
		{"port address duplicate", "ports: [{name: a, role: external, addresses: [1.1.1.1/24]}, {name: b, role: overlay, addresses: [1.1.1.1/16]}]", "ports[1].addresses[0]", "address 1.1.1.1 already used by ports[0].addresses[0]", 0},
		{"port vrf unknown", "ports: [{name: a, role: external, vrf: blue}]", "ports[0].vrf", `unknown vrf "blue"`, 0},
		{"port mtu too small", "ports: [{name: a, role: external, mtu: 60}]", "ports[0].mtu", "mtu 60 out of range 68..65535", 0},
		{"port queues differ", "ports: [{name: a, role: external, queues: 4}, {name: b, role: overlay}]", "ports[1].queues", "queues 1, but ports[0].queues, line 1 has 4: every port needs the same number of queues", 0},
		{"port mtu too large", "ports: [{name: a, role: external, mtu: 65536}]", "ports[0].mtu", "out of range", 0},
		{"port mtu ipv6 minimum", "ports: [{name: a, role: ipv6, mtu: 1279}]", "ports[0].mtu", "mtu 1279 out of range 1280..65535", 0},
		{"port queues negative", "ports: [{name: a, role: external, queues: -1}]", "ports[0].queues", "queues -1 out of range", 0},
		{"port queues too many", "ports: [{name: a, role: external, queues: 5000}]", "ports[0].queues", "out of range 1..1024", 0},

		// neighbors
		{"neighbor port unknown", "neighbors: [{port: x, ip: 1.1.1.7, mac: '02:00:00:00:00:07'}]", "neighbors[0].port", `unknown port "x"`, 0},
		{"neighbor port missing", onePort + "neighbors: [{ip: 1.1.1.7, mac: '02:00:00:00:00:07'}]", "neighbors[0].port", "missing port", 0},
		{"neighbor ip bad", onePort + "neighbors: [{port: p, ip: 1.1.1, mac: '02:00:00:00:00:07'}]", "neighbors[0].ip", `"1.1.1": bad ip address`, 0},
		{"neighbor ip zone", onePort + "neighbors: [{port: p, ip: 'fe80::1%eth0', mac: '02:00:00:00:00:07'}]", "neighbors[0].ip", "zones are not supported", 0},
		{"neighbor mac missing", onePort + "neighbors: [{port: p, ip: 1.1.1.7}]", "neighbors[0].mac", "missing mac", 0},
		{"neighbor mac bad", onePort + "neighbors: [{port: p, ip: 1.1.1.7, mac: nope}]", "neighbors[0].mac", "bad mac address", 0},
		{"neighbor duplicate", onePort + "neighbors: [{port: p, ip: 1.1.1.7, mac: '02:00:00:00:00:07'}, {port: p, ip: 1.1.1.7, mac: '02:00:00:00:00:08'}]", "neighbors[1].ip", "duplicate neighbour 1.1.1.7", 0},

		// vrfs and routes
		{"vrf name missing", "vrfs: [{routes: []}]", "vrfs[0].name", "missing vrf name", 0},
		{"vrf name duplicate", "vrfs: [{name: main}, {name: main}]", "vrfs[1].name", `duplicate vrf name "main"`, 0},
		{"route prefix bad cidr", onePort + "vrfs:\n  - name: main\n  - name: t\n    routes:\n      - prefix: 10.0.0.0/33\n        port: p\n", "vrfs[1].routes[0].prefix", `"10.0.0.0/33": bad prefix`, 6},
		{"route prefix not masked", onePort + "vrfs:\n  - name: main\n  - name: t\n    routes:\n      - prefix: 10.0.0.1/8\n        port: p\n", "vrfs[1].routes[0].prefix", `"10.0.0.1/8": not a network address; did you mean 10.0.0.0/8`, 6},
		{"route vrf unknown", onePort + "vrfs: [{name: main}, {name: t, routes: [{prefix: 0.0.0.0/0, vrf: blue}]}]", "vrfs[1].routes[0].vrf", `unknown vrf "blue"`, 0},
		{"route vrf itself", onePort + "vrfs: [{name: main}, {name: t, routes: [{prefix: 0.0.0.0/0, vrf: t}]}]", "vrfs[1].routes[0].vrf", "cannot continue in its own vrf", 0},
		{"route vrf and port", onePort + "vrfs: [{name: main}, {name: t, routes: [{prefix: 0.0.0.0/0, vrf: main, port: p}]}]", "vrfs[1].routes[0].vrf", "either port or vrf", 0},
		{"route vrf with encap", onePort + "vrfs: [{name: main}, {name: t, routes: [{prefix: 0.0.0.0/0, vrf: main, encap: {dst: 1.2.3.4}}]}]", "vrfs[1].routes[0].vrf", "takes no via or encap", 0},
		{"route vrf chain", onePort + "vrfs: [{name: main, routes: [{prefix: 0.0.0.0/0, vrf: u}]}, {name: u}, {name: t, routes: [{prefix: 0.0.0.0/0, vrf: main}]}]", "vrfs[2].routes[0].vrf", "only one step", 0},
		{"route prefix missing", onePort + "vrfs: [{name: main, routes: [{port: p}]}]", "vrfs[0].routes[0].prefix", "missing prefix", 0},
		{"route prefix duplicate", onePort + "vrfs: [{name: main, routes: [{prefix: 10.0.0.0/8, port: p}, {prefix: 10.0.0.0/8, port: p}]}]", "vrfs[0].routes[1].prefix", "duplicate route 10.0.0.0/8", 0},
		{"route via bad", onePort + "vrfs: [{name: main, routes: [{prefix: 0.0.0.0/0, via: gw, port: p}]}]", "vrfs[0].routes[0].via", `"gw": bad ip address`, 0},
		{"route via family", onePort + "vrfs: [{name: main, routes: [{prefix: 0.0.0.0/0, via: '2001:db8::1', port: p}]}]", "vrfs[0].routes[0].via", "different address families", 0},
		{"route port missing", onePort + "vrfs: [{name: main, routes: [{prefix: 0.0.0.0/0}]}]", "vrfs[0].routes[0].port", "missing port", 0},
		{"route port unknown", onePort + "vrfs: [{name: main, routes: [{prefix: 0.0.0.0/0, port: q}]}]", "vrfs[0].routes[0].port", `unknown port "q"`, 0},
		{"encap type", onePort + "vrfs: [{name: main, routes: [{prefix: 10.0.0.0/24, port: p, encap: {type: vxlan, dst: 1.2.3.4}}]}]", "vrfs[0].routes[0].encap.type", `unknown encap type "vxlan"`, 0},
		{"encap key too big", onePort + "vrfs: [{name: main, routes: [{prefix: 10.0.0.0/24, port: p, encap: {key: 4294967296, dst: 1.2.3.4}}]}]", "vrfs[0].routes[0].encap.key", "gre key 4294967296 out of range", 0},
		{"encap key negative", onePort + "vrfs: [{name: main, routes: [{prefix: 10.0.0.0/24, port: p, encap: {key: -1, dst: 1.2.3.4}}]}]", "vrfs[0].routes[0].encap.key", "gre key -1 out of range", 0},
		{"encap dst missing", onePort + "vrfs: [{name: main, routes: [{prefix: 10.0.0.0/24, port: p, encap: {key: 1}}]}]", "vrfs[0].routes[0].encap.dst", "missing address", 0},
		{"encap src family", onePort + "vrfs: [{name: main, routes: [{prefix: 10.0.0.0/24, port: p, encap: {dst: 1.2.3.4, src: '::1'}}]}]", "vrfs[0].routes[0].encap.src", "different address families", 0},

		// tenants
		{"tenant name missing", tenantVRFs + "tenants: [{gre_key: 1, vrf: t}]", "tenants[0].name", "missing tenant name", 0},
		{"tenant name duplicate", tenantVRFs + "tenants: [{name: t, gre_key: 1}, {name: t, gre_key: 2, vrf: u}]", "tenants[1].name", `duplicate tenant name "t"`, 0},
		{"tenant gre_key missing", tenantVRFs + "tenants: [{name: t}]", "tenants[0].gre_key", "missing gre_key", 0},
		{"tenant gre_key too big", tenantVRFs + "tenants: [{name: t, gre_key: 4294967296}]", "tenants[0].gre_key", "gre key 4294967296 out of range 0..4294967295", 0},
		{"tenant gre_key negative", tenantVRFs + "tenants: [{name: t, gre_key: -5}]", "tenants[0].gre_key", "out of range", 0},
		{"tenant gre_key duplicate", tenantVRFs + "tenants: [{name: t, gre_key: 7}, {name: u, gre_key: 7}]", "tenants[1].gre_key", "gre key 7 already used by tenants[0].gre_key", 0},
		{"tenant vrf default missing", "tenants: [{name: t, gre_key: 1}]", "tenants[0].vrf", `unknown vrf "t"`, 0},
		{"tenant vrf main", "tenants: [{name: t, gre_key: 1, vrf: main}]", "tenants[0].vrf", `must not be "main"`, 0},
		{"tenant vrf shared", tenantVRFs + "tenants: [{name: t, gre_key: 1}, {name: u, gre_key: 2, vrf: t}]", "tenants[1].vrf", `vrf "t" already used by tenants[0].vrf`, 0},
		{"tenant remote bad", tenantVRFs + "tenants: [{name: t, gre_key: 1, remote: host}]", "tenants[0].remote", "bad ip address", 0},
		{"tenant address bad", tenantVRFs + "tenants: [{name: t, gre_key: 1, addresses: [10.0.0.1]}]", "tenants[0].addresses[0]", "bad address", 0},
		{"eip bad", tenantVRFs + "tenants: [{name: t, gre_key: 1, eips: [{eip: 2.2.2, private: 10.0.0.7}]}]", "tenants[0].eips[0].eip", "bad ip address", 0},
		{"eip missing", tenantVRFs + "tenants: [{name: t, gre_key: 1, eips: [{private: 10.0.0.7}]}]", "tenants[0].eips[0].eip", "missing address", 0},
		{"eip ipv6", tenantVRFs + "tenants: [{name: t, gre_key: 1, eips: [{eip: '2001:db8::1', private: 10.0.0.7}]}]", "tenants[0].eips[0].eip", "want an ipv4 address", 0},
		{"eip private bad", tenantVRFs + "tenants: [{name: t, gre_key: 1, eips: [{eip: 2.2.2.1, private: x}]}]", "tenants[0].eips[0].private", "bad ip address", 0},
		{"eip duplicate across tenants", tenantVRFs + "tenants: [{name: t, gre_key: 1, eips: [{eip: 2.2.2.1, private: 10.0.0.7}]}, {name: u, gre_key: 2, eips: [{eip: 2.2.2.1, private: 10.0.0.7}]}]", "tenants[1].eips[0].eip", "eip 2.2.2.1 already used by tenants[0].eips[0].eip", 0},
		{"eip private duplicate", tenantVRFs + "tenants: [{name: t, gre_key: 1, eips: [{eip: 2.2.2.1, private: 10.0.0.7}, {eip: 2.2.2.2, private: 10.0.0.7}]}]", "tenants[0].eips[1].private", "already mapped", 0},

		// firewall
		{"ruleset default", "vrfs: [{name: t}]\ntenants: [{name: t, gre_key: 1, firewall: {egress: {default: deny}}}]", "tenants[0].firewall.egress.default", `unknown default policy "deny"`, 0},
		{"rule action missing", rule("{proto: tcp}"), "tenants[0].firewall.ingress.rules[0].action", "missing action", 0},
		{"rule action unknown", rule("{action: allow}"), "tenants[0].firewall.ingress.rules[0].action", `unknown action "allow"`, 0},
		{"rule name duplicate", "vrfs: [{name: t}]\ntenants: [{name: t, gre_key: 1, firewall: {ingress: {rules: [{name: a, action: drop}, {name: a, action: drop}]}}}]", "tenants[0].firewall.ingress.rules[1].name", `duplicate rule name "a"`, 0},
		{"rule proto unknown", rule("{action: drop, proto: sctpx}"), "tenants[0].firewall.ingress.rules[0].proto", `bad protocol: "sctpx"`, 0},
		{"rule proto number too big", rule("{action: drop, proto: '256'}"), "tenants[0].firewall.ingress.rules[0].proto", "bad protocol", 0},
		{"rule src bad", rule("{action: drop, src: [10.0.0.0/40]}"), "tenants[0].firewall.ingress.rules[0].src[0]", "bad prefix", 0},
		{"rule dst not masked", rule("{action: drop, dst: [1.1.1.7, 10.0.0.7/24]}"), "tenants[0].firewall.ingress.rules[0].dst[1]", "did you mean 10.0.0.0/24", 0},
		{"rule dst garbage", rule("{action: drop, dst: [any]}"), "tenants[0].firewall.ingress.rules[0].dst[0]", `"any": bad address or prefix`, 0},
		{"rule dport bad range", "vrfs: [{name: t}]\ntenants:\n  - name: t\n    gre_key: 1\n    firewall:\n      ingress:\n        rules:\n          - {action: accept, proto: tcp, dport: ['22']}\n          - action: accept\n            proto: tcp\n            dport:\n              - 22-x\n", "tenants[0].firewall.ingress.rules[1].dport[0]", `"22-x": bad port range`, 12},
		{"rule dport reversed", rule("{action: drop, proto: tcp, dport: ['30-20']}"), "tenants[0].firewall.ingress.rules[0].dport[0]", "bad port range: 30 is above 20", 0},
		{"rule dport too big", rule("{action: drop, proto: udp, dport: ['70000']}"), "tenants[0].firewall.ingress.rules[0].dport[0]", "bad port range", 0},
		{"rule dport empty side", rule("{action: drop, proto: udp, dport: ['1000-']}"), "tenants[0].firewall.ingress.rules[0].dport[0]", "bad port range", 0},
		{"rule sport bad", rule("{action: drop, proto: tcp, sport: ['-1']}"), "tenants[0].firewall.ingress.rules[0].sport[0]", "bad port range", 0},
		{"rule ports without tcp or udp", rule("{action: drop, proto: icmp, dport: ['22']}"), "tenants[0].firewall.ingress.rules[0].proto", "ports need proto tcp or udp", 0},
		{"rule ports with any proto", rule("{action: drop, dport: ['22']}"), "tenants[0].firewall.ingress.rules[0].proto", "ports need proto tcp or udp", 0},
		{"rule icmp type range", rule("{action: drop, proto: icmp, icmp_type: [8, 300]}"), "tenants[0].firewall.ingress.rules[0].icmp_type[1]", "icmp type 300 out of range", 0},
		{"rule icmp type needs icmp", rule("{action: drop, proto: tcp, icmp_type: [8]}"), "tenants[0].firewall.ingress.rules[0].proto", "icmp_type needs proto icmp or icmpv6", 0},
		{"rule tcp flags unknown", rule("{action: drop, proto: tcp, tcp_flags: 'syn,foo'}"), "tenants[0].firewall.ingress.rules[0].tcp_flags", `bad tcp flags: unknown flag "foo"`, 0},
		{"rule tcp flags twice", rule("{action: drop, proto: tcp, tcp_flags: 'syn,!syn'}"), "tenants[0].firewall.ingress.rules[0].tcp_flags", `flag "syn" given twice`, 0},
		{"rule tcp flags need tcp", rule("{action: drop, proto: udp, tcp_flags: syn}"), "tenants[0].firewall.ingress.rules[0].proto", "tcp_flags needs proto tcp", 0},
		{"rule icmp with ipv6 address", rule("{action: drop, proto: icmp, dst: ['2001:db8::/32']}"), "tenants[0].firewall.ingress.rules[0].dst[0]", "proto icmp is IPv4 only", 0},
		{"rule icmpv6 with ipv4 address", rule("{action: drop, proto: icmpv6, src: [10.0.0.0/8]}"), "tenants[0].firewall.ingress.rules[0].src[0]", "proto icmpv6 is IPv6 only", 0},

		// nat64
		{"nat64 prefix missing", "nat64: {pools: [{prefix: 198.51.100.0/28}]}", "nat64.prefix", "missing prefix", 0},
		{"nat64 prefix bad", "nat64: {prefix: 64:ff9b::/129, pools: [{prefix: 198.51.100.0/28}]}", "nat64.prefix", "bad prefix", 0},
		{"nat64 prefix ipv4", "nat64: {prefix: 10.0.0.0/8, pools: [{prefix: 198.51.100.0/28}]}", "nat64.prefix", "want an ipv6 prefix", 0},
		{"nat64 prefix length", "nat64: {prefix: '64:ff9b::/80', pools: [{prefix: 198.51.100.0/28}]}", "nat64.prefix", "prefix length /80 not allowed (RFC 6052 section 2.2", 0},
		{"nat64 prefix u octet", "nat64: {prefix: '2001:db8:0:0:ff00::/64', pools: [{prefix: 198.51.100.0/28}]}", "nat64.prefix", "bits 64-71 (the u octet) must be zero", 0},
		{"nat64 prefix not masked", "nat64: {prefix: '64:ff9b::1/96', pools: [{prefix: 198.51.100.0/28}]}", "nat64.prefix", "did you mean 64:ff9b::/96", 0},
		{"nat64 pools missing", "nat64: {prefix: 64:ff9b::/96}", "nat64.pools", "missing pools", 0},
		{"nat64 pool prefix ipv6", "nat64: {prefix: 64:ff9b::/96, pools: [{prefix: '2001:db8::/64'}]}", "nat64.pools[0].prefix", "want an ipv4 prefix", 0},
		{"nat64 pool prefix not masked", "nat64: {prefix: 64:ff9b::/96, pools: [{prefix: 198.51.100.1/28}]}", "nat64.pools[0].prefix", "did you mean 198.51.100.0/28", 0},
		{"nat64 pool ports bad", "nat64: {prefix: 64:ff9b::/96, pools: [{prefix: 198.51.100.0/28, ports: 'a-b'}]}", "nat64.pools[0].ports", "bad port range", 0},
		{"nat64 pool port zero", "nat64: {prefix: 64:ff9b::/96, pools: [{prefix: 198.51.100.0/28, ports: '0-100'}]}", "nat64.pools[0].ports", "port 0 cannot be a source port", 0},
		{"nat64 pools overlap", "nat64: {prefix: 64:ff9b::/96, pools: [{prefix: 198.51.100.0/28}, {prefix: 198.51.100.8/29, ports: '2000-3000'}]}", "nat64.pools[1]", "overlaps nat64.pools[0]", 0},
		{"nat64 filtering", nat64("  filtering: symmetric\n"), "nat64.filtering", `unknown filtering "symmetric"`, 0},
		{"nat64 timeout syntax", nat64("  timeouts: {udp: 5 minutes}\n"), "nat64.timeouts.udp", `"5 minutes": bad duration`, 0},
		{"nat64 timeout negative", nat64("  timeouts: {tcp_established: -2h}\n"), "nat64.timeouts.tcp_established", "want a positive duration", 0},
		{"nat64 timeout zero", nat64("  timeouts: {tcp_transitory: 0s}\n"), "nat64.timeouts.tcp_transitory", "want a positive duration", 0},
		{"nat64 timeout icmp", nat64("  timeouts: {icmp: 60}\n"), "nat64.timeouts.icmp", "bad duration", 0},
		{"nat64 syn limit negative", nat64("  syn_limit: {default: -1}\n"), "nat64.syn_limit.default", "syn limit -1 is negative", 0},
		{"nat64 per eip bad", nat64("  syn_limit: {per_eip: [{eip: x, rate: 5}]}\n"), "nat64.syn_limit.per_eip[0].eip", "bad ip address", 0},
		{"nat64 per eip duplicate", nat64("  syn_limit: {per_eip: [{eip: 2.2.2.11, rate: 5}, {eip: 2.2.2.11, rate: 6}]}\n"), "nat64.syn_limit.per_eip[1].eip", "duplicate syn limit for eip 2.2.2.11", 0},
		{"nat64 per eip rate negative", nat64("  syn_limit: {per_eip: [{eip: 2.2.2.11, rate: -5}]}\n"), "nat64.syn_limit.per_eip[0].rate", "negative", 0},
		{"nat64 static bib proto", nat64("  static_bib: [{proto: sctp, ipv6: '[2001:db8::1]:80', ipv4: '198.51.100.1:8080'}]\n"), "nat64.static_bib[0].proto", `unknown proto "sctp"`, 0},
		{"nat64 static bib ipv6 syntax", nat64("  static_bib: [{proto: tcp, ipv6: '2001:db8::1:80', ipv4: '198.51.100.1:8080'}]\n"), "nat64.static_bib[0].ipv6", "want [ipv6]:port", 0},
		{"nat64 static bib ipv6 family", nat64("  static_bib: [{proto: tcp, ipv6: '1.2.3.4:80', ipv4: '198.51.100.1:8080'}]\n"), "nat64.static_bib[0].ipv6", "want an ipv6 address", 0},
		{"nat64 static bib ipv4 missing", nat64("  static_bib: [{proto: tcp, ipv6: '[2001:db8::1]:80'}]\n"), "nat64.static_bib[0].ipv4", "missing transport address", 0},
		{"nat64 static bib ipv4 outside pool", nat64("  static_bib: [{proto: tcp, ipv6: '[2001:db8::1]:80', ipv4: '192.0.2.1:8080'}]\n"), "nat64.static_bib[0].ipv4", "192.0.2.1:8080 is not in any of nat64.pools", 0},
		{"nat64 static bib port outside pool", nat64("  static_bib: [{proto: tcp, ipv6: '[2001:db8::1]:80', ipv4: '198.51.100.1:80'}]\n"), "nat64.static_bib[0].ipv4", "is not in any of nat64.pools", 0},
		{"nat64 static bib duplicate", nat64("  static_bib: [{proto: udp, ipv6: '[2001:db8::1]:53', ipv4: '198.51.100.1:5353'}, {proto: udp, ipv6: '[2001:db8::2]:53', ipv4: '198.51.100.1:5353'}]\n"), "nat64.static_bib[1].ipv4", "duplicate static binding udp 198.51.100.1:5353", 0},
		{"nat64 fragments max pending", nat64("  fragments: {max_pending: -1}\n"), "nat64.fragments.max_pending", "must be at least 1", 0},
		{"nat64 fragments timeout", nat64("  fragments: {timeout: soon}\n"), "nat64.fragments.timeout", "bad duration", 0},
		{"nat64 syn limit above 32 bits", nat64("  syn_limit: {default: 4294967296}\n"), "nat64.syn_limit.default", "syn limit 4294967296 out of range 0..4294967295", 0},
		{"nat64 per eip rate above 32 bits", nat64("  syn_limit: {per_eip: [{eip: 2.2.2.11, rate: 4294967296}]}\n"), "nat64.syn_limit.per_eip[0].rate", "out of range 0..4294967295", 0},
		{"nat64 pool whole ipv4 space", "nat64: {prefix: 64:ff9b::/96, pools: [{prefix: 0.0.0.0/0}]}", "nat64.pools[0].prefix", "/0", 0},
		{"nat64 timeout too long", nat64("  timeouts: {udp: 3000h}\n"), "nat64.timeouts.udp", "above the maximum 2400h", 0},
		{"nat64 fragments timeout too long", nat64("  fragments: {timeout: 3000h}\n"), "nat64.fragments.timeout", "above the maximum 2400h", 0},
		{"eip is a port address", "ports: [{name: p, role: external, addresses: [2.2.2.11/24]}]\nvrfs: [{name: t}]\ntenants: [{name: t, gre_key: 1, eips: [{eip: 2.2.2.11, private: 10.0.0.7}]}]", "tenants[0].eips[0].eip", "eip 2.2.2.11 is the address of ports[0].addresses[0]", 0},

		// access
		{"access table size not prime", "access: {table_size: 65536, prefix: 64:ff9b::/96}", "access.table_size", "table_size 65536 is not prime (Maglev needs a prime, e.g. 65537)", 0},
		{"access table size too small", "access: {table_size: 1, prefix: 64:ff9b::/96}", "access.table_size", "out of range", 0},
		{"access table size too big", "access: {table_size: 16777259, prefix: 64:ff9b::/96}", "access.table_size", "out of range", 0},
		{"access prefix missing", "access: {}", "access.prefix", "missing prefix", 0},
		{"access prefix length", "access: {prefix: '64:ff9b::/95'}", "access.prefix", "not allowed", 0},
		{"access vip bad", "access: {prefix: 64:ff9b::/96, vips: [{vip: 100.64.0.300}]}", "access.vips[0].vip", "bad ip address", 0},
		{"access vip duplicate", "access: {prefix: 64:ff9b::/96, vips: [{vip: 100.64.0.1}, {vip: 100.64.0.1}]}", "access.vips[1].vip", "duplicate vip 100.64.0.1", 0},
		{"access eip bad", "access: {prefix: 64:ff9b::/96, vips: [{vip: 100.64.0.1, eips: ['::1']}]}", "access.vips[0].eips[0]", "want an ipv4 address", 0},
		{"access eip on two vips", "access: {prefix: 64:ff9b::/96, vips: [{vip: 100.64.0.1, eips: [2.2.2.11]}, {vip: 100.64.0.2, eips: [2.2.2.11]}]}", "access.vips[1].eips[0]", "eip 2.2.2.11 already served by access.vips[0].eips[0]", 0},
		{"access p4runtime address missing", "access: {prefix: 64:ff9b::/96, p4runtime: {device_id: 1}}", "access.p4runtime.address", "missing address", 0},
		{"access p4runtime address bad", "access: {prefix: 64:ff9b::/96, p4runtime: {address: localhost}}", "access.p4runtime.address", "want host:port", 0},
		{"access server port unknown", "access: {prefix: 64:ff9b::/96, server_port: nat}", "access.server_port", `unknown port "nat" (not in ports, and not a device port number)`, 0},
		{"access server port number", "access: {prefix: 64:ff9b::/96, server_port: '512'}", "access.server_port", "device port 512 out of range 0..511", 0},
		{"manager without server port", "node: {roles: [manager]}\naccess: {prefix: 64:ff9b::/96, vips: [{vip: 100.64.0.1}]}", "access.server_port", "missing server_port (role manager", 0},
		{"manager without access", "node: {roles: [manager]}", "access", "missing access section", 0},
		{"manager without bgp", "node: {roles: [manager]}\naccess: {prefix: 64:ff9b::/96}", "access", "role manager learns the VIPs' next hops by BGP", 0},
		{"nat64 vip ipv6", nat64("  vip: '2001:db8::1'\n"), "nat64.vip", "want an ipv4 address", 0},

		// bgp
		{"bgp asn zero", "bgp: {router_id: 1.2.3.4}", "bgp.asn", "missing asn", 0},
		{"bgp router id missing", "bgp: {asn: 64512}", "bgp.router_id", "missing router_id", 0},
		{"bgp router id ipv6", "bgp: {asn: 64512, router_id: '::1'}", "bgp.router_id", "want a non-zero ipv4 address", 0},
		{"bgp listen bad", "bgp: {asn: 64512, router_id: 1.2.3.4, listen: 'localhost:179'}", "bgp.listen", "bad listen address", 0},
		{"bgp listen port zero", "bgp: {asn: 64512, router_id: 1.2.3.4, listen: '0.0.0.0:0'}", "bgp.listen", "want a non-zero port", 0},
		{"bgp peer address bad", "bgp: {asn: 64512, router_id: 1.2.3.4, peers: [{address: peer, asn: 1}]}", "bgp.peers[0].address", "bad ip address", 0},
		{"bgp peer duplicate", "bgp: {asn: 64512, router_id: 1.2.3.4, peers: [{address: 10.0.0.1, asn: 1}, {address: 10.0.0.1, asn: 2}]}", "bgp.peers[1].address", "duplicate peer 10.0.0.1", 0},
		{"bgp peer asn zero", "bgp: {asn: 64512, router_id: 1.2.3.4, peers: [{address: 10.0.0.1}]}", "bgp.peers[0].asn", "missing asn", 0},
		{"bgp announce not masked", "bgp: {asn: 64512, router_id: 1.2.3.4, announce: [198.51.100.1/28]}", "bgp.announce[0]", "did you mean 198.51.100.0/28", 0},
		{"bgp announce duplicate", "bgp: {asn: 64512, router_id: 1.2.3.4, announce: [198.51.100.0/28, 198.51.100.0/28]}", "bgp.announce[1]", "duplicate announcement", 0},

		// sessions
		{"sessions capacity negative", "sessions: {capacity: -1}", "sessions.capacity", "capacity -1 out of range 1..268435455", 0},
		{"sessions capacity too big", "sessions: {capacity: 2147483649}", "sessions.capacity", "out of range", 0},
		{"sessions capacity above the table's limit", "sessions: {capacity: 268435456}", "sessions.capacity", "capacity 268435456 out of range 1..268435455", 0},
		{"sessions evict", "sessions: {evict: random}", "sessions.evict", `unknown evict policy "random"`, 0},

		// api
		{"api socket relative", "api: {socket: xdpgw.sock}", "api.socket", "want an absolute path", 0},
		{"api socket too long", "api: {socket: /" + strings.Repeat("a", 120) + "}", "api.socket", "longer than 107 bytes", 0},
		{"api metrics bad", "api: {metrics: 9100}", "api.metrics", "want host:port", 0},
		{"api metrics port bad", "api: {metrics: ':http'}", "api.metrics", "bad port", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := parseProblems(t, tt.src)
			p, ok := findProblem(ps, tt.path, tt.msg)
			if !ok {
				t.Fatalf("no problem at %q containing %q; got:%s", tt.path, tt.msg, dump(ps))
			}
			if tt.line != 0 && p.Line != tt.line {
				t.Errorf("problem %q at line %d, want %d", p.String(), p.Line, tt.line)
			}
		})
	}
}

// Configurations that must pass.
func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		{"empty mapping", "{}"},
		{"ports with the same queues", "ports: [{name: a, role: external, queues: 4}, {name: b, role: overlay, queues: 4}]"},
		{"nulls are absent", "nat64:\nbgp: ~\nports:\n"},
		{"gre key zero written", "vrfs: [{name: t}]\ntenants: [{name: t, gre_key: 0}]"},
		{"gre key max", "vrfs: [{name: t}]\ntenants: [{name: t, gre_key: 4294967295}]"},
		{"rule with bare address and ranges", rule("{action: accept, proto: tcp, src: [1.1.1.7], dst: ['10.0.0.0/24'], sport: ['1024-65535'], dport: ['22', '80-81'], tcp_flags: 'syn,!ack'}")},
		{"rule with protocol number", rule("{action: reject, proto: '47'}")},
		{"rule icmpv6 types", rule("{action: accept, proto: icmpv6, icmp_type: [128, 129], dst: ['2001:db8::/32']}")},
		{"nat64 every length", "nat64: {prefix: '2001:db8::/32', pools: [{prefix: 198.51.100.0/28}]}"},
		{"nat64 /56", "nat64: {prefix: '2001:db8:100::/56', pools: [{prefix: 198.51.100.0/28}]}"},
		{"nat64 same pool disjoint ports", "nat64: {prefix: 64:ff9b::/96, pools: [{prefix: 198.51.100.0/28, ports: 1024-30000}, {prefix: 198.51.100.0/28, ports: 30001-65535}]}"},
		{"nat64 static bib", nat64("  static_bib: [{proto: tcp, ipv6: '[2001:db8::1]:80', ipv4: '198.51.100.1:8080'}, {proto: udp, ipv6: '[2001:db8::1]:80', ipv4: '198.51.100.1:8080'}]\n")},
		{"nat64 syn limit max", nat64("  syn_limit: {default: 4294967295, per_eip: [{eip: 2.2.2.11, rate: 4294967295}]}\n")},
		{"nat64 longest timeouts", nat64("  timeouts: {udp: 2400h, tcp_established: 2400h, tcp_transitory: 2400h, icmp: 2400h}\n  fragments: {timeout: 2400h}\n")},
		{"sessions capacity max", "sessions: {capacity: 268435455}"},
		{"nat64 syn limit off", nat64("  syn_limit: {default: 0, per_eip: [{eip: 2.2.2.11, rate: 0}]}\n")},
		{"access small prime", "access: {table_size: 7, prefix: 64:ff9b::/96}"},
		{"manager with server port name", "node: {roles: [access, manager]}\nports: [{name: down, role: access}]\naccess: {prefix: 64:ff9b::/96, server_port: down, vips: [{vip: 100.64.0.1, eips: [2.2.2.11]}]}\n" + bgpOK},
		{"manager with device port", "node: {roles: [manager]}\naccess: {prefix: 64:ff9b::/96, server_port: '17', vips: [{vip: 100.64.0.1}]}\n" + bgpOK},
		{"nat64 vip", nat64("  vip: 100.64.0.1\n")},
		{"api abstract socket", "api: {socket: '@xdpgw', metrics: ':9100'}"},
		{"bgp ipv6 peer and listen", "bgp: {asn: 4200000000, router_id: 10.0.0.1, listen: '[::]:1179', peers: [{address: '2001:db8::2', asn: 65000}]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ps := parseProblems(t, tt.src); ps != nil {
				t.Errorf("want no problems, got:%s", dump(ps))
			}
		})
	}
}

// Validate works on a Config built in Go (no lines).
func TestValidateBuiltInGo(t *testing.T) {
	c := &config.Config{
		Ports: []config.Port{{Name: "a", Role: "external", MAC: "zz"}},
	}
	c.SetDefaults()
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate: want an error")
	}
	if got, want := err.Error(), `ports[0].mac: "zz": bad mac address: want six hex octets like 02:00:00:00:00:01`; got != want {
		t.Errorf("Validate:\n got %s\nwant %s", got, want)
	}
	c.Ports[0].MAC = ""
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// VRF indices are uint16 in the data plane (ports, routes, tenants): a
// 65537th VRF (main is added by SetDefaults) must be refused, not wrapped
// to index 0.
func TestValidateVRFCount(t *testing.T) {
	mk := func(n int) *config.Config {
		c := &config.Config{}
		for i := 0; i < n; i++ {
			name := "v" + strconv.Itoa(i)
			c.VRFs = append(c.VRFs, config.VRF{Name: name})
			c.Tenants = append(c.Tenants, config.Tenant{Name: name, GREKey: int64(i)})
		}
		c.SetDefaults()
		return c
	}
	if err := mk(1<<16 - 1).Validate(); err != nil {
		t.Fatalf("65536 vrfs: %v", err)
	}
	err := mk(1 << 16).Validate()
	if err == nil {
		t.Fatal("65537 vrfs: Validate accepted them")
	}
	if !strings.Contains(err.Error(), "vrfs: 65537 vrfs, at most 65536") {
		t.Errorf("65537 vrfs: got %v", err)
	}
}

// The data plane takes at most 64 ports (pipeline.MaxPorts); a config
// with more must be refused by Validate, with the path, not only by
// compile.
func TestValidatePortCount(t *testing.T) {
	mk := func(n int) *config.Config {
		c := &config.Config{}
		for i := 0; i < n; i++ {
			c.Ports = append(c.Ports, config.Port{Name: "p" + strconv.Itoa(i), Role: config.RoleExternal})
		}
		c.SetDefaults()
		return c
	}
	if err := mk(64).Validate(); err != nil {
		t.Fatalf("64 ports: %v", err)
	}
	err := mk(65).Validate()
	if err == nil || !strings.Contains(err.Error(), "ports: 65 ports, at most 64") {
		t.Fatalf("65 ports: got %v", err)
	}
}
