package compile_test

import (
	"net/netip"
	"strings"
	"testing"

	"xdpgw/control/compile"
	"xdpgw/control/config"
	"xdpgw/dataplane/access"
	"xdpgw/dataplane/fib"
)

func build(t *testing.T, cfg *config.Config) *compile.Runtime {
	t.Helper()
	rt, err := compile.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func vrf(t *testing.T, rt *compile.Runtime, name string) *fib.Table {
	t.Helper()
	for i, n := range rt.VRFNames {
		if n == name {
			return rt.Env.VRFs[i].Table()
		}
	}
	t.Fatalf("no VRF %q in %v", name, rt.VRFNames)
	return nil
}

func port(t *testing.T, rt *compile.Runtime, name string) uint16 {
	t.Helper()
	for i, n := range rt.PortNames {
		if n == name {
			return uint16(i)
		}
	}
	t.Fatalf("no port %q", name)
	return 0
}

// TestDefaultTables checks the tables the embedded default compiles to:
// the prototypes of background.md as routes.
func TestDefaultTables(t *testing.T) {
	rt := build(t, config.Default())
	main := vrf(t, rt, "main")
	tests := []struct {
		name  string
		table *fib.Table
		dst   string
		local bool
		port  string
		via   string
		encap bool
		key   uint32
		outer string
		noHit bool
	}{
		{name: "client is connected on internet", table: main, dst: "1.1.1.7", port: "internet"},
		{name: "gateway's own address is local", table: main, dst: "1.1.1.1", local: true},
		{name: "EIP of tenant 1 is local in main", table: main, dst: "2.2.2.11", local: true},
		{name: "EIP of tenant 2 is local in main", table: main, dst: "2.2.2.12", local: true},
		{name: "tunnel endpoint on the underlay", table: main, dst: "172.168.0.12", port: "underlay"},
		{name: "default route via the upstream router", table: main, dst: "9.9.9.9", port: "internet", via: "1.1.1.254"},
		{name: "tenant 1's 10.0.0.7 is behind key 1000", table: vrf(t, rt, "user1"), dst: "10.0.0.7", port: "underlay", encap: true, key: 1000, outer: "172.168.0.11"},
		{name: "tenant 2's 10.0.0.7 is behind key 2000", table: vrf(t, rt, "user2"), dst: "10.0.0.7", port: "underlay", encap: true, key: 2000, outer: "172.168.0.12"},
		{name: "tenant 1's gateway address is local", table: vrf(t, rt, "user1"), dst: "10.0.0.1", local: true},
		{name: "main has no 10.0.0.0/8", table: main, dst: "10.0.0.7", port: "internet", via: "1.1.1.254"},
		{name: "nat64 client on v6", table: vrf(t, rt, "nat64"), dst: "2001:db8:6::7", port: "v6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := netip.MustParseAddr(tt.dst)
			var nh *fib.NextHop
			var ok bool
			if a.Is4() {
				nh, ok = tt.table.Lookup4(a.As4())
			} else {
				nh, ok = tt.table.Lookup6(a.As16())
			}
			if !ok {
				t.Fatalf("no route to %s", tt.dst)
			}
			if nh.Local != tt.local {
				t.Fatalf("local = %v, want %v", nh.Local, tt.local)
			}
			if tt.local {
				return
			}
			if nh.Port != port(t, rt, tt.port) {
				t.Errorf("port %s, want %s", rt.PortNames[nh.Port], tt.port)
			}
			if got := nh.Via.String(); tt.via != "" && got != tt.via || tt.via == "" && nh.Via.IsValid() {
				t.Errorf("via %v, want %q", nh.Via, tt.via)
			}
			if nh.HasEncap != tt.encap || tt.encap && (nh.Encap.Key != tt.key || !nh.Encap.HasKey || nh.Encap.OuterDst.String() != tt.outer) {
				t.Errorf("encap %v %+v, want key %d dst %s", nh.HasEncap, nh.Encap, tt.key, tt.outer)
			}
		})
	}
	// Ports carry their MACs, MTUs, VRFs and first addresses.
	p := rt.Env.Ports[port(t, rt, "underlay")]
	if p.MAC != [6]byte{2, 0, 0, 0, 1, 2} || p.MTU != 1500 || !p.HasAddr4 || p.Addr4 != [4]byte{172, 168, 0, 1} || rt.VRFNames[p.VRF] != "main" {
		t.Errorf("underlay port compiled to %+v", p)
	}
	v6 := rt.Env.Ports[port(t, rt, "v6")]
	if rt.VRFNames[v6.VRF] != "nat64" || !v6.HasAddr6 {
		t.Errorf("v6 port compiled to %+v", v6)
	}
	if m, ok := rt.Env.Neigh.Load().Lookup4(port(t, rt, "internet"), [4]byte{1, 1, 1, 7}); !ok || m != [6]byte{2, 0, 0, 0, 2, 7} {
		t.Errorf("neighbour 1.1.1.7: %v %v", m, ok)
	}
}

