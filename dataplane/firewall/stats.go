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
	Bytes      int // memory of the compiled arrays, excluding rule names
}

// Stats returns the structure's figures.
func (rs *RuleSet) Stats() Stats {
	s := Stats{Rules: len(rs.actions), Trees: len(rs.trees)}
	for i := range rs.nodes {
		n := &rs.nodes[i]
		if n.dim == dimLeaf {
			s.Leaves++
			s.Candidates += int(n.n)
			s.MaxLeaf = max(s.MaxLeaf, int(n.n))
		} else {
			s.Nodes++
		}
	}
	depth := make([]int, len(rs.nodes)) // children come before parents
	for i := range rs.nodes {
		n := &rs.nodes[i]
		if n.dim == dimLeaf {
			continue
		}
		for _, k := range rs.kids[n.koff : n.koff+n.n+1] {
			depth[i] = max(depth[i], depth[k]+1)
		}
		s.MaxDepth = max(s.MaxDepth, depth[i])
	}
	s.Bytes = int(unsafe.Sizeof(*rs)) +
		len(rs.actions)*int(unsafe.Sizeof(Action(0))) +
		len(rs.hits)*8 +
		len(rs.fam[0].classes)*8 + len(rs.fam[1].classes)*8 +
		len(rs.trees)*int(unsafe.Sizeof(tree{})) +
		len(rs.nodes)*int(unsafe.Sizeof(node{})) +
		len(rs.bounds)*8 + len(rs.kids)*4 + len(rs.radix)*8 + len(rs.cands)*4 +
		len(rs.ms)*int(unsafe.Sizeof(matcher{})) +
		len(rs.pfx)*int(unsafe.Sizeof(pfx{})) +
		len(rs.ports)*int(unsafe.Sizeof(PortRange{})) + len(rs.icmps)
	return s
}
