package config

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits checked by Validate.
const (
	// MaxSessionCapacity bounds sessions.capacity: the session table
	// (dataplane/session.New) takes fewer than 2^28 entries.
	MaxSessionCapacity = 1<<28 - 1
	// MaxMaglevTableSize bounds access.table_size (a Tofino exact-match
	// table of (VIP, index) entries; memory in the software target).
	MaxMaglevTableSize = 1 << 24
	// MaxDevicePort bounds a numeric access.server_port (access.p4's
	// 9-bit port).
	MaxDevicePort = 511
	// MaxPorts bounds the number of ports (the data plane's
	// pipeline.MaxPorts).
	MaxPorts = 64
	// MaxVRFs bounds the number of VRFs (main included): the data plane
	// indexes them with 16 bits.
	MaxVRFs = 1 << 16
	// MaxTimeout bounds the nat64 timeouts: the session table keeps
	// lifetimes below 2^23 ticks of 2^30 ns (about 2502h).
	MaxTimeout = 2400 * time.Hour
	maxQueues  = 1024
	// maxSYNRate bounds nat64.syn_limit rates: the data plane's token
	// buckets hold them as uint32.
	maxSYNRate    = 1<<32 - 1
	maxIfName     = 15  // IFNAMSIZ - 1
	maxSocketPath = 107 // sizeof(sockaddr_un.sun_path) - 1
)

// validator collects problems with their lines.
type validator struct {
	c *Config
	problems
}

// Validate checks every field of c and returns an *Error listing every
// problem with its field path (and its line when c came from Parse), or
// nil. It expects SetDefaults to have run (Parse does both). Lines refer
// to the file Parse read; after list entries are added or removed in Go
// they may point at the wrong entry, while paths stay right.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.node()
	ports := v.ports()
	vrfs := v.vrfs(ports)
	v.portVRFs(vrfs)
	v.neighbors(ports)
	v.tenants(vrfs)
	v.nat64()
	v.access(ports)
	v.bgp()
	v.sessions()
	v.api()
	if len(v.list) == 0 {
		return nil
	}
	sortProblems(v.list)
	e := &Error{Problems: v.list}
	if c.meta != nil {
		e.File = c.meta.file
	}
	return e
}

// where returns the position of path, or of its closest ancestor that has
// one (a missing field is reported at its parent's line).
func (c *Config) where(path string) (line, col int) {
	if c.meta == nil {
		return 0, 0
	}
	for {
		if p, ok := c.meta.pos[path]; ok {
			return p.line, p.col
		}
		if path == "" {
			return 0, 0
		}
		path = parentPath(path)
	}
}

func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

func (v *validator) bad(path, format string, args ...any) {
	line, col := v.c.where(path)
	v.add(path, line, col, format, args...)
}

// at describes where path is, for "first at ..." notes.
func (v *validator) at(path string) string {
	if line, _ := v.c.where(path); line > 0 {
		return fmt.Sprintf("%s, line %d", path, line)
	}
	return path
}

// names checks that a name is set and unique; seen maps names to the path
// of their first use.
func (v *validator) name(path, what, name string, seen map[string]string) {
	switch {
	case name == "":
		v.bad(path, "missing %s name", what)
	case seen[name] != "":
		v.bad(path, "duplicate %s name %q (first at %s)", what, name, v.at(seen[name]))
	default:
		seen[name] = path
	}
}

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

func quoteList(allowed ...string) string {
	return strings.Join(allowed, ", ")
}

// enum checks that s is one of allowed.
func (v *validator) enum(path, what, s string, allowed ...string) bool {
	if oneOf(s, allowed...) {
		return true
	}
	if s == "" {
		v.bad(path, "missing %s (want one of %s)", what, quoteList(allowed...))
	} else {
		v.bad(path, "unknown %s %q (want one of %s)", what, s, quoteList(allowed...))
	}
	return false
}

// addr parses a required address.
func (v *validator) addr(path, s string) (netip.Addr, bool) {
	if s == "" {
		v.bad(path, "missing address")
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		v.bad(path, "%q: bad ip address", s)
		return netip.Addr{}, false
	}
	if a.Zone() != "" {
		v.bad(path, "%q: bad ip address: zones are not supported", s)
		return netip.Addr{}, false
	}
	return a, true
}

