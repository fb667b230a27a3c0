package firewall_test

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"xdpgw/dataplane/firewall"
	"xdpgw/internal/depcheck"
)

const (
	syn = 0x02
	ack = 0x10
)

func pfx(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

// pkt builds a packet; the family follows the addresses.
func pkt(proto uint8, src, dst string, sport, dport uint16) firewall.Packet {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	p := firewall.Packet{Proto: proto, IPv6: s.Is6(), SrcPort: sport, DstPort: dport}
	copy(p.Src[:], s.AsSlice())
	copy(p.Dst[:], d.AsSlice())
	return p
}

func with(p firewall.Packet, f func(*firewall.Packet)) firewall.Packet { f(&p); return p }

func ports(lo, hi uint16) []firewall.PortRange { return []firewall.PortRange{{lo, hi}} }

// TestSemantics checks each field's meaning against hand-written
// expectations (the differential test checks the rest against the oracle).
func TestSemantics(t *testing.T) {
	tcp4 := pkt(firewall.ProtoTCP, "1.1.1.7", "10.0.0.7", 40000, 22)
	tests := []struct {
		name  string
		rules []firewall.Rule
		def   firewall.Action
		pkt   firewall.Packet
		want  firewall.Action
		rule  int32
	}{
		{"empty rule set takes the default", nil, firewall.ActionDrop, tcp4, firewall.ActionDrop, -1},
		{"empty rule set accept default", nil, firewall.ActionAccept, tcp4, firewall.ActionAccept, -1},
		{"any proto matches tcp", []firewall.Rule{{Action: firewall.ActionReject, AnyProto: true}}, firewall.ActionAccept, tcp4, firewall.ActionReject, 0},
		{"any proto ignores Proto", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Proto: 17}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"any proto matches protocol 47", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true}}, firewall.ActionAccept, pkt(47, "1.1.1.7", "10.0.0.7", 0, 0), firewall.ActionDrop, 0},
		{"proto mismatch", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoUDP}}, firewall.ActionAccept, tcp4, firewall.ActionAccept, -1},
		{"proto 0 is a protocol, not any", []firewall.Rule{{Action: firewall.ActionDrop}}, firewall.ActionAccept, tcp4, firewall.ActionAccept, -1},
		{"dst port exact", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, DstPorts: ports(22, 22)}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"dst port range low edge", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, DstPorts: ports(22, 30)}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"dst port range high edge", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, DstPorts: ports(10, 22)}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"dst port below range", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, DstPorts: ports(23, 30)}}, firewall.ActionAccept, tcp4, firewall.ActionAccept, -1},
		{"dst port above range", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, DstPorts: ports(10, 21)}}, firewall.ActionAccept, tcp4, firewall.ActionAccept, -1},
		{"dst port list", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, DstPorts: []firewall.PortRange{{80, 80}, {22, 22}}}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"port 0 and 65535", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoUDP, SrcPorts: ports(0, 0), DstPorts: ports(65535, 65535)}}, firewall.ActionAccept, pkt(firewall.ProtoUDP, "1.1.1.7", "10.0.0.7", 0, 65535), firewall.ActionDrop, 0},
		{"src port range", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, SrcPorts: ports(1024, 65535)}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"src port outside", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, SrcPorts: ports(0, 1023)}}, firewall.ActionAccept, tcp4, firewall.ActionAccept, -1},
		{"src prefix", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Src: pfx("1.1.1.0/24")}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"src prefix miss", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Src: pfx("1.1.2.0/24")}}, firewall.ActionAccept, tcp4, firewall.ActionAccept, -1},
		{"dst host prefix", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Dst: pfx("10.0.0.7/32")}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"dst prefix list second", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Dst: pfx("192.168.0.0/16", "10.0.0.0/8")}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"prefix /0 matches all IPv4", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Src: pfx("0.0.0.0/0")}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"IPv4 /0 does not match IPv6", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Src: pfx("0.0.0.0/0")}}, firewall.ActionAccept, pkt(firewall.ProtoTCP, "2001:db8::1", "2001:db8::2", 1, 22), firewall.ActionAccept, -1},
		{"IPv6 ::/0 does not match IPv4", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Dst: pfx("::/0")}}, firewall.ActionAccept, tcp4, firewall.ActionAccept, -1},
		{"mixed families: IPv6 element matches IPv6", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Src: pfx("1.1.1.0/24", "2001:db8::/32")}}, firewall.ActionAccept, pkt(firewall.ProtoTCP, "2001:db8::1", "2001:db8::2", 1, 22), firewall.ActionDrop, 0},
		{"IPv4-mapped IPv6 packet is IPv6", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Src: pfx("1.1.1.0/24")}}, firewall.ActionAccept, pkt(firewall.ProtoTCP, "::ffff:1.1.1.7", "2001:db8::2", 1, 22), firewall.ActionAccept, -1},
		{"IPv6 prefix longer than 64", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Dst: pfx("2001:db8:0:0:8000::/65")}}, firewall.ActionAccept, pkt(firewall.ProtoTCP, "2001:db8::1", "2001:db8::7fff:0:0:1", 1, 22), firewall.ActionAccept, -1},
		{"IPv6 prefix longer than 64 hit", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Dst: pfx("2001:db8:0:0:8000::/65")}}, firewall.ActionAccept, pkt(firewall.ProtoTCP, "2001:db8::1", "2001:db8::ffff:0:0:1", 1, 22), firewall.ActionDrop, 0},
		{"host bits of a prefix are ignored", []firewall.Rule{{Action: firewall.ActionDrop, AnyProto: true, Src: []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("1.1.1.99"), 24)}}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"icmp type", []firewall.Rule{{Action: firewall.ActionAccept, Proto: firewall.ProtoICMP, ICMPTypes: []uint8{0, 8}}}, firewall.ActionDrop, with(pkt(firewall.ProtoICMP, "1.1.1.7", "10.0.0.7", 0, 0), func(p *firewall.Packet) { p.ICMPType = 8 }), firewall.ActionAccept, 0},
		{"icmp type miss", []firewall.Rule{{Action: firewall.ActionAccept, Proto: firewall.ProtoICMP, ICMPTypes: []uint8{0, 8}}}, firewall.ActionDrop, with(pkt(firewall.ProtoICMP, "1.1.1.7", "10.0.0.7", 0, 0), func(p *firewall.Packet) { p.ICMPType = 3 }), firewall.ActionDrop, -1},
		{"icmpv6 rule does not match icmp", []firewall.Rule{{Action: firewall.ActionAccept, Proto: firewall.ProtoICMPv6}}, firewall.ActionDrop, pkt(firewall.ProtoICMP, "1.1.1.7", "10.0.0.7", 0, 0), firewall.ActionDrop, -1},
		{"icmpv6 type", []firewall.Rule{{Action: firewall.ActionAccept, Proto: firewall.ProtoICMPv6, ICMPTypes: []uint8{128}}}, firewall.ActionDrop, with(pkt(firewall.ProtoICMPv6, "2001:db8::1", "2001:db8::2", 0, 0), func(p *firewall.Packet) { p.ICMPType = 128 }), firewall.ActionAccept, 0},
		{"syn,!ack matches SYN", []firewall.Rule{{Action: firewall.ActionReject, Proto: firewall.ProtoTCP, TCPFlagsWant: syn, TCPFlagsMask: syn | ack}}, firewall.ActionAccept, with(tcp4, func(p *firewall.Packet) { p.TCPFlags = syn }), firewall.ActionReject, 0},
		{"syn,!ack ignores other flags", []firewall.Rule{{Action: firewall.ActionReject, Proto: firewall.ProtoTCP, TCPFlagsWant: syn, TCPFlagsMask: syn | ack}}, firewall.ActionAccept, with(tcp4, func(p *firewall.Packet) { p.TCPFlags = syn | 0x80 }), firewall.ActionReject, 0},
		{"syn,!ack skips SYN-ACK", []firewall.Rule{{Action: firewall.ActionReject, Proto: firewall.ProtoTCP, TCPFlagsWant: syn, TCPFlagsMask: syn | ack}}, firewall.ActionAccept, with(tcp4, func(p *firewall.Packet) { p.TCPFlags = syn | ack }), firewall.ActionAccept, -1},
		{"!ack matches no flags", []firewall.Rule{{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, TCPFlagsMask: ack}}, firewall.ActionAccept, tcp4, firewall.ActionDrop, 0},
		{"first match wins over a later one", []firewall.Rule{
			{Action: firewall.ActionAccept, Proto: firewall.ProtoTCP, DstPorts: ports(22, 22)},
			{Action: firewall.ActionDrop, AnyProto: true, Src: pfx("1.1.1.0/24")},
		}, firewall.ActionReject, tcp4, firewall.ActionAccept, 0},
		{"first match: earlier wider rule wins", []firewall.Rule{
			{Action: firewall.ActionDrop, AnyProto: true, Src: pfx("1.0.0.0/8")},
			{Action: firewall.ActionAccept, Proto: firewall.ProtoTCP, DstPorts: ports(22, 22), Src: pfx("1.1.1.7/32")},
		}, firewall.ActionReject, tcp4, firewall.ActionDrop, 0},
		{"non-matching earlier rule skipped", []firewall.Rule{
			{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, DstPorts: ports(23, 23)},
			{Action: firewall.ActionAccept, Proto: firewall.ProtoTCP, DstPorts: ports(20, 30)},
		}, firewall.ActionReject, tcp4, firewall.ActionAccept, 1},
		{"duplicate rule never matches first", []firewall.Rule{
			{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, DstPorts: ports(22, 22)},
			{Action: firewall.ActionAccept, Proto: firewall.ProtoTCP, DstPorts: ports(22, 22)},
		}, firewall.ActionReject, tcp4, firewall.ActionDrop, 0},
		{"all conditions together", []firewall.Rule{{Action: firewall.ActionAccept, Proto: firewall.ProtoTCP,
			Src: pfx("1.1.1.0/24"), Dst: pfx("10.0.0.7/32"), SrcPorts: ports(1024, 65535), DstPorts: ports(22, 22),
			TCPFlagsWant: syn, TCPFlagsMask: syn | ack}}, firewall.ActionDrop, with(tcp4, func(p *firewall.Packet) { p.TCPFlags = syn }), firewall.ActionAccept, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := firewall.Compile(tc.rules, tc.def)
			if err != nil {
				t.Fatal(err)
			}
			a, r := rs.Classify(&tc.pkt)
			if a != tc.want || r != tc.rule {
				t.Errorf("Classify = (%v, %d), want (%v, %d)", a, r, tc.want, tc.rule)
			}
			if wa, wr := refClassify(tc.rules, tc.def, &tc.pkt); wa != tc.want || wr != tc.rule {
				t.Errorf("oracle = (%v, %d), want (%v, %d): the test or the oracle is wrong", wa, wr, tc.want, tc.rule)
			}
		})
	}
}

