package access

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	p4config "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/runtime/protoiface"

	"xdpgw/control/p4rt"
	dpaccess "xdpgw/dataplane/access"
	"xdpgw/p4"
)

// entry is one stored table entry. te is canonical (fields by id, values
// without leading zeros) and never changed after it is stored: a MODIFY
// stores a new one, so Read can hand entries out without the lock.
type entry struct {
	te    *p4v1.TableEntry
	slot  uint32            // eip_to_vip: counter slot; syn_meter: meter slot
	meter *p4v1.MeterConfig // syn_meter: the configured meter, nil = default
}

// ids of the P4 objects the state interprets, resolved once.
type ids struct {
	tPrefix, tEIP, tSYN, tPool, tMaglev, tSMAC uint32
	mSYNRate, cEIP, cSYN                       uint32
}

// state is the target's forwarding state, owned by Server.mu.
type state struct {
	s      *Server
	ids    ids
	tables map[uint32]map[string]*entry
	// Maglev arrays: work is written by updates, pub holds the arrays
	// published in the current snapshot (immutable); a dirty VIP gets a
	// fresh copy at the next publish.
	work     map[[4]byte][]uint64
	count    map[[4]byte]int
	pub      map[[4]byte][]uint64
	dirty    map[[4]byte]bool
	freeEIP  []uint32
	nextEIP  uint32
	freeSYN  []uint32
	nextSYN  uint32
	modified bool
}

func newState(s *Server) *state {
	st := &state{s: s}
	id := func(name string) uint32 {
		t, err := s.schema.Table(name)
		if err != nil {
			panic(err) // the embedded P4Info is checked by p4's tests
		}
		return t.GetPreamble().GetId()
	}
	st.ids = ids{
		tPrefix: id(p4.TableNAT64Prefix), tEIP: id(p4.TableEIPToVIP), tSYN: id(p4.TableSYNMeter),
		tPool: id(p4.TablePoolRoute), tMaglev: id(p4.TableMaglev), tSMAC: id(p4.TablePortSMAC),
	}
	m, _ := s.schema.DirectMeter(p4.DirectMeterSYNRate)
	st.ids.mSYNRate = m.GetPreamble().GetId()
	st.ids.cEIP, _ = s.schema.CounterID(p4.DirectCounterEIP)
	st.ids.cSYN, _ = s.schema.CounterID(p4.DirectCounterSYN)
	st.clear()
	return st
}

func (st *state) clear() {
	st.tables = map[uint32]map[string]*entry{}
	for _, t := range st.s.schema.Info.GetTables() {
		st.tables[t.GetPreamble().GetId()] = map[string]*entry{}
	}
	st.work = map[[4]byte][]uint64{}
	st.count = map[[4]byte]int{}
	st.pub = map[[4]byte][]uint64{}
	st.dirty = map[[4]byte]bool{}
	st.freeEIP, st.nextEIP = nil, 0
	st.freeSYN, st.nextSYN = nil, 0
	st.modified = true
}

// protoV1 is the message type grpc's status details take.
type protoV1 = protoiface.MessageV1

// updateError is a refused update: a gRPC code and a message.
type updateError struct {
	code codes.Code
	msg  string
}

func (e *updateError) Error() string { return e.code.String() + ": " + e.msg }

func uerr(c codes.Code, format string, args ...any) *updateError {
	return &updateError{code: c, msg: fmt.Sprintf(format, args...)}
}

// ---- Write ----

