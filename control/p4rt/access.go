package p4rt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	p4config "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/protobuf/proto"

	"xdpgw/control/maglev"
	"xdpgw/p4"
)

// Access is the desired state of one Access device (a Tofino running
// access.p4 or the software target) and the verbs that change it. Each
// verb writes only the entries it changes; Sync brings a device that lost
// its state (restart, reconnect) back to the desired state by reading its
// tables and writing the difference. An Access is owned by one goroutine
// (the manager's): it has no lock.
type Access struct {
	Client       *Client
	Schema       *p4.Schema
	DeviceConfig []byte // opaque target config for SetForwardingPipelineConfig

	enc     Encoder
	desired map[string]*p4v1.TableEntry
	meters  map[string]*p4v1.MeterConfig // syn_meter entry key -> config
	vips    map[netip.Addr]maglev.Table
	ids     struct{ maglev, syn uint32 }
}

// NewAccess returns an Access with an empty desired state.
func NewAccess(c *Client, schema *p4.Schema) (*Access, error) {
	a := &Access{Client: c, Schema: schema, enc: Encoder{Schema: schema},
		desired: map[string]*p4v1.TableEntry{}, meters: map[string]*p4v1.MeterConfig{}, vips: map[netip.Addr]maglev.Table{}}
	mg, err := schema.Table(p4.TableMaglev)
	if err != nil {
		return nil, err
	}
	syn, err := schema.Table(p4.TableSYNMeter)
	if err != nil {
		return nil, err
	}
	a.ids.maglev, a.ids.syn = mg.GetPreamble().GetId(), syn.GetPreamble().GetId()
	return a, nil
}

// Init installs the pipeline unless the device already runs this P4Info
// (then its entries are kept and reconciled).
func (a *Access) Init(ctx context.Context) error {
	cur, err := a.Client.GetPipeline(ctx)
	if err != nil {
		return err
	}
	if cur != nil && proto.Equal(cur, a.Schema.Info) {
		return nil
	}
	return a.Client.SetPipeline(ctx, a.Schema.Info, a.DeviceConfig, false)
}

// write applies updates to the device; the desired state is already
// changed, so a failure is repaired by the next Sync.
func (a *Access) write(ctx context.Context, ups []*p4v1.Update) error {
	if len(ups) == 0 {
		return nil
	}
	return a.Client.Write(ctx, ups)
}

func (a *Access) put(ctx context.Context, te *p4v1.TableEntry) error {
	k := EntryKey(te)
	old, ok := a.desired[k]
	if ok && sameAction(old, te) {
		return nil
	}
	a.desired[k] = te
	t := p4v1.Update_INSERT
	if ok {
		t = p4v1.Update_MODIFY
	}
	return a.write(ctx, Updates(t, te))
}

func (a *Access) del(ctx context.Context, te *p4v1.TableEntry) error {
	k := EntryKey(te)
	if _, ok := a.desired[k]; !ok {
		return nil
	}
	delete(a.desired, k)
	delete(a.meters, k)
	return a.write(ctx, Updates(p4v1.Update_DELETE, te))
}

func ip4(a netip.Addr) ([]byte, error) { return IPv4(a) }

// SetPrefix announces a NAT64 /96 to the data plane (nat64_prefix).
func (a *Access) SetPrefix(ctx context.Context, p netip.Prefix) error {
	if !p.Addr().Is6() || p.Bits() != 96 {
		return fmt.Errorf("p4rt: NAT64 prefix %s is not an IPv6 /96", p)
	}
	b := p.Masked().Addr().As16()
	te, err := a.enc.Entry(p4.TableNAT64Prefix, []Match{{Field: p4.FieldPrefix, Value: b[:12]}}, p4.ActionNAT64Hit)
	if err != nil {
		return err
	}
	return a.put(ctx, te)
}

