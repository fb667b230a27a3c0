package pipeline

import (
	"encoding/binary"
	"math/bits"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/firewall"
	"xdpgw/dataplane/packet"
)

// tunnel is the outer context of a decapsulated packet, kept while the
// inner packet is processed: replies the gateway originates in a tenant's
// overlay (ARP, ICMP echo) go back through the same tunnel, key included
// (background.md bug 3). The outer headers' addresses and MACs are not
// copied: they stay in the frame, which a reply reuses in place
// (tunnelReplyPrepared reads them there), and most packets need none of
// them.
type tunnel struct {
	tenant   int
	v6       bool // the underlay is IPv6
	innerEth int  // offset of the inner Ethernet header (GRE 0x6558), or 0
	outerOff int  // offset of the outer IPv4 header in the frame
	greOff   int
}

// localDeliver4 handles an IPv4 packet whose destination is local in the
// input port's VRF: the gateway terminates GRE from the underlay and owns
// the EIPs on the Internet side; anything else is for the host stack.
func (w *Worker) localDeliver4(f *Frame, in *PortInfo) {
	p := &w.p
	if gw := w.env.Gateway; gw != nil {
		switch {
		case in.Role == RoleOverlay && p.Proto == packet.ProtoGRE:
			w.decap(f, in, gw, f.Data())
			return
		case in.Role == RoleExternal:
			if e, ok := gw.EIPByAddr(p.Dst4()); ok {
				w.eipIngress(f, in, gw, e, f.Data())
				return
			}
		}
	}
	w.local(f)
}

// decap terminates a GRE packet from the underlay (IPv4 or IPv6): the key
// selects the tenant, whose VRF routes the inner packet.
func (w *Worker) decap(f *Frame, in *PortInfo, gw *Gateway, data []byte) {
	p := &w.p
	if p.L4Off == 0 || p.Frag {
		// Tunnel packets are not reassembled: the underlay MTU is
		// configured so that they never need to be.
		w.drop(f, DropGREFragment)
		return
	}
	end := p.L3Off + p.L3Len
	if p.GREHasChecksum && checksum.Checksum(data[p.L4Off:end], 0) != 0xffff {
		w.drop(f, DropBadGREChecksum)
		return
	}
	if !p.GREHasKey {
		w.drop(f, DropGRENoKey)
		return
	}
	ti, ok := gw.TenantByKey(p.GREKey)
	if !ok {
		w.drop(f, DropGREUnknownKey)
		return
	}
	w.tun = tunnel{}
	w.tun.tenant = ti
	w.tun.v6 = p.IPVersion == 6
	w.tun.outerOff = p.L3Off
	w.tun.greOff = p.L4Off
	inner := p.L4Off + p.GREHdrLen
	switch p.GREProto {
	case packet.EtherTypeIPv4:
		p.DecodeL3(data[:end], inner, packet.EtherTypeIPv4)
	case packet.EtherTypeTEB:
		w.tun.innerEth = inner
		p.DecodeL2(data[:end], inner)
	default:
		w.drop(f, DropGREProto)
		return
	}
	if p.Status != packet.DecodeOK {
		w.drop(f, dropForStatus(p.Status))
		return
	}
	w.stats.Events[EventDecap]++
	t := &gw.Tenants[ti]
	switch {
	case p.EtherType == packet.EtherTypeARP:
		w.tunnelARP(f, t)
	case p.IPVersion == 4:
		w.tenantEgress4(f, gw, t, data)
	default:
		w.drop(f, DropGREProto)
	}
}

