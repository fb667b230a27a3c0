package pipeline

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"

	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/flatmap"
	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/packet"
	"xdpgw/dataplane/session"
)

// The stateful NAT64 of RFC 6146 (system B of background.md). An IPv6
// client reaches IPv4 address Y as Prefix::Y (RFC 6052); the NAT64 rewrites
// the source (X',x) to an address and port (T,t) of its own IPv4 pool and
// the destination to Y, translating headers per RFC 7915 (package nat64).
//
// State lives in the shared session table, in two zones:
//   - BIB entries (zoneBIB): (X',x) <-> (T,t) per protocol, keyed on both
//     sides, so that every session of (X',x) reuses (T,t) (endpoint-
//     independent mapping, RFC 6146 3.5.1) and, with endpoint-independent
//     filtering, a packet from any IPv4 host to (T,t) finds (X',x);
//   - sessions (zoneNAT64): (X',x,Y,y) <-> (Y,y,T,t): the fast path of
//     every later packet and the TCP state machine of RFC 6146 3.5.2.
// Both are lock-free entries of one table; a BIB entry is refreshed when a
// session is created from it and, once per tick, by its sessions' packets,
// so it lives as long as a session uses it (RFC 6146 3.5.1); a TCP binding
// has its first session's transitory lifetime until a session is
// established (nat64Refreshed).

// icmpv4SourceRouteFailed is ICMPv4 Destination Unreachable code 5.
const icmpv4SourceRouteFailed = 5

const (
	zoneNAT64 = 0x8000
	zoneBIB   = 0x8001
	zoneFrag6 = 0x8002 // fragments of datagrams that came from the IPv6 side
	zoneFrag4 = 0x8003 // ... and from the IPv4 side

	// ClassFragment is the session-table timeout class of fragment
	// entries: the table must be made with a fifth timeout (the
	// configured nat64.fragments.timeout; compile.NewSessions does).
	ClassFragment session.Class = 4

	// poolTries is how many (T,t) candidates a new mapping tries before
	// the pool counts as exhausted for it.
	poolTries = 16
)

// Pool4 is a range of IPv4 pool addresses with a port range.
type Pool4 struct {
	Base   [4]byte
	Count  uint32 // addresses from Base
	PortLo uint16
	PortHi uint16
}

// StaticBIB is an administrator's binding (RFC 6146 3.5.1.1).
type StaticBIB struct {
	Proto uint8
	V6    [16]byte
	Port6 uint16
	V4    [4]byte
	Port4 uint16
}

// NAT64 is the NAT64's part of an Env.
type NAT64 struct {
	Prefix                nat64.Prefix
	Pools                 []Pool4
	EndpointIndependent   bool // filtering (RFC 6146 3.5.1, RFC 4787)
	Hairpin               bool // RFC 6146 3.8
	Static                []StaticBIB
	SYN                   *SYNLimiter
	ZeroTrafficClass      bool
	RejectNonGlobalWithWK bool // RFC 6052 3.1: 64:ff9b::/96 only for global IPv4
}

// staticHolds reports whether (T,t) of proto belongs to a static binding:
// dynamic mappings never take it (RFC 6146 3.5.1.1).
func (n *NAT64) staticHolds(proto uint8, t [4]byte, port uint16) bool {
	for i := range n.Static {
		if s := &n.Static[i]; s.Proto == proto && s.V4 == t && s.Port4 == port {
			return true
		}
	}
	return false
}

func (n *NAT64) inPool(a [4]byte) bool { return n.inPool4(word4(&a)) }

// inPool4 is inPool for an addr4 word (per packet in both directions: no
// array through the stack).
func (n *NAT64) inPool4(a uint32) bool {
	v := bits.ReverseBytes32(a) // the address as a number
	for i := range n.Pools {
		p := &n.Pools[i]
		if v-binary.BigEndian.Uint32(p.Base[:]) < p.Count {
			return true
		}
	}
	return false
}

// SYNLimiter is the per-EIP TCP SYN token bucket of background.md (default
// 50,000 SYN/s per EIP and direction). EIPs named in the configuration get
// buckets of their own; any other IPv4 address shares one of a fixed array
// of buckets by hash. Buckets are updated with compare-and-swap: no lock.
type SYNLimiter struct {
	exact   *flatmap.Map // EIP -> bucket index
	eips    [][4]byte    // the EIPs of the exact buckets, in bucket order
	buckets []synBucket  // exact buckets first, then the hashed ones
	hashed  uint32       // number of hashed buckets (a power of two)
	rates   []uint32     // SYN/s by bucket
	drops   []atomic.Uint64
}

type synBucket struct {
	// state: millitokens<<32 | last refill time in ms (wrapping).
	state [2]atomic.Uint64 // by direction: 0 v6->v4, 1 v4->v6
	_     [48]byte
}

// NewSYNLimiter makes a limiter: perEIP overrides the default rate
// (SYN/s; 0 turns the limit off for that EIP); hashed buckets serve all
// other addresses at def.
func NewSYNLimiter(def uint32, perEIP map[[4]byte]uint32, hashed int) *SYNLimiter {
	h := 1
	for h < hashed {
		h <<= 1
	}
	l := &SYNLimiter{exact: flatmap.New(len(perEIP)), hashed: uint32(h)}
	for a, r := range perEIP {
		l.exact.Put(be32(a), uint32(len(l.rates)))
		l.eips = append(l.eips, a)
		l.rates = append(l.rates, r)
	}
	for i := 0; i < h; i++ {
		l.rates = append(l.rates, def)
	}
	l.buckets = make([]synBucket, len(l.rates))
	l.drops = make([]atomic.Uint64, len(l.rates))
	return l
}

func (l *SYNLimiter) bucket(eip [4]byte) uint32 {
	if i, ok := l.exact.Get(be32(eip)); ok {
		return i
	}
	n := uint32(len(l.rates)) - l.hashed
	return n + uint32(flatmap.Mix64(be32(eip)))&(l.hashed-1)
}