// addr4 parses a required IPv4 address.
func (v *validator) addr4(path, s string) (netip.Addr, bool) {
	a, ok := v.addr(path, s)
	if ok && !a.Is4() {
		v.bad(path, "%q: want an ipv4 address", s)
		return netip.Addr{}, false
	}
	return a, ok
}

// ifacePrefix parses an interface address in CIDR form (host bits allowed:
// 1.1.1.1/24).
func (v *validator) ifacePrefix(path, s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		v.bad(path, "%q: bad address: want address/length like 192.0.2.1/24", s)
		return netip.Prefix{}, false
	}
	if p.Addr().IsUnspecified() {
		v.bad(path, "%q: bad address: unspecified", s)
		return netip.Prefix{}, false
	}
	return p, true
}

// network parses a CIDR that must be a network address (host bits zero).
func (v *validator) network(path, s string) (netip.Prefix, bool) {
	if s == "" {
		v.bad(path, "missing prefix")
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		v.bad(path, "%q: bad prefix: want network/length like 10.0.0.0/8", s)
		return netip.Prefix{}, false
	}
	if m := p.Masked(); m != p {
		v.bad(path, "%q: not a network address; did you mean %s", s, m)
		return netip.Prefix{}, false
	}
	return p, true
}

// matchPrefix parses a firewall address (CIDR or bare address).
func (v *validator) matchPrefix(path, s string) (netip.Prefix, bool) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			v.bad(path, "%q: bad address or prefix", s)
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return v.network(path, s)
}

// duration parses a positive duration of at most MaxTimeout.
func (v *validator) duration(path, s string) time.Duration {
	d, err := time.ParseDuration(s)
	switch {
	case s == "":
		v.bad(path, "missing duration")
	case err != nil:
		v.bad(path, "%q: bad duration: want a number with a unit, like 5m, 2h4m or 60s", s)
	case d <= 0:
		v.bad(path, "%q: want a positive duration", s)
	case d > MaxTimeout:
		v.bad(path, "%q: above the maximum %v", s, MaxTimeout)
	}
	return d
}

// hostPort checks a "host:port" address.
func (v *validator) hostPort(path, s string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		v.bad(path, "%q: bad address: want host:port", s)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		v.bad(path, "%q: bad port %q", s, port)
		return
	}
	if strings.ContainsAny(host, " /") {
		v.bad(path, "%q: bad host %q", s, host)
	}
}

func (v *validator) node() {
	seen := map[string]string{}
	for i, r := range v.c.Node.Roles {
		p := indexPath("node.roles", i)
		if !v.enum(p, "node role", r, NodeGateway, NodeNAT64, NodeAccess, NodeManager) {
			continue
		}
		if first := seen[r]; first != "" {
			v.bad(p, "duplicate node role %q (first at %s)", r, v.at(first))
			continue
		}
		seen[r] = p
	}
}

// portInfo is what other sections need to know about the ports.
type portInfo map[string]*Port

