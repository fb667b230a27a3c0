package pipeline

import (
	"net/netip"
	"strconv"
	"time"

	"xdpgw/dataplane/packet"
	"xdpgw/dataplane/session"
)

// SessionInfo is a session-table entry as an operator reads it (the
// daemon's GET /v1/sessions, xdpgw ctl sessions). Not for the data path.
type SessionInfo struct {
	// Kind: "flow" (a gateway flow), "nat64" (a NAT64 session), "bib" (a
	// NAT64 binding (X',x) <-> (T,t)) or "fragment" (the mapping the
	// later fragments of a datagram use).
	Kind  string `json:"kind"`
	Proto string `json:"proto"`
	// State is the RFC 6146 TCP state of a TCP session or flow.
	State string `json:"state,omitempty"`
	// IdleS is how long nothing was seen, ExpiresInS how long it has left
	// (0: expired, removed by the next sweep or insert that meets it).
	IdleS      int64 `json:"idle_s"`
	ExpiresInS int64 `json:"expires_in_s"`

	// NAT64: the IPv6 client (X',x), the IPv4 server (Y,y: reached as
	// Prefix::Y) and the pool address (T,t) standing for the client.
	Client string `json:"client,omitempty"`
	Remote string `json:"remote,omitempty"`
	Pool   string `json:"pool,omitempty"`

	// Gateway flows: the tenant, its EIP and which side opened the flow.
	Tenant   string `json:"tenant,omitempty"`
	EIP      string `json:"eip,omitempty"`
	OpenedBy string `json:"opened_by,omitempty"`

	// The two keys as stored: zone, protocol, source -> destination.
	Forward string `json:"forward"`
	Reply   string `json:"reply"`
}

// DescribeSession explains the session (fwd, e) of table t at now under
// this Env (session.Table.Range gives both).
func (env *Env) DescribeSession(t *session.Table, fwd *session.Key, e *session.Entry, now int64) SessionInfo {
	idle := t.Idle(e, now)
	left := max(t.Timeout(e.Class)-idle, 0)
	in := SessionInfo{Proto: protoName(fwd.Proto), IdleS: int64(idle / time.Second), ExpiresInS: int64(left / time.Second),
		Forward: tupleString(fwd), Reply: tupleString(&e.Other)}
	if fwd.Proto == packet.ProtoTCP {
		in.State = e.State.String()
	}
	rev := &e.Other
	switch fwd.Zone {
	case zoneNAT64:
		in.Kind = "nat64"
		in.Client = endpoint(fwd, true)
		in.Remote = addrPort(rev.Src, rev.SrcPort)
		in.Pool = addrPort(rev.Dst, rev.DstPort)
	case zoneBIB:
		in.Kind = "bib"
		in.Client = endpoint(fwd, true)
		in.Pool = addrPort(rev.Src, rev.SrcPort)
	case zoneFrag6, zoneFrag4:
		in.Kind = "fragment"
	default:
		in.Kind = "flow"
		// RFC 6146's state names say V6 for the side that opened, V4
		// for the other: for a gateway flow, the opener and the replier.
		if in.State != "" && int(e.State) < len(flowStateNames) {
			in.State = flowStateNames[e.State]
		}
		kind, _, _ := FlowPorts(e.Value)
		switch kind {
		case kindIngress:
			in.OpenedBy = "internet"
		case kindEgress:
			in.OpenedBy = "tenant"
		}
		if g := env.Gateway; g != nil && kind != 0 {
			if ei := int(e.Value[flowEIP]); ei < len(g.EIPs) {
				in.EIP = netip.AddrFrom4(g.EIPs[ei].Addr).String()
				in.Tenant = g.Tenants[g.EIPs[ei].Tenant].Name
			}
		}
	}
	return in
}

// SessionMatches reports whether any address of the session's two keys is
// a (IPv4 addresses are the first 4 bytes of a key's address fields; a
// NAT64 forward key's source is a whole IPv6 address).
func SessionMatches(fwd *session.Key, e *session.Entry, a netip.Addr) bool {
	if a.Is6() && !a.Is4In6() {
		return fwd.Family == session.FamilyNAT64 && netip.AddrFrom16(fwd.Src) == a
	}
	a4 := a.Unmap().As4()
	for _, k := range []*session.Key{fwd, &e.Other} {
		if (k.Family == session.FamilyIPv4 && [4]byte(k.Src[:4]) == a4) || [4]byte(k.Dst[:4]) == a4 {
			return true
		}
	}
	return false
}

// flowStateNames name session.TCPState for a gateway flow.
var flowStateNames = [session.NumTCPStates]string{
	session.StateClosed:      "CLOSED",
	session.StateV4Init:      "SYN FROM REPLIER",
	session.StateV6Init:      "SYN FROM OPENER",
	session.StateEstablished: "ESTABLISHED",
	session.StateV4FinRcv:    "FIN FROM REPLIER",
	session.StateV6FinRcv:    "FIN FROM OPENER",
	session.StateV4V6FinRcv:  "FIN FROM BOTH",
	session.StateTrans:       "TRANS",
}

func protoName(p uint8) string {
	switch p {
	case packet.ProtoTCP:
		return "tcp"
	case packet.ProtoUDP:
		return "udp"
	case packet.ProtoICMP:
		return "icmp"
	case packet.ProtoICMPv6:
		return "icmpv6"
	}
	return strconv.Itoa(int(p))
}

func addrPort(a [16]byte, port uint16) string {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[:4])), port).String()
}

// endpoint is a key's source, IPv6 for a NAT64 key.
func endpoint(k *session.Key, src bool) string {
	if k.Family == session.FamilyNAT64 && src {
		return netip.AddrPortFrom(netip.AddrFrom16(k.Src), k.SrcPort).String()
	}
	if src {
		return addrPort(k.Src, k.SrcPort)
	}
	return addrPort(k.Dst, k.DstPort)
}

// tupleString is "zone Z proto src:port -> dst:port".
func tupleString(k *session.Key) string {
	return "zone " + strconv.Itoa(int(k.Zone)) + " " + protoName(k.Proto) + " " + endpoint(k, true) + " -> " + endpoint(k, false)
}

// NAT64SessionKeys are the session-table keys of the NAT64 session of
// client (X',x) with server (Y,y) over TCP or UDP, mapped to pool address
// (T,t): the keys the data plane inserts for it, for tools and benchmarks
// that fill a table without sending the packets (TestNAT64SessionKeys
// checks them against the data plane's own).
func NAT64SessionKeys(proto uint8, x6 [16]byte, x uint16, y [4]byte, yport uint16, t [4]byte, tport uint16) (fwd, rev session.Key) {
	fwd = session.Key{Family: session.FamilyNAT64, Zone: zoneNAT64, Proto: proto, Src: x6, SrcPort: x, DstPort: yport}
	copy(fwd.Dst[:4], y[:])
	rev = session.Key{Family: session.FamilyIPv4, Zone: zoneNAT64, Proto: proto, SrcPort: yport, DstPort: tport}
	copy(rev.Src[:4], y[:])
	copy(rev.Dst[:4], t[:])
	return fwd, rev
}