// Allow takes one SYN token for eip in direction dir (0 v6->v4, 1 v4->v6)
// at now (ns). The bucket holds one second's worth of tokens.
func (l *SYNLimiter) Allow(eip [4]byte, dir int, now int64) bool {
	b := l.bucket(eip)
	rate := l.rates[b]
	if rate == 0 {
		return true
	}
	max := uint64(rate) * 1000
	// The low word holds the time in ms (31 bits, wrapping) and bit 31,
	// set once the bucket has been used: a fresh bucket starts full.
	ms := uint32(now/1e6) & 0x7fffffff
	st := &l.buckets[b].state[dir&1]
	for {
		old := st.Load()
		tokens, last := old>>32, uint32(old)&0x7fffffff
		if old&(1<<31) == 0 {
			tokens, last = max, ms
		}
		el := uint64((ms - last) & 0x7fffffff)
		if el > 1000 {
			el = 1000
		}
		tokens += el * uint64(rate)
		if tokens > max {
			tokens = max
		}
		ok := tokens >= 1000
		if ok {
			tokens -= 1000
		}
		if st.CompareAndSwap(old, tokens<<32|uint64(ms)|1<<31) {
			if !ok {
				l.drops[b].Add(1)
			}
			return ok
		}
	}
}

// Drops returns the SYNs dropped for eip (summed over both directions).
func (l *SYNLimiter) Drops(eip [4]byte) uint64 { return l.drops[l.bucket(eip)].Load() }

// EIPs returns the EIPs that have a bucket of their own (a copy).
func (l *SYNLimiter) EIPs() [][4]byte { return append([][4]byte(nil), l.eips...) }

// SharedDrops returns the SYNs dropped for all other addresses (the hashed
// buckets), summed.
func (l *SYNLimiter) SharedDrops() uint64 {
	var n uint64
	for i := len(l.eips); i < len(l.drops); i++ {
		n += l.drops[i].Load()
	}
	return n
}

// isSYN is a TCP SYN without ACK: what opens a connection.
func isSYN(p *packet.Parsed) bool {
	return p.Proto == packet.ProtoTCP && p.L4Off != 0 && p.TCPFlags&(packet.TCPFlagSYN|packet.TCPFlagACK) == packet.TCPFlagSYN
}

// nat64Out translates an IPv6 packet from the IPv6 side to the NAT64
// prefix into IPv4 (RFC 6146 3.5, RFC 7915 section 5).
func (w *Worker) nat64Out(f *Frame, in *PortInfo, n *NAT64, data []byte) {
	p := &w.p
	eip, ok := n.Prefix.Extract(&p.Dst)
	if !ok {
		w.drop(f, DropNoRoute)
		return
	}
	// Our own pool is reachable through any prefix (hairpinning).
	eipW := word4(&eip)
	own := n.inPool4(eipW) // once: also the hairpin test below
	if n.RejectNonGlobalWithWK && n.Prefix.IsWellKnown() && !own && !nat64.IsGlobalV4(eip) {
		w.drop(f, DropNAT64NonGlobal)
		return
	}
	if p.TTL <= 1 { // the Hop Limit, as decoded
		w.icmp6Error(f, in, packet.ICMPv6TimeExceeded, 0, 0, DropTTLExceeded, EventICMPTimeExceeded)
		return
	}
	if isSYN(p) && n.SYN != nil && !n.SYN.Allow(eip, 0, w.now) {
		w.drop(f, DropSYNLimit)
		return
	}
	if p.Proto == packet.ProtoICMPv6 && p.L4Off != 0 && packet.ICMPv6IsError(p.ICMPType) {
		w.nat64OutError(f, in, n, eip)
		return
	}
	if p.L4Off == 0 {
		// A non-initial fragment carries no ports: the first fragment
		// left the mapping of its datagram in a fragment entry.
		w.nat64OutFragment(f, in, n, eip)
		return
	}
	switch p.Proto {
	case packet.ProtoTCP, packet.ProtoUDP:
	case packet.ProtoICMPv6:
		if p.ICMPType != packet.ICMPv6EchoRequest && p.ICMPType != packet.ICMPv6EchoReply {
			w.drop(f, DropNAT64Untranslatable)
			return
		}
	default:
		w.drop(f, DropNAT64Untranslatable)
		return
	}
	// Route the IPv4 destination first: its port's MTU bounds the
	// translation. A hairpinned packet (to our own pool) is not routed.
	hairpin := n.Hairpin && own
	var route *routeMemo // the route and next hop's MAC (resolve4), unless hairpinned
	mtu4 := 1500
	if !hairpin {
		// The worker's route memo (routememo.go) holds the route and
		// MAC while their tables are current.
		route = w.routeMemoHit(in.VRF, eipW)
		if route == nil || route.nt != w.neigh || !plainRoute(route.nh, len(w.env.Ports)) {
			var why DropReason
			if route, why = w.resolve4Memo(in.VRF, eipW); why != DropNone {
				w.drop(f, why)
				return
			}
		}
		mtu4 = int(w.env.Ports[route.nh.Port].MTU)
	}

	// The session: the packet's own tuple on the IPv6 side.
	k := &w.key
	*k = session.Key{}
	k.Family = session.FamilyNAT64
	k.Zone = zoneNAT64
	k.Proto = p.Proto
	k.Src = p.Src
	binary.LittleEndian.PutUint32(k.Dst[:4], eipW)
	if p.Proto == packet.ProtoICMPv6 {
		k.SrcPort = p.SrcPort
	} else {
		k.SrcPort, k.DstPort = p.SrcPort, p.DstPort
	}
	var tW uint32 // the pool address T, an addr4 word
	var tport uint16
	e := &w.ent
	// Look the session up and refresh it (a TCP packet runs its state
	// machine); an expired one is treated as none (Insert removes it
	// when a new session needs its keys). Written out here and in
	// nat64In: a shared function cost 27 instructions a packet.
	hit, st := session.HitMiss, session.StateClosed
	if w.sw != nil {
		if p.Proto == packet.ProtoTCP {
			hit, st = w.sw.LookupUpdateTCP(k, e, p.TCPFlags, w.now)
		} else {
			// Not TCP: the state is CLOSED and stays so.
			hit = w.sw.LookupTouch(k, e, w.now)
		}
	}
	if hit == session.HitLive {
		tW = addr4(&e.Other.Dst)
		tport = e.Other.DstPort
		if e.LastSeen != session.Ticks(w.now) || st != e.State {
			w.nat64Refreshed(e, p.Proto, st, &p.Src, p.SrcPort)
		}
		w.stats.Events[EventNAT64Hit]++
	} else {
		// RFC 6146 3.5.2.2: in CLOSED state only a SYN opens; 3.5.3:
		// only an echo request opens an ICMP query session.
		if p.Proto == packet.ProtoTCP && !isSYN(p) {
			w.drop(f, DropNAT64NoSession)
			return
		}
		if p.Proto == packet.ProtoICMPv6 && p.ICMPType != packet.ICMPv6EchoRequest {
			w.drop(f, DropNAT64NoSession)
			return
		}
		var t [4]byte
		if t, tport, ok = w.nat64Map(n, p, eip); !ok {
			w.drop(f, w.mapFail)
			return
		}
		tW = word4(&t)
	}

	// Only the fields V6ToV4 reads for a packet that is not an ICMPv6
	// error (those went to nat64OutError) are set: the rest stay as the
	// last packet left them, unread.
	a := &w.addrs
	binary.LittleEndian.PutUint32(a.Src4[:], tW)
	binary.LittleEndian.PutUint32(a.Dst4[:], eipW)
	a.SrcPort = tport
	a.DstPort = p.DstPort
	if p.Proto == packet.ProtoICMPv6 {
		a.DstPort = tport
	}
	w.ipID++
	a.ID = w.ipID
	c := &w.n64cfg // every field set
	c.MTU4 = mtu4
	c.MTU6 = 0
	c.ZeroTrafficClass = n.ZeroTrafficClass
	c.IPv4HeaderChecked = false
	hop := &data[p.L3Off+7] // the Hop Limit, p.TTL (no header slice: one bounds check)
	*hop = p.TTL - 1
	var nf nat64.Frame
	nf.Buf = f.Buf
	nf.Off = f.Off
	nf.Len = f.Len
	if r := nat64.V6ToV4(&nf, p, a, &w.n64cfg); !r.Translated() {
		*hop = p.TTL
		if r == nat64.ResultPacketTooBig {
			w.icmp6Error(f, in, packet.ICMPv6PacketTooBig, 0, uint32(max(mtu4+20, 1280)), DropMTUExceeded, EventICMPFragNeeded)
			return
		}
		if r == nat64.ResultRoutingHeader {
			// RFC 7915 5.1: Parameter Problem pointing at Segments Left.
			ptr := nat64.RoutingHeaderPointer(f.Data(), p)
			w.icmp6Error(f, in, packet.ICMPv6ParamProblem, 0, ptr, DropNAT64Untranslatable, EventICMPParamProblem)
			return
		}
		w.drop(f, nat64Drop(r))
		return
	}
	f.Off, f.Len = nf.Off, nf.Len
	w.stats.Events[EventNAT64Out]++
	if p.Frag { // p is as decoded: the translator does not write it
		w.nat64RecordFragment(zoneFrag6, p.Proto, p.Src, eip, wordAddr4(tW), p.FragID)
	}
	if hairpin {
		// RFC 6146 3.8: a packet to one of our own pool addresses goes
		// back in as if it had arrived on the IPv4 side.
		w.p.Decode(f.Data())
		if w.p.Status != packet.DecodeOK {
			w.drop(f, dropForStatus(w.p.Status))
			return
		}
		w.stats.Events[EventNAT64Hairpin]++
		w.nat64In(f, in, n, f.Data()) // the translated frame
		return
	}
	// route still holds the MAC: nothing since resolve4Memo used the
	// route memo.
	w.sendTranslated(f, route.nh.Port, &route.mac)
}

