package firewall

import (
	"net/netip"
	"strconv"
)

// Action is the verdict of a rule or of a rule set's default policy.
type Action uint8

// The actions. ActionReject drops the packet and answers it (TCP RST or
// ICMP unreachable); building the answer is the pipeline's job.
const (
	ActionAccept Action = iota
	ActionDrop
	ActionReject
)

// String returns the action's config spelling ("accept", "drop",
// "reject").
func (a Action) String() string {
	switch a {
	case ActionAccept:
		return "accept"
	case ActionDrop:
		return "drop"
	case ActionReject:
		return "reject"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

func (a Action) valid() bool { return a <= ActionReject }

// Direction says which rule set of a tenant applies to a packet.
type Direction uint8

// The directions (docs/config.md, tenants[].firewall).
const (
	Ingress Direction = iota // towards the tenant (from the Internet, after DNAT)
	Egress                   // from the tenant (before SNAT)
)

// String returns "ingress" or "egress".
func (d Direction) String() string {
	switch d {
	case Ingress:
		return "ingress"
	case Egress:
		return "egress"
	}
	return "direction(" + strconv.Itoa(int(d)) + ")"
}

// Protocol numbers the rule semantics depend on (IANA).
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// PortRange is an inclusive range of ports, Lo <= Hi.
type PortRange struct{ Lo, Hi uint16 }

// Rule is one firewall rule. A rule matches a packet when every condition
// it sets matches; an empty list or a zero mask sets no condition.
//
// Lists are alternatives: the rule matches if one element of the list
// matches. IPv4 prefixes match only IPv4 packets and IPv6 prefixes only
// IPv6 packets, so a rule whose Src (or Dst) holds only IPv4 prefixes never
// matches an IPv6 packet. Ports need Proto TCP or UDP, ICMPTypes need
// Proto ICMP or ICMPv6 and TCP flags need Proto TCP (Compile refuses other
// combinations, as the config validator does).
type Rule struct {
	Name   string // used in counters; not interpreted
	Action Action

	Proto    uint8 // IP protocol number (IPv6: the upper-layer protocol)
	AnyProto bool  // matches every protocol; Proto is ignored

	Src, Dst []netip.Prefix

	SrcPorts, DstPorts []PortRange

	ICMPTypes []uint8

	// The rule matches when Packet.TCPFlags&TCPFlagsMask == TCPFlagsWant;
	// mask 0 sets no condition. "syn,!ack" is want SYN, mask SYN|ACK.
	TCPFlagsWant, TCPFlagsMask uint8
}

// Packet is what the classifier looks at. The pipeline fills it from the
// decoded packet (for ingress, after DNAT). Fields that do not apply to the
// packet's protocol are not looked at by rules that could match it, so
// they may hold anything.
type Packet struct {
	IPv6     bool
	Proto    uint8
	Src, Dst [16]byte // IPv4: the address in the first 4 bytes
	SrcPort  uint16   // TCP and UDP
	DstPort  uint16   // TCP and UDP
	ICMPType uint8    // ICMP and ICMPv6
	TCPFlags uint8    // TCP: the flags byte (FIN 0x01 ... CWR 0x80)
}