// TestPrototype is background.md's firewall: tenant 1 ingress allows TCP
// 22 and ICMP, egress denies TCP 22.
func TestPrototype(t *testing.T) {
	in, err := firewall.Compile([]firewall.Rule{
		{Name: "ssh", Action: firewall.ActionAccept, Proto: firewall.ProtoTCP, DstPorts: ports(22, 22)},
		{Name: "icmp", Action: firewall.ActionAccept, Proto: firewall.ProtoICMP},
	}, firewall.ActionDrop)
	if err != nil {
		t.Fatal(err)
	}
	out, err := firewall.Compile([]firewall.Rule{
		{Name: "no-ssh-out", Action: firewall.ActionDrop, Proto: firewall.ProtoTCP, DstPorts: ports(22, 22)},
	}, firewall.ActionAccept)
	if err != nil {
		t.Fatal(err)
	}
	tbl := firewall.NewTable(2)
	tbl.Set(0, firewall.Ingress, in)
	tbl.Set(0, firewall.Egress, out)
	for _, tc := range []struct {
		name string
		d    firewall.Direction
		p    firewall.Packet
		want firewall.Action
	}{
		{"client to tenant ssh", firewall.Ingress, pkt(firewall.ProtoTCP, "1.1.1.7", "10.0.0.7", 40000, 22), firewall.ActionAccept},
		{"client to tenant telnet", firewall.Ingress, pkt(firewall.ProtoTCP, "1.1.1.7", "10.0.0.7", 40000, 23), firewall.ActionDrop},
		{"client ping", firewall.Ingress, pkt(firewall.ProtoICMP, "1.1.1.7", "10.0.0.7", 0, 0), firewall.ActionAccept},
		{"tenant ssh out", firewall.Egress, pkt(firewall.ProtoTCP, "10.0.0.7", "1.1.1.7", 40000, 22), firewall.ActionDrop},
		{"tenant http out", firewall.Egress, pkt(firewall.ProtoTCP, "10.0.0.7", "1.1.1.7", 40000, 80), firewall.ActionAccept},
	} {
		if a, _ := tbl.Get(0, tc.d).Classify(&tc.p); a != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, a, tc.want)
		}
	}
	if tbl.Get(1, firewall.Ingress) != nil {
		t.Error("unset slot is not nil (accept all)")
	}
	if in.Name(0) != "ssh" || in.Name(-1) != "" || in.Len() != 2 {
		t.Errorf("Name/Len: %q %q %d", in.Name(0), in.Name(-1), in.Len())
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		rule firewall.Rule
		err  error
	}{
		{"bad action", firewall.Rule{Action: 7, AnyProto: true}, firewall.ErrAction},
		{"invalid prefix", firewall.Rule{Src: []netip.Prefix{{}}, AnyProto: true}, firewall.ErrPrefix},
		{"ports on any proto", firewall.Rule{AnyProto: true, DstPorts: ports(1, 2)}, firewall.ErrPorts},
		{"ports on icmp", firewall.Rule{Proto: firewall.ProtoICMP, SrcPorts: ports(1, 2)}, firewall.ErrPorts},
		{"reversed range", firewall.Rule{Proto: firewall.ProtoTCP, DstPorts: ports(5, 2)}, firewall.ErrPort},
		{"icmp types on tcp", firewall.Rule{Proto: firewall.ProtoTCP, ICMPTypes: []uint8{8}}, firewall.ErrICMP},
		{"tcp flags on udp", firewall.Rule{Proto: firewall.ProtoUDP, TCPFlagsMask: syn}, firewall.ErrTCPFlags},
		{"want outside mask", firewall.Rule{Proto: firewall.ProtoTCP, TCPFlagsWant: syn, TCPFlagsMask: ack}, firewall.ErrFlagBits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := firewall.Compile([]firewall.Rule{{AnyProto: true}, tc.rule}, firewall.ActionAccept)
			var re *firewall.RuleError
			if !errors.Is(err, tc.err) || !errors.As(err, &re) || re.Index != 1 {
				t.Fatalf("err = %v, want rule 1: %v", err, tc.err)
			}
		})
	}
	if _, err := firewall.Compile(nil, 9); !errors.Is(err, firewall.ErrAction) {
		t.Errorf("bad default: %v", err)
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{firewall.ActionAccept.String(), "accept"}, {firewall.ActionDrop.String(), "drop"},
		{firewall.ActionReject.String(), "reject"}, {firewall.Action(9).String(), "action(9)"},
		{firewall.Ingress.String(), "ingress"}, {firewall.Egress.String(), "egress"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	g := newGen(1)
	rules := g.rules(500)
	rs, err := firewall.Compile(rules, firewall.ActionDrop)
	if err != nil {
		t.Fatal(err)
	}
	pkts := make([]firewall.Packet, 256)
	for i := range pkts {
		pkts[i] = g.packet(rules)
	}
	tbl := firewall.NewTable(100)
	tbl.Set(42, firewall.Egress, rs)
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		tbl.Get(42, firewall.Egress).Classify(&pkts[i%len(pkts)])
		i++
	}); n != 0 {
		t.Errorf("Table.Get + Classify: %v allocs per run, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { rs.Count(3); rs.Count(-1) }); n != 0 {
		t.Errorf("Count: %v allocs per run, want 0", n)
	}
}

