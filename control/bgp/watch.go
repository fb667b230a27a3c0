package bgp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// NextHop is one path of a prefix: a peer announcing it and where it
// points.
type NextHop struct {
	Addr    netip.Addr       // the path's NEXT_HOP (or MP_REACH next hop)
	MAC     net.HardwareAddr // nil while the Resolver does not know Addr
	Peer    netip.Addr       // the BGP neighbour the path came from
	PeerASN uint32
}

// PathUpdate is the state of one watched prefix: every path the peers
// announce for it (multipath: a VIP announced by three NAT64 servers has
// three next hops), sorted by next hop then peer.
type PathUpdate struct {
	Prefix    netip.Prefix
	NextHops  []NextHop
	Withdrawn bool // no peer announces the prefix (NextHops is empty)
}

// Resolved reports whether every next hop has a MAC.
func (u PathUpdate) Resolved() bool {
	for _, h := range u.NextHops {
		if h.MAC == nil {
			return false
		}
	}
	return true
}

func (u PathUpdate) String() string {
	if u.Withdrawn {
		return u.Prefix.String() + " withdrawn"
	}
	var b bytes.Buffer
	b.WriteString(u.Prefix.String())
	for _, h := range u.NextHops {
		mac := "?"
		if h.MAC != nil {
			mac = h.MAC.String()
		}
		fmt.Fprintf(&b, " via %s (%s, peer %s as %d)", h.Addr, mac, h.Peer, h.PeerASN)
	}
	return b.String()
}

func sameUpdate(a, b PathUpdate) bool {
	return a.Prefix == b.Prefix && a.Withdrawn == b.Withdrawn &&
		slices.EqualFunc(a.NextHops, b.NextHops, func(x, y NextHop) bool {
			return x.Addr == y.Addr && x.Peer == y.Peer && x.PeerASN == y.PeerASN && bytes.Equal(x.MAC, y.MAC)
		})
}

// unresolvedRetry is how often a watch re-reads prefixes whose next hops
// have no MAC yet, so that the MAC is delivered once the kernel learns it.
const unresolvedRetry = time.Second

// WatchPaths calls fn with the state of every watched prefix, first once
// for each prefix of filter (Withdrawn if nobody announces it yet), then
// whenever it changes, until ctx ends or the speaker stops. An empty
// filter watches every IPv4/IPv6 unicast prefix the peers announce.
//
// Only paths learned from peers are reported (the speaker's own
// announcements are not). Every path of the prefix is reported, not just
// the best one: the manager needs every NAT64 server announcing a VIP.
//
// Coalescing: changes are collected per prefix and delivered at most once
// per Config.Coalesce (default 150 ms) per watch, after a settle delay of
// Coalesce/10 from the first change; what is delivered is the RIB's state
// at delivery time, so a backend that flaps ten times within the interval
// costs one callback (or none, if it ends where it started: a state equal
// to the last one delivered is not delivered again).
//
// fn runs on the watch's own goroutine, one call at a time; a slow fn
// delays later deliveries, it loses nothing.
func (s *Speaker) WatchPaths(ctx context.Context, filter []netip.Prefix, fn func(PathUpdate)) error {
	w := &pathWatch{
		s:          s,
		fn:         fn,
		interval:   s.cfg.Coalesce,
		filter:     map[netip.Prefix]bool{},
		dirty:      map[netip.Prefix]bool{},
		last:       map[netip.Prefix]PathUpdate{},
		unresolved: map[netip.Prefix]bool{},
		evs:        make(chan watchEvent, 256),
	}
	for _, p := range filter {
		m, err := checkRoute(p, netip.Addr{})
		if err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		w.filter[m] = true
	}
	if err := s.do(func() error { s.watches.Add(1); return nil }); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.watchCtx, cancel)
	send := func(ev watchEvent) {
		select {
		case w.evs <- ev:
		case <-ctx.Done():
		}
	}
	req := &api.WatchEventRequest{
		Peer: &api.WatchEventRequest_Peer{},
		Table: &api.WatchEventRequest_Table{Filters: []*api.WatchEventRequest_Table_Filter{
			// Every update a peer sends (after import policy), best or
			// not, withdrawals included.
			{Type: api.WatchEventRequest_Table_Filter_POST_POLICY},
			// Best-path changes catch what no update announces: paths
			// dropped because their peer went down.
			{Type: api.WatchEventRequest_Table_Filter_BEST},
		}},
	}
	err := s.srv.WatchEvent(ctx, req, func(r *api.WatchEventResponse) {
		if pe := r.GetPeer(); pe != nil {
			if pe.Type == api.WatchEventResponse_PeerEvent_STATE {
				send(watchEvent{all: true})
			}
			return
		}
		if t := r.GetTable(); t != nil {
			for _, p := range t.Paths {
				if rp, ok := parsePath(p); ok {
					send(watchEvent{prefix: rp.prefix})
				}
			}
		}
	})
	if err != nil {
		stop()
		cancel()
		s.watches.Done()
		return fmt.Errorf("watch: %w", err)
	}
	go func() {
		defer s.watches.Done()
		defer stop()
		defer cancel()
		w.run(ctx)
	}()
	return nil
}

type watchEvent struct {
	prefix netip.Prefix
	all    bool // a session changed state: re-read everything watched
}

