package pipeline

import (
	"encoding/binary"
	"net/netip"
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/neigh"

	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/packet"
)

// forward4 is the IPv4 slow path of this issue: route in the input port's
// VRF, TTL decrement with an incremental checksum update, next-hop MAC from
// the neighbour table, ICMP errors where RFC 1812 asks for them. data is
// f.Data(): the stages of a packet pass it down instead of re-slicing the
// frame (bounds checks, pointer masking) at every step.
func (w *Worker) forward4(f *Frame, in *PortInfo, data []byte) {
	p := &w.p
	ip := packet.IPv4(data[p.L3Off:])
	// RFC 1812 5.2.2: a router verifies the header checksum.
	if !ip.IsChecksumValid() {
		w.drop(f, DropBadIPChecksum)
		return
	}
	// The first bytes straight from p: a [4]byte copy goes through the
	// stack, and the source is needed for nothing else here.
	// Multicast and limited broadcast are for the host, not forwarded.
	if p.Dst[0] >= 224 {
		w.local(f)
		return
	}
	if martian4Top(p.Src[0]) {
		w.drop(f, DropBadSource)
		return
	}
	dst := addr4(&p.Dst)
	if n := w.env.NAT64; n != nil && in.Role == RoleIPv4 && n.inPool4(dst) {
		w.nat64In(f, in, n, data)
		return
	}
	// The gateway's own traffic is recognised before the FIB: tunnels to
	// the port's own address and packets to an EIP (both would resolve to
	// a local route; this saves the lookup on the fast path).
	if gw := w.env.Gateway; gw != nil {
		switch {
		case in.Role == RoleOverlay && p.Proto == packet.ProtoGRE && in.HasAddr4 && dst == word4(&in.Addr4):
			w.decap(f, in, gw, data)
			return
		case in.Role == RoleExternal:
			if e, ok := gw.eipByWord(dst); ok {
				w.eipIngress(f, in, gw, e, data)
				return
			}
		}
	}
	env := w.env
	nh, ok := w.lookup4(in.VRF, p.Dst4())
	if !ok {
		w.icmp4Error(f, in, packet.ICMPv4DestUnreachable, packet.ICMPv4NetUnreachable, 0, DropNoRoute, EventICMPUnreachable)
		return
	}
	if nh.Local {
		w.localDeliver4(f, in)
		return
	}
	if nh.Blackhole {
		w.drop(f, DropBlackhole)
		return
	}
	if int(nh.Port) >= len(env.Ports) {
		w.drop(f, DropUnknownPort)
		return
	}
	if nh.HasEncap {
		w.drop(f, DropEncapUnsupported)
		return
	}
	// RFC 1812 5.3.1: a packet whose TTL would reach zero is discarded and
	// answered with a time exceeded.
	if ip.TTL() <= 1 {
		w.icmp4Error(f, in, packet.ICMPv4TimeExceeded, 0, 0, DropTTLExceeded, EventICMPTimeExceeded)
		return
	}
	out := &env.Ports[nh.Port]
	if p.L3Len > int(out.MTU) {
		if ip.DF() {
			// RFC 1191: fragmentation needed, with the next-hop MTU.
			w.icmp4Error(f, in, packet.ICMPv4DestUnreachable, packet.ICMPv4FragNeeded, out.MTU, DropMTUExceeded, EventICMPFragNeeded)
			return
		}
		w.drop(f, DropFragmentationNeeded)
		return
	}
	mac, ok := w.neighbor4(nh, p.Dst4())
	if !ok {
		w.drop(f, DropNoNeighbor)
		return
	}
	// TTL and protocol share a 16-bit word of the header checksum (RFC 1624).
	ttl := ip.TTL()
	old := uint16(ttl)<<8 | uint16(ip.Protocol())
	ip.SetTTL(ttl - 1)
	ip.SetChecksum(checksum.Update16(ip.Checksum(), old, old-0x100))
	w.output(f, out, nh.Port, mac, packet.EtherTypeIPv4)
}

