package main

import (
	"strconv"
	"strings"
)

// known is a difference between xdpgw and tayga that is understood: the
// clause of the RFC behind xdpgw's choice, or an xdpgw bug already
// reported (bug: true; the report names it, and it is removed once fixed).
// docs/nat64.md lists the same table.
type known struct {
	id     string
	items  []string // item names (a prefix ending in * matches several); nil: any
	fields []string // flattened fields (patterns as items), or "v4.count" / "v6.count"
	xdpgw  string   // xdpgw's value ("*": any)
	tayga  string   // tayga's value ("*": any)
	check  func(x, t string) bool
	bug    bool
}

// lessBy returns a check that xdpgw's number exceeds tayga's by 1..n.
func lessBy(n int) func(x, t string) bool {
	return func(x, t string) bool {
		a, err1 := strconv.Atoi(x)
		b, err2 := strconv.Atoi(t)
		return err1 == nil && err2 == nil && a-b >= 1 && a-b <= n
	}
}

var knownDiffs = []known{
	// tayga sits behind the kernel: a packet is forwarded into the TUN
	// (one decrement), tayga decrements, and the kernel forwards what it
	// writes (another): xdpgw is one router hop (RFC 7915 §4.1, §5.1).
	{id: "ttl-one-hop", fields: []string{"ip4.ttl", "ip6.hlim", "in.ip4.ttl"}, xdpgw: "*", tayga: "*", check: lessBy(2)},
	// ... so a hop limit of 2 expires inside tayga's box, while through
	// xdpgw it expires at the IPv4 router one hop on, whose ICMPv4 Time
	// Exceeded (TOS 0xc0) xdpgw translates (Traffic Class = TOS, §4.1).
	{id: "ttl-one-hop", items: []string{"hop-limit-2-beyond"}, fields: []string{"v4.count"}, xdpgw: "1", tayga: "0"},
	{id: "ttl-one-hop", items: []string{"hop-limit-2-beyond"}, fields: []string{"ip6.src"}, xdpgw: "fd00:64::c000:202", tayga: "NAT6"},
	{id: "ttl-one-hop", items: []string{"hop-limit-2-beyond"}, fields: []string{"ip6.tc"}, xdpgw: "0xc0", tayga: "0x00"},
	// RFC 7915 §5.1: DF is 0 when the IPv4 packet is at most 1260 bytes
	// (tayga 0.9.2 follows RFC 6145, DF always 1); the quoted packet of a
	// translated error is translated by the same rule (§5.3).
	{id: "df-1260", fields: []string{"ip4.df", "in.ip4.df"}, xdpgw: "false", tayga: "true"},
	// RFC 6146 §3.5.2.2 (TCP: only a SYN opens a session), §3.5.3 (ICMP:
	// only an echo request opens one), §3.5.1.2/§3.5.2.2 (from the IPv4
	// side, only to a bound transport address of the same protocol): tayga
	// is a stateless translator with a 1:1 address pool.
	{id: "stateful-filtering", items: []string{"tcp-ack-no-session", "echo-reply-unsolicited", "r-udp-unbound-port", "r-tcp-syn-to-udp-mapping"},
		fields: []string{"v4.count", "v6.count"}, xdpgw: "0", tayga: "1"},
	// RFC 6146 §1.1, §3.5: the stateful NAT64 handles TCP, UDP and ICMP;
	// other protocols have no ports to map (tayga, stateless, passes them).
	{id: "stateful-protocols", items: []string{"sctp", "no-next-header", "r-sctp"}, fields: []string{"v4.count", "v6.count"}, xdpgw: "0", tayga: "1"},
	// RFC 7915 §5.2 (ICMPv6 -> ICMPv4: Destination Unreachable code 3 ->
	// code 1, Time Exceeded, Parameter Problem code 0 through Figure 6, a
	// quote that ends after the ports) and §4.2 (Parameter Problem pointer
	// 8 -> 7): tayga drops these; xdpgw translates them as the RFC says.
	{id: "tayga-drops-error", items: []string{"err6-addr-unreachable", "err6-time-exceeded-echo", "err6-param-problem-hlim", "err6-quoting-tcp-cut", "r-err-param-problem-ttl"},
		fields: []string{"v4.count", "v6.count"}, xdpgw: "1", tayga: "0"},
	// A zero UDP checksum from the IPv6 side (illegal there, RFC 8200
	// §8.1, except for tunnels, RFC 6936): RFC 7915 has no rule; xdpgw
	// forwards it unchanged (zero is legal in IPv4, RFC 768) rather than
	// judging it, tayga drops it.
	{id: "udp-zero-checksum-6to4", items: []string{"udp-zero-checksum"}, fields: []string{"v4.count"}, xdpgw: "1", tayga: "0"},
	// RFC 7915 §4.5 / RFC 6146 §3.4: a whole IPv4 UDP datagram with a
	// zero checksum gets one computed (the translator's option; tayga
	// takes the other, dropping it).
	{id: "udp-zero-checksum-4to6", items: []string{"r-udp-zero-checksum"}, fields: []string{"v6.count"}, xdpgw: "1", tayga: "0"},
	// The flow label of the ICMPv6 errors each box originates: tayga's
	// kernel hashes one (RFC 6437 §3 allows it), xdpgw writes 0 (allowed
	// too, and what RFC 7915 §4.1 writes into translated packets).
	{id: "error-flow-label", items: []string{"hop-limit-1"}, fields: []string{"ip6.flow"}, xdpgw: "0x0", tayga: "*"},
	// The ICMPv4 errors xdpgw originates have TOS 0xc0 (RFC 1812 §4.3.2.5),
	// tayga's 0; xdpgw quotes the offending packet as it arrived (TTL not
	// yet decremented, RFC 1812 §4.3.2.3), tayga's kernel after its
	// decrement (covered by ttl-one-hop).
	{id: "error-tos", items: []string{"r-udp-1500-df"}, fields: []string{"ip4.tos"}, xdpgw: "0xc0", tayga: "0x00"},
	// RFC 7915 §5.1: a packet with a Routing header whose Segments Left
	// is not 0 MUST NOT be translated (tayga translates it).
	{id: "routing-header", items: []string{"routing-header-sl1"}, fields: []string{"v4.count"}, xdpgw: "0", tayga: "1"},
	// ... and SHOULD get a Parameter Problem pointing at Segments Left
	// back (xdpgw sends it; tayga sends none).
	{id: "routing-header", items: []string{"routing-header-sl1"}, fields: []string{"v6.count"}, xdpgw: "1", tayga: "0"},
	// RFC 7915 §4.1: an IPv4 packet with an unexpired source route
	// (LSRR/SSRR) MUST NOT be translated and SHOULD get ICMPv4 Destination
	// Unreachable / Source Route Failed (type 3 code 5) back: xdpgw sends
	// it; tayga drops the packet silently.
	{id: "source-route-failed", items: []string{"r-options-lsrr"}, fields: []string{"v4.count"}, xdpgw: "1", tayga: "0"},
	{id: "source-route-failed", items: []string{"r-options-lsrr"}, fields: []string{"*"}, xdpgw: "*", tayga: "*"},
	// RFC 6146 §3.4: a fragment that arrives before the first fragment of
	// its datagram may be queued or dropped; xdpgw keeps no fragments
	// (bounded memory) and drops it; tayga, stateless, translates it.
	{id: "fragment-order", items: []string{"fragments-out-of-order", "r-fragments-out-of-order"}, fields: []string{"v4.count", "v6.count"}, xdpgw: "1", tayga: "2"},
	{id: "fragment-order", items: []string{"fragments-out-of-order", "r-fragments-out-of-order"}, fields: []string{"*"}, xdpgw: "*", tayga: "*"},

	// xdpgw bugs (reported; remove the entry when fixed).
	// RFC 7915 §4.1: a DF-clear IPv4 datagram too big for the IPv6 link is
	// fragmented; xdpgw cuts to the IPv6 port's MTU (1500 here), tayga to
	// 1280, so the fragments differ in size and number.
	{id: "fragment-size", items: []string{"r-udp-1500-no-df"}, fields: []string{"*"}, xdpgw: "*", tayga: "*"},
}

var knownUsed = map[string]bool{}

func match(pat, s string) bool {
	if pat == "*" {
		return true
	}
	if strings.HasSuffix(pat, "*") {
		return strings.HasPrefix(s, strings.TrimSuffix(pat, "*"))
	}
	return pat == s
}

func lookupKnown(item, field, xv, tv string) *known {
	for i := range knownDiffs {
		k := &knownDiffs[i]
		if !match(k.xdpgw, xv) || !match(k.tayga, tv) || (k.check != nil && !k.check(xv, tv)) {
			continue
		}
		ok := false
		for _, f := range k.fields {
			ok = ok || match(f, field)
		}
		if !ok {
			continue
		}
		if k.items == nil {
			return k
		}
		for _, p := range k.items {
			if match(p, item) {
				return k
			}
		}
	}
	return nil
}
