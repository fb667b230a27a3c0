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
)

// dimMax is the largest key of each dimension.
var dimMax = [nDims]uint64{65535, 65535, math.MaxUint64, math.MaxUint64, 255}

// span is a slice of one of the RuleSet's flat arrays.
type span struct{ off, n uint32 }

// pfx is a compiled prefix: addr&mask == net, on the 128-bit address
// split into two halves (IPv4: the address is in the top 32 bits of hi).
type pfx struct{ hi, lo, mhi, mlo uint64 }

// matcher is one rule compiled for one address family: the exact check a
// leaf runs, in 32 bytes so that a candidate costs one cache line. It
// holds the common shape inline: at most one source and one destination
// prefix no longer than 64 bits (compared on the keys' top 64 bits, the
// prefix length in sbits and dbits; 0 sets no condition), one
// destination port range ({0, 65535} when none), one ICMP type. A rule
// of any other shape (several prefixes, ports or types, source ports,
// IPv6 prefixes longer than /64) has mExt set and src indexing its
// general form in RuleSet.xms.
type matcher struct {
	src, dst     uint64
	rule         int32
	dport        PortRange
	want, mask   uint8
	sbits, dbits uint8
	icmp         uint8
	flags        uint8
	act          Action
}

// matcher.flags
const (
	mICMP = 1 << iota // icmp is a condition
	mExt              // the rule is checked by xms[src]
	mLast             // the last matcher of its leaf (RuleSet.lms)
)

// xmatcher is the general form of a rule for one address family. Empty
// spans set no condition.
type xmatcher struct {
	want, mask   uint8
	src, dst     span // into RuleSet.pfx
	sport, dport span // into RuleSet.ports
	icmp         span // into RuleSet.icmps
}

// ref designates a subtree: an interior node, or a leaf, which needs no
// node of its own (a descent ends in the ref of its leaf, one load
// earlier). The top bits say which:
//
//	00   nodes[ref]
//	01   (radix entries and islands' out only) bounds lo..lo+n of the
//	     bucket, see node
//	10   a leaf: its candidates' matchers, sorted by rule, are the run
//	     lms[ref&refMask:] up to the first with mLast set (copies, so
//	     that a leaf is one run of lines, not an index list whose every
//	     entry is a cache miss into the rule set's matchers)
//	110  a flags leaf: every candidate sets no condition but on TCP
//	     flags, so the leaf is a table of 256 packed verdicts indexed by
//	     the packet's flags, flagTab[ref&refMask+flags] (no matcher read,
//	     no branch; "accept TCP ACK" rules)
//	111  a verdict: every packet that reaches it matches one rule; the
//	     low 29 bits are rule<<2 | action (packed), no matcher is read
//	     (a rule with no condition but on the dimension of the node
//	     above, or none at all: builder.split, builder.leaf). The empty
//	     leaf is the verdict of noRule, above every rule, so that
//	     Classify takes both with one CMOV, without telling them apart
//	     (a branch that random packets would mispredict).
type ref = uint32

const (
	refRanged  = 1 << 30
	refLeaf    = 2 << 30
	refFlags   = 3 << 30
	refVerdict = 7 << 29
	refMask    = 1<<30 - 1
	refEmpty   = refVerdict | noRule<<2

	// packedMask extracts rule<<2 | action from a verdict.
	packedMask = 1<<29 - 1
	// noRule is above every rule index (Compile refuses more rules).
	noRule = 1<<27 - 1

	// Ranged radix entries: lo in the low rangedBits bits, the number of
	// bounds above (rangedMaxN: up to the node's last bound).
	rangedBits = 23
	rangedMaxN = 1<<(30-rangedBits) - 1
)

// node is an interior decision node: it cuts dimension dim at n bounds
// (sorted; the starts of intervals 1..n, interval 0 starts at 0). Its
// intervals are the records recs[off:off+n+1]: record i holds the end of
// interval i (bound i, the next interval's start; math.MaxUint64 for the
// last) and the ref of its child, so that a search finds the child in the
// line of the bound that decided it. Small nodes count the bounds <= key
// without a branch: their loads are independent and overlap.
//
// A node with many bounds also has a radix index that replaces the search:
// keys below base (the first bound) are in interval 0; otherwise bucket h
// = min((key-base)>>shift, nbk-1) has the entry radix[roff+h], either the
// child's ref itself (no bound falls inside the bucket: one load) or a
// ranged entry: records lo..lo+c of the node (bounds lo..lo+c-1 fall
// inside the bucket) are scanned. Basing the buckets on the first bound
// adapts the index to bounds clustered in a small part of the domain (a
// tenant's /22). A node of 8-byte records has an island index instead
// (ioff, into isl; the same base, shift and nbk): each bucket is an
// island (see island), so that no branch depends on which kind of bucket
// a key falls in. Ports and ICMP types with many bounds get a direct
// table instead: one entry per key from 0, every entry a child, and no
// records.
//
// Records are 8 bytes (rec32, in recs32) when every bound fits 32 bits
// after a shift by kshift: ports (0) and IPv4 addresses or IPv6 prefixes
// up to /32 (32, the bounds' low bits are zero); otherwise 16 bytes (rec,
// in recs; kshift is wideRecs).
type node struct {
	dim    uint8
	shift  uint8
	kshift uint8
	n      uint32
	off    uint32 // into recs or recs32
	roff   uint32 // 0: no radix index (radix[0] is never a node's)
	ioff   uint32 // 0: no island index (isl[0] is never a node's)
	nbk    uint32 // buckets of the radix or island index
	base   uint64
}