// tenantEgress4 routes an IPv4 packet that a tenant host sent into its
// tunnel: to the gateway itself (ICMP echo), or out to the Internet with
// its source rewritten to the host's EIP.
//
// A packet of an established flow goes through here alone, with the
// addresses as words; everything only a new flow or an ICMP error needs
// (quotes, rules, the EIP's search, the flow's creation) is in
// tenantEgress4Slow, so that the hit path has few calls to keep its
// values across.
func (w *Worker) tenantEgress4(f *Frame, gw *Gateway, t *Tenant, data []byte) {
	p := &w.p
	ip := packet.IPv4(data[p.L3Off:])
	if !ip.IsChecksumValid() {
		w.drop(f, DropBadIPChecksum)
		return
	}
	if martian4Top(p.Src[0]) || p.Dst[0] >= 224 {
		w.drop(f, DropBadSource)
		return
	}
	src, dst := addr4(&p.Src), addr4(&p.Dst)
	if t.HasAddr4 && dst == word4(&t.Addr4) {
		if p.Proto == packet.ProtoICMP && p.L4Off != 0 && p.ICMPType == packet.ICMPv4Echo {
			w.tunnelEcho(f, t)
			return
		}
		w.drop(f, DropTenantLocal)
		return
	}
	m := w.routeMemoHit(t.VRF, dst)
	if m == nil {
		var ok bool
		if m, ok = w.lookup4Miss(t.VRF, dst); !ok {
			w.drop(f, DropNoRoute)
			return
		}
	}
	nh := m.nh
	// A tenant reaches the Internet and nothing else: not the gateway's
	// own addresses or EIPs (no hairpin between tenants), not the
	// underlay, not another tenant's overlay.
	if nh.Local || nh.Blackhole || nh.HasEncap || int(nh.Port) >= len(w.env.Ports) || w.env.Ports[nh.Port].Role != RoleExternal {
		w.drop(f, DropTenantIsolation)
		return
	}
	// flowHit misses an ICMP error (not flowable): the slow path sorts
	// those out.
	if !t.Offload || !w.flowHit(p, uint16(w.tun.tenant)+1, src, dst, f.InPort, nh.Port) {
		w.tenantEgress4Slow(f, gw, t, nh, data)
		return
	}
	// The flow names the EIP; it must still be this host's.
	e := int(w.ent.Value[flowEIP])
	if e >= len(gw.EIPs) || word4(&gw.EIPs[e].Private) != src || int(gw.EIPs[e].Tenant) != w.tun.tenant {
		w.drop(f, DropNoEIP)
		return
	}
	out := &w.env.Ports[nh.Port]
	if p.TTL <= 1 || p.L3Len > int(out.MTU) {
		w.snatRefuse(f, t, out)
		return
	}
	mac := m.mac
	if m.nt != w.neigh {
		var ok bool
		if mac, ok = m.neighbor4(w); !ok {
			w.drop(f, DropNoNeighbor)
			return
		}
	}
	natDecTTL4(data, p, true, word4(&gw.EIPs[e].Addr))
	w.stats.Events[EventSNAT]++
	w.countEIP(e, false, p.L3Len)
	// The inner packet becomes the frame: the outer Ethernet, IPv4 and
	// GRE headers are dropped by moving the start.
	w.output(f, out, nh.Port, mac, packet.EtherTypeIPv4)
}

// snatRefuse drops a tenant's packet that failed the combined TTL and
// MTU test on its way out (towards out), for the reason that applies.
func (w *Worker) snatRefuse(f *Frame, t *Tenant, out *PortInfo) {
	if w.p.TTL <= 1 {
		w.drop(f, DropTTLExceeded)
		w.tunnelICMPError(f, t, packet.ICMPv4TimeExceeded, 0, 0, EventICMPTimeExceeded)
		return
	}
	if w.p.L3Len > int(out.MTU) {
		// RFC 1191: a DF packet is answered with the next-hop MTU, back
		// through the tunnel, so that path MTU discovery from the host
		// works; one without DF is not fragmented on this path.
		if !packet.IPv4(f.Data()[w.p.L3Off:]).DF() {
			w.drop(f, DropFragmentationNeeded)
			return
		}
		w.drop(f, DropMTUExceeded)
		w.tunnelICMPError(f, t, packet.ICMPv4DestUnreachable, packet.ICMPv4FragNeeded, uint32(out.MTU), EventICMPFragNeeded)
	}
}