// SetEIP maps an EIP to a VIP and output port, and installs its SYN
// meters in both directions at the default rate unless already set.
func (a *Access) SetEIP(ctx context.Context, eip, vip netip.Addr, port uint16) error {
	e, err := ip4(eip)
	if err != nil {
		return err
	}
	v, err := ip4(vip)
	if err != nil {
		return err
	}
	pv, err := Uint(uint64(port), 9)
	if err != nil {
		return err
	}
	te, err := a.enc.Entry(p4.TableEIPToVIP, []Match{{Field: p4.FieldEIP, Value: e}}, p4.ActionSetVIP,
		Param{p4.ParamVIP, v}, Param{p4.ParamPort, pv})
	if err != nil {
		return err
	}
	if err := a.put(ctx, te); err != nil {
		return err
	}
	for _, dir := range []uint8{p4.DirDown, p4.DirUp} {
		if err := a.synEntry(ctx, eip, dir, nil); err != nil {
			return err
		}
	}
	return nil
}

func (a *Access) synKey(eip netip.Addr, dir uint8) (*p4v1.TableEntry, error) {
	e, err := ip4(eip)
	if err != nil {
		return nil, err
	}
	d, _ := Uint(uint64(dir), 1)
	return a.enc.Entry(p4.TableSYNMeter, []Match{{Field: p4.FieldEIP, Value: e}, {Field: p4.FieldDirection, Value: d}}, p4.ActionSYNCheck)
}

// DefaultMeterConfig is the SYN meter of an EIP without override: a
// two-rate meter whose peak (the RED threshold) is p4.DefaultSYNRate with
// a tenth of a second of burst.
func DefaultMeterConfig() *p4v1.MeterConfig {
	return MeterConfig(p4.DefaultSYNRate, p4.DefaultSYNRate/10)
}

// MeterConfig is a packets-per-second meter config with committed and
// peak rates equal: access.p4 drops RED, that is above rate.
func MeterConfig(rate, burst int64) *p4v1.MeterConfig {
	return &p4v1.MeterConfig{Cir: rate, Cburst: burst, Pir: rate, Pburst: burst}
}

// synEntry makes sure syn_meter has (eip, dir), with config c (nil: keep
// the current one, or the default for a new entry).
func (a *Access) synEntry(ctx context.Context, eip netip.Addr, dir uint8, c *p4v1.MeterConfig) error {
	te, err := a.synKey(eip, dir)
	if err != nil {
		return err
	}
	k := EntryKey(te)
	_, exists := a.desired[k]
	if c == nil {
		if exists {
			return nil
		}
		c = DefaultMeterConfig()
	}
	a.desired[k] = te
	a.meters[k] = c
	withMeter := proto.Clone(te).(*p4v1.TableEntry)
	withMeter.MeterConfig = c
	t := p4v1.Update_INSERT
	if exists {
		t = p4v1.Update_MODIFY
	}
	return a.write(ctx, Updates(t, withMeter))
}

// SetSYNRate overrides the SYN meter of an EIP in one direction
// (p4.DirDown or p4.DirUp), in SYN/s and packets of burst.
func (a *Access) SetSYNRate(ctx context.Context, eip netip.Addr, dir uint8, rate, burst int64) error {
	return a.synEntry(ctx, eip, dir, MeterConfig(rate, burst))
}

// DeleteEIP removes an EIP and its meters.
func (a *Access) DeleteEIP(ctx context.Context, eip netip.Addr) error {
	e, err := ip4(eip)
	if err != nil {
		return err
	}
	te, err := a.enc.Entry(p4.TableEIPToVIP, []Match{{Field: p4.FieldEIP, Value: e}}, "")
	if err != nil {
		return err
	}
	var errs []error
	errs = append(errs, a.del(ctx, te))
	for _, dir := range []uint8{p4.DirDown, p4.DirUp} {
		k, err := a.synKey(eip, dir)
		if err != nil {
			return err
		}
		k.Action = nil
		errs = append(errs, a.del(ctx, k))
	}
	return errors.Join(errs...)
}

// SetPool routes a NAT64 server's IPv4 source pool to its MAC and port.
func (a *Access) SetPool(ctx context.Context, pool netip.Prefix, dmac net.HardwareAddr, port uint16) error {
	if !pool.Addr().Is4() || pool.Bits() == 0 || len(dmac) != 6 {
		return fmt.Errorf("p4rt: pool %s via %s: need an IPv4 prefix of length >= 1 and a MAC", pool, dmac)
	}
	v, _ := ip4(pool.Masked().Addr())
	pv, err := Uint(uint64(port), 9)
	if err != nil {
		return err
	}
	te, err := a.enc.Entry(p4.TablePoolRoute, []Match{{Field: p4.FieldDst, Value: v, PrefixLen: int32(pool.Bits())}},
		p4.ActionSetPoolNexthop, Param{p4.ParamDMAC, MAC([6]byte(dmac))}, Param{p4.ParamPort, pv})
	if err != nil {
		return err
	}
	return a.put(ctx, te)
}

