package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"xdpgw/control/access"
	"xdpgw/control/bgp"
	"xdpgw/control/compile"
	"xdpgw/control/config"
	"xdpgw/control/daemon/xdpprog"
	"xdpgw/control/manager"
	"xdpgw/dataplane/afxdp"
	"xdpgw/dataplane/pipeline"
)

// Options of the daemon.
type Options struct {
	// ConfigPath is the configuration file; empty: the embedded default.
	ConfigPath string
	// StatsInterval is how often a one-line stats summary is logged; 0
	// turns it off.
	StatsInterval time.Duration
	// Engine tunes the AF_XDP layer. Queues comes from the configuration
	// (ports[].queues).
	Engine afxdp.Options
	// NullForward runs the engine's null forwarder instead of the
	// pipeline (benchmarks only: the AF_XDP ceiling of testbed/bench.sh).
	// Port p's frames leave by port p+1 (the last port's by port 0) with
	// that port's MAC as source and the MAC of its configured neighbour
	// with the lowest address as destination.
	NullForward bool
	Log         *slog.Logger
	// Ready, if set, is called once traffic flows (tests, supervisors).
	Ready func()
}

// Run runs the daemon until ctx ends or SIGINT/SIGTERM arrives. It returns
// nil after a clean shutdown.
func Run(ctx context.Context, opts Options) error {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	d := &daemon{opts: opts, log: opts.Log}
	// Signals are ours from the start, so that a SIGTERM during setup
	// still detaches what was attached.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	defer d.shutdown()
	if err := d.start(); err != nil {
		return err
	}
	return d.loop(ctx, sigs)
}

type daemon struct {
	opts Options
	log  *slog.Logger

	rt             *compile.Runtime
	ifindex        []int
	engine         *afxdp.Engine
	dp             *pipeline.Dataplane
	sweep          *sweeper // expires sessions whatever the traffic (sweep.go)
	owned          *ebpf.Map
	progs          []*xdpprog.Program
	attached       []*xdpprog.Attachment
	detached       []bool // per port: the program was removed by someone else (logged once)
	reattachFailed []bool // per port: re-attaching failed (logged once)
	detachCount    int    // removals noticed
	reattachCount  int    // programs put back
	nb             *neighbours
	started        time.Time

	nlDone  chan struct{}
	nlCh    chan netlink.NeighUpdate
	lastRx  []uint64
	lastAt  time.Time
	resolve int
	// stopping silences the subscription's error callback (another
	// goroutine) once the daemon closes it.
	stopping atomic.Bool

	// Control-plane roles (roles.go).
	target    *access.Server // role access: the software target
	speaker   *bgp.Speaker
	announced []netip.Prefix
	mgr       *manager.Manager
	mgrCancel context.CancelFunc
	mgrDone   chan struct{}
	api       *http.Server
	apiPath   string
	metrics   *http.Server // api.metrics (metrics.go)
}

func (d *daemon) configName() string {
	if d.opts.ConfigPath == "" {
		return "default config"
	}
	return d.opts.ConfigPath
}

