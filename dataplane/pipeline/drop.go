package pipeline

import "xdpgw/dataplane/packet"

// DropReason names why a frame was not forwarded. Every value has one row in
// dropTable: its metric name and what it means to an operator. Add a reason
// by adding a constant and its row; TestDropTableComplete checks that the two
// stay in step.
type DropReason uint8

const (
	DropNone DropReason = iota
	// Malformed input (decoder verdicts).
	DropTruncatedL2
	DropBadVLAN
	DropTruncatedL3
	DropBadIPVersion
	DropBadIPHeaderLen
	DropBadIPLength
	DropBadIPChecksum
	DropExtHeaderLimit
	DropBadExtHeader
	DropTruncatedL4
	DropBadTCPHeader
	DropBadUDPLength
	DropBadGRE
	DropBadARP
	DropOversizeFrame
	// Policy and forwarding.
	DropOtherHost
	DropUnsupportedEtherType
	DropBadSource
	DropNoRoute
	DropBlackhole
	DropNoNeighbor
	DropTTLExceeded
	DropMTUExceeded
	DropFragmentationNeeded
	DropUnknownPort
	DropEncapUnsupported
	DropTxFull
	// Gateway.
	DropGREFragment
	DropBadGREChecksum
	DropGRENoKey
	DropGREUnknownKey
	DropGREProto
	DropTenantLocal
	DropTenantIsolation
	DropNoEIP
	DropFirewallIngress
	DropFirewallEgress
	DropNoTunnelSource
	DropNoTunnelRoute
	DropNoHeadroom
	DropICMPBadQuote
	// NAT64.
	DropSYNLimit
	DropNAT64NoSession
	DropNAT64PoolExhausted
	DropNAT64Fragment
	DropNAT64Untranslatable
	DropNAT64NonGlobal
	DropSessionTableFull
	// Access tier.
	DropAccessUnknownEIP
	DropAccessNoNexthop
	DropAccessNoPoolRoute

	NumDropReasons
)

type dropInfo struct {
	name string
	help string
}