func (v *validator) ports() portInfo {
	ports := portInfo{}
	names := map[string]string{}
	ifaces := map[string]string{}
	ifaceIdx := map[string]int{}
	addrs := map[netip.Addr]string{}
	if n := len(v.c.Ports); n > MaxPorts {
		v.bad("ports", "%d ports, at most %d", n, MaxPorts)
	}
	for i := range v.c.Ports {
		p := &v.c.Ports[i]
		base := indexPath("ports", i)
		v.name(base+".name", "port", p.Name, names)
		if p.Name != "" {
			if _, dup := ports[p.Name]; !dup {
				ports[p.Name] = p
			}
		}
		ip := base + ".interface"
		switch {
		case p.Interface == "":
			// Only when the name is missing too (SetDefaults copies the
			// name), which is reported already.
		case len(p.Interface) > maxIfName || strings.ContainsAny(p.Interface, "/ \t\n:") || p.Interface == "." || p.Interface == "..":
			v.bad(ip, "%q: bad interface name (at most %d characters, no '/', ':' or spaces)", p.Interface, maxIfName)
		case ifaces[p.Interface] != "":
			// Two ports with the same name also share the default
			// interface; the duplicate name is the problem to report.
			if p.Interface == p.Name && v.c.Ports[ifaceIdx[p.Interface]].Name == p.Name {
				break
			}
			v.bad(ip, "interface %q already used by %s", p.Interface, v.at(ifaces[p.Interface]))
		default:
			ifaces[p.Interface] = ip
			ifaceIdx[p.Interface] = i
		}
		v.enum(base+".role", "port role", p.Role, RoleExternal, RoleOverlay, RoleIPv6, RoleIPv4, RoleAccess)
		if p.MAC != "" {
			v.unicastMAC(base+".mac", p.MAC)
		}
		for j, s := range p.Addresses {
			ap := indexPath(base+".addresses", j)
			pfx, ok := v.ifacePrefix(ap, s)
			if !ok {
				continue
			}
			if first := addrs[pfx.Addr()]; first != "" {
				v.bad(ap, "address %s already used by %s", pfx.Addr(), v.at(first))
				continue
			}
			addrs[pfx.Addr()] = ap
		}
		minMTU := 68 // RFC 791
		if p.Role == RoleIPv6 {
			minMTU = 1280 // RFC 8200 section 5
		}
		if p.MTU < minMTU || p.MTU > 65535 {
			v.bad(base+".mtu", "mtu %d out of range %d..65535", p.MTU, minMTU)
		}
		if p.Queues < 1 || p.Queues > maxQueues {
			v.bad(base+".queues", "queues %d out of range 1..%d", p.Queues, maxQueues)
		} else if q := v.c.Ports[0].Queues; i > 0 && p.Queues != q && q >= 1 && q <= maxQueues {
			// Worker q owns queue q of every port.
			v.bad(base+".queues", "queues %d, but %s has %d: every port needs the same number of queues", p.Queues, v.at("ports[0].queues"), q)
		}
	}
	return ports
}

func (v *validator) unicastMAC(path, s string) {
	mac, err := ParseMAC(s)
	if err != nil {
		v.bad(path, "%q: %v", s, err)
		return
	}
	if mac[0]&1 != 0 {
		v.bad(path, "%q: want a unicast mac (the group bit is set)", s)
	}
	if mac == [6]byte{} {
		v.bad(path, "%q: want a non-zero mac", s)
	}
}

func (v *validator) portRef(path, name string, ports portInfo) (*Port, bool) {
	if name == "" {
		v.bad(path, "missing port")
		return nil, false
	}
	p, ok := ports[name]
	if !ok {
		v.bad(path, "unknown port %q (not in ports)", name)
	}
	return p, ok
}

func (v *validator) neighbors(ports portInfo) {
	type key struct {
		port string
		ip   netip.Addr
	}
	seen := map[key]string{}
	for i, n := range v.c.Neighbors {
		base := indexPath("neighbors", i)
		v.portRef(base+".port", n.Port, ports)
		ip, ok := v.addr(base+".ip", n.IP)
		if n.MAC == "" {
			v.bad(base+".mac", "missing mac")
		} else {
			v.unicastMAC(base+".mac", n.MAC)
		}
		if !ok {
			continue
		}
		k := key{n.Port, ip}
		if first := seen[k]; first != "" {
			v.bad(base+".ip", "duplicate neighbour %s on port %q (first at %s)", ip, n.Port, v.at(first))
			continue
		}
		seen[k] = base + ".ip"
	}
}

func (v *validator) vrfs(ports portInfo) map[string]string {
	vrfs := map[string]string{}
	if n := len(v.c.VRFs); n > MaxVRFs {
		v.bad("vrfs", "%d vrfs, at most %d (main included)", n, MaxVRFs)
	}
	for i := range v.c.VRFs {
		vr := &v.c.VRFs[i]
		base := indexPath("vrfs", i)
		v.name(base+".name", "vrf", vr.Name, vrfs)
		prefixes := map[netip.Prefix]string{}
		for j := range vr.Routes {
			v.route(indexPath(base+".routes", j), &vr.Routes[j], ports, prefixes)
		}
	}
	// Leaks name VRFs, so they are checked once every name is known.
	for i := range v.c.VRFs {
		vr := &v.c.VRFs[i]
		for j, r := range vr.Routes {
			if r.VRF == "" {
				continue
			}
			path := indexPath(indexPath("vrfs", i)+".routes", j) + ".vrf"
			if _, ok := vrfs[r.VRF]; !ok {
				v.bad(path, "unknown vrf %q (not in vrfs)", r.VRF)
			} else if r.VRF == vr.Name {
				v.bad(path, "a route cannot continue in its own vrf")
			} else if target, _ := v.c.FindVRF(r.VRF); target != nil && target.leaks() {
				v.bad(path, "vrf %q itself leaks routes into another vrf: only one step is followed", r.VRF)
			}
		}
	}
	return vrfs
}

