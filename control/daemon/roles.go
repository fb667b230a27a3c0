package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
	"xdpgw/dataplane/pipeline"

	"xdpgw/control/access"
	"xdpgw/control/bgp"
	"xdpgw/control/config"
	"xdpgw/control/manager"
	"xdpgw/control/p4rt"
)

// The control-plane roles of system B (docs/scaleout.md): the BGP speaker
// (nat64: VIP and pools; access: the /96), the software access target's
// P4Runtime server (access) and the manager (manager). They start after
// the data plane runs and stop before it: a NAT64 server withdraws its
// routes (and the manager removes it from the tables) while it still
// forwards.

func hasRole(c *config.Config, r string) bool { return slices.Contains(c.Node.Roles, r) }

// runsAccess reports whether the box is an access tier (a software target
// serving P4Runtime, whose tables the access stage reads).
func runsAccess(c *config.Config) bool { return hasRole(c, config.NodeAccess) && c.Access != nil }

// newTarget creates the software access target (before the compile, so
// that Env.Access points at it).
func (d *daemon) newTarget(c *config.Config) error {
	var id uint64
	if c.Access.P4Runtime != nil {
		id = c.Access.P4Runtime.DeviceID
	}
	srv, err := access.New(access.Config{DeviceID: id, MaglevSize: c.Access.TableSize, Logger: d.log.With("subsystem", "p4runtime")})
	if err != nil {
		return fmt.Errorf("access target: %w", err)
	}
	d.target = srv
	return nil
}

// announcements are what the roles announce besides bgp.announce: a NAT64
// server's VIP (/32) and pools, an access tier's /96.
func announcements(c *config.Config) []netip.Prefix {
	var out []netip.Prefix
	add := func(p netip.Prefix) {
		if p.IsValid() && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if c.BGP != nil {
		for _, p := range c.BGP.ParsedAnnounce() {
			add(p.Masked())
		}
	}
	if hasRole(c, config.NodeNAT64) && c.NAT64 != nil {
		if v := c.NAT64.ParsedVIP(); v.IsValid() {
			add(netip.PrefixFrom(v, 32))
		}
		for _, p := range c.NAT64.Pools {
			if pfx, err := netip.ParsePrefix(p.Prefix); err == nil {
				add(pfx.Masked())
			}
		}
	}
	if hasRole(c, config.NodeAccess) && c.Access != nil {
		add(c.Access.ParsedPrefix().Masked())
	}
	return out
}

// startRoles starts, in order, the access target's P4Runtime server, the
// BGP speaker, the manager and the local API.
func (d *daemon) startRoles() error {
	c := d.rt.Config
	p4addr := ""
	if d.target != nil {
		addr := ""
		switch {
		case c.Access.P4Runtime != nil:
			addr = c.Access.P4Runtime.Address
		case hasRole(c, config.NodeManager):
			addr = "127.0.0.1:0" // in process: only our manager programs it
		}
		if addr != "" {
			lis, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("access target: listen on access.p4runtime.address %s: %w", addr, err)
			}
			p4addr = lis.Addr().String()
			go func() {
				if err := d.target.Serve(lis); err != nil {
					d.log.Error("access target: P4Runtime server stopped", "err", err)
				}
			}()
			d.log.Info("access target: serving P4Runtime", "address", p4addr)
		} else {
			d.log.Warn("access target without P4Runtime listener (set access.p4runtime.address, or add role manager): its tables stay empty")
		}
	}
	if c.BGP != nil {
		bc := bgp.FromConfig(c.BGP)
		bc.Announce = announcements(c)
		bc.Logger = d.log
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sp, err := bgp.Start(ctx, bc)
		cancel()
		if err != nil {
			return err
		}
		d.speaker, d.announced = sp, bc.Announce
		d.log.Info("bgp: announcing", "prefixes", prefixList(bc.Announce))
	}
	if hasRole(c, config.NodeManager) {
		if d.speaker == nil {
			return errors.New("role manager: no bgp section: the manager learns next hops by BGP")
		}
		if p4addr == "" {
			if c.Access.P4Runtime == nil {
				return errors.New("role manager: access.p4runtime.address: the target to program (or run role access in this box)")
			}
			p4addr = c.Access.P4Runtime.Address
		}
		port, _ := c.ServerPortIndex()
		mc := manager.Config{
			Target: p4rt.Config{Address: p4addr},
			Prefix: c.Access.ParsedPrefix(), Port: port, TableSize: c.Access.TableSize, Logger: d.log,
		}
		if c.Access.P4Runtime != nil {
			mc.Target.DeviceID = c.Access.P4Runtime.DeviceID
		}
		for _, v := range c.Access.VIPs {
			mc.VIPs = append(mc.VIPs, manager.VIP{Addr: v.ParsedVIP(), EIPs: v.ParsedEIPs()})
		}
		m, err := manager.New(mc)
		if err != nil {
			return err
		}
		d.mgr = m
		ctx, cancel := context.WithCancel(context.Background())
		d.mgrCancel = cancel
		d.mgrDone = make(chan struct{})
		go func() {
			defer close(d.mgrDone)
			if err := m.Run(ctx, d.speaker); err != nil {
				d.log.Error("manager stopped", "err", err)
			}
		}()
	}
	d.startAPI(c.API.Socket)
	d.startMetrics(c.API.Metrics)
	return nil
}

