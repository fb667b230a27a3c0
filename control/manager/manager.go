package manager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"xdpgw/control/bgp"
	"xdpgw/control/maglev"
	"xdpgw/control/p4rt"
	"xdpgw/p4"
)

// Defaults of Config's optional fields.
const (
	DefaultSyncInterval  = 30 * time.Second
	DefaultCheckInterval = 500 * time.Millisecond
	// DefaultElectionID is the manager's P4Runtime election id when the
	// configuration gives none: one manager per access tier is primary.
	DefaultElectionID = 1
	// DefaultBatchSize is the number of updates per P4Runtime
	// WriteRequest: a third of a 65537-entry table in 2 requests, about
	// 1 MB each (under gRPC's 4 MiB default), because a target commits
	// each request as a whole (the software target publishes new tables
	// per request): fewer requests make a server change land sooner.
	DefaultBatchSize = 16384
)

// Watcher is the source of next hops: control/bgp's Speaker, or a fake in
// tests. WatchPaths must call fn with the state of each prefix (all its
// paths), one call at a time, until ctx ends.
type Watcher interface {
	WatchPaths(ctx context.Context, filter []netip.Prefix, fn func(bgp.PathUpdate)) error
}

// VIP is one NAT64 cluster VIP and the EIPs it serves (config
// access.vips).
type VIP struct {
	Addr netip.Addr
	EIPs []netip.Addr
}

// Config of a Manager.
type Config struct {
	// Target is the P4Runtime device (address, device id); a zero
	// ElectionID means DefaultElectionID, a nil Logger the manager's.
	Target p4rt.Config
	// DeviceConfig is the opaque device config pushed with the pipeline
	// (a Tofino's compiled program; nil for the software target).
	DeviceConfig []byte
	// Prefix is the NAT64 /96 written into nat64_prefix; the zero Prefix
	// writes none.
	Prefix netip.Prefix
	// VIPs whose tables the manager computes. Any other IPv4 prefix a
	// peer announces is taken as a NAT64 server's source pool.
	VIPs []VIP
	// Port is the access tier's port towards the NAT64 servers (set_vip
	// and set_pool_nexthop).
	Port uint16
	// TableSize of each VIP's Maglev table; 0 means p4.MaglevSize, the
	// only size access.p4 has.
	TableSize int
	// Plain recomputes tables from scratch (maglev.Build) on every change;
	// false (the default) is the minimal-disruption mode (maglev.Update):
	// a server removed moves only its own entries, a server added only the
	// entries it takes.
	Plain bool
	// IgnorePools: do not write pool routes for prefixes that are not VIPs.
	IgnorePools bool
	// SyncInterval is how often the device is read back and reconciled
	// even when nothing failed (0: DefaultSyncInterval); CheckInterval how
	// often the P4Runtime stream is checked (0: DefaultCheckInterval): a
	// target that restarted is reconciled at the next check.
	SyncInterval, CheckInterval time.Duration
	Logger                      *slog.Logger
}

// Manager programs one access tier from BGP. Create it with New, run it
// with Run; Tables and ServeHTTP may be called from any goroutine.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	schema *p4.Schema
	vipCfg map[netip.Addr]*VIP

	// The watch's side: the latest state per prefix, not yet applied.
	mu      sync.Mutex
	pending map[netip.Prefix]*pending
	wake    chan struct{}

	ready  chan struct{}
	client atomic.Pointer[p4rt.Client]
	snap   atomic.Pointer[Snapshot]
	c      counters

	// Owned by Run.
	acc      *p4rt.Access
	vips     map[netip.Addr]*vipState
	pools    map[netip.Prefix]*poolState
	needSync bool
}

type pending struct {
	u     bgp.PathUpdate
	first time.Time // arrival of the oldest state this one replaced
	n     int       // states received since the last apply
}

// vipState is what the manager wrote for a VIP.
type vipState struct {
	table      maglev.Table // zero: no entries on the device
	hops       []bgp.NextHop
	updated    time.Time
	changed    int
	delay      time.Duration
	unresolved int
}

type poolState struct {
	mac       net.HardwareAddr
	hop       netip.Addr
	withdrawn bool
}

type counters struct {
	deliveries, applied, coalesced  atomic.Uint64
	tableWrites, entriesChanged     atomic.Uint64
	writeErrors, syncs, syncErrors  atomic.Uint64
	poolWrites, unresolved, refused atomic.Uint64
	lastDelay, maxDelay             atomic.Int64 // ns
}

