package firewall

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
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
	// radixMin: nodes with more bounds get a radix index.
	radixMin = 16
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
	if len(rules) >= noRule {
		return nil, ErrTooMany // beyond what a verdict ref can hold
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
		rs:        rs,
		memo:      make(map[string]ref),
		single:    make(map[int32]ref),
		flagsMemo: make(map[string]ref),
		budget:    budgetBase + budgetPerRule*len(rules),
	}
	b.shadowed = duplicates(rules)
	for f := range rs.fam {
		b.family(rules, f)
	}
	b.shrink()
	if len(rs.nodes) > refMask || len(rs.lms) > refMask || len(rs.flagTab) > refVerdict-refFlags {
		return nil, ErrTooMany // beyond what a ref can address
	}
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
	rs  *RuleSet
	ms  []matcher       // one per rule and family, by matcher id (copied into the leaves)
	ivs [][nDims][]ival // per matcher: its projection on each dimension
	// free is, per matcher, the set of dimensions (bit d) in which the
	// rule sets no condition, and bit exactBit if the rule is exactly
	// the product of its projections (no TCP flags, no IPv6 prefix
	// longer than /64): such a rule matches every packet of a region it
	// covers (split).
	free []uint8
	// anyProto marks the matchers of AnyProto rules.
	anyProto []bool
	memo     map[string]ref
	// single holds the leaf of each matcher alone, once made;
	// flagsMemo the flags leaf of each set (setKey), once made.
	single    map[int32]ref
	flagsMemo map[string]ref
	budget    int
	// shadowed marks rules whose conditions equal an earlier rule's: they
	// can never be the first match, so they are left out of the trees.
	shadowed []bool
}

// duplicates marks the rules whose match conditions (in canonical form:
// masked, sorted prefixes, merged port ranges, sorted ICMP types) equal
// those of an earlier rule.
func duplicates(rules []Rule) []bool {
	seen := make(map[string]struct{}, len(rules))
	dup := make([]bool, len(rules))
	var k []byte
	for i := range rules {
		k = canon(k[:0], &rules[i])
		if _, ok := seen[string(k)]; ok {
			dup[i] = true
			continue
		}
		seen[string(k)] = struct{}{}
	}
	return dup
}

func canon(k []byte, r *Rule) []byte {
	if r.AnyProto {
		k = append(k, 1, 0)
	} else {
		k = append(k, 0, r.Proto)
	}
	k = append(k, r.TCPFlagsWant, r.TCPFlagsMask)
	for _, ps := range [][]netip.Prefix{r.Src, r.Dst} {
		m := make([]netip.Prefix, len(ps))
		for i, p := range ps {
			m[i] = p.Masked()
		}
		slices.SortFunc(m, func(x, y netip.Prefix) int {
			if c := x.Addr().Compare(y.Addr()); c != 0 {
				return c
			}
			return x.Bits() - y.Bits()
		})
		m = slices.Compact(m)
		k = binary.AppendUvarint(k, uint64(len(m)))
		for _, p := range m {
			// The address's length first: an IPv4 address and its bits
			// must not read as the first bytes of an IPv6 one.
			k = append(k, byte(p.Addr().BitLen()))
			k = append(k, p.Addr().AsSlice()...)
			k = append(k, byte(p.Bits()))
		}
	}
	for _, prs := range [][]PortRange{r.SrcPorts, r.DstPorts} {
		iv := make([]ival, len(prs))
		for i, pr := range prs {
			iv[i] = ival{uint64(pr.Lo), uint64(pr.Hi)}
		}
		if len(iv) > 0 {
			iv = merge(iv)
		}
		k = binary.AppendUvarint(k, uint64(len(iv)))
		for _, x := range iv {
			k = binary.BigEndian.AppendUint16(k, uint16(x.lo))
			k = binary.BigEndian.AppendUint16(k, uint16(x.hi))
		}
	}
	t := slices.Clone(r.ICMPTypes)
	slices.Sort(t)
	t = slices.Compact(t)
	k = binary.AppendUvarint(k, uint64(len(t)))
	return append(k, t...)
}