// Write applies a batch, CONTINUE_ON_ERROR: every valid update is applied;
// if any failed, the RPC returns UNKNOWN with one p4.v1.Error per update
// (spec 12.3).
func (s *Server) Write(_ context.Context, req *p4v1.WriteRequest) (*p4v1.WriteResponse, error) {
	s.Metrics.WriteRPCs.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkPrimaryLocked(req.GetDeviceId(), req.GetRole(), req.GetElectionId()); err != nil {
		return nil, err
	}
	if s.pipeline == nil {
		return nil, s.fail(codes.FailedPrecondition, "no pipeline config set")
	}
	if req.GetAtomicity() != p4v1.WriteRequest_CONTINUE_ON_ERROR {
		return nil, s.fail(codes.Unimplemented, "atomicity %v: only CONTINUE_ON_ERROR", req.GetAtomicity())
	}
	errs := make([]*p4v1.Error, len(req.GetUpdates()))
	failed := 0
	for i, u := range req.GetUpdates() {
		errs[i] = &p4v1.Error{}
		if ue := s.state.apply(u); ue != nil {
			failed++
			s.Metrics.Rejected.Add(1)
			s.Metrics.ErrorsByCode[ue.code].Add(1)
			errs[i] = &p4v1.Error{CanonicalCode: int32(ue.code), Message: ue.msg, Space: "xdpgw-tna-software"}
			if failed <= 3 {
				s.log.Warn("p4runtime: update refused", "index", i, "type", u.GetType().String(), "code", ue.code.String(), "error", ue.msg)
			}
		} else {
			s.Metrics.Updates.Add(1)
		}
	}
	s.state.publish()
	if failed == 0 {
		return &p4v1.WriteResponse{}, nil
	}
	if failed > 3 {
		s.log.Warn("p4runtime: updates refused", "count", failed, "batch", len(errs))
	}
	details := make([]protoV1, len(errs))
	for i := range errs {
		details[i] = errs[i]
	}
	st, err := status.New(codes.Unknown, fmt.Sprintf("%d of %d updates failed", failed, len(errs))).WithDetails(details...)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return nil, st.Err()
}

func (st *state) apply(u *p4v1.Update) *updateError {
	switch e := u.GetEntity().GetEntity().(type) {
	case *p4v1.Entity_TableEntry:
		return st.applyTable(u.GetType(), e.TableEntry)
	case *p4v1.Entity_DirectMeterEntry:
		if u.GetType() != p4v1.Update_MODIFY {
			return uerr(codes.InvalidArgument, "direct meter entries can only be modified")
		}
		return st.applyDirectMeter(e.DirectMeterEntry)
	case nil:
		return uerr(codes.InvalidArgument, "update without an entity")
	default:
		return uerr(codes.Unimplemented, "entity %T is not supported by this target", e)
	}
}

