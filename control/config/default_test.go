package config_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"xdpgw/control/config"
)

func TestDefaultParses(t *testing.T) {
	if _, err := config.Parse(config.DefaultYAML(), config.DefaultFile); err != nil {
		t.Fatalf("embedded default:\n%v", err)
	}
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(Default()):\n%v", err)
	}
}

// The default, printed and parsed again, gives the same Config.
func TestDefaultRoundTrip(t *testing.T) {
	c := config.Default()
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := config.Parse(out, "marshalled.yaml")
	if err != nil {
		t.Fatalf("parse marshalled default:\n%v\n%s", err, out)
	}
	out2, err := yaml.Marshal(c2)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(out2) {
		t.Errorf("round trip changed the config:\n--- first\n%s\n--- second\n%s", out, out2)
	}
}

func TestDefaultCopies(t *testing.T) {
	a, b := config.Default(), config.Default()
	a.Tenants[0].Name = "changed"
	if b.Tenants[0].Name == "changed" {
		t.Error("Default() returns shared state")
	}
	y := config.DefaultYAML()
	y[0] = 'X'
	if config.DefaultYAML()[0] == 'X' {
		t.Error("DefaultYAML() returns shared bytes")
	}
}

// The default reproduces background.md's prototypes.
func TestDefaultPrototypes(t *testing.T) {
	c := config.Default()
	addr := netip.MustParseAddr

	t.Run("gateway tenants", func(t *testing.T) {
		tests := []struct {
			tenant  string
			key     uint32
			remote  string
			eip     string
			private string
			port    string
		}{
			{"user1", 1000, "172.168.0.11", "2.2.2.11", "10.0.0.7", "22"},
			{"user2", 2000, "172.168.0.12", "2.2.2.12", "10.0.0.7", "23"},
		}
		for _, tt := range tests {
			t.Run(tt.tenant, func(t *testing.T) {
				ten, ok := c.FindTenant(tt.tenant)
				if !ok {
					t.Fatalf("no tenant %s", tt.tenant)
				}
				if ten.Key() != tt.key || ten.VRF != tt.tenant || ten.ParsedRemote() != addr(tt.remote) || !ten.Offload() {
					t.Errorf("tenant = %+v", ten)
				}
				if len(ten.EIPs) != 1 || ten.EIPs[0].ParsedEIP() != addr(tt.eip) || ten.EIPs[0].ParsedPrivate() != addr(tt.private) {
					t.Errorf("eips = %+v", ten.EIPs)
				}
				in, eg := ten.Firewall.Ingress, ten.Firewall.Egress
				if in.Default != "drop" || len(in.Rules) != 2 || in.Rules[0].DstPorts[0] != tt.port || in.Rules[1].Proto != "icmp" {
					t.Errorf("ingress = %+v", in)
				}
				if eg.Default != "accept" || len(eg.Rules) != 1 || eg.Rules[0].Action != "drop" || eg.Rules[0].DstPorts[0] != tt.port {
					t.Errorf("egress = %+v", eg)
				}
				vrf, ok := c.FindVRF(tt.tenant)
				if !ok {
					t.Fatalf("no vrf %s", tt.tenant)
				}
				r := vrf.Routes[0]
				key, hasKey := r.Encap.ParsedKey()
				if r.ParsedPrefix() != netip.MustParsePrefix("10.0.0.0/24") || r.Port != "underlay" || !hasKey || key != tt.key || r.Encap.ParsedDst() != addr(tt.remote) {
					t.Errorf("overlay route = %+v encap %+v", r, r.Encap)
				}
				d := vrf.Routes[1]
				// The tenant's default route continues in the main table.
				if d.ParsedPrefix() != netip.MustParsePrefix("0.0.0.0/0") || d.VRF != "main" || d.Port != "" {
					t.Errorf("default route = %+v", d)
				}
			})
		}
	})

	t.Run("ports", func(t *testing.T) {
		for _, name := range []string{"internet", "underlay", "v6", "v4"} {
			p, ok := c.FindPort(name)
			if !ok {
				t.Fatalf("no port %s", name)
			}
			if _, ok := p.ParsedMAC(); !ok || p.MTU != 1500 || p.Queues != 1 || p.Interface != name {
				t.Errorf("port %+v", p)
			}
		}
		p, _ := c.FindPort("underlay")
		if got := p.FirstAddress(addr("0.0.0.0")); got != addr("172.168.0.1") {
			t.Errorf("underlay first address = %v", got)
		}
	})

	t.Run("nat64", func(t *testing.T) {
		n := c.NAT64
		if n.ParsedPrefix() != netip.MustParsePrefix("64:ff9b::/96") || len(n.Pools) != 1 || n.Pools[0].PortRange() != (config.PortRange{Lo: 1024, Hi: 65535}) {
			t.Errorf("nat64 = %+v", n)
		}
		udp, est, trans, icmp := n.Timeouts.Durations()
		if udp != 5*time.Minute || est != 2*time.Hour+4*time.Minute || trans != 4*time.Minute || icmp != time.Minute {
			t.Errorf("timeouts = %v %v %v %v", udp, est, trans, icmp)
		}
		if n.SYNLimit.RateFor(addr("2.2.2.11")) != 50000 || !n.Hairpinning() || !n.EndpointIndependentFiltering() {
			t.Errorf("nat64 = %+v", n)
		}
		if n.Fragments.MaxPending != 4096 || n.Fragments.TimeoutDuration() != 2*time.Second {
			t.Errorf("fragments = %+v", n.Fragments)
		}
	})

	t.Run("access and bgp", func(t *testing.T) {
		a := c.Access
		if a.TableSize != 65537 || len(a.VIPs) != 1 || a.VIPs[0].ParsedVIP() != addr("100.64.0.1") ||
			!reflect.DeepEqual(a.VIPs[0].ParsedEIPs(), []netip.Addr{addr("2.2.2.11"), addr("2.2.2.12")}) {
			t.Errorf("access = %+v", a)
		}
		b := c.BGP
		if b.ASN != 64512 || b.ParsedRouterID() != addr("172.168.0.1") || len(b.Peers) != 1 || b.Peers[0].ASN != 64500 ||
			b.ParsedAnnounce()[0] != netip.MustParsePrefix("198.51.100.0/28") || b.ParsedListen() != netip.MustParseAddrPort("0.0.0.0:179") {
			t.Errorf("bgp = %+v", b)
		}
		if c.Sessions.Capacity != 1<<20 || c.Sessions.DropNew() || c.API.Socket != "/run/xdpgw.sock" {
			t.Errorf("sessions %+v api %+v", c.Sessions, c.API)
		}
	})
}

