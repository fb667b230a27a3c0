package config

// The schema of xdpgw's one YAML file. Every field carries a yaml tag; the
// decoder is strict (a key that is not a tag here is an error) and
// docs/config.md must document every tag (a test walks this file's types).
//
// Field types are the YAML-facing ones (strings for addresses, prefixes,
// MACs and durations) so that every value is checked by Validate, which
// knows the field's path and line. Parsed forms are produced by the
// accessors in values.go and by the runtime builder in control/.

// Config is the whole file.
type Config struct {
	// Node names this box and the roles it runs.
	Node Node `yaml:"node"`
	// Ports are the network interfaces xdpgw owns through AF_XDP.
	Ports []Port `yaml:"ports"`
	// Neighbors are static IP -> MAC entries per port (the daemon also
	// learns the kernel neighbour table through netlink).
	Neighbors []Neighbor `yaml:"neighbors"`
	// VRFs are routing tables; "main" always exists (the underlay and
	// Internet side), tenants add one each.
	VRFs []VRF `yaml:"vrfs"`
	// Tenants of the Internet gateway (system A).
	Tenants []Tenant `yaml:"tenants"`
	// NAT64 server role (system B).
	NAT64 *NAT64 `yaml:"nat64"`
	// Access tier (EIP -> VIP -> Maglev -> next-hop MAC).
	Access *Access `yaml:"access"`
	// BGP speaker embedded in the control plane.
	BGP *BGP `yaml:"bgp"`
	// Sessions sizes the session/flow table shared by gateway and NAT64.
	Sessions Sessions `yaml:"sessions"`
	// API is the local control API and metrics endpoint.
	API API `yaml:"api"`

	// meta holds the file name and the line of every field path, so that
	// Validate can cite lines; nil for a Config built in Go.
	meta *meta
}

// Node identifies the box.
type Node struct {
	Name  string   `yaml:"name"`
	Roles []string `yaml:"roles"` // gateway, nat64, access, manager
}

// Port is one network interface.
type Port struct {
	Name      string   `yaml:"name"`      // xdpgw's name for the port (used in routes, pcapng ids)
	Interface string   `yaml:"interface"` // Linux interface name; defaults to Name
	Role      string   `yaml:"role"`      // external, overlay, ipv6, ipv4, access
	MAC       string   `yaml:"mac"`       // MAC used as source on egress; default: the interface's
	Addresses []string `yaml:"addresses"` // the gateway's own addresses on this port, CIDR form
	VRF       string   `yaml:"vrf"`       // VRF that routes traffic arriving here (default "main")
	MTU       int      `yaml:"mtu"`       // default 1500
	Queues    int      `yaml:"queues"`    // AF_XDP queues to bind; default 1
}

// Neighbor is a static neighbour entry.
type Neighbor struct {
	Port string `yaml:"port"`
	IP   string `yaml:"ip"`
	MAC  string `yaml:"mac"`
}

// VRF is one routing table.
type VRF struct {
	Name   string  `yaml:"name"`
	Routes []Route `yaml:"routes"`
}

// Route is one route of a VRF. The route, not a device, holds the tunnel
// attributes (background.md, "lightweight tunnel").
type Route struct {
	Prefix string `yaml:"prefix"` // CIDR
	Via    string `yaml:"via"`    // next-hop address; empty: directly connected
	Port   string `yaml:"port"`   // output port name
	VRF    string `yaml:"vrf"`    // instead of port: continue the lookup in this VRF (route leaking)
	Encap  *Encap `yaml:"encap"`  // optional GRE encapsulation
}

// Encap is a route's GRE encapsulation.
type Encap struct {
	Type string `yaml:"type"` // "gre" (the only type)
	Key  *int64 `yaml:"key"`  // GRE key (RFC 2890); absent: no key
	Dst  string `yaml:"dst"`  // outer destination address
	Src  string `yaml:"src"`  // outer source; default: the output port's first address
}

// Tenant is (GRE key, VRF) plus its EIPs and firewall.
type Tenant struct {
	Name        string    `yaml:"name"`
	GREKey      int64     `yaml:"gre_key"`
	VRF         string    `yaml:"vrf"`          // default: the tenant's name
	Remote      string    `yaml:"remote"`       // tunnel endpoint of the tenant's hosts (outer address)
	Addresses   []string  `yaml:"addresses"`    // the gateway's own overlay addresses in this tenant (CIDR)
	EIPs        []EIP     `yaml:"eips"`         // 1:1 elastic IPs
	Firewall    *Firewall `yaml:"firewall"`     // absent: accept everything
	FlowOffload *bool     `yaml:"flow_offload"` // default true
}

// EIP maps an elastic IP to a tenant's private address (1:1 NAT).
type EIP struct {
	EIP     string `yaml:"eip"`
	Private string `yaml:"private"`
}

// Firewall holds a tenant's two rule sets.
type Firewall struct {
	Ingress *RuleSet `yaml:"ingress"` // towards the tenant
	Egress  *RuleSet `yaml:"egress"`  // from the tenant
}

// RuleSet is an ordered list of rules with a default policy.
type RuleSet struct {
	Default string `yaml:"default"` // accept | drop | reject; default accept
	Rules   []Rule `yaml:"rules"`
}