// plainRoute reports whether nh is a route resolve4 accepts: not local,
// blackhole or encapsulating, and to a known port.
func plainRoute(nh *fib.NextHop, ports int) bool {
	return !nh.Local && !nh.Blackhole && !nh.HasEncap && int(nh.Port) < ports
}

// resolve4Memo is resolve4(vrf, dst) (dst an addr4 word) through the route
// memo, when the memo does not hold both the route and its MAC: the route
// is m.nh, the MAC m.mac.
//
//go:noinline
func (w *Worker) resolve4Memo(vrf uint16, dst uint32) (m *routeMemo, why DropReason) {
	if m = w.routeMemoHit(vrf, dst); m == nil {
		var ok bool
		if m, ok = w.lookup4Miss(vrf, dst); !ok {
			return nil, DropNoRoute
		}
	}
	if !plainRoute(m.nh, len(w.env.Ports)) {
		return nil, DropNoRoute
	}
	if m.nt != w.neigh {
		if _, ok := m.neighbor4(w); !ok {
			return nil, DropNoNeighbor
		}
	}
	return m, DropNone
}

// nat64Map finds or makes the BIB entry of (X',x) and creates the session
// for the packet. It returns the pool address and port.
func (w *Worker) nat64Map(n *NAT64, p *packet.Parsed, eip [4]byte) ([4]byte, uint16, bool) {
	var t [4]byte
	w.mapFail = DropSessionTableFull
	if w.sw == nil {
		return t, 0, false
	}
	// The session's forward key (nat64Out's lookup has just missed it),
	// prepared once for its inserts. nat64Out looks it up with Lookup,
	// not LookupPrepare: established packets, the many, would fill a
	// Prepared for nothing, and each store a lookup makes shortens how
	// far the core runs ahead to the next packet's cache misses.
	var pkey session.Prepared
	pk := &pkey
	w.sw.Prepare(&w.key, pk)
	proto := p.Proto
	if proto == packet.ProtoICMPv6 {
		proto = packet.ProtoICMP
	}
	sport := p.SrcPort
	// Static bindings first (a handful; scanned in the slow path only).
	for i := range n.Static {
		s := &n.Static[i]
		if s.Proto == proto && s.V6 == p.Src && s.Port6 == sport {
			if w.nat64Session(p, eip, s.V4, s.Port4, pk) {
				return s.V4, s.Port4, true
			}
			return t, 0, false
		}
	}
	// An existing binding keeps (X',x) on the same (T,t).
	bk := &w.bkey
	*bk = session.Key{}
	bk.Family = session.FamilyNAT64
	bk.Zone = zoneBIB
	bk.Proto = proto
	bk.Src = p.Src
	bk.SrcPort = sport
	be := &w.bent
	var pb, pr session.Prepared // bk (looked up, then inserted) and rk
	if w.sw.LookupPrepare(bk, &pb, be) && !w.sw.Table().Expired(be, w.now) {
		copy(t[:], be.Other.Src[:4])
		tp := be.Other.SrcPort
		w.sw.Touch(be.Handle, w.now)
		if w.nat64Session(p, eip, t, tp, pk) {
			return t, tp, true
		}
		return t, 0, false
	}
	// A new binding: candidates from a hash of (X',x), so a client keeps
	// its mapping across BIB expiry when the pool is not busy.
	seed := bibSeed(&p.Src, sport, proto)
	cls := session.ClassUDP
	switch proto {
	case packet.ProtoTCP:
		// The lifetime of the session a SYN opens: a binding lives as
		// long as its sessions (RFC 6146 3.5.1), and one whose
		// connection never completes (a scan, a SYN flood) must free
		// its (T,t) with it, not 2 h 4 min later. nat64Refreshed extends it
		// when a session becomes established.
		cls = session.ClassTCPTransitory
	case packet.ProtoICMP:
		cls = session.ClassICMP
	}
	rk := &w.rkey
	for try := uint64(0); try < poolTries; try++ {
		var port uint16
		t, port = n.bibCandidate(seed, try)
		if n.staticHolds(proto, t, port) {
			continue // reserved by an administrator's binding
		}
		*rk = session.Key{}
		rk.Family = session.FamilyIPv4
		rk.Zone = zoneBIB
		rk.Proto = proto
		rk.SrcPort = port
		copy(rk.Src[:4], t[:])
		w.sw.Prepare(rk, &pr)
		// InsertAfterMiss: the lookup of bk has just missed.
		_, r := w.sw.InsertPrepared(&pb, &pr, cls, session.StateClosed, session.Value{}, w.now, session.CheckRev)
		switch r {
		case session.Inserted:
			w.stats.Events[EventNAT64BIBCreated]++
			if w.nat64Session(p, eip, t, port, pk) {
				return t, port, true
			}
			return t, 0, false
		case session.Exists:
			// Another worker bound (X',x) meanwhile: use its binding.
			if w.sw.Lookup(bk, be) {
				copy(t[:], be.Other.Src[:4])
				tp := be.Other.SrcPort
				if w.nat64Session(p, eip, t, tp, pk) {
					return t, tp, true
				}
			}
			return t, 0, false
		case session.Conflict:
			continue // (T,t) is bound to someone else
		default:
			return t, 0, false // the table is full (drop-new) or refused the keys
		}
	}
	w.mapFail = DropNAT64PoolExhausted
	return t, 0, false
}