// tenantEgress4Slow is tenantEgress4 for a packet without a usable flow:
// an ICMP error (related to a flow, or judged by the rules), or the first
// packet of a flow, which the rules judge and which creates the flow.
//
//go:noinline
func (w *Worker) tenantEgress4Slow(f *Frame, gw *Gateway, t *Tenant, nh *fib.NextHop, data []byte) {
	p := &w.p
	src, dst := p.Src4(), p.Dst4()
	zone := uint16(w.tun.tenant) + 1
	var e int
	create := false
	var q quote4
	icmpErr := p.Proto == packet.ProtoICMP && p.L4Off != 0 && packet.ICMPv4IsError(p.ICMPType)
	related := false
	if icmpErr {
		// An error about a datagram the host received (see gwicmp.go).
		var ok bool
		if q, ok = parseQuote4(data, p); !ok || q.dst != src {
			w.drop(f, DropICMPBadQuote)
			return
		}
		if e, ok = gw.EIPByPrivate(w.tun.tenant, src); !ok {
			w.drop(f, DropNoEIP)
			return
		}
		// Related only on its way to the peer whose datagram it quotes:
		// sent anywhere else, it is judged by the rules like any packet.
		related = t.Offload && q.src == dst && w.relatedFlow(&q, zone, e)
	}
	if related {
		w.stats.Events[EventICMPRelated]++
	} else {
		// Classify once, in the direction the packet travels, before
		// NAT: egress rules speak of the tenant's own addresses.
		if w.classify(f, t.Egress, DropFirewallEgress) {
			return
		}
		var ok bool
		e, ok = gw.EIPByPrivate(w.tun.tenant, src)
		if !ok {
			w.drop(f, DropNoEIP)
			return
		}
		if t.Offload {
			// The flow is stored once the packet is sure to leave (below).
			flowKey(&w.key, p, zone, word4(&src), word4(&dst))
			replyKey(&w.rkey, p, zoneInternet, dst, gw.EIPs[e].Addr)
			create = true
		}
	}
	out := &w.env.Ports[nh.Port]
	if p.TTL <= 1 || p.L3Len > int(out.MTU) {
		w.snatRefuse(f, t, out)
		return
	}
	mac, ok := w.neighbor4(nh, dst)
	if !ok {
		w.drop(f, DropNoNeighbor)
		return
	}
	if create {
		w.flowCreate(p, flowValue(e, w.env.gen, kindEgress, f.InPort, nh.Port))
	}
	natDecTTL4(data, p, true, word4(&gw.EIPs[e].Addr))
	if icmpErr {
		natQuote4(data, p, &q, false, gw.EIPs[e].Addr)
		w.stats.Events[EventICMPErrorNAT]++
	}
	w.stats.Events[EventSNAT]++
	w.countEIP(e, false, p.L3Len)
	w.output(f, out, nh.Port, mac, packet.EtherTypeIPv4)
}

// eipIngress takes a packet from the Internet to an elastic IP: classify
// it against the tenant's ingress rules, DNAT it to the private address,
// route that address in the tenant's VRF (background.md bug 4: the route is
// resolved for the post-DNAT address) and send it into the tunnel the
// route names, with the route's key or the tenant's (bug 1, bug 2).
//
// As in tenantEgress4, a packet of an established flow goes through here
// alone and the rest through eipIngressSlow.
func (w *Worker) eipIngress(f *Frame, in *PortInfo, gw *Gateway, ei int, data []byte) {
	p := &w.p
	e := &gw.EIPs[ei]
	t := &gw.Tenants[e.Tenant]
	r := w.eipMemo(ei, t.VRF)
	if r == nil {
		var ok bool
		if r, ok = w.eipRouteMiss(ei, t.VRF, e.Private); !ok {
			w.drop(f, DropNoRoute)
			return
		}
	}
	nh := r.nh
	if nh.Local || nh.Blackhole || int(nh.Port) >= len(w.env.Ports) {
		w.drop(f, DropNoRoute)
		return
	}
	// flowHit misses an ICMP error (not flowable).
	if !t.Offload || !w.flowHit(p, zoneInternet, addr4(&p.Src), addr4(&p.Dst), nh.Port, f.InPort) {
		w.eipIngressSlow(f, in, gw, ei, nh, data)
		return
	}
	if p.TTL <= 1 || r.over != 0 && p.L3Len+r.over > int(w.env.Ports[nh.Port].MTU) {
		w.dnatRefuse(f, in, nh, data)
		return
	}
	natDecTTL4(data, p, false, word4(&e.Private))
	w.stats.Events[EventDNAT]++
	if !r.tun4 {
		w.dnatSend(f, ei, nh, t.Key)
		return
	}
	// dnatSend's tunnel over IPv4, from the memo's words.
	key, hasKey := tunnelKey(r.key, r.hasKey, t.Key)
	w.encap4(f, nh.Port, r.src, r.hasSrc, r.dst, key, hasKey)
	if f.Verdict == VerdictTx {
		w.countEIP(ei, true, p.L3Len)
	}
}