// load reads and compiles the configuration with the interfaces' MACs.
func (d *daemon) load() (*compile.Runtime, []int, error) {
	var cfg *config.Config
	var err error
	if d.opts.ConfigPath == "" {
		cfg = config.Default()
	} else if cfg, err = config.Load(d.opts.ConfigPath); err != nil {
		return nil, nil, err
	}
	var idx []int
	for _, p := range cfg.Ports {
		iface := p.Interface
		if iface == "" {
			iface = p.Name
		}
		l, err := netlink.LinkByName(iface)
		if err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				return nil, nil, fmt.Errorf("%s: port %s: interface %s not found (create it, or set ports[].interface to an existing one; `ip link` lists them)", d.configName(), p.Name, iface)
			}
			return nil, nil, fmt.Errorf("%s: port %s: interface %s: %w", d.configName(), p.Name, iface, err)
		}
		idx = append(idx, l.Attrs().Index)
	}
	copts := compile.Options{}
	// The access target is created at start only, and kept for the
	// daemon's life: its P4Runtime server and the manager hold it, so a
	// reload keeps it whatever the new roles say (they need a restart).
	if d.target == nil && d.rt == nil && runsAccess(cfg) {
		if err := d.newTarget(cfg); err != nil {
			return nil, nil, err
		}
	}
	if d.target != nil {
		copts.Access = d.target.Target()
	}
	copts.InterfaceMAC = func(iface string) ([6]byte, error) {
		l, err := netlink.LinkByName(iface)
		if err != nil {
			return [6]byte{}, err
		}
		if len(l.Attrs().HardwareAddr) != 6 {
			return [6]byte{}, errors.New("not an Ethernet interface")
		}
		return [6]byte(l.Attrs().HardwareAddr), nil
	}
	rt, err := compile.BuildWith(cfg, copts)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", d.configName(), err)
	}
	q := 0
	for i, p := range cfg.Ports {
		n := max(p.Queues, 1)
		if i == 0 {
			q = n
		} else if n != q {
			return nil, nil, fmt.Errorf("%s: ports[%d].queues: %d, but ports[0] has %d: every port needs the same number of queues (worker q owns queue q of every port)", d.configName(), i, n, q)
		}
	}
	return rt, idx, nil
}

func (d *daemon) start() error {
	d.started = time.Now()
	if err := checkPrivileges(); err != nil {
		return err
	}
	rt, idx, err := d.load()
	if err != nil {
		return err
	}
	d.rt, d.ifindex = rt, idx
	if !hasIPCLock() {
		// The UMEM is pinned memory: without CAP_IPC_LOCK it counts
		// against RLIMIT_MEMLOCK.
		_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
	}

	var specs []afxdp.PortSpec
	for i, ifx := range idx {
		specs = append(specs, afxdp.PortSpec{Name: rt.Interfaces[i], Ifindex: ifx})
	}
	eo := d.opts.Engine
	eo.Queues = max(rt.Config.Ports[0].Queues, 1)
	if d.opts.NullForward {
		if eo.Null, err = nullRoutes(rt.Env, rt.PortNames); err != nil {
			return err
		}
		d.log.Warn("null forwarder: frames are only re-addressed and sent on the next port (benchmark mode)")
	}
	d.engine, err = afxdp.Open(specs, eo)
	if err != nil {
		return fmt.Errorf("open AF_XDP sockets: %w (each port needs %d queue(s); `ethtool -l IF` shows an interface's queues)", err, eo.Queues)
	}
	d.log.Info("AF_XDP sockets bound", "ports", len(specs), "queues", eo.Queues, "mode", d.engine.Mode().String(), "busy_poll", d.engine.BusyPoll())

	d.owned, err = xdpprog.NewOwned()
	if err != nil {
		return err
	}
	if err := d.syncOwned(rt); err != nil {
		return err
	}
	for p := range specs {
		prog, err := xdpprog.Load(d.owned, eo.Queues)
		if err != nil {
			return err
		}
		d.progs = append(d.progs, prog)
		for q := 0; q < eo.Queues; q++ {
			if err := prog.SetSocket(q, d.engine.Socket(p, q).FD()); err != nil {
				return fmt.Errorf("port %s: %w", rt.PortNames[p], err)
			}
		}
	}

	// Neighbours: subscribe first, then list, so that no change falls
	// between the two.
	d.nb = newNeighbours(idx)
	d.nb.static = rt.Env.Neigh.Load().Entries()
	d.nb.cache = rt.Env.Neigh
	d.subscribe()
	if err := d.nb.list(); err != nil {
		return fmt.Errorf("list kernel neighbours: %w", err)
	}
	n := d.nb.publish()
	d.dp, err = pipeline.New(rt.Env)
	if err != nil {
		return fmt.Errorf("%s: %w", d.configName(), err)
	}
	// One session table for the daemon's life: reloads keep every
	// session (a change of sessions.capacity needs a restart).
	sessions, err := compile.NewSessions(rt.Config, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", d.configName(), err)
	}
	d.dp.UseSessions(sessions)
	d.sweep = newSweeper(sessions)
	d.log.Info("session table ready", "capacity", sessions.Capacity(), "bytes", sessions.Bytes())
	if err := d.engine.Start(d.dp); err != nil {
		return err
	}
	d.detached = make([]bool, len(specs))
	d.reattachFailed = make([]bool, len(specs))
	for p, prog := range d.progs {
		a, err := xdpprog.Attach(idx[p], rt.Interfaces[p], prog.Prog)
		if err != nil {
			return fmt.Errorf("port %s: %w (XDP needs a driver with XDP support or generic mode; check `ip link show %s`)", rt.PortNames[p], err, rt.Interfaces[p])
		}
		d.attached = append(d.attached, a)
		if a.Mode == xdpprog.ModeGeneric {
			d.log.Warn("XDP attached in generic (SKB) mode: 2-3x slower than native", "port", rt.PortNames[p], "interface", a.Name, "native_error", a.NativeErr)
		} else {
			d.log.Info("XDP attached", "port", rt.PortNames[p], "interface", a.Name, "mode", a.Mode.String())
		}
	}
	d.lastRx = make([]uint64, len(specs))
	d.lastAt = time.Now()
	if err := d.startRoles(); err != nil {
		return fmt.Errorf("%s: %w", d.configName(), err)
	}
	d.log.Info("xdpgw running", "config", d.configName(), "ports", strings.Join(rt.PortNames, ","), "neighbours", n, "roles", strings.Join(rt.Config.Node.Roles, ","))
	if d.opts.Ready != nil {
		d.opts.Ready()
	}
	return nil
}

