package firewall

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
)

// Tuning of the decision trees (doc.go explains them).
const (
	// leafSize: a set of at most this many rules is a leaf, scanned with
	// exact checks; cutting it further costs a node visit and saves little.
	leafSize = 6
	// maxDepth caps the decision nodes on a path.
	maxDepth = 8
	// narrowCover: a rule belongs to the tree of its most selective
	// dimension if that dimension covers at most this fraction of its
	// domain; otherwise it is "wide" and goes to the class's wide tree.
	narrowCover = 0.25
	// budgetPerRule and budgetBase bound the candidate entries and bounds
	// of a rule set (replication); once spent, every further set becomes a
	// leaf, so compilation stays linear-ish in memory whatever the rules.
	budgetPerRule = 48
	budgetBase    = 1 << 16
)

// Errors of Compile, wrapped with the rule's index.
var (
	ErrAction   = errors.New("unknown action")
	ErrPrefix   = errors.New("invalid prefix")
	ErrPorts    = errors.New("ports need proto tcp or udp")
	ErrPort     = errors.New("port range with lo > hi")
	ErrICMP     = errors.New("icmp types need proto icmp or icmpv6")
	ErrTCPFlags = errors.New("tcp flags need proto tcp")
	ErrFlagBits = errors.New("tcp flags want bits outside the mask")
	ErrTooMany  = errors.New("too many rules")
)

// RuleError is a problem with one rule.
type RuleError struct {
	Index int // position in the rules given to Compile
	Err   error
}

func (e *RuleError) Error() string {
	return "rule " + strconv.Itoa(e.Index) + ": " + e.Err.Error()
}

func (e *RuleError) Unwrap() error { return e.Err }

// Compile checks the rules and compiles them, in order, with the default
// policy def. The rules are not retained.
func Compile(rules []Rule, def Action) (*RuleSet, error) {
	if !def.valid() {
		return nil, ErrAction
	}
	if len(rules) >= math.MaxInt32/2 {
		return nil, ErrTooMany
	}
	for i := range rules {
		if err := check(&rules[i]); err != nil {
			return nil, &RuleError{Index: i, Err: err}
		}
	}
	rs := &RuleSet{
		def:     def,
		actions: make([]Action, len(rules)),
		names:   make([]string, len(rules)),
		hits:    make([]atomic.Uint64, len(rules)+1),
	}
	for i := range rules {
		rs.actions[i] = rules[i].Action
		rs.names[i] = rules[i].Name
	}
	b := &builder{
		rs:     rs,
		memo:   make(map[string]int32),
		budget: budgetBase + budgetPerRule*len(rules),
	}
	for f := range rs.fam {
		b.family(rules, f)
	}
	b.shrink()
	return rs, nil
}

func check(r *Rule) error {
	if !r.Action.valid() {
		return ErrAction
	}
	for _, p := range r.Src {
		if !p.IsValid() {
			return ErrPrefix
		}
	}
	for _, p := range r.Dst {
		if !p.IsValid() {
			return ErrPrefix
		}
	}
	if len(r.SrcPorts)+len(r.DstPorts) > 0 && (r.AnyProto || (r.Proto != ProtoTCP && r.Proto != ProtoUDP)) {
		return ErrPorts
	}
	for _, pr := range r.SrcPorts {
		if pr.Lo > pr.Hi {
			return ErrPort
		}
	}
	for _, pr := range r.DstPorts {
		if pr.Lo > pr.Hi {
			return ErrPort
		}
	}
	if len(r.ICMPTypes) > 0 && (r.AnyProto || (r.Proto != ProtoICMP && r.Proto != ProtoICMPv6)) {
		return ErrICMP
	}
	if r.TCPFlagsMask != 0 && (r.AnyProto || r.Proto != ProtoTCP) {
		return ErrTCPFlags
	}
	if r.TCPFlagsWant&^r.TCPFlagsMask != 0 {
		return ErrFlagBits
	}
	return nil
}