// tunnelKey is the GRE key of a packet into a tenant's tunnel: the route's,
// or the tenant's when the route names only the destination. A tenant's
// tunnels always carry its key (bug 2).
func tunnelKey(key uint32, hasKey bool, tenantKey uint32) (uint32, bool) {
	if !hasKey {
		return tenantKey, true
	}
	return key, true
}

// eipIngressSlow is eipIngress for a packet without a usable flow: an ICMP
// error (related to a flow, or judged by the rules), or the first packet
// of a flow, which the rules judge and which creates the flow.
//
//go:noinline
func (w *Worker) eipIngressSlow(f *Frame, in *PortInfo, gw *Gateway, ei int, nh *fib.NextHop, data []byte) {
	p := &w.p
	e := &gw.EIPs[ei]
	t := &gw.Tenants[e.Tenant]
	client, eip := p.Src4(), p.Dst4()
	create := false
	var q quote4
	icmpErr := p.Proto == packet.ProtoICMP && p.L4Off != 0 && packet.ICMPv4IsError(p.ICMPType)
	if icmpErr {
		// An error about a datagram the EIP sent (see gwicmp.go).
		var ok bool
		if q, ok = parseQuote4(data, p); !ok || q.src != eip {
			w.drop(f, DropICMPBadQuote)
			return
		}
	}
	if icmpErr && t.Offload && w.relatedFlow(&q, zoneInternet, ei) {
		w.stats.Events[EventICMPRelated]++
	} else {
		// The classifier sees the packet as the tenant will: after DNAT.
		if w.classifyDNAT(f, t.Ingress, DropFirewallIngress, e.Private) {
			return
		}
		if t.Offload {
			// Stored once the TTL and MTU checks below have passed.
			flowKey(&w.key, p, zoneInternet, word4(&client), word4(&eip))
			replyKey(&w.rkey, p, uint16(e.Tenant)+1, e.Private, client)
			create = true
		}
	}
	if p.TTL <= 1 || nh.HasEncap && p.L3Len+tunnelOver(nh) > int(w.env.Ports[nh.Port].MTU) {
		w.dnatRefuse(f, in, nh, data)
		return
	}
	if create {
		w.flowCreate(p, flowValue(ei, w.env.gen, kindIngress, nh.Port, f.InPort))
	}
	natDecTTL4(data, p, false, word4(&e.Private))
	if icmpErr {
		natQuote4(data, p, &q, true, e.Private)
		w.stats.Events[EventICMPErrorNAT]++
	}
	w.stats.Events[EventDNAT]++
	w.dnatSend(f, ei, nh, t.Key)
}

// tunnelOver is the size of the outer headers (IP and GRE with a key) of
// the tunnel nh names.
func tunnelOver(nh *fib.NextHop) int {
	if nh.Encap.OuterDst.Is6() {
		return packet.IPv6Size + packet.GREHeaderLength(true)
	}
	return packet.IPv4MinSize + packet.GREHeaderLength(true)
}

// dnatRefuse answers a packet for a tenant that failed the combined TTL
// and tunnel MTU test, for the reason that applies. RFC 1812 5.3.1: a
// packet whose TTL would reach zero is answered with a time exceeded. The
// tunnel headers must fit the underlay MTU: a DF packet that does not fit
// is answered (RFC 1191) with the MTU left for the inner packet, quoting it
// as the client sent it, so that path MTU discovery works through the
// gateway instead of black-holing.
func (w *Worker) dnatRefuse(f *Frame, in *PortInfo, nh *fib.NextHop, data []byte) {
	p := &w.p
	if p.TTL <= 1 {
		w.icmp4Error(f, in, packet.ICMPv4TimeExceeded, 0, 0, DropTTLExceeded, EventICMPTimeExceeded)
		return
	}
	over, mtu := tunnelOver(nh), int(w.env.Ports[nh.Port].MTU)
	if packet.IPv4(data[p.L3Off:]).DF() {
		w.icmp4Error(f, in, packet.ICMPv4DestUnreachable, packet.ICMPv4FragNeeded, uint16(mtu-over), DropMTUExceeded, EventICMPFragNeeded)
		return
	}
	w.drop(f, DropFragmentationNeeded)
}

