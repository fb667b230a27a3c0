package manager_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"xdpgw/control/access"
	"xdpgw/control/bgp"
	"xdpgw/control/manager"
	"xdpgw/control/p4rt"
	dpaccess "xdpgw/dataplane/access"
	"xdpgw/dataplane/packet"
	"xdpgw/p4"
	"xdpgw/tools/fixture"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const device = 3

var (
	vip    = netip.MustParseAddr("100.64.0.1")
	eip    = netip.MustParseAddr("2.2.2.11")
	prefix = netip.MustParsePrefix("64:ff9b::/96")
	macs   = map[string]net.HardwareAddr{
		"A": {2, 0, 0, 0, 0xa, 1}, "B": {2, 0, 0, 0, 0xa, 2}, "C": {2, 0, 0, 0, 0xa, 3}, "D": {2, 0, 0, 0, 0xa, 4},
	}
	hopAddr = map[string]netip.Addr{
		"A": netip.MustParseAddr("10.20.0.11"), "B": netip.MustParseAddr("10.20.0.12"),
		"C": netip.MustParseAddr("10.20.0.13"), "D": netip.MustParseAddr("10.20.0.14"),
	}
)

// startTarget serves a fresh software Access target on addr ("127.0.0.1:0"
// for any port).
func startTarget(tb testing.TB, addr string) (*access.Server, string) {
	tb.Helper()
	srv, err := access.New(access.Config{DeviceID: device, EIPSlots: 64, MeterSlots: 128, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	var lis net.Listener
	for i := 0; ; i++ {
		lis, err = net.Listen("tcp", addr)
		if err == nil || i == 100 {
			break
		}
		time.Sleep(20 * time.Millisecond) // the old target's port may linger
	}
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(lis)
	tb.Cleanup(srv.Stop)
	return srv, lis.Addr().String()
}

// fakeWatch is a Watcher whose updates the test sends.
type fakeWatch struct{ fn chan func(bgp.PathUpdate) }

func newFakeWatch() *fakeWatch { return &fakeWatch{fn: make(chan func(bgp.PathUpdate), 1)} }

func (f *fakeWatch) WatchPaths(_ context.Context, filter []netip.Prefix, fn func(bgp.PathUpdate)) error {
	if len(filter) != 0 {
		return errors.New("the manager watches every prefix")
	}
	f.fn <- fn
	return nil
}

type running struct {
	m      *manager.Manager
	send   func(bgp.PathUpdate)
	cancel context.CancelFunc
	done   chan error
}

func startManager(t *testing.T, addr string, mut func(*manager.Config)) *running {
	t.Helper()
	cfg := manager.Config{
		Target: p4rt.Config{Address: addr, DeviceID: device, ElectionID: p4rt.Uint128{Low: 10},
			BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond},
		Prefix: prefix, VIPs: []manager.VIP{{Addr: vip, EIPs: []netip.Addr{eip}}}, Port: 1,
		CheckInterval: 50 * time.Millisecond, Logger: quiet,
	}
	if mut != nil {
		mut(&cfg)
	}
	m, err := manager.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := newFakeWatch()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{m: m, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- m.Run(ctx, w) }()
	t.Cleanup(r.stop)
	select {
	case fn := <-w.fn:
		r.send = fn
	case err := <-r.done:
		t.Fatalf("Run: %v", err)
	case <-time.After(90 * time.Second): // adoption under -race is slow
		t.Fatal("the manager did not start its watch")
	}
	<-m.Ready()
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
	r.done <- nil // for a second stop
}

// pathUpdate is the VIP (or pool) announced by the named servers.
func pathUpdate(p netip.Prefix, names ...string) bgp.PathUpdate {
	u := bgp.PathUpdate{Prefix: p, Withdrawn: len(names) == 0}
	for _, n := range names {
		u.NextHops = append(u.NextHops, bgp.NextHop{Addr: hopAddr[n], MAC: macs[n], Peer: hopAddr[n], PeerASN: 65001})
	}
	return u
}

var vipPrefix = netip.PrefixFrom(vip, 32)

// apply sends u and waits until the manager has applied it; it returns
// the wall time from the send to the applied state.
func (r *running) apply(t *testing.T, u bgp.PathUpdate) time.Duration {
	t.Helper()
	before := r.m.Tables().Stats.Applied
	start := time.Now()
	r.send(u)
	waitFor(t, "update applied", func() bool { return r.m.Tables().Stats.Applied > before })
	return time.Since(start)
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// readMaglev reads the device's maglev entries of vip: index -> MAC.
func readMaglev(t *testing.T, addr string) map[uint64]string {
	t.Helper()
	out, err := tryReadMaglev(addr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tryReadMaglev reads the VIP's Maglev entries from the target, or the
// error (a target that has just restarted has no pipeline config until the
// manager's reconciliation sets it).
func tryReadMaglev(addr string) (map[uint64]string, error) {
	conn, err := grpc.Dial(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	s, _ := p4.LoadSchema()
	tab, _ := s.Table(p4.TableMaglev)
	rs, err := p4v1.NewP4RuntimeClient(conn).Read(context.Background(), &p4v1.ReadRequest{DeviceId: device,
		Entities: []*p4v1.Entity{{Entity: &p4v1.Entity_TableEntry{TableEntry: &p4v1.TableEntry{TableId: tab.GetPreamble().GetId()}}}}})
	if err != nil {
		return nil, err
	}
	out := map[uint64]string{}
	for {
		resp, err := rs.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetEntities() {
			te := e.GetTableEntry()
			v, _ := p4rt.Pad(te.GetMatch()[0].GetExact().GetValue(), 4)
			if netip.AddrFrom4([4]byte(v)) != vip {
				continue
			}
			idx, _ := p4rt.ToUint(te.GetMatch()[1].GetExact().GetValue())
			mac, _ := p4rt.Pad(te.GetAction().GetAction().GetParams()[0].GetValue(), 6)
			out[idx] = net.HardwareAddr(mac).String()
		}
	}
	return out, nil
}

func counts(entries map[uint64]string) map[string]int {
	c := map[string]int{}
	for _, m := range entries {
		c[m]++
	}
	return c
}

// balanced checks that the device holds the whole table, shared by the
// named backends within one entry.
func balanced(t *testing.T, entries map[uint64]string, names ...string) {
	t.Helper()
	if len(entries) != p4.MaglevSize {
		t.Fatalf("device holds %d maglev entries for the vip, want %d", len(entries), p4.MaglevSize)
	}
	c := counts(entries)
	if len(c) != len(names) {
		t.Fatalf("device's backends %v, want %v", c, names)
	}
	lo, hi := p4.MaglevSize, 0
	for _, n := range names {
		k := c[macs[n].String()]
		lo, hi = min(lo, k), max(hi, k)
	}
	if hi-lo > 1 {
		t.Fatalf("unbalanced shares %v", c)
	}
}

// changedFrom lists, for every index whose MAC differs between two
// device reads, the (old, new) pair, counted.
func changedFrom(before, after map[uint64]string) map[[2]string]int {
	out := map[[2]string]int{}
	for i := range uint64(p4.MaglevSize) {
		if before[i] != after[i] {
			out[[2]string{before[i], after[i]}]++
		}
	}
	return out
}

// flow runs one TCP packet from an IPv6 client to prefix::EIP through the
// software target's data plane (the access stage the pipeline runs on
// ports of role access).
func flow(t *testing.T, srv *access.Server, sport uint16) (dpaccess.Result, net.HardwareAddr) {
	t.Helper()
	frame := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").
		IPv6("2001:db8:c::7", "64:ff9b::202:20b").TCP(sport, 80, "A").Payload([]byte("xdpgw")).Bytes()
	st := dpaccess.NewStage(srv.Target(), [][6]byte{{2, 0, 0, 0, 0xee, 2}, {2, 0, 0, 0, 0xee, 3}})
	p := new(packet.Parsed)
	p.Decode(frame)
	r := st.Process(frame, p, time.Now().UnixNano())
	return r, net.HardwareAddr(frame[0:6])
}

// TestManagerFollowsNextHops is the manager's life with one VIP: three
// servers announce it (the whole table is written), one withdraws (only
// its entries are rewritten, within a second), a fourth arrives (only the
// entries it takes are rewritten), all withdraw (the VIP's entries are
// removed and the access stage drops its traffic as access_no_nexthop).
func TestManagerFollowsNextHops(t *testing.T) {
	srv, addr := startTarget(t, "127.0.0.1:0")
	r := startManager(t, addr, nil)

	// Three servers.
	r.apply(t, pathUpdate(vipPrefix, "A", "B", "C"))
	dev := readMaglev(t, addr)
	balanced(t, dev, "A", "B", "C")
	snap := r.m.Tables()
	if len(snap.VIPs) != 1 || snap.VIPs[0].Entries != p4.MaglevSize || len(snap.VIPs[0].Backends) != 3 {
		t.Fatalf("snapshot %+v", snap.VIPs)
	}
	if res, dmac := flow(t, srv, 40000); res.Verdict != dpaccess.VerdictForward || res.Port != 1 || counts(dev)[dmac.String()] == 0 {
		t.Fatalf("flow through the access stage: %+v to %s, want forwarded on port 1 to a server", res, dmac)
	}

	// C withdraws: exactly C's entries move, each to A or B.
	cEntries := counts(dev)[macs["C"].String()]
	written := r.m.Tables().Stats.EntriesWritten
	wall := r.apply(t, pathUpdate(vipPrefix, "A", "B"))
	after := readMaglev(t, addr)
	balanced(t, after, "A", "B")
	snap = r.m.Tables()
	if got := snap.Stats.EntriesWritten - written; got != uint64(cEntries) {
		t.Errorf("C withdrawn: %d entries written, want C's %d", got, cEntries)
	}
	for ch, n := range changedFrom(dev, after) {
		if ch[0] != macs["C"].String() {
			t.Errorf("C withdrawn: %d entries moved from %s to %s", n, ch[0], ch[1])
		}
	}
	delay := time.Duration(snap.VIPs[0].LastDelayMS * float64(time.Millisecond))
	t.Logf("C withdrawn: %d entries rewritten, delivery to written %v (wall %v)", cEntries, delay, wall)
	// The delay is a measurement (docs/performance.md, goal: within 1 s),
	// logged above, not asserted: a loaded machine would fail a timing
	// assertion without anything being wrong.
	if delay <= 0 {
		t.Errorf("C withdrawn: no delivery-to-written delay recorded (%v)", delay)
	}

	// D arrives: only the entries D takes move, about a third.
	dev = after
	written = snap.Stats.EntriesWritten
	wall = r.apply(t, pathUpdate(vipPrefix, "A", "B", "D"))
	after = readMaglev(t, addr)
	balanced(t, after, "A", "B", "D")
	dEntries := counts(after)[macs["D"].String()]
	snap = r.m.Tables()
	if got := snap.Stats.EntriesWritten - written; got != uint64(dEntries) {
		t.Errorf("D added: %d entries written, want D's gain %d", got, dEntries)
	}
	for ch, n := range changedFrom(dev, after) {
		if ch[1] != macs["D"].String() {
			t.Errorf("D added: %d entries moved from %s to %s", n, ch[0], ch[1])
		}
	}
	delay = time.Duration(snap.VIPs[0].LastDelayMS * float64(time.Millisecond))
	t.Logf("D added: %d entries rewritten, delivery to written %v (wall %v)", dEntries, delay, wall)
	if delay <= 0 {
		t.Errorf("D added: no delivery-to-written delay recorded (%v)", delay)
	}

	// Nobody announces the VIP: its entries go, its traffic is dropped.
	r.apply(t, pathUpdate(vipPrefix))
	if n := len(readMaglev(t, addr)); n != 0 {
		t.Fatalf("vip without next hop: %d maglev entries left", n)
	}
	if snap := r.m.Tables(); snap.VIPs[0].Entries != 0 || len(snap.VIPs[0].Backends) != 0 {
		t.Fatalf("snapshot of a vip without next hop: %+v", snap.VIPs[0])
	}
	if res, _ := flow(t, srv, 40000); res.Verdict != dpaccess.VerdictDrop || res.Drop != dpaccess.DropNoNexthop {
		t.Fatalf("flow to a vip without next hop: %+v, want dropped as no_nexthop (access_no_nexthop)", res)
	}

	// Back, then unresolved next hops are left out until they have a MAC.
	u := pathUpdate(vipPrefix, "A", "B")
	u.NextHops = append(u.NextHops, bgp.NextHop{Addr: hopAddr["C"], Peer: hopAddr["C"]})
	r.apply(t, u)
	balanced(t, readMaglev(t, addr), "A", "B")
	if s := r.m.Tables(); s.VIPs[0].Unresolved != 1 {
		t.Errorf("unresolved next hops = %d, want 1", s.VIPs[0].Unresolved)
	}
}

// TestManagerCoalescesFlaps: a server that flaps 200 times while a table
// is being written costs a handful of table writes, not 200.
func TestManagerCoalescesFlaps(t *testing.T) {
	_, addr := startTarget(t, "127.0.0.1:0")
	r := startManager(t, addr, nil)
	r.apply(t, pathUpdate(vipPrefix, "A", "B", "C"))
	before := r.m.Tables().Stats
	const flaps = 200
	for i := range flaps {
		if i%2 == 0 {
			r.send(pathUpdate(vipPrefix, "A", "B"))
		} else {
			r.send(pathUpdate(vipPrefix, "A", "B", "C"))
		}
	}
	waitFor(t, "flaps applied", func() bool {
		s := r.m.Tables().Stats
		return s.Applied+s.Coalesced-before.Applied-before.Coalesced == flaps
	})
	after := r.m.Tables().Stats
	writes := after.TableWrites - before.TableWrites
	t.Logf("%d flaps: %d table writes, %d states coalesced, %d entries rewritten", flaps, writes, after.Coalesced-before.Coalesced, after.EntriesChanged-before.EntriesChanged)
	if writes > 4 {
		t.Errorf("%d flaps cost %d table writes: churn storm", flaps, writes)
	}
	balanced(t, readMaglev(t, addr), "A", "B", "C")

	// Slower flaps, one every 2 ms for 200 ms, ending withdrawn: each
	// table write (about 200 ms for a third of the table) absorbs the
	// flaps that arrive meanwhile.
	before = after
	for i := range flaps / 2 {
		if i%2 == 0 {
			r.send(pathUpdate(vipPrefix, "A", "B", "C"))
		} else {
			r.send(pathUpdate(vipPrefix, "A", "B"))
		}
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, "slow flaps applied", func() bool {
		s := r.m.Tables().Stats
		return s.Applied+s.Coalesced-before.Applied-before.Coalesced == flaps/2
	})
	after = r.m.Tables().Stats
	writes = after.TableWrites - before.TableWrites
	t.Logf("%d flaps 2 ms apart: %d table writes, %d states coalesced", flaps/2, writes, after.Coalesced-before.Coalesced)
	if writes > 10 {
		t.Errorf("%d flaps cost %d table writes: churn storm", flaps/2, writes)
	}
	balanced(t, readMaglev(t, addr), "A", "B")
}

// TestManagerReconcilesRestartedTarget: the target restarts empty on the
// same address; the manager notices the lost stream, reconnects and
// writes the whole desired state back.
func TestManagerReconcilesRestartedTarget(t *testing.T) {
	srv, addr := startTarget(t, "127.0.0.1:0")
	r := startManager(t, addr, nil)
	r.apply(t, pathUpdate(vipPrefix, "A", "B", "C"))
	want := readMaglev(t, addr)
	syncs := r.m.Tables().Stats.Syncs
	srv.Stop()
	srv2, _ := startTarget(t, addr)
	waitFor(t, "target reconciled", func() bool {
		if r.m.Tables().Stats.Syncs <= syncs || !r.m.Tables().Connected {
			return false
		}
		// Mid-reconciliation the target may have no pipeline config yet.
		m, err := tryReadMaglev(addr)
		return err == nil && len(m) == p4.MaglevSize
	})
	if got := readMaglev(t, addr); len(changedFrom(want, got)) != 0 {
		t.Fatalf("restarted target holds another table: %v", changedFrom(want, got))
	}
	if res, _ := flow(t, srv2, 40001); res.Verdict != dpaccess.VerdictForward {
		t.Fatalf("flow after the target's restart: %+v", res)
	}
}

// TestManagerAdoptsDeviceTable: a restarted manager continues from the
// table the device holds, so the next change is still minimal.
func TestManagerAdoptsDeviceTable(t *testing.T) {
	_, addr := startTarget(t, "127.0.0.1:0")
	r := startManager(t, addr, nil)
	r.apply(t, pathUpdate(vipPrefix, "A", "B", "C"))
	r.apply(t, pathUpdate(vipPrefix, "A", "B", "C", "D"))
	dev := readMaglev(t, addr)
	r.stop()

	r2 := startManager(t, addr, nil)
	if s := r2.m.Tables(); len(s.VIPs[0].Backends) != 4 || s.VIPs[0].Entries != p4.MaglevSize {
		t.Fatalf("restarted manager did not adopt the device's table: %+v", s.VIPs[0])
	}
	if got := readMaglev(t, addr); len(changedFrom(dev, got)) != 0 {
		t.Fatalf("restart changed %v entries", changedFrom(dev, got))
	}
	r2.apply(t, pathUpdate(vipPrefix, "A", "B", "D"))
	for ch, n := range changedFrom(dev, readMaglev(t, addr)) {
		if ch[0] != macs["C"].String() {
			t.Errorf("after adoption, C withdrawn: %d entries moved from %s to %s", n, ch[0], ch[1])
		}
	}
}

// TestManagerPools: a prefix that is not a VIP is a NAT64 server's pool,
// routed to that server's MAC.
func TestManagerPools(t *testing.T) {
	_, addr := startTarget(t, "127.0.0.1:0")
	r := startManager(t, addr, nil)
	pool := netip.MustParsePrefix("198.51.100.0/28")
	r.apply(t, pathUpdate(pool, "B"))
	s := r.m.Tables()
	if len(s.Pools) != 1 || s.Pools[0].Prefix != pool || s.Pools[0].MAC != macs["B"].String() || s.Stats.PoolWrites != 1 {
		t.Fatalf("pools %+v, stats %+v", s.Pools, s.Stats)
	}
	r.apply(t, pathUpdate(pool))
	if s := r.m.Tables(); !s.Pools[0].Withdrawn || s.Stats.PoolWrites != 2 || s.Stats.WriteErrors != 0 {
		t.Fatalf("withdrawn pool: %+v, stats %+v (want its route deleted: a second pool write)", s.Pools, s.Stats)
	}
	// IPv6 prefixes (a default route from upstream) are ignored.
	r.apply(t, pathUpdate(netip.MustParsePrefix("::/0"), "A"))
	if s := r.m.Tables(); len(s.Pools) != 1 {
		t.Fatalf("pools %+v", s.Pools)
	}
}

func TestManagerHTTP(t *testing.T) {
	_, addr := startTarget(t, "127.0.0.1:0")
	r := startManager(t, addr, nil)
	r.apply(t, pathUpdate(vipPrefix, "A", "B"))
	rec := httptest.NewRecorder()
	r.m.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/manager/tables", nil))
	var s manager.Snapshot
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatalf("%v: %s", err, rec.Body.String())
	}
	if !s.Connected || s.Mode != "minimal" || len(s.VIPs) != 1 || s.VIPs[0].VIP != vip || len(s.VIPs[0].Backends) != 2 ||
		s.VIPs[0].Backends[0].Entries+s.VIPs[0].Backends[1].Entries != p4.MaglevSize || s.VIPs[0].Backends[0].NextHop != hopAddr["A"] {
		t.Fatalf("GET tables: %s", rec.Body.String())
	}
	rec = httptest.NewRecorder()
	r.m.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/manager/tables", nil))
	if rec.Code != 405 {
		t.Fatalf("POST: %d", rec.Code)
	}
}

func TestNewErrors(t *testing.T) {
	ok := manager.Config{Target: p4rt.Config{Address: "127.0.0.1:1"}, Prefix: prefix, VIPs: []manager.VIP{{Addr: vip}}}
	tests := []struct {
		name string
		mut  func(*manager.Config)
	}{
		{"table size", func(c *manager.Config) { c.TableSize = 65521 }},
		{"no address", func(c *manager.Config) { c.Target.Address = "" }},
		{"prefix not /96", func(c *manager.Config) { c.Prefix = netip.MustParsePrefix("64:ff9b::/64") }},
		{"port", func(c *manager.Config) { c.Port = 512 }},
		{"vip ipv6", func(c *manager.Config) { c.VIPs = []manager.VIP{{Addr: netip.MustParseAddr("::1")}} }},
		{"vip twice", func(c *manager.Config) { c.VIPs = []manager.VIP{{Addr: vip}, {Addr: vip}} }},
		{"eip twice", func(c *manager.Config) {
			c.VIPs = []manager.VIP{{Addr: vip, EIPs: []netip.Addr{eip}}, {Addr: netip.MustParseAddr("100.64.0.2"), EIPs: []netip.Addr{eip}}}
		}},
	}
	if _, err := manager.New(ok); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			c.VIPs = append([]manager.VIP(nil), ok.VIPs...)
			tt.mut(&c)
			if _, err := manager.New(c); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}