// bibSeed hashes (X',x) and the protocol: the seed of a new binding's
// candidates (bibCandidate).
func bibSeed(x6 *[16]byte, sport uint16, proto uint8) uint64 {
	seed := flatmap.Mix64(binary.BigEndian.Uint64(x6[0:8])) ^ flatmap.Mix64(binary.BigEndian.Uint64(x6[8:16]))
	return flatmap.Mix64(seed ^ uint64(sport)<<8 ^ uint64(proto))
}

// bibCandidate is the try-th pool address and port offered to a new
// binding whose bibSeed is seed. Each choice maps 32 bits of a hash onto
// its range by multiplying and keeping the high half (Lemire's
// multiply-shift reduction): no division, where three 64-bit divisions cost
// a new session about 100 cycles of latency (twice: the batch's prefetch
// pass computes the first candidate too). Every address and port of a
// range below 2^32 stays reachable.
func (n *NAT64) bibCandidate(seed, try uint64) ([4]byte, uint16) {
	h := flatmap.Mix64(seed + try*0x9e3779b97f4a7c15)
	pool := &n.Pools[uint64(uint32(h))*uint64(len(n.Pools))>>32]
	addr := uint32(be32(pool.Base)) + uint32((h>>32)*uint64(pool.Count)>>32)
	g := h * 0xbf58476d1ce4e5b9 // other bits for the port: h's are spent
	span := uint64(pool.PortHi-pool.PortLo) + 1
	port := pool.PortLo + uint16((g>>32)*span>>32)
	return [4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}, port
}

// nat64Session creates the session of the packet in the IPv6 -> IPv4
// direction once its (T,t) is known. w.key holds the forward key, pk the
// same prepared.
func (w *Worker) nat64Session(p *packet.Parsed, eip, t [4]byte, tport uint16, pk *session.Prepared) bool {
	rk := &w.rkey
	*rk = session.Key{}
	rk.Family = session.FamilyIPv4
	rk.Zone = zoneNAT64
	rk.Proto = p.Proto
	if p.Proto == packet.ProtoICMPv6 {
		rk.Proto = packet.ProtoICMP
	}
	copy(rk.Src[:4], eip[:])
	copy(rk.Dst[:4], t[:])
	cls, st := session.ClassICMP, session.StateClosed
	switch p.Proto {
	case packet.ProtoTCP:
		rk.SrcPort, rk.DstPort = p.DstPort, tport
		st, cls = session.NextTCPState(session.StateClosed, session.DirForward, p.TCPFlags)
		if cls == session.ClassKeep {
			cls = session.ClassTCPTransitory
		}
	case packet.ProtoUDP:
		rk.SrcPort, rk.DstPort = p.DstPort, tport
		cls = session.ClassUDP
	default: // ICMP echo: the identifier on the IPv4 side is t
		rk.DstPort = tport
	}
	// nat64Out's lookup of the forward key has just missed (InsertNew).
	var pr session.Prepared
	w.sw.Prepare(rk, &pr)
	h, r := w.sw.InsertPrepared(pk, &pr, cls, st, session.Value{}, w.now, 0)
	if r == session.Conflict {
		r = w.nat64Stale(h, rk, cls, st)
	}
	switch r {
	case session.Inserted:
		w.stats.Events[EventNAT64SessionCreated]++
		return true
	case session.Exists:
		return true
	}
	return false
}

// nat64Stale settles a new session whose reply tuple (EIP:y -> T:t),
// which belongs to a binding this client holds, another session holds
// (h). If that session is this client's own ((X',x) is ours), a racing
// worker created it: Exists. Otherwise it outlived its own binding of
// (T,t): PolicyOldest evicts by lifetime left, and may take a binding
// before its sessions. RFC 6146 3.5.1 removes a binding's sessions with
// it, so that session is removed (counted nat64_stale_session_removed) and
// the insert tried once more.
func (w *Worker) nat64Stale(h session.Handle, rk *session.Key, cls session.Class, st session.TCPState) session.Result {
	var hf, hr session.Key
	if w.sw.Table().Keys(h, &hf, &hr) {
		if hf.Src == w.key.Src && hf.SrcPort == w.key.SrcPort {
			return session.Exists
		}
		if w.sw.Delete(h) {
			w.stats.Events[EventNAT64StaleSession]++
		}
	}
	_, r := w.sw.InsertNew(&w.key, rk, cls, st, session.Value{}, w.now)
	return r
}

