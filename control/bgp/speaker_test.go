package bgp_test

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"xdpgw/control/bgp"
	"xdpgw/control/config"
)

// Loopback addresses of the in-process speakers: all of 127/8 is local on
// Linux, so each speaker gets its own address (gobgp tells peers apart
// by address) and its own port.
var (
	addrA = netip.MustParseAddr("127.77.0.1") // NAT64 server 1
	addrB = netip.MustParseAddr("127.77.0.2") // access + manager
	addrC = netip.MustParseAddr("127.77.0.3") // NAT64 server 2
	macA  = net.HardwareAddr{2, 0, 0, 0, 0, 0xa}
	macC  = net.HardwareAddr{2, 0, 0, 0, 0, 0xc}

	vip  = netip.MustParsePrefix("192.0.2.10/32")
	pool = netip.MustParsePrefix("198.51.100.0/28")
)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(discard{}, nil))
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// freePort returns a TCP port free on addr right now.
func freePort(t *testing.T, addr netip.Addr) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatalf("free port on %s: %v", addr, err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func start(t *testing.T, cfg bgp.Config) *bgp.Speaker {
	t.Helper()
	if cfg.ConnectRetry == 0 {
		cfg.ConnectRetry = time.Second
	}
	if cfg.HoldTime == 0 {
		cfg.HoldTime = 9 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := bgp.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start %s: %v", cfg.RouterID, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Stop(ctx)
	})
	return s
}

// watcher keeps the latest PathUpdate per prefix, read by the test
// goroutine only.
type watcher struct {
	ch     chan bgp.PathUpdate
	latest map[netip.Prefix]bgp.PathUpdate
	count  map[netip.Prefix]int
}

func watch(t *testing.T, s *bgp.Speaker, filter ...netip.Prefix) *watcher {
	t.Helper()
	w := &watcher{ch: make(chan bgp.PathUpdate, 1024), latest: map[netip.Prefix]bgp.PathUpdate{}, count: map[netip.Prefix]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.WatchPaths(ctx, filter, func(u bgp.PathUpdate) { w.ch <- u }); err != nil {
		t.Fatalf("WatchPaths: %v", err)
	}
	return w
}

// wait consumes updates until cond holds for prefix p's latest state.
func (w *watcher) wait(t *testing.T, p netip.Prefix, what string, cond func(bgp.PathUpdate) bool) bgp.PathUpdate {
	t.Helper()
	if u, ok := w.latest[p]; ok && cond(u) {
		return u
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case u := <-w.ch:
			w.latest[u.Prefix] = u
			w.count[u.Prefix]++
			t.Logf("update: %s", u)
			if u.Prefix == p && cond(u) {
				return u
			}
		case <-deadline:
			t.Fatalf("%s: timed out waiting for %s; latest: %v", p, what, w.latest[p])
		}
	}
}

// drain takes every update already queued.
func (w *watcher) drain() {
	for {
		select {
		case u := <-w.ch:
			w.latest[u.Prefix] = u
			w.count[u.Prefix]++
		default:
			return
		}
	}
}

func hops(u bgp.PathUpdate) string {
	var s []string
	for _, h := range u.NextHops {
		s = append(s, h.Addr.String()+"="+h.MAC.String())
	}
	return strings.Join(s, ",")
}

func withHops(want string) func(bgp.PathUpdate) bool {
	return func(u bgp.PathUpdate) bool { return !u.Withdrawn && hops(u) == want }
}

func withdrawn(u bgp.PathUpdate) bool { return u.Withdrawn }

