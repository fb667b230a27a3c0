package firewall_test

import (
	"encoding/binary"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"xdpgw/dataplane/firewall"
)

// TestDifferential compares Classify with the linear oracle on seeded
// random rule sets with heavy overlap and packets aimed at the edges of
// the rules' prefixes and port ranges.
func TestDifferential(t *testing.T) {
	sizes := []int{0, 1, 2, 3, 5, 8, 13, 30, 64, 100, 250, 500, 1000, 2000}
	for _, n := range sizes {
		seeds := 6
		if n >= 500 {
			seeds = 2
		}
		for seed := range seeds {
			t.Run(strconv.Itoa(n)+"/"+strconv.Itoa(seed), func(t *testing.T) {
				g := newGen(uint64(n)*1000 + uint64(seed))
				rules := g.rules(n)
				def := firewall.Action(seed % 3)
				rs, err := firewall.Compile(rules, def)
				if err != nil {
					t.Fatal(err)
				}
				pkts := 3000
				if testing.Short() {
					pkts = 300
				}
				hits := 0
				for range pkts {
					p := g.packet(rules)
					wa, wr := refClassify(rules, def, &p)
					ga, gr := rs.Classify(&p)
					if wa != ga || wr != gr {
						t.Fatalf("packet %+v: Classify = (%v, %d), want (%v, %d)\nrule %d: %+v", p, ga, gr, wa, wr, wr, ruleAt(rules, wr))
					}
					if wr >= 0 {
						hits++
					}
				}
				if n >= 30 && hits < pkts/10 {
					t.Errorf("only %d of %d packets matched a rule: the generator does not aim well", hits, pkts)
				}
			})
		}
	}
}

func ruleAt(rules []firewall.Rule, i int32) any {
	if i < 0 {
		return "default"
	}
	return rules[i]
}

// fuzzReader hands out the fuzz input's bytes, then zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) u16() uint16 { return uint16(r.byte())<<8 | uint16(r.byte()) }

var fuzzBases = []netip.Addr{
	netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"),
	netip.MustParseAddr("2001:db8::7"), netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
}

// addr: a base address with one byte xored at a chosen position.
func (r *fuzzReader) addr() netip.Addr {
	a := fuzzBases[int(r.byte())%len(fuzzBases)]
	b := a.AsSlice()
	pos, x := r.byte(), r.byte()
	b[int(pos)%len(b)] ^= x
	a, _ = netip.AddrFromSlice(b)
	return a
}

func (r *fuzzReader) prefixes(n int) []netip.Prefix {
	var ps []netip.Prefix
	for range n {
		a := r.addr()
		ps = append(ps, netip.PrefixFrom(a, int(r.byte())%(a.BitLen()+1)))
	}
	return ps
}

func (r *fuzzReader) ports(n int) []firewall.PortRange {
	var prs []firewall.PortRange
	for range n {
		a, b := r.u16(), r.u16()
		prs = append(prs, firewall.PortRange{Lo: min(a, b), Hi: max(a, b)})
	}
	return prs
}

