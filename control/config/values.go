package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The string values the schema accepts, as constants for the runtime
// builder.
const (
	// Node roles.
	NodeGateway = "gateway"
	NodeNAT64   = "nat64"
	NodeAccess  = "access"
	NodeManager = "manager"

	// Port roles (design.md, classify stage).
	RoleExternal = "external" // Internet side of the gateway
	RoleOverlay  = "overlay"  // tenants' GRE underlay
	RoleIPv6     = "ipv6"     // NAT64 IPv6 side
	RoleIPv4     = "ipv4"     // NAT64 IPv4 side
	RoleAccess   = "access"   // access tier port

	// Firewall actions and rule-set policies.
	ActionAccept = "accept"
	ActionDrop   = "drop"
	ActionReject = "reject"

	// Encapsulation types.
	EncapGRE = "gre"

	// NAT64 filtering (RFC 6146 section 1.2.3 / RFC 4787).
	FilteringEndpointIndependent = "endpoint-independent"
	FilteringAddressDependent    = "address-dependent"

	// Session table eviction under pressure.
	EvictOldest  = "oldest"
	EvictDropNew = "drop-new"
)

// IP protocol numbers that rules and static BIB entries name.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flag bits as in the TCP header's flags octet (RFC 9293, RFC 3168).
const (
	TCPFlagFIN = 1 << iota
	TCPFlagSYN
	TCPFlagRST
	TCPFlagPSH
	TCPFlagACK
	TCPFlagURG
	TCPFlagECE
	TCPFlagCWR
)

var tcpFlagNames = [...]string{"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"}

// PortRange is an inclusive range of TCP/UDP ports.
type PortRange struct{ Lo, Hi uint16 }

// Contains reports whether port is in the range.
func (r PortRange) Contains(port uint16) bool { return r.Lo <= port && port <= r.Hi }

// ErrBadPortRange, ErrBadMAC, ErrBadTCPFlags and ErrBadProto are wrapped by
// the parse functions below.
var (
	ErrBadPortRange = errors.New("bad port range")
	ErrBadMAC       = errors.New("bad mac address")
	ErrBadTCPFlags  = errors.New("bad tcp flags")
	ErrBadProto     = errors.New("bad protocol")
)

// ParsePortRange parses "22" or "1000-2000" (decimal, inclusive, lo <= hi).
func ParsePortRange(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err = parsePort(a)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	hi, err = parsePort(b)
	if err != nil {
		return 0, 0, err
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("%w: %d is above %d", ErrBadPortRange, lo, hi)
	}
	return lo, hi, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %q is not a port number", ErrBadPortRange, s)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%w: %s is above 65535", ErrBadPortRange, s)
	}
	return uint16(n), nil
}

// ParseMAC parses a 48-bit MAC address written as six hex octets separated
// by ':' or '-' ("02:00:00:00:01:01").
func ParseMAC(s string) ([6]byte, error) {
	var mac [6]byte
	if len(s) != 17 {
		return mac, fmt.Errorf("%w: want six hex octets like 02:00:00:00:00:01", ErrBadMAC)
	}
	sep := s[2]
	if sep != ':' && sep != '-' {
		return mac, fmt.Errorf("%w: want ':' or '-' between octets", ErrBadMAC)
	}
	for i := range mac {
		if i > 0 && s[3*i-1] != sep {
			return [6]byte{}, fmt.Errorf("%w: want %q between octets", ErrBadMAC, sep)
		}
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 {
			return [6]byte{}, fmt.Errorf("%w: %q is not a hex octet", ErrBadMAC, s[3*i:3*i+2])
		}
		mac[i] = hi<<4 | lo
	}
	return mac, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ParseTCPFlags parses a comma-separated list of flag names (fin, syn, rst,
// psh, ack, urg, ece, cwr), each optionally negated with '!'. A packet
// matches when flags&mask == want: "syn,!ack" gives want=SYN,
// mask=SYN|ACK. The empty string matches everything (0, 0).
func ParseTCPFlags(s string) (want, mask uint8, err error) {
	if s == "" {
		return 0, 0, nil
	}
	for _, f := range strings.Split(s, ",") {
		name := strings.TrimSpace(f)
		neg := strings.HasPrefix(name, "!")
		name = strings.TrimPrefix(name, "!")
		bit := uint8(0)
		for i, n := range tcpFlagNames {
			if strings.EqualFold(name, n) {
				bit = 1 << i
			}
		}
		if bit == 0 {
			return 0, 0, fmt.Errorf("%w: unknown flag %q (want fin, syn, rst, psh, ack, urg, ece or cwr, optionally with '!')", ErrBadTCPFlags, f)
		}
		if mask&bit != 0 {
			return 0, 0, fmt.Errorf("%w: flag %q given twice", ErrBadTCPFlags, name)
		}
		mask |= bit
		if !neg {
			want |= bit
		}
	}
	return want, mask, nil
}

// ParseProto parses a rule's protocol: tcp, udp, icmp, icmpv6, any (or
// empty) or a protocol number 0..255. any reports a wildcard.
func ParseProto(s string) (proto uint8, any bool, err error) {
	switch strings.ToLower(s) {
	case "", "any":
		return 0, true, nil
	case "tcp":
		return ProtoTCP, false, nil
	case "udp":
		return ProtoUDP, false, nil
	case "icmp":
		return ProtoICMP, false, nil
	case "icmpv6", "ipv6-icmp":
		return ProtoICMPv6, false, nil
	}
	n, perr := strconv.ParseUint(s, 10, 8)
	if perr != nil {
		return 0, false, fmt.Errorf("%w: %q (want tcp, udp, icmp, icmpv6, any or a number 0..255)", ErrBadProto, s)
	}
	return uint8(n), false, nil
}

// parseMatchPrefix parses a firewall address: a CIDR or a bare address
// (a host prefix).
func parseMatchPrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.ParsePrefix(s)
}

// The accessors below return parsed forms of fields. They are meant for a
// Config that passed Validate: on a value that does not parse they return
// the zero value (an invalid netip.Addr or Prefix, 0, false) instead of an
// error.

func mustAddr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}