// leaks reports whether any route of the VRF continues in another VRF.
func (vr *VRF) leaks() bool {
	for _, r := range vr.Routes {
		if r.VRF != "" {
			return true
		}
	}
	return false
}

func (v *validator) route(base string, r *Route, ports portInfo, prefixes map[netip.Prefix]string) {
	pfx, ok := v.network(base+".prefix", r.Prefix)
	if ok {
		if first := prefixes[pfx]; first != "" {
			v.bad(base+".prefix", "duplicate route %s (first at %s)", pfx, v.at(first))
		} else {
			prefixes[pfx] = base + ".prefix"
		}
	}
	if r.Via != "" {
		via, vok := v.addr(base+".via", r.Via)
		if vok && ok && via.Is4() != pfx.Addr().Is4() {
			v.bad(base+".via", "via %s and prefix %s are of different address families", via, pfx)
		}
	}
	if r.VRF != "" {
		// Route leaking: the lookup continues in another VRF, which
		// decides port, next hop and encapsulation.
		if r.Port != "" {
			v.bad(base+".vrf", "give either port or vrf, not both")
		}
		if r.Via != "" || r.Encap != nil {
			v.bad(base+".vrf", "a route into another vrf takes no via or encap: that vrf's route decides them")
		}
		return
	}
	v.portRef(base+".port", r.Port, ports)
	if e := r.Encap; e != nil {
		eb := base + ".encap"
		v.enum(eb+".type", "encap type", e.Type, EncapGRE)
		if e.Key != nil && (*e.Key < 0 || *e.Key > 1<<32-1) {
			v.bad(eb+".key", "gre key %d out of range 0..4294967295 (RFC 2890: 32 bits)", *e.Key)
		}
		dst, dok := v.addr(eb+".dst", e.Dst)
		if e.Src != "" {
			src, sok := v.addr(eb+".src", e.Src)
			if sok && dok && src.Is4() != dst.Is4() {
				v.bad(eb+".src", "src %s and dst %s are of different address families", src, dst)
			}
		}
	}
}

func (v *validator) portVRFs(vrfs map[string]string) {
	for i, p := range v.c.Ports {
		if p.VRF != "" && vrfs[p.VRF] == "" {
			v.bad(indexPath("ports", i)+".vrf", "unknown vrf %q (not in vrfs)", p.VRF)
		}
	}
}

func (v *validator) tenants(vrfs map[string]string) {
	names := map[string]string{}
	keys := map[int64]string{}
	tvrfs := map[string]string{}
	eips := map[netip.Addr]string{}
	// An EIP is made a local route of the external ports' VRF, which
	// would replace the route of a port address that is the same.
	portAddrs := map[netip.Addr]string{}
	for i, p := range v.c.Ports {
		for j, s := range p.Addresses {
			if pfx, err := netip.ParsePrefix(s); err == nil && portAddrs[pfx.Addr()] == "" {
				portAddrs[pfx.Addr()] = indexPath(indexPath("ports", i)+".addresses", j)
			}
		}
	}
	for i := range v.c.Tenants {
		t := &v.c.Tenants[i]
		base := indexPath("tenants", i)
		v.name(base+".name", "tenant", t.Name, names)
		kp := base + ".gre_key"
		switch {
		case v.c.meta != nil && !v.c.written(kp):
			v.bad(kp, "missing gre_key")
		case t.GREKey < 0 || t.GREKey > 1<<32-1:
			v.bad(kp, "gre key %d out of range 0..4294967295 (RFC 2890: 32 bits)", t.GREKey)
		case keys[t.GREKey] != "":
			v.bad(kp, "gre key %d already used by %s", t.GREKey, v.at(keys[t.GREKey]))
		default:
			keys[t.GREKey] = kp
		}
		vp := base + ".vrf"
		switch {
		case t.VRF == "":
			// Only when the name is missing too, reported already.
		case t.VRF == DefaultVRF:
			v.bad(vp, "tenant vrf must not be %q (the underlay's)", DefaultVRF)
		case vrfs[t.VRF] == "":
			v.bad(vp, "unknown vrf %q (add it to vrfs; a tenant's vrf defaults to its name)", t.VRF)
		case tvrfs[t.VRF] != "":
			v.bad(vp, "vrf %q already used by %s (one vrf per tenant)", t.VRF, v.at(tvrfs[t.VRF]))
		default:
			tvrfs[t.VRF] = vp
		}
		if t.Remote != "" {
			v.addr(base+".remote", t.Remote)
		}
		for j, s := range t.Addresses {
			v.ifacePrefix(indexPath(base+".addresses", j), s)
		}
		privs := map[netip.Addr]string{}
		for j, e := range t.EIPs {
			eb := indexPath(base+".eips", j)
			if a, ok := v.addr4(eb+".eip", e.EIP); ok {
				if first := eips[a]; first != "" {
					v.bad(eb+".eip", "eip %s already used by %s", a, v.at(first))
				} else if pa := portAddrs[a]; pa != "" {
					v.bad(eb+".eip", "eip %s is the address of %s (the gateway's own)", a, v.at(pa))
				} else {
					eips[a] = eb + ".eip"
				}
			}
			if a, ok := v.addr4(eb+".private", e.Private); ok {
				if first := privs[a]; first != "" {
					v.bad(eb+".private", "private address %s already mapped by %s (eips are 1:1)", a, v.at(first))
				} else {
					privs[a] = eb + ".private"
				}
			}
		}
		if fw := t.Firewall; fw != nil {
			if fw.Ingress != nil {
				v.ruleSet(base+".firewall.ingress", fw.Ingress)
			}
			if fw.Egress != nil {
				v.ruleSet(base+".firewall.egress", fw.Egress)
			}
		}
	}
}

