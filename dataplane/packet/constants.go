package packet

// EtherType values (IEEE 802 numbers, RFC 7042 §Appendix B).
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeVLAN = 0x8100 // IEEE 802.1Q customer tag
	EtherTypeQinQ = 0x88A8 // IEEE 802.1ad service tag
	EtherTypeIPv6 = 0x86DD
	// EtherTypeTEB is Transparent Ethernet Bridging: the GRE protocol type
	// for an encapsulated Ethernet frame (RFC 1701 §3.1, RFC 7637).
	EtherTypeTEB = 0x6558
)

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). The IPv6
// extension header values share the same number space (RFC 8200 §4).
const (
	ProtoHopByHop = 0
	ProtoICMP     = 1
	ProtoTCP      = 6
	ProtoUDP      = 17
	ProtoRouting  = 43
	ProtoFragment = 44
	ProtoGRE      = 47
	ProtoESP      = 50
	ProtoAH       = 51
	ProtoICMPv6   = 58
	ProtoNoNext   = 59
	ProtoDestOpts = 60
)

// Minimum (or fixed) header sizes in bytes.
const (
	EthernetSize  = 14
	VLANSize      = 4
	ARPSize       = 28
	IPv4MinSize   = 20
	IPv4MaxSize   = 60
	IPv6Size      = 40
	UDPSize       = 8
	TCPMinSize    = 20
	TCPMaxSize    = 60
	ICMPv4MinSize = 8
	ICMPv6MinSize = 8
	GREMinSize    = 4
	GREMaxSize    = 16
	// IPv6FragmentSize is the fixed size of the IPv6 Fragment header
	// (RFC 8200 §4.5).
	IPv6FragmentSize = 8
)