// ival is an inclusive interval of keys.
type ival struct{ lo, hi uint64 }

type builder struct {
	rs     *RuleSet
	ivs    [][nDims][]ival // per matcher: its projection on each dimension
	memo   map[string]int32
	budget int
}

// family compiles the rules that can match packets of family f (0 IPv4,
// 1 IPv6).
func (b *builder) family(rules []Rule, f int) {
	rs := b.rs
	var anyM []int32        // matchers of AnyProto rules
	var protoM [256][]int32 // matchers per protocol, without AnyProto ones
	for i := range rules {
		r := &rules[i]
		m, ok := b.matcher(r, int32(i), f == 1)
		if !ok {
			continue
		}
		id := int32(len(rs.ms))
		rs.ms = append(rs.ms, m)
		if r.AnyProto {
			anyM = append(anyM, id)
		} else {
			protoM[r.Proto] = append(protoM[r.Proto], id)
		}
	}
	fam := &rs.fam[f]
	fam.classes = append(fam.classes, b.class(anyM))
	for p := range protoM {
		if len(protoM[p]) == 0 {
			continue
		}
		// The class of protocol p: its own rules and the AnyProto ones,
		// in rule order (matcher ids grow with the rule index).
		set := slices.Concat(anyM, protoM[p])
		slices.Sort(set)
		fam.class[p] = uint8(len(fam.classes))
		fam.classes = append(fam.classes, b.class(set))
	}
}

// matcher compiles r for one family; ok is false when r cannot match a
// packet of that family (all its source or destination prefixes are of
// the other family).
func (b *builder) matcher(r *Rule, idx int32, v6 bool) (m matcher, ok bool) {
	rs := b.rs
	var iv [nDims][]ival
	m.rule = idx
	m.want, m.mask = r.TCPFlagsWant, r.TCPFlagsMask
	m.src, iv[dimSrc], ok = b.prefixes(r.Src, v6)
	if !ok {
		return m, false
	}
	m.dst, iv[dimDst], ok = b.prefixes(r.Dst, v6)
	if !ok {
		return m, false
	}
	m.sport, iv[dimSport] = b.portSpan(r.SrcPorts)
	m.dport, iv[dimDport] = b.portSpan(r.DstPorts)
	if len(r.ICMPTypes) > 0 {
		m.icmp = span{uint32(len(rs.icmps)), uint32(len(r.ICMPTypes))}
		rs.icmps = append(rs.icmps, r.ICMPTypes...)
		for _, t := range r.ICMPTypes {
			iv[dimICMP] = append(iv[dimICMP], ival{uint64(t), uint64(t)})
		}
	}
	for d := range iv {
		if len(iv[d]) == 0 {
			iv[d] = []ival{{0, dimMax[d]}}
		}
		iv[d] = merge(iv[d])
	}
	b.ivs = append(b.ivs, iv)
	return m, true
}

func (b *builder) prefixes(ps []netip.Prefix, v6 bool) (span, []ival, bool) {
	if len(ps) == 0 {
		return span{}, nil, true
	}
	rs := b.rs
	s := span{off: uint32(len(rs.pfx))}
	var iv []ival
	for _, p := range ps {
		a := p.Addr()
		if a.Is4() == v6 {
			continue // the other family's prefix
		}
		bits := p.Bits()
		var q pfx
		if a.Is4() {
			a4 := a.As4()
			q.mhi = topBits(bits) // IPv4 lives in the top 32 bits
			q.hi = uint64(binary.BigEndian.Uint32(a4[:])) << 32 & q.mhi
		} else {
			a16 := a.As16()
			hb, lb := min(bits, 64), max(bits-64, 0)
			q.mhi, q.mlo = topBits(hb), topBits(lb)
			q.hi = binary.BigEndian.Uint64(a16[0:8]) & q.mhi
			q.lo = binary.BigEndian.Uint64(a16[8:16]) & q.mlo
		}
		rs.pfx = append(rs.pfx, q)
		s.n++
		iv = append(iv, ival{q.hi, q.hi | ^q.mhi})
	}
	return s, iv, s.n > 0
}