// pathWatch is one WatchPaths; all its fields are owned by run.
type pathWatch struct {
	s        *Speaker
	fn       func(PathUpdate)
	interval time.Duration
	filter   map[netip.Prefix]bool // empty: everything
	evs      chan watchEvent

	dirty      map[netip.Prefix]bool
	all        bool // read the whole table (unfiltered watch)
	last       map[netip.Prefix]PathUpdate
	lastFlush  time.Time
	unresolved map[netip.Prefix]bool
}

func (w *pathWatch) run(ctx context.Context) {
	// The initial state.
	w.markAll()
	var flushC, retryC <-chan time.Time
	var flushT, retryT *time.Timer
	arm := func() {
		if flushT != nil {
			return
		}
		wait := max(time.Until(w.lastFlush.Add(w.interval)), w.interval/10)
		flushT = time.NewTimer(wait)
		flushC = flushT.C
	}
	defer func() {
		if flushT != nil {
			flushT.Stop()
		}
		if retryT != nil {
			retryT.Stop()
		}
	}()
	if !w.flush(ctx) {
		arm()
	}
	for {
		if len(w.unresolved) > 0 && retryT == nil {
			retryT = time.NewTimer(unresolvedRetry)
			retryC = retryT.C
		}
		select {
		case <-ctx.Done():
			return
		case ev := <-w.evs:
			if ev.all {
				w.markAll()
			} else if len(w.filter) == 0 || w.filter[ev.prefix] {
				w.dirty[ev.prefix] = true
			} else {
				continue
			}
			arm()
		case <-retryC:
			retryT, retryC = nil, nil
			for p := range w.unresolved {
				w.dirty[p] = true
			}
			clear(w.unresolved)
			arm()
		case <-flushC:
			flushT, flushC = nil, nil
			if !w.flush(ctx) {
				arm()
			}
		}
	}
}

func (w *pathWatch) markAll() {
	if len(w.filter) == 0 {
		w.all = true
		return
	}
	for p := range w.filter {
		w.dirty[p] = true
	}
}

// flush reads the RIB for the dirty prefixes and delivers what changed.
// It returns false if the RIB could not be read (the dirty set is kept).
func (w *pathWatch) flush(ctx context.Context) bool {
	if !w.all && len(w.dirty) == 0 {
		return true
	}
	w.lastFlush = time.Now()
	paths, err := w.read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return true
		}
		w.s.c.watchReadErrors.Add(1)
		w.s.log.Warn("bgp: watch: reading the RIB failed, retrying", "err", err)
		// Keep dirty (and all) as they are; run tries again after an
		// interval.
		return false
	}
	scope := w.dirty
	if w.all {
		scope = map[netip.Prefix]bool{}
		for p := range paths {
			scope[p] = true
		}
		for p := range w.last {
			scope[p] = true
		}
		for p := range w.dirty {
			scope[p] = true
		}
	}
	w.dirty = map[netip.Prefix]bool{}
	w.all = false
	macs := map[netip.Addr]net.HardwareAddr{}
	for _, p := range sortedPrefixes(scope) {
		u := w.update(ctx, p, paths[p], macs)
		if !u.Resolved() {
			// Read again later: the MAC is delivered once known.
			w.unresolved[p] = true
		}
		prev, seen := w.last[p]
		if seen && sameUpdate(prev, u) {
			continue
		}
		if !seen && u.Withdrawn && !w.filter[p] {
			continue // never announced, nothing to tell
		}
		if u.Withdrawn && !w.filter[p] {
			delete(w.last, p)
		} else {
			w.last[p] = u
		}
		w.s.c.deliveries.Add(1)
		w.s.log.Debug("bgp: watch: path update", "update", u.String())
		w.fn(u)
	}
	return true
}

func (w *pathWatch) update(ctx context.Context, p netip.Prefix, rs []received, macs map[netip.Addr]net.HardwareAddr) PathUpdate {
	u := PathUpdate{Prefix: p}
	for _, r := range rs {
		if !r.peer.IsValid() || !r.nextHop.IsValid() {
			continue // our own announcement, or a path we cannot forward to
		}
		mac, ok := macs[r.nextHop]
		if !ok {
			var err error
			mac, err = w.s.cfg.Resolver.Resolve(ctx, r.nextHop)
			if err != nil {
				mac = nil
			}
			macs[r.nextHop] = mac
		}
		u.NextHops = append(u.NextHops, NextHop{Addr: r.nextHop, MAC: mac, Peer: r.peer, PeerASN: r.peerASN})
	}
	slices.SortFunc(u.NextHops, func(a, b NextHop) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return a.Peer.Compare(b.Peer)
	})
	u.Withdrawn = len(u.NextHops) == 0
	return u
}

// read returns the global RIB's paths for the dirty prefixes (or for all
// prefixes when w.all), keyed by prefix.
func (w *pathWatch) read(ctx context.Context) (map[netip.Prefix][]received, error) {
	out := map[netip.Prefix][]received{}
	for _, fam := range []*api.Family{familyV4, familyV6} {
		req := &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: fam}
		if !w.all {
			for p := range w.dirty {
				if familyOf(p) == fam {
					req.Prefixes = append(req.Prefixes, &api.TableLookupPrefix{Prefix: p.String(), Type: api.TableLookupPrefix_EXACT})
				}
			}
			if len(req.Prefixes) == 0 {
				continue
			}
		}
		err := w.s.srv.ListPath(ctx, req, func(d *api.Destination) {
			for _, ap := range d.Paths {
				if ap.IsWithdraw || ap.Filtered {
					continue
				}
				if r, ok := parsePath(ap); ok {
					out[r.prefix] = append(out[r.prefix], r)
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