// New checks cfg and returns a Manager; nothing is connected before Run.
func New(cfg Config) (*Manager, error) {
	if cfg.TableSize == 0 {
		cfg.TableSize = p4.MaglevSize
	}
	if cfg.TableSize != p4.MaglevSize {
		return nil, fmt.Errorf("manager: table size %d: access.p4 has MAGLEV_SIZE %d (access.table_size must be %d)", cfg.TableSize, p4.MaglevSize, p4.MaglevSize)
	}
	if cfg.Target.Address == "" {
		return nil, errors.New("manager: no P4Runtime target address")
	}
	if cfg.Prefix.IsValid() && (!cfg.Prefix.Addr().Is6() || cfg.Prefix.Bits() != 96) {
		return nil, fmt.Errorf("manager: prefix %s: access.p4 matches an IPv6 /96", cfg.Prefix)
	}
	if cfg.Port >= 1<<9 {
		return nil, fmt.Errorf("manager: port %d does not fit access.p4's 9-bit port", cfg.Port)
	}
	if len(cfg.VIPs) > p4.MaxVIPs {
		return nil, fmt.Errorf("manager: %d VIPs, access.p4 holds %d (MAX_VIPS)", len(cfg.VIPs), p4.MaxVIPs)
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Target.BatchSize == 0 {
		cfg.Target.BatchSize = DefaultBatchSize
	}
	if cfg.Target.ElectionID == (p4rt.Uint128{}) {
		cfg.Target.ElectionID = p4rt.Uint128{Low: DefaultElectionID}
	}
	lg := cfg.Logger.With("subsystem", "manager")
	if cfg.Target.Logger == nil {
		cfg.Target.Logger = lg
	}
	schema, err := p4.LoadSchema()
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg: cfg, log: lg, schema: schema, vipCfg: map[netip.Addr]*VIP{},
		pending: map[netip.Prefix]*pending{}, wake: make(chan struct{}, 1), ready: make(chan struct{}),
		vips: map[netip.Addr]*vipState{}, pools: map[netip.Prefix]*poolState{},
	}
	eips := map[netip.Addr]netip.Addr{}
	for i := range cfg.VIPs {
		v := &cfg.VIPs[i]
		if !v.Addr.Is4() {
			return nil, fmt.Errorf("manager: vip %s: want an IPv4 address", v.Addr)
		}
		if m.vipCfg[v.Addr] != nil {
			return nil, fmt.Errorf("manager: vip %s configured twice", v.Addr)
		}
		for _, e := range v.EIPs {
			if other, ok := eips[e]; ok {
				return nil, fmt.Errorf("manager: eip %s served by vips %s and %s", e, other, v.Addr)
			}
			eips[e] = v.Addr
		}
		m.vipCfg[v.Addr] = v
		m.vips[v.Addr] = &vipState{}
	}
	m.publish()
	return m, nil
}

// Ready is closed once Run has written the initial state (or failed to,
// leaving it to the reconciliation) and the watch runs.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// Run connects to the target, writes the static entries (prefix, EIPs),
// starts the watch and applies every change until ctx ends. It returns nil
// when ctx ends, an error when the watch cannot start.
func (m *Manager) Run(ctx context.Context, w Watcher) error {
	c, err := m.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	m.client.Store(c)
	m.acc, err = p4rt.NewAccess(c, m.schema)
	if err != nil {
		return err
	}
	m.acc.DeviceConfig = m.cfg.DeviceConfig
	m.initial(ctx)
	if err := w.WatchPaths(ctx, nil, m.deliver); err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	m.publish()
	close(m.ready)
	m.log.Info("manager: running", "target", m.cfg.Target.Address, "vips", len(m.cfg.VIPs), "mode", m.mode().String(), "table_size", m.cfg.TableSize)

	check := time.NewTicker(m.cfg.CheckInterval)
	defer check.Stop()
	periodic := time.NewTicker(m.cfg.SyncInterval)
	defer periodic.Stop()
	for {
		select {
		case <-ctx.Done():
			m.log.Info("manager: stopped")
			return nil
		case <-m.wake:
			m.apply(ctx)
		case <-check.C:
			if m.needSync || !c.Connected() || !c.Primary() {
				m.sync(ctx, "target lost or write failed")
			}
		case <-periodic.C:
			m.sync(ctx, "periodic")
		}
	}
}

func (m *Manager) mode() maglev.Mode {
	if m.cfg.Plain {
		return maglev.Plain
	}
	return maglev.Minimal
}

