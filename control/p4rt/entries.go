package p4rt

import (
	"fmt"
	"slices"
	"strings"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"xdpgw/p4"
)

// Exact returns an exact field match.
func Exact(fieldID uint32, value []byte) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: fieldID, FieldMatchType: &p4v1.FieldMatch_Exact_{Exact: &p4v1.FieldMatch_Exact{Value: value}}}
}

// LPM returns a longest-prefix field match.
func LPM(fieldID uint32, value []byte, prefixLen int32) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: fieldID, FieldMatchType: &p4v1.FieldMatch_Lpm{Lpm: &p4v1.FieldMatch_LPM{Value: value, PrefixLen: prefixLen}}}
}

// Match is a field value by P4Info name; PrefixLen > 0 makes it an LPM
// match.
type Match struct {
	Field     string
	Value     []byte
	PrefixLen int32
}

// Param is an action parameter value by P4Info name.
type Param struct {
	Name  string
	Value []byte
}

// Encoder builds entries by name, checking names and widths against the
// P4Info, so that a mistake is an error here rather than a refused write.
type Encoder struct{ Schema *p4.Schema }

// Entry builds a table entry with a direct action; action "" builds a
// key-only entry (for DELETE and reads).
func (e Encoder) Entry(table string, match []Match, action string, params ...Param) (*p4v1.TableEntry, error) {
	t, err := e.Schema.Table(table)
	if err != nil {
		return nil, err
	}
	te := &p4v1.TableEntry{TableId: t.GetPreamble().GetId()}
	for _, m := range match {
		f, err := p4.Field(t, m.Field)
		if err != nil {
			return nil, err
		}
		v, err := Bytes(m.Value, int(f.GetBitwidth()))
		if err != nil {
			return nil, fmt.Errorf("table %s field %s: %w", table, m.Field, err)
		}
		if m.PrefixLen > 0 {
			te.Match = append(te.Match, LPM(f.GetId(), v, m.PrefixLen))
		} else {
			te.Match = append(te.Match, Exact(f.GetId(), v))
		}
	}
	slices.SortFunc(te.Match, func(a, b *p4v1.FieldMatch) int { return int(a.GetFieldId()) - int(b.GetFieldId()) })
	if action == "" {
		return te, nil
	}
	a, err := e.Schema.Action(action)
	if err != nil {
		return nil, err
	}
	act := &p4v1.Action{ActionId: a.GetPreamble().GetId()}
	for _, p := range params {
		pi, err := p4.Param(a, p.Name)
		if err != nil {
			return nil, err
		}
		v, err := Bytes(p.Value, int(pi.GetBitwidth()))
		if err != nil {
			return nil, fmt.Errorf("action %s param %s: %w", action, p.Name, err)
		}
		act.Params = append(act.Params, &p4v1.Action_Param{ParamId: pi.GetId(), Value: v})
	}
	slices.SortFunc(act.Params, func(a, b *p4v1.Action_Param) int { return int(a.GetParamId()) - int(b.GetParamId()) })
	te.Action = &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: act}}
	return te, nil
}

// EntryKey identifies an entry by table and match, canonically: two
// entries with the same key are the same switch entry.
func EntryKey(te *p4v1.TableEntry) string {
	ms := slices.Clone(te.GetMatch())
	slices.SortFunc(ms, func(a, b *p4v1.FieldMatch) int { return int(a.GetFieldId()) - int(b.GetFieldId()) })
	var b strings.Builder
	fmt.Fprintf(&b, "%d", te.GetTableId())
	for _, m := range ms {
		switch {
		case m.GetExact() != nil:
			fmt.Fprintf(&b, "/%d=%x", m.GetFieldId(), Canonical(m.GetExact().GetValue()))
		case m.GetLpm() != nil:
			fmt.Fprintf(&b, "/%d=%x/%d", m.GetFieldId(), Canonical(m.GetLpm().GetValue()), m.GetLpm().GetPrefixLen())
		default:
			fmt.Fprintf(&b, "/%d=?", m.GetFieldId())
		}
	}
	return b.String()
}

// sameAction compares the direct actions of two entries canonically.
func sameAction(a, b *p4v1.TableEntry) bool {
	x, y := a.GetAction().GetAction(), b.GetAction().GetAction()
	if x.GetActionId() != y.GetActionId() || len(x.GetParams()) != len(y.GetParams()) {
		return false
	}
	px, py := slices.Clone(x.GetParams()), slices.Clone(y.GetParams())
	cmp := func(a, b *p4v1.Action_Param) int { return int(a.GetParamId()) - int(b.GetParamId()) }
	slices.SortFunc(px, cmp)
	slices.SortFunc(py, cmp)
	for i := range px {
		if px[i].GetParamId() != py[i].GetParamId() || string(Canonical(px[i].GetValue())) != string(Canonical(py[i].GetValue())) {
			return false
		}
	}
	return true
}

// Updates of one type for entries.
func Updates(t p4v1.Update_Type, entries ...*p4v1.TableEntry) []*p4v1.Update {
	out := make([]*p4v1.Update, len(entries))
	for i, te := range entries {
		out[i] = &p4v1.Update{Type: t, Entity: &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}}
	}
	return out
}