// island is a bucket of a node's island index (child): keys x (after the
// node's kshift) with lo <= x < lo+width, computed as x-lo < width
// without a branch, take child in, the others out. A bucket that is not
// an island has width 0 and a ranged entry in out.
type island struct {
	lo, width uint32
	in, out   ref
}

// islandBits: an island index has 2^islandBits buckets per bound,
// rounded (builder.islands).
const islandBits = 1

// rec is the end of an interval and its child (node).
type rec struct {
	end uint64
	kid ref
}

// rec32 is a rec whose end fits 32 bits (node.kshift).
type rec32 struct {
	end uint32
	kid ref
}

const wideRecs = 0xff // node.kshift of a node with 16-byte records

// maxTrees bounds the trees of a class (builder.class): one per dimension
// for its AnyProto rules, one per dimension for its own protocol's, and
// the wide one (TCP reaches seven: AnyProto sources and destinations,
// both ports, destinations, sources, wide).
const maxTrees = 2*nDims + 1

// tree is one decision tree of a protocol class; minRule is the smallest
// rule index in it. A class's trees are sorted by it, so that the leaves
// of later trees are scanned with a lower best so far and stop sooner.
type tree struct {
	root    ref
	minRule int32
}

// family holds the protocol classes of one address family: class[proto]
// indexes classes. The slice's header comes first, so that it shares a
// line with the first protocols' indexes (ICMP and TCP).
type family struct {
	classes []classRoots
	class   [256]uint16 // 257 classes when every protocol is named
}

// classRoots is a protocol class: the roots of its trees (the span of
// rs.trees the builder made, sorted by minRule), held inline so that a
// packet of a rule set that is not in the caches reaches its trees' roots
// one dependent load sooner.
type classRoots struct {
	n     uint32
	roots [maxTrees]ref
}

// RuleSet is a compiled, immutable rule set. Classify is safe for
// concurrent use and does not allocate; the hit counters are atomic.
type RuleSet struct {
	// What Classify reads for every packet first, in three or four lines
	// (a rule set that is not in the caches costs fewer misses): the
	// arrays' headers, then IPv4's classes and its protocols' indexes.
	nodes   []node
	isl     []island
	lms     []matcher // leaves: runs of matchers (ref)
	flagTab []uint32  // flags leaves: 256 packed verdicts each (ref)
	recs32  []rec32
	radix   []ref
	fam     [2]family // IPv4, IPv6

	def     Action
	actions []Action
	names   []string
	hits    []atomic.Uint64 // per rule, then the default policy
	trees   []tree          // every class's trees (build and Stats)
	recs    []rec
	xms     []xmatcher
	pfx     []pfx
	ports   []PortRange
	icmps   []uint8
}

// key is a packet reduced to what the decision nodes and leaves read.
type key struct {
	v        [nDims]uint64
	dlo, slo uint64
	flags    uint8
}

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

	cl := &f.classes[f.class[p.Proto]]
	roots := cl.roots[:min(cl.n, maxTrees)]
	// best is the first match so far, packed (rule<<2 | action), so that
	// one comparison orders matches by rule and keeps their action.
	best := uint32(noRule << 2)
	// Every tree is descended, even when an earlier one found a rule
	// below its minRule: skipping it would be a branch on the earlier
	// trees' verdicts, which a random packet mispredicts as often as it
	// matches and only after their loads arrive; the descents that remain
	// (islands, verdicts, flags tables) cost less than that.
	for _, r := range roots {
		for r < refRanged {
			nd := &rs.nodes[r]
			x := k.v[nd.dim]
			if nd.ioff != 0 && x >= nd.base { // child's island path, inlined
				is := &rs.isl[nd.ioff+uint32(min((x-nd.base)>>nd.shift, uint64(nd.nbk-1)))]
				x32 := uint32(min(x>>nd.kshift, math.MaxUint32))
				r = is.out ^ (is.out^is.in)&-b2u(x32-is.lo < is.width)
				if r&^refMask == refRanged {
					r = rs.ranged(nd, x, r)
				}
				continue
			}
			r = rs.child(nd, x)
		}
		if r >= refVerdict { // a verdict or the empty leaf
			best = min(best, r&packedMask)
			continue
		}
		if r >= refFlags {
			best = min(best, rs.flagTab[r&refMask+uint32(k.flags)])
			continue
		}
		if m := rs.scan(r, &k, int32(best>>2)); m != nil {
			best = uint32(m.rule)<<2 | uint32(m.act)
		}
	}
	if best>>2 == noRule {
		return rs.def, -1
	}
	return Action(best & 3), int32(best >> 2)
}