// dnatSend sends a packet whose destination is now EIP ei's private
// address (in p) as nh says: into the tunnel, with the route's key or the
// tenant's, or directly on a port.
func (w *Worker) dnatSend(f *Frame, ei int, nh *fib.NextHop, tenantKey uint32) {
	p := &w.p
	if !nh.HasEncap {
		// The private address is directly on a port (no overlay).
		out := &w.env.Ports[nh.Port]
		if p.L3Len > int(out.MTU) {
			w.drop(f, DropMTUExceeded)
			return
		}
		mac, ok := w.neighbor4(nh, p.Dst4())
		if !ok {
			w.drop(f, DropNoNeighbor)
			return
		}
		w.output(f, out, nh.Port, mac, packet.EtherTypeIPv4)
		w.countEIP(ei, true, p.L3Len)
		return
	}
	key, hasKey := tunnelKey(nh.Encap.Key, nh.Encap.HasKey, tenantKey)
	if nh.Encap.OuterDst.Is6() {
		w.encap6(f, nh.Port, as16(nh.Encap.OuterSrc), nh.Encap.OuterSrc.Is6(), as16(nh.Encap.OuterDst), key, hasKey)
	} else {
		w.encap4(f, nh.Port, ipWord4(nh.Encap.OuterSrc), nh.Encap.OuterSrc.Is4(), ipWord4(nh.Encap.OuterDst), key, hasKey)
	}
	if f.Verdict == VerdictTx {
		w.countEIP(ei, true, p.L3Len)
	}
}

// encap4 wraps the IPv4 packet at p.L3Off in outer Ethernet + IPv4 + GRE
// and sends it on port towards outerDst, routed in the port's VRF. The
// outer addresses are addr4 words.
func (w *Worker) encap4(f *Frame, port uint16, outerSrc uint32, hasSrc bool, outerDst uint32, key uint32, hasKey bool) {
	p := &w.p
	env := w.env
	out := &env.Ports[port]
	if !hasSrc {
		if !out.HasAddr4 {
			w.drop(f, DropNoTunnelSource)
			return
		}
		outerSrc = word4(&out.Addr4)
	}
	greLen := packet.GREHeaderLength(hasKey)
	over := packet.IPv4MinSize + greLen
	total := over + p.L3Len
	if total > int(out.MTU) {
		w.drop(f, DropMTUExceeded)
		return
	}
	// The underlay next hop of the outer destination, and the headers
	// (encapcache.go).
	under := env.VRFs[out.VRF].Table()
	c := &w.encap[encapSlot(outerDst, key, port)]
	if !c.hit(env, w.neigh, under, outerSrc, outerDst, key, hasKey, port) &&
		!w.encapFill(f, c, under, port, outerSrc, outerDst, key, hasKey) {
		return
	}
	l3 := f.Off + p.L3Off
	start := l3 - over - packet.EthernetSize
	if start < 0 {
		w.drop(f, DropNoHeadroom)
		return
	}
	tos := f.Buf[l3+1] // RFC 2983: the inner DSCP/ECN, outside
	h := (*[encapHdr4Max]byte)(f.Buf[start : start+encapHdr4Max])
	f.Off = start
	f.Len = packet.EthernetSize + total
	pad(f)
	w.ipID++
	w.stats.Events[EventEncap]++
	w.tx(f, port)
	// Last, so that nothing is kept across the call.
	c.write(h, tos, uint16(total), w.ipID)
}

// encapFill builds c for the tunnel (encap4's arguments) from the underlay
// table under: the route and neighbour of the outer destination. It drops
// the frame and returns false if there are none. It is a function of its
// own so that encap4 keeps no values across calls for it on a cache hit.
//
//go:noinline
func (w *Worker) encapFill(f *Frame, c *encapEntry, under *fib.Table, port uint16, outerSrc, outerDst uint32, key uint32, hasKey bool) bool {
	dst := wordAddr4(outerDst)
	unh, ok := under.Lookup4(dst)
	if !ok || unh.Local || unh.HasEncap || unh.HasNextVRF || unh.Port != port {
		w.drop(f, DropNoTunnelRoute)
		return false
	}
	mac, ok := w.neighbor4(unh, dst) // unh.Port == port
	if !ok {
		w.drop(f, DropNoNeighbor)
		return false
	}
	c.fill(w.env, w.neigh, under, outerSrc, outerDst, key, hasKey, port, mac, w.env.Ports[port].MAC)
	return true
}