// DeletePool removes a pool's route (its NAT64 server withdrew it).
func (a *Access) DeletePool(ctx context.Context, pool netip.Prefix) error {
	if !pool.Addr().Is4() || pool.Bits() == 0 {
		return fmt.Errorf("p4rt: pool %s: need an IPv4 prefix of length >= 1", pool)
	}
	v, _ := ip4(pool.Masked().Addr())
	te, err := a.enc.Entry(p4.TablePoolRoute, []Match{{Field: p4.FieldDst, Value: v, PrefixLen: int32(pool.Bits())}}, "")
	if err != nil {
		return err
	}
	return a.del(ctx, te)
}

// SetPortSMAC sets the source MAC of an output port.
func (a *Access) SetPortSMAC(ctx context.Context, port uint16, mac net.HardwareAddr) error {
	if len(mac) != 6 {
		return fmt.Errorf("p4rt: port %d: bad MAC %s", port, mac)
	}
	pv, err := Uint(uint64(port), 9)
	if err != nil {
		return err
	}
	te, err := a.enc.Entry(p4.TablePortSMAC, []Match{{Field: p4.FieldPort, Value: pv}}, p4.ActionSetSMAC, Param{p4.ParamSMAC, MAC([6]byte(mac))})
	if err != nil {
		return err
	}
	return a.put(ctx, te)
}

// maglevEntry is the entry of slot index of a VIP; backend "" gives the
// key only.
func (a *Access) maglevEntry(vip []byte, index int, backend string) (*p4v1.TableEntry, error) {
	iv, err := Uint(uint64(index), p4.MaglevIndexBits)
	if err != nil {
		return nil, err
	}
	m := []Match{{Field: p4.FieldVIP, Value: vip}, {Field: p4.FieldIndex, Value: iv}}
	if backend == "" {
		return a.enc.Entry(p4.TableMaglev, m, "")
	}
	hw, err := net.ParseMAC(backend)
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("p4rt: maglev backend %q is not a MAC", backend)
	}
	return a.enc.Entry(p4.TableMaglev, m, p4.ActionSetNexthop, Param{p4.ParamDMAC, MAC([6]byte(hw))})
}

// MaglevUpdates turns the change of a VIP's table into updates: a slot
// that gets a backend is an INSERT, a slot that changes backend a MODIFY,
// a slot that loses its backend a DELETE; unchanged slots are not
// written. old is the zero Table for a new VIP, new the zero Table for a
// removed one.
func (a *Access) MaglevUpdates(vip netip.Addr, old, new maglev.Table) ([]*p4v1.Update, []*p4v1.TableEntry, error) {
	v, err := ip4(vip)
	if err != nil {
		return nil, nil, err
	}
	var ups []*p4v1.Update
	var entries []*p4v1.TableEntry
	for _, ch := range maglev.Diff(old, new) {
		var t p4v1.Update_Type
		var te *p4v1.TableEntry
		switch {
		case ch.New == maglev.NoBackend:
			t = p4v1.Update_DELETE
			te, err = a.maglevEntry(v, ch.Index, "")
		case ch.Old == maglev.NoBackend || ch.Index >= old.Size():
			t = p4v1.Update_INSERT
			te, err = a.maglevEntry(v, ch.Index, new.Name(ch.New))
		default:
			t = p4v1.Update_MODIFY
			te, err = a.maglevEntry(v, ch.Index, new.Name(ch.New))
		}
		if err != nil {
			return nil, nil, err
		}
		ups = append(ups, Updates(t, te)...)
		entries = append(entries, te)
	}
	return ups, entries, nil
}