func (v *validator) ruleSet(base string, rs *RuleSet) {
	v.enum(base+".default", "default policy", rs.Default, ActionAccept, ActionDrop, ActionReject)
	names := map[string]string{}
	for i := range rs.Rules {
		r := &rs.Rules[i]
		rb := indexPath(base+".rules", i)
		if r.Name != "" {
			if first := names[r.Name]; first != "" {
				v.bad(rb+".name", "duplicate rule name %q (first at %s)", r.Name, v.at(first))
			} else {
				names[r.Name] = rb + ".name"
			}
		}
		v.enum(rb+".action", "action", r.Action, ActionAccept, ActionDrop, ActionReject)
		proto, any, err := ParseProto(r.Proto)
		if err != nil {
			v.bad(rb+".proto", "%v", err)
		}
		fams := map[bool]string{}
		for _, side := range []struct {
			key  string
			list []string
		}{{"src", r.Src}, {"dst", r.Dst}} {
			for j, s := range side.list {
				p := indexPath(rb+"."+side.key, j)
				if pfx, ok := v.matchPrefix(p, s); ok {
					fams[pfx.Addr().Is4()] = p
				}
			}
		}
		hasPorts := false
		for _, side := range []struct {
			key  string
			list []string
		}{{"sport", r.SrcPorts}, {"dport", r.DstPorts}} {
			for j, s := range side.list {
				hasPorts = true
				if _, _, err := ParsePortRange(s); err != nil {
					v.bad(indexPath(rb+"."+side.key, j), "%q: %v", s, err)
				}
			}
		}
		if hasPorts && err == nil && (any || (proto != ProtoTCP && proto != ProtoUDP)) {
			v.bad(rb+".proto", "ports need proto tcp or udp, got %q", r.Proto)
		}
		for j, ty := range r.ICMPTypes {
			if ty < 0 || ty > 255 {
				v.bad(indexPath(rb+".icmp_type", j), "icmp type %d out of range 0..255", ty)
			}
		}
		if len(r.ICMPTypes) > 0 && err == nil && (any || (proto != ProtoICMP && proto != ProtoICMPv6)) {
			v.bad(rb+".proto", "icmp_type needs proto icmp or icmpv6, got %q", r.Proto)
		}
		if r.TCPFlags != "" {
			if _, _, ferr := ParseTCPFlags(r.TCPFlags); ferr != nil {
				v.bad(rb+".tcp_flags", "%q: %v", r.TCPFlags, ferr)
			} else if err == nil && (any || proto != ProtoTCP) {
				v.bad(rb+".proto", "tcp_flags needs proto tcp, got %q", r.Proto)
			}
		}
		if err == nil && !any {
			if proto == ProtoICMP && fams[false] != "" {
				v.bad(fams[false], "proto icmp is IPv4 only; use icmpv6 for IPv6 addresses")
			}
			if proto == ProtoICMPv6 && fams[true] != "" {
				v.bad(fams[true], "proto icmpv6 is IPv6 only; use icmp for IPv4 addresses")
			}
		}
	}
}