func (d *daemon) syncOwned(rt *compile.Runtime) error {
	var keys []xdpprog.OwnedKey
	for i, p := range rt.Config.Ports {
		for _, a := range p.ParsedAddresses() {
			keys = append(keys, xdpprog.KeyFor(d.ifindex[i], a.Addr()))
		}
	}
	return xdpprog.SyncOwned(d.owned, keys)
}

func (d *daemon) subscribe() {
	d.nlDone = make(chan struct{})
	d.nlCh = make(chan netlink.NeighUpdate, 256)
	err := netlink.NeighSubscribeWithOptions(d.nlCh, d.nlDone, netlink.NeighSubscribeOptions{
		ErrorCallback: func(err error) {
			if !d.stopping.Load() {
				d.log.Warn("netlink neighbour subscription", "err", err)
			}
		},
	})
	if err != nil {
		d.log.Warn("cannot subscribe to kernel neighbour updates; polling instead", "err", err)
		d.nlCh = nil
	}
}

func (d *daemon) loop(ctx context.Context, sigs <-chan os.Signal) error {
	var stats <-chan time.Time
	if d.opts.StatsInterval > 0 {
		t := time.NewTicker(d.opts.StatsInterval)
		defer t.Stop()
		stats = t.C
	}
	misses := time.NewTicker(50 * time.Millisecond)
	defer misses.Stop()
	health := time.NewTicker(2 * time.Second)
	defer health.Stop()
	sweep := time.NewTicker(100 * time.Millisecond) // sweepTicks per minute
	defer sweep.Stop()
	// Neighbour updates come in bursts (a link flap, a subnet scan):
	// they are applied at once but published at most every 20 ms.
	var coalesce <-chan time.Time
	dirty := false
	for {
		select {
		case <-ctx.Done():
			d.log.Info("stopping", "reason", ctx.Err())
			return nil
		case s := <-sigs:
			switch s {
			case syscall.SIGHUP:
				if err := d.reload(); err != nil {
					d.log.Error("reload refused; the running configuration stays", "config", d.configName(), "err", err)
				}
				continue
			case syscall.SIGUSR1:
				if err := d.drain(); err != nil {
					d.log.Error("drain (SIGUSR1)", "err", err)
				}
				continue
			case syscall.SIGUSR2:
				if err := d.resume(); err != nil {
					d.log.Error("resume (SIGUSR2)", "err", err)
				}
				continue
			}
			d.log.Info("stopping", "signal", s.String())
			return nil
		case u, ok := <-d.nlCh:
			if !ok {
				d.log.Warn("netlink neighbour subscription ended; resubscribing")
				d.subscribe()
				if err := d.nb.list(); err == nil {
					dirty = true
				}
			} else if d.nb.update(&u.Neigh, u.Type == unix.RTM_DELNEIGH) {
				dirty = true
			}
			if dirty && coalesce == nil {
				coalesce = time.After(20 * time.Millisecond)
			}
		case <-coalesce:
			coalesce = nil
			if dirty {
				dirty = false
				n := d.nb.publish()
				d.log.Debug("neighbour table published", "entries", n)
			}
		case <-sweep.C:
			if d.sweep != nil {
				d.sweep.tick(pipeline.Now())
			}
		case now := <-misses.C:
			env := d.dp.Env()
			d.engine.Drain(func(m afxdp.Miss) {
				next, port, err := d.nb.resolve(env, m, now)
				if !next.IsValid() {
					return
				}
				d.resolve++
				if err != nil {
					d.log.Warn("cannot ask the kernel to resolve a next hop", "port", port, "next_hop", next, "err", err)
				} else {
					d.log.Debug("resolving next hop", "port", port, "next_hop", next)
				}
			})
		case <-health.C:
			d.checkAttached()
		case <-stats:
			d.logStats()
		}
	}
}

