package firewall_test

import (
	"math/rand/v2"
	"net/netip"
	"slices"

	"xdpgw/dataplane/firewall"
)

// refClassify is the oracle: a walk over the rules in order, written from
// the semantics in Rule's comment, sharing no code with the compiler.
func refClassify(rules []firewall.Rule, def firewall.Action, p *firewall.Packet) (firewall.Action, int32) {
	for i := range rules {
		if refMatch(&rules[i], p) {
			return rules[i].Action, int32(i)
		}
	}
	return def, -1
}

func refMatch(r *firewall.Rule, p *firewall.Packet) bool {
	if !r.AnyProto && r.Proto != p.Proto {
		return false
	}
	if !refPrefixes(r.Src, p.IPv6, p.Src) || !refPrefixes(r.Dst, p.IPv6, p.Dst) {
		return false
	}
	if len(r.SrcPorts) > 0 && !refPorts(r.SrcPorts, p.SrcPort) {
		return false
	}
	if len(r.DstPorts) > 0 && !refPorts(r.DstPorts, p.DstPort) {
		return false
	}
	if len(r.ICMPTypes) > 0 && !slices.Contains(r.ICMPTypes, p.ICMPType) {
		return false
	}
	return p.TCPFlags&r.TCPFlagsMask == r.TCPFlagsWant
}

func refPrefixes(ps []netip.Prefix, v6 bool, a [16]byte) bool {
	if len(ps) == 0 {
		return true
	}
	addr := netip.AddrFrom16(a)
	if !v6 {
		addr = netip.AddrFrom4([4]byte(a[:4]))
	}
	for _, p := range ps {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func refPorts(rs []firewall.PortRange, p uint16) bool {
	for _, r := range rs {
		if r.Lo <= p && p <= r.Hi {
			return true
		}
	}
	return false
}

// gen draws rules and packets from small pools of values, so that rules
// overlap heavily and packets land on the edges of their ranges.
type gen struct {
	r     *rand.Rand
	bases []netip.Addr
	ports []uint16
}

func newGen(seed uint64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))}
	for _, s := range []string{"10.0.0.0", "10.0.0.7", "10.1.2.3", "192.168.1.1", "1.1.1.7", "0.0.0.0", "255.255.255.255",
		"2001:db8::1", "2001:db8:0:1::", "64:ff9b::a00:7", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::8000:0:0:1"} {
		g.bases = append(g.bases, netip.MustParseAddr(s))
	}
	g.ports = []uint16{0, 1, 22, 23, 53, 80, 443, 1023, 1024, 8080, 32767, 32768, 65534, 65535}
	return g
}

func (g *gen) port() uint16 {
	if g.r.IntN(4) == 0 {
		return uint16(g.r.IntN(65536))
	}
	return g.ports[g.r.IntN(len(g.ports))]
}

func (g *gen) addr() netip.Addr {
	a := g.bases[g.r.IntN(len(g.bases))]
	if g.r.IntN(3) == 0 { // flip a random bit
		b := a.AsSlice()
		i := g.r.IntN(len(b) * 8)
		b[i/8] ^= 0x80 >> (i % 8)
		a, _ = netip.AddrFromSlice(b)
	}
	return a
}

func (g *gen) prefix() netip.Prefix {
	a := g.addr()
	bits := g.r.IntN(a.BitLen() + 1)
	if g.r.IntN(3) == 0 {
		bits = a.BitLen()
	}
	p, _ := a.Prefix(bits)
	if g.r.IntN(8) == 0 {
		p = netip.PrefixFrom(a, bits) // host bits set: must be ignored
	}
	return p
}

func (g *gen) prefixes() []netip.Prefix {
	if g.r.IntN(2) == 0 {
		return nil
	}
	ps := make([]netip.Prefix, 1+g.r.IntN(3))
	for i := range ps {
		ps[i] = g.prefix()
	}
	return ps
}

func (g *gen) portRanges() []firewall.PortRange {
	if g.r.IntN(2) == 0 {
		return nil
	}
	rs := make([]firewall.PortRange, 1+g.r.IntN(3))
	for i := range rs {
		a, b := g.port(), g.port()
		if g.r.IntN(2) == 0 {
			b = a
		}
		rs[i] = firewall.PortRange{Lo: min(a, b), Hi: max(a, b)}
	}
	return rs
}

var protos = []uint8{firewall.ProtoTCP, firewall.ProtoUDP, firewall.ProtoICMP, firewall.ProtoICMPv6, 47}

