package pipeline

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"xdpgw/dataplane/access"
	"xdpgw/dataplane/firewall"
	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/session"

	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/packet"
)

// Dataplane is the shared state of all workers: the published Env and the
// workers' counters.
type Dataplane struct {
	env     atomic.Pointer[Env]
	gen     atomic.Uint32 // generation of the last published Env
	capture atomic.Pointer[Capture]

	sessions *session.Table

	mu      sync.Mutex // guards workers; never taken on the packet path
	workers []*Worker
}

// New returns a Dataplane running on env.
func New(env *Env) (*Dataplane, error) {
	d := &Dataplane{}
	if err := d.Publish(env); err != nil {
		return nil, err
	}
	return d, nil
}

// Publish validates env and makes it the one workers use from their next
// batch on. A refused env leaves the running one in place.
func (d *Dataplane) Publish(env *Env) error {
	if err := env.Validate(); err != nil {
		return err
	}
	// Every Env gets a new generation: flow entries made under an older
	// one are re-decided by the slow path (rules, EIPs or tenants may
	// have changed).
	env.gen = d.gen.Add(1)
	d.env.Store(env)
	return nil
}

// UseSessions gives the data plane its session table, shared by all
// workers and kept across Env changes (a reload loses no session). Call it
// before NewWorker.
func (d *Dataplane) UseSessions(t *session.Table) {
	d.mu.Lock()
	d.sessions = t
	d.mu.Unlock()
}

// Sessions is the session table, or nil.
func (d *Dataplane) Sessions() *session.Table { return d.sessions }

// Env is the current environment.
func (d *Dataplane) Env() *Env { return d.env.Load() }

// NewWorker makes a worker. Each worker is used by one goroutine.
func (d *Dataplane) NewWorker() *Worker {
	w := &Worker{d: d, pub: new(Stats)}
	d.mu.Lock()
	if d.sessions != nil {
		w.sw = d.sessions.NewWorker()
		w.prefetch = d.sessions.Bytes() > prefetchMinBytes
	}
	w.ID = len(d.workers)
	// Each worker numbers the IPv4 datagrams it makes (encapsulation,
	// NAT64, ICMP errors) from its own start, spread over the 16-bit
	// space, so that workers do not hand out the same IDs in step (RFC
	// 6864 4.2). The start depends only on the worker's index: a replay
	// stays deterministic.
	w.ipID = uint16(w.ID) * 0x9e37
	d.workers = append(d.workers, w)
	d.mu.Unlock()
	return w
}

// Stats sums the published counters of every worker.
func (d *Dataplane) Stats() Stats {
	var s Stats
	d.mu.Lock()
	ws := d.workers
	d.mu.Unlock()
	for _, w := range ws {
		s.addFrom(w.pub)
	}
	return s
}

// Worker runs the pipeline over batches of frames. It is owned by one
// goroutine (one per port queue under AF_XDP).
type Worker struct {
	ID int
	d  *Dataplane

	// Per-batch state, loaded once per batch.
	env   *Env
	neigh *neigh.Table
	now   int64

	p     packet.Parsed // the frame being processed; reused
	stats Stats         // private counters of the current batch
	pub   *Stats        // published counters (atomic adds)

	icmp tokenBucket
	ipID uint16

	tun       tunnel                     // outer headers of the packet being decapsulated
	encap     [encapCacheSize]encapEntry // tunnels' outer headers (encapcache.go)
	encapHand uint32                     // the slot encapRelease checks next
	nmemo     [MaxPorts]neighMemo        // last neighbour per output port (forward.go)
	fwp       firewall.Packet            // the classifier's view of the packet

	sw       *session.Worker // nil without a session table
	prefetch bool            // the table is large: prefetch each batch's keys (prefetch.go)
	key      session.Key     // scratch keys and entry of the flow path
	rkey     session.Key
	ent      session.Entry

	bkey   session.Key // NAT64 binding lookups
	bent   session.Entry
	addrs  nat64.Addrs
	n64cfg nat64.Config
	emb    nat64.Embedded

	// Per-EIP traffic of the current batch (eipcount.go), for eipGW.
	eipGW    *Gateway
	eipPriv  [][eipCounters]uint64
	eipDirty []int32 // the EIPs counted since the last flush: eipDirty[:nDirty]
	nDirty   int

	eipRoutes    []eipRoute // per EIP of eipGW: its private address's route (eiproute.go)
	eipRouteHand uint32     // the memo eipRouteRelease checks next
	eipOnce      eipRoute   // a route eipRouteMiss did not keep

	routes    [routeMemoSize]routeMemo   // IPv4 routes: tenants' egress, the NAT64's (routememo.go)
	routeHand uint32                     // the slot routeRelease checks next
	routes6   [route6MemoSize]route6Memo // the NAT64's IPv6 routes (routememo6.go)

	spare     []Frame // spare buffers lent by the Loop for this batch
	spareUsed int     // how many of them became output frames
	n64spare  [maxSpare]nat64.Frame
	mapFail   DropReason // why the last nat64Map failed

	acc       *access.Stage  // the access tier's stage, for RoleAccess ports
	accTarget *access.Target // the target acc was made for
}