var dropTable = [NumDropReasons]dropInfo{
	DropNone:                 {"none", "not dropped"},
	DropTruncatedL2:          {"truncated_l2", "frame shorter than an Ethernet header"},
	DropBadVLAN:              {"bad_vlan", "truncated or over-stacked 802.1Q/802.1ad tags"},
	DropTruncatedL3:          {"truncated_l3", "frame too short for its IP or ARP header"},
	DropBadIPVersion:         {"bad_ip_version", "IP version field does not match the EtherType"},
	DropBadIPHeaderLen:       {"bad_ip_header_len", "IPv4 IHL below 5 or beyond the frame"},
	DropBadIPLength:          {"bad_ip_length", "IP total/payload length inconsistent with the frame"},
	DropBadIPChecksum:        {"bad_ip_checksum", "IPv4 header checksum wrong (RFC 1812 5.2.2)"},
	DropExtHeaderLimit:       {"ext_header_limit", "more IPv6 extension headers than the walk allows"},
	DropBadExtHeader:         {"bad_ext_header", "malformed or misplaced IPv6 extension header"},
	DropTruncatedL4:          {"truncated_l4", "transport header cut short"},
	DropBadTCPHeader:         {"bad_tcp_header", "TCP data offset invalid"},
	DropBadUDPLength:         {"bad_udp_length", "UDP length field inconsistent"},
	DropBadGRE:               {"bad_gre", "GRE header invalid (version, flags, length)"},
	DropBadARP:               {"bad_arp", "ARP not Ethernet/IPv4 or truncated"},
	DropOversizeFrame:        {"oversize_frame", "frame larger than a buffer"},
	DropOtherHost:            {"other_host", "destination MAC is neither this port nor broadcast/multicast"},
	DropUnsupportedEtherType: {"unsupported_ethertype", "EtherType the appliance does not handle"},
	DropBadSource:            {"bad_source", "martian source address (RFC 1812 5.3.7)"},
	DropNoRoute:              {"no_route", "no route in the port's VRF"},
	DropBlackhole:            {"blackhole", "route to a blackhole"},
	DropNoNeighbor:           {"no_neighbor", "next-hop MAC unknown"},
	DropTTLExceeded:          {"ttl_exceeded", "TTL or hop limit expired"},
	DropMTUExceeded:          {"mtu_exceeded", "packet larger than the output MTU and not fragmentable"},
	DropFragmentationNeeded:  {"fragmentation_needed", "IPv4 DF=0 packet larger than the output MTU (fragmentation not done on this path)"},
	DropUnknownPort:          {"unknown_port", "frame from or to a port index not in the configuration"},
	DropEncapUnsupported:     {"encap_unsupported", "route needs an encapsulation this path does not do yet"},
	DropTxFull:               {"tx_full", "output ring full"},
	DropGREFragment:          {"gre_fragment", "fragmented GRE packet (tunnel packets are not reassembled)"},
	DropBadGREChecksum:       {"bad_gre_checksum", "GRE checksum present and wrong (RFC 2784)"},
	DropGRENoKey:             {"gre_no_key", "GRE packet without a key: no tenant to select"},
	DropGREUnknownKey:        {"gre_unknown_key", "GRE key of no configured tenant"},
	DropGREProto:             {"gre_proto", "GRE payload neither IPv4 nor transparent Ethernet carrying ARP"},
	DropTenantLocal:          {"tenant_local", "to the gateway's overlay address, and not an ICMP echo or ARP request"},
	DropTenantIsolation:      {"tenant_isolation", "tenant traffic to anything but the Internet (other tenants, EIPs, underlay, the gateway)"},
	DropNoEIP:                {"no_eip", "tenant host without an EIP sending to the Internet"},
	DropFirewallIngress:      {"firewall_ingress", "refused by the tenant's ingress rules"},
	DropFirewallEgress:       {"firewall_egress", "refused by the tenant's egress rules"},
	DropNoTunnelSource:       {"no_tunnel_source", "encap route without a source and no IPv4 address on the output port"},
	DropNoTunnelRoute:        {"no_tunnel_route", "the tunnel's outer destination is not routed out of the route's port"},
	DropNoHeadroom:           {"no_headroom", "buffer has too little headroom to encapsulate"},
	DropICMPBadQuote:         {"icmp_bad_quote", "ICMP error to an EIP (or from a tenant host) whose quoted datagram is malformed or not from that EIP (to that host)"},
	DropSYNLimit:             {"syn_limit", "TCP SYN over the EIP's rate in its direction (token bucket, default 50,000/s)"},
	DropNAT64NoSession:       {"nat64_no_session", "IPv4 packet to the pool, or TCP non-SYN / ICMP error, with no session or binding admitting it (RFC 6146 3.5)"},
	DropNAT64PoolExhausted:   {"nat64_pool_exhausted", "no free pool address and port for a new binding"},
	DropNAT64Fragment:        {"nat64_fragment", "non-initial fragment, fragmented ICMP or fragmented zero-checksum UDP: not translated"},
	DropNAT64Untranslatable:  {"nat64_untranslatable", "protocol or ICMP type RFC 7915 does not translate (or a malformed quote)"},
	DropNAT64NonGlobal:       {"nat64_non_global", "64:ff9b::/96 towards a non-global IPv4 address (RFC 6052 3.1)"},
	DropSessionTableFull:     {"session_table_full", "a new session was refused: the session table is full and sessions.evict is drop-new"},
	DropAccessUnknownEIP:     {"access_unknown_eip", "access tier: IPv6 to the /96 for an EIP not in eip_to_vip"},
	DropAccessNoNexthop:      {"access_no_nexthop", "access tier: the VIP's Maglev entry has no next hop (no NAT64 server announces it)"},
	DropAccessNoPoolRoute:    {"access_no_pool_route", "access tier: IPv4 reply from an EIP to no known NAT64 pool"},
}

// String is the metric label of the reason.
func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropTable[r].name
	}
	return "unknown"
}

// Help describes the reason for operators.
func (r DropReason) Help() string {
	if r < NumDropReasons {
		return dropTable[r].help
	}
	return ""
}

// decodeDrop maps the decoder's verdict to a drop reason.
var decodeDrop = [packet.NumDecodeStatus]DropReason{
	packet.DecodeOK:             DropNone,
	packet.DecodeTruncatedL2:    DropTruncatedL2,
	packet.DecodeBadVLAN:        DropBadVLAN,
	packet.DecodeTruncatedL3:    DropTruncatedL3,
	packet.DecodeBadIPVersion:   DropBadIPVersion,
	packet.DecodeBadIPHeaderLen: DropBadIPHeaderLen,
	packet.DecodeBadIPLength:    DropBadIPLength,
	packet.DecodeExtHeaderLimit: DropExtHeaderLimit,
	packet.DecodeBadExtHeader:   DropBadExtHeader,
	packet.DecodeTruncatedL4:    DropTruncatedL4,
	packet.DecodeBadTCPHeader:   DropBadTCPHeader,
	packet.DecodeBadUDPLength:   DropBadUDPLength,
	packet.DecodeBadGRE:         DropBadGRE,
	packet.DecodeBadARP:         DropBadARP,
}

func dropForStatus(s packet.DecodeStatus) DropReason {
	if int(s) < len(decodeDrop) && decodeDrop[s] != DropNone {
		return decodeDrop[s]
	}
	return DropTruncatedL3
}
