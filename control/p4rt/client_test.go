package p4rt_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"xdpgw/control/access"
	"xdpgw/control/maglev"
	"xdpgw/control/p4rt"
	"xdpgw/p4"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const device = 7

// startTarget serves a fresh software Access target on addr
// ("127.0.0.1:0" for any port) and returns it with its address.
func startTarget(tb testing.TB, addr string) (*access.Server, string) {
	tb.Helper()
	srv, err := access.New(access.Config{DeviceID: device, EIPSlots: 64, MeterSlots: 128, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	var lis net.Listener
	for i := 0; ; i++ {
		lis, err = net.Listen("tcp", addr)
		if err == nil || i == 50 {
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

func dial(tb testing.TB, addr string, election uint64) (*p4rt.Client, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p4rt.Dial(ctx, p4rt.Config{
		Address: addr, DeviceID: device, ElectionID: p4rt.Uint128{Low: election},
		BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond, Logger: quiet,
	})
	if c != nil {
		tb.Cleanup(func() { c.Close() })
	}
	return c, err
}

func schema(tb testing.TB) *p4.Schema {
	tb.Helper()
	s, err := p4.LoadSchema()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func backends(names ...string) []maglev.Backend {
	var bs []maglev.Backend
	for _, n := range names {
		bs = append(bs, maglev.Backend{Name: n})
	}
	return bs
}

func eventually(tb testing.TB, what string, f func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if f() {
			return
		}
	}
	tb.Fatalf("timed out waiting for %s", what)
}

func TestArbitration(t *testing.T) {
	_, addr := startTarget(t, "127.0.0.1:0")
	a, err := dial(t, addr, 1)
	if err != nil || !a.Primary() {
		t.Fatalf("first controller: %v, primary %v", err, a.Primary())
	}
	b, err := dial(t, addr, 2)
	if err != nil || !b.Primary() {
		t.Fatalf("higher election id: %v, primary %v", err, b.Primary())
	}
	eventually(t, "first controller demoted", func() bool { return !a.Primary() })
	ctx := context.Background()
	err = a.SetPipeline(ctx, schema(t).Info, nil, false)
	if status.Code(errors.Unwrap(err)) != codes.PermissionDenied {
		t.Fatalf("backup SetPipeline: %v, want PermissionDenied", err)
	}
	// A lower id joins as backup.
	c, err := dial(t, addr, 1)
	if err == nil {
		t.Fatal("duplicate election id accepted")
	}
	_ = c
	d, err := dial(t, addr, 0x1_0000)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Primary() {
		t.Fatal("highest election id is not primary")
	}
	e, err := dial(t, addr, 3)
	if !errors.Is(err, p4rt.ErrNotPrimary) || e == nil || e.Primary() {
		t.Fatalf("lower id: %v, want ErrNotPrimary", err)
	}
	// The primary leaves: the highest remaining one takes over.
	d.Close()
	eventually(t, "election id 3 promoted", e.Primary)
	if v, err := e.Capabilities(ctx); err != nil || v != access.APIVersion {
		t.Fatalf("Capabilities = %q, %v", v, err)
	}
}

func TestWriteBeforePipeline(t *testing.T) {
	_, addr := startTarget(t, "127.0.0.1:0")
	c, err := dial(t, addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p4rt.NewAccess(c, schema(t))
	err = a.SetPrefix(context.Background(), netip.MustParsePrefix("64:ff9b::/96"))
	if status.Code(errors.Unwrap(err)) != codes.FailedPrecondition {
		t.Fatalf("write before pipeline: %v, want FailedPrecondition", err)
	}
	if c.Metrics.Errors[codes.FailedPrecondition].Load() != 1 {
		t.Fatal("error not counted")
	}
}

// maglevEntries reads the maglev table of the device into index -> MAC.
func maglevEntries(t *testing.T, c *p4rt.Client, s *p4.Schema) map[uint64]string {
	t.Helper()
	tab, _ := s.Table(p4.TableMaglev)
	tes, err := c.ReadTable(context.Background(), tab.GetPreamble().GetId())
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]string{}
	for _, te := range tes {
		idx, _ := p4rt.ToUint(te.GetMatch()[1].GetExact().GetValue())
		mac, _ := p4rt.Pad(te.GetAction().GetAction().GetParams()[0].GetValue(), 6)
		out[idx] = net.HardwareAddr(mac).String()
	}
	return out
}

func compareTable(t *testing.T, got map[uint64]string, want maglev.Table) {
	t.Helper()
	if len(got) != want.Size() {
		t.Fatalf("device has %d maglev entries, want %d", len(got), want.Size())
	}
	bad := 0
	for i, id := range want.Entries {
		if got[uint64(i)] != want.Name(id) {
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d entries differ from the Maglev table", bad)
	}
}

// TestMaglevWriteModifyReconcile is the manager's life with one VIP: the
// full table written in batches and read back; a backend removed and only
// the changed entries written; the target restarted empty and the client
// reconciling it from a Read.
func TestMaglevWriteModifyReconcile(t *testing.T) {
	srv, addr := startTarget(t, "127.0.0.1:0")
	c, err := dial(t, addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := schema(t)
	a, err := p4rt.NewAccess(c, s)
	if err != nil {
		t.Fatal(err)
	}
	a.DeviceConfig = []byte("software target: no device config")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := a.Init(ctx); err != nil {
		t.Fatal(err)
	}
	vip := netip.MustParseAddr("100.64.0.1")
	if err := a.SetPrefix(ctx, netip.MustParsePrefix("64:ff9b::/96")); err != nil {
		t.Fatal(err)
	}
	if err := a.SetEIP(ctx, netip.MustParseAddr("198.51.100.10"), vip, 1); err != nil {
		t.Fatal(err)
	}
	three, err := maglev.Build(backends("02:00:5e:00:01:01", "02:00:5e:00:01:02", "02:00:5e:00:01:03"), maglev.DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	before := c.Metrics.EntriesWritten.Load()
	rpcs := c.Metrics.WriteRPCs.Load()
	if err := a.SetVIP(ctx, vip, three); err != nil {
		t.Fatal(err)
	}
	if n := c.Metrics.EntriesWritten.Load() - before; n != maglev.DefaultSize {
		t.Fatalf("wrote %d entries for a new VIP, want %d", n, maglev.DefaultSize)
	}
	if n := c.Metrics.WriteRPCs.Load() - rpcs; n != (maglev.DefaultSize+2047)/2048 {
		t.Fatalf("%d Write RPCs, want %d batches", n, (maglev.DefaultSize+2047)/2048)
	}
	compareTable(t, maglevEntries(t, c, s), three)
	// The data plane sees the same table.
	tab := srv.Target().Tables()
	for _, i := range []int{0, 1, 4242, maglev.DefaultSize - 1} {
		m, ok := tab.Backend(vip.As4(), uint32(i))
		if !ok || net.HardwareAddr(m[:]).String() != three.Name(three.Entries[i]) {
			t.Fatalf("data plane entry %d: %x %v", i, m, ok)
		}
	}

	// Remove one backend (minimal-disruption update): only its entries
	// are rewritten, as MODIFYs.
	two, err := maglev.Update(three, backends("02:00:5e:00:01:01", "02:00:5e:00:01:03"))
	if err != nil {
		t.Fatal(err)
	}
	diff := maglev.Diff(three, two)
	removed := three.Counts()[three.ID("02:00:5e:00:01:02")]
	if len(diff) != removed {
		t.Fatalf("diff has %d entries, the removed backend had %d", len(diff), removed)
	}
	before = c.Metrics.EntriesWritten.Load()
	updates := srv.Metrics.Updates.Load()
	if err := a.SetVIP(ctx, vip, two); err != nil {
		t.Fatal(err)
	}
	if n := c.Metrics.EntriesWritten.Load() - before; n != uint64(len(diff)) {
		t.Fatalf("wrote %d entries after removing a backend, want %d (the diff)", n, len(diff))
	}
	if n := srv.Metrics.Updates.Load() - updates; n != uint64(len(diff)) {
		t.Fatalf("target applied %d updates, want %d", n, len(diff))
	}
	compareTable(t, maglevEntries(t, c, s), two)

	// A consistent device: Reconcile writes nothing.
	st, err := a.Reconcile(ctx)
	if err != nil || st.Inserted+st.Modified+st.Deleted+st.Meters != 0 {
		t.Fatalf("Reconcile of a consistent device: %+v, %v", st, err)
	}

	// The target restarts with empty tables on the same address.
	srv.Stop()
	eventually(t, "stream down", func() bool { return !c.Connected() })
	srv2, _ := startTarget(t, addr)
	st, err = a.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 0 || st.Inserted != a.Desired() {
		t.Fatalf("Sync after restart: %+v, want %d inserts from an empty read", st, a.Desired())
	}
	if c.Metrics.Reconnects.Load() != 1 {
		t.Fatalf("Reconnects = %d", c.Metrics.Reconnects.Load())
	}
	compareTable(t, maglevEntries(t, c, s), two)
	if n := srv2.Entries(p4.TableSYNMeter); n != 2 {
		t.Fatalf("restarted target has %d syn_meter entries, want 2", n)
	}
	if m, ok := srv2.Target().Tables().Backend(vip.As4(), 0); !ok || net.HardwareAddr(m[:]).String() != two.Name(two.Entries[0]) {
		t.Fatal("restarted target's data plane lacks the table")
	}

	// Drift: behind the manager's back, a rogue controller deletes one
	// entry, changes another and adds a stray one; Reconcile repairs
	// exactly those three.
	other, err := dial(t, addr, 9)
	if err != nil {
		t.Fatal(err)
	}
	enc := p4rt.Encoder{Schema: s}
	vipb := vip.As4()
	key := func(i uint64) []p4rt.Match {
		iv, _ := p4rt.Uint(i, p4.MaglevIndexBits)
		return []p4rt.Match{{Field: p4.FieldVIP, Value: vipb[:]}, {Field: p4.FieldIndex, Value: iv}}
	}
	gone, _ := enc.Entry(p4.TableMaglev, key(10), "")
	changed, _ := enc.Entry(p4.TableMaglev, key(11), p4.ActionSetNexthop, p4rt.Param{Name: p4.ParamDMAC, Value: []byte{2, 0, 0, 0, 0, 0x99}})
	stray, _ := enc.Entry(p4.TablePortSMAC, []p4rt.Match{{Field: p4.FieldPort, Value: []byte{3}}}, p4.ActionSetSMAC, p4rt.Param{Name: p4.ParamSMAC, Value: []byte{2, 0, 0, 0, 0, 0x98}})
	ups := append(p4rt.Updates(p4v1.Update_DELETE, gone), p4rt.Updates(p4v1.Update_MODIFY, changed)...)
	ups = append(ups, p4rt.Updates(p4v1.Update_INSERT, stray)...)
	if err := other.Write(ctx, ups); err != nil {
		t.Fatal(err)
	}
	other.Close()
	eventually(t, "primary again", c.Primary)
	st, err = a.Reconcile(ctx)
	if err != nil || st.Inserted != 1 || st.Modified != 1 || st.Deleted != 1 {
		t.Fatalf("Reconcile after drift: %+v, %v; want 1 insert, 1 modify, 1 delete", st, err)
	}
	compareTable(t, maglevEntries(t, c, s), two)

	// Backend with all entries gone: DeleteVIP removes every entry.
	if err := a.DeleteVIP(ctx, vip); err != nil {
		t.Fatal(err)
	}
	if n := srv2.Entries(p4.TableMaglev); n != 0 {
		t.Fatalf("%d maglev entries after DeleteVIP", n)
	}
}

// TestRejectedWrites: a write the target refuses gives a clear error, a
// per-code counter on both sides, and does not stop the valid updates of
// the same batch.
func TestRejectedWrites(t *testing.T) {
	srv, addr := startTarget(t, "127.0.0.1:0")
	c, err := dial(t, addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := schema(t)
	ctx := context.Background()
	if err := c.SetPipeline(ctx, s.Info, nil, false); err != nil {
		t.Fatal(err)
	}
	enc := p4rt.Encoder{Schema: s}
	good, err := enc.Entry(p4.TablePortSMAC, []p4rt.Match{{Field: p4.FieldPort, Value: []byte{1}}}, p4.ActionSetSMAC,
		p4rt.Param{Name: p4.ParamSMAC, Value: []byte{2, 0, 0, 0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	badTable := &p4v1.TableEntry{TableId: 0x02ffffff, Match: good.GetMatch(), Action: good.GetAction()}
	mg, _ := s.Table(p4.TableMaglev)
	nh, _ := s.Action(p4.ActionSetNexthop)
	badWidth := &p4v1.TableEntry{
		TableId: mg.GetPreamble().GetId(),
		Match:   []*p4v1.FieldMatch{p4rt.Exact(1, []byte{100, 64, 0, 1}), p4rt.Exact(2, []byte{0x02, 0, 0})}, // index 2^17: 18 bits
		Action:  &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: &p4v1.Action{ActionId: nh.GetPreamble().GetId(), Params: []*p4v1.Action_Param{{ParamId: 1, Value: []byte{2, 0, 0, 0, 0, 2}}}}}},
	}
	err = c.Write(ctx, p4rt.Updates(p4v1.Update_INSERT, badTable, good, badWidth))
	var werr *p4rt.WriteError
	if !errors.As(err, &werr) || len(werr.Updates) != 2 {
		t.Fatalf("Write: %v, want a WriteError with 2 refused updates", err)
	}
	if werr.Updates[0].Index != 0 || werr.Updates[0].Code != codes.NotFound {
		t.Errorf("bad table id: %+v", werr.Updates[0])
	}
	if werr.Updates[1].Index != 2 || werr.Updates[1].Code != codes.OutOfRange {
		t.Errorf("bad width: %+v", werr.Updates[1])
	}
	t.Logf("error text: %v", err)
	if c.Metrics.Errors[codes.NotFound].Load() != 1 || c.Metrics.Errors[codes.OutOfRange].Load() != 1 {
		t.Error("client counters by code not incremented")
	}
	if srv.Metrics.Rejected.Load() != 2 || srv.Metrics.ErrorsByCode[codes.OutOfRange].Load() != 1 {
		t.Error("target counters not incremented")
	}
	if c.Metrics.EntriesWritten.Load() != 1 || srv.Entries(p4.TablePortSMAC) != 1 {
		t.Error("the valid update of the batch was not applied")
	}
	// Duplicate insert, modify of a missing entry.
	err = c.Write(ctx, p4rt.Updates(p4v1.Update_INSERT, good))
	if !errors.As(err, &werr) || werr.Code() != codes.AlreadyExists {
		t.Errorf("duplicate insert: %v", err)
	}
	missing, _ := enc.Entry(p4.TablePortSMAC, []p4rt.Match{{Field: p4.FieldPort, Value: []byte{2}}}, p4.ActionSetSMAC,
		p4rt.Param{Name: p4.ParamSMAC, Value: []byte{2, 0, 0, 0, 0, 1}})
	err = c.Write(ctx, p4rt.Updates(p4v1.Update_MODIFY, missing))
	if !errors.As(err, &werr) || werr.Code() != codes.NotFound {
		t.Errorf("modify missing: %v", err)
	}
	// A P4Info that is not access.p4's is refused.
	other := schema(t).Info
	other.Tables[0].MatchFields[0].Bitwidth = 64
	if err := c.SetPipeline(ctx, other, nil, false); status.Code(errors.Unwrap(err)) != codes.InvalidArgument {
		t.Errorf("foreign P4Info: %v", err)
	}
	// The encoder refuses what does not fit before anything is sent.
	if _, err := enc.Entry(p4.TableMaglev, []p4rt.Match{{Field: p4.FieldIndex, Value: []byte{2, 0, 0}}}, ""); !errors.Is(err, p4rt.ErrWidth) {
		t.Errorf("encoder width check: %v", err)
	}
	if _, err := enc.Entry("Elsewhere.no_such_table", nil, ""); !errors.Is(err, p4.ErrUnknownTable) {
		t.Errorf("encoder table check: %v", err)
	}
}

func TestSYNRateOverride(t *testing.T) {
	srv, addr := startTarget(t, "127.0.0.1:0")
	c, err := dial(t, addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p4rt.NewAccess(c, schema(t))
	ctx := context.Background()
	if err := a.Init(ctx); err != nil {
		t.Fatal(err)
	}
	eip := netip.MustParseAddr("198.51.100.10")
	if err := a.SetEIP(ctx, eip, netip.MustParseAddr("100.64.0.1"), 1); err != nil {
		t.Fatal(err)
	}
	if err := a.SetSYNRate(ctx, eip, p4.DirUp, 1234, 56); err != nil {
		t.Fatal(err)
	}
	ents, err := c.Read(ctx, &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: &p4v1.DirectMeterEntry{TableEntry: &p4v1.TableEntry{}}}})
	if err != nil || len(ents) != 2 {
		t.Fatalf("read meters: %d, %v", len(ents), err)
	}
	rates := map[int64]bool{}
	for _, e := range ents {
		rates[e.GetDirectMeterEntry().GetConfig().GetPir()] = true
	}
	if !rates[1234] || !rates[p4.DefaultSYNRate] {
		t.Fatalf("meter rates %v", rates)
	}
	// The override reached the data plane's meter slot.
	found := false
	for i := range 2 {
		if r, b := srv.Target().Meter(uint32(i)).Rate(); r == 1234 && b == 56 {
			found = true
		}
	}
	if !found {
		t.Fatal("override not applied to a meter slot")
	}
	// Counters are readable.
	cnt, err := c.Read(ctx, &p4v1.Entity{Entity: &p4v1.Entity_DirectCounterEntry{DirectCounterEntry: &p4v1.DirectCounterEntry{TableEntry: &p4v1.TableEntry{}}}})
	if err != nil || len(cnt) != 3 {
		t.Fatalf("read counters: %d, %v", len(cnt), err)
	}
	if err := a.DeleteEIP(ctx, eip); err != nil {
		t.Fatal(err)
	}
	if srv.Entries(p4.TableEIPToVIP)+srv.Entries(p4.TableSYNMeter) != 0 {
		t.Fatal("DeleteEIP left entries")
	}
}