// canonical validates a table entry against the P4Info and returns it in
// canonical form with its key. withAction requires a valid action.
func (st *state) canonical(te *p4v1.TableEntry, withAction bool) (*p4v1.TableEntry, string, *updateError) {
	t, err := st.s.schema.TableByID(te.GetTableId())
	if err != nil {
		return nil, "", uerr(codes.NotFound, "%v", err)
	}
	name := t.GetPreamble().GetName()
	if te.GetIsDefaultAction() {
		return nil, "", uerr(codes.Unimplemented, "table %s: the default action is const", name)
	}
	if te.GetPriority() != 0 {
		return nil, "", uerr(codes.InvalidArgument, "table %s: priority %d on a table without ternary fields", name, te.GetPriority())
	}
	out := &p4v1.TableEntry{TableId: te.GetTableId()}
	seen := map[uint32]bool{}
	var key strings.Builder
	fmt.Fprintf(&key, "%d", te.GetTableId())
	byID := map[uint32]*p4v1.FieldMatch{}
	for _, m := range te.GetMatch() {
		f, err := p4.FieldByID(t, m.GetFieldId())
		if err != nil {
			return nil, "", uerr(codes.InvalidArgument, "%v", err)
		}
		if seen[m.GetFieldId()] {
			return nil, "", uerr(codes.InvalidArgument, "table %s: field %s given twice", name, f.GetName())
		}
		seen[m.GetFieldId()] = true
		byID[m.GetFieldId()] = m
	}
	for _, f := range t.GetMatchFields() {
		m := byID[f.GetId()]
		bw := int(f.GetBitwidth())
		switch f.GetMatchType() {
		case p4config.MatchField_EXACT:
			if m == nil || m.GetExact() == nil {
				return nil, "", uerr(codes.InvalidArgument, "table %s: exact field %s missing or not exact", name, f.GetName())
			}
			v, err := p4rt.Bytes(m.GetExact().GetValue(), bw)
			if err != nil {
				return nil, "", uerr(codes.OutOfRange, "table %s field %s: %v", name, f.GetName(), err)
			}
			out.Match = append(out.Match, p4rt.Exact(f.GetId(), v))
			fmt.Fprintf(&key, "/%d=%x", f.GetId(), v)
		case p4config.MatchField_LPM:
			if m == nil {
				fmt.Fprintf(&key, "/%d=*", f.GetId()) // don't care: /0
				continue
			}
			if m.GetLpm() == nil {
				return nil, "", uerr(codes.InvalidArgument, "table %s: field %s is LPM", name, f.GetName())
			}
			l := int(m.GetLpm().GetPrefixLen())
			if l < 1 || l > bw {
				return nil, "", uerr(codes.InvalidArgument, "table %s field %s: prefix length %d (1..%d; omit the field for /0)", name, f.GetName(), l, bw)
			}
			v, err := p4rt.Bytes(m.GetLpm().GetValue(), bw)
			if err != nil {
				return nil, "", uerr(codes.OutOfRange, "table %s field %s: %v", name, f.GetName(), err)
			}
			if x, _ := p4rt.ToUint(v); bw <= 64 && x&(1<<(bw-l)-1) != 0 {
				return nil, "", uerr(codes.InvalidArgument, "table %s field %s: bits set beyond the /%d prefix", name, f.GetName(), l)
			}
			out.Match = append(out.Match, p4rt.LPM(f.GetId(), v, int32(l)))
			fmt.Fprintf(&key, "/%d=%x/%d", f.GetId(), v, l)
		default:
			return nil, "", uerr(codes.Unimplemented, "table %s: match kind %v", name, f.GetMatchType())
		}
	}
	if !withAction {
		return out, key.String(), nil
	}
	act := te.GetAction().GetAction()
	if act == nil {
		return nil, "", uerr(codes.InvalidArgument, "table %s: entry without a direct action", name)
	}
	a, err := st.s.schema.ActionByID(act.GetActionId())
	if err != nil {
		return nil, "", uerr(codes.InvalidArgument, "table %s: %v", name, err)
	}
	allowed := false
	for _, r := range t.GetActionRefs() {
		if r.GetId() == act.GetActionId() && r.GetScope() != p4config.ActionRef_DEFAULT_ONLY {
			allowed = true
		}
	}
	if !allowed {
		return nil, "", uerr(codes.InvalidArgument, "table %s: action %s is not allowed in entries", name, a.GetPreamble().GetName())
	}
	params := map[uint32][]byte{}
	for _, p := range act.GetParams() {
		pi, err := p4.ParamByID(a, p.GetParamId())
		if err != nil {
			return nil, "", uerr(codes.InvalidArgument, "%v", err)
		}
		if _, dup := params[p.GetParamId()]; dup {
			return nil, "", uerr(codes.InvalidArgument, "action %s: param %s given twice", a.GetPreamble().GetName(), pi.GetName())
		}
		v, err := p4rt.Bytes(p.GetValue(), int(pi.GetBitwidth()))
		if err != nil {
			return nil, "", uerr(codes.OutOfRange, "action %s param %s: %v", a.GetPreamble().GetName(), pi.GetName(), err)
		}
		params[p.GetParamId()] = v
	}
	oa := &p4v1.Action{ActionId: act.GetActionId()}
	for _, pi := range a.GetParams() {
		v, ok := params[pi.GetId()]
		if !ok {
			return nil, "", uerr(codes.InvalidArgument, "action %s: param %s missing", a.GetPreamble().GetName(), pi.GetName())
		}
		oa.Params = append(oa.Params, &p4v1.Action_Param{ParamId: pi.GetId(), Value: v})
	}
	out.Action = &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: oa}}
	return out, key.String(), nil
}

