// Package p4 holds the P4_16 program of the Tofino NAT64 Access tier
// (access.p4), its P4Info (access.p4info.txtpb, embedded here) and the
// names of its P4 objects as Go constants. The P4Runtime client
// (control/p4rt) and the software Access target (control/access) refer to
// tables, actions, fields and parameters only through these constants;
// p4_test.go checks that the program, the P4Info and the constants agree,
// and that the flow hash the program declares gives the backends listed in
// testdata/flows.txt.
//
// The package must never import dataplane/ or anything that touches the
// network: it is data and its parsing.
package p4

import (
	_ "embed"
	"errors"
	"fmt"

	p4config "github.com/p4lang/p4runtime/go/p4/config/v1"
	"google.golang.org/protobuf/encoding/prototext"
)

//go:embed access.p4info.txtpb
var p4infoText []byte

// P4InfoText returns the P4Info in text protobuf format, as kept in
// access.p4info.txtpb.
func P4InfoText() []byte { return p4infoText }

// Names of the P4 objects of access.p4, as they appear in the P4Info.
// Everything the control plane writes or reads is named here and nowhere
// else; p4_test.go keeps this list, the P4Info and the program in step.
const (
	TableNAT64Prefix = "AccessIngress.nat64_prefix"
	TableEIPToVIP    = "AccessIngress.eip_to_vip"
	TableSYNMeter    = "AccessIngress.syn_meter"
	TablePoolRoute   = "AccessIngress.pool_route"
	TableMaglev      = "AccessEgress.maglev"
	TablePortSMAC    = "AccessEgress.port_smac"

	ActionNoAction       = "NoAction"
	ActionNAT64Hit       = "AccessIngress.nat64_hit"
	ActionSetVIP         = "AccessIngress.set_vip"
	ActionEIPMiss        = "AccessIngress.eip_miss"
	ActionSYNCheck       = "AccessIngress.syn_check"
	ActionSetPoolNexthop = "AccessIngress.set_pool_nexthop"
	ActionSetNexthop     = "AccessEgress.set_nexthop"
	ActionMaglevMiss     = "AccessEgress.maglev_miss"
	ActionSetSMAC        = "AccessEgress.set_smac"

	// Match fields, by table.
	FieldPrefix    = "prefix"    // nat64_prefix: IPv6 destination bits 127..32
	FieldEIP       = "eip"       // eip_to_vip, syn_meter
	FieldDirection = "direction" // syn_meter: DirDown or DirUp
	FieldDst       = "dst"       // pool_route: IPv4 destination, LPM
	FieldVIP       = "vip"       // maglev
	FieldIndex     = "index"     // maglev
	FieldPort      = "port"      // port_smac

	// Action parameters.
	ParamVIP  = "vip"  // set_vip
	ParamPort = "port" // set_vip, set_pool_nexthop
	ParamDMAC = "dmac" // set_pool_nexthop, set_nexthop
	ParamSMAC = "smac" // set_smac

	CounterDrops        = "AccessIngress.drops"
	CounterMaglevMisses = "AccessEgress.maglev_misses"
	DirectCounterEIP    = "AccessIngress.eip_packets"
	DirectCounterSYN    = "AccessIngress.syn_packets"
	DirectMeterSYNRate  = "AccessIngress.syn_rate"
)

// Constants of the program (#define in access.p4).
const (
	MaglevSize      = 65537 // MAGLEV_SIZE: entries per VIP
	MaglevIndexBits = 17    // MAGLEV_INDEX_BITS
	MaxVIPs         = 8     // MAX_VIPS
)

// Values of the syn_meter direction field (DIR_DOWN, DIR_UP).
const (
	DirDown = 0 // IPv6 client -> EIP
	DirUp   = 1 // IPv4 EIP -> NAT64 source pool
)

// DefaultSYNRate is the SYN meter rate the control plane writes for an
// EIP without an override, in packets per second (background.md, B).
const DefaultSYNRate = 50000

// Load parses the embedded P4Info.
func Load() (*p4config.P4Info, error) {
	info := &p4config.P4Info{}
	if err := prototext.Unmarshal(p4infoText, info); err != nil {
		return nil, fmt.Errorf("p4: parse p4info: %w", err)
	}
	return info, nil
}

// Errors of Schema lookups.
var (
	ErrUnknownTable  = errors.New("unknown table")
	ErrUnknownAction = errors.New("unknown action")
	ErrUnknownField  = errors.New("unknown match field")
	ErrUnknownParam  = errors.New("unknown action parameter")
)