// encap6 is encap4 over an IPv6 underlay: outer IPv6 (next header GRE,
// hop limit 64, the inner DSCP/ECN as traffic class) + GRE.
func (w *Worker) encap6(f *Frame, port uint16, outerSrc [16]byte, hasSrc bool, outerDst [16]byte, key uint32, hasKey bool) {
	p := &w.p
	env := w.env
	out := &env.Ports[port]
	if !hasSrc {
		if !out.HasAddr6 {
			w.drop(f, DropNoTunnelSource)
			return
		}
		outerSrc = out.Addr6
	}
	greLen := packet.GREHeaderLength(hasKey)
	over := packet.IPv6Size + greLen
	if over+p.L3Len > int(out.MTU) {
		w.drop(f, DropMTUExceeded)
		return
	}
	unh, ok := env.VRFs[out.VRF].Table().Lookup6(outerDst)
	if !ok || unh.Local || unh.HasEncap || unh.HasNextVRF || unh.Port != port {
		w.drop(f, DropNoTunnelRoute)
		return
	}
	mac, ok := w.neighbor6(unh, outerDst) // unh.Port == port
	if !ok {
		w.drop(f, DropNoNeighbor)
		return
	}
	start := f.Off + p.L3Off - over - packet.EthernetSize
	if start < 0 {
		w.drop(f, DropNoHeadroom)
		return
	}
	tos := packet.IPv4(f.Buf[f.Off+p.L3Off:]).TOS()
	payload := greLen + p.L3Len
	f.Off = start
	f.Len = packet.EthernetSize + over + p.L3Len
	b := f.Data()
	packet.EncodeEthernet(b, packet.MAC(mac), packet.MAC(out.MAC), packet.EtherTypeIPv6)
	packet.EncodeIPv6(b[packet.EthernetSize:], packet.IPv6Fields{
		TrafficClass:  tos, // RFC 2983, as for IPv4
		PayloadLength: uint16(payload),
		NextHeader:    packet.ProtoGRE,
		HopLimit:      64,
		Src:           outerSrc,
		Dst:           outerDst,
	})
	packet.EncodeGRE(b[packet.EthernetSize+packet.IPv6Size:], packet.EtherTypeIPv4, key, hasKey)
	pad(f)
	w.stats.Events[EventEncap]++
	w.tx(f, port)
}

// tunnelEcho answers an ICMP echo request to the gateway's overlay address
// through the tunnel it came by. The outer headers are reused in place with
// source and destination swapped, so the reply carries the request's GRE
// key (bug 3) and flags.
func (w *Worker) tunnelEcho(f *Frame, t *Tenant) {
	p := &w.p
	data := f.Data()
	ip := packet.IPv4(data[p.L3Off:])
	ic := packet.ICMPv4(data[p.L4Off : p.L3Off+p.L3Len])
	src, dst := ip.Src(), ip.Dst()
	ip.SetSrc(dst)
	ip.SetDst(src)
	ip.SetTTL(64)
	ip.SetChecksum(ip.CalculateChecksum())
	old := uint16(ic.Type())<<8 | uint16(ic.Code())
	ic.SetType(packet.ICMPv4EchoReply)
	ic.SetChecksum(checksum.Update16(ic.Checksum(), old, uint16(packet.ICMPv4EchoReply)<<8|uint16(ic.Code())))
	w.stats.Events[EventTunnelEchoReply]++
	w.turnInnerEth(f)
	w.tunnelReply(f)
}

// turnInnerEth addresses the inner Ethernet header of a transparent-
// Ethernet tunnel (GRE 0x6558) back to the host that sent the frame, from
// the gateway, for a reply built in place.
func (w *Worker) turnInnerEth(f *Frame) {
	if w.tun.innerEth == 0 {
		return
	}
	e := packet.Ethernet(f.Data()[w.tun.innerEth:])
	e.SetDst(e.Src())
	e.SetSrc(packet.MAC(w.env.Ports[f.InPort].MAC))
}