// family compiles the rules that can match packets of family f (0 IPv4,
// 1 IPv6).
func (b *builder) family(rules []Rule, f int) {
	rs := b.rs
	var anyM []int32        // matchers of AnyProto rules
	var protoM [256][]int32 // matchers per protocol, without AnyProto ones
	for i := range rules {
		r := &rules[i]
		if b.shadowed[i] {
			continue
		}
		m, ok := b.matcher(r, int32(i), f == 1)
		if !ok {
			continue
		}
		id := int32(len(b.ms))
		b.ms = append(b.ms, m)
		b.anyProto = append(b.anyProto, r.AnyProto)
		if r.AnyProto {
			anyM = append(anyM, id)
		} else {
			protoM[r.Proto] = append(protoM[r.Proto], id)
		}
	}
	fam := &rs.fam[f]
	fam.classes = append(fam.classes, b.roots(b.class(anyM)))
	for p := range protoM {
		if len(protoM[p]) == 0 {
			continue
		}
		// The class of protocol p: its own rules and the AnyProto ones,
		// in rule order (matcher ids grow with the rule index).
		set := slices.Concat(anyM, protoM[p])
		slices.Sort(set)
		fam.class[p] = uint16(len(fam.classes))
		fam.classes = append(fam.classes, b.roots(b.class(set)))
	}
}