// Process runs every frame of batch through the pipeline and sets its
// Verdict (and OutPort or Drop). Transmitted frames are counted by
// the Loop once their port has taken them. now is the batch's time in ns: the
// monotonic clock under AF_XDP, the capture timestamps under replay, so a
// replay is deterministic.
func (w *Worker) Process(batch []Frame, now int64) {
	w.env = w.d.env.Load()
	w.neigh = w.env.Neigh.Load()
	if w.env.Gateway != w.eipGW {
		w.useGateway(w.env.Gateway)
	}
	w.now = now
	w.spareUsed = 0
	if t := w.env.Access; t != nil {
		if t != w.accTarget {
			// A new target (rare: a reload that changed it): the
			// stage is remade, outside the per-packet path.
			macs := make([][6]byte, len(w.env.Ports))
			for i := range w.env.Ports {
				macs[i] = w.env.Ports[i].MAC
			}
			w.acc, w.accTarget = access.NewStage(t, macs), t
		}
		w.acc.Begin()
	}
	if c := w.d.capture.Load(); c != nil {
		w.captureBatch(c, batch, now)
	}
	w.encapRelease()
	w.eipRouteRelease()
	w.routeRelease()
	if w.sw != nil {
		w.sw.Sweep(sweepPerBatch, now)
		if w.prefetch {
			w.prefetchBatch(batch)
		}
	}
	for i := range batch {
		w.process(&batch[i])
	}
}

// LendSpare gives the worker spare buffers for its next Process (the Loop
// does this from its input port; callers that drive Process directly may
// too). After Process, SpareUsed tells how many became output frames; they
// are frames[:SpareUsed()] with Verdict and OutPort set.
func (w *Worker) LendSpare(frames []Frame) {
	if len(frames) > maxSpare {
		frames = frames[:maxSpare]
	}
	w.spare = frames
}

// SpareUsed is how many lent spare buffers the last Process used.
func (w *Worker) SpareUsed() int { return w.spareUsed }

// Flush publishes the counters of the frames processed since the last
// Flush. Loop calls it once per batch; direct users of Process must too.
func (w *Worker) Flush() {
	w.stats.flushInto(w.pub)
	w.flushEIPs()
	if w.sw != nil {
		w.sw.Flush()
	}
}

func (w *Worker) drop(f *Frame, r DropReason) {
	f.Verdict = VerdictDrop
	f.Drop = r
	w.stats.Drops[r]++
}

func (w *Worker) local(f *Frame) {
	f.Verdict = VerdictLocal
	w.stats.Local[f.InPort]++
}

func (w *Worker) tx(f *Frame, port uint16) {
	f.Verdict = VerdictTx
	f.OutPort = port
}

// process is the stage model of design.md for one frame.
func (w *Worker) process(f *Frame) {
	env := w.env
	port := f.InPort // once: after the counter's store, f.InPort would be loaded again
	if int(port) >= len(env.Ports) {
		f.InPort = 0 // keep the counters' index in range
		w.drop(f, DropUnknownPort)
		return
	}
	in := &env.Ports[port]
	w.stats.RxFrames[port%MaxPorts]++ // Validate: no more ports; the % spares a bounds check
	// A port that could not take a frame whole (larger than its buffer)
	// hands it over already marked, so that it is counted here like any
	// other drop.
	if f.Drop != DropNone {
		w.drop(f, f.Drop)
		return
	}

	// Parse.
	data := f.Data()
	p := &w.p
	p.Decode(data)
	if p.Status != packet.DecodeOK {
		w.drop(f, dropForStatus(p.Status))
		return
	}

	// Classify: frames not addressed to this port are not ours to route.
	// Link-layer broadcast and multicast (ARP, ND, routing protocols)
	// belong to the host: a router does not forward them (RFC 1812 5.3.4).
	if !isMAC(data, &in.MAC) {
		if data[0]&1 == 0 {
			w.drop(f, DropOtherHost)
			return
		}
		w.local(f)
		return
	}
	switch p.EtherType {
	case packet.EtherTypeARP:
		w.local(f)
		return
	case packet.EtherTypeIPv4, packet.EtherTypeIPv6:
	default:
		w.drop(f, DropUnsupportedEtherType)
		return
	}

	// The access tier (EIP -> VIP -> Maglev -> next-hop MAC) is
	// stateless and owns the frames it recognises on its ports.
	if in.Role == RoleAccess && w.acc != nil {
		r := w.acc.Process(data, p, w.now)
		switch r.Verdict {
		case access.VerdictForward:
			if int(r.Port) >= len(env.Ports) {
				w.drop(f, DropUnknownPort)
				return
			}
			w.tx(f, r.Port)
			return
		case access.VerdictDrop:
			w.drop(f, accessDrop(r.Drop))
			return
		}
	}

	// Slow path.
	if p.IPVersion == 4 {
		w.forward4(f, in, data)
	} else {
		w.forward6(f, in, data)
	}
}

// isMAC reports whether the frame's destination MAC (data holds a whole
// Ethernet header) is mac. It compares two words where a [6]byte
// comparison of eth.Dst() copied both arrays through the stack and compared
// them byte by byte.
// The header goes through an array pointer: with a slice the compiler
// loaded the first word byte by byte.
func isMAC(data []byte, mac *[6]byte) bool {
	d := (*[6]byte)(data)
	return binary.LittleEndian.Uint32(d[0:4]) == binary.LittleEndian.Uint32(mac[0:4]) &&
		binary.LittleEndian.Uint16(d[4:6]) == binary.LittleEndian.Uint16(mac[4:6])
}

func accessDrop(r access.DropReason) DropReason {
	switch r {
	case access.DropUnknownEIP:
		return DropAccessUnknownEIP
	case access.DropSYNRate:
		return DropSYNLimit
	case access.DropNoNexthop:
		return DropAccessNoNexthop
	case access.DropNoPoolRoute:
		return DropAccessNoPoolRoute
	case access.DropBadPort:
		return DropUnknownPort
	}
	return DropTruncatedL3
}