func (st *state) applyTable(op p4v1.Update_Type, in *p4v1.TableEntry) *updateError {
	withAction := op == p4v1.Update_INSERT || op == p4v1.Update_MODIFY
	if op == p4v1.Update_UNSPECIFIED {
		return uerr(codes.InvalidArgument, "update type unspecified")
	}
	te, key, ue := st.canonical(in, withAction)
	if ue != nil {
		return ue
	}
	if in.GetMeterConfig() != nil && te.GetTableId() != st.ids.tSYN {
		return uerr(codes.InvalidArgument, "meter_config on a table without a direct meter")
	}
	tab := st.tables[te.GetTableId()]
	old := tab[key]
	switch op {
	case p4v1.Update_INSERT:
		if old != nil {
			return uerr(codes.AlreadyExists, "entry %s exists", key)
		}
	case p4v1.Update_MODIFY, p4v1.Update_DELETE:
		if old == nil {
			return uerr(codes.NotFound, "entry %s not found", key)
		}
	}
	if op == p4v1.Update_DELETE {
		st.remove(old)
		delete(tab, key)
		st.modified = true
		return nil
	}
	e := &entry{te: te, slot: dpaccess.NoSlot}
	if ue := st.check(e, old); ue != nil {
		return ue
	}
	if old != nil {
		e.slot = old.slot
		st.retarget(old, e)
	} else if ue := st.add(e); ue != nil {
		return ue
	}
	if te.GetTableId() == st.ids.tSYN {
		// meter_config unset resets the meter to the target's default
		// (spec 9.1.2 for MODIFY; for INSERT the default too).
		e.meter = in.GetMeterConfig()
		st.configureMeter(e)
	}
	tab[key] = e
	st.modified = true
	return nil
}

// values decodes the canonical entry into fixed-size fields.
type values struct {
	match  [][]byte // by field order
	plen   []int32
	params [][]byte
}

func decode(te *p4v1.TableEntry) values {
	var v values
	for _, m := range te.GetMatch() {
		if m.GetExact() != nil {
			v.match = append(v.match, m.GetExact().GetValue())
			v.plen = append(v.plen, -1)
		} else {
			v.match = append(v.match, m.GetLpm().GetValue())
			v.plen = append(v.plen, m.GetLpm().GetPrefixLen())
		}
	}
	for _, p := range te.GetAction().GetAction().GetParams() {
		v.params = append(v.params, p.GetValue())
	}
	return v
}

func fixed(b []byte, n int) []byte {
	out, err := p4rt.Pad(b, n)
	if err != nil {
		panic(err) // widths were checked against the P4Info
	}
	return out
}

func addr4(b []byte) [4]byte { return [4]byte(fixed(b, 4)) }

func mac6(b []byte) [6]byte { return [6]byte(fixed(b, 6)) }

func uint16of(b []byte) uint16 { x, _ := p4rt.ToUint(b); return uint16(x) }