// checkAttached notices an XDP program removed by someone else and puts it
// back (the port's traffic went to the kernel meanwhile). The removal is
// logged once; a re-attach that fails (another program took the
// interface) is retried at every check, logged once, and counted.
func (d *daemon) checkAttached() {
	for p, a := range d.attached {
		on, err := a.Attached()
		if err != nil || on {
			if on && d.detached[p] {
				d.detached[p] = false
				d.log.Info("XDP program back on interface", "port", d.rt.PortNames[p], "interface", a.Name)
			}
			continue
		}
		if !d.detached[p] {
			d.detached[p] = true
			d.detachCount++
			d.log.Error("XDP program was removed from the interface by someone else: the port's traffic goes to the kernel until it is re-attached", "port", d.rt.PortNames[p], "interface", a.Name)
		}
		na, err := xdpprog.Attach(d.ifindex[p], d.rt.Interfaces[p], d.progs[p].Prog)
		if err != nil {
			if !d.reattachFailed[p] {
				d.reattachFailed[p] = true
				d.log.Error("cannot re-attach the XDP program; retrying every check", "port", d.rt.PortNames[p], "interface", a.Name, "err", err)
			}
			continue
		}
		d.attached[p] = na
		d.detached[p], d.reattachFailed[p] = false, false
		d.reattachCount++
		d.log.Warn("XDP program re-attached", "port", d.rt.PortNames[p], "interface", na.Name, "mode", na.Mode.String(), "reattaches", d.reattachCount)
	}
}

