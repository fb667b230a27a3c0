package firewall

import "unsafe"

// Stats describes a compiled rule set's structure (for reports and
// tuning; it walks the trees, so keep it off the data path).
type Stats struct {
	Rules      int // rules given to Compile
	Trees      int // decision trees over all families and protocol classes
	Nodes      int // interior decision nodes
	Leaves     int // distinct leaves
	Candidates int // leaf entries: rules times their replication
	MaxLeaf    int // longest candidate list of a leaf (the worst-case scan)
	MaxDepth   int // most decision nodes on a path
	FlagLeaves int // leaves that are tables over the TCP flags
	Bytes      int // memory of the compiled arrays, excluding rule names
}

// Stats returns the structure's figures.
func (rs *RuleSet) Stats() Stats {
	s := Stats{Rules: len(rs.actions), Trees: len(rs.trees), Nodes: len(rs.nodes)}
	leaves := make(map[ref]bool)
	leaf := func(r ref) {
		if leaves[r] {
			return
		}
		leaves[r] = true
		n := 0
		if r >= refFlags && r < refVerdict {
			s.FlagLeaves++
		}
		if r < refFlags { // a flags leaf or a verdict has no candidates
			for i := r & refMask; ; i++ {
				n++
				if rs.lms[i].flags&mLast != 0 {
					break
				}
			}
		}
		s.Leaves++
		s.Candidates += n
		s.MaxLeaf = max(s.MaxLeaf, n)
	}
	depth := make([]int, len(rs.nodes)) // children come before parents
	for i := range rs.nodes {
		n := &rs.nodes[i]
		for _, k := range rs.kids(n) {
			if k < refRanged {
				depth[i] = max(depth[i], depth[k]+1)
			} else {
				depth[i] = max(depth[i], 1)
				leaf(k)
			}
		}
		s.MaxDepth = max(s.MaxDepth, depth[i])
	}
	for _, t := range rs.trees {
		if t.root >= refRanged {
			leaf(t.root)
		}
	}
	s.Bytes = int(unsafe.Sizeof(*rs)) +
		len(rs.actions)*int(unsafe.Sizeof(Action(0))) +
		len(rs.hits)*8 +
		(len(rs.fam[0].classes)+len(rs.fam[1].classes))*int(unsafe.Sizeof(classRoots{})) +
		len(rs.trees)*int(unsafe.Sizeof(tree{})) +
		len(rs.nodes)*int(unsafe.Sizeof(node{})) +
		len(rs.recs)*int(unsafe.Sizeof(rec{})) + len(rs.recs32)*int(unsafe.Sizeof(rec32{})) +
		len(rs.radix)*4 + len(rs.isl)*int(unsafe.Sizeof(island{})) +
		len(rs.lms)*int(unsafe.Sizeof(matcher{})) + len(rs.flagTab)*4 +
		len(rs.xms)*int(unsafe.Sizeof(xmatcher{})) +
		len(rs.pfx)*int(unsafe.Sizeof(pfx{})) +
		len(rs.ports)*int(unsafe.Sizeof(PortRange{})) + len(rs.icmps)
	return s
}

// kids returns the children of interior node n (with repetitions).
func (rs *RuleSet) kids(n *node) []ref {
	if n.roff != 0 && n.base == 0 { // a direct table (bounds are never 0)
		return rs.radix[n.roff : n.roff+n.nbk]
	}
	kids := make([]ref, 0, n.n+1)
	if n.kshift == wideRecs {
		for _, r := range rs.recs[n.off : n.off+n.n+1] {
			kids = append(kids, r.kid)
		}
	} else {
		for _, r := range rs.recs32[n.off : n.off+n.n+1] {
			kids = append(kids, r.kid)
		}
	}
	return kids
}