func TestMACFromInterface(t *testing.T) {
	cfg := config.Default()
	cfg.Ports[0].MAC = ""
	rt, err := compile.BuildWith(cfg, compile.Options{InterfaceMAC: func(iface string) ([6]byte, error) {
		if iface != cfg.Ports[0].Interface {
			t.Errorf("asked for the MAC of %q", iface)
		}
		return [6]byte{2, 9, 9, 9, 9, 9}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rt.Env.Ports[0].MAC != [6]byte{2, 9, 9, 9, 9, 9} {
		t.Errorf("MAC %v", rt.Env.Ports[0].MAC)
	}
	cfg.Ports[1].MAC = ""
	if rt := build(t, cfg); rt.Env.Ports[1].MAC != [6]byte{2, 0, 0, 0, 0xff, 2} {
		t.Errorf("derived MAC %v", rt.Env.Ports[1].MAC)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name string
		edit func(*config.Config)
		want string
	}{
		{"no ports", func(c *config.Config) { c.Ports = nil }, "at least one port"},
		{"too many ports", func(c *config.Config) {
			for len(c.Ports) <= 64 {
				c.Ports = append(c.Ports, c.Ports[0])
			}
		}, "at most 64"},
		{"route to a missing port", func(c *config.Config) { c.VRFs[0].Routes[0].Port = "eth9" }, `vrfs[0].routes[0].port: no port "eth9"`},
		{"neighbour on a missing port", func(c *config.Config) { c.Neighbors[0].Port = "eth9" }, `neighbors[0].port`},
		{"port in a missing VRF", func(c *config.Config) { c.Ports[0].VRF = "nope" }, `ports[0].vrf`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			tt.edit(cfg)
			_, err := compile.Build(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestAccessOption: the access target given in Options becomes Env.Access
// (the access stage reads it on ports of role access); none by default.
func TestAccessOption(t *testing.T) {
	cfg := config.Default()
	if rt := build(t, cfg); rt.Env.Access != nil {
		t.Fatal("Env.Access set without Options.Access")
	}
	target, err := access.NewTarget(4, 8, 7)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := compile.BuildWith(cfg, compile.Options{Access: target})
	if err != nil {
		t.Fatal(err)
	}
	if rt.Env.Access != target {
		t.Fatal("Env.Access is not the target of Options.Access")
	}
}

// TestLongestTimeoutsMakeSessions checks that the longest timeouts
// config.Validate accepts are ones the session table takes: a config that
// validates must not fail when its table is made.
func TestLongestTimeoutsMakeSessions(t *testing.T) {
	src := `
ports: [{name: v6, role: ipv6, addresses: ["2001:db8:6::1/64"]}]
nat64:
  prefix: 64:ff9b::/96
  pools: [{prefix: 198.51.100.0/28}]
  timeouts: {udp: 2400h, tcp_established: 2400h, tcp_transitory: 2400h, icmp: 2400h}
  fragments: {timeout: 2400h}
`
	cfg, err := config.Parse([]byte(src), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compile.NewSessions(cfg, 1024); err != nil {
		t.Fatalf("NewSessions on a validated config: %v", err)
	}
	// Just above the session table's limit (2^23 ticks of 2^30 ns) must
	// be refused by Validate, not by NewSessions.
	for _, d := range []string{"2502h", "3000h"} {
		bad := strings.Replace(src, "udp: 2400h", "udp: "+d, 1)
		if _, err := config.Parse([]byte(bad), "t.yaml"); err == nil {
			t.Errorf("nat64.timeouts.udp %s: Parse accepted it", d)
		}
	}
}