func mustPrefix(s string) netip.Prefix {
	p, _ := netip.ParsePrefix(s)
	return p
}

func mustPrefixes(ss []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, mustPrefix(s))
	}
	return out
}

func mustDuration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

// FindPort returns the port named name.
func (c *Config) FindPort(name string) (*Port, bool) {
	for i := range c.Ports {
		if c.Ports[i].Name == name {
			return &c.Ports[i], true
		}
	}
	return nil, false
}

// FindVRF returns the VRF named name.
func (c *Config) FindVRF(name string) (*VRF, bool) {
	for i := range c.VRFs {
		if c.VRFs[i].Name == name {
			return &c.VRFs[i], true
		}
	}
	return nil, false
}

// FindTenant returns the tenant named name.
func (c *Config) FindTenant(name string) (*Tenant, bool) {
	for i := range c.Tenants {
		if c.Tenants[i].Name == name {
			return &c.Tenants[i], true
		}
	}
	return nil, false
}

// HasRole reports whether node.roles lists role.
func (n Node) HasRole(role string) bool {
	for _, r := range n.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// ParsedMAC returns the port's MAC; ok is false when the field is empty
// (use the interface's own MAC).
func (p Port) ParsedMAC() (mac [6]byte, ok bool) {
	if p.MAC == "" {
		return mac, false
	}
	mac, err := ParseMAC(p.MAC)
	return mac, err == nil
}

// ParsedAddresses returns the port's own addresses with their prefix
// lengths (1.1.1.1/24).
func (p Port) ParsedAddresses() []netip.Prefix { return mustPrefixes(p.Addresses) }

// FirstAddress returns the port's first address of the family of want
// (IPv4 if want.Is4()), or an invalid Addr.
func (p Port) FirstAddress(want netip.Addr) netip.Addr {
	for _, a := range p.ParsedAddresses() {
		if a.Addr().Is4() == want.Is4() && a.IsValid() {
			return a.Addr()
		}
	}
	return netip.Addr{}
}

// ParsedIP returns the neighbour's IP address.
func (n Neighbor) ParsedIP() netip.Addr { return mustAddr(n.IP) }

// ParsedMAC returns the neighbour's MAC.
func (n Neighbor) ParsedMAC() [6]byte {
	mac, _ := ParseMAC(n.MAC)
	return mac
}

// ParsedPrefix returns the route's destination prefix (masked).
func (r Route) ParsedPrefix() netip.Prefix { return mustPrefix(r.Prefix) }

// ParsedVia returns the next hop; an invalid Addr means directly connected
// (the next hop is the packet's destination).
func (r Route) ParsedVia() netip.Addr {
	if r.Via == "" {
		return netip.Addr{}
	}
	return mustAddr(r.Via)
}

// ParsedKey returns the GRE key; ok is false when the route sends no key.
func (e Encap) ParsedKey() (key uint32, ok bool) {
	if e.Key == nil {
		return 0, false
	}
	return uint32(*e.Key), true
}

// ParsedDst returns the outer destination.
func (e Encap) ParsedDst() netip.Addr { return mustAddr(e.Dst) }

// ParsedSrc returns the outer source; an invalid Addr means the output
// port's first address of the outer family (Port.FirstAddress).
func (e Encap) ParsedSrc() netip.Addr {
	if e.Src == "" {
		return netip.Addr{}
	}
	return mustAddr(e.Src)
}

// Key returns the tenant's GRE key.
func (t Tenant) Key() uint32 { return uint32(t.GREKey) }

// ParsedRemote returns the tenant hosts' tunnel endpoint (invalid if unset).
func (t Tenant) ParsedRemote() netip.Addr {
	if t.Remote == "" {
		return netip.Addr{}
	}
	return mustAddr(t.Remote)
}

// ParsedAddresses returns the gateway's overlay addresses in the tenant.
func (t Tenant) ParsedAddresses() []netip.Prefix { return mustPrefixes(t.Addresses) }

// Offload reports whether flow offload (the fast path) is on; default true.
func (t Tenant) Offload() bool { return t.FlowOffload == nil || *t.FlowOffload }

// ParsedEIP returns the elastic IP.
func (e EIP) ParsedEIP() netip.Addr { return mustAddr(e.EIP) }

// ParsedPrivate returns the tenant's private address.
func (e EIP) ParsedPrivate() netip.Addr { return mustAddr(e.Private) }

// ParsedProto returns the rule's protocol number; any is true for a
// wildcard.
func (r Rule) ParsedProto() (proto uint8, any bool) {
	p, a, _ := ParseProto(r.Proto)
	return p, a
}

// ParsedSrc returns the source prefixes (bare addresses become host
// prefixes); empty means any.
func (r Rule) ParsedSrc() []netip.Prefix { return matchPrefixes(r.Src) }

// ParsedDst returns the destination prefixes; empty means any.
func (r Rule) ParsedDst() []netip.Prefix { return matchPrefixes(r.Dst) }

func matchPrefixes(ss []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, _ := parseMatchPrefix(s)
		out = append(out, p)
	}
	return out
}