// scan returns the first candidate of leaf r below best that matches k,
// or nil.
func (rs *RuleSet) scan(r ref, k *key, best int32) *matcher {
	for i := r & refMask; ; i++ {
		m := &rs.lms[i]
		if m.rule >= best {
			return nil // candidates are sorted by rule
		}
		if rs.match(m, k) {
			return m
		}
		if m.flags&mLast != 0 {
			return nil
		}
	}
}

// child returns the child of interior node nd for key x, for the nodes
// and keys that Classify's island step does not take: a radix index or a
// direct table, records alone, keys below an island index's base.
func (rs *RuleSet) child(nd *node, x uint64) ref {
	if nd.roff != 0 && x >= nd.base {
		e := rs.radix[nd.roff+uint32(min((x-nd.base)>>nd.shift, uint64(nd.nbk-1)))]
		if e&^refMask != refRanged {
			return e
		}
		return rs.ranged(nd, x, e)
	}
	return rs.search(nd, x, nd.off, nd.off+nd.n)
}

// ranged returns the child of x in node nd, given the ranged entry e of
// x's bucket.
//
//go:noinline
func (rs *RuleSet) ranged(nd *node, x uint64, e ref) ref {
	lo := nd.off + e&(1<<rangedBits-1)
	hi := lo + e>>rangedBits&rangedMaxN
	if hi-lo == rangedMaxN {
		hi = nd.off + nd.n
	}
	return rs.search(nd, x, lo, hi)
}

// search returns the child of the interval of x, given that x is at or
// above the bound of record lo-1 and below that of record hi.
func (rs *RuleSet) search(nd *node, x uint64, lo, hi uint32) ref {
	if nd.kshift == wideRecs {
		r := rs.recs[lo:hi]
		if len(r) > radixMin {
			return rs.recs[lo+upper(r, x)].kid
		}
		return rs.recs[lo+count(r, x)].kid
	}
	x32 := uint32(min(x>>nd.kshift, math.MaxUint32))
	r := rs.recs32[lo:hi]
	if len(r) > radixMin {
		return rs.recs32[lo+upper32(r, x32)].kid
	}
	return rs.recs32[lo+count32(r, x32)].kid
}

// b2u is 1 if b, else 0 (a SETcc, no branch).
func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// count returns the number of records of r whose end is <= x, without a
// branch: for the few records of a small node or a radix bucket.
func count(r []rec, x uint64) uint32 {
	var c uint32
	for i := range r {
		c += b2u(r[i].end <= x)
	}
	return c
}

// count32 is count on 32-bit records.
func count32(r []rec32, x uint32) uint32 {
	var c uint32
	for i := range r {
		c += b2u(r[i].end <= x)
	}
	return c
}

// upper32 is upper on 32-bit records.
func upper32(r []rec32, x uint32) uint32 {
	base, n := 0, len(r)
	for n > 1 {
		half := n / 2
		if r[base+half].end <= x {
			base += half
		}
		n -= half
	}
	if r[base].end <= x {
		base++
	}
	return uint32(base)
}

// upper returns the number of records of the sorted, non-empty r whose
// end is <= x, by a binary search without a data-dependent branch (the
// compiler turns the conditional add into a CMOV), so random keys cost no
// mispredictions.
func upper(r []rec, x uint64) uint32 {
	base, n := 0, len(r)
	for n > 1 {
		half := n / 2
		if r[base+half].end <= x {
			base += half
		}
		n -= half
	}
	if r[base].end <= x {
		base++
	}
	return uint32(base)
}

// match is the exact check of one compiled rule.
func (rs *RuleSet) match(m *matcher, k *key) bool {
	if m.flags&mExt != 0 {
		return rs.matchExt(&rs.xms[m.src], k)
	}
	return k.flags&m.mask == m.want &&
		uint16(k.v[dimDport])-m.dport.Lo <= m.dport.Hi-m.dport.Lo &&
		(k.v[dimSrc]^m.src)>>(64-m.sbits) == 0 &&
		(k.v[dimDst]^m.dst)>>(64-m.dbits) == 0 &&
		(m.flags&mICMP == 0 || uint8(k.v[dimICMP]) == m.icmp)
}

// matchExt is the exact check of a rule's general form.
func (rs *RuleSet) matchExt(m *xmatcher, k *key) bool {
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