// forward6 is the IPv6 slow path: route, hop limit (RFC 8200 has no header
// checksum to fix), neighbour, ICMPv6 errors (RFC 4443).
func (w *Worker) forward6(f *Frame, in *PortInfo, data []byte) {
	p := &w.p
	ip := packet.IPv6(data[p.L3Off:])
	src, dst := p.Src, p.Dst
	// Multicast (ND, MLD, routing protocols) is for the host.
	if dst[0] == 0xff {
		w.local(f)
		return
	}
	if martian6(&src) {
		w.drop(f, DropBadSource)
		return
	}
	if n := w.env.NAT64; n != nil && in.Role == RoleIPv6 && n.Prefix.Contains(&dst) {
		w.nat64Out(f, in, n, data)
		return
	}
	// Tenants' tunnels over an IPv6 underlay end at the port's address.
	if gw := w.env.Gateway; gw != nil && in.Role == RoleOverlay && p.Proto == packet.ProtoGRE && in.HasAddr6 && dst == in.Addr6 {
		w.decap(f, in, gw, data)
		return
	}
	env := w.env
	nh, ok := w.lookup6(in.VRF, dst)
	if !ok {
		w.icmp6Error(f, in, packet.ICMPv6DestUnreachable, 0, 0, DropNoRoute, EventICMPUnreachable)
		return
	}
	if nh.Local {
		w.local(f)
		return
	}
	if nh.Blackhole {
		w.drop(f, DropBlackhole)
		return
	}
	if int(nh.Port) >= len(env.Ports) {
		w.drop(f, DropUnknownPort)
		return
	}
	if nh.HasEncap {
		w.drop(f, DropEncapUnsupported)
		return
	}
	if ip.HopLimit() <= 1 {
		w.icmp6Error(f, in, packet.ICMPv6TimeExceeded, 0, 0, DropTTLExceeded, EventICMPTimeExceeded)
		return
	}
	out := &env.Ports[nh.Port]
	if p.L3Len > int(out.MTU) {
		// RFC 8200 section 5: routers never fragment IPv6.
		w.icmp6Error(f, in, packet.ICMPv6PacketTooBig, 0, uint32(out.MTU), DropMTUExceeded, EventICMPFragNeeded)
		return
	}
	mac, ok := w.neighbor6(nh, dst)
	if !ok {
		w.drop(f, DropNoNeighbor)
		return
	}
	ip.SetHopLimit(ip.HopLimit() - 1)
	w.output(f, out, nh.Port, mac, packet.EtherTypeIPv6)
}

// output rewrites the Ethernet header for the next hop, strips VLAN tags
// (ports are untagged) and Ethernet padding, and sends the frame on port.
func (w *Worker) output(f *Frame, out *PortInfo, port uint16, mac [6]byte, etherType uint16) {
	p := &w.p
	// Move the start so that a 14-byte header ends right before the L3
	// header: this drops VLAN tags, and the outer headers of a
	// decapsulated packet. The MACs are rewritten below anyway.
	f.Off += p.L3Off - packet.EthernetSize
	if p.VLANs > 0 {
		w.stats.Events[EventVLANStripped]++
	}
	f.Len = packet.EthernetSize + p.L3Len
	if f.Len < minFrame {
		pad(f)
	}
	// The header through an array view: one bounds check, where f.Data()
	// and the setters checked four times. (The bounded slice spares the
	// masking of a pointer that might point past the end.)
	eth := (*[packet.EthernetSize]byte)(f.Buf[f.Off : f.Off+packet.EthernetSize])
	packet.Ethernet(eth[:]).SetAddrs((*packet.MAC)(&mac), (*packet.MAC)(&out.MAC))
	binary.BigEndian.PutUint16(eth[12:], etherType)
	w.tx(f, port)
}

// martian4 reports source addresses a router must not forward from
// (RFC 1812 5.3.7): 0/8, 127/8, multicast, class E and broadcast.
func martian4(a [4]byte) bool { return martian4Top(a[0]) }

// martian4Top is martian4 given the address's first byte, all it needs.
func martian4Top(b byte) bool { return b == 0 || b == 127 || b >= 224 }

// martian6 reports IPv6 sources that must not be forwarded (RFC 4291):
// unspecified, loopback and multicast.
func martian6(a *[16]byte) bool {
	if a[0] == 0xff {
		return true
	}
	for i := 0; i < 15; i++ {
		if a[i] != 0 {
			return false
		}
	}
	return a[15] <= 1
}

// minFrame is the shortest Ethernet frame without FCS (IEEE 802.3).
const minFrame = 60

// pad zero-fills a short frame up to the Ethernet minimum: the input's
// padding was cut with its VLAN tag or by a rewrite, and some receivers
// drop runts.
func pad(f *Frame) {
	if f.Len >= minFrame || f.Off+minFrame > len(f.Buf) {
		return
	}
	clear(f.Buf[f.Off+f.Len : f.Off+minFrame])
	f.Len = minFrame
}

// lookup4 looks dst up in VRF vrf and follows one route-leaking step
// (HasNextVRF) into another VRF; a second leak is not followed (config
// validation refuses chains, this keeps a bad table from looping).
func (w *Worker) lookup4(vrf uint16, dst [4]byte) (*fib.NextHop, bool) {
	vrfs := w.env.VRFs
	nh, ok := vrfs[vrf].Table().Lookup4(dst)
	if ok && nh.HasNextVRF {
		if int(nh.NextVRF) >= len(vrfs) {
			return nil, false
		}
		nh, ok = vrfs[nh.NextVRF].Table().Lookup4(dst)
		if ok && nh.HasNextVRF {
			return nil, false
		}
	}
	return nh, ok
}