// rfc6052Lengths are the prefix lengths of RFC 6052 section 2.2.
var rfc6052Lengths = []int{32, 40, 48, 56, 64, 96}

// nat64Prefix checks an RFC 6052 prefix.
func (v *validator) nat64Prefix(path, s string) {
	if s == "" {
		v.bad(path, "missing prefix")
		return
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		v.bad(path, "%q: bad prefix: want an ipv6 prefix like 64:ff9b::/96", s)
		return
	}
	if !p.Addr().Is6() || p.Addr().Is4In6() {
		v.bad(path, "%q: want an ipv6 prefix", s)
		return
	}
	okLen := false
	for _, l := range rfc6052Lengths {
		okLen = okLen || p.Bits() == l
	}
	if !okLen {
		v.bad(path, "%q: prefix length /%d not allowed (RFC 6052 section 2.2: 32, 40, 48, 56, 64 or 96)", s, p.Bits())
		return
	}
	if a := p.Addr().As16(); p.Bits() != 96 && a[8] != 0 {
		v.bad(path, "%q: bits 64-71 (the u octet) must be zero (RFC 6052 section 2.2)", s)
		return
	}
	if m := p.Masked(); m != p {
		v.bad(path, "%q: not a network address; did you mean %s", s, m)
	}
}

type poolInfo struct {
	path  string
	pfx   netip.Prefix
	ports PortRange
}

func (v *validator) nat64() []poolInfo {
	n := v.c.NAT64
	if n == nil {
		return nil
	}
	v.nat64Prefix("nat64.prefix", n.Prefix)
	var pools []poolInfo
	if len(n.Pools) == 0 {
		v.bad("nat64.pools", "missing pools (at least one ipv4 source pool)")
	}
	for i, p := range n.Pools {
		base := indexPath("nat64.pools", i)
		pfx, ok := v.network(base+".prefix", p.Prefix)
		if ok && !pfx.Addr().Is4() {
			v.bad(base+".prefix", "%q: want an ipv4 prefix", p.Prefix)
			ok = false
		} else if ok && pfx.Bits() == 0 {
			// The data plane counts a pool's addresses in 32 bits.
			v.bad(base+".prefix", "%q: a pool must be /1 or longer, not /0", p.Prefix)
			ok = false
		}
		lo, hi, err := ParsePortRange(p.Ports)
		if err != nil {
			v.bad(base+".ports", "%q: %v", p.Ports, err)
			ok = false
		} else if lo == 0 {
			v.bad(base+".ports", "%q: port 0 cannot be a source port", p.Ports)
			ok = false
		}
		if !ok {
			continue
		}
		cur := poolInfo{base, pfx, PortRange{lo, hi}}
		for _, q := range pools {
			if q.pfx.Overlaps(pfx) && q.ports.Lo <= hi && lo <= q.ports.Hi {
				v.bad(base, "pool %s ports %s overlaps %s (%s ports %d-%d)", pfx, p.Ports, v.at(q.path), q.pfx, q.ports.Lo, q.ports.Hi)
			}
		}
		pools = append(pools, cur)
	}
	v.enum("nat64.filtering", "filtering", n.Filtering, FilteringEndpointIndependent, FilteringAddressDependent)
	v.duration("nat64.timeouts.udp", n.Timeouts.UDP)
	v.duration("nat64.timeouts.tcp_established", n.Timeouts.TCPEstablished)
	v.duration("nat64.timeouts.tcp_transitory", n.Timeouts.TCPTransitory)
	v.duration("nat64.timeouts.icmp", n.Timeouts.ICMP)
	if n.SYNLimit.Default < 0 {
		v.bad("nat64.syn_limit.default", "syn limit %d is negative (0 turns the limit off)", n.SYNLimit.Default)
	} else if n.SYNLimit.Default > maxSYNRate {
		v.bad("nat64.syn_limit.default", "syn limit %d out of range 0..%d", n.SYNLimit.Default, maxSYNRate)
	}
	seen := map[netip.Addr]string{}
	for i, e := range n.SYNLimit.PerEIP {
		base := indexPath("nat64.syn_limit.per_eip", i)
		if a, ok := v.addr4(base+".eip", e.EIP); ok {
			if first := seen[a]; first != "" {
				v.bad(base+".eip", "duplicate syn limit for eip %s (first at %s)", a, v.at(first))
			} else {
				seen[a] = base + ".eip"
			}
		}
		if e.Rate < 0 {
			v.bad(base+".rate", "syn limit %d is negative (0 turns the limit off)", e.Rate)
		} else if e.Rate > maxSYNRate {
			v.bad(base+".rate", "syn limit %d out of range 0..%d", e.Rate, maxSYNRate)
		}
	}
	v.staticBIB(n, pools)
	if n.Fragments.MaxPending < 1 {
		v.bad("nat64.fragments.max_pending", "max_pending %d must be at least 1", n.Fragments.MaxPending)
	}
	v.duration("nat64.fragments.timeout", n.Fragments.Timeout)
	if n.VIP != "" {
		v.addr4("nat64.vip", n.VIP)
	}
	return pools
}

