package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"

	"xdpgw/control/config"
)

// Defaults of Config's optional fields.
const (
	DefaultPort         = 179
	DefaultConnectRetry = 5 * time.Second
	DefaultHoldTime     = 90 * time.Second // RFC 4271 10, suggested value
	DefaultCoalesce     = 150 * time.Millisecond
)

// ErrStopped is returned by every verb of a stopped Speaker.
var ErrStopped = errors.New("bgp speaker stopped")

// Config is what a Speaker needs; FromConfig builds it from the YAML file's
// bgp section.
type Config struct {
	ASN      uint32
	RouterID netip.Addr // IPv4, non-zero (RFC 4271 4.2 BGP Identifier)
	// Listen is where peers connect to us. The zero value does not listen
	// (the speaker only connects out).
	Listen netip.AddrPort
	Peers  []Peer
	// Announce is announced at Start with next hop self (config
	// bgp.announce: the VIP and pool of a NAT64 server, the /96 of an
	// access).
	Announce []netip.Prefix

	ConnectRetry time.Duration // 0: DefaultConnectRetry (gobgp's floor: 1 s)
	HoldTime     time.Duration // 0: DefaultHoldTime; keepalive = hold/3
	// Coalesce is the minimum interval between two deliveries of a
	// WatchPaths callback (0: DefaultCoalesce).
	Coalesce time.Duration
	// Resolver turns next hops into MACs for WatchPaths (nil: the kernel
	// neighbour table through netlink).
	Resolver Resolver
	Logger   *slog.Logger // nil: slog.Default()
}

// Peer is one BGP neighbour. eBGP when ASN differs from the speaker's,
// iBGP when equal. A session carries the unicast family of its address
// (IPv4 prefixes to IPv4 peers, IPv6 prefixes to IPv6 peers), the usual
// arrangement with BIRD and FRR.
type Peer struct {
	Address netip.Addr
	ASN     uint32
	Port    uint16 // the peer's TCP port; 0: 179
	// LocalAddress is the source address of our connections; the zero
	// value lets the kernel choose.
	LocalAddress netip.Addr
	// Passive: never connect, only accept.
	Passive bool
}

// FromConfig maps the YAML bgp section (already validated) to a Config.
// Timers, resolver and logger keep their defaults.
func FromConfig(b *config.BGP) Config {
	if b == nil {
		return Config{}
	}
	c := Config{
		ASN:      b.ASN,
		RouterID: b.ParsedRouterID(),
		Listen:   b.ParsedListen(),
		Announce: b.ParsedAnnounce(),
	}
	for _, p := range b.Peers {
		c.Peers = append(c.Peers, Peer{Address: p.ParsedAddress(), ASN: p.ASN})
	}
	return c
}

// Speaker is an embedded gobgp server driven by operator verbs. All its
// state is owned by one goroutine (run); the exported methods send it
// closures and wait for their result.
type Speaker struct {
	cfg  Config
	log  *slog.Logger
	srv  *server.BgpServer
	ops  chan func()
	done chan struct{} // closed when the owner goroutine has exited

	// watchCtx ends every gobgp watcher this speaker started; watches
	// counts the WatchPaths goroutines (Add only on the owner goroutine,
	// so never concurrently with Stop's Wait).
	watchCtx    context.Context
	watchCancel context.CancelFunc
	watches     sync.WaitGroup

	// Owned by run.
	routes   map[netip.Prefix]*route
	peers    map[netip.Addr]Peer
	draining bool

	c counters
}

// route is one prefix the operator asked to announce.
type route struct {
	nextHop netip.Addr // invalid: self
	uuid    []byte     // gobgp's id of the path; nil while not announced
}

type counters struct {
	peerUps, peerDowns          atomic.Uint64
	established                 atomic.Int64
	announcements, withdrawals  atomic.Uint64
	errors                      atomic.Uint64
	deliveries, watchReadErrors atomic.Uint64
}