func prefixList(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

// stopRoles stops the API, the manager, then the speaker (withdrawing
// every announcement and closing the sessions with a CEASE, so that the
// peers drop our routes at once), then the P4Runtime server.
func (d *daemon) stopRoles() {
	d.stopMetrics()
	if d.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = d.api.Shutdown(ctx)
		cancel()
		d.api = nil
		if !strings.HasPrefix(d.apiPath, "@") {
			os.Remove(d.apiPath)
		}
	}
	if d.mgrCancel != nil {
		d.mgrCancel()
		<-d.mgrDone
		d.mgrCancel = nil
	}
	if d.speaker != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := d.speaker.Stop(ctx); err != nil {
			d.log.Warn("bgp: stop", "err", err)
		}
		cancel()
		d.speaker = nil
	}
	if d.target != nil {
		d.target.Stop()
	}
}

// drain withdraws every announcement, keeping the sessions (SIGUSR1, or
// POST /v1/bgp/drain): a NAT64 server leaves the VIP's Maglev tables while
// its established sessions continue.
func (d *daemon) drain() error {
	if d.speaker == nil {
		return errors.New("drain: no bgp section")
	}
	if err := d.speaker.Drain(); err != nil {
		return err
	}
	d.log.Info("drained: announcements withdrawn", "prefixes", prefixList(d.announced))
	return nil
}

func (d *daemon) resume() error {
	if d.speaker == nil {
		return errors.New("resume: no bgp section")
	}
	if err := d.speaker.Resume(); err != nil {
		return err
	}
	d.log.Info("resumed: announcements restored")
	return nil
}