// SetVIP sets the Maglev table of a VIP, writing only the entries that
// differ from the VIP's previous table. An empty table (no backends)
// removes the VIP's entries: its traffic is dropped and counted by the
// data plane (maglev_miss).
func (a *Access) SetVIP(ctx context.Context, vip netip.Addr, t maglev.Table) error {
	if t.Size() != 0 && t.Size() != p4.MaglevSize {
		return fmt.Errorf("p4rt: VIP %s: table size %d, access.p4 has %d", vip, t.Size(), p4.MaglevSize)
	}
	old := a.vips[vip]
	ups, entries, err := a.MaglevUpdates(vip, old, t)
	if err != nil {
		return err
	}
	for i, u := range ups {
		k := EntryKey(entries[i])
		if u.GetType() == p4v1.Update_DELETE {
			delete(a.desired, k)
		} else {
			a.desired[k] = entries[i]
		}
	}
	if len(t.Backends) == 0 {
		delete(a.vips, vip)
	} else {
		a.vips[vip] = t
	}
	return a.write(ctx, ups)
}

// DeleteVIP removes all entries of a VIP.
func (a *Access) DeleteVIP(ctx context.Context, vip netip.Addr) error {
	return a.SetVIP(ctx, vip, maglev.Table{})
}

// Desired returns the number of entries the device should hold.
func (a *Access) Desired() int { return len(a.desired) }

// ReconcileStats says what a Reconcile changed.
type ReconcileStats struct {
	Read, Inserted, Modified, Deleted, Meters int
}

// Reconcile reads every table of the device, compares it with the
// desired state and writes the difference: missing entries are
// inserted, entries with another action modified, unknown entries
// deleted; SYN meters whose config differs are rewritten.
func (a *Access) Reconcile(ctx context.Context) (ReconcileStats, error) {
	var st ReconcileStats
	actual, err := a.Client.ReadTable(ctx, 0)
	if err != nil {
		return st, err
	}
	st.Read = len(actual)
	have := make(map[string]*p4v1.TableEntry, len(actual))
	for _, te := range actual {
		have[EntryKey(te)] = te
	}
	var ups []*p4v1.Update
	var del []*p4v1.TableEntry
	for k, te := range have {
		if _, ok := a.desired[k]; !ok {
			key := proto.Clone(te).(*p4v1.TableEntry)
			key.Action = nil
			del = append(del, key)
		}
	}
	ups = append(ups, Updates(p4v1.Update_DELETE, del...)...)
	st.Deleted = len(del)
	keys := make([]string, 0, len(a.desired))
	for k := range a.desired {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		want := a.desired[k]
		got, ok := have[k]
		switch {
		case !ok:
			te := want
			if c := a.meters[k]; c != nil {
				te = proto.Clone(want).(*p4v1.TableEntry)
				te.MeterConfig = c
			}
			ups = append(ups, Updates(p4v1.Update_INSERT, te)...)
			st.Inserted++
		case !sameAction(want, got):
			ups = append(ups, Updates(p4v1.Update_MODIFY, want)...)
			st.Modified++
		}
	}
	if err := a.Client.Write(ctx, ups); err != nil {
		return st, err
	}
	// Meters of entries that survived: compare their configs.
	ents, err := a.Client.Read(ctx, &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: &p4v1.DirectMeterEntry{
		TableEntry: &p4v1.TableEntry{TableId: a.ids.syn}}}})
	if err != nil {
		return st, err
	}
	var mups []*p4v1.Update
	for _, e := range ents {
		dm := e.GetDirectMeterEntry()
		k := EntryKey(dm.GetTableEntry())
		want := a.meters[k]
		if want != nil && !proto.Equal(want, dm.GetConfig()) {
			mups = append(mups, &p4v1.Update{Type: p4v1.Update_MODIFY, Entity: &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{
				DirectMeterEntry: &p4v1.DirectMeterEntry{TableEntry: dm.GetTableEntry(), Config: want}}}})
		}
	}
	st.Meters = len(mups)
	return st, a.Client.Write(ctx, mups)
}

// Sync reconnects if the stream is down, installs the pipeline if the
// device lacks it, and reconciles. Call it after a write failed on a
// lost connection, and periodically.
func (a *Access) Sync(ctx context.Context) (ReconcileStats, error) {
	if !a.Client.Connected() || !a.Client.Primary() {
		if err := a.Client.Reconnect(ctx); err != nil {
			return ReconcileStats{}, err
		}
	}
	if err := a.Init(ctx); err != nil {
		return ReconcileStats{}, err
	}
	return a.Reconcile(ctx)
}

// Info returns the P4Info the Access programs.
func (a *Access) Info() *p4config.P4Info { return a.Schema.Info }