// reload re-reads the configuration and publishes it if it compiles and
// keeps the same ports (those need new sockets: a restart).
func (d *daemon) reload() error {
	rt, idx, err := d.load()
	if err != nil {
		return err
	}
	if !slices.Equal(rt.PortNames, d.rt.PortNames) || !slices.Equal(rt.Interfaces, d.rt.Interfaces) || !slices.Equal(idx, d.ifindex) ||
		max(rt.Config.Ports[0].Queues, 1) != d.engine.Queues() {
		return fmt.Errorf("%s: ports: the set of ports, their interfaces or queues changed; restart xdpgw to apply", d.configName())
	}
	// The new Env comes with its own neighbour cache holding only the
	// static entries: fill it with the kernel's before workers see it.
	static := rt.Env.Neigh.Load().Entries()
	oldStatic, oldCache := d.nb.static, d.nb.cache
	d.nb.static, d.nb.cache = static, rt.Env.Neigh
	n := d.nb.publish()
	if err := d.dp.Publish(rt.Env); err != nil {
		d.nb.static, d.nb.cache = oldStatic, oldCache
		return fmt.Errorf("%s: %w", d.configName(), err)
	}
	if !sameControl(d.rt.Config, rt.Config) {
		d.log.Warn("reload: node.roles, bgp, access and nat64.vip changes need a restart; the control plane keeps the old ones")
	}
	d.rt = rt
	if err := d.syncOwned(rt); err != nil {
		d.log.Warn("owned-address map not updated", "err", err)
	}
	d.log.Info("configuration reloaded", "config", d.configName(), "neighbours", n)
	return nil
}

// portStats sums the engine counters of a port's sockets.
type portStats struct {
	fillEmpty, txRingFull, wakeups, wakeupErrs, local, misses, badDesc    uint64
	kRxDropped, kRxInvalid, kTxInvalid, kRxRingFull, kFillEmpty, kTxEmpty uint64
}

func (d *daemon) collect() []portStats { return collectPorts(d.engine, len(d.rt.PortNames)) }

// collectPorts sums the counters of eng's sockets for n ports, reading
// neither d.rt (which the loop replaces on reload) nor d.engine (which
// shutdown clears): safe from the API's goroutines.
func collectPorts(eng *afxdp.Engine, n int) []portStats {
	out := make([]portStats, n)
	if eng == nil {
		return out
	}
	for _, s := range eng.Sockets() {
		ps := &out[s.Port()]
		c := s.Counters()
		ps.fillEmpty += c.FillEmpty.Load()
		ps.txRingFull += c.TxRingFull.Load()
		ps.wakeups += c.Wakeups.Load()
		ps.wakeupErrs += c.WakeupErrs.Load()
		ps.local += c.LocalFrames.Load()
		ps.misses += c.Misses.Load()
		ps.badDesc += c.BadDescs.Load() + c.BadTx.Load()
		if k, err := s.KernelStats(); err == nil {
			ps.kRxDropped += k.Rx_dropped
			ps.kRxInvalid += k.Rx_invalid_descs
			ps.kTxInvalid += k.Tx_invalid_descs
			ps.kRxRingFull += k.Rx_ring_full
			ps.kFillEmpty += k.Rx_fill_ring_empty_descs
			ps.kTxEmpty += k.Tx_ring_empty_descs
		}
	}
	return out
}

func (d *daemon) logStats() {
	st := d.dp.Stats()
	ps := d.collect()
	now := time.Now()
	secs := now.Sub(d.lastAt).Seconds()
	var b strings.Builder
	for i, name := range d.rt.PortNames {
		rate := 0.0
		if secs > 0 {
			rate = float64(st.RxFrames[i]-d.lastRx[i]) / secs
		}
		d.lastRx[i] = st.RxFrames[i]
		fmt.Fprintf(&b, "%s rx=%d tx=%d rx_pps=%.0f fill_empty=%d tx_ring_full=%d k_rx_dropped=%d k_fill_empty=%d; ",
			name, st.RxFrames[i], st.TxFrames[i], rate, ps[i].fillEmpty, ps[i].txRingFull, ps[i].kRxDropped, ps[i].kFillEmpty)
	}
	d.lastAt = now
	d.log.Info("stats", "ports", strings.TrimSuffix(b.String(), "; "), "drops", st.TotalDrops())
}