// lookup6 is lookup4 for IPv6.
func (w *Worker) lookup6(vrf uint16, dst [16]byte) (*fib.NextHop, bool) {
	vrfs := w.env.VRFs
	nh, ok := vrfs[vrf].Table().Lookup6(dst)
	if ok && nh.HasNextVRF {
		if int(nh.NextVRF) >= len(vrfs) {
			return nil, false
		}
		nh, ok = vrfs[nh.NextVRF].Table().Lookup6(dst)
		if ok && nh.HasNextVRF {
			return nil, false
		}
	}
	return nh, ok
}

// as4 is netip.Addr.As4 that cannot panic: an address of the wrong family
// (a table the control plane got wrong) reads as 0.0.0.0, which no
// neighbour or route matches.
func as4(a netip.Addr) [4]byte {
	if a.Is4() {
		return a.As4()
	}
	return [4]byte{}
}

// as16 is netip.Addr.As16 for IPv6 addresses only (see as4).
func as16(a netip.Addr) [16]byte {
	if a.Is6() {
		return a.As16()
	}
	return [16]byte{}
}

// neighbor4 is the MAC of the next hop towards dst through nh: its Via, or
// dst itself on a connected route.
func (w *Worker) neighbor4(nh *fib.NextHop, dst [4]byte) ([6]byte, bool) {
	if nh.Via.IsValid() {
		dst = as4(nh.Via)
	}
	m := &w.nmemo[nh.Port%MaxPorts]
	if m.t == w.neigh && m.port == nh.Port && m.v4 && [4]byte(m.addr[:4]) == dst {
		return m.mac, true
	}
	mac, ok := w.neigh.Lookup4(nh.Port, dst)
	if ok {
		m.t, m.port, m.v4, m.mac = w.neigh, nh.Port, true, mac
		m.addr = [16]byte{}
		copy(m.addr[:4], dst[:])
	}
	return mac, ok
}

// neighbor6 is neighbor4 for IPv6.
func (w *Worker) neighbor6(nh *fib.NextHop, dst [16]byte) ([6]byte, bool) {
	if nh.Via.IsValid() {
		dst = as16(nh.Via)
	}
	m := &w.nmemo[nh.Port%MaxPorts]
	if m.t == w.neigh && m.port == nh.Port && !m.v4 && m.addr == dst {
		return m.mac, true
	}
	mac, ok := w.neigh.Lookup6(nh.Port, dst)
	if ok {
		m.t, m.port, m.v4, m.mac, m.addr = w.neigh, nh.Port, false, mac, dst
	}
	return mac, ok
}

// neighMemo is the last neighbour a worker found on a port. Most of a
// port's traffic goes to one next hop (the upstream router), so a hit
// saves the neighbour table's hash and probe. It is used only with the
// table it came from: tables are immutable and replaced on change, so a
// neighbour change applies to the next packet as before.
type neighMemo struct {
	t    *neigh.Table
	addr [16]byte
	port uint16
	v4   bool
	mac  [6]byte
}

// neighRelease empties port i's neighbour memo if the table it came from
// has been replaced, so that an idle port does not keep that table alive
// (as routeRelease does for the route memos). Once per batch, from
// routeRelease: a replaced table is let go within MaxPorts batches.
func (w *Worker) neighRelease(i uint32) {
	if m := &w.nmemo[i%MaxPorts]; m.t != w.neigh {
		*m = neighMemo{}
	}
}

// resolve4 finds the output port and next-hop MAC for dst in vrf through a
// plain route: a local, blackhole, encapsulating or unknown-port route is
// DropNoRoute, a missing neighbour DropNoNeighbor; DropNone is success.
func (w *Worker) resolve4(vrf uint16, dst [4]byte) (port uint16, mac [6]byte, why DropReason) {
	nh, ok := w.lookup4(vrf, dst)
	if !ok || nh.Local || nh.Blackhole || nh.HasEncap || int(nh.Port) >= len(w.env.Ports) {
		return 0, mac, DropNoRoute
	}
	if mac, ok = w.neighbor4(nh, dst); !ok {
		return 0, mac, DropNoNeighbor
	}
	return nh.Port, mac, DropNone
}

// resolve6 is resolve4 for IPv6.
func (w *Worker) resolve6(vrf uint16, dst [16]byte) (port uint16, mac [6]byte, why DropReason) {
	nh, ok := w.lookup6(vrf, dst)
	if !ok || nh.Local || nh.Blackhole || nh.HasEncap || int(nh.Port) >= len(w.env.Ports) {
		return 0, mac, DropNoRoute
	}
	if mac, ok = w.neighbor6(nh, dst); !ok {
		return 0, mac, DropNoNeighbor
	}
	return nh.Port, mac, DropNone
}