// tunnelARP answers an ARP request for the gateway's overlay address that
// came inside a transparent-Ethernet (0x6558) GRE tunnel.
func (w *Worker) tunnelARP(f *Frame, t *Tenant) {
	p := &w.p
	data := f.Data()
	arp := packet.ARP(data[p.L3Off:])
	if arp.Op() != packet.ARPRequest || !t.HasAddr4 || arp.TargetIP() != t.Addr4 {
		w.drop(f, DropTenantLocal)
		return
	}
	inEth := packet.Ethernet(data[p.L3Off-packet.EthernetSize-4*int(p.VLANs):])
	mine := packet.MAC(w.env.Ports[f.InPort].MAC)
	asker, askerIP := arp.SenderMAC(), arp.SenderIP()
	arp.SetOp(packet.ARPReply)
	arp.SetTargetMAC(asker)
	arp.SetTargetIP(askerIP)
	arp.SetSenderMAC(mine)
	arp.SetSenderIP(t.Addr4)
	inEth.SetDst(asker)
	inEth.SetSrc(mine)
	w.stats.Events[EventTunnelARPReply]++
	w.tunnelReply(f)
}

// tunnelReply turns the outer headers of the frame around: the reply goes
// back to the tunnel endpoint it came from, with the same GRE header.
func (w *Worker) tunnelReply(f *Frame) {
	w.tunnelReplyPrepared(f)
	w.tx(f, f.InPort)
}

// tunnelReplyPrepared rewrites the outer headers for the way back and sets
// the output port; the caller counts the frame.
func (w *Worker) tunnelReplyPrepared(f *Frame) {
	data := f.Data()
	tun := &w.tun
	var end int
	var mac [6]byte
	var found bool
	// The outer headers are as they arrived but for their lengths: the
	// tenant host's tunnel endpoint (src) becomes the destination.
	if tun.v6 {
		outer := packet.IPv6(data[tun.outerOff:])
		src, dst := outer.Src(), outer.Dst()
		outer.SetSrc(dst)
		outer.SetDst(src)
		outer.SetHopLimit(64)
		end = tun.outerOff + packet.IPv6Size + int(outer.PayloadLength())
		mac, found = w.neigh.Lookup6(f.InPort, src)
	} else {
		outer := packet.IPv4(data[tun.outerOff:])
		src, dst := outer.Src(), outer.Dst()
		outer.SetSrc(dst)
		outer.SetDst(src)
		outer.SetTTL(64)
		outer.SetChecksum(outer.CalculateChecksum())
		end = tun.outerOff + int(outer.TotalLength())
		mac, found = w.neigh.Lookup4(f.InPort, src)
	}
	gre := packet.GRE(data[tun.greOff:end])
	if gre.HasChecksum() {
		gre.SetChecksum(0)
		gre.SetChecksum(gre.CalculateChecksum())
	}
	eth := packet.Ethernet(data)
	peer := eth.Src() // the MAC the packet came from
	if found {
		peer = packet.MAC(mac)
	}
	eth.SetDst(peer)
	eth.SetSrc(packet.MAC(w.env.Ports[f.InPort].MAC))
	f.Verdict = VerdictTx
	f.OutPort = f.InPort
}

// classify runs the packet described by w.p through rs; it returns true
// when the packet was dropped (and counted under reason).
func (w *Worker) classify(f *Frame, rs *firewall.RuleSet, reason DropReason) bool {
	w.fillFirewallPacket()
	return w.classifyFilled(f, rs, reason)
}

// classifyDNAT is classify for a packet about to be DNATed: the rules see
// its post-DNAT destination.
func (w *Worker) classifyDNAT(f *Frame, rs *firewall.RuleSet, reason DropReason, dst [4]byte) bool {
	w.fillFirewallPacket()
	w.fwp.Dst = [16]byte{}
	copy(w.fwp.Dst[:4], dst[:])
	return w.classifyFilled(f, rs, reason)
}

func (w *Worker) classifyFilled(f *Frame, rs *firewall.RuleSet, reason DropReason) bool {
	if rs == nil {
		return false
	}
	a, rule := rs.Classify(&w.fwp)
	rs.Count(rule)
	if a == firewall.ActionAccept {
		return false
	}
	w.drop(f, reason)
	if a == firewall.ActionReject {
		if reason == DropFirewallIngress {
			w.rejectIngress(f, &w.env.Ports[f.InPort])
		} else {
			w.rejectEgress(f)
		}
	}
	return true
}

func (w *Worker) fillFirewallPacket() {
	p := &w.p
	w.fwp = firewall.Packet{
		IPv6:     p.IPVersion == 6,
		Proto:    p.Proto,
		Src:      p.Src,
		Dst:      p.Dst,
		SrcPort:  p.SrcPort,
		DstPort:  p.DstPort,
		ICMPType: p.ICMPType,
		TCPFlags: p.TCPFlags,
	}
}

