package pipeline

import (
	"encoding/binary"

	"xdpgw/dataplane/packet"
	"xdpgw/dataplane/session"
)

// The gateway's flow fast path. The first packet of a connection goes
// through the slow path (VRF route, firewall, NAT); its result is stored in
// the shared session table under two keys, the tuple as it arrives from the
// Internet (zone 0) and as it arrives from the tenant (zone tenant+1), so
// that both directions find it, whichever worker they reach. Later packets
// skip the EIP lookup and the firewall: the session names the EIP (hence
// the tenant and both addresses) and records the decision.
//
// What a hit does not trust blindly: the entry holds the generation of the
// Env it was made under, and the physical ports the slow path chose. A
// configuration change (rules, EIPs, tenants) makes the generation stale,
// and a route change that moves the flow to another port makes the port
// stale; either sends the packet through the slow path again, which
// re-classifies it and replaces the entry. The forwarding adjacency (VRF
// route, tunnel, neighbour) is resolved per packet from the small per-VRF
// tables, so neighbour changes apply at once.

// Flow value layout (session.Value, 3 x uint32).
const (
	flowEIP     = 0 // index of the EIP in Gateway.EIPs
	flowGen     = 1 // Env generation the decision was made under
	flowPorts   = 2 // kind<<24 | tenant-side port<<12 | Internet-side port
	kindIngress = 1 // the Internet side opened the flow (DNAT first)
	kindEgress  = 2 // the tenant opened it (SNAT first)

	zoneInternet = 0

	// sweepPerBatch entries of the session table are checked for expiry
	// per batch by every worker (clock sweep, no stop-the-world).
	sweepPerBatch = 16
)

func flowValue(ei int, gen uint32, kind, tenantPort, inetPort uint16) session.Value {
	return session.Value{flowEIP: uint32(ei), flowGen: gen, flowPorts: uint32(kind)<<24 | uint32(tenantPort&0xfff)<<12 | uint32(inetPort&0xfff)}
}

// FlowPorts decodes the physical ports a flow entry recorded: the port
// towards the tenant (underlay) and the port towards the Internet. They
// are port indices, never VRFs (background.md bug 5).
func FlowPorts(v session.Value) (kind uint8, tenantPort, inetPort uint16) {
	p := v[flowPorts]
	return uint8(p >> 24), uint16(p >> 12 & 0xfff), uint16(p & 0xfff)
}

// flowable reports whether the packet can have a flow entry: TCP, UDP and
// ICMP echo, first fragments or whole packets.
func flowable(p *packet.Parsed) bool {
	if p.L4Off == 0 {
		return false
	}
	switch p.Proto {
	case packet.ProtoTCP, packet.ProtoUDP:
		return true
	case packet.ProtoICMP:
		return p.ICMPType == packet.ICMPv4Echo || p.ICMPType == packet.ICMPv4EchoReply
	}
	return false
}

// flowKey fills k with the packet's own tuple in zone. ICMP echo is keyed
// by its identifier (RFC 6146 3.5.3 does the same for NAT64).
//
// Per-packet structs (keys, nat64.Addrs, nat64.Frame, the tunnel) are
// zeroed and filled field by field throughout the package: a composite
// literal assigned through a pointer is built in a stack temporary and
// copied with 16-byte loads that straddle the temporary's narrower stores,
// a store-forwarding stall (10-15 cycles) per copy.
//
// src and dst are addr4 words: a [4]byte argument is passed on the stack
// and copied byte-wise into the key, a word is one register and one store.
func flowKey(k *session.Key, p *packet.Parsed, zone uint16, src, dst uint32) {
	*k = session.Key{}
	k.Family = session.FamilyIPv4
	k.Proto = p.Proto
	k.Zone = zone
	binary.LittleEndian.PutUint32(k.Src[:4], src)
	binary.LittleEndian.PutUint32(k.Dst[:4], dst)
	if p.Proto == packet.ProtoICMP {
		k.SrcPort = p.SrcPort
		return
	}
	k.SrcPort, k.DstPort = p.SrcPort, p.DstPort
}

// replyKey fills k with the tuple the answer to the packet will have when
// it arrives in zone, from src to dst (the addresses after NAT).
func replyKey(k *session.Key, p *packet.Parsed, zone uint16, src, dst [4]byte) {
	*k = session.Key{}
	k.Family = session.FamilyIPv4
	k.Proto = p.Proto
	k.Zone = zone
	copy(k.Src[:4], src[:])
	copy(k.Dst[:4], dst[:])
	if p.Proto == packet.ProtoICMP {
		k.SrcPort = p.SrcPort
		return
	}
	k.SrcPort, k.DstPort = p.DstPort, p.SrcPort
}

