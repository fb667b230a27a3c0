package firewall

import (
	"encoding/binary"
	"math"
	"sync/atomic"
)

// Dimensions a decision node may cut. Keys are uint64 so that one node
// layout serves every dimension: ports and ICMP types are small numbers,
// an address is its top 64 bits (IPv4: the address shifted left by 32, so
// an IPv4 prefix is an exact interval; IPv6: prefixes longer than /64
// project onto one value and the leaf check looks at the low 64 bits).
const (
	dimDport = iota
	dimSport
	dimDst
	dimSrc
	dimICMP
	nDims

	dimLeaf = 0xff // node.dim of a leaf
)

// dimMax is the largest key of each dimension.
var dimMax = [nDims]uint64{65535, 65535, math.MaxUint64, math.MaxUint64, 255}

// span is a slice of one of the RuleSet's flat arrays.
type span struct{ off, n uint32 }

// pfx is a compiled prefix: addr&mask == net, on the 128-bit address
// split into two halves (IPv4: the address is in the top 32 bits of hi).
type pfx struct{ hi, lo, mhi, mlo uint64 }

// matcher is one rule compiled for one address family: the exact check a
// leaf runs. Empty spans set no condition.
type matcher struct {
	rule         int32
	want, mask   uint8
	src, dst     span // into RuleSet.pfx
	sport, dport span // into RuleSet.ports
	icmp         span // into RuleSet.icmps
}

// node is a decision node or a leaf. An interior node cuts dimension dim
// at bounds[off:off+n] (sorted; the starts of intervals 1..n, interval 0
// starts at 0); the child of interval i is kids[koff+i]. A leaf holds its
// candidate matchers sorted by rule index: up to two inline in koff and
// roff, more in cands[off:off+n].
//
// A node with many bounds also has a radix index that replaces the binary
// search: keys below base (the first bound) are in interval 0; otherwise
// bucket h = min((key-base)>>shift, nbk-1) has the entry radix[roff+h],
// either the child itself (bit 63 set: no bound falls inside the bucket,
// the common case, one load) or the range lo..hi-1 of bounds inside it
// (lo in the low 32 bits, hi in the high ones) to binary-search. Basing
// the buckets on the first bound adapts the index to bounds clustered in
// a small part of the domain (a tenant's /22).
type node struct {
	dim   uint8
	shift uint8
	n     uint32
	off   uint32
	koff  uint32
	roff  uint32 // 0: no radix index (radix[0] is never a node's)
	nbk   uint32 // buckets of the radix index
	base  uint64
}

const (
	inlineCands = 2
	radixDirect = 1 << 63
)

// tree is one decision tree of a protocol class; minRule is the smallest
// rule index in it, so that a lookup that already found a better (lower)
// rule skips the tree.
type tree struct {
	root    int32
	minRule int32
}

// family holds the protocol classes of one address family: class[proto]
// indexes classes, a span of trees sorted by minRule.
type family struct {
	class   [256]uint8
	classes []span
}

// RuleSet is a compiled, immutable rule set. Classify is safe for
// concurrent use and does not allocate; the hit counters are atomic.
type RuleSet struct {
	def     Action
	actions []Action
	names   []string
	hits    []atomic.Uint64 // per rule, then the default policy

	fam    [2]family // IPv4, IPv6
	trees  []tree
	nodes  []node
	bounds []uint64
	kids   []int32
	radix  []uint64
	cands  []int32
	ms     []matcher
	pfx    []pfx
	ports  []PortRange
	icmps  []uint8
}

// key is a packet reduced to what the decision nodes and leaves read.
type key struct {
	v        [nDims]uint64
	dlo, slo uint64
	flags    uint8
}

const noRule = math.MaxInt32

// Classify returns the action of the first rule (in the operator's order)
// that matches p and that rule's index, or the default policy and -1.
func (rs *RuleSet) Classify(p *Packet) (a Action, rule int32) {
	var k key
	f := &rs.fam[0]
	if p.IPv6 {
		f = &rs.fam[1]
		k.v[dimDst] = binary.BigEndian.Uint64(p.Dst[0:8])
		k.dlo = binary.BigEndian.Uint64(p.Dst[8:16])
		k.v[dimSrc] = binary.BigEndian.Uint64(p.Src[0:8])
		k.slo = binary.BigEndian.Uint64(p.Src[8:16])
	} else {
		k.v[dimDst] = uint64(binary.BigEndian.Uint32(p.Dst[0:4])) << 32
		k.v[dimSrc] = uint64(binary.BigEndian.Uint32(p.Src[0:4])) << 32
	}
	k.v[dimDport] = uint64(p.DstPort)
	k.v[dimSport] = uint64(p.SrcPort)
	k.v[dimICMP] = uint64(p.ICMPType)
	k.flags = p.TCPFlags

	best := int32(noRule)
	cl := f.classes[f.class[p.Proto]]
	for _, t := range rs.trees[cl.off : cl.off+cl.n] {
		if t.minRule >= best {
			break // trees are sorted by minRule
		}
		nd := &rs.nodes[t.root]
		for nd.dim != dimLeaf {
			nd = &rs.nodes[rs.child(nd, k.v[nd.dim])]
		}
		best = rs.scan(nd, &k, best)
	}
	if best == noRule {
		return rs.def, -1
	}
	return rs.actions[best], best
}