// nat64In translates an IPv4 packet to one of the pool's addresses into
// IPv6 towards the client that holds the mapping (RFC 6146 3.5, RFC 7915
// section 4).
//
// The header checksum is verified by the caller: forward4 for a packet from
// the IPv4 side; a hairpinned packet was just built by the translator.
func (w *Worker) nat64In(f *Frame, in *PortInfo, n *NAT64, data []byte) {
	// The addresses stay in p (Src: the EIP, Dst: the pool address T),
	// read as words: a [4]byte copy goes through the stack.
	p := &w.p
	if p.TTL <= 1 {
		w.icmp4Error(f, in, packet.ICMPv4TimeExceeded, 0, 0, DropTTLExceeded, EventICMPTimeExceeded)
		return
	}
	if isSYN(p) && n.SYN != nil && !n.SYN.Allow(p.Src4(), 1, w.now) {
		w.drop(f, DropSYNLimit)
		return
	}
	if p.Proto == packet.ProtoICMP && p.L4Off != 0 && packet.ICMPv4IsError(p.ICMPType) {
		w.nat64InError(f, in, n)
		return
	}
	if p.L4Off == 0 {
		w.nat64InFragment(f, in, n)
		return
	}
	k := &w.key
	*k = session.Key{}
	k.Family = session.FamilyIPv4
	k.Zone = zoneNAT64
	k.Proto = p.Proto
	binary.LittleEndian.PutUint32(k.Src[:4], addr4(&p.Src))
	binary.LittleEndian.PutUint32(k.Dst[:4], addr4(&p.Dst))
	switch p.Proto {
	case packet.ProtoTCP, packet.ProtoUDP:
		k.SrcPort, k.DstPort = p.SrcPort, p.DstPort
	case packet.ProtoICMP:
		if p.ICMPType != packet.ICMPv4EchoReply && p.ICMPType != packet.ICMPv4Echo {
			w.drop(f, DropNAT64Untranslatable)
			return
		}
		k.DstPort = p.SrcPort // the identifier
	default:
		w.drop(f, DropNAT64Untranslatable)
		return
	}
	var x6 [16]byte
	var xport uint16
	e := &w.ent
	hit, st := session.HitMiss, session.StateClosed // see nat64Out
	if w.sw != nil {
		if p.Proto == packet.ProtoTCP {
			hit, st = w.sw.LookupUpdateTCP(k, e, p.TCPFlags, w.now)
		} else {
			hit = w.sw.LookupTouch(k, e, w.now)
		}
	}
	if hit == session.HitLive {
		x6, xport = e.Other.Src, e.Other.SrcPort
		if e.LastSeen != session.Ticks(w.now) || st != e.State {
			w.nat64Refreshed(e, p.Proto, st, &x6, xport)
		}
		w.stats.Events[EventNAT64Hit]++
	} else if !w.nat64Inbound(n, p, p.Src4(), p.Dst4(), &x6, &xport) {
		w.drop(f, DropNAT64NoSession)
		return
	}
	hi, lo := binary.LittleEndian.Uint64(x6[0:8]), binary.LittleEndian.Uint64(x6[8:16])
	route := &w.routes6[route6Slot(hi, lo)%route6MemoSize]
	if !route.holds(w.env.VRFs, w.neigh, in.VRF, hi, lo) {
		var why DropReason
		if route, why = w.resolve6Memo(in.VRF, &x6); why != DropNone {
			w.drop(f, why)
			return
		}
	}
	port := route.nh.Port
	out := &w.env.Ports[port]
	// Only the fields V4ToV6 reads for a packet that is not an ICMP
	// error (those went to nat64InError) are set (see nat64Out).
	a := &w.addrs
	a.Src6 = n.Prefix.Embed(p.Src4())
	a.Dst6 = x6
	a.SrcPort = p.SrcPort
	a.DstPort = xport
	if p.Proto == packet.ProtoICMP {
		a.SrcPort = xport
	}
	c := &w.n64cfg // every field set
	c.MTU4 = 0
	c.MTU6 = int(out.MTU)
	c.ZeroTrafficClass = n.ZeroTrafficClass
	// The TTL is decremented without the header checksum: V4ToV6
	// replaces the whole IPv4 header, and never reads the checksum once
	// told the header was checked (forward4 verified it; a hairpinned
	// packet was just built). A refused packet gets its TTL back, which
	// makes the checksum right again.
	c.IPv4HeaderChecked = true
	ttl := &data[p.L3Off+8] // p.TTL (no header slice: one bounds check)
	*ttl = p.TTL - 1
	var nf nat64.Frame
	nf.Buf = f.Buf
	nf.Off = f.Off
	nf.Len = f.Len
	nfr, r := nat64.V4ToV6(&nf, p, a, &w.n64cfg, nil)
	if r == nat64.ResultNeedSpare && w.spareUsed < len(w.spare) {
		nfr, r = w.v4ToV6Spare(&nf)
	}
	if !r.Translated() {
		*ttl = p.TTL
		if r == nat64.ResultFragNeeded {
			mtu := uint16(max(int(out.MTU), 1280) - 20)
			w.icmp4Error(f, in, packet.ICMPv4DestUnreachable, packet.ICMPv4FragNeeded, mtu, DropMTUExceeded, EventICMPFragNeeded)
			return
		}
		if r == nat64.ResultSourceRoute {
			// RFC 7915 4.1: Destination Unreachable, Source Route Failed.
			w.icmp4Error(f, in, packet.ICMPv4DestUnreachable, icmpv4SourceRouteFailed, 0, DropNAT64Untranslatable, EventICMPUnreachable)
			return
		}
		w.drop(f, nat64Drop(r))
		return
	}
	f.Off, f.Len = nf.Off, nf.Len
	if p.Frag { // p is as decoded: the translator does not write it
		w.nat64RecordFragment(zoneFrag4, p.Proto, x6, p.Src4(), p.Dst4(), p.FragID)
	}
	w.stats.Events[EventNAT64In]++
	// route still holds the MAC: nothing since resolve6Memo used the
	// memo.
	w.sendTranslated(f, port, &route.mac)
	if nfr > 0 {
		w.sendFragments(f, nfr, port, &route.mac)
	}
}

