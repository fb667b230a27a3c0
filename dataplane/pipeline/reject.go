package pipeline

import (
	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

// A firewall rule with action reject drops the packet and answers it, so
// that the sender learns at once instead of timing out: a TCP RST for TCP
// (RFC 9293 3.10.7.1, "if the connection does not exist"), an ICMP
// destination unreachable, administratively prohibited (RFC 1812
// 5.2.7.1), otherwise. The answer comes from the address the packet was
// sent to and goes back the way the packet came.

// rejectAnswer4 rewrites the IPv4 packet at p.L3Off into its reject
// answer, in place, and returns the answer's length; 0 means no answer may
// be sent (to a RST, an ICMP error, a non-initial fragment, or over the
// rate limit).
func (w *Worker) rejectAnswer4(f *Frame) int {
	p := &w.p
	if p.L4Off == 0 || p.FragOff != 0 {
		return 0
	}
	if p.Proto == packet.ProtoICMP && packet.ICMPv4IsError(p.ICMPType) {
		return 0
	}
	if p.Proto == packet.ProtoTCP && p.TCPFlags&packet.TCPFlagRST != 0 {
		return 0
	}
	if !w.icmp.take(w.now, w.env.ICMPRate, w.env.ICMPBurst) {
		w.stats.Events[EventICMPRateLimited]++
		return 0
	}
	l3 := f.Off + p.L3Off
	src, dst := p.Src4(), p.Dst4()
	if p.Proto == packet.ProtoTCP {
		tcp := packet.TCP(f.Buf[f.Off+p.L4Off:])
		seq, ack, flags := tcp.Seq(), tcp.Ack(), p.TCPFlags
		sport, dport := p.SrcPort, p.DstPort
		segLen := uint32(p.L3Off + p.L3Len - p.L4Off - tcp.DataOffset())
		if flags&packet.TCPFlagSYN != 0 {
			segLen++
		}
		if flags&packet.TCPFlagFIN != 0 {
			segLen++
		}
		const n = packet.IPv4MinSize + packet.TCPMinSize
		if l3+n > len(f.Buf) {
			return 0
		}
		b := f.Buf[l3 : l3+n]
		w.ipID++
		packet.EncodeIPv4(b, packet.IPv4Fields{TotalLength: n, ID: w.ipID, TTL: 64, Protocol: packet.ProtoTCP, Src: dst, Dst: src})
		fields := packet.TCPFields{SrcPort: dport, DstPort: sport, Flags: packet.TCPFlagRST}
		if flags&packet.TCPFlagACK != 0 {
			fields.Seq = ack
		} else {
			fields.Ack = seq + segLen
			fields.Flags |= packet.TCPFlagACK
		}
		t := packet.TCP(b[packet.IPv4MinSize:])
		packet.EncodeTCP(t, fields)
		t.SetChecksum(^checksum.Checksum(t, checksum.PseudoHeaderV4(dst, src, packet.ProtoTCP, packet.TCPMinSize)))
		w.stats.Events[EventRejectRST]++
		return n
	}
	n := w.icmpInPlace4(f, dst, packet.ICMPv4DestUnreachable, packet.ICMPv4AdminProhibited, 0)
	if n > 0 {
		w.stats.Events[EventRejectICMP]++
	}
	return n
}

// quoteInPlace moves the l3Len-byte datagram at Buf[l3:] back by hdr bytes
// to make room for an error's headers in front of it, keeping as much of
// it as fits in limit bytes in all (RFC 1812 4.3.2.3: 576; RFC 4443: 1280)
// and in the buffer's tailroom. It returns the bytes quoted; false when
// not even the headers fit.
func quoteInPlace(f *Frame, l3, l3Len, hdr, limit int) (int, bool) {
	if len(f.Buf)-l3 < hdr {
		return 0, false
	}
	quoted := min(l3Len, limit-hdr, len(f.Buf)-(l3+hdr))
	copy(f.Buf[l3+hdr:l3+hdr+quoted], f.Buf[l3:l3+quoted])
	return quoted, true
}

// icmpInPlace4 rewrites the IPv4 packet at p.L3Off into an ICMP error of
// typ/code (second header word rest) about it, from 'from' to its source,
// quoting as much as fits in 576 bytes (RFC 1812 4.3.2.3), and returns the
// error's IP length (0: no room). The caller has checked that an error may
// be sent. It serves ICMP errors, reject answers and errors into tunnels.
func (w *Worker) icmpInPlace4(f *Frame, from [4]byte, typ, code uint8, rest uint32) int {
	p := &w.p
	l3 := f.Off + p.L3Off
	src := p.Src4()
	const hdr = packet.IPv4MinSize + packet.ICMPv4MinSize
	quoted, ok := quoteInPlace(f, l3, p.L3Len, hdr, icmp4MaxLen)
	if !ok {
		return 0
	}
	w.ipID++
	packet.EncodeIPv4(f.Buf[l3:], packet.IPv4Fields{TOS: 0xc0, TotalLength: uint16(hdr + quoted), ID: w.ipID, TTL: 64, Protocol: packet.ProtoICMP, Src: from, Dst: src})
	ic := packet.ICMPv4(f.Buf[l3+packet.IPv4MinSize : l3+hdr+quoted])
	packet.EncodeICMPv4(ic, typ, code, rest)
	ic.SetChecksum(^checksum.Checksum(ic, 0))
	return hdr + quoted
}

// tunnelICMPError answers a tenant's packet that the gateway cannot send
// on (its TTL ran out: traceroute from a tenant's host; or it is a DF
// packet too big for the Internet port: path MTU discovery) with an ICMP
// error of typ/code (second header word rest) from the gateway's overlay
// address, back through the tunnel and key it came by; ev counts it sent.
func (w *Worker) tunnelICMPError(f *Frame, t *Tenant, typ, code uint8, rest uint32, ev Event) {
	p := &w.p
	// RFC 1812 4.3.2.7: not about an ICMP error or a non-initial fragment.
	if !t.HasAddr4 || p.L4Off == 0 || p.FragOff != 0 || (p.Proto == packet.ProtoICMP && packet.ICMPv4IsError(p.ICMPType)) {
		return
	}
	if !w.icmp.take(w.now, w.env.ICMPRate, w.env.ICMPBurst) {
		w.stats.Events[EventICMPRateLimited]++
		return
	}
	n := w.icmpInPlace4(f, t.Addr4, typ, code, rest)
	if n == 0 {
		return
	}
	w.tunnelAnswer(f, n)
	w.stats.Events[ev]++
}

// rejectIngress answers a packet from the Internet that the tenant's
// ingress rules reject, from the EIP it was sent to, back out of the port
// it came in on.
func (w *Worker) rejectIngress(f *Frame, in *PortInfo) {
	p := &w.p
	client := p.Src4()
	n := w.rejectAnswer4(f)
	if n == 0 {
		return
	}
	port, mac, why := w.resolve4(in.VRF, client)
	if why != DropNone {
		w.stats.Events[EventICMPUnroutable]++
		return
	}
	out := &w.env.Ports[port]
	f.Off += p.L3Off - packet.EthernetSize
	f.Len = packet.EthernetSize + n
	pad(f)
	eth := packet.Ethernet(f.Data())
	eth.SetAddrs((*packet.MAC)(&mac), (*packet.MAC)(&out.MAC))
	eth.SetEtherType(packet.EtherTypeIPv4)
	f.Verdict = VerdictTx // the original stays counted as a firewall drop
	f.OutPort = port
}

// rejectEgress answers a packet from a tenant host that its egress rules
// reject, from the address it was sent to, back through the tunnel it
// came by (same key).
func (w *Worker) rejectEgress(f *Frame) {
	p := &w.p
	if p.EtherType != packet.EtherTypeIPv4 {
		return
	}
	n := w.rejectAnswer4(f)
	if n == 0 {
		return
	}
	w.tunnelAnswer(f, n)
}

// tunnelAnswer sends the n-byte answer built in place of the inner packet
// back through its tunnel: outer lengths fixed, inner Ethernet (GRE
// 0x6558) turned around, outer headers reversed, same GRE key.
func (w *Worker) tunnelAnswer(f *Frame, n int) {
	p := &w.p
	tun := &w.tun
	data := f.Data()
	total := p.L3Off + n - tun.outerOff
	if tun.v6 {
		packet.IPv6(data[tun.outerOff:]).SetPayloadLength(uint16(total - packet.IPv6Size))
	} else {
		packet.IPv4(data[tun.outerOff:]).SetTotalLength(uint16(total))
	}
	f.Len = p.L3Off + n
	pad(f)
	f.Verdict = VerdictTx
	w.turnInnerEth(f)
	w.tunnelReplyPrepared(f)
}