// decodeFuzz builds a rule set and packets from the fuzz input. Layout:
// byte 0: rule count (mod 24) and the default; per rule: an action/proto
// byte, a byte of list lengths, then the lists (prefix: base, position,
// xor, bits; port range: two big-endian ports; ICMP: count then types),
// TCP want and mask for TCP rules; the rest is packets of 14 bytes.
func decodeFuzz(data []byte) ([]firewall.Rule, firewall.Action, []firewall.Packet) {
	r := &fuzzReader{b: data}
	h := r.byte()
	n := int(h % 24)
	def := firewall.Action(h / 24 % 3)
	var rules []firewall.Rule
	for range n {
		a := r.byte()
		ru := firewall.Rule{Action: firewall.Action(a % 3)}
		switch (a / 3) % 6 {
		case 5:
			ru.AnyProto = true
		default:
			ru.Proto = protos[(a/3)%6]
		}
		l := r.byte()
		ru.Src = r.prefixes(int(l % 3))
		ru.Dst = r.prefixes(int(l / 3 % 3))
		if !ru.AnyProto && (ru.Proto == firewall.ProtoTCP || ru.Proto == firewall.ProtoUDP) {
			ru.SrcPorts = r.ports(int(l / 9 % 3))
			ru.DstPorts = r.ports(int(l / 27 % 3))
		}
		if !ru.AnyProto && (ru.Proto == firewall.ProtoICMP || ru.Proto == firewall.ProtoICMPv6) {
			for range int(l / 9 % 3) {
				ru.ICMPTypes = append(ru.ICMPTypes, r.byte())
			}
		}
		if !ru.AnyProto && ru.Proto == firewall.ProtoTCP && l >= 81 {
			ru.TCPFlagsMask = r.byte()
			ru.TCPFlagsWant = r.byte() & ru.TCPFlagsMask
		}
		rules = append(rules, ru)
	}
	var pkts []firewall.Packet
	for len(r.b) > 0 {
		var p firewall.Packet
		c := r.byte()
		p.IPv6 = c&1 != 0
		if c&2 != 0 {
			p.Proto = r.byte()
		} else {
			p.Proto = protos[int(c>>2)%len(protos)]
		}
		for _, dst := range []*[16]byte{&p.Src, &p.Dst} {
			a := r.addr()
			if a.Is4() != !p.IPv6 { // wrong family: keep the bytes anyway
				a = netip.AddrFrom16(a.As16())
			}
			if p.IPv6 {
				*dst = a.As16()
			} else {
				b := a.As16()
				binary.BigEndian.PutUint32(dst[:], binary.BigEndian.Uint32(b[12:]))
			}
		}
		p.SrcPort, p.DstPort = r.u16(), r.u16()
		p.ICMPType, p.TCPFlags = r.byte(), r.byte()
		pkts = append(pkts, p)
	}
	return rules, def, pkts
}