// v4ToV6Spare translates again, with the spare buffers, the packet in nf
// that V4ToV6 refused for want of them: only a DF-clear datagram too big
// for the IPv6 link needs them (the refused frame is unchanged).
//
//go:noinline
func (w *Worker) v4ToV6Spare(nf *nat64.Frame) (int, nat64.Result) {
	free := w.spare[w.spareUsed:]
	ns := w.n64spare[:len(free)]
	for i := range free {
		ns[i] = nat64.Frame{}
		ns[i].Buf = free[i].Buf
		ns[i].Off = free[i].Off
	}
	return nat64.V4ToV6(nf, &w.p, &w.addrs, &w.n64cfg, ns)
}

// sendFragments sends the other n fragments of the datagram of f, which
// v4ToV6Spare cut for the IPv6 link (RFC 7915 4.1): the first is f, the
// others are in the spare buffers.
//
//go:noinline
func (w *Worker) sendFragments(f *Frame, n int, port uint16, mac *[6]byte) {
	free := w.spare[w.spareUsed:]
	ns := w.n64spare[:len(free)]
	out := &w.env.Ports[port]
	for i := 0; i < n; i++ {
		sf := &free[i]
		sf.Off, sf.Len = ns[i].Off, ns[i].Len
		sf.InPort, sf.Time = f.InPort, f.Time
		e := packet.Ethernet(sf.Data())
		e.SetAddrs((*packet.MAC)(mac), (*packet.MAC)(&out.MAC))
		w.tx(sf, port)
	}
	w.spareUsed += n
	w.stats.Events[EventNAT64Fragmented]++
}

// nat64Inbound decides a packet from the IPv4 side with no session: with
// endpoint-independent filtering a binding of (T,t) admits it and a
// session is created (RFC 6146 3.5.1.2 for UDP, 3.5.2.2 V4 SYN for TCP);
// otherwise it is dropped.
func (w *Worker) nat64Inbound(n *NAT64, p *packet.Parsed, eip, t [4]byte, x6 *[16]byte, xport *uint16) bool {
	if w.sw == nil || !n.EndpointIndependent || p.Proto == packet.ProtoICMP {
		return false
	}
	if p.Proto == packet.ProtoTCP && !isSYN(p) {
		return false
	}
	found := false
	for i := range n.Static {
		s := &n.Static[i]
		if s.Proto == p.Proto && s.V4 == t && s.Port4 == p.DstPort {
			*x6, *xport, found = s.V6, s.Port6, true
			break
		}
	}
	if !found {
		bk := &w.bkey
		*bk = session.Key{}
		bk.Family = session.FamilyIPv4
		bk.Zone = zoneBIB
		bk.Proto = p.Proto
		bk.SrcPort = p.DstPort
		copy(bk.Src[:4], t[:])
		if !w.sw.Lookup(bk, &w.bent) || w.sw.Table().Expired(&w.bent, w.now) {
			return false
		}
		*x6, *xport = w.bent.Other.Src, w.bent.Other.SrcPort
	}
	// The session, forward key on the IPv6 side as always.
	fk := &w.rkey
	*fk = session.Key{}
	fk.Family = session.FamilyNAT64
	fk.Zone = zoneNAT64
	fk.Proto = p.Proto
	fk.Src = *x6
	fk.SrcPort = *xport
	fk.DstPort = p.SrcPort
	copy(fk.Dst[:4], eip[:])
	cls, st := session.ClassUDP, session.StateClosed
	if p.Proto == packet.ProtoTCP {
		st, cls = session.NextTCPState(session.StateClosed, session.DirReverse, p.TCPFlags)
		if cls == session.ClassKeep {
			cls = session.ClassTCPTransitory
		}
	}
	_, r := w.sw.Insert(fk, &w.key, cls, st, session.Value{}, w.now)
	if r == session.Inserted {
		w.stats.Events[EventNAT64SessionCreated]++
	}
	return r == session.Inserted || r == session.Exists
}

// nat64OutError translates an ICMPv6 error from the IPv6 side about a
// packet the NAT64 sent it (the quoted packet is IPv6 from Prefix::Y to
// X'): the session of the quoted packet gives the IPv4 addresses.
func (w *Worker) nat64OutError(f *Frame, in *PortInfo, n *NAT64, eip [4]byte) {
	p := &w.p
	em := &w.emb
	if r := nat64.ParseEmbedded(f.Data(), p, em); r != nat64.ResultOK || !em.HasPorts {
		w.drop(f, DropNAT64NoSession)
		return
	}
	// The quoted packet went Y,y -> X',x: its session's forward key is
	// (X',x) -> (Y,y).
	y4, ok := n.Prefix.Extract(&em.Src)
	if !ok {
		w.drop(f, DropNAT64NoSession)
		return
	}
	k := &w.key
	*k = session.Key{}
	k.Family = session.FamilyNAT64
	k.Zone = zoneNAT64
	k.Proto = em.Proto
	k.Src = em.Dst
	copy(k.Dst[:4], y4[:])
	if em.Proto == packet.ProtoICMPv6 {
		k.Proto = packet.ProtoICMPv6
		k.SrcPort = em.DstPort
	} else {
		k.SrcPort, k.DstPort = em.DstPort, em.SrcPort
	}
	e := &w.ent
	if w.sw == nil || !w.sw.Lookup(k, e) || w.sw.Table().Expired(e, w.now) {
		w.drop(f, DropNAT64NoSession)
		return
	}
	var t [4]byte
	copy(t[:], e.Other.Dst[:4])
	tport := e.Other.DstPort
	port, mac, why := w.resolve4(in.VRF, eip)
	if why != DropNone {
		w.drop(f, why)
		return
	}
	a := &w.addrs
	*a = nat64.Addrs{}
	a.Src4 = t
	a.Dst4 = eip
	a.InnerSrc4 = y4
	a.InnerDst4 = t
	a.InnerSrcPort = em.SrcPort
	a.InnerDstPort = tport
	if em.Proto == packet.ProtoICMPv6 {
		a.InnerSrcPort, a.InnerDstPort = tport, tport
	}
	w.ipID++
	a.ID = w.ipID
	w.sendV6ToV4(f, in, n, a, port, mac)
}

