package pipeline

import (
	"encoding/binary"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
	"xdpgw/dataplane/session"
)

// ICMP errors through the gateway's 1:1 NAT. An error quotes the datagram
// that caused it (RFC 792: its IP header and at least 8 bytes of payload),
// and that datagram carries the address the far side saw: an error from the
// Internet about a tenant's packet quotes the EIP as its source, an error
// from a tenant host about a client's packet quotes the private address as
// its destination. Rewriting only the outer header, as for any packet,
// would hand the host (or the client) an error about a datagram it never
// sent, which it ignores: path MTU discovery through the gateway would
// black-hole. So the quoted address is rewritten too, with the quoted
// header's checksum, the quoted TCP/UDP checksum when it was quoted, and
// the ICMP checksum.
//
// An error that quotes a packet of an established flow is related to it
// and passes, like the flow's own packets, without the rules (stateful:
// conntrack calls it RELATED); other errors are judged by the rules like
// any packet. A quote that cannot be about this EIP (too short, not IPv4,
// another address) is dropped: the gateway never sent that datagram.

// quote4 is the datagram an ICMPv4 error quotes.
type quote4 struct {
	ip       int // offset of the quoted IPv4 header in the frame
	l4       int // offset of its transport header; 0 if not quoted (non-first fragment)
	end      int // end of the quote (of the ICMP message)
	proto    uint8
	src, dst [4]byte
	// sport and dport are the quoted ports; for a quoted ICMP echo the
	// identifier is in sport (how echo flows are keyed).
	sport, dport uint16
	ports        bool // the ports were quoted (TCP/UDP, or an echo's identifier)
}

// parseQuote4 reads the datagram quoted by the ICMPv4 error described by p.
func parseQuote4(data []byte, p *packet.Parsed) (q quote4, ok bool) {
	q.ip = p.L4Off + packet.ICMPv4MinSize
	q.end = p.L3Off + p.L3Len
	if q.end > len(data) || q.ip+packet.IPv4MinSize > q.end {
		return q, false
	}
	ip := packet.IPv4(data[q.ip:q.end])
	hl := ip.HeaderLength()
	if ip.Version() != 4 || hl < packet.IPv4MinSize || q.ip+hl > q.end {
		return q, false
	}
	q.proto, q.src, q.dst = ip.Protocol(), ip.Src(), ip.Dst()
	if ip.FragmentOffset() != 0 {
		return q, true // a later fragment: no ports to match
	}
	l4 := q.ip + hl
	switch q.proto {
	case packet.ProtoTCP, packet.ProtoUDP:
		if l4+4 <= q.end {
			q.l4, q.ports = l4, true
			q.sport = binary.BigEndian.Uint16(data[l4:])
			q.dport = binary.BigEndian.Uint16(data[l4+2:])
		}
	case packet.ProtoICMP:
		if l4+8 <= q.end {
			q.l4 = l4
			if t := data[l4]; t == packet.ICMPv4Echo || t == packet.ICMPv4EchoReply {
				q.ports = true
				q.sport = binary.BigEndian.Uint16(data[l4+4:])
			}
		}
	}
	return q, true
}

// relatedFlow reports whether the quoted datagram belongs to a flow of
// EIP ei that the gateway holds: the quote is a packet of the flow as it
// left, so its reverse is the tuple of the flow's packets arriving in
// zone (the side the error arrives from).
func (w *Worker) relatedFlow(q *quote4, zone uint16, ei int) bool {
	if w.sw == nil || !q.ports {
		return false
	}
	k := &w.key
	*k = session.Key{}
	k.Family = session.FamilyIPv4
	k.Proto = q.proto
	k.Zone = zone
	copy(k.Src[:4], q.dst[:])
	copy(k.Dst[:4], q.src[:])
	if q.proto == packet.ProtoICMP {
		k.SrcPort = q.sport
	} else {
		k.SrcPort, k.DstPort = q.dport, q.sport
	}
	e := &w.ent
	if !w.sw.Lookup(k, e) || w.sw.Table().Expired(e, w.now) {
		return false
	}
	// An error does not refresh the flow: only its own packets do.
	return e.Value[flowGen] == w.env.gen && int(e.Value[flowEIP]) == ei
}

// natQuote4 rewrites the quoted source (src) or destination address to
// to, fixes the quoted IPv4 and TCP/UDP checksums incrementally where
// they were quoted, and recomputes the ICMP checksum over the message.
func natQuote4(data []byte, p *packet.Parsed, q *quote4, src bool, to [4]byte) {
	old := setAddr4(packet.IPv4(data[q.ip:q.end]), src, to)
	if q.l4 != 0 {
		// The quoted checksum is fixed only if the quote holds it; a
		// quoted UDP checksum of zero means "none" and stays zero.
		switch q.proto {
		case packet.ProtoTCP:
			if q.l4+18 <= q.end {
				c := data[q.l4+16 : q.l4+18]
				binary.BigEndian.PutUint16(c, checksum.Update32(binary.BigEndian.Uint16(c), old, to))
			}
		case packet.ProtoUDP:
			if q.l4+8 <= q.end {
				c := data[q.l4+6 : q.l4+8]
				binary.BigEndian.PutUint16(c, udpChecksumUpdate32(binary.BigEndian.Uint16(c), old, to))
			}
		}
	}
	ic := packet.ICMPv4(data[p.L4Off:q.end])
	ic.SetChecksum(0)
	ic.SetChecksum(^checksum.Checksum(ic, 0))
}