// TestCountersConcurrent counts from several goroutines while classifying
// (run with -race).
func TestCountersConcurrent(t *testing.T) {
	rules := []firewall.Rule{
		{Action: firewall.ActionAccept, Proto: firewall.ProtoTCP, DstPorts: ports(22, 22)},
		{Action: firewall.ActionDrop, AnyProto: true},
	}
	rs, err := firewall.Compile(rules, firewall.ActionAccept)
	if err != nil {
		t.Fatal(err)
	}
	tbl := firewall.NewTable(1)
	const workers, per = 4, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := pkt(firewall.ProtoTCP, "1.1.1.7", "10.0.0.7", 1, 22)
			for i := range per {
				if w == 0 && i%100 == 0 {
					tbl.Set(0, firewall.Ingress, rs) // concurrent reload
				}
				p.DstPort = uint16(22 + i%2)
				_, r := rs.Classify(&p)
				rs.Count(r)
				rs.Count(-1)
				_ = tbl.Get(0, firewall.Ingress)
			}
		}()
	}
	wg.Wait()
	per2, def := rs.Counters()
	if per2[0] != workers*per/2 || per2[1] != workers*per/2 || def != workers*per {
		t.Errorf("counters = %v, default %d", per2, def)
	}
}

func TestTableRange(t *testing.T) {
	tbl := firewall.NewTable(3)
	if tbl.Tenants() != 3 {
		t.Fatalf("Tenants = %d", tbl.Tenants())
	}
	for _, f := range []func(){
		func() { tbl.Get(3, firewall.Ingress) },
		func() { tbl.Get(-1, firewall.Egress) },
		func() { tbl.Get(0, 2) },
		func() { tbl.Set(3, firewall.Ingress, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("out of range access did not panic")
				}
			}()
			f()
		}()
	}
}

// TestNoForbiddenImports keeps the per-packet package free of the control
// plane, formatting and logging (doc.go).
func TestNoForbiddenImports(t *testing.T) {
	depcheck.Check(t, "xdpgw/dataplane/firewall", func(dep string) bool {
		return dep == "fmt" || dep == "log" || strings.HasPrefix(dep, "log/") ||
			strings.HasPrefix(dep, "xdpgw/control") || strings.Contains(dep, "gopacket") || strings.Contains(dep, "grpc")
	})
}