// Rule matches on protocol, addresses, ports, ICMP type and TCP flags.
type Rule struct {
	Name      string   `yaml:"name"`
	Action    string   `yaml:"action"`    // accept | drop | reject
	Proto     string   `yaml:"proto"`     // tcp, udp, icmp, icmpv6, any or a number
	Src       []string `yaml:"src"`       // CIDRs; empty: any
	Dst       []string `yaml:"dst"`       // CIDRs; empty: any
	SrcPorts  []string `yaml:"sport"`     // "22" or "1000-2000"
	DstPorts  []string `yaml:"dport"`     // "22" or "1000-2000"
	ICMPTypes []int    `yaml:"icmp_type"` // ICMP/ICMPv6 types
	TCPFlags  string   `yaml:"tcp_flags"` // e.g. "syn,!ack"
}

// NAT64 configures the stateful NAT64 server (RFC 6146).
type NAT64 struct {
	Prefix    string        `yaml:"prefix"`    // RFC 6052 prefix, e.g. 64:ff9b::/96
	Pools     []Pool        `yaml:"pools"`     // IPv4 source pool
	Filtering string        `yaml:"filtering"` // endpoint-independent | address-dependent
	Timeouts  Timeouts      `yaml:"timeouts"`
	SYNLimit  SYNLimit      `yaml:"syn_limit"`
	StaticBIB []StaticBIB   `yaml:"static_bib"`
	Hairpin   *bool         `yaml:"hairpinning"` // default true
	Fragments FragmentLimit `yaml:"fragments"`
	// VIP is the cluster VIP this server announces by BGP (as a /32, with
	// its pools) so that the access tier sends it flows; empty: none.
	VIP string `yaml:"vip"`
}

// Pool is a range of IPv4 source addresses and ports.
type Pool struct {
	Prefix string `yaml:"prefix"` // CIDR
	Ports  string `yaml:"ports"`  // "1024-65535"
}

// Timeouts are RFC 6146 section 4 timers as Go durations ("5m").
type Timeouts struct {
	UDP            string `yaml:"udp"`             // default 5m
	TCPEstablished string `yaml:"tcp_established"` // default 2h4m
	TCPTransitory  string `yaml:"tcp_transitory"`  // default 4m
	ICMP           string `yaml:"icmp"`            // default 60s
}

// SYNLimit is the per-EIP TCP SYN token bucket.
type SYNLimit struct {
	Default int64         `yaml:"default"` // SYN/s per EIP and direction; default 50000
	PerEIP  []EIPSYNLimit `yaml:"per_eip"`
}

// EIPSYNLimit overrides the SYN rate of one EIP.
type EIPSYNLimit struct {
	EIP  string `yaml:"eip"`
	Rate int64  `yaml:"rate"`
}

// StaticBIB is a static binding (RFC 6146 section 3.5.1 administrator entries).
type StaticBIB struct {
	Proto string `yaml:"proto"` // tcp | udp | icmp
	IPv6  string `yaml:"ipv6"`  // [addr]:port
	IPv4  string `yaml:"ipv4"`  // addr:port
}

// FragmentLimit bounds fragment tracking.
type FragmentLimit struct {
	MaxPending int    `yaml:"max_pending"` // default 4096
	Timeout    string `yaml:"timeout"`     // default 2s
}

// Access configures the access tier (EIP -> VIP -> Maglev -> MAC).
type Access struct {
	TableSize int      `yaml:"table_size"` // Maglev table size, prime; default 65537
	Prefix    string   `yaml:"prefix"`     // the /96 announced upstream
	VIPs      []VIP    `yaml:"vips"`
	P4Runtime *P4RTCfg `yaml:"p4runtime"`
	// ServerPort is the port behind which the NAT64 servers are: a name
	// from ports (its index is the target's port number) or a device port
	// number. The manager writes it into set_vip and set_pool_nexthop.
	ServerPort string `yaml:"server_port"`
}

// VIP is a NAT64 cluster VIP and the EIPs it serves.
type VIP struct {
	VIP  string   `yaml:"vip"`
	EIPs []string `yaml:"eips"`
}

// P4RTCfg is the P4Runtime endpoint (target address for a manager, listen
// address for a software access target).
type P4RTCfg struct {
	Address  string `yaml:"address"`
	DeviceID uint64 `yaml:"device_id"`
}

// BGP configures the embedded speaker.
type BGP struct {
	ASN      uint32    `yaml:"asn"`
	RouterID string    `yaml:"router_id"`
	Listen   string    `yaml:"listen"` // host:port; default 0.0.0.0:179
	Peers    []BGPPeer `yaml:"peers"`
	Announce []string  `yaml:"announce"` // prefixes announced (VIP, pool, /96)
}

// BGPPeer is one neighbour.
type BGPPeer struct {
	Address string `yaml:"address"`
	ASN     uint32 `yaml:"asn"`
}

// Sessions sizes the session table.
type Sessions struct {
	Capacity int    `yaml:"capacity"` // entries; default 1048576
	Evict    string `yaml:"evict"`    // oldest | drop-new; default oldest
}

// API is the local API.
type API struct {
	Socket  string `yaml:"socket"`  // unix socket for `xdpgw ctl`; default /run/xdpgw.sock
	Metrics string `yaml:"metrics"` // host:port for Prometheus; empty: off
}