// nat64InError translates an ICMPv4 error about a packet the NAT64 sent
// to the IPv4 side (quoted: T,t -> Y,y) back to the client of the session
// (RFC 6146 3.5.3, RFC 7915 4.2-4.3).
func (w *Worker) nat64InError(f *Frame, in *PortInfo, n *NAT64) {
	p := &w.p
	em := &w.emb
	if r := nat64.ParseEmbedded(f.Data(), p, em); r != nat64.ResultOK || !em.HasPorts {
		w.drop(f, DropNAT64NoSession)
		return
	}
	// The session's reverse key is the reply tuple (Y,y) -> (T,t).
	k := &w.key
	*k = session.Key{}
	k.Family = session.FamilyIPv4
	k.Zone = zoneNAT64
	k.Proto = em.Proto
	copy(k.Src[:4], em.Dst[:4])
	copy(k.Dst[:4], em.Src[:4])
	if em.Proto == packet.ProtoICMP {
		k.DstPort = em.SrcPort
	} else {
		k.SrcPort, k.DstPort = em.DstPort, em.SrcPort
	}
	e := &w.ent
	if w.sw == nil || !w.sw.Lookup(k, e) || w.sw.Table().Expired(e, w.now) {
		w.drop(f, DropNAT64NoSession)
		return
	}
	x6, xport := e.Other.Src, e.Other.SrcPort
	var y4 [4]byte
	copy(y4[:], em.Dst[:4])
	port, mac, why := w.resolve6(in.VRF, x6)
	if why != DropNone {
		w.drop(f, why)
		return
	}
	a := &w.addrs
	*a = nat64.Addrs{}
	a.Src6 = n.Prefix.Embed(p.Src4())
	a.Dst6 = x6
	a.InnerSrc6 = x6
	a.InnerDst6 = n.Prefix.Embed(y4)
	a.InnerSrcPort = xport
	a.InnerDstPort = em.DstPort
	if em.Proto == packet.ProtoICMP {
		a.InnerSrcPort, a.InnerDstPort = xport, xport
	}
	w.sendV4ToV6(f, in, n, a, port, mac)
}

// nat64Drop maps a translator refusal to a drop reason.
func nat64Drop(r nat64.Result) DropReason {
	switch r {
	case nat64.ResultMalformed, nat64.ResultTruncated:
		return DropTruncatedL4
	case nat64.ResultBadChecksum:
		return DropBadIPChecksum
	case nat64.ResultNeedSpare:
		return DropFragmentationNeeded
	case nat64.ResultNoHeadroom:
		return DropNoHeadroom
	case nat64.ResultFragmentedICMP, nat64.ResultFragmentedZeroCsumUDP:
		return DropNAT64Fragment
	}
	return DropNAT64Untranslatable
}

// Fragments (RFC 6146 3.4, RFC 7915 4.1/5.1.1). The first fragment of a
// datagram carries the ports, so it is translated like any packet; it also
// leaves a short-lived fragment entry in the session table mapping the
// datagram (client, EIP, fragment ID) <-> (EIP, pool address, ID), by which
// the later fragments, which have no ports, find their addresses. Fragments
// that arrive before their first fragment are dropped (counted
// nat64_fragment): the NAT64 does not reassemble or buffer, so memory and
// time stay bounded by the session table and the fragment timeout.

func fragKeys(fk, rk *session.Key, zone uint16, proto uint8, x6 [16]byte, eip, t [4]byte, id uint32) {
	id4 := uint16(id) // RFC 7915 5.1.1: the low 16 bits of the IPv6 ID
	*fk = session.Key{}
	fk.Family = session.FamilyNAT64
	fk.Zone = zone
	fk.Proto = proto
	fk.Src = x6
	fk.SrcPort = uint16(id >> 16)
	fk.DstPort = uint16(id)
	copy(fk.Dst[:4], eip[:])
	if zone == zoneFrag4 {
		fk.SrcPort, fk.DstPort = 0, id4
	}
	*rk = session.Key{}
	rk.Family = session.FamilyIPv4
	rk.Zone = zone
	rk.Proto = proto
	rk.DstPort = id4
	if zone == zoneFrag6 {
		rk.SrcPort = uint16(id >> 16)
	}
	copy(rk.Src[:4], eip[:])
	copy(rk.Dst[:4], t[:])
}

func (w *Worker) nat64RecordFragment(zone uint16, proto uint8, x6 [16]byte, eip, t [4]byte, id uint32) {
	if w.sw == nil {
		return
	}
	if proto == packet.ProtoICMPv6 {
		proto = packet.ProtoICMP
	}
	fragKeys(&w.bkey, &w.rkey, zone, proto, x6, eip, t, id)
	if _, r := w.sw.Insert(&w.bkey, &w.rkey, ClassFragment, session.StateClosed, session.Value{}, w.now); r == session.Inserted {
		w.stats.Events[EventNAT64FragmentTracked]++
	}
}

// nat64OutFragment translates a non-initial IPv6 fragment.
func (w *Worker) nat64OutFragment(f *Frame, in *PortInfo, n *NAT64, eip [4]byte) {
	p := &w.p
	proto := p.Proto
	if proto == packet.ProtoICMPv6 {
		proto = packet.ProtoICMP
	}
	fragKeys(&w.bkey, &w.rkey, zoneFrag6, proto, p.Src, eip, [4]byte{}, p.FragID)
	e := &w.bent
	if w.sw == nil || !w.sw.Lookup(&w.bkey, e) || w.sw.Table().Expired(e, w.now) {
		w.drop(f, DropNAT64Fragment)
		return
	}
	var t [4]byte
	copy(t[:], e.Other.Dst[:4])
	port, mac, why := w.resolve4(in.VRF, eip)
	if why != DropNone {
		w.drop(f, why)
		return
	}
	w.addrs = nat64.Addrs{}
	w.addrs.Src4 = t
	w.addrs.Dst4 = eip
	w.sendV6ToV4(f, in, n, &w.addrs, port, mac)
}

// nat64InFragment translates a non-initial IPv4 fragment.
func (w *Worker) nat64InFragment(f *Frame, in *PortInfo, n *NAT64) {
	p := &w.p
	eip, t := p.Src4(), p.Dst4()
	fragKeys(&w.bkey, &w.rkey, zoneFrag4, p.Proto, [16]byte{}, eip, t, p.FragID)
	e := &w.bent
	if w.sw == nil || !w.sw.Lookup(&w.rkey, e) || w.sw.Table().Expired(e, w.now) {
		w.drop(f, DropNAT64Fragment)
		return
	}
	x6 := e.Other.Src
	port, mac, why := w.resolve6(in.VRF, x6)
	if why != DropNone {
		w.drop(f, why)
		return
	}
	w.addrs = nat64.Addrs{}
	w.addrs.Src6 = n.Prefix.Embed(eip)
	w.addrs.Dst6 = x6
	w.sendV4ToV6(f, in, n, &w.addrs, port, mac)
}