// Start starts the embedded gobgp server: global config (ASN, router ID,
// listener), the peers, and the announcements of cfg.Announce. ctx bounds
// the start only.
func Start(ctx context.Context, cfg Config) (*Speaker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.ASN == 0 {
		return nil, fmt.Errorf("bgp: start: asn 0 is reserved (RFC 7607)")
	}
	if !cfg.RouterID.Is4() || cfg.RouterID.IsUnspecified() {
		return nil, fmt.Errorf("bgp: start: router id %v: want a non-zero IPv4 address (RFC 4271 4.2)", cfg.RouterID)
	}
	if cfg.ConnectRetry <= 0 {
		cfg.ConnectRetry = DefaultConnectRetry
	}
	if cfg.HoldTime <= 0 {
		cfg.HoldTime = DefaultHoldTime
	}
	if cfg.HoldTime < 3*time.Second {
		return nil, fmt.Errorf("bgp: start: hold time %v: want 0 or at least 3s (RFC 4271 4.2)", cfg.HoldTime)
	}
	if cfg.Coalesce <= 0 {
		cfg.Coalesce = DefaultCoalesce
	}
	if cfg.Resolver == nil {
		cfg.Resolver = NetlinkResolver{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	lg := cfg.Logger.With("subsystem", "bgp")
	seen := map[netip.Addr]bool{}
	for _, p := range cfg.Peers {
		if err := checkPeer(p); err != nil {
			return nil, fmt.Errorf("bgp: start: %w", err)
		}
		if seen[p.Address] {
			return nil, fmt.Errorf("bgp: start: peer %s: configured twice", p.Address)
		}
		seen[p.Address] = true
	}
	for _, p := range cfg.Announce {
		if _, err := checkRoute(p, netip.Addr{}); err != nil {
			return nil, fmt.Errorf("bgp: start: announce %s: %w", p, err)
		}
	}

	srv := server.NewBgpServer(server.LoggerOption(newSlogAdapter(lg)))
	// Serve is gobgp's own owner loop; it never returns, so one goroutine
	// per Speaker outlives Stop (idle, holding no socket).
	go srv.Serve()

	g := &api.Global{Asn: cfg.ASN, RouterId: cfg.RouterID.String(), ListenPort: -1}
	if cfg.Listen.IsValid() && cfg.Listen.Port() != 0 {
		g.ListenPort = int32(cfg.Listen.Port())
		g.ListenAddresses = []string{cfg.Listen.Addr().Unmap().String()}
	}
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: g}); err != nil {
		return nil, fmt.Errorf("bgp: start: listen %s: %w", cfg.Listen, err)
	}

	wctx, cancel := context.WithCancel(context.Background())
	s := &Speaker{
		cfg: cfg, log: lg, srv: srv,
		ops: make(chan func()), done: make(chan struct{}),
		watchCtx: wctx, watchCancel: cancel,
		routes: map[netip.Prefix]*route{},
		peers:  map[netip.Addr]Peer{},
	}
	if err := s.watchPeers(); err != nil {
		cancel()
		srv.StopBgp(context.Background(), &api.StopBgpRequest{})
		return nil, fmt.Errorf("bgp: start: watch peers: %w", err)
	}
	go s.run()
	lg.Info("bgp: speaker started", "asn", cfg.ASN, "router_id", cfg.RouterID, "listen", listenString(cfg.Listen), "peers", len(cfg.Peers))

	for _, p := range cfg.Peers {
		if err := s.AddPeer(ctx, p); err != nil {
			s.Stop(context.Background())
			return nil, err
		}
	}
	for _, p := range cfg.Announce {
		if err := s.Announce(p, netip.Addr{}); err != nil {
			s.Stop(context.Background())
			return nil, err
		}
	}
	return s, nil
}

func listenString(ap netip.AddrPort) string {
	if !ap.IsValid() || ap.Port() == 0 {
		return "off"
	}
	return ap.String()
}

func checkPeer(p Peer) error {
	if !p.Address.IsValid() || p.Address.IsUnspecified() || p.Address.IsMulticast() {
		return fmt.Errorf("peer %v: want a unicast address", p.Address)
	}
	if p.ASN == 0 {
		return fmt.Errorf("peer %s: asn 0 is reserved (RFC 7607)", p.Address)
	}
	if p.LocalAddress.IsValid() && p.LocalAddress.Unmap().Is4() != p.Address.Unmap().Is4() {
		return fmt.Errorf("peer %s: local address %s is of another address family", p.Address, p.LocalAddress)
	}
	return nil
}

// run is the owner goroutine: it executes the closures the verbs send, one
// at a time, until Stop closes done.
func (s *Speaker) run() {
	for {
		select {
		case f := <-s.ops:
			f()
		case <-s.done:
			return
		}
	}
}

// do runs f on the owner goroutine and returns its error.
func (s *Speaker) do(f func() error) error {
	errc := make(chan error, 1)
	select {
	case s.ops <- func() { errc <- f() }:
		return <-errc
	case <-s.done:
		return ErrStopped
	}
}

