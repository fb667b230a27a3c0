package config_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"xdpgw/control/config"
)

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		lo, hi uint16
		ok     bool
	}{
		{"single", "22", 22, 22, true},
		{"range", "1000-2000", 1000, 2000, true},
		{"full", "0-65535", 0, 65535, true},
		{"equal ends", "5-5", 5, 5, true},
		{"empty", "", 0, 0, false},
		{"letters", "22-x", 0, 0, false},
		{"reversed", "30-20", 0, 0, false},
		{"too big", "65536", 0, 0, false},
		{"huge", "99999999999999999999", 0, 0, false},
		{"sign", "+22", 0, 0, false},
		{"negative", "-1", 0, 0, false},
		{"spaces", "1 - 2", 0, 0, false},
		{"two dashes", "1-2-3", 0, 0, false},
		{"open end", "1000-", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, err := config.ParsePortRange(tt.in)
			if (err == nil) != tt.ok || lo != tt.lo || hi != tt.hi {
				t.Errorf("ParsePortRange(%q) = %d, %d, %v; want %d, %d, ok %v", tt.in, lo, hi, err, tt.lo, tt.hi, tt.ok)
			}
			if err != nil && !errors.Is(err, config.ErrBadPortRange) {
				t.Errorf("error %v does not wrap ErrBadPortRange", err)
			}
		})
	}
}