// fuzzSeeds are the committed corpus; each name says what it aims at.
var fuzzSeeds = map[string][]byte{
	"empty":                  {},
	"no_rules_one_packet":    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	"tcp_dport_22_hit":       {1, 0, 27, 0, 22, 0, 22, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 22, 0, 0},
	"tcp_dport_range_edge":   {1, 0, 27, 0, 100, 0, 200, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 201, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0},
	"v4_prefix_vs_v6_packet": {1, 15, 1, 0, 0, 0, 24, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	"v6_prefix_len_65":       {1, 16, 1, 3, 8, 1, 65, 5, 3, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	"syn_not_ack":            {1, 1, 81, 0x12, 0x02, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12},
	"icmp_type_list":         {2, 7, 9, 8, 16, 1, 9, 0, 3, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	"overlap_first_match":    {3, 15, 0, 1, 0, 27, 0, 80, 0, 80, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 80, 0, 0},
	"any_proto_odd_protocol": {1, 17, 1, 0, 0, 0, 8, 2, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
}

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/FuzzClassify from fuzzSeeds")

// TestWriteFuzzCorpus checks that testdata/fuzz/FuzzClassify holds every
// seed of fuzzSeeds as written; -update-corpus rewrites it.
func TestWriteFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzClassify")
	if *updateCorpus {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range fuzzSeeds {
		s := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
		path := filepath.Join(dir, name)
		if !*updateCorpus {
			if got, err := os.ReadFile(path); err != nil || string(got) != s {
				t.Errorf("%s is missing or stale; run with -update-corpus", path)
			}
			continue
		}
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, b := range fuzzSeeds {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, def, pkts := decodeFuzz(data)
		rs, err := firewall.Compile(rules, def)
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		if rs.Len() != len(rules) {
			t.Fatalf("Len = %d, want %d", rs.Len(), len(rules))
		}
		for i := range pkts {
			p := &pkts[i]
			wa, wr := refClassify(rules, def, p)
			ga, gr := rs.Classify(p)
			if wa != ga || wr != gr {
				t.Fatalf("packet %+v: Classify = (%v, %d), want (%v, %d)", *p, ga, gr, wa, wr)
			}
		}
	})
}

// TestDifferentialClustered compares Classify with the oracle on rule sets
// whose bounds crowd into one radix bucket (hosts of one /24 next to
// prefixes far apart, for IPv4 and IPv6), so that a bucket holds more
// bounds than its entry can count and the search runs to the node's end.
func TestDifferentialClustered(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		var rules []firewall.Rule
		var hosts []netip.Addr
		base := netip.MustParseAddr("10.0.0.0")
		far := []string{"1.0.0.0/8", "200.0.0.0/8", "100.64.0.0/10"}
		if v6 {
			base = netip.MustParseAddr("2001:db8::")
			far = []string{"1000::/8", "fe80::/10", "3000::/12"}
		}
		a := base
		for i := range 400 {
			a = a.Next()
			if i%3 == 0 {
				a = a.Next() // gaps, so that neighbours differ
			}
			hosts = append(hosts, a)
			rules = append(rules, firewall.Rule{Action: firewall.Action(i % 3), AnyProto: true, Src: []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}})
		}
		for _, f := range far {
			rules = append(rules, firewall.Rule{Action: firewall.ActionReject, AnyProto: true, Src: pfx(f)})
		}
		rs, err := firewall.Compile(rules, firewall.ActionAccept)
		if err != nil {
			t.Fatal(err)
		}
		check := func(src netip.Addr) {
			p := pkt(firewall.ProtoUDP, src.String(), src.String(), 1, 2)
			wa, wr := refClassify(rules, firewall.ActionAccept, &p)
			ga, gr := rs.Classify(&p)
			if wa != ga || wr != gr {
				t.Fatalf("src %v: Classify = (%v, %d), want (%v, %d)", src, ga, gr, wa, wr)
			}
		}
		for _, h := range hosts {
			check(h)
			check(h.Next())
			check(h.Prev())
		}
		for _, f := range far {
			p := netip.MustParsePrefix(f)
			check(p.Addr())
			check(p.Addr().Prev())
		}
	}
}

// TestDifferentialRealistic compares Classify with the oracle on the
// benchmark's realistic rule sets, whose per-port accepts and source-less
// port ranges end most port intervals' candidate lists early (split) and
// whose AnyProto drops form one tree shared by every protocol class.
func TestDifferentialRealistic(t *testing.T) {
	for _, n := range []int{50, 3000} {
		rules := realistic(n, uint64(n))
		rs, err := firewall.Compile(rules, firewall.ActionReject)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(uint64(n), 9))
		pkts := 20000
		if testing.Short() {
			pkts = 2000
		}
		for range pkts {
			p := aimedPacket(r, rules)
			if r.IntN(8) == 0 { // other flags and protocols, the IPv6 low bits
				p.TCPFlags = uint8(r.IntN(256))
				p.Proto = protos[r.IntN(len(protos))]
				p.Dst[8+r.IntN(8)] ^= byte(1 + r.IntN(255))
			}
			wa, wr := refClassify(rules, firewall.ActionReject, &p)
			ga, gr := rs.Classify(&p)
			if wa != ga || wr != gr {
				t.Fatalf("n=%d packet %+v: Classify = (%v, %d), want (%v, %d)\nrule %d: %+v", n, p, ga, gr, wa, wr, wr, ruleAt(rules, wr))
			}
		}
	}
}

// TestDifferentialVerdicts compares Classify with the oracle on rules that
// set one condition or none, or two (a port and a prefix) that the path to
// a leaf cuts both, which the trees answer without reading a matcher
// (verdict leaves), mixed with rules that look alike but are not exact
// products of their intervals (TCP flags only, IPv6 prefixes longer than
// /64) and so must still be checked.
func TestDifferentialVerdicts(t *testing.T) {
	for seed := range 8 {
		t.Run(strconv.Itoa(seed), func(t *testing.T) {
			g := newGen(uint64(seed) + 77)
			rules := make([]firewall.Rule, 300+100*seed)
			for i := range rules {
				r := firewall.Rule{Action: firewall.Action(g.r.IntN(3)), Proto: protos[g.r.IntN(len(protos))]}
				switch g.r.IntN(10) {
				case 0, 1, 2: // one destination port range
					r.Proto = []uint8{firewall.ProtoTCP, firewall.ProtoUDP}[g.r.IntN(2)]
					lo := g.port()
					hi := min(65535, int(lo)+[]int{0, 1, 300}[g.r.IntN(3)])
					r.DstPorts = []firewall.PortRange{{Lo: lo, Hi: uint16(hi)}}
				case 3, 4, 5: // sources only, often AnyProto
					r.AnyProto = g.r.IntN(2) == 0
					r.Src = []netip.Prefix{g.prefix()}
				case 6: // a destination only, or (path) one of a few ports and a prefix
					r.Dst = []netip.Prefix{g.prefix()}
					if g.r.IntN(2) == 0 {
						p := []uint16{22, 80, 443}[g.r.IntN(3)]
						r.Proto = firewall.ProtoTCP
						r.DstPorts = []firewall.PortRange{{Lo: p, Hi: p}}
						if g.r.IntN(2) == 0 {
							r.Src, r.Dst = r.Dst, nil
						}
					}
				case 7: // ICMP types, or source ports, only
					if g.r.IntN(2) == 0 {
						r.Proto = firewall.ProtoICMP
						r.ICMPTypes = []uint8{uint8(g.r.IntN(12))}
					} else {
						r.Proto = firewall.ProtoUDP
						r.SrcPorts = []firewall.PortRange{{Lo: g.port(), Hi: 65535}}
					}
				case 8: // not exact: flags only, or an IPv6 source longer than /64
					if g.r.IntN(2) == 0 {
						r.Proto = firewall.ProtoTCP
						r.TCPFlagsMask = uint8(1 + g.r.IntN(255))
						r.TCPFlagsWant = uint8(g.r.IntN(256)) & r.TCPFlagsMask
					} else {
						a := g.bases[7+g.r.IntN(len(g.bases)-7)]
						p, _ := a.Prefix(65 + g.r.IntN(64))
						r.Src = []netip.Prefix{p}
					}
				default: // no condition but the protocol, rarely none at all
					r.AnyProto = g.r.IntN(20) == 0
				}
				rules[i] = r
			}
			def := firewall.Action(seed % 3)
			rs, err := firewall.Compile(rules, def)
			if err != nil {
				t.Fatal(err)
			}
			for range 5000 {
				p := g.packet(rules)
				wa, wr := refClassify(rules, def, &p)
				ga, gr := rs.Classify(&p)
				if wa != ga || wr != gr {
					t.Fatalf("packet %+v: Classify = (%v, %d), want (%v, %d)\nrule %d: %+v", p, ga, gr, wa, wr, wr, ruleAt(rules, wr))
				}
			}
		})
	}
}

// TestDifferentialFlags checks the leaves that are tables over the TCP
// flags (rules with no condition but the protocol and TCP flags, such as
// "accept TCP ACK"), with every flags value: alone, several of them in
// one leaf (the first whose mask and want match wins), and behind
// lower-numbered port and source rules in other trees of the class.
func TestDifferentialFlags(t *testing.T) {
	for seed := range 6 {
		t.Run(strconv.Itoa(seed), func(t *testing.T) {
			g := newGen(uint64(seed) + 500)
			var rules []firewall.Rule
			for i := range 40 + 40*seed {
				r := firewall.Rule{Action: firewall.Action(g.r.IntN(3)), Proto: firewall.ProtoTCP}
				switch {
				case i%7 == 3 || seed == 0: // flags only
					r.TCPFlagsMask = uint8(1 + g.r.IntN(255))
					r.TCPFlagsWant = uint8(g.r.IntN(256)) & r.TCPFlagsMask
				case i%2 == 0:
					p := g.port()
					r.DstPorts = []firewall.PortRange{{Lo: p, Hi: p}}
				default:
					r.AnyProto, r.Proto = true, 0
					r.Src = []netip.Prefix{g.prefix()}
				}
				rules = append(rules, r)
			}
			def := firewall.Action(seed % 3)
			rs, err := firewall.Compile(rules, def)
			if err != nil {
				t.Fatal(err)
			}
			if rs.Stats().FlagLeaves == 0 {
				t.Fatalf("no flags leaf in %+v", rs.Stats())
			}
			for range 300 {
				p := g.packet(rules)
				p.Proto = firewall.ProtoTCP
				for f := range 256 {
					p.TCPFlags = uint8(f)
					wa, wr := refClassify(rules, def, &p)
					if ga, gr := rs.Classify(&p); wa != ga || wr != gr {
						t.Fatalf("packet %+v: Classify = (%v, %d), want (%v, %d)", p, ga, gr, wa, wr)
					}
				}
			}
		})
	}
}

// TestDifferentialBuckets compares Classify with the oracle at every bound
// of nodes with a radix index whose buckets hold a few bounds each (the
// records of a ranged bucket, the node's last record and what follows it
// in the flat arrays): ports exhaustively, and addresses (IPv4, and IPv6
// with 16-byte records) at and around each bound, up to the largest key.
func TestDifferentialBuckets(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	var rules []firewall.Rule
	for i := range 300 {
		lo := uint16(r.IntN(65536))
		if i%50 == 0 {
			lo = 65535 - uint16(i/50)
		}
		hi := lo + uint16(min(r.IntN(4), int(65535-lo)))
		rules = append(rules, firewall.Rule{Action: firewall.Action(i % 3), Proto: firewall.ProtoTCP, DstPorts: ports(lo, hi)})
	}
	rs, err := firewall.Compile(rules, firewall.ActionAccept)
	if err != nil {
		t.Fatal(err)
	}
	p := pkt(firewall.ProtoTCP, "1.2.3.4", "5.6.7.8", 1000, 0)
	for port := range 65536 {
		p.DstPort = uint16(port)
		wa, wr := refClassify(rules, firewall.ActionAccept, &p)
		if ga, gr := rs.Classify(&p); wa != ga || wr != gr {
			t.Fatalf("port %d: Classify = (%v, %d), want (%v, %d)", port, ga, gr, wa, wr)
		}
	}
	for _, v6 := range []bool{false, true} {
		rules = rules[:0]
		var addrs []netip.Addr
		for i := range 400 {
			var b [16]byte
			for j := range b {
				b[j] = byte(r.IntN(256))
			}
			if i < 2 { // the top of the space, in a bucket of few bounds
				for j := range b {
					b[j] = 0xff
				}
				b[1] ^= byte(i)
			}
			a, bits := netip.AddrFrom16(b), 128-[]int{0, 1, 8, 60, 70, 100}[r.IntN(6)]
			if !v6 {
				a, bits = netip.AddrFrom4([4]byte(b[:4])), 32-r.IntN(12)
			}
			pre := netip.PrefixFrom(a, bits).Masked()
			rules = append(rules, firewall.Rule{Action: firewall.Action(i % 3), AnyProto: true, Src: []netip.Prefix{pre}})
			last := pre.Addr()
			for last.Next().IsValid() && pre.Contains(last.Next()) && last.BitLen()-pre.Bits() < 16 {
				last = last.Next()
			}
			addrs = append(addrs, pre.Addr(), pre.Addr().Prev(), last, last.Next())
		}
		if v6 {
			addrs = append(addrs, netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), netip.IPv6Unspecified())
		} else {
			addrs = append(addrs, netip.MustParseAddr("255.255.255.255"), netip.IPv4Unspecified())
		}
		rs, err := firewall.Compile(rules, firewall.ActionAccept)
		if err != nil {
			t.Fatal(err)
		}
		checkAddrs(t, rules, rs, addrs)
	}
}