// matcher compiles r for one family; ok is false when r cannot match a
// packet of that family (all its source or destination prefixes are of
// the other family).
func (b *builder) matcher(r *Rule, idx int32, v6 bool) (m matcher, ok bool) {
	rs := b.rs
	var iv [nDims][]ival
	var x xmatcher
	np, nports, nicmps := len(rs.pfx), len(rs.ports), len(rs.icmps)
	m.rule = idx
	m.want, m.mask = r.TCPFlagsWant, r.TCPFlagsMask
	x.want, x.mask = m.want, m.mask
	x.src, iv[dimSrc], ok = b.prefixes(r.Src, v6)
	if !ok {
		return m, false
	}
	x.dst, iv[dimDst], ok = b.prefixes(r.Dst, v6)
	if !ok {
		return m, false
	}
	x.sport, iv[dimSport] = b.portSpan(r.SrcPorts)
	x.dport, iv[dimDport] = b.portSpan(r.DstPorts)
	if len(r.ICMPTypes) > 0 {
		x.icmp = span{uint32(len(rs.icmps)), uint32(len(r.ICMPTypes))}
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
	var free uint8
	for d := range iv {
		if len(iv[d]) == 1 && iv[d][0] == (ival{0, dimMax[d]}) {
			free |= 1 << d
		}
	}
	if x.mask == 0 && !rs.lowBits(x.src) && !rs.lowBits(x.dst) {
		free |= exactBit
	}
	b.free = append(b.free, free)
	// The inline form, if the rule has its shape (matcher).
	m.dport = PortRange{0, 65535}
	inline := x.src.n <= 1 && x.dst.n <= 1 && x.sport.n == 0 && x.dport.n <= 1 && x.icmp.n <= 1
	if x.src.n == 1 {
		q := rs.pfx[x.src.off]
		m.src, m.sbits = q.hi, uint8(bits.OnesCount64(q.mhi))
		inline = inline && q.mlo == 0
	}
	if x.dst.n == 1 {
		q := rs.pfx[x.dst.off]
		m.dst, m.dbits = q.hi, uint8(bits.OnesCount64(q.mhi))
		inline = inline && q.mlo == 0
	}
	if x.dport.n == 1 {
		m.dport = rs.ports[x.dport.off]
	}
	if x.icmp.n == 1 {
		m.icmp, m.flags = rs.icmps[x.icmp.off], mICMP
	}
	m.act = r.Action
	if !inline {
		m = matcher{rule: idx, act: r.Action, flags: mExt, src: uint64(len(rs.xms))}
		rs.xms = append(rs.xms, x)
	} else { // only the general form reads them
		rs.pfx, rs.ports, rs.icmps = rs.pfx[:np], rs.ports[:nports], rs.icmps[:nicmps]
	}
	return m, true
}

// exactBit is builder.free's bit of a rule that is the product of its
// projections.
const exactBit = 1 << nDims

// lowBits reports whether a prefix of s has a condition on the low 64
// bits of the address.
func (rs *RuleSet) lowBits(s span) bool {
	for _, q := range rs.pfx[s.off : s.off+s.n] {
		if q.mlo != 0 {
			return true
		}
	}
	return false
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
// and returns their span in rs.trees. Rules are grouped greedily so that
// there are few trees: the dimension in which most remaining rules are
// narrow takes them all, and so on; rules narrow in no dimension, and
// groups too small to be worth a tree, form the wide group.
func (b *builder) class(set []int32) span {
	rs := b.rs
	var narrow [nDims][]bool
	for d := range nDims {
		narrow[d] = make([]bool, len(set))
		for i, m := range set {
			narrow[d][i] = b.cover(m, d) <= narrowCover
		}
	}
	// The AnyProto rules are grouped first and on their own: their groups
	// are then the same in every class of the family, and build shares
	// their trees (the source prefixes of a tenant's drops are one tree,
	// not one per protocol).
	taken := make([]bool, len(set))
	var groups [][]int32
	for _, anyProto := range []bool{true, false} {
		for {
			bestD, bestN := -1, leafSize
			for d := range nDims {
				n := 0
				for i, m := range set {
					if !taken[i] && narrow[d][i] && b.anyProto[m] == anyProto {
						n++
					}
				}
				if n > bestN {
					bestD, bestN = d, n
				}
			}
			if bestD < 0 {
				break
			}
			var g []int32
			for i, m := range set {
				if !taken[i] && narrow[bestD][i] && b.anyProto[m] == anyProto {
					taken[i] = true
					g = append(g, m)
				}
			}
			groups = append(groups, g)
		}
	}
	var wide []int32
	for i, m := range set {
		if !taken[i] {
			wide = append(wide, m)
		}
	}
	groups = append(groups, wide)
	s := span{off: uint32(len(rs.trees))}
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		root := b.build(g, 0, 0)
		rs.trees = append(rs.trees, tree{root: root, minRule: b.ms[g[0]].rule})
		s.n++
	}
	slices.SortFunc(rs.trees[s.off:], func(x, y tree) int { return int(x.minRule - y.minRule) })
	if s.n > maxTrees {
		panic("firewall: a class with more trees than maxTrees") // Classify would skip some
	}
	return s
}

// roots returns the roots of the trees of span s (a class, at most
// maxTrees) for its family's classes.
func (b *builder) roots(s span) classRoots {
	c := classRoots{n: s.n}
	for i, t := range b.rs.trees[s.off : s.off+s.n] {
		c.roots[i] = t.root
	}
	return c
}

func setKey(set []int32, path uint8) string {
	k := make([]byte, 4*len(set)+1)
	for i, m := range set {
		binary.LittleEndian.PutUint32(k[4*i:], uint32(m))
	}
	k[len(k)-1] = path
	return string(k)
}

// build returns the node that classifies among set (matcher ids sorted by
// rule); path holds the dimensions cut on the way to it (bit d). Identical
// sets share one subtree: a child's set is every rule that intersects the
// child's interval over the whole domain (intervals are not clipped to the
// path's region), so a subtree is correct wherever it is reached with the
// same path.
//
// Every rule of a child's set covers the child's interval on the cut
// dimension (the intervals are unions of elementary ones, each covered by
// a rule or disjoint from it, and joined only if their lists are equal),
// so every rule of set covers the region of every packet that reaches it
// on each dimension of path: a rule that sets no condition but on those
// matches all those packets (covers).
func (b *builder) build(set []int32, depth int, path uint8) ref {
	k := setKey(set, path)
	if id, ok := b.memo[k]; ok {
		return id
	}
	id := b.split(set, depth, path)
	b.memo[k] = id
	return id
}

// covers reports whether matcher m matches every packet that reaches a
// set holding it by a path cutting the dimensions of path (build).
func (b *builder) covers(m int32, path uint8) bool {
	return b.free[m]|path == 1<<nDims-1|exactBit
}

// verdict returns the ref of a leaf whose every packet matches matcher m.
func (b *builder) verdict(m int32) ref {
	x := &b.ms[m]
	return refVerdict | ref(x.rule)<<2 | ref(x.act)
}

// leaf returns the ref of a leaf holding set, reached by path (build). A
// rule that covers the leaf matches every packet that reaches it: the
// rules after it are dropped, and if it is the first, the leaf is its
// verdict.
func (b *builder) leaf(set []int32, path uint8) ref {
	rs := b.rs
	for i, m := range set {
		if b.covers(m, path) {
			if i == 0 {
				return b.verdict(m)
			}
			set = set[:i+1]
			break
		}
	}
	if len(set) == 0 {
		return refEmpty
	}
	if b.flagsOnly(set) {
		return b.flagsLeaf(set)
	}
	if len(set) == 1 && b.single[set[0]] != 0 {
		return b.single[set[0]]
	}
	off := ref(len(rs.lms))
	for _, m := range set {
		rs.lms = append(rs.lms, b.ms[m])
	}
	rs.lms[len(rs.lms)-1].flags |= mLast
	b.budget -= 8 * len(set) // a copied matcher is 32 bytes: eight 4-byte entries
	if len(set) == 1 {
		b.single[set[0]] = refLeaf | off
	}
	return refLeaf | off
}

// flagsOnly reports whether every matcher of set sets no condition but on
// TCP flags.
func (b *builder) flagsOnly(set []int32) bool {
	for _, m := range set {
		if b.free[m]&(1<<nDims-1) != 1<<nDims-1 || b.ms[m].flags&mExt != 0 {
			return false
		}
	}
	return true
}

// flagsLeaf returns the flags leaf of set (flagsOnly): for each value of
// the TCP flags byte, the verdict of the first rule of set it matches.
func (b *builder) flagsLeaf(set []int32) ref {
	k := setKey(set, 0)
	if r, ok := b.flagsMemo[k]; ok {
		return r
	}
	rs := b.rs
	off := ref(len(rs.flagTab))
	for f := range 256 {
		v := uint32(noRule << 2)
		for _, m := range set {
			if x := &b.ms[m]; uint8(f)&x.mask == x.want {
				v = uint32(x.rule)<<2 | uint32(x.act)
				break
			}
		}
		rs.flagTab = append(rs.flagTab, v)
	}
	b.budget -= 256 // 1 KiB: 256 4-byte entries
	b.flagsMemo[k] = refFlags | off
	return refFlags | off
}

// cut is a candidate split of a set along one dimension.
type cut struct {
	dim      int
	bounds   []uint64
	maxCount int
	sum      int
}

func (b *builder) split(set []int32, depth int, path uint8) ref {
	if len(set) <= leafSize || depth >= maxDepth || b.budget <= 0 {
		return b.leaf(set, path)
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
		return b.leaf(set, path)
	}
	// Materialise the children: rules in order, so each list stays sorted.
	// A rule that sets no condition but on d and the dimensions of path
	// (and is exact) matches every packet that reaches an interval it
	// covers (build): the rules after it there can never be the first
	// match, so the interval's list ends with it (closed).
	d := best.dim
	lists := make([][]int32, len(best.bounds)+1)
	closed := make([]bool, len(lists))
	for _, m := range set {
		total := b.covers(m, path|1<<d)
		for _, x := range b.ivs[m][d] {
			ia, ib := countLE(best.bounds, x.lo), countLE(best.bounds, x.hi)
			for j := ia; j <= ib; j++ {
				if !closed[j] {
					lists[j] = append(lists[j], m)
					closed[j] = total
				}
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
		return b.leaf(set, path)
	}
	kids := make([]ref, len(kept))
	for j, l := range kept {
		kids[j] = b.build(l, depth+1, path|1<<d)
	}
	rs := b.rs
	nd := node{dim: uint8(d), n: uint32(len(bounds))}
	last := bounds[len(bounds)-1]
	if dimMax[d] <= math.MaxUint16 && last < 8*uint64(len(bounds)) {
		b.direct(&nd, bounds, kids)
	} else {
		b.records(&nd, bounds, kids)
		switch {
		case len(bounds) <= radixMin || len(bounds) >= 1<<rangedBits:
		case nd.kshift != wideRecs:
			b.islands(&nd, bounds, kids)
		default:
			b.index(&nd, bounds, kids)
		}
	}
	rs.nodes = append(rs.nodes, nd)
	return ref(len(rs.nodes) - 1)
}

// records stores the intervals of a node, in 8-byte records if its bounds
// fit (node).
func (b *builder) records(nd *node, bounds []uint64, kids []ref) {
	rs := b.rs
	low, small := true, true
	for _, x := range bounds {
		low = low && uint32(x) == 0
		small = small && x <= math.MaxUint32
	}
	switch {
	case small:
		nd.kshift = 0
	case low:
		nd.kshift = 32
	default:
		nd.kshift = wideRecs
		nd.off = uint32(len(rs.recs))
		for j, k := range kids {
			end := uint64(math.MaxUint64) // never compared
			if j < len(bounds) {
				end = bounds[j]
			}
			rs.recs = append(rs.recs, rec{end: end, kid: k})
		}
		b.budget -= 2 * len(kids)
		return
	}
	nd.off = uint32(len(rs.recs32))
	for j, k := range kids {
		end := uint32(math.MaxUint32) // never compared
		if j < len(bounds) {
			end = uint32(bounds[j] >> nd.kshift)
		}
		rs.recs32 = append(rs.recs32, rec32{end: end, kid: k})
	}
	b.budget -= len(kids)
}

// direct gives a node of a small dimension (ports, ICMP types) with many
// bounds a table of one entry per key from 0 to its last bound (keys
// above it are in the last bucket, the last interval): every entry is
// the child, found in one load.
func (b *builder) direct(nd *node, bounds []uint64, kids []ref) {
	rs := b.rs
	if len(rs.radix) == 0 {
		rs.radix = append(rs.radix, 0) // roff 0 means "no index"
	}
	buckets := int(bounds[len(bounds)-1]) + 1
	nd.roff, nd.nbk = uint32(len(rs.radix)), uint32(buckets)
	j := 0
	for x := range uint64(buckets) {
		for j < len(bounds) && bounds[j] <= x {
			j++
		}
		rs.radix = append(rs.radix, kids[j])
	}
	// Charged as two records per bound: the table has at most 64 entries
	// per bound, so it stays bounded by them.
	b.budget -= 4 * len(bounds)
}

// index builds the radix index of a node with the given bounds and
// children: four to eight buckets per bound (at most 2^16), over the span
// of the bounds.
func (b *builder) index(nd *node, bounds []uint64, kids []ref) {
	rs := b.rs
	if len(rs.radix) == 0 {
		rs.radix = append(rs.radix, 0) // roff 0 means "no index"
	}
	span := bounds[len(bounds)-1] - bounds[0]
	nbits := min(16, bits.Len(uint(len(bounds)))+2)
	shift := max(0, bits.Len64(span)-nbits)
	buckets := int(span>>shift) + 1
	nd.base, nd.shift, nd.roff, nd.nbk = bounds[0], uint8(shift), uint32(len(rs.radix)), uint32(buckets)
	bucket := func(j int) int { return int((bounds[j] - bounds[0]) >> shift) }
	j := 0 // bounds in buckets below h
	for h := range buckets {
		lo := j
		for j < len(bounds) && bucket(j) <= h {
			j++
		}
		// Bounds lo..j-1 fall in bucket h. The first one is the bucket's
		// start if it is bucket 0's (base) or the buckets are single
		// keys; otherwise keys of the bucket before it are in interval lo.
		switch {
		case lo == j:
			rs.radix = append(rs.radix, kids[lo])
		case j == lo+1 && (h == 0 || shift == 0):
			rs.radix = append(rs.radix, kids[j])
		default:
			rs.radix = append(rs.radix, refRanged|ref(lo)|ref(min(j-lo, rangedMaxN))<<rangedBits)
		}
	}
	b.budget -= buckets / 2 // an entry is a quarter of a record
}

// islands builds the island index of a node with 8-byte records (node):
// islandsPerBound buckets per bound (at most 2^16) over the span of the
// bounds, each an island: after joining adjacent intervals of the bucket
// with the same child, a bucket of one child, of two, or of three whose
// outer two are the same (a prefix or a port inside the bucket, the
// common case) is "keys in [lo, lo+width) take in, others out"; any other
// bucket keeps a ranged entry in out (width 0), searched as before.
func (b *builder) islands(nd *node, bounds []uint64, kids []ref) {
	rs := b.rs
	if len(rs.isl) == 0 {
		rs.isl = append(rs.isl, island{}) // ioff 0 means "no index"
	}
	span := bounds[len(bounds)-1] - bounds[0]
	nbits := min(16, bits.Len(uint(len(bounds)))+islandBits)
	shift := max(0, bits.Len64(span)-nbits)
	buckets := int(span>>shift) + 1
	nd.base, nd.shift, nd.ioff, nd.nbk = bounds[0], uint8(shift), uint32(len(rs.isl)), uint32(buckets)
	bucket := func(j int) int { return int((bounds[j] - bounds[0]) >> shift) }
	var bs []uint32
	var ks []ref
	j := 0 // bounds in buckets below h
	for h := range buckets {
		lo := j
		for j < len(bounds) && bucket(j) <= h {
			j++
		}
		// The bucket's intervals: kids[lo] up to its first bound, ...,
		// kids[j] after its last; join neighbours with the same child.
		bs, ks = bs[:0], append(ks[:0], kids[lo])
		for i := lo; i < j; i++ {
			if kids[i+1] == ks[len(ks)-1] {
				continue
			}
			bs = append(bs, uint32(bounds[i]>>nd.kshift))
			ks = append(ks, kids[i+1])
		}
		var is island
		switch {
		case len(ks) == 1:
			is.out = ks[0]
		case len(ks) == 2: // in from the bound to the end of the key space
			is = island{lo: bs[0], width: -bs[0], in: ks[1], out: ks[0]}
		case len(ks) == 3 && ks[0] == ks[2]:
			is = island{lo: bs[0], width: bs[1] - bs[0], in: ks[1], out: ks[0]}
		default:
			is.out = refRanged | ref(lo) | ref(min(j-lo, rangedMaxN))<<rangedBits
		}
		rs.isl = append(rs.isl, is)
	}
	b.budget -= 4 * buckets // 16 bytes: four 4-byte entries
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
			diff[countLE(pts, x.lo)]++
			diff[countLE(pts, x.hi)+1]--
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

// countLE returns the number of elements of the sorted, duplicate-free b
// that are <= x.
func countLE(b []uint64, x uint64) int {
	i, found := slices.BinarySearch(b, x)
	if found {
		i++
	}
	return i
}

// shrink drops the spare capacity of the flat arrays.
func (b *builder) shrink() {
	rs := b.rs
	rs.trees = slices.Clip(rs.trees)
	rs.nodes = slices.Clip(rs.nodes)
	rs.recs = slices.Clip(rs.recs)
	rs.recs32 = slices.Clip(rs.recs32)
	rs.radix = slices.Clip(rs.radix)
	rs.lms = slices.Clip(rs.lms)
	rs.isl = slices.Clip(rs.isl)
	rs.flagTab = slices.Clip(rs.flagTab)
	rs.xms = slices.Clip(rs.xms)
	rs.pfx = slices.Clip(rs.pfx)
	rs.ports = slices.Clip(rs.ports)
	rs.icmps = slices.Clip(rs.icmps)
}