func (g *gen) rule(i int) firewall.Rule {
	r := firewall.Rule{Action: firewall.Action(g.r.IntN(3))}
	if g.r.IntN(5) == 0 {
		r.AnyProto = true
		r.Proto = uint8(g.r.IntN(256)) // must be ignored
	} else {
		r.Proto = protos[g.r.IntN(len(protos))]
	}
	r.Src, r.Dst = g.prefixes(), g.prefixes()
	switch {
	case r.AnyProto:
	case r.Proto == firewall.ProtoTCP || r.Proto == firewall.ProtoUDP:
		r.SrcPorts, r.DstPorts = g.portRanges(), g.portRanges()
		if r.Proto == firewall.ProtoTCP && g.r.IntN(3) == 0 {
			r.TCPFlagsMask = uint8(g.r.IntN(256))
			r.TCPFlagsWant = uint8(g.r.IntN(256)) & r.TCPFlagsMask
		}
	case r.Proto == firewall.ProtoICMP || r.Proto == firewall.ProtoICMPv6:
		if g.r.IntN(2) == 0 {
			pool := []uint8{0, 3, 8, 11, 128, 129, 255}
			for range 1 + g.r.IntN(3) {
				r.ICMPTypes = append(r.ICMPTypes, pool[g.r.IntN(len(pool))])
			}
		}
	}
	return r
}

func (g *gen) rules(n int) []firewall.Rule {
	rs := make([]firewall.Rule, n)
	for i := range rs {
		rs[i] = g.rule(i)
	}
	return rs
}

// packet returns a random packet, or (adversarial) one built at an edge of
// a random rule's prefix or port range.
func (g *gen) packet(rules []firewall.Rule) firewall.Packet {
	var p firewall.Packet
	p.IPv6 = g.r.IntN(2) == 0
	p.Proto = protos[g.r.IntN(len(protos))]
	if g.r.IntN(10) == 0 {
		p.Proto = uint8(g.r.IntN(256))
	}
	p.Src, p.Dst = g.packetAddr(p.IPv6), g.packetAddr(p.IPv6)
	p.SrcPort, p.DstPort = g.port(), g.port()
	p.ICMPType = []uint8{0, 3, 8, 11, 128, 129, 255, uint8(g.r.IntN(256))}[g.r.IntN(8)]
	p.TCPFlags = uint8(g.r.IntN(256))
	if len(rules) == 0 || g.r.IntN(4) == 0 {
		return p
	}
	// Aim at a rule: take its protocol and pick each field at an edge.
	r := &rules[g.r.IntN(len(rules))]
	if !r.AnyProto {
		p.Proto = r.Proto
	}
	if len(r.Src) > 0 {
		p.IPv6, p.Src = g.edgeAddr(r.Src[g.r.IntN(len(r.Src))])
	}
	if len(r.Dst) > 0 {
		pre := r.Dst[g.r.IntN(len(r.Dst))]
		if pre.Addr().Is6() == p.IPv6 || len(r.Src) == 0 {
			p.IPv6, p.Dst = g.edgeAddr(pre)
		}
	}
	if len(r.SrcPorts) > 0 {
		p.SrcPort = g.edgePort(r.SrcPorts[g.r.IntN(len(r.SrcPorts))])
	}
	if len(r.DstPorts) > 0 {
		p.DstPort = g.edgePort(r.DstPorts[g.r.IntN(len(r.DstPorts))])
	}
	if len(r.ICMPTypes) > 0 {
		p.ICMPType = r.ICMPTypes[g.r.IntN(len(r.ICMPTypes))] + uint8(g.r.IntN(3)) - 1
	}
	if g.r.IntN(2) == 0 {
		p.TCPFlags = r.TCPFlagsWant | (p.TCPFlags &^ r.TCPFlagsMask)
	}
	return p
}

func (g *gen) packetAddr(v6 bool) (a [16]byte) {
	for {
		b := g.addr()
		if b.Is6() == v6 {
			if v6 {
				return b.As16()
			}
			a4 := b.As4()
			copy(a[:], a4[:])
			return a
		}
		if g.r.IntN(4) == 0 { // a fully random address of the family
			if v6 {
				for i := range a {
					a[i] = byte(g.r.IntN(256))
				}
			} else {
				for i := range 4 {
					a[i] = byte(g.r.IntN(256))
				}
			}
			return a
		}
	}
}

// edgeAddr returns the first or last address of p, or one just outside.
func (g *gen) edgeAddr(p netip.Prefix) (v6 bool, a [16]byte) {
	p = p.Masked()
	first := p.Addr()
	b := first.AsSlice()
	if g.r.IntN(2) == 0 { // last
		for i := p.Bits(); i < len(b)*8; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	switch g.r.IntN(4) {
	case 0: // one below or above
		x, _ := netip.AddrFromSlice(b)
		if g.r.IntN(2) == 0 {
			x = x.Prev()
		} else {
			x = x.Next()
		}
		if x.IsValid() {
			b = x.AsSlice()
		}
	case 1: // random host bits
		for i := p.Bits(); i < len(b)*8; i++ {
			if g.r.IntN(2) == 0 {
				b[i/8] ^= 0x80 >> (i % 8)
			}
		}
	}
	copy(a[:], b)
	return first.Is6(), a
}

func (g *gen) edgePort(r firewall.PortRange) uint16 {
	switch g.r.IntN(4) {
	case 0:
		return r.Lo - 1
	case 1:
		return r.Hi + 1
	case 2:
		return r.Lo
	}
	return r.Hi
}