// check refuses what the P4Info allows but this target cannot hold.
func (st *state) check(e, old *entry) *updateError {
	v := decode(e.te)
	switch e.te.GetTableId() {
	case st.ids.tEIP:
		if p := uint16of(v.params[1]); p >= dpaccess.MaxPorts {
			return uerr(codes.OutOfRange, "set_vip port %d: this target has ports 0..%d", p, dpaccess.MaxPorts-1)
		}
	case st.ids.tPool:
		if p := uint16of(v.params[1]); p >= dpaccess.MaxPorts {
			return uerr(codes.OutOfRange, "set_pool_nexthop port %d: this target has ports 0..%d", p, dpaccess.MaxPorts-1)
		}
	case st.ids.tSMAC:
		if p := uint16of(v.match[0]); p >= dpaccess.MaxPorts {
			return uerr(codes.OutOfRange, "port_smac port %d: this target has ports 0..%d", p, dpaccess.MaxPorts-1)
		}
	case st.ids.tMaglev:
		idx, _ := p4rt.ToUint(v.match[1])
		if idx >= uint64(st.s.cfg.MaglevSize) {
			return uerr(codes.OutOfRange, "maglev index %d: table size is %d", idx, st.s.cfg.MaglevSize)
		}
	}
	return nil
}

// add allocates what a new entry needs and applies it.
func (st *state) add(e *entry) *updateError {
	switch e.te.GetTableId() {
	case st.ids.tEIP:
		slot, ok := alloc(&st.freeEIP, &st.nextEIP, st.s.target.EIPSlots())
		if !ok {
			return uerr(codes.ResourceExhausted, "eip_to_vip is full (%d)", st.s.target.EIPSlots())
		}
		st.s.target.ResetEIPCounter(slot)
		e.slot = slot
	case st.ids.tSYN:
		slot, ok := alloc(&st.freeSYN, &st.nextSYN, st.s.target.MeterSlots())
		if !ok {
			return uerr(codes.ResourceExhausted, "syn_meter is full (%d)", st.s.target.MeterSlots())
		}
		st.s.target.ResetMeter(slot)
		e.slot = slot
	case st.ids.tMaglev:
		v := decode(e.te)
		vip := addr4(v.match[0])
		if st.work[vip] == nil {
			st.work[vip] = make([]uint64, st.s.cfg.MaglevSize)
		}
		st.count[vip]++
		st.setMaglev(vip, v, dpaccess.PackMAC(mac6(v.params[0])))
	}
	return nil
}

// retarget applies a MODIFY whose key is unchanged.
func (st *state) retarget(old, e *entry) {
	if e.te.GetTableId() == st.ids.tMaglev {
		v := decode(e.te)
		st.setMaglev(addr4(v.match[0]), v, dpaccess.PackMAC(mac6(v.params[0])))
	}
}

func (st *state) remove(e *entry) {
	switch e.te.GetTableId() {
	case st.ids.tEIP:
		st.freeEIP = append(st.freeEIP, e.slot)
	case st.ids.tSYN:
		st.freeSYN = append(st.freeSYN, e.slot)
	case st.ids.tMaglev:
		v := decode(e.te)
		vip := addr4(v.match[0])
		st.setMaglev(vip, v, 0)
		if st.count[vip]--; st.count[vip] == 0 {
			delete(st.work, vip)
			delete(st.count, vip)
		}
	}
}

func (st *state) setMaglev(vip [4]byte, v values, mac uint64) {
	idx, _ := p4rt.ToUint(v.match[1])
	st.work[vip][idx] = mac
	st.dirty[vip] = true
}

func alloc(free *[]uint32, next *uint32, capacity int) (uint32, bool) {
	if n := len(*free); n > 0 {
		s := (*free)[n-1]
		*free = (*free)[:n-1]
		return s, true
	}
	if int(*next) >= capacity {
		return 0, false
	}
	*next++
	return *next - 1, true
}

// configureMeter programs e's meter slot. A two-rate three-color meter
// marks RED above the peak rate, and access.p4 drops RED: the software
// meter uses pir/pburst (cir/cburst when pir is 0). No config: the
// target's default, dataplane/access.DefaultSYNRate.
func (st *state) configureMeter(e *entry) {
	m := st.s.target.Meter(e.slot)
	c := e.meter
	if c == nil {
		m.Configure(dpaccess.DefaultSYNRate, dpaccess.DefaultSYNBurst)
		return
	}
	rate, burst := c.GetPir(), c.GetPburst()
	if rate == 0 && burst == 0 {
		rate, burst = c.GetCir(), c.GetCburst()
	}
	m.Configure(uint64(max(rate, 0)), uint64(max(burst, 0)))
}