// ParsedSrcPorts returns the source port ranges; empty means any.
func (r Rule) ParsedSrcPorts() []PortRange { return portRanges(r.SrcPorts) }

// ParsedDstPorts returns the destination port ranges; empty means any.
func (r Rule) ParsedDstPorts() []PortRange { return portRanges(r.DstPorts) }

func portRanges(ss []string) []PortRange {
	out := make([]PortRange, 0, len(ss))
	for _, s := range ss {
		lo, hi, _ := ParsePortRange(s)
		out = append(out, PortRange{lo, hi})
	}
	return out
}

// ParsedICMPTypes returns the ICMP types; empty means any.
func (r Rule) ParsedICMPTypes() []uint8 {
	out := make([]uint8, 0, len(r.ICMPTypes))
	for _, t := range r.ICMPTypes {
		out = append(out, uint8(t))
	}
	return out
}

// ParsedTCPFlags returns the flags match: flags&mask == want.
func (r Rule) ParsedTCPFlags() (want, mask uint8) {
	w, m, _ := ParseTCPFlags(r.TCPFlags)
	return w, m
}

// ParsedPrefix returns the RFC 6052 prefix.
func (n NAT64) ParsedPrefix() netip.Prefix { return mustPrefix(n.Prefix) }

// Hairpinning reports whether hairpinning is on (RFC 6146 section 3.8);
// default true.
func (n NAT64) Hairpinning() bool { return n.Hairpin == nil || *n.Hairpin }

// EndpointIndependentFiltering reports whether filtering is
// endpoint-independent (the default) rather than address-dependent.
func (n NAT64) EndpointIndependentFiltering() bool {
	return n.Filtering != FilteringAddressDependent
}

// ParsedPrefix returns the pool's IPv4 prefix.
func (p Pool) ParsedPrefix() netip.Prefix { return mustPrefix(p.Prefix) }

// PortRange returns the pool's port range (default 1024-65535).
func (p Pool) PortRange() PortRange {
	s := p.Ports
	if s == "" {
		s = DefaultPoolPorts
	}
	lo, hi, _ := ParsePortRange(s)
	return PortRange{lo, hi}
}

// Durations returns the RFC 6146 timers.
func (t Timeouts) Durations() (udp, est, trans, icmp time.Duration) {
	return mustDuration(t.UDP), mustDuration(t.TCPEstablished), mustDuration(t.TCPTransitory), mustDuration(t.ICMP)
}

// RateFor returns the SYN rate limit of eip: its per_eip override or the
// default. 0 means no limit.
func (s SYNLimit) RateFor(eip netip.Addr) int64 {
	for _, e := range s.PerEIP {
		if mustAddr(e.EIP) == eip {
			return e.Rate
		}
	}
	return s.Default
}