// sendV6ToV4 translates the IPv6 packet described by w.p with a (the hop
// limit decremented first) and sends it on port to mac, or drops it. Both
// next-hop MTUs are given: a Packet Too Big becomes Fragmentation Needed
// with min(MTU - 20, IPv4 MTU, IPv6 MTU - 20) (RFC 7915 5.2).
func (w *Worker) sendV6ToV4(f *Frame, in *PortInfo, n *NAT64, a *nat64.Addrs, port uint16, mac [6]byte) {
	p := &w.p
	out := &w.env.Ports[port]
	w.n64cfg = nat64.Config{}
	w.n64cfg.MTU4 = int(out.MTU)
	w.n64cfg.MTU6 = int(in.MTU)
	w.n64cfg.ZeroTrafficClass = n.ZeroTrafficClass
	ip := packet.IPv6(f.Data()[p.L3Off:])
	ip.SetHopLimit(ip.HopLimit() - 1)
	var nf nat64.Frame
	nf.Buf = f.Buf
	nf.Off = f.Off
	nf.Len = f.Len
	if r := nat64.V6ToV4(&nf, p, a, &w.n64cfg); !r.Translated() {
		w.drop(f, nat64Drop(r))
		return
	}
	f.Off, f.Len = nf.Off, nf.Len
	w.stats.Events[EventNAT64Out]++
	w.sendTranslated(f, port, &mac)
}

// sendTranslated sends a translated frame (its Ethernet header already in
// place, EtherType set by the translator) on port to the next hop mac.
func (w *Worker) sendTranslated(f *Frame, port uint16, mac *[6]byte) {
	// The header through an array view of a bounded slice: one bounds
	// check (as output does).
	eth := (*[packet.EthernetSize]byte)(f.Buf[f.Off : f.Off+packet.EthernetSize])
	packet.Ethernet(eth[:]).SetAddrs((*packet.MAC)(mac), (*packet.MAC)(&w.env.Ports[port].MAC))
	if f.Len < minFrame {
		pad(f)
	}
	w.tx(f, port)
}

// refreshBIB keeps the binding of a live session alive (RFC 6146 3.5.1: a
// BIB entry lives as long as it has sessions). It costs a lookup once per
// session per tick (about a second): when the session's own last-seen
// time moves (the hit's LookupTouch/LookupUpdateTCP has just moved it).
func (w *Worker) refreshBIB(e *session.Entry, proto uint8, x6 *[16]byte, xport uint16) {
	if e.LastSeen == session.Ticks(w.now) {
		return
	}
	if proto == packet.ProtoICMPv6 {
		proto = packet.ProtoICMP
	}
	bk := &w.bkey
	*bk = session.Key{}
	bk.Family = session.FamilyNAT64
	bk.Zone = zoneBIB
	bk.Proto = proto
	bk.Src = *x6
	bk.SrcPort = xport
	if w.sw.Lookup(bk, &w.bent) {
		w.sw.Touch(w.bent.Handle, w.now)
	}
}

// nat64Refreshed refreshes the binding of a live session e whose packet
// moved its last-seen tick or its TCP state to st (LookupTouch or
// LookupUpdateTCP refreshed the session itself): within one tick and state there is nothing to do
// (refreshBIB looks up once per tick), so the hit path tests that inline
// and calls this rarely. When the session becomes established, its
// binding (X',x) takes the established lifetime too (a binding starts
// with the transitory one: nat64Map), so an idle established connection
// keeps its (T,t) for as long as it lives itself.
//
//go:noinline
func (w *Worker) nat64Refreshed(e *session.Entry, proto uint8, st session.TCPState, x6 *[16]byte, xport uint16) {
	w.refreshBIB(e, proto, x6, xport)
	if proto != packet.ProtoTCP || st != session.StateEstablished || e.State == session.StateEstablished {
		return
	}
	bk := &w.bkey
	*bk = session.Key{Family: session.FamilyNAT64, Zone: zoneBIB, Proto: packet.ProtoTCP, Src: *x6, SrcPort: xport}
	if w.sw.Lookup(bk, &w.bent) {
		w.sw.Extend(w.bent.Handle, session.ClassTCPEstablished, w.now)
	}
}

// sendV4ToV6 translates the IPv4 packet described by w.p with a (the TTL
// decremented first) and sends it on port to mac, or drops it. Used by the
// ICMP errors (never fragmented) and the later fragments of a datagram,
// which are cut with the spare buffers when too big for the IPv6 link
// (RFC 7915 4.1), as nat64In cuts first fragments.
func (w *Worker) sendV4ToV6(f *Frame, in *PortInfo, n *NAT64, a *nat64.Addrs, port uint16, mac [6]byte) {
	p := &w.p
	out := &w.env.Ports[port]
	w.n64cfg = nat64.Config{}
	w.n64cfg.MTU6 = int(out.MTU)
	w.n64cfg.MTU4 = int(in.MTU) // a Packet Too Big says min(MTU + 20, IPv6 MTU, IPv4 MTU + 20) (RFC 7915 4.2)
	w.n64cfg.ZeroTrafficClass = n.ZeroTrafficClass
	w.n64cfg.IPv4HeaderChecked = true // forward4 verified it; decTTL4 keeps it valid
	decTTL4(packet.IPv4(f.Data()[p.L3Off:]))
	var nf nat64.Frame
	nf.Buf = f.Buf
	nf.Off = f.Off
	nf.Len = f.Len
	nfr, r := nat64.V4ToV6(&nf, p, a, &w.n64cfg, nil)
	if r == nat64.ResultNeedSpare && w.spareUsed < len(w.spare) {
		nfr, r = w.v4ToV6Spare(&nf)
	}
	if !r.Translated() {
		w.drop(f, nat64Drop(r))
		return
	}
	f.Off, f.Len = nf.Off, nf.Len
	w.stats.Events[EventNAT64In]++
	w.sendTranslated(f, port, &mac)
	if nfr > 0 {
		w.sendFragments(f, nfr, port, &mac)
	}
}