func (st *state) applyDirectMeter(dm *p4v1.DirectMeterEntry) *updateError {
	if dm.GetTableEntry().GetTableId() != st.ids.tSYN {
		return uerr(codes.InvalidArgument, "table %d has no direct meter", dm.GetTableEntry().GetTableId())
	}
	_, key, ue := st.canonical(dm.GetTableEntry(), false)
	if ue != nil {
		return ue
	}
	old := st.tables[st.ids.tSYN][key]
	if old == nil {
		return uerr(codes.NotFound, "syn_meter entry %s not found", key)
	}
	c := dm.GetConfig()
	if c != nil && (c.GetCir() < 0 || c.GetPir() < 0 || c.GetCburst() < 0 || c.GetPburst() < 0) {
		return uerr(codes.InvalidArgument, "negative meter config")
	}
	e := &entry{te: old.te, slot: old.slot, meter: c}
	st.tables[st.ids.tSYN][key] = e
	st.configureMeter(e)
	return nil
}

// publish builds and publishes a snapshot if anything changed.
func (st *state) publish() {
	if !st.modified {
		return
	}
	st.modified = false
	b, err := dpaccess.NewBuilder(st.s.cfg.MaglevSize)
	if err != nil {
		panic(err) // size checked in New
	}
	for vip := range st.dirty {
		if w, ok := st.work[vip]; ok {
			st.pub[vip] = slices.Clone(w)
		} else {
			delete(st.pub, vip)
		}
	}
	clear(st.dirty)
	for vip, arr := range st.pub {
		_ = b.SetMaglev(vip, arr)
	}
	for _, e := range st.tables[st.ids.tPrefix] {
		v := decode(e.te)
		b.AddPrefix([12]byte(fixed(v.match[0], 12)))
	}
	for _, e := range st.tables[st.ids.tEIP] {
		v := decode(e.te)
		_ = b.AddEIP(dpaccess.EIPEntry{EIP: addr4(v.match[0]), VIP: addr4(v.params[0]), Port: uint16of(v.params[1]), Slot: e.slot})
	}
	for _, e := range st.tables[st.ids.tSYN] {
		v := decode(e.te)
		d, _ := p4rt.ToUint(v.match[1])
		b.AddSYNMeter(addr4(v.match[0]), uint8(d), e.slot)
	}
	for _, e := range st.tables[st.ids.tPool] {
		v := decode(e.te)
		var pfx netip.Prefix
		if len(e.te.GetMatch()) == 0 {
			pfx = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		} else {
			pfx = netip.PrefixFrom(netip.AddrFrom4(addr4(v.match[0])), int(v.plen[0]))
		}
		_ = b.AddPool(dpaccess.PoolEntry{Prefix: pfx, DMAC: mac6(v.params[0]), Port: uint16of(v.params[1])})
	}
	for _, e := range st.tables[st.ids.tSMAC] {
		v := decode(e.te)
		_ = b.SetSMAC(uint16of(v.match[0]), mac6(v.params[0]))
	}
	st.s.target.Publish(b.Build())
	st.s.Metrics.Publishes.Add(1)
}

// ---- Read ----

const readChunk = 1024