func TestSetDefaults(t *testing.T) {
	src := `ports: [{name: eth, role: external}]
vrfs: [{name: t, routes: [{prefix: 10.0.0.0/8, port: eth, encap: {dst: 1.2.3.4}}]}]
tenants: [{name: t, gre_key: 1, firewall: {ingress: {}}}]
nat64: {prefix: 64:ff9b::/96, pools: [{prefix: 198.51.100.0/28}]}
access: {prefix: 64:ff9b::/96}
bgp: {asn: 1, router_id: 1.2.3.4}
`
	c, err := config.Parse([]byte(src), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Ports[0]
	if p.Interface != "eth" || p.VRF != "main" || p.MTU != 1500 || p.Queues != 1 {
		t.Errorf("port defaults: %+v", p)
	}
	if _, ok := c.FindVRF("main"); !ok {
		t.Error("vrf main not added")
	}
	if e := c.VRFs[0].Routes[0].Encap; e.Type != "gre" || e.Key != nil {
		t.Errorf("encap defaults: %+v", e)
	}
	ten := c.Tenants[0]
	if ten.VRF != "t" || ten.FlowOffload == nil || !*ten.FlowOffload || ten.Firewall.Ingress.Default != "accept" || ten.Firewall.Egress != nil {
		t.Errorf("tenant defaults: %+v", ten)
	}
	n := c.NAT64
	want := config.Timeouts{UDP: "5m", TCPEstablished: "2h4m", TCPTransitory: "4m", ICMP: "60s"}
	if n.Timeouts != want || n.SYNLimit.Default != 50000 || n.Hairpin == nil || !*n.Hairpin ||
		n.Filtering != "endpoint-independent" || n.Fragments != (config.FragmentLimit{MaxPending: 4096, Timeout: "2s"}) || n.Pools[0].Ports != "1024-65535" {
		t.Errorf("nat64 defaults: %+v", n)
	}
	if c.Access.TableSize != 65537 || c.BGP.Listen != "0.0.0.0:179" {
		t.Errorf("access %+v bgp %+v", c.Access, c.BGP)
	}
	if c.Sessions != (config.Sessions{Capacity: 1048576, Evict: "oldest"}) || c.API.Socket != "/run/xdpgw.sock" {
		t.Errorf("sessions %+v api %+v", c.Sessions, c.API)
	}
}

// An explicit syn_limit.default: 0 turns the limit off; absent or null
// means 50000.
func TestSYNLimitZero(t *testing.T) {
	tests := []struct {
		name string
		line string
		want int64
	}{
		{"absent", "", 50000},
		{"null", "  syn_limit: {default: ~}\n", 50000},
		{"zero", "  syn_limit: {default: 0}\n", 0},
		{"set", "  syn_limit: {default: 7}\n", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(nat64(tt.line)), "t.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if got := c.NAT64.SYNLimit.Default; got != tt.want {
				t.Errorf("syn_limit.default = %d, want %d", got, tt.want)
			}
		})
	}
}