// Announce originates prefix with next hop nextHop (invalid: self, the
// local address of each session). IPv4 prefixes go in NEXT_HOP/NLRI, IPv6
// prefixes in MP_REACH_NLRI (RFC 4760). Announcing a prefix again with the
// same next hop does nothing; with another next hop it replaces the route.
// While the speaker is draining the route is recorded and announced by
// Resume.
func (s *Speaker) Announce(prefix netip.Prefix, nextHop netip.Addr) error {
	p, err := checkRoute(prefix, nextHop)
	if err != nil {
		s.c.errors.Add(1)
		return fmt.Errorf("announce %s: %w", prefix, err)
	}
	nextHop = nextHop.Unmap()
	err = s.do(func() error {
		r := s.routes[p]
		if r != nil && r.nextHop == nextHop && (r.uuid != nil || s.draining) {
			return nil
		}
		if r == nil {
			r = &route{}
			s.routes[p] = r
		}
		r.nextHop = nextHop
		if s.draining {
			s.log.Info("bgp: announce deferred: draining", "prefix", p, "next_hop", hopString(nextHop))
			return nil
		}
		return s.add(p, r)
	})
	if err != nil {
		s.c.errors.Add(1)
		if errors.Is(err, ErrStopped) {
			return fmt.Errorf("announce %s: %w", prefix, err)
		}
		return err
	}
	return nil
}

// add puts r into gobgp's RIB; owner only.
func (s *Speaker) add(p netip.Prefix, r *route) error {
	path, err := apiPath(p, r.nextHop)
	if err != nil {
		return fmt.Errorf("announce %s: %w", p, err)
	}
	resp, err := s.srv.AddPath(context.Background(), &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: path})
	if err != nil {
		return fmt.Errorf("announce %s: %w", p, err)
	}
	r.uuid = resp.Uuid
	s.c.announcements.Add(1)
	s.log.Info("bgp: announce", "prefix", p, "next_hop", hopString(r.nextHop))
	return nil
}

// del removes r from gobgp's RIB (peers get a withdrawal); owner only.
func (s *Speaker) del(p netip.Prefix, r *route, why string) error {
	if r.uuid == nil {
		return nil
	}
	err := s.srv.DeletePath(context.Background(), &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Family: familyOf(p), Uuid: r.uuid})
	if err != nil {
		return fmt.Errorf("withdraw %s: %w", p, err)
	}
	r.uuid = nil
	s.c.withdrawals.Add(1)
	s.log.Info("bgp: withdraw", "prefix", p, "reason", why)
	return nil
}

func hopString(a netip.Addr) string {
	if !a.IsValid() {
		return "self"
	}
	return a.String()
}

// Withdraw stops announcing prefix. Withdrawing a prefix that is not
// announced does nothing.
func (s *Speaker) Withdraw(prefix netip.Prefix) error {
	p, err := checkRoute(prefix, netip.Addr{})
	if err != nil {
		s.c.errors.Add(1)
		return fmt.Errorf("withdraw %s: %w", prefix, err)
	}
	err = s.do(func() error {
		r := s.routes[p]
		if r == nil {
			return nil
		}
		if err := s.del(p, r, "operator"); err != nil {
			return err
		}
		delete(s.routes, p)
		return nil
	})
	if err != nil {
		s.c.errors.Add(1)
		if errors.Is(err, ErrStopped) {
			return fmt.Errorf("withdraw %s: %w", prefix, err)
		}
	}
	return err
}