// Read streams the requested entities: table entries (all tables for
// table_id 0, or one table, or one entry when a match is given), direct
// meter entries and direct counter entries of syn_meter and eip_to_vip.
func (s *Server) Read(req *p4v1.ReadRequest, rs p4v1.P4Runtime_ReadServer) error {
	s.Metrics.ReadRPCs.Add(1)
	s.mu.Lock()
	if req.GetDeviceId() != s.cfg.DeviceID {
		s.mu.Unlock()
		return s.fail(codes.NotFound, "device id %d", req.GetDeviceId())
	}
	if s.pipeline == nil {
		s.mu.Unlock()
		return s.fail(codes.FailedPrecondition, "no pipeline config set")
	}
	var out []*p4v1.Entity
	var rerr error
	for _, ent := range req.GetEntities() {
		switch e := ent.GetEntity().(type) {
		case *p4v1.Entity_TableEntry:
			out, rerr = s.state.readTable(out, e.TableEntry, func(en *entry) *p4v1.Entity {
				return &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: en.te}}
			})
		case *p4v1.Entity_DirectMeterEntry:
			out, rerr = s.state.readTable(out, e.DirectMeterEntry.GetTableEntry(), func(en *entry) *p4v1.Entity {
				if en.te.GetTableId() != s.state.ids.tSYN {
					return nil
				}
				return &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: &p4v1.DirectMeterEntry{
					TableEntry: &p4v1.TableEntry{TableId: en.te.GetTableId(), Match: en.te.GetMatch()}, Config: en.meter,
				}}}
			})
		case *p4v1.Entity_DirectCounterEntry:
			out, rerr = s.state.readTable(out, e.DirectCounterEntry.GetTableEntry(), func(en *entry) *p4v1.Entity {
				return s.state.counterEntity(en)
			})
		default:
			rerr = s.fail(codes.Unimplemented, "reading %T is not supported by this target", e)
		}
		if rerr != nil {
			break
		}
	}
	s.mu.Unlock()
	if rerr != nil {
		return rerr
	}
	for len(out) > 0 {
		n := min(len(out), readChunk)
		if err := rs.Send(&p4v1.ReadResponse{Entities: out[:n]}); err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}

// readTable appends conv(entry) for the entries a read filter selects.
func (st *state) readTable(out []*p4v1.Entity, filter *p4v1.TableEntry, conv func(*entry) *p4v1.Entity) ([]*p4v1.Entity, error) {
	var tables []uint32
	if filter.GetTableId() == 0 {
		for id := range st.tables {
			tables = append(tables, id)
		}
		slices.Sort(tables)
	} else {
		if _, ok := st.tables[filter.GetTableId()]; !ok {
			return out, st.s.fail(codes.NotFound, "table id %#x", filter.GetTableId())
		}
		tables = []uint32{filter.GetTableId()}
	}
	for _, id := range tables {
		if len(filter.GetMatch()) > 0 {
			_, key, ue := st.canonical(filter, false)
			if ue != nil {
				return out, st.s.fail(ue.code, "%s", ue.msg)
			}
			if e := st.tables[id][key]; e != nil {
				if x := conv(e); x != nil {
					out = append(out, x)
				}
			}
			continue
		}
		for _, e := range st.tables[id] {
			if x := conv(e); x != nil {
				out = append(out, x)
			}
		}
	}
	return out, nil
}

func (st *state) counterEntity(e *entry) *p4v1.Entity {
	var data *p4v1.CounterData
	switch e.te.GetTableId() {
	case st.ids.tEIP:
		c := st.s.target.EIPCounter(e.slot)
		data = &p4v1.CounterData{PacketCount: int64(c.Packets.Load()), ByteCount: int64(c.Bytes.Load())}
	case st.ids.tSYN:
		data = &p4v1.CounterData{PacketCount: int64(st.s.target.Meter(e.slot).SYNs.Load())}
	default:
		return nil
	}
	return &p4v1.Entity{Entity: &p4v1.Entity_DirectCounterEntry{DirectCounterEntry: &p4v1.DirectCounterEntry{
		TableEntry: &p4v1.TableEntry{TableId: e.te.GetTableId(), Match: e.te.GetMatch()}, Data: data,
	}}}
}

// Entries returns the number of entries of a table, by P4Info name.
func (s *Server) Entries(table string) int {
	t, err := s.schema.Table(table)
	if err != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.state.tables[t.GetPreamble().GetId()])
}