func (v *validator) staticBIB(n *NAT64, pools []poolInfo) {
	type key struct {
		proto string
		ap    netip.AddrPort
	}
	seen := map[key]string{}
	for i, b := range n.StaticBIB {
		base := indexPath("nat64.static_bib", i)
		v.enum(base+".proto", "proto", b.Proto, "tcp", "udp", "icmp")
		for _, side := range []struct {
			key, s string
			v6     bool
		}{{"ipv6", b.IPv6, true}, {"ipv4", b.IPv4, false}} {
			p := base + "." + side.key
			ap, err := netip.ParseAddrPort(side.s)
			switch {
			case side.s == "":
				v.bad(p, "missing transport address")
				continue
			case err != nil && side.v6:
				v.bad(p, "%q: bad transport address: want [ipv6]:port", side.s)
				continue
			case err != nil:
				v.bad(p, "%q: bad transport address: want ipv4:port", side.s)
				continue
			case side.v6 && (!ap.Addr().Is6() || ap.Addr().Is4In6()):
				v.bad(p, "%q: want an ipv6 address", side.s)
				continue
			case !side.v6 && !ap.Addr().Is4():
				v.bad(p, "%q: want an ipv4 address", side.s)
				continue
			case ap.Addr().Zone() != "":
				v.bad(p, "%q: zones are not supported", side.s)
				continue
			}
			if !side.v6 && len(pools) > 0 {
				in := false
				for _, q := range pools {
					in = in || (q.pfx.Contains(ap.Addr()) && q.ports.Contains(ap.Port()))
				}
				if !in {
					v.bad(p, "%s is not in any of nat64.pools (address and port range)", ap)
				}
			}
			k := key{b.Proto + "/" + side.key, ap}
			if first := seen[k]; first != "" {
				v.bad(p, "duplicate static binding %s %s (first at %s)", b.Proto, ap, v.at(first))
			} else {
				seen[k] = p
			}
		}
	}
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

func (v *validator) access(ports portInfo) {
	a := v.c.Access
	if a == nil {
		if slices.Contains(v.c.Node.Roles, NodeManager) {
			v.bad("access", "missing access section (role manager programs the access tier it describes)")
		}
		return
	}
	if slices.Contains(v.c.Node.Roles, NodeManager) && v.c.BGP == nil {
		v.bad("access", "role manager learns the VIPs' next hops by BGP: add a bgp section")
	}
	switch {
	case a.ServerPort == "":
		if slices.Contains(v.c.Node.Roles, NodeManager) && len(a.VIPs) > 0 {
			v.bad("access.server_port", "missing server_port (role manager needs the port the NAT64 servers are behind)")
		}
	case ports[a.ServerPort] != nil:
	default:
		if n, err := strconv.Atoi(a.ServerPort); err != nil {
			v.bad("access.server_port", "unknown port %q (not in ports, and not a device port number)", a.ServerPort)
		} else if n < 0 || n > MaxDevicePort {
			v.bad("access.server_port", "device port %d out of range 0..%d", n, MaxDevicePort)
		}
	}
	switch {
	case a.TableSize < 2 || a.TableSize > MaxMaglevTableSize:
		v.bad("access.table_size", "table_size %d out of range 2..%d", a.TableSize, MaxMaglevTableSize)
	case !isPrime(a.TableSize):
		v.bad("access.table_size", "table_size %d is not prime (Maglev needs a prime, e.g. %d)", a.TableSize, nextPrime(a.TableSize))
	}
	v.nat64Prefix("access.prefix", a.Prefix)
	vips := map[netip.Addr]string{}
	eips := map[netip.Addr]string{}
	for i, vip := range a.VIPs {
		base := indexPath("access.vips", i)
		if addr, ok := v.addr4(base+".vip", vip.VIP); ok {
			if first := vips[addr]; first != "" {
				v.bad(base+".vip", "duplicate vip %s (first at %s)", addr, v.at(first))
			} else {
				vips[addr] = base + ".vip"
			}
		}
		for j, s := range vip.EIPs {
			p := indexPath(base+".eips", j)
			if addr, ok := v.addr4(p, s); ok {
				if first := eips[addr]; first != "" {
					v.bad(p, "eip %s already served by %s (an eip maps to one vip)", addr, v.at(first))
				} else {
					eips[addr] = p
				}
			}
		}
	}
	if rt := a.P4Runtime; rt != nil {
		if rt.Address == "" {
			v.bad("access.p4runtime.address", "missing address")
		} else {
			v.hostPort("access.p4runtime.address", rt.Address)
		}
	}
}

func nextPrime(n int) int {
	for n++; !isPrime(n); n++ {
	}
	return n
}

func (v *validator) bgp() {
	b := v.c.BGP
	if b == nil {
		return
	}
	if b.ASN == 0 {
		v.bad("bgp.asn", "missing asn (0 is reserved, RFC 7607)")
	}
	if b.RouterID == "" {
		v.bad("bgp.router_id", "missing router_id")
	} else if a, err := netip.ParseAddr(b.RouterID); err != nil || !a.Is4() || a.IsUnspecified() {
		v.bad("bgp.router_id", "%q: want a non-zero ipv4 address (RFC 4271 BGP identifier)", b.RouterID)
	}
	if ap, err := netip.ParseAddrPort(b.Listen); err != nil {
		v.bad("bgp.listen", "%q: bad listen address: want ip:port like 0.0.0.0:179 or [::]:179", b.Listen)
	} else if ap.Port() == 0 {
		v.bad("bgp.listen", "%q: want a non-zero port", b.Listen)
	}
	peers := map[netip.Addr]string{}
	for i, p := range b.Peers {
		base := indexPath("bgp.peers", i)
		if a, ok := v.addr(base+".address", p.Address); ok {
			if first := peers[a]; first != "" {
				v.bad(base+".address", "duplicate peer %s (first at %s)", a, v.at(first))
			} else {
				peers[a] = base + ".address"
			}
		}
		if p.ASN == 0 {
			v.bad(base+".asn", "missing asn (0 is reserved, RFC 7607)")
		}
	}
	ann := map[netip.Prefix]string{}
	for i, s := range b.Announce {
		p := indexPath("bgp.announce", i)
		if pfx, ok := v.network(p, s); ok {
			if first := ann[pfx]; first != "" {
				v.bad(p, "duplicate announcement %s (first at %s)", pfx, v.at(first))
			} else {
				ann[pfx] = p
			}
		}
	}
}

func (v *validator) sessions() {
	s := v.c.Sessions
	if s.Capacity <= 0 || s.Capacity > MaxSessionCapacity {
		v.bad("sessions.capacity", "capacity %d out of range 1..%d", s.Capacity, MaxSessionCapacity)
	}
	v.enum("sessions.evict", "evict policy", s.Evict, EvictOldest, EvictDropNew)
}

func (v *validator) api() {
	a := v.c.API
	switch {
	case a.Socket == "":
		v.bad("api.socket", "missing socket path")
	case !strings.HasPrefix(a.Socket, "@") && !filepath.IsAbs(a.Socket):
		v.bad("api.socket", "%q: want an absolute path (or @name for an abstract socket)", a.Socket)
	case len(a.Socket) > maxSocketPath:
		v.bad("api.socket", "%q: path longer than %d bytes (sockaddr_un limit)", a.Socket, maxSocketPath)
	}
	if a.Metrics != "" {
		v.hostPort("api.metrics", a.Metrics)
	}
}