// TestManyTreesInAClass: a class can have a tree per dimension for its
// AnyProto rules (sources, destinations), one per dimension for its own
// protocol's rules (ports both ways, destinations, sources), and the wide
// one: seven for TCP. Every tree must be descended; the rule of the last
// one (by lowest rule) matches the packets that no other rule does.
func TestManyTreesInAClass(t *testing.T) {
	var rules []firewall.Rule
	pfx := func(i, j int) []netip.Prefix {
		return []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(10 + i), byte(j), 0, 0}), 24)}
	}
	for i := range 6 {
		for j := range 8 {
			r := firewall.Rule{Action: firewall.ActionDrop, Proto: firewall.ProtoTCP}
			switch i {
			case 0:
				r.AnyProto, r.Proto, r.Src = true, 0, pfx(i, j)
			case 1:
				r.AnyProto, r.Proto, r.Dst = true, 0, pfx(i, j)
			case 2:
				r.DstPorts = []firewall.PortRange{{Lo: uint16(100 + j), Hi: uint16(100 + j)}}
			case 3:
				r.SrcPorts = []firewall.PortRange{{Lo: uint16(100 + j), Hi: uint16(100 + j)}}
			case 4:
				r.Dst = pfx(i, j)
			case 5:
				r.Src = pfx(i, j)
			}
			rules = append(rules, r)
		}
	}
	rules = append(rules, firewall.Rule{Action: firewall.ActionAccept, Proto: firewall.ProtoTCP, TCPFlagsWant: 0x10, TCPFlagsMask: 0x10})
	rs, err := firewall.Compile(rules, firewall.ActionReject)
	if err != nil {
		t.Fatal(err)
	}
	if st := rs.Stats(); st.Trees < 7 {
		t.Fatalf("the rules make %d trees, want at least 7 (the test's premise)", st.Trees)
	}
	p := pkt(firewall.ProtoTCP, "192.0.2.1", "198.51.100.1", 40000, 443)
	p.TCPFlags = 0x10
	wa, wr := refClassify(rules, firewall.ActionReject, &p)
	if ga, gr := rs.Classify(&p); ga != wa || gr != wr {
		t.Fatalf("Classify = (%v, %d), want (%v, %d)", ga, gr, wa, wr)
	}
	for i := range 6 { // and one packet per group, on its last rule
		p := pkt(firewall.ProtoTCP, "192.0.2.1", "198.51.100.1", 40000, 443)
		switch i {
		case 0, 5:
			p.Src = [16]byte{byte(10 + i), 7, 0, 1}
		case 1, 4:
			p.Dst = [16]byte{byte(10 + i), 7, 0, 1}
		case 2:
			p.DstPort = 107
		case 3:
			p.SrcPort = 107
		}
		wa, wr := refClassify(rules, firewall.ActionReject, &p)
		if ga, gr := rs.Classify(&p); ga != wa || gr != wr {
			t.Fatalf("group %d: Classify = (%v, %d), want (%v, %d)", i, ga, gr, wa, wr)
		}
	}
}