func flowClass(p *packet.Parsed) (session.Class, session.TCPState) {
	switch p.Proto {
	case packet.ProtoTCP:
		st, cls := session.NextTCPState(session.StateClosed, session.DirForward, p.TCPFlags)
		if cls == session.ClassKeep {
			cls = session.ClassTCPTransitory
		}
		return cls, st
	case packet.ProtoUDP:
		return session.ClassUDP, session.StateClosed
	}
	return session.ClassICMP, session.StateClosed
}

// flowHit looks the packet up in zone and reports a usable hit in w.ent,
// refreshing its lifetime (and TCP state). Stale and expired entries are
// deleted and reported as a miss. src and dst are addr4 words. It has no
// effect on a packet that cannot have a flow (flowable), such as an ICMP
// error: callers rely on that to try it before sorting those out.
func (w *Worker) flowHit(p *packet.Parsed, zone uint16, src, dst uint32, tenantPort, inetPort uint16) bool {
	if w.sw == nil || !flowable(p) {
		return false
	}
	flowKey(&w.key, p, zone, src, dst)
	e := &w.ent
	// A flow's hit needs no Other: its rewrite is in the Value. TCP and
	// UDP look up, check expiry and refresh in one call; refreshing a
	// session that turns out stale below changes nothing anyone sees,
	// since it is deleted at once. An ICMP hit is refreshed only once
	// its direction is checked: an echo that is not one of the flow's
	// must not extend the flow's life.
	var hit session.Hit
	switch p.Proto {
	case packet.ProtoTCP:
		hit, _ = w.sw.LookupUpdateTCPWithoutOther(&w.key, e, p.TCPFlags, w.now)
	case packet.ProtoUDP:
		hit = w.sw.LookupTouchWithoutOther(&w.key, e, w.now)
	default:
		hit = w.flowLookupICMP(e)
	}
	if hit != session.HitLive {
		if hit == session.HitExpired {
			w.sw.Delete(e.Handle)
		}
		return false
	}
	// An ICMP flow admits the echo that opened it one way and replies the
	// other way: a request arriving on the reply's key is a new request
	// that the rules must judge (the key holds only the identifier).
	if p.Proto == packet.ProtoICMP && (p.ICMPType == packet.ICMPv4Echo) != (e.Dir == session.DirForward) {
		return false
	}
	// The ports as flowValue packs them, compared as one word (port
	// indices are below MaxPorts, so the 12-bit fields hold them).
	if e.Value[flowGen] != w.env.gen || e.Value[flowPorts]&0xffffff != uint32(tenantPort)<<12|uint32(inetPort) {
		w.sw.Delete(e.Handle)
		w.stats.Events[EventFlowStale]++
		return false
	}
	if p.Proto == packet.ProtoICMP {
		w.sw.Touch(e.Handle, w.now)
	}
	w.stats.Events[EventFlowHit]++
	return true
}

// flowLookupICMP looks w.key (an ICMP echo's) up without refreshing it:
// flowHit refreshes an ICMP flow only after its direction check.
func (w *Worker) flowLookupICMP(e *session.Entry) session.Hit {
	if !w.sw.LookupWithoutOther(&w.key, e) {
		return session.HitMiss
	}
	if w.sw.Table().Expired(e, w.now) {
		return session.HitExpired
	}
	return session.HitLive
}

// flowCreate stores the slow path's decision for the packet: fwd is the
// packet's tuple in its zone, rev the answer's tuple in the other zone.
// A TCP packet creates a flow only when it opens a connection (a SYN): a
// stray segment that the rules let through does not make the reverse
// direction open.
func (w *Worker) flowCreate(p *packet.Parsed, v session.Value) {
	if w.sw == nil || !flowable(p) {
		return
	}
	if p.Proto == packet.ProtoTCP && p.TCPFlags&(packet.TCPFlagSYN|packet.TCPFlagACK|packet.TCPFlagRST) != packet.TCPFlagSYN {
		return
	}
	if p.Proto == packet.ProtoICMP && p.ICMPType != packet.ICMPv4Echo {
		return
	}
	cls, st := flowClass(p)
	// flowHit's lookup of the forward key has just missed.
	_, r := w.sw.InsertNew(&w.key, &w.rkey, cls, st, v, w.now)
	switch r {
	case session.Inserted:
		w.stats.Events[EventFlowCreated]++
	case session.Exists, session.Conflict:
		// Another worker created it first, or the reply tuple is
		// taken by another flow: forward this packet anyway.
		w.stats.Events[EventFlowInsertRace]++
	default:
		w.stats.Events[EventFlowInsertFailed]++
	}
}
