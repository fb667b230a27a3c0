package pipeline

import "sync/atomic"

// Event counts things that happened to frames that were not drops.
type Event uint8

const (
	EventICMPTimeExceeded     Event = iota // ICMP/ICMPv6 time exceeded sent
	EventICMPUnreachable                   // ICMP/ICMPv6 destination unreachable sent
	EventICMPFragNeeded                    // ICMP fragmentation needed / ICMPv6 packet too big sent
	EventICMPParamProblem                  // ICMPv6 parameter problem sent
	EventNAT64Fragmented                   // IPv4 datagrams (DF clear) cut into IPv6 fragments (RFC 7915 4.1)
	EventVLANStripped                      // frames forwarded without their VLAN tags
	EventICMPRateLimited                   // ICMP error not sent: rate limit
	EventICMPNoSource                      // ICMP error not sent: no address to send it from
	EventICMPUnroutable                    // ICMP error not sent: no route or neighbour back to the source
	EventDecap                             // GRE packets decapsulated for a tenant
	EventEncap                             // packets encapsulated into a tenant's tunnel
	EventSNAT                              // tenant packets sent to the Internet from their EIP
	EventDNAT                              // Internet packets to an EIP sent to its private address
	EventTunnelEchoReply                   // ICMP echo replies from the gateway's overlay address
	EventTunnelARPReply                    // ARP replies for the gateway's overlay address
	EventRejectRST                         // TCP RSTs sent for packets a reject rule refused
	EventRejectICMP                        // ICMP administratively prohibited sent for a reject rule
	EventFlowHit                           // packets forwarded from a flow entry (fast path)
	EventFlowCreated                       // flow entries created by the slow path
	EventFlowStale                         // flow entries dropped because the config or the route changed
	EventFlowInsertRace                    // flow entry already created by another worker (or reply tuple taken)
	EventFlowInsertFailed                  // flow entry not created: table full under drop-new
	EventICMPErrorNAT                      // ICMP errors through an EIP whose quoted datagram was rewritten too
	EventICMPRelated                       // of those, errors about a flow's packet: passed without the rules
	EventNAT64Out                          // IPv6 packets translated to IPv4
	EventNAT64In                           // IPv4 packets translated to IPv6
	EventNAT64Hit                          // NAT64 packets of an existing session
	EventNAT64SessionCreated               // NAT64 sessions created
	EventNAT64BIBCreated                   // NAT64 bindings (X',x) <-> (T,t) created
	EventNAT64Hairpin                      // packets from the IPv6 side to the pool, hairpinned (RFC 6146 3.8)
	EventNAT64FragmentTracked              // first fragments whose datagram mapping was kept for the later fragments
	EventNAT64StaleSession                 // sessions removed that outlived their binding (evicted), holding a new binding's reply tuple

	NumEvents
)

var eventNames = [NumEvents]string{
	EventICMPTimeExceeded:     "icmp_time_exceeded_sent",
	EventICMPUnreachable:      "icmp_unreachable_sent",
	EventICMPFragNeeded:       "icmp_frag_needed_sent",
	EventICMPParamProblem:     "icmp_param_problem_sent",
	EventNAT64Fragmented:      "nat64_fragmented",
	EventVLANStripped:         "vlan_stripped",
	EventICMPRateLimited:      "icmp_error_rate_limited",
	EventICMPNoSource:         "icmp_error_no_source",
	EventICMPUnroutable:       "icmp_error_unroutable",
	EventDecap:                "gre_decap",
	EventEncap:                "gre_encap",
	EventSNAT:                 "snat",
	EventDNAT:                 "dnat",
	EventTunnelEchoReply:      "tunnel_echo_reply",
	EventTunnelARPReply:       "tunnel_arp_reply",
	EventRejectRST:            "reject_rst_sent",
	EventRejectICMP:           "reject_icmp_sent",
	EventFlowHit:              "flow_hit",
	EventFlowCreated:          "flow_created",
	EventFlowStale:            "flow_stale",
	EventFlowInsertRace:       "flow_insert_race",
	EventFlowInsertFailed:     "flow_insert_failed",
	EventICMPErrorNAT:         "icmp_error_nat",
	EventICMPRelated:          "icmp_error_related",
	EventNAT64Out:             "nat64_out",
	EventNAT64In:              "nat64_in",
	EventNAT64Hit:             "nat64_session_hit",
	EventNAT64SessionCreated:  "nat64_session_created",
	EventNAT64BIBCreated:      "nat64_bib_created",
	EventNAT64Hairpin:         "nat64_hairpin",
	EventNAT64FragmentTracked: "nat64_fragment_tracked",
	EventNAT64StaleSession:    "nat64_stale_session_removed",
}

func (e Event) String() string {
	if e < NumEvents {
		return eventNames[e]
	}
	return "unknown"
}

// Stats are a worker's counters. The worker is the only writer; it counts
// in a private copy and adds the batch's increments to its published copy
// with atomic adds once per batch, so readers (metrics, `xdpgw ctl`) sum
// the published copies of all workers without ever contending with a
// packet.
type Stats struct {
	Drops    [NumDropReasons]uint64
	Events   [NumEvents]uint64
	RxFrames [MaxPorts]uint64 // by input port
	TxFrames [MaxPorts]uint64 // by output port
	Local    [MaxPorts]uint64 // frames for the host, by input port
}

// flushInto adds s to dst atomically and zeroes s.
func (s *Stats) flushInto(dst *Stats) {
	flush(s.Drops[:], dst.Drops[:])
	flush(s.Events[:], dst.Events[:])
	flush(s.RxFrames[:], dst.RxFrames[:])
	flush(s.TxFrames[:], dst.TxFrames[:])
	flush(s.Local[:], dst.Local[:])
}

func flush(src, dst []uint64) {
	// Most counters stay zero in a batch: skip them eight at a time
	// (through array pointers, so without a bounds check per counter).
	dst = dst[:len(src)]
	i := 0
	for ; i+8 <= len(src); i += 8 {
		c := (*[8]uint64)(src[i : i+8])
		if c[0]|c[1]|c[2]|c[3]|c[4]|c[5]|c[6]|c[7] != 0 {
			flushEach(c[:], dst[i:i+8])
		}
	}
	flushEach(src[i:], dst[i:])
}

func flushEach(src, dst []uint64) {
	for i, v := range src {
		if v != 0 {
			atomic.AddUint64(&dst[i], v)
			src[i] = 0
		}
	}
}

// loadFrom reads src atomically and adds it to s.
func (s *Stats) addFrom(src *Stats) {
	load(s.Drops[:], src.Drops[:])
	load(s.Events[:], src.Events[:])
	load(s.RxFrames[:], src.RxFrames[:])
	load(s.TxFrames[:], src.TxFrames[:])
	load(s.Local[:], src.Local[:])
}

func load(dst, src []uint64) {
	for i := range src {
		dst[i] += atomic.LoadUint64(&src[i])
	}
}

// TotalDrops is the sum of all drop reasons.
func (s Stats) TotalDrops() uint64 {
	var n uint64
	for _, v := range s.Drops {
		n += v
	}
	return n
}