// natDecTTL4 rewrites the source (src) or destination address of the IPv4
// packet described by p to the addr4 word to, decrements its TTL (the
// caller has checked that it is above 1) and updates the header checksum
// and the TCP/UDP checksum, whose pseudo-header holds the address,
// incrementally; p's address follows (the callers' next steps, a
// neighbour lookup, read it from there). The address's change is summed
// once for both checksums, and the header checksum is updated once for the
// address and the TTL (RFC 1624 equation 3 over the sum of the changes
// gives what a full recomputation would store). A non-initial fragment has
// no transport header: only the IP header changes.
func natDecTTL4(data []byte, p *packet.Parsed, src bool, to uint32) {
	// Fixed-size views: one bounds check each instead of one per field
	// accessor (Decode has already proven both headers fit).
	// (The bounded slices spare the compiler's masking of a slice's
	// pointer that might point past its end.)
	l3 := p.L3Off
	ip := (*[packet.IPv4MinSize]byte)(data[l3 : l3+packet.IPv4MinSize])
	// The address is stored as the word it was loaded as; the checksum
	// arithmetic wants its big-endian value.
	n := bits.ReverseBytes32(to)
	var old uint32
	if src {
		old = binary.BigEndian.Uint32(ip[12:16])
		binary.LittleEndian.PutUint32(ip[12:16], to)
		// The other 12 bytes of an IPv4 address in p are zero (Decode).
		binary.LittleEndian.PutUint32(p.Src[:4], to)
	} else {
		old = binary.BigEndian.Uint32(ip[16:20])
		binary.LittleEndian.PutUint32(ip[16:20], to)
		binary.LittleEndian.PutUint32(p.Dst[:4], to)
	}
	// checksum.Diff32, with ^ of the 32-bit word negating both halves.
	d := uint64(^old) + uint64(n)
	// The TTL/protocol word w becomes w-0x100 (TTL > 1, no borrow): its
	// change ~w + (w-0x100) is the constant 0xffff-0x100 (Diff16).
	ip[8]--
	binary.BigEndian.PutUint16(ip[10:12], checksum.Apply(binary.BigEndian.Uint16(ip[10:12]), d+0xffff-0x100))
	l4 := p.L4Off
	if l4 == 0 {
		return
	}
	switch p.Proto {
	case packet.ProtoTCP:
		c := (*[2]byte)(data[l4+16 : l4+18]) // the TCP checksum
		binary.BigEndian.PutUint16(c[:], checksum.Apply(binary.BigEndian.Uint16(c[:]), d))
	case packet.ProtoUDP:
		// RFC 768: zero means no checksum; a computed zero is sent as ones.
		c := (*[2]byte)(data[l4+6 : l4+8]) // the UDP checksum
		if v := binary.BigEndian.Uint16(c[:]); v != 0 {
			if v = checksum.Apply(v, d); v == 0 {
				v = 0xffff
			}
			binary.BigEndian.PutUint16(c[:], v)
		}
	}
}

// setAddr4 replaces the source (src) or destination address of ip with to,
// updates the header checksum (RFC 1624) and returns the old address.
func setAddr4(ip packet.IPv4, src bool, to [4]byte) (old [4]byte) {
	if src {
		old = ip.Src()
		ip.SetSrc(to)
	} else {
		old = ip.Dst()
		ip.SetDst(to)
	}
	ip.SetChecksum(checksum.Update32(ip.Checksum(), old, to))
	return old
}

// udpChecksumUpdate32 is checksum.Update32 for a UDP checksum c: RFC 768's
// zero ("no checksum") stays zero, and a computed zero is sent as all ones.
func udpChecksumUpdate32(c uint16, old, to [4]byte) uint16 {
	if c == 0 {
		return 0
	}
	if c = checksum.Update32(c, old, to); c == 0 {
		c = 0xffff
	}
	return c
}

// decTTL4 decrements the TTL and fixes the header checksum (RFC 1624).
func decTTL4(ip packet.IPv4) {
	ttl := ip.TTL()
	old := uint16(ttl)<<8 | uint16(ip.Protocol())
	ip.SetTTL(ttl - 1)
	ip.SetChecksum(checksum.Update16(ip.Checksum(), old, old-0x100))
}