// TestEveryProtocolNamed: rules that name every protocol number make a
// class for each, 257 with the AnyProto one: each protocol's packets must
// still reach their own class.
func TestEveryProtocolNamed(t *testing.T) {
	var rules []firewall.Rule
	for p := range 256 {
		rules = append(rules, firewall.Rule{Action: firewall.Action(p % 3), Proto: uint8(p), Dst: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	}
	rs, err := firewall.Compile(rules, firewall.ActionAccept)
	if err != nil {
		t.Fatal(err)
	}
	for p := range 256 {
		pk := pkt(uint8(p), "198.51.100.1", "192.0.2.9", 1, 2)
		wa, wr := refClassify(rules, firewall.ActionAccept, &pk)
		if ga, gr := rs.Classify(&pk); ga != wa || gr != wr {
			t.Fatalf("protocol %d: Classify = (%v, %d), want (%v, %d)", p, ga, gr, wa, wr)
		}
	}
}

// TestDifferentialIslandsIPv6: IPv6 prefixes no longer than /32 have
// bounds whose low 32 bits (of the top 64) are zero, so their node keeps
// 8-byte records and gets an island index over the addresses' top 32
// bits (kshift 32): checked at every prefix's first and last address,
// just outside both, and at random addresses.
func TestDifferentialIslandsIPv6(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var rules []firewall.Rule
	var addrs []netip.Addr
	for i := range 300 {
		var b [16]byte
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		bits := 8 + r.IntN(25)
		pre := netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked()
		rules = append(rules, firewall.Rule{Action: firewall.Action(i % 3), AnyProto: true, Src: []netip.Prefix{pre}})
		addrs = append(addrs, pre.Addr(), pre.Addr().Prev())
		last := pre.Addr().As16()
		for k := bits; k < 128; k++ {
			last[k/8] |= 0x80 >> (k % 8)
		}
		l := netip.AddrFrom16(last)
		addrs = append(addrs, l, l.Next())
	}
	rs, err := firewall.Compile(rules, firewall.ActionAccept)
	if err != nil {
		t.Fatal(err)
	}
	for range 20000 {
		var b [16]byte
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		addrs = append(addrs, netip.AddrFrom16(b))
	}
	checkAddrs(t, rules, rs, addrs)
}

// checkAddrs classifies a UDP packet from and to each valid address of
// addrs and compares the result with the reference (default accept).
func checkAddrs(t *testing.T, rules []firewall.Rule, rs *firewall.RuleSet, addrs []netip.Addr) {
	t.Helper()
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		p := pkt(firewall.ProtoUDP, a.String(), a.String(), 1, 2)
		wa, wr := refClassify(rules, firewall.ActionAccept, &p)
		if ga, gr := rs.Classify(&p); wa != ga || wr != gr {
			t.Fatalf("src %v: Classify = (%v, %d), want (%v, %d)", a, ga, gr, wa, wr)
		}
	}
}