// Schema indexes a P4Info by name and by id.
type Schema struct {
	Info          *p4config.P4Info
	tablesByName  map[string]*p4config.Table
	tablesByID    map[uint32]*p4config.Table
	actionsByName map[string]*p4config.Action
	actionsByID   map[uint32]*p4config.Action
	meters        map[string]*p4config.DirectMeter
	counters      map[string]uint32
}

// NewSchema indexes info.
func NewSchema(info *p4config.P4Info) *Schema {
	s := &Schema{
		Info:          info,
		tablesByName:  map[string]*p4config.Table{},
		tablesByID:    map[uint32]*p4config.Table{},
		actionsByName: map[string]*p4config.Action{},
		actionsByID:   map[uint32]*p4config.Action{},
		meters:        map[string]*p4config.DirectMeter{},
		counters:      map[string]uint32{},
	}
	for _, t := range info.GetTables() {
		s.tablesByName[t.GetPreamble().GetName()] = t
		s.tablesByID[t.GetPreamble().GetId()] = t
	}
	for _, a := range info.GetActions() {
		s.actionsByName[a.GetPreamble().GetName()] = a
		s.actionsByID[a.GetPreamble().GetId()] = a
	}
	for _, m := range info.GetDirectMeters() {
		s.meters[m.GetPreamble().GetName()] = m
	}
	for _, c := range info.GetCounters() {
		s.counters[c.GetPreamble().GetName()] = c.GetPreamble().GetId()
	}
	for _, c := range info.GetDirectCounters() {
		s.counters[c.GetPreamble().GetName()] = c.GetPreamble().GetId()
	}
	return s
}

// LoadSchema is Load and NewSchema.
func LoadSchema() (*Schema, error) {
	info, err := Load()
	if err != nil {
		return nil, err
	}
	return NewSchema(info), nil
}

// Table returns a table by name.
func (s *Schema) Table(name string) (*p4config.Table, error) {
	if t := s.tablesByName[name]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("table %q: %w", name, ErrUnknownTable)
}

// TableByID returns a table by id.
func (s *Schema) TableByID(id uint32) (*p4config.Table, error) {
	if t := s.tablesByID[id]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("table id %#x: %w", id, ErrUnknownTable)
}

// Action returns an action by name.
func (s *Schema) Action(name string) (*p4config.Action, error) {
	if a := s.actionsByName[name]; a != nil {
		return a, nil
	}
	return nil, fmt.Errorf("action %q: %w", name, ErrUnknownAction)
}

// ActionByID returns an action by id.
func (s *Schema) ActionByID(id uint32) (*p4config.Action, error) {
	if a := s.actionsByID[id]; a != nil {
		return a, nil
	}
	return nil, fmt.Errorf("action id %#x: %w", id, ErrUnknownAction)
}

// DirectMeter returns a direct meter by name.
func (s *Schema) DirectMeter(name string) (*p4config.DirectMeter, error) {
	if m := s.meters[name]; m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("direct meter %q: %w", name, ErrUnknownTable)
}

// CounterID returns the id of a counter or direct counter by name.
func (s *Schema) CounterID(name string) (uint32, bool) {
	id, ok := s.counters[name]
	return id, ok
}

// Field returns a match field of a table by name.
func Field(t *p4config.Table, name string) (*p4config.MatchField, error) {
	for _, f := range t.GetMatchFields() {
		if f.GetName() == name {
			return f, nil
		}
	}
	return nil, fmt.Errorf("table %q field %q: %w", t.GetPreamble().GetName(), name, ErrUnknownField)
}

// FieldByID returns a match field of a table by id.
func FieldByID(t *p4config.Table, id uint32) (*p4config.MatchField, error) {
	for _, f := range t.GetMatchFields() {
		if f.GetId() == id {
			return f, nil
		}
	}
	return nil, fmt.Errorf("table %q field id %d: %w", t.GetPreamble().GetName(), id, ErrUnknownField)
}

// Param returns a parameter of an action by name.
func Param(a *p4config.Action, name string) (*p4config.Action_Param, error) {
	for _, p := range a.GetParams() {
		if p.GetName() == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("action %q param %q: %w", a.GetPreamble().GetName(), name, ErrUnknownParam)
}

// ParamByID returns a parameter of an action by id.
func ParamByID(a *p4config.Action, id uint32) (*p4config.Action_Param, error) {
	for _, p := range a.GetParams() {
		if p.GetId() == id {
			return p, nil
		}
	}
	return nil, fmt.Errorf("action %q param id %d: %w", a.GetPreamble().GetName(), id, ErrUnknownParam)
}

// HasAction reports whether table t may use action id (in any scope).
func HasAction(t *p4config.Table, id uint32) bool {
	for _, r := range t.GetActionRefs() {
		if r.GetId() == id {
			return true
		}
	}
	return false
}
