package maglev

// Change is one entry to rewrite: slot Index goes from backend Old of the
// old table to backend New of the new table. Old and New are IDs of
// their own tables (old.Backends and new.Backends); NoBackend stands for
// an entry that does not exist or has no backend on that side.
type Change struct {
	Index    int
	Old, New BackendID
}

// Diff lists the entries whose backend differs between two tables of a
// VIP, in increasing index order: exactly the entries to write to the
// switch. Backends are compared by name, so an entry whose backend kept
// its name is unchanged even if its ID moved (another backend was added
// before it in name order) or its weight changed. If the sizes differ
// (the VIP was resized), every index of either table whose backend
// differs is listed, an index present on one side only with NoBackend on
// the other.
func Diff(old, new Table) []Change {
	// Old IDs translated to new IDs. A removed backend becomes gone, which
	// differs from every new entry, NoBackend included, as its name would;
	// an entry without a backend on both sides is unchanged.
	const gone = BackendID(-2)
	remap := make([]BackendID, len(old.Backends))
	for i, b := range old.Backends {
		if remap[i] = new.ID(b.Name); remap[i] == NoBackend {
			remap[i] = gone
		}
	}
	common := min(len(old.Entries), len(new.Entries))
	oe, ne := old.Entries[:common], new.Entries[:common]
	// Count first, so that the result is one allocation of the right size.
	n := len(old.Entries) + len(new.Entries) - 2*common
	for i, o := range oe {
		t := NoBackend
		if o >= 0 {
			t = remap[o]
		}
		if t != ne[i] {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Change, 0, n)
	for i, o := range oe {
		t := NoBackend
		if o >= 0 {
			t = remap[o]
		}
		if t != ne[i] {
			out = append(out, Change{Index: i, Old: o, New: ne[i]})
		}
	}
	for i := common; i < len(old.Entries); i++ {
		out = append(out, Change{Index: i, Old: old.Entries[i], New: NoBackend})
	}
	for i := common; i < len(new.Entries); i++ {
		out = append(out, Change{Index: i, Old: NoBackend, New: new.Entries[i]})
	}
	return out
}