// ParsedEIP returns the EIP of the override.
func (e EIPSYNLimit) ParsedEIP() netip.Addr { return mustAddr(e.EIP) }

// ParsedProto returns the binding's protocol number (6, 17 or 1).
func (b StaticBIB) ParsedProto() uint8 {
	p, _, _ := ParseProto(b.Proto)
	return p
}

// ParsedIPv6 returns the IPv6 transport address ([addr]:port; the port is
// the ICMP identifier for icmp).
func (b StaticBIB) ParsedIPv6() netip.AddrPort {
	ap, _ := netip.ParseAddrPort(b.IPv6)
	return ap
}

// ParsedIPv4 returns the IPv4 transport address (addr:port).
func (b StaticBIB) ParsedIPv4() netip.AddrPort {
	ap, _ := netip.ParseAddrPort(b.IPv4)
	return ap
}

// TimeoutDuration returns how long an incomplete fragment set is kept.
func (f FragmentLimit) TimeoutDuration() time.Duration { return mustDuration(f.Timeout) }

// ParsedPrefix returns the prefix the access tier announces.
func (a Access) ParsedPrefix() netip.Prefix { return mustPrefix(a.Prefix) }

// CheckBackends reports whether a Maglev table of a.TableSize entries can
// hold n backends. The number of backends (next hops of a VIP) is learned
// at run time, so Validate cannot check it; the runtime calls this when a
// VIP's next-hop set changes. Maglev (NSDI 2016, section 3.4) needs
// table_size >= n; disruption stays near 1/n only for table_size >> n.
func (a Access) CheckBackends(n int) error {
	size := a.TableSize
	if size == 0 {
		size = DefaultMaglevTableSize
	}
	if n > size {
		return fmt.Errorf("check backends: %d backends exceed access.table_size %d", n, size)
	}
	return nil
}

// ParsedVIP returns the cluster VIP the NAT64 server announces, or the
// zero Addr when nat64.vip is empty.
func (n NAT64) ParsedVIP() netip.Addr {
	if n.VIP == "" {
		return netip.Addr{}
	}
	return mustAddr(n.VIP)
}

// ServerPortIndex returns the port number access.server_port names: the
// index of the port of that name in c.Ports, or the number written. ok is
// false when server_port is empty.
func (c *Config) ServerPortIndex() (port uint16, ok bool) {
	a := c.Access
	if a == nil || a.ServerPort == "" {
		return 0, false
	}
	for i, p := range c.Ports {
		if p.Name == a.ServerPort {
			return uint16(i), true
		}
	}
	n, err := strconv.Atoi(a.ServerPort)
	if err != nil || n < 0 || n > MaxDevicePort {
		return 0, false
	}
	return uint16(n), true
}

// ParsedVIP returns the VIP address.
func (v VIP) ParsedVIP() netip.Addr { return mustAddr(v.VIP) }

// ParsedEIPs returns the EIPs the VIP serves.
func (v VIP) ParsedEIPs() []netip.Addr {
	out := make([]netip.Addr, 0, len(v.EIPs))
	for _, s := range v.EIPs {
		out = append(out, mustAddr(s))
	}
	return out
}

// ParsedRouterID returns the BGP router ID.
func (b BGP) ParsedRouterID() netip.Addr { return mustAddr(b.RouterID) }

// ParsedListen returns the BGP listen address (default 0.0.0.0:179).
func (b BGP) ParsedListen() netip.AddrPort {
	s := b.Listen
	if s == "" {
		s = DefaultBGPListen
	}
	ap, _ := netip.ParseAddrPort(s)
	return ap
}

// ParsedAnnounce returns the prefixes to announce.
func (b BGP) ParsedAnnounce() []netip.Prefix { return mustPrefixes(b.Announce) }

// ParsedAddress returns the peer's address.
func (p BGPPeer) ParsedAddress() netip.Addr { return mustAddr(p.Address) }

// DropNew reports whether a full session table refuses new sessions
// (evict: drop-new) instead of evicting the oldest.
func (s Sessions) DropNew() bool { return s.Evict == EvictDropNew }

// ParsedTimeouts is the Timeouts with parsed durations, for callers that
// prefer a struct to four results.
type ParsedTimeouts struct {
	UDP, TCPEstablished, TCPTransitory, ICMP time.Duration
}

// Parsed returns the timers as a struct.
func (t Timeouts) Parsed() ParsedTimeouts {
	u, e, tr, i := t.Durations()
	return ParsedTimeouts{u, e, tr, i}
}