// Drain withdraws every announced prefix but keeps the sessions up and the
// prefixes recorded: a NAT64 server that drains stops attracting new flows
// (its VIP path disappears from the access) and replies to its pool (its
// pool route disappears) while it finishes what it has. Announce while
// draining records without announcing. Resume undoes Drain. Idempotent.
func (s *Speaker) Drain() error {
	return s.do(func() error {
		if !s.draining {
			s.log.Info("bgp: drain", "prefixes", len(s.routes))
		}
		s.draining = true
		var errs []error
		for _, p := range sortedPrefixes(s.routes) {
			if err := s.del(p, s.routes[p], "drain"); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// Resume ends a Drain: every recorded prefix is announced again.
func (s *Speaker) Resume() error {
	return s.do(func() error {
		if s.draining {
			s.log.Info("bgp: resume", "prefixes", len(s.routes))
		}
		s.draining = false
		var errs []error
		for _, p := range sortedPrefixes(s.routes) {
			if r := s.routes[p]; r.uuid == nil {
				if err := s.add(p, r); err != nil {
					errs = append(errs, err)
				}
			}
		}
		return errors.Join(errs...)
	})
}

// Draining reports whether the speaker is drained.
func (s *Speaker) Draining() bool {
	var d bool
	if s.do(func() error { d = s.draining; return nil }) != nil {
		return false
	}
	return d
}

// Announced returns the prefixes currently announced (not the ones
// recorded during a drain), sorted.
func (s *Speaker) Announced() []netip.Prefix {
	var out []netip.Prefix
	s.do(func() error {
		for _, p := range sortedPrefixes(s.routes) {
			if s.routes[p].uuid != nil {
				out = append(out, p)
			}
		}
		return nil
	})
	return out
}

func sortedPrefixes[V any](m map[netip.Prefix]V) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Addr().Compare(out[j].Addr()); c != 0 {
			return c < 0
		}
		return out[i].Bits() < out[j].Bits()
	})
	return out
}

// AddPeer configures a neighbour. Adding the same peer with the same
// settings again does nothing; with other settings it is an error (remove
// it first).
func (s *Speaker) AddPeer(ctx context.Context, p Peer) error {
	if err := checkPeer(p); err != nil {
		s.c.errors.Add(1)
		return fmt.Errorf("add %w", err)
	}
	p.Address = p.Address.Unmap()
	return s.do(func() error {
		if old, ok := s.peers[p.Address]; ok {
			if old == p {
				return nil
			}
			s.c.errors.Add(1)
			return fmt.Errorf("add peer %s: already configured with other settings (asn %d)", p.Address, old.ASN)
		}
		if err := s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: s.apiPeer(p)}); err != nil {
			s.c.errors.Add(1)
			return fmt.Errorf("add peer %s: %w", p.Address, err)
		}
		s.peers[p.Address] = p
		kind := "ebgp"
		if p.ASN == s.cfg.ASN {
			kind = "ibgp"
		}
		s.log.Info("bgp: peer added", "peer", p.Address, "asn", p.ASN, "type", kind, "port", portOf(p), "passive", p.Passive)
		return nil
	})
}

// RemovePeer deconfigures a neighbour (a CEASE NOTIFICATION closes its
// session, RFC 4486 subcode 3) and drops its routes. Removing an unknown
// peer does nothing.
func (s *Speaker) RemovePeer(ctx context.Context, addr netip.Addr) error {
	addr = addr.Unmap()
	return s.do(func() error {
		if _, ok := s.peers[addr]; !ok {
			return nil
		}
		if err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr.String()}); err != nil {
			s.c.errors.Add(1)
			return fmt.Errorf("remove peer %s: %w", addr, err)
		}
		delete(s.peers, addr)
		s.log.Info("bgp: peer removed", "peer", addr)
		return nil
	})
}

func portOf(p Peer) uint16 {
	if p.Port == 0 {
		return DefaultPort
	}
	return p.Port
}

func (s *Speaker) apiPeer(p Peer) *api.Peer {
	fam := familyV4
	if p.Address.Is6() {
		fam = familyV6
	}
	hold := uint64(s.cfg.HoldTime / time.Second)
	tr := &api.Transport{RemotePort: uint32(portOf(p)), PassiveMode: p.Passive}
	if p.LocalAddress.IsValid() {
		tr.LocalAddress = p.LocalAddress.Unmap().String()
	}
	return &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: p.Address.String(), PeerAsn: p.ASN},
		Transport: tr,
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry:      uint64(max(s.cfg.ConnectRetry/time.Second, 1)),
			HoldTime:          hold,
			KeepaliveInterval: max(hold/3, 1),
		}},
		AfiSafis: []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: fam, Enabled: true}}},
	}
}

// Stop withdraws every announced prefix, closes every session with a CEASE
// NOTIFICATION (peers drop our routes at once, RFC 4271 6.7), closes the
// listener and ends all watches. Later verbs return ErrStopped. Stop is
// idempotent; ctx bounds the wait for the owner goroutine.
func (s *Speaker) Stop(ctx context.Context) error {
	errc := make(chan error, 1)
	select {
	case s.ops <- func() {
		var errs []error
		for _, p := range sortedPrefixes(s.routes) {
			if err := s.del(p, s.routes[p], "stop"); err != nil {
				errs = append(errs, err)
			}
		}
		if err := s.srv.StopBgp(context.Background(), &api.StopBgpRequest{}); err != nil {
			errs = append(errs, err)
		}
		s.watchCancel()
		close(s.done)
		s.log.Info("bgp: speaker stopped", "asn", s.cfg.ASN, "router_id", s.cfg.RouterID)
		errc <- errors.Join(errs...)
	}:
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	// The closure closed done: the owner loop returns, and senders
	// blocked in do pick done. ops is never closed (a send in a select on
	// a closed channel would panic).
	err := <-errc
	// Wait for the WatchPaths goroutines: after Stop no callback runs.
	waited := make(chan struct{})
	go func() { s.watches.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("bgp: stop: watch callbacks still running: %w", ctx.Err()))
	}
	return err
}

