package pipeline

import (
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

// ICMP errors are built in place: the offending packet is moved behind a
// new IP + ICMP header inside the same buffer (its tailroom), so sending an
// error allocates nothing and needs no second buffer.

const (
	// RFC 1812 4.3.2.3: the error holds as much of the original datagram
	// as fits in 576 bytes.
	icmp4MaxLen = 576
	// RFC 4443 2.4(c): as much as fits in the IPv6 minimum MTU.
	icmp6MaxLen = 1280
)

// icmp4Error turns f into an ICMP error about it and sends it back towards
// the source, or drops f with reason when no error may or can be sent.
// reason is counted in both cases (the original packet was not forwarded);
// ev is counted when the error is sent.
func (w *Worker) icmp4Error(f *Frame, in *PortInfo, typ, code uint8, mtu uint16, reason DropReason, ev Event) {
	p := &w.p
	// RFC 1812 4.3.2.7: no error about an ICMP error, a non-initial
	// fragment, or a packet from an address that is not one host.
	if p.Proto == packet.ProtoICMP && (p.L4Off == 0 || packet.ICMPv4IsError(p.ICMPType)) {
		w.drop(f, reason)
		return
	}
	if p.FragOff != 0 {
		w.drop(f, reason)
		return
	}
	src := p.Src4()
	if martian4(src) {
		w.drop(f, reason)
		return
	}
	env := w.env
	port, mac, why := w.resolve4(in.VRF, src)
	if why != DropNone {
		w.drop(f, reason)
		w.stats.Events[EventICMPUnroutable]++
		return
	}
	out := &env.Ports[port]
	// RFC 1812 4.3.2.4: the source is an address of the interface the
	// error leaves by; fall back to the one the packet came in on.
	var from [4]byte
	switch {
	case out.HasAddr4:
		from = out.Addr4
	case in.HasAddr4:
		from = in.Addr4
	default:
		w.drop(f, reason)
		w.stats.Events[EventICMPNoSource]++
		return
	}
	if !w.icmp.take(w.now, env.ICMPRate, env.ICMPBurst) {
		w.drop(f, reason)
		w.stats.Events[EventICMPRateLimited]++
		return
	}
	// The original packet is dropped (counted under reason); the error is
	// a new packet (counted as an event and as a transmitted frame).
	w.stats.Drops[reason]++

	// Layout: [eth 14][ip 20][icmp 8][quoted original datagram]. The
	// second ICMP word is the next-hop MTU for Fragmentation Needed
	// (RFC 1191) and zero otherwise.
	start := f.Off + p.L3Off - packet.EthernetSize // drop any VLAN tags
	n := w.icmpInPlace4(f, from, typ, code, uint32(mtu))
	if n == 0 {
		// No room for the error's headers (a buffer without tailroom):
		// the packet stays dropped, counted under reason already.
		f.Verdict, f.Drop = VerdictDrop, reason
		w.stats.Events[EventICMPUnroutable]++
		return
	}
	f.Off = start
	f.Len = packet.EthernetSize + n
	pad(f)
	eth := packet.Ethernet(f.Data())
	eth.SetAddrs((*packet.MAC)(&mac), (*packet.MAC)(&out.MAC))
	eth.SetEtherType(packet.EtherTypeIPv4)
	w.stats.Events[ev]++
	w.tx(f, port)
}

// icmp6Error is icmp4Error for IPv6 (RFC 4443). param is the MTU of a
// Packet Too Big or the pointer of a Parameter Problem.
func (w *Worker) icmp6Error(f *Frame, in *PortInfo, typ, code uint8, param uint32, reason DropReason, ev Event) {
	p := &w.p
	// RFC 4443 2.4(e): no error about an ICMPv6 error, or about a packet
	// to a multicast address (except Packet Too Big), or from an address
	// that is not one host.
	if p.Proto == packet.ProtoICMPv6 && (p.L4Off == 0 || packet.ICMPv6IsError(p.ICMPType)) {
		w.drop(f, reason)
		return
	}
	src := p.Src
	if martian6(&src) || (p.Dst[0] == 0xff && typ != packet.ICMPv6PacketTooBig) {
		w.drop(f, reason)
		return
	}
	env := w.env
	port, mac, why := w.resolve6(in.VRF, src)
	if why != DropNone {
		w.drop(f, reason)
		w.stats.Events[EventICMPUnroutable]++
		return
	}
	out := &env.Ports[port]
	var from [16]byte
	switch {
	case out.HasAddr6:
		from = out.Addr6
	case in.HasAddr6:
		from = in.Addr6
	default:
		w.drop(f, reason)
		w.stats.Events[EventICMPNoSource]++
		return
	}
	if !w.icmp.take(w.now, env.ICMPRate, env.ICMPBurst) {
		w.drop(f, reason)
		w.stats.Events[EventICMPRateLimited]++
		return
	}
	// The original packet is dropped (counted under reason); the error is
	// a new packet (counted as an event and as a transmitted frame).
	w.stats.Drops[reason]++

	const hdr = packet.IPv6Size + packet.ICMPv6MinSize
	start := f.Off + p.L3Off - packet.EthernetSize
	l3 := start + packet.EthernetSize
	quoted, ok := quoteInPlace(f, l3, p.L3Len, hdr, icmp6MaxLen)
	if !ok {
		// No room for the error's headers (a buffer without tailroom):
		// the packet stays dropped, counted under reason already.
		f.Verdict, f.Drop = VerdictDrop, reason
		w.stats.Events[EventICMPUnroutable]++
		return
	}

	ip := packet.IPv6(f.Buf[l3 : l3+packet.IPv6Size])
	packet.EncodeIPv6(ip, packet.IPv6Fields{
		PayloadLength: uint16(packet.ICMPv6MinSize + quoted),
		NextHeader:    packet.ProtoICMPv6,
		HopLimit:      64,
		Src:           from,
		Dst:           src,
	})
	ic := packet.ICMPv6(f.Buf[l3+packet.IPv6Size : l3+hdr+quoted])
	clear(ic[:packet.ICMPv6MinSize])
	ic.SetType(typ)
	ic.SetCode(code)
	if typ == packet.ICMPv6PacketTooBig || typ == packet.ICMPv6ParamProblem {
		ic[4], ic[5], ic[6], ic[7] = byte(param>>24), byte(param>>16), byte(param>>8), byte(param)
	}
	sum := checksum.PseudoHeaderV6(from, src, packet.ProtoICMPv6, uint32(len(ic)))
	ic.SetChecksum(^checksum.Checksum(ic, sum))

	f.Off = start
	f.Len = packet.EthernetSize + hdr + quoted
	pad(f)
	eth := packet.Ethernet(f.Data())
	eth.SetAddrs((*packet.MAC)(&mac), (*packet.MAC)(&out.MAC))
	eth.SetEtherType(packet.EtherTypeIPv6)
	w.stats.Events[ev]++
	w.tx(f, port)
}

// tokenBucket limits the ICMP errors of one worker. It is owned by the
// worker: no atomics needed.
type tokenBucket struct {
	tokens uint64 // in millitokens
	last   int64  // ns
}

func (b *tokenBucket) take(now int64, rate, burst uint32) bool {
	if rate == 0 {
		return false
	}
	max := uint64(burst) * 1000
	if max == 0 {
		max = 1000
	}
	if b.last == 0 {
		b.tokens = max
	} else if el := now - b.last; el > 0 {
		// rate tokens/s = rate millitokens/ms. Beyond the time that fills
		// the bucket, elapsed time adds nothing: cap it (no overflow).
		if full := int64(max*1e6/uint64(rate)) + 1; el > full {
			el = full
		}
		b.tokens += uint64(el) * uint64(rate) / 1e6
		if b.tokens > max {
			b.tokens = max
		}
	}
	if now > b.last {
		b.last = now
	}
	if b.tokens < 1000 {
		return false
	}
	b.tokens -= 1000
	return true
}