// TestLoopback: NAT64 servers A and C announce a VIP (and A its pool) to
// B, whose WatchPaths sees every next hop, the withdrawals, a drain, a
// flapping pool coalesced, and C's shutdown.
func TestLoopback(t *testing.T) {
	pA, pB, pC := freePort(t, addrA), freePort(t, addrB), freePort(t, addrC)
	const asB, asNAT64 = 64512, 65001
	b := start(t, bgp.Config{
		ASN: asB, RouterID: addrB, Listen: netip.AddrPortFrom(addrB, pB),
		Peers: []bgp.Peer{
			{Address: addrA, ASN: asNAT64, Port: pA, LocalAddress: addrB},
			{Address: addrC, ASN: asNAT64, Port: pC, LocalAddress: addrB},
		},
		Coalesce: 150 * time.Millisecond,
		Resolver: bgp.StaticResolver{addrA: macA, addrC: macC},
	})
	a := start(t, bgp.Config{
		ASN: asNAT64, RouterID: addrA, Listen: netip.AddrPortFrom(addrA, pA),
		Peers: []bgp.Peer{{Address: addrB, ASN: asB, Port: pB, LocalAddress: addrA}},
	})
	c := start(t, bgp.Config{
		ASN: asNAT64, RouterID: addrC, Listen: netip.AddrPortFrom(addrC, pC),
		Peers: []bgp.Peer{{Address: addrB, ASN: asB, Port: pB, LocalAddress: addrC}},
	})
	// All speakers are started before any route moves: gobgp v3's
	// StartBgp writes package-level route-selection globals
	// (table.SelectionOptions, table.UseMultiplePaths) that every server
	// of the process reads; starting one while another computes best
	// paths is a data race inside gobgp (see docs/bgp.md).

	w := watch(t, b, vip, pool)
	// Initial state: nobody announces anything yet.
	w.wait(t, vip, "initial withdrawn", withdrawn)
	w.wait(t, pool, "initial withdrawn", withdrawn)
	if err := a.Announce(vip, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Announce(pool, addrA); err != nil {
		t.Fatal(err)
	}
	// Idempotent.
	if err := a.Announce(vip, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	wantA := addrA.String() + "=" + macA.String()
	u := w.wait(t, vip, "A's next hop", withHops(wantA))
	if u.NextHops[0].Peer != addrA || u.NextHops[0].PeerASN != asNAT64 {
		t.Errorf("vip path source = %s as %d, want %s as %d", u.NextHops[0].Peer, u.NextHops[0].PeerASN, addrA, asNAT64)
	}
	w.wait(t, pool, "A's next hop", withHops(wantA))

	// Withdraw the pool: B sees the withdrawal; the VIP stays.
	if err := a.Withdraw(pool); err != nil {
		t.Fatal(err)
	}
	if err := a.Withdraw(pool); err != nil { // idempotent
		t.Fatal(err)
	}
	w.wait(t, pool, "withdrawal", withdrawn)
	if got := a.Announced(); len(got) != 1 || got[0] != vip {
		t.Errorf("A announced = %v, want [%s]", got, vip)
	}

	// A flapping pool (announce/withdraw every 5 ms for ~400 ms) is
	// coalesced: at most one delivery per 150 ms, and the final state wins.
	w.drain()
	before := w.count[pool]
	t0 := time.Now()
	for i := 0; i < 40; i++ {
		if err := a.Announce(pool, netip.Addr{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := a.Withdraw(pool); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := a.Announce(pool, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	w.wait(t, pool, "A's next hop after flapping", withHops(wantA))
	time.Sleep(400 * time.Millisecond) // let any trailing delivery arrive
	w.drain()
	flap := time.Since(t0)
	deliveries := w.count[pool] - before
	if limit := int(flap/(150*time.Millisecond)) + 2; deliveries > limit {
		t.Errorf("flapping for %v caused %d deliveries, want <= %d (coalescing)", flap, deliveries, limit)
	}
	t.Logf("80 flaps in %v -> %d deliveries", flap, deliveries)
	if l := w.latest[pool]; hops(l) != wantA {
		t.Errorf("final pool state %s, want via %s", l, wantA)
	}

	// A second NAT64 server announces the same VIP: multipath.
	if err := c.Announce(vip, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	wantAC := wantA + "," + addrC.String() + "=" + macC.String()
	w.wait(t, vip, "two next hops", withHops(wantAC))

	// A drains: its VIP and pool go; C's VIP stays. Resume brings them back.
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	if !a.Draining() || len(a.Announced()) != 0 {
		t.Errorf("after Drain: draining=%v announced=%v", a.Draining(), a.Announced())
	}
	wantC := addrC.String() + "=" + macC.String()
	w.wait(t, vip, "C only (A drained)", withHops(wantC))
	w.wait(t, pool, "pool withdrawn (A drained)", withdrawn)
	if err := a.Resume(); err != nil {
		t.Fatal(err)
	}
	w.wait(t, vip, "two next hops after resume", withHops(wantAC))
	w.wait(t, pool, "pool back after resume", withHops(wantA))

	// C stops: B sees one next hop again.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("stop C: %v", err)
	}
	if err := c.Announce(vip, netip.Addr{}); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("Announce after Stop: err = %v, want stopped", err)
	}
	w.wait(t, vip, "one next hop after C stopped", withHops(wantA))

	st := b.Stats(ctx)
	t.Logf("B stats: %+v", st)
	if st.PeersConfigured != 2 || st.PeersEstablished != 1 || st.PeerUps < 2 || st.PeerDowns < 1 || st.UpdatesReceived == 0 || st.WatchDeliveries == 0 {
		t.Errorf("B stats unexpected: %+v", st)
	}
	sa := a.Stats(ctx)
	t.Logf("A stats: %+v", sa)
	if sa.Announced != 2 || sa.Announcements < 4 || sa.Withdrawals < 3 || sa.UpdatesSent == 0 {
		t.Errorf("A stats unexpected: %+v", sa)
	}
}

func TestAnnounceErrors(t *testing.T) {
	s := start(t, bgp.Config{ASN: 65010, RouterID: netip.MustParseAddr("192.0.2.1")})
	for _, tc := range []struct {
		name   string
		prefix string
		hop    string
		want   string
	}{
		{"host bits", "198.51.100.1/28", "", "announce 198.51.100.1/28: host bits set"},
		{"family", "198.51.100.0/28", "2001:db8::1", "announce 198.51.100.0/28: next hop 2001:db8::1 is not of the prefix's address family"},
		{"multicast hop", "64:ff9b::/96", "ff02::1", "announce 64:ff9b::/96: next hop ff02::1 is not a unicast address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hop netip.Addr
			if tc.hop != "" {
				hop = netip.MustParseAddr(tc.hop)
			}
			err := s.Announce(netip.MustParsePrefix(tc.prefix), hop)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
	// IPv6 via MP_REACH and a replaced next hop are fine without peers.
	p6 := netip.MustParsePrefix("64:ff9b::/96")
	if err := s.Announce(p6, netip.MustParseAddr("2001:db8::1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Announce(p6, netip.MustParseAddr("2001:db8::2")); err != nil {
		t.Fatal(err)
	}
	if got := s.Announced(); len(got) != 1 || got[0] != p6 {
		t.Errorf("announced = %v", got)
	}
	if err := s.AddPeer(context.Background(), bgp.Peer{Address: netip.MustParseAddr("192.0.2.2"), ASN: 65011, Passive: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPeer(context.Background(), bgp.Peer{Address: netip.MustParseAddr("192.0.2.2"), ASN: 65012, Passive: true}); err == nil {
		t.Error("AddPeer with another ASN for a configured peer: want error")
	}
	if err := s.RemovePeer(context.Background(), netip.MustParseAddr("192.0.2.2")); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(context.Background()); st.Errors < 3 || st.Announced != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestStartErrors(t *testing.T) {
	ctx := context.Background()
	rid := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		name string
		cfg  bgp.Config
		want string
	}{
		{"asn", bgp.Config{RouterID: rid}, "asn 0"},
		{"router id", bgp.Config{ASN: 1, RouterID: netip.MustParseAddr("2001:db8::1")}, "router id"},
		{"dup peer", bgp.Config{ASN: 1, RouterID: rid, Peers: []bgp.Peer{{Address: rid, ASN: 2}, {Address: rid, ASN: 3}}}, "configured twice"},
		{"bad announce", bgp.Config{ASN: 1, RouterID: rid, Announce: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}}, "announce 10.0.0.1/8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = testLogger(t)
			s, err := bgp.Start(ctx, tc.cfg)
			if err == nil {
				s.Stop(ctx)
				t.Fatalf("Start succeeded, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	c := config.Default()
	got := bgp.FromConfig(c.BGP)
	if got.ASN != c.BGP.ASN || got.RouterID != c.BGP.ParsedRouterID() || got.Listen != c.BGP.ParsedListen() ||
		len(got.Peers) != len(c.BGP.Peers) || len(got.Announce) != len(c.BGP.Announce) {
		t.Errorf("FromConfig(default) = %+v from %+v", got, *c.BGP)
	}
}