// shutdown stops the control-plane roles first (the BGP speaker withdraws
// our routes, so peers stop sending traffic here), then detaches the XDP
// programs (traffic goes back to the kernel), then stops the workers,
// closes the sockets and maps, and logs the summary.
func (d *daemon) shutdown() {
	// Routes first: peers stop sending us traffic while we still forward.
	d.stopRoles()
	for _, a := range d.attached {
		if err := a.Detach(); err != nil {
			d.log.Error("detach XDP", "interface", a.Name, "err", err)
		} else {
			d.log.Info("XDP detached", "interface", a.Name)
		}
	}
	d.attached = nil
	if d.nlDone != nil {
		d.stopping.Store(true)
		close(d.nlDone)
		d.nlDone = nil
	}
	if d.engine != nil {
		d.engine.Stop()
		for _, a := range d.engine.Accounting() {
			if l := a.Leaked(); l != 0 || a.DoubleFree != 0 {
				d.log.Error("UMEM frames unaccounted for", "queue", a.Queue, "leaked", l, "double_free", a.DoubleFree)
			}
		}
	}
	if d.dp != nil {
		d.summary()
	}
	for _, p := range d.progs {
		p.Close()
	}
	d.progs = nil
	if d.owned != nil {
		d.owned.Close()
		d.owned = nil
	}
	if d.engine != nil {
		if err := d.engine.Close(); err != nil {
			d.log.Error("close AF_XDP sockets", "err", err)
		}
		d.engine = nil
	}
}

func (d *daemon) summary() {
	st := d.dp.Stats()
	ps := d.collect()
	for i, name := range d.rt.PortNames {
		p := ps[i]
		d.log.Info("summary", "port", name, "frames_in", st.RxFrames[i], "frames_out", st.TxFrames[i], "local", st.Local[i],
			"fill_empty", p.fillEmpty, "tx_ring_full", p.txRingFull, "wakeups", p.wakeups, "wakeup_errors", p.wakeupErrs,
			"local_released", p.local, "neighbour_misses", p.misses, "bad_descs", p.badDesc,
			"k_rx_dropped", p.kRxDropped, "k_rx_invalid", p.kRxInvalid, "k_tx_invalid", p.kTxInvalid,
			"k_rx_ring_full", p.kRxRingFull, "k_fill_ring_empty", p.kFillEmpty, "k_tx_ring_empty", p.kTxEmpty)
	}
	var drops []any
	for r := pipeline.DropReason(1); r < pipeline.NumDropReasons; r++ {
		if v := st.Drops[r]; v > 0 {
			drops = append(drops, r.String(), v)
		}
	}
	d.log.Info("summary drops", append([]any{"total", st.TotalDrops()}, drops...)...)
	var evs []any
	for e := pipeline.Event(0); e < pipeline.NumEvents; e++ {
		if v := st.Events[e]; v > 0 {
			evs = append(evs, e.String(), v)
		}
	}
	if len(evs) > 0 {
		d.log.Info("summary events", evs...)
	}
	d.log.Info("stopped", "uptime", time.Since(d.started).Round(time.Second).String(), "next_hops_resolved", d.resolve, "xdp_removed", d.detachCount, "xdp_reattached", d.reattachCount)
}

// nullRoutes is the null forwarder's table: port p to port p+1 (mod the
// number of ports), from that port's MAC to the MAC of its static neighbour with the
// lowest address.
func nullRoutes(env *pipeline.Env, names []string) ([]afxdp.NullRoute, error) {
	n := len(env.Ports)
	routes := make([]afxdp.NullRoute, n)
	neigh := env.Neigh.Load().Entries()
	for p := range routes {
		out := (p + 1) % n
		r := afxdp.NullRoute{Out: uint16(out), SrcMAC: env.Ports[out].MAC}
		var best netip.Addr
		for _, e := range neigh {
			// The lowest address: Entries is in hash order.
			if int(e.Port) == out && (!best.IsValid() || e.Addr.Less(best)) {
				r.DstMAC, best = e.MAC, e.Addr
			}
		}
		if !best.IsValid() {
			return nil, fmt.Errorf("null forwarder: port %s has no configured neighbour to send to", names[out])
		}
		routes[p] = r
	}
	return routes, nil
}