// connect dials until the target answers and makes us primary.
func (m *Manager) connect(ctx context.Context) (*p4rt.Client, error) {
	backoff := 100 * time.Millisecond
	for {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := p4rt.Dial(dctx, m.cfg.Target)
		cancel()
		if err == nil {
			return c, nil
		}
		if c != nil {
			c.Close()
		}
		m.log.Warn("manager: cannot reach the P4Runtime target, retrying", "target", m.cfg.Target.Address, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("manager: connect %s: %w (last error: %v)", m.cfg.Target.Address, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// initial installs the pipeline if the device lacks it, adopts the Maglev
// tables the device already holds for our VIPs (so that a restarted
// manager continues the minimal-disruption history instead of rebuilding,
// docs/maglev.md), writes the static entries and reconciles.
func (m *Manager) initial(ctx context.Context) {
	if err := m.acc.Init(ctx); err != nil {
		// The static entries still enter the desired state; the
		// reconciliation installs the pipeline and writes them.
		m.log.Warn("manager: pipeline not installed; retrying in the reconciliation", "err", err)
		m.needSync = true
		m.writeStatic(ctx)
		return
	}
	adopted, err := m.readTables(ctx)
	if err != nil {
		m.log.Warn("manager: cannot read the device's maglev tables", "err", err)
	}
	for vip, t := range adopted {
		// The device holds these entries: the INSERTs it refuses as
		// existing only load the desired state.
		if err := m.acc.SetVIP(ctx, vip, t); err != nil && !onlyExisting(err) {
			m.log.Warn("manager: adopting the device's table", "vip", vip, "err", err)
		}
		st := m.vips[vip]
		st.table = t
		for _, b := range t.Backends {
			mac, _ := net.ParseMAC(b.Name)
			st.hops = append(st.hops, bgp.NextHop{MAC: mac})
		}
		m.log.Info("manager: adopted the device's maglev table", "vip", vip, "backends", len(t.Backends))
	}
	m.writeStatic(ctx)
	m.sync(ctx, "start")
}

// onlyExisting reports whether err is a write whose refused updates all
// said ALREADY_EXISTS.
func onlyExisting(err error) bool {
	var we *p4rt.WriteError
	if !errors.As(err, &we) {
		return false
	}
	for _, u := range we.Updates {
		if u.Code != codes.AlreadyExists {
			return false
		}
	}
	return true
}

// writeStatic writes nat64_prefix and every EIP (with its SYN meters).
// Errors leave the desired state set: the reconciliation repairs them.
func (m *Manager) writeStatic(ctx context.Context) {
	var errs []error
	if m.cfg.Prefix.IsValid() {
		errs = append(errs, m.acc.SetPrefix(ctx, m.cfg.Prefix))
	}
	for _, v := range m.cfg.VIPs {
		for _, e := range v.EIPs {
			errs = append(errs, m.acc.SetEIP(ctx, e, v.Addr, m.cfg.Port))
		}
	}
	if err := errors.Join(errs...); err != nil && !onlyExisting(err) {
		m.log.Debug("manager: static entries not all written; reconciling", "err", err)
	}
}

// readTables reads the device's maglev table and returns the complete
// tables of configured VIPs (every index, a MAC each).
func (m *Manager) readTables(ctx context.Context) (map[netip.Addr]maglev.Table, error) {
	tab, err := m.schema.Table(p4.TableMaglev)
	if err != nil {
		return nil, err
	}
	tes, err := m.acc.Client.ReadTable(ctx, tab.GetPreamble().GetId())
	if err != nil {
		return nil, err
	}
	type raw struct {
		names []string
		n     int
	}
	per := map[netip.Addr]*raw{}
	for _, te := range tes {
		ms := te.GetMatch()
		if len(ms) != 2 || len(te.GetAction().GetAction().GetParams()) != 1 {
			continue
		}
		vb, err1 := p4rt.Pad(ms[0].GetExact().GetValue(), 4)
		idx, err2 := p4rt.ToUint(ms[1].GetExact().GetValue())
		mb, err3 := p4rt.Pad(te.GetAction().GetAction().GetParams()[0].GetValue(), 6)
		if err1 != nil || err2 != nil || err3 != nil || idx >= uint64(m.cfg.TableSize) {
			continue
		}
		vip := netip.AddrFrom4([4]byte(vb))
		if m.vipCfg[vip] == nil {
			continue
		}
		r := per[vip]
		if r == nil {
			r = &raw{names: make([]string, m.cfg.TableSize)}
			per[vip] = r
		}
		if r.names[idx] == "" {
			r.n++
		}
		r.names[idx] = net.HardwareAddr(mb).String()
	}
	out := map[netip.Addr]maglev.Table{}
	for vip, r := range per {
		if r.n != m.cfg.TableSize {
			continue // partial: rebuilt at the first delivery
		}
		t := maglev.Table{Entries: make([]maglev.BackendID, len(r.names))}
		ids := map[string]maglev.BackendID{}
		var names []string
		for _, n := range r.names {
			if _, ok := ids[n]; !ok {
				ids[n] = 0
				names = append(names, n)
			}
		}
		slices.Sort(names)
		for i, n := range names {
			ids[n] = maglev.BackendID(i)
			t.Backends = append(t.Backends, maglev.Backend{Name: n})
		}
		for i, n := range r.names {
			t.Entries[i] = ids[n]
		}
		out[vip] = t
	}
	return out, nil
}

// deliver is the watch's callback: it keeps the latest state of the
// prefix and wakes the owner. It never blocks on the owner, so updates
// that arrive while a table is being written are coalesced: only the last
// state of each prefix is applied.
func (m *Manager) deliver(u bgp.PathUpdate) {
	now := time.Now()
	m.c.deliveries.Add(1)
	m.mu.Lock()
	if p := m.pending[u.Prefix]; p != nil {
		p.u = u
		p.n++
	} else {
		m.pending[u.Prefix] = &pending{u: u, first: now, n: 1}
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// apply writes what the pending states change.
func (m *Manager) apply(ctx context.Context) {
	m.mu.Lock()
	batch := m.pending
	m.pending = map[netip.Prefix]*pending{}
	m.mu.Unlock()
	keys := make([]netip.Prefix, 0, len(batch))
	for p := range batch {
		keys = append(keys, p)
	}
	slices.SortFunc(keys, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	for _, k := range keys {
		p := batch[k]
		switch {
		case k.Bits() == 32 && m.vipCfg[k.Addr()] != nil:
			m.applyVIP(ctx, p)
		case k.Addr().Is4() && k.Bits() > 0 && !m.cfg.IgnorePools:
			m.applyPool(ctx, p)
		default:
			m.log.Debug("manager: prefix ignored (not a VIP or pool)", "prefix", k)
		}
	}
	m.publish()
	// Counted once the writes are done, so that a reader of Tables sees
	// the device in the applied state.
	for _, k := range keys {
		m.c.coalesced.Add(uint64(batch[k].n - 1))
		m.c.applied.Add(1)
	}
}

// backends returns the distinct resolved MACs of u's next hops, sorted,
// and how many next hops have no MAC yet (the watch delivers them again
// once the neighbour table knows them).
func backends(u bgp.PathUpdate) (bs []maglev.Backend, hops []bgp.NextHop, unresolved int) {
	seen := map[string]bool{}
	for _, h := range u.NextHops {
		if len(h.MAC) != 6 {
			unresolved++
			continue
		}
		n := h.MAC.String()
		if seen[n] {
			continue
		}
		seen[n] = true
		bs = append(bs, maglev.Backend{Name: n})
		hops = append(hops, h)
	}
	slices.SortFunc(bs, func(a, b maglev.Backend) int { return compareStrings(a.Name, b.Name) })
	slices.SortFunc(hops, func(a, b bgp.NextHop) int { return bytes.Compare(a.MAC, b.MAC) })
	return bs, hops, unresolved
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sameSet(t maglev.Table, bs []maglev.Backend) bool {
	if len(t.Backends) != len(bs) {
		return false
	}
	for i := range bs {
		if t.Backends[i].Name != bs[i].Name {
			return false
		}
	}
	return true
}

// applyVIP recomputes a VIP's table from its next hops and writes the
// entries that changed.
func (m *Manager) applyVIP(ctx context.Context, p *pending) {
	vip := p.u.Prefix.Addr()
	st := m.vips[vip]
	bs, hops, unresolved := backends(p.u)
	if unresolved > 0 {
		m.c.unresolved.Add(uint64(unresolved))
		m.log.Info("manager: next hops without a MAC left out until resolved", "vip", vip, "unresolved", unresolved)
	}
	st.unresolved = unresolved
	if sameSet(st.table, bs) {
		st.hops = hops // addresses or peers may have changed, not the table
		return
	}
	start := time.Now()
	var next maglev.Table
	var err error
	switch {
	case len(bs) == 0:
		// next stays the zero Table: every entry is deleted.
	case st.table.Size() == 0 || m.cfg.Plain:
		next, err = maglev.Build(bs, m.cfg.TableSize)
	default:
		next, err = maglev.Update(st.table, bs)
	}
	if err != nil {
		m.c.refused.Add(1)
		m.log.Error("manager: cannot compute the maglev table; the previous one stays", "vip", vip, "backends", len(bs), "err", err)
		return
	}
	changed := len(maglev.Diff(st.table, next))
	c := m.acc.Client
	before := c.Metrics.EntriesWritten.Load()
	werr := m.acc.SetVIP(ctx, vip, next)
	done := time.Now()
	written := c.Metrics.EntriesWritten.Load() - before
	st.table, st.hops, st.updated, st.changed = next, hops, done, changed
	st.delay = done.Sub(p.first)
	m.c.tableWrites.Add(1)
	m.c.entriesChanged.Add(uint64(changed))
	m.c.lastDelay.Store(int64(st.delay))
	if int64(st.delay) > m.c.maxDelay.Load() {
		m.c.maxDelay.Store(int64(st.delay))
	}
	if werr != nil {
		m.c.writeErrors.Add(1)
		m.needSync = true
		m.log.Warn("manager: writing the vip table failed; reconciling", "vip", vip, "err", werr)
		return
	}
	attrs := []any{"vip", vip, "backends", len(bs), "changed", changed, "written", written,
		"queued_ms", ms(start.Sub(p.first)), "write_ms", ms(done.Sub(start)), "delivery_to_written_ms", ms(st.delay), "coalesced", p.n}
	if len(bs) == 0 {
		m.log.Warn("manager: vip has no next hop: its entries are removed and its traffic is dropped (access_no_nexthop)", attrs...)
		return
	}
	counts := next.Counts()
	for i, b := range next.Backends {
		attrs = append(attrs, b.Name, counts[i])
	}
	m.log.Info("manager: vip table written", attrs...)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// applyPool routes a NAT64 server's source pool to the MAC of the server
// announcing it. A pool announced by several servers (a configuration
// error: pools must not overlap) goes to the lowest MAC.
func (m *Manager) applyPool(ctx context.Context, p *pending) {
	pfx := p.u.Prefix
	st := m.pools[pfx]
	if st == nil {
		st = &poolState{}
		m.pools[pfx] = st
	}
	_, hops, _ := backends(p.u)
	if len(hops) == 0 {
		// The server withdrew its pool: its route goes too, so replies
		// to it are counted as access_no_pool_route, not sent to a
		// server that left.
		if st.withdrawn {
			return
		}
		st.withdrawn = true
		m.c.poolWrites.Add(1)
		if err := m.acc.DeletePool(ctx, pfx); err != nil {
			m.c.writeErrors.Add(1)
			m.needSync = true
			m.log.Warn("manager: deleting the pool route failed; reconciling", "pool", pfx, "err", err)
			return
		}
		m.log.Info("manager: pool withdrawn, route deleted", "pool", pfx)
		return
	}
	if len(hops) > 1 {
		m.log.Warn("manager: pool announced by several servers; using the first", "pool", pfx, "next_hops", len(hops))
	}
	h := hops[0]
	if bytes.Equal(st.mac, h.MAC) && !st.withdrawn {
		st.hop = h.Addr
		return
	}
	st.mac, st.hop, st.withdrawn = h.MAC, h.Addr, false
	m.c.poolWrites.Add(1)
	if err := m.acc.SetPool(ctx, pfx, h.MAC, m.cfg.Port); err != nil {
		m.c.writeErrors.Add(1)
		m.needSync = true
		m.log.Warn("manager: writing the pool route failed; reconciling", "pool", pfx, "err", err)
		return
	}
	m.log.Info("manager: pool route written", "pool", pfx, "mac", h.MAC.String(), "next_hop", h.Addr)
}

// sync reconnects if needed and reconciles the device with the desired
// state (every entry the verbs wrote).
func (m *Manager) sync(ctx context.Context, why string) {
	// Generous: a full table is 65537 entries per VIP, and a deadline that
	// cuts every attempt short would never converge. Updates that arrive
	// meanwhile are coalesced and applied afterwards.
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	m.c.syncs.Add(1)
	st, err := m.acc.Sync(sctx)
	if err != nil {
		m.c.syncErrors.Add(1)
		m.needSync = true
		if ctx.Err() == nil {
			m.log.Warn("manager: reconciliation failed; retrying", "why", why, "err", err)
		}
		return
	}
	m.needSync = false
	if st.Inserted+st.Modified+st.Deleted+st.Meters > 0 {
		m.log.Info("manager: device reconciled", "why", why, "read", st.Read, "inserted", st.Inserted, "modified", st.Modified, "deleted", st.Deleted, "meters", st.Meters)
	}
	m.publish()
}