// topBits returns a uint64 with its n (0..64) top bits set.
func topBits(n int) uint64 {
	if n == 0 {
		return 0
	}
	return ^uint64(0) << (64 - n)
}

func (b *builder) portSpan(prs []PortRange) (span, []ival) {
	if len(prs) == 0 {
		return span{}, nil
	}
	rs := b.rs
	s := span{uint32(len(rs.ports)), uint32(len(prs))}
	rs.ports = append(rs.ports, prs...)
	iv := make([]ival, len(prs))
	for i, pr := range prs {
		iv[i] = ival{uint64(pr.Lo), uint64(pr.Hi)}
	}
	return s, iv
}

// merge sorts intervals and joins overlapping and adjacent ones, so that a
// rule counts once per elementary interval.
func merge(iv []ival) []ival {
	slices.SortFunc(iv, func(x, y ival) int {
		switch {
		case x.lo < y.lo:
			return -1
		case x.lo > y.lo:
			return 1
		}
		return 0
	})
	out := iv[:1]
	for _, x := range iv[1:] {
		last := &out[len(out)-1]
		if last.hi == math.MaxUint64 || x.lo <= last.hi+1 {
			last.hi = max(last.hi, x.hi)
			continue
		}
		out = append(out, x)
	}
	return slices.Clip(out)
}

// cover is the fraction of dimension d's domain that matcher m's
// projection covers.
func (b *builder) cover(m int32, d int) float64 {
	var s float64
	for _, x := range b.ivs[m][d] {
		s += float64(x.hi-x.lo) + 1
	}
	return s / (float64(dimMax[d]) + 1)
}

// class builds the trees of one protocol class from its matchers (sorted)
// and returns their span in rs.trees. Each matcher goes to the group of
// its most selective dimension (or to the wide group); small groups join
// the wide group, since scanning a few rules is cheaper than a tree.
func (b *builder) class(set []int32) span {
	rs := b.rs
	var groups [nDims + 1][]int32
	const wide = nDims
	for _, m := range set {
		g, best := wide, narrowCover
		for d := range nDims {
			if c := b.cover(m, d); c <= best {
				g, best = d, c
			}
		}
		groups[g] = append(groups[g], m)
	}
	for d := range nDims {
		if len(groups[d]) <= leafSize {
			groups[wide] = append(groups[wide], groups[d]...)
			groups[d] = nil
		}
	}
	slices.Sort(groups[wide])
	s := span{off: uint32(len(rs.trees))}
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		root := b.build(g, 0)
		rs.trees = append(rs.trees, tree{root: root, minRule: rs.ms[g[0]].rule})
		s.n++
	}
	slices.SortFunc(rs.trees[s.off:], func(x, y tree) int { return int(x.minRule - y.minRule) })
	return s
}

func setKey(set []int32) string {
	k := make([]byte, 4*len(set))
	for i, m := range set {
		binary.LittleEndian.PutUint32(k[4*i:], uint32(m))
	}
	return string(k)
}

// build returns the node that classifies among set (matcher ids sorted by
// rule). Identical sets share one subtree: a child's set is every rule
// that intersects the child's interval over the whole domain (intervals
// are not clipped to the path's region), so a subtree is correct wherever
// it is reached.
func (b *builder) build(set []int32, depth int) int32 {
	k := setKey(set)
	if id, ok := b.memo[k]; ok {
		return id
	}
	id := b.split(set, depth)
	b.memo[k] = id
	return id
}

func (b *builder) leaf(set []int32) int32 {
	rs := b.rs
	rs.nodes = append(rs.nodes, node{dim: dimLeaf, off: uint32(len(rs.cands)), n: uint32(len(set))})
	rs.cands = append(rs.cands, set...)
	b.budget -= len(set)
	return int32(len(rs.nodes) - 1)
}