// scan returns the first candidate of leaf nd below best that matches k,
// or best.
func (rs *RuleSet) scan(nd *node, k *key, best int32) int32 {
	if nd.n <= inlineCands {
		if nd.n == 0 {
			return best
		}
		if m := &rs.ms[nd.koff]; m.rule >= best {
			return best
		} else if rs.match(m, k) {
			return m.rule
		}
		if nd.n == 2 {
			if m := &rs.ms[nd.roff]; m.rule < best && rs.match(m, k) {
				return m.rule
			}
		}
		return best
	}
	for _, c := range rs.cands[nd.off : nd.off+nd.n] {
		m := &rs.ms[c]
		if m.rule >= best {
			break // candidates are sorted by rule
		}
		if rs.match(m, k) {
			return m.rule
		}
	}
	return best
}

// child returns the child of interior node nd for key x.
func (rs *RuleSet) child(nd *node, x uint64) int32 {
	if nd.roff == 0 {
		return rs.kids[nd.koff+upper(rs.bounds[nd.off:nd.off+nd.n], x)]
	}
	if x < nd.base {
		return rs.kids[nd.koff]
	}
	e := rs.radix[nd.roff+uint32(min((x-nd.base)>>nd.shift, uint64(nd.nbk-1)))]
	if e&radixDirect != 0 {
		return int32(uint32(e))
	}
	b := rs.bounds[nd.off : nd.off+nd.n]
	lo, hi := uint32(e), uint32(e>>32)
	for lo < hi {
		mid := (lo + hi) / 2
		if b[mid] <= x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return rs.kids[nd.koff+lo]
}

// upper returns the number of elements of the sorted, non-empty b that
// are <= x, without a data-dependent branch (the compiler turns the
// conditional add into a CMOV), so random keys cost no mispredictions.
func upper(b []uint64, x uint64) uint32 {
	base, n := 0, len(b)
	for n > 1 {
		half := n / 2
		if b[base+half] <= x {
			base += half
		}
		n -= half
	}
	if b[base] <= x {
		base++
	}
	return uint32(base)
}

// match is the exact check of one compiled rule.
func (rs *RuleSet) match(m *matcher, k *key) bool {
	if k.flags&m.mask != m.want {
		return false
	}
	if m.dport.n != 0 && !inPorts(rs.ports[m.dport.off:m.dport.off+m.dport.n], uint16(k.v[dimDport])) {
		return false
	}
	if m.sport.n != 0 && !inPorts(rs.ports[m.sport.off:m.sport.off+m.sport.n], uint16(k.v[dimSport])) {
		return false
	}
	if m.dst.n != 0 && !inPfx(rs.pfx[m.dst.off:m.dst.off+m.dst.n], k.v[dimDst], k.dlo) {
		return false
	}
	if m.src.n != 0 && !inPfx(rs.pfx[m.src.off:m.src.off+m.src.n], k.v[dimSrc], k.slo) {
		return false
	}
	if m.icmp.n != 0 {
		t := uint8(k.v[dimICMP])
		for _, x := range rs.icmps[m.icmp.off : m.icmp.off+m.icmp.n] {
			if x == t {
				return true
			}
		}
		return false
	}
	return true
}

func inPorts(rs []PortRange, p uint16) bool {
	for _, r := range rs {
		if r.Lo <= p && p <= r.Hi {
			return true
		}
	}
	return false
}

func inPfx(ps []pfx, hi, lo uint64) bool {
	for i := range ps {
		q := &ps[i]
		if hi&q.mhi == q.hi && lo&q.mlo == q.lo {
			return true
		}
	}
	return false
}

// Len returns the number of rules.
func (rs *RuleSet) Len() int { return len(rs.actions) }

// Default returns the default policy.
func (rs *RuleSet) Default() Action { return rs.def }

// Name returns the name of rule i ("" for the default policy, i < 0).
func (rs *RuleSet) Name(i int32) string {
	if i < 0 || int(i) >= len(rs.names) {
		return ""
	}
	return rs.names[i]
}

// Count adds one to the hit counter of rule (as returned by Classify; -1
// is the default policy). It is atomic and meant for the slow path (once
// per new flow): concurrent workers contend on the counter's cache line.
func (rs *RuleSet) Count(rule int32) {
	if rule < 0 || int(rule) >= len(rs.actions) {
		rule = int32(len(rs.actions))
	}
	rs.hits[rule].Add(1)
}

// Counters returns a snapshot of the per-rule hit counters and the
// default policy's.
func (rs *RuleSet) Counters() (perRule []uint64, def uint64) {
	perRule = make([]uint64, len(rs.actions))
	for i := range perRule {
		perRule[i] = rs.hits[i].Load()
	}
	return perRule, rs.hits[len(rs.actions)].Load()
}