// startAPI serves the local API (HTTP with JSON bodies) on api.socket:
//
//	GET  /v1/stats           the data plane's counters
//	GET  /v1/capture         a live capture as pcapng (capture.go)
//	GET  /v1/manager/tables  the manager's tables (manager.Snapshot)
//	GET  /v1/bgp             the speaker's counters and announcements
//	POST /v1/bgp/drain       withdraw every announcement, keep sessions
//	POST /v1/bgp/resume      announce again
//
// A socket that cannot be opened is logged, not fatal: forwarding does not
// depend on it.
func (d *daemon) startAPI(path string) {
	if !strings.HasPrefix(path, "@") {
		// A socket file nobody answers on is a leftover of a killed
		// daemon; one that answers belongs to a running one.
		if conn, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			conn.Close()
			d.log.Warn("api: socket in use by another daemon; API off", "socket", path)
			return
		}
		os.Remove(path)
	}
	lis, err := net.Listen("unix", path)
	if err != nil {
		d.log.Warn("api: cannot listen; API off", "socket", path, "err", err)
		return
	}
	mux := http.NewServeMux()
	// Port names cannot change without a restart (reload refuses it):
	// a copy keeps the handler off d.rt, which a reload replaces.
	names := append([]string(nil), d.rt.PortNames...)
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, r *http.Request) { d.apiStats(w, names) })
	mux.HandleFunc("GET /v1/sessions", d.apiSessions)
	// A capture streams until its end or the API's shutdown.
	apiStop := make(chan struct{})
	mux.HandleFunc("GET /v1/capture", d.apiCapture(names, apiStop))
	if d.mgr != nil {
		mux.Handle("GET /v1/manager/tables", d.mgr)
	}
	if d.speaker != nil {
		mux.HandleFunc("GET /v1/bgp", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]any{
				"announced": d.speaker.Announced(), "draining": d.speaker.Draining(), "stats": d.speaker.Stats(r.Context()),
			})
		})
		// The speaker's verbs are safe from any goroutine (its owner
		// goroutine runs them); d.speaker and d.announced are set before
		// the API starts and the API stops before they are cleared.
		mux.HandleFunc("POST /v1/bgp/drain", d.apiVerb(d.drain))
		mux.HandleFunc("POST /v1/bgp/resume", d.apiVerb(d.resume))
	}
	d.api = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	d.api.RegisterOnShutdown(func() { close(apiStop) })
	d.apiPath = path
	go func() {
		if err := d.api.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Warn("api: server stopped", "err", err)
		}
	}()
	d.log.Info("api: serving", "socket", path)
}

func (d *daemon) apiVerb(f func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, map[string]any{"ok": true, "announced": d.speaker.Announced(), "draining": d.speaker.Draining()})
	}
}

// apiStats serves the data plane's counters (what `xdpgw ctl stats`
// prints): frames per port, drops by reason, events, the session table.
// Everything it reads is atomic or immutable.
func (d *daemon) apiStats(w http.ResponseWriter, names []string) {
	st := d.dp.Stats()
	type port struct {
		Name  string `json:"name"`
		In    uint64 `json:"in"`
		Out   uint64 `json:"out"`
		Local uint64 `json:"local"`
	}
	type eip struct {
		EIP    string `json:"eip"`
		Tenant string `json:"tenant"`
		pipeline.EIPTraffic
	}
	out := struct {
		Ports    []port            `json:"ports"`
		Drops    map[string]uint64 `json:"drops"`
		Events   map[string]uint64 `json:"events"`
		Sessions any               `json:"sessions,omitempty"`
		EIPs     []eip             `json:"eips,omitempty"`
	}{Drops: map[string]uint64{}, Events: map[string]uint64{}}
	if gw := d.dp.Env().Gateway; gw != nil {
		for i, e := range gw.EIPs {
			out.EIPs = append(out.EIPs, eip{netip.AddrFrom4(e.Addr).String(), gw.Tenants[e.Tenant].Name, gw.EIPTraffic(i)})
		}
	}
	for i, n := range names {
		out.Ports = append(out.Ports, port{n, st.RxFrames[i], st.TxFrames[i], st.Local[i]})
	}
	for r := pipeline.DropReason(1); r < pipeline.NumDropReasons; r++ {
		if v := st.Drops[r]; v > 0 {
			out.Drops[r.String()] = v
		}
	}
	for e := pipeline.Event(0); e < pipeline.NumEvents; e++ {
		if v := st.Events[e]; v > 0 {
			out.Events[e.String()] = v
		}
	}
	if t := d.dp.Sessions(); t != nil {
		out.Sessions = t.Stats()
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// sameControl reports whether two configurations start the same control
// plane (what a reload cannot change without a restart).
func sameControl(a, b *config.Config) bool {
	j := func(c *config.Config) string {
		v, _ := json.Marshal([]any{c.Node.Roles, c.BGP, c.Access, announcements(c)})
		return string(v)
	}
	return j(a) == j(b)
}