// cut is a candidate split of a set along one dimension.
type cut struct {
	dim      int
	bounds   []uint64
	maxCount int
	sum      int
}

func (b *builder) split(set []int32, depth int) int32 {
	if len(set) <= leafSize || depth >= maxDepth || b.budget <= 0 {
		return b.leaf(set)
	}
	best := cut{dim: -1}
	for d := range nDims {
		c := b.score(set, d)
		if c.dim < 0 || c.maxCount*8 > len(set)*7 || c.sum > 16*len(set)+64 || c.sum > b.budget {
			continue
		}
		if best.dim < 0 || c.maxCount < best.maxCount || (c.maxCount == best.maxCount && c.sum < best.sum) {
			best = c
		}
	}
	if best.dim < 0 {
		return b.leaf(set)
	}
	// Materialise the children: rules in order, so each list stays sorted.
	d := best.dim
	lists := make([][]int32, len(best.bounds)+1)
	for _, m := range set {
		for _, x := range b.ivs[m][d] {
			ia, ib := upper(best.bounds, x.lo), upper(best.bounds, x.hi)
			for j := ia; j <= ib; j++ {
				lists[j] = append(lists[j], m)
			}
		}
	}
	// Join adjacent intervals with the same rules.
	bounds := best.bounds[:0:0]
	kept := lists[:1]
	for j := 1; j < len(lists); j++ {
		if slices.Equal(lists[j], kept[len(kept)-1]) {
			continue
		}
		bounds = append(bounds, best.bounds[j-1])
		kept = append(kept, lists[j])
	}
	if len(kept) == 1 {
		return b.leaf(set)
	}
	kids := make([]int32, len(kept))
	for j, l := range kept {
		kids[j] = b.build(l, depth+1)
	}
	rs := b.rs
	nd := node{dim: uint8(d), n: uint32(len(bounds)), off: uint32(len(rs.bounds)), koff: uint32(len(rs.kids))}
	rs.bounds = append(rs.bounds, bounds...)
	rs.kids = append(rs.kids, kids...)
	b.budget -= len(bounds) + len(kids)
	rs.nodes = append(rs.nodes, nd)
	return int32(len(rs.nodes) - 1)
}

// score computes the elementary intervals of set along d and how many
// rules the largest one holds (maxCount) and all hold together (sum).
func (b *builder) score(set []int32, d int) cut {
	var pts []uint64
	for _, m := range set {
		for _, x := range b.ivs[m][d] {
			if x.lo > 0 {
				pts = append(pts, x.lo)
			}
			if x.hi < dimMax[d] {
				pts = append(pts, x.hi+1)
			}
		}
	}
	if len(pts) == 0 {
		return cut{dim: -1}
	}
	slices.Sort(pts)
	pts = slices.Compact(pts)
	diff := make([]int, len(pts)+2)
	for _, m := range set {
		for _, x := range b.ivs[m][d] {
			diff[upper(pts, x.lo)]++
			diff[upper(pts, x.hi)+1]--
		}
	}
	c := cut{dim: d, bounds: pts}
	run := 0
	for _, v := range diff[:len(pts)+1] {
		run += v
		c.sum += run
		c.maxCount = max(c.maxCount, run)
	}
	return c
}

// shrink drops the spare capacity of the flat arrays.
func (b *builder) shrink() {
	rs := b.rs
	rs.trees = slices.Clip(rs.trees)
	rs.nodes = slices.Clip(rs.nodes)
	rs.bounds = slices.Clip(rs.bounds)
	rs.kids = slices.Clip(rs.kids)
	rs.cands = slices.Clip(rs.cands)
	rs.ms = slices.Clip(rs.ms)
	rs.pfx = slices.Clip(rs.pfx)
	rs.ports = slices.Clip(rs.ports)
	rs.icmps = slices.Clip(rs.icmps)
}
