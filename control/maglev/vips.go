package maglev

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Mode chooses how a VIP's table is recomputed when its backends change.
type Mode int

const (
	// Plain recomputes with Build: the table is a pure function of the
	// current set, whatever the history; a change moves the entries of
	// the backend added or removed plus a small excess (docs/maglev.md
	// measures it).
	Plain Mode = iota
	// Minimal recomputes with Update: a change moves only the entries of
	// the backend added or removed; the table depends on the history.
	Minimal
)

func (m Mode) String() string {
	switch m {
	case Plain:
		return "plain"
	case Minimal:
		return "minimal"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Recompute returns the table of a new set of backends in the given mode,
// keeping prev's size (Build of the set for a zero prev, at DefaultSize).
func Recompute(mode Mode, prev Table, backends []Backend) (Table, error) {
	size := prev.Size()
	if size == 0 {
		return Build(backends, DefaultSize)
	}
	if mode == Minimal {
		return Update(prev, backends)
	}
	return Build(backends, size)
}

// ErrNoVIP is returned by the verbs of VIPs for a VIP that was never set.
var ErrNoVIP = errors.New("no such VIP")

// VIPs holds one Maglev table per VIP and exposes operator verbs; each
// verb that changes a table returns the entries to write (Diff of the old
// and new tables). A VIPs is plain data owned by one goroutine (the
// manager's): it has no lock.
type VIPs struct {
	// Size of the table of a VIP created by SetBackends or AddBackends;
	// 0 means DefaultSize. Changing it does not resize existing VIPs.
	Size int
	// Mode of recomputation on every later change.
	Mode Mode

	tables map[string]Table
}

func (v *VIPs) size() int {
	if v.Size == 0 {
		return DefaultSize
	}
	return v.Size
}

// SetBackends makes backends the whole set of the VIP, creating the VIP if
// needed, and returns the changed entries (every entry for a new VIP). On
// error the VIP is left as it was.
func (v *VIPs) SetBackends(vip string, backends []Backend) ([]Change, error) {
	prev, ok := v.tables[vip]
	var next Table
	var err error
	if !ok {
		next, err = Build(backends, v.size())
	} else if v.Mode == Minimal {
		next, err = Update(prev, backends)
	} else {
		next, err = Build(backends, prev.Size())
	}
	if err != nil {
		return nil, fmt.Errorf("vip %s: %w", vip, err)
	}
	if v.tables == nil {
		v.tables = make(map[string]Table)
	}
	v.tables[vip] = next
	return Diff(prev, next), nil
}

// AddBackends adds backends to the VIP (creating it), or changes the
// weight of those it already has.
func (v *VIPs) AddBackends(vip string, add ...Backend) ([]Change, error) {
	cur := slices.Clone(v.tables[vip].Backends)
	for _, b := range add {
		if i := slices.IndexFunc(cur, func(c Backend) bool { return c.Name == b.Name }); i >= 0 {
			cur[i] = b
			continue
		}
		cur = append(cur, b)
	}
	return v.SetBackends(vip, cur)
}

// DeleteBackends removes backends from the VIP by name; unknown names are
// ignored.
func (v *VIPs) DeleteBackends(vip string, names ...string) ([]Change, error) {
	prev, ok := v.tables[vip]
	if !ok {
		return nil, fmt.Errorf("vip %s: %w", vip, ErrNoVIP)
	}
	cur := slices.DeleteFunc(slices.Clone(prev.Backends), func(b Backend) bool { return slices.Contains(names, b.Name) })
	return v.SetBackends(vip, cur)
}

// DeleteVIP forgets the VIP and reports whether it existed. The caller
// deletes the VIP's entries on the switch (all of them: Diff of the
// table against the zero Table).
func (v *VIPs) DeleteVIP(vip string) bool {
	_, ok := v.tables[vip]
	delete(v.tables, vip)
	return ok
}

// Table returns the VIP's current table. The caller must not modify it.
func (v *VIPs) Table(vip string) (Table, bool) {
	t, ok := v.tables[vip]
	return t, ok
}

// Names returns the VIPs, sorted.
func (v *VIPs) Names() []string {
	out := make([]string, 0, len(v.tables))
	for n := range v.tables {
		out = append(out, n)
	}
	slices.SortFunc(out, strings.Compare)
	return out
}