// watchPeers counts and logs session transitions. gobgp calls the
// callback from one goroutine, so up is not shared.
func (s *Speaker) watchPeers() error {
	up := map[string]bool{}
	return s.srv.WatchEvent(s.watchCtx, &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}, func(r *api.WatchEventResponse) {
		pe := r.GetPeer()
		if pe == nil || pe.Type != api.WatchEventResponse_PeerEvent_STATE || pe.Peer == nil || pe.Peer.State == nil {
			return
		}
		st := pe.Peer.State
		addr := st.NeighborAddress
		switch {
		case st.SessionState == api.PeerState_ESTABLISHED && !up[addr]:
			up[addr] = true
			s.c.peerUps.Add(1)
			s.c.established.Add(1)
			s.log.Info("bgp: peer up", "peer", addr, "asn", st.PeerAsn, "router_id", st.RouterId)
		case st.SessionState != api.PeerState_ESTABLISHED && up[addr]:
			delete(up, addr)
			s.c.peerDowns.Add(1)
			s.c.established.Add(-1)
			s.log.Warn("bgp: peer down", "peer", addr, "asn", st.PeerAsn, "state", sessionState(st.SessionState))
		}
	})
}

func sessionState(s api.PeerState_SessionState) string {
	if n, ok := api.PeerState_SessionState_name[int32(s)]; ok {
		return n
	}
	return strconv.Itoa(int(s))
}

// Stats are the speaker's counters. Message counters are gobgp's, summed
// over the configured peers (a removed peer's counts go with it).
type Stats struct {
	PeersConfigured       int
	PeersEstablished      int
	PeerUps               uint64 // session transitions to Established since Start
	PeerDowns             uint64 // and out of it
	UpdatesSent           uint64
	UpdatesReceived       uint64
	NotificationsSent     uint64
	NotificationsReceived uint64
	Announced             int    // prefixes announced now
	Announcements         uint64 // routes put into the RIB by Announce/Resume/Start
	Withdrawals           uint64 // routes taken out by Withdraw/Drain/Stop
	Errors                uint64 // verbs that failed
	WatchDeliveries       uint64 // PathUpdates delivered to WatchPaths callbacks
	WatchReadErrors       uint64 // RIB reads that failed in a watch (retried)
}

// Stats returns the counters.
func (s *Speaker) Stats(ctx context.Context) Stats {
	st := Stats{
		PeersEstablished: int(s.c.established.Load()),
		PeerUps:          s.c.peerUps.Load(),
		PeerDowns:        s.c.peerDowns.Load(),
		Announcements:    s.c.announcements.Load(),
		Withdrawals:      s.c.withdrawals.Load(),
		Errors:           s.c.errors.Load(),
		WatchDeliveries:  s.c.deliveries.Load(),
		WatchReadErrors:  s.c.watchReadErrors.Load(),
	}
	st.Announced = len(s.Announced())
	s.do(func() error {
		st.PeersConfigured = len(s.peers)
		return nil
	})
	s.srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		if p.State == nil || p.State.Messages == nil {
			return
		}
		if m := p.State.Messages.Sent; m != nil {
			st.UpdatesSent += m.Update
			st.NotificationsSent += m.Notification
		}
		if m := p.State.Messages.Received; m != nil {
			st.UpdatesReceived += m.Update
			st.NotificationsReceived += m.Notification
		}
	})
	return st
}

// PeerState returns the session state of a configured peer as gobgp names
// it ("ESTABLISHED", "ACTIVE", ...), or "" if the peer is unknown.
func (s *Speaker) PeerState(ctx context.Context, addr netip.Addr) string {
	var st string
	s.srv.ListPeer(ctx, &api.ListPeerRequest{Address: addr.Unmap().String()}, func(p *api.Peer) {
		if p.State != nil {
			st = sessionState(p.State.SessionState)
		}
	})
	return st
}