func TestParseMAC(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want [6]byte
		ok   bool
	}{
		{"colons", "02:00:00:00:01:01", [6]byte{2, 0, 0, 0, 1, 1}, true},
		{"dashes upper", "0A-0B-0C-0D-0E-FF", [6]byte{0xa, 0xb, 0xc, 0xd, 0xe, 0xff}, true},
		{"short", "02:00:00:00:01", [6]byte{}, false},
		{"mixed separators", "02:00-00:00:01:01", [6]byte{}, false},
		{"dots", "0200.0000.0101", [6]byte{}, false},
		{"bad hex", "02:00:00:00:01:0g", [6]byte{}, false},
		{"eui64", "02:00:00:00:00:00:00:01", [6]byte{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.ParseMAC(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseMAC(%q) = %x, %v; want %x, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseTCPFlags(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want, mask uint8
		ok         bool
	}{
		{"empty", "", 0, 0, true},
		{"syn only", "syn,!ack", config.TCPFlagSYN, config.TCPFlagSYN | config.TCPFlagACK, true},
		{"all", "fin,syn,rst,psh,ack,urg,ece,cwr", 0xff, 0xff, true},
		{"spaces and case", " SYN , !Ack", config.TCPFlagSYN, config.TCPFlagSYN | config.TCPFlagACK, true},
		{"unknown", "syn,foo", 0, 0, false},
		{"twice", "ack,!ack", 0, 0, false},
		{"trailing comma", "syn,", 0, 0, false},
		{"bare bang", "!", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, mask, err := config.ParseTCPFlags(tt.in)
			if (err == nil) != tt.ok || want != tt.want || mask != tt.mask {
				t.Errorf("ParseTCPFlags(%q) = %#x, %#x, %v; want %#x, %#x, ok %v", tt.in, want, mask, err, tt.want, tt.mask, tt.ok)
			}
		})
	}
}

func TestParseProto(t *testing.T) {
	tests := []struct {
		in    string
		proto uint8
		any   bool
		ok    bool
	}{
		{"", 0, true, true},
		{"any", 0, true, true},
		{"tcp", 6, false, true},
		{"UDP", 17, false, true},
		{"icmp", 1, false, true},
		{"icmpv6", 58, false, true},
		{"47", 47, false, true},
		{"0", 0, false, true},
		{"256", 0, false, false},
		{"-1", 0, false, false},
		{"gre", 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			proto, any, err := config.ParseProto(tt.in)
			if (err == nil) != tt.ok || proto != tt.proto || any != tt.any {
				t.Errorf("ParseProto(%q) = %d, %v, %v; want %d, %v, ok %v", tt.in, proto, any, err, tt.proto, tt.any, tt.ok)
			}
		})
	}
}

func TestRuleAccessors(t *testing.T) {
	r := config.Rule{Proto: "tcp", Src: []string{"1.1.1.7", "10.0.0.0/8"}, DstPorts: []string{"22", "80-81"}, TCPFlags: "syn,!ack", ICMPTypes: []int{8}}
	if p, any := r.ParsedProto(); p != config.ProtoTCP || any {
		t.Errorf("ParsedProto = %d, %v", p, any)
	}
	src := r.ParsedSrc()
	if len(src) != 2 || src[0].String() != "1.1.1.7/32" || src[1].String() != "10.0.0.0/8" {
		t.Errorf("ParsedSrc = %v", src)
	}
	if d := r.ParsedDstPorts(); len(d) != 2 || d[0] != (config.PortRange{Lo: 22, Hi: 22}) || !d[1].Contains(81) || d[1].Contains(82) {
		t.Errorf("ParsedDstPorts = %v", d)
	}
	if len(r.ParsedSrcPorts()) != 0 || len(r.ParsedDst()) != 0 {
		t.Error("empty lists must parse to empty")
	}
	if w, m := r.ParsedTCPFlags(); w != config.TCPFlagSYN || m != config.TCPFlagSYN|config.TCPFlagACK {
		t.Errorf("ParsedTCPFlags = %#x %#x", w, m)
	}
	if ty := r.ParsedICMPTypes(); len(ty) != 1 || ty[0] != 8 {
		t.Errorf("ParsedICMPTypes = %v", ty)
	}
}

func TestCheckBackends(t *testing.T) {
	a := config.Access{TableSize: 7}
	if err := a.CheckBackends(7); err != nil {
		t.Errorf("CheckBackends(7): %v", err)
	}
	if err := a.CheckBackends(8); err == nil {
		t.Error("CheckBackends(8) on a table of 7: want an error")
	}
}

func TestAccessors(t *testing.T) {
	src := nat64(`  static_bib: [{proto: udp, ipv6: '[2001:db8::1]:53', ipv4: '198.51.100.1:5353'}]
  syn_limit: {per_eip: [{eip: 2.2.2.11, rate: 7}]}
node: {roles: [nat64]}
ports: [{name: p, role: external, addresses: [1.1.1.1/24, '2001:db8::1/64']}]
neighbors: [{port: p, ip: 1.1.1.7, mac: '02:00:00:00:00:07'}]
vrfs: [{name: main, routes: [{prefix: 10.0.0.0/8, port: p, encap: {dst: 1.2.3.4, src: 1.1.1.1}}]}]
access: {prefix: 64:ff9b::/96}
bgp: {asn: 1, router_id: 1.2.3.4, peers: [{address: 10.0.0.1, asn: 2}]}
`)
	c, err := config.Parse([]byte(src), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mustAddr := netip.MustParseAddr
	n := c.NAT64
	b := n.StaticBIB[0]
	if b.ParsedProto() != config.ProtoUDP || b.ParsedIPv6() != netip.MustParseAddrPort("[2001:db8::1]:53") || b.ParsedIPv4() != netip.MustParseAddrPort("198.51.100.1:5353") {
		t.Errorf("static bib %+v", b)
	}
	if n.SYNLimit.RateFor(mustAddr("2.2.2.11")) != 7 || n.SYNLimit.RateFor(mustAddr("2.2.2.12")) != 50000 || n.SYNLimit.PerEIP[0].ParsedEIP() != mustAddr("2.2.2.11") {
		t.Errorf("syn limit %+v", n.SYNLimit)
	}
	if n.Pools[0].ParsedPrefix() != netip.MustParsePrefix("198.51.100.0/28") || n.Timeouts.Parsed().UDP != 5*time.Minute {
		t.Errorf("nat64 %+v", n)
	}
	if !c.Node.HasRole(config.NodeNAT64) || c.Node.HasRole(config.NodeGateway) {
		t.Errorf("roles %v", c.Node.Roles)
	}
	p := c.Ports[0]
	if _, ok := p.ParsedMAC(); ok || len(p.ParsedAddresses()) != 2 || p.FirstAddress(mustAddr("::")) != mustAddr("2001:db8::1") {
		t.Errorf("port %+v", p)
	}
	nb := c.Neighbors[0]
	if nb.ParsedIP() != mustAddr("1.1.1.7") || nb.ParsedMAC() != [6]byte{2, 0, 0, 0, 0, 7} {
		t.Errorf("neighbor %+v", nb)
	}
	r := c.VRFs[0].Routes[0]
	if r.ParsedVia().IsValid() || r.Encap.ParsedSrc() != mustAddr("1.1.1.1") {
		t.Errorf("route %+v", r)
	}
	if _, ok := r.Encap.ParsedKey(); ok {
		t.Error("ParsedKey: want no key")
	}
	if c.Access.ParsedPrefix() != netip.MustParsePrefix("64:ff9b::/96") || c.BGP.Peers[0].ParsedAddress() != mustAddr("10.0.0.1") {
		t.Errorf("access %+v bgp %+v", c.Access, c.BGP)
	}
	if _, ok := c.FindPort("nope"); ok {
		t.Error("FindPort(nope) found something")
	}
}

func TestServerPortIndex(t *testing.T) {
	tests := []struct {
		name string
		src  string
		port uint16
		ok   bool
	}{
		{"no access", "{}", 0, false},
		{"empty", "access: {prefix: 64:ff9b::/96}", 0, false},
		{"port name", "ports: [{name: up, role: access}, {name: down, role: access}]\naccess: {prefix: 64:ff9b::/96, server_port: down}", 1, true},
		{"device port", "access: {prefix: 64:ff9b::/96, server_port: '17'}", 17, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.src), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if p, ok := c.ServerPortIndex(); p != tt.port || ok != tt.ok {
				t.Errorf("ServerPortIndex() = %d, %v; want %d, %v", p, ok, tt.port, tt.ok)
			}
		})
	}
}
