package main

import (
	"fmt"
	"net/netip"
)

// item is one entry of the corpus: the IP packets to send to a NAT (IPv6
// to its IPv6 side, IPv4 to its IPv4 side), built for that NAT because the
// client address, pool address and port differ. A non-empty reason means
// the item cannot be built for that NAT (the flow it needs was not mapped).
type item struct {
	id    string
	name  string
	learn string // forward items: record the mapping of this flow
	build func(n *nat) ([][]byte, string)
}

// The flows. Each forward item that opens one records its mapping; the
// reverse items send to it.
const (
	flowUDP  = "udp/40001"
	flowUDP2 = "udp/40002"
	flowTCP  = "tcp/40003"
	flowEcho = "icmp/0x4242"
	flowBig  = "udp/40004"
)

func one(p []byte) ([][]byte, string) { return [][]byte{p}, "" }

// v6 builds an IPv6 packet from the NAT's client to dst (an IPv4 address
// embedded in the prefix) with the transport segment seg, whose checksum
// it computes unless keep.
func v6(n *nat, dst netip.Addr, hl uint8, chain []ext, proto uint8, seg []byte, keep bool) []byte {
	d := embed4(prefix, dst)
	if !keep {
		fixL4(proto, seg, pseudo6(n.client, d, proto, len(seg)))
	}
	return ipv6(v6hdr{src: n.client, dst: d, hl: hl}, chain, proto, seg)
}

// v4 builds an IPv4 packet from remote to the NAT's mapping of flow.
func v4(n *nat, flow string, h v4hdr, proto uint8, seg func(port uint16) []byte) ([][]byte, string) {
	m, ok := n.maps[flow]
	if !ok {
		return nil, "no mapping for " + flow
	}
	s := seg(m.port)
	if h.src == (netip.Addr{}) {
		h.src = remote
	}
	h.dst = m.addr
	if h.ttl == 0 {
		h.ttl = 64
	}
	if !h.mf && h.off == 0 {
		fixL4(proto, s, pseudoFor4(proto, h.src, h.dst, len(s)))
	}
	return one(ipv4(h, proto, s))
}

func pseudoFor4(proto uint8, src, dst netip.Addr, n int) uint32 {
	if proto == protoICMP {
		return 0
	}
	return pseudo4(src, dst, proto, n)
}

// delivered6 is a packet as a NAT would have delivered it to the client
// (from the prefix to the client), for quoting in an ICMPv6 error.
func delivered6(n *nat, proto uint8, seg []byte) []byte {
	s := embed4(prefix, remote)
	fixL4(proto, seg, pseudo6(s, n.client, proto, len(seg)))
	return ipv6(v6hdr{src: s, dst: n.client, hl: 60}, nil, proto, seg)
}

// sent4 is a packet as the NAT sent it out of the IPv4 side for flow (from
// its mapping to remote), for quoting in an ICMPv4 error.
func sent4(n *nat, flow string, id uint16, df bool, proto uint8, seg func(port uint16) []byte) ([]byte, bool) {
	m, ok := n.maps[flow]
	if !ok {
		return nil, false
	}
	s := seg(m.port)
	fixL4(proto, s, pseudoFor4(proto, m.addr, remote, len(s)))
	return ipv4(v4hdr{src: m.addr, dst: remote, ttl: 62, id: id, df: df}, proto, s), true
}

// icmp4err is an ICMPv4 error from remote to the NAT's mapping of flow,
// quoting q (cut to cut bytes, 0 for all).
func icmp4err(n *nat, flow string, t, code uint8, rest uint32, q []byte, cut int) ([][]byte, string) {
	if cut > 0 && cut < len(q) {
		q = q[:cut]
	}
	return v4(n, flow, v4hdr{}, protoICMP, func(uint16) []byte { return errSeg(t, code, rest, q) })
}

func corpus() []*item {
	var c []*item
	add := func(name, learn string, b func(n *nat) ([][]byte, string)) {
		c = append(c, &item{name: name, learn: learn, build: b})
	}
	udp := func(sport, dport uint16, pl []byte) []byte { return udpSeg(sport, dport, pl) }

	// IPv6 -> IPv4 (sent to the IPv6 side).
	add("udp", flowUDP, func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoUDP, udp(40001, 53, []byte("a UDP datagram for the diff")), false))
	})
	add("udp-tclass-flowlabel", "", func(n *nat) ([][]byte, string) {
		p := v6(n, remote, 64, nil, protoUDP, udp(40001, 53, []byte("tclass")), false)
		put32(p, 6<<28|0xb8<<20|0xabcde)
		return one(p)
	})
	add("udp-zero-checksum", flowUDP2, func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoUDP, udp(40002, 53, []byte("zero checksum over IPv6")), true))
	})
	add("udp-bad-checksum", "", func(n *nat) ([][]byte, string) {
		p := v6(n, remote, 64, nil, protoUDP, udp(40001, 53, []byte("bad checksum")), false)
		p[46] ^= 0x55
		return one(p)
	})
	add("tcp-syn", flowTCP, func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoTCP, tcpSeg(40003, 80, 1000, 0, synF, synOpts, nil), false))
	})
	add("tcp-ack-data", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoTCP, tcpSeg(40003, 80, 1001, 5001, ackF|pshF, nil, fill(100, 'a')), false))
	})
	add("tcp-ack-no-session", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoTCP, tcpSeg(40010, 80, 1, 1, ackF, nil, nil), false))
	})
	add("echo-request", flowEcho, func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoICMP6, echoSeg(128, 0x4242, 1, fill(56, 0x10)), false))
	})
	add("echo-reply-unsolicited", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoICMP6, echoSeg(129, 0x4343, 1, fill(16, 0x20)), false))
	})
	add("udp-1200-bytes", flowBig, func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoUDP, udp(40004, 53, fill(1200-28, 1)), false))
	})
	add("udp-1400-bytes", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoUDP, udp(40004, 53, fill(1400-28, 2)), false))
	})
	add("udp-1500-bytes-ipv6", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoUDP, udp(40004, 53, fill(1500-48, 3)), false))
	})
	add("hop-by-hop", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, []ext{hbhPadN()}, protoUDP, udp(40001, 53, []byte("hop-by-hop")), false))
	})
	add("destination-options", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, []ext{dstPadN()}, protoUDP, udp(40001, 53, []byte("dstopts")), false))
	})
	add("routing-header-sl0", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, []ext{rh0(0, n.client)}, protoUDP, udp(40001, 53, []byte("rh sl 0")), false))
	})
	add("routing-header-sl1", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, []ext{rh0(1, embed4(prefix, remote))}, protoUDP, udp(40001, 53, []byte("rh sl 1")), false))
	})
	add("atomic-fragment", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, []ext{fragExt(0, false, 0x5555)}, protoUDP, udp(40001, 53, []byte("atomic")), false))
	})
	// A UDP datagram of 8+200 bytes in two fragments: the checksum covers
	// the whole datagram.
	fragUDP := func(n *nat) ([]byte, netip.Addr) {
		d := embed4(prefix, remote)
		seg := udp(40001, 53, fill(200, 0x30))
		fixL4(protoUDP, seg, pseudo6(n.client, d, protoUDP, len(seg)))
		return seg, d
	}
	add("fragment-first", "", func(n *nat) ([][]byte, string) {
		seg, d := fragUDP(n)
		return one(ipv6(v6hdr{src: n.client, dst: d, hl: 64}, []ext{fragExt(0, true, 0xabc1)}, protoUDP, seg[:104]))
	})
	add("fragment-second", "", func(n *nat) ([][]byte, string) {
		seg, d := fragUDP(n)
		return one(ipv6(v6hdr{src: n.client, dst: d, hl: 64}, []ext{fragExt(104, false, 0xabc1)}, protoUDP, seg[104:]))
	})
	add("fragments-out-of-order", "", func(n *nat) ([][]byte, string) {
		seg, d := fragUDP(n)
		h := v6hdr{src: n.client, dst: d, hl: 64}
		return [][]byte{
			ipv6(h, []ext{fragExt(104, false, 0xabc3)}, protoUDP, seg[104:]),
			ipv6(h, []ext{fragExt(0, true, 0xabc3)}, protoUDP, seg[:104]),
		}, ""
	})
	add("fragmented-echo", "", func(n *nat) ([][]byte, string) {
		d := embed4(prefix, remote)
		seg := echoSeg(128, 0x4242, 2, fill(100, 0x40))
		fixL4(protoICMP6, seg, pseudo6(n.client, d, protoICMP6, len(seg)))
		h := v6hdr{src: n.client, dst: d, hl: 64}
		return [][]byte{
			ipv6(h, []ext{fragExt(0, true, 0xabc2)}, protoICMP6, seg[:56]),
			ipv6(h, []ext{fragExt(56, false, 0xabc2)}, protoICMP6, seg[56:]),
		}, ""
	})
	add("hop-limit-1", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 1, nil, protoUDP, udp(40001, 53, []byte("hop limit 1")), false))
	})
	add("hop-limit-2-beyond", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, server, 2, nil, protoUDP, udp(40011, 33434, []byte("traceroute")), false))
	})
	add("sctp", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoSCTP, fill(32, 0x50), true))
	})
	add("no-next-header", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoNone, nil, true))
	})
	add("icmp6-unknown-informational", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoICMP6, echoSeg(200, 1, 1, fill(8, 0)), false))
	})
	// ICMPv6 errors from the client about packets the NAT delivered to it.
	quoteUDP := func(n *nat) []byte { return delivered6(n, protoUDP, udp(53, 40001, []byte("the answer"))) }
	add("err6-port-unreachable", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoICMP6, errSeg(1, 4, 0, quoteUDP(n)), false))
	})
	add("err6-addr-unreachable", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoICMP6, errSeg(1, 3, 0, quoteUDP(n)), false))
	})
	add("err6-admin-prohibited", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoICMP6, errSeg(1, 1, 0, quoteUDP(n)), false))
	})
	add("err6-packet-too-big", "", func(n *nat) ([][]byte, string) {
		q := delivered6(n, protoTCP, tcpSeg(80, 40003, 5000, 1001, ackF, nil, fill(1300, 'b')))
		return one(v6(n, remote, 64, nil, protoICMP6, errSeg(2, 0, 1400, q[:1280-48]), false))
	})
	add("err6-time-exceeded-echo", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoICMP6, errSeg(3, 0, 0, delivered6(n, protoICMP6, echoSeg(129, 0x4242, 1, fill(56, 0x10)))), false))
	})
	add("err6-param-problem-hlim", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoICMP6, errSeg(4, 0, 7, quoteUDP(n)), false))
	})
	add("err6-param-problem-nh", "", func(n *nat) ([][]byte, string) {
		return one(v6(n, remote, 64, nil, protoICMP6, errSeg(4, 1, 6, quoteUDP(n)), false))
	})
	add("err6-bad-checksum", "", func(n *nat) ([][]byte, string) {
		p := v6(n, remote, 64, nil, protoICMP6, errSeg(1, 4, 0, quoteUDP(n)), false)
		p[42] ^= 0x55
		return one(p)
	})
	add("err6-quoting-tcp-cut", "", func(n *nat) ([][]byte, string) {
		q := delivered6(n, protoTCP, tcpSeg(80, 40003, 5000, 1001, ackF, nil, nil))
		return one(v6(n, remote, 64, nil, protoICMP6, errSeg(1, 4, 0, q[:48]), false))
	})

	// IPv4 -> IPv6 (sent to the IPv4 side, to the pool address and port of
	// the flows above).
	udpTo := func(pl []byte) func(uint16) []byte {
		return func(p uint16) []byte { return udpSeg(53, p, pl) }
	}
	add("r-udp", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x1001}, protoUDP, udpTo([]byte("the answer")))
	})
	add("r-udp-tos-df", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x1002, tos: 0xb8, df: true}, protoUDP, udpTo([]byte("tos and df")))
	})
	add("r-udp-zero-checksum", "", func(n *nat) ([][]byte, string) {
		m, ok := n.maps[flowUDP]
		if !ok {
			return nil, "no mapping"
		}
		return one(ipv4(v4hdr{src: remote, dst: m.addr, ttl: 64, id: 0x1003}, protoUDP, udpSeg(53, m.port, []byte("zero checksum"))))
	})
	add("r-udp-bad-checksum", "", func(n *nat) ([][]byte, string) {
		ps, why := v4(n, flowUDP, v4hdr{id: 0x1004}, protoUDP, udpTo([]byte("bad udp checksum")))
		if why == "" {
			ps[0][26] ^= 0x55
		}
		return ps, why
	})
	add("r-tcp-synack", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowTCP, v4hdr{id: 0x1005, df: true}, protoTCP, func(p uint16) []byte {
			return tcpSeg(80, p, 5000, 1001, synF|ackF, synOpts, nil)
		})
	})
	add("r-echo-reply", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowEcho, v4hdr{id: 0x1006}, protoICMP, func(p uint16) []byte { return echoSeg(0, p, 1, fill(56, 0x10)) })
	})
	add("r-echo-request-to-mapping", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowEcho, v4hdr{id: 0x1007}, protoICMP, func(p uint16) []byte { return echoSeg(8, p, 9, fill(8, 0x11)) })
	})
	add("r-udp-1500-df", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x1008, df: true}, protoUDP, udpTo(fill(1472, 4)))
	})
	add("r-udp-1500-no-df", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x1009}, protoUDP, udpTo(fill(1472, 5)))
	})
	add("r-udp-1260-no-df", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x100a}, protoUDP, udpTo(fill(1260-28, 6)))
	})
	fragUDP4 := func(n *nat) ([]byte, mapping, bool) {
		m, ok := n.maps[flowUDP]
		if !ok {
			return nil, m, false
		}
		seg := udpSeg(53, m.port, fill(200, 0x60))
		fixL4(protoUDP, seg, pseudo4(remote, m.addr, protoUDP, len(seg)))
		return seg, m, true
	}
	add("r-fragment-first", "", func(n *nat) ([][]byte, string) {
		seg, m, ok := fragUDP4(n)
		if !ok {
			return nil, "no mapping"
		}
		return one(ipv4(v4hdr{src: remote, dst: m.addr, ttl: 64, id: 0x2001, mf: true}, protoUDP, seg[:104]))
	})
	add("r-fragment-second", "", func(n *nat) ([][]byte, string) {
		seg, m, ok := fragUDP4(n)
		if !ok {
			return nil, "no mapping"
		}
		return one(ipv4(v4hdr{src: remote, dst: m.addr, ttl: 64, id: 0x2001, off: 104}, protoUDP, seg[104:]))
	})
	add("r-fragments-out-of-order", "", func(n *nat) ([][]byte, string) {
		seg, m, ok := fragUDP4(n)
		if !ok {
			return nil, "no mapping"
		}
		return [][]byte{
			ipv4(v4hdr{src: remote, dst: m.addr, ttl: 64, id: 0x2004, off: 104}, protoUDP, seg[104:]),
			ipv4(v4hdr{src: remote, dst: m.addr, ttl: 64, id: 0x2004, mf: true}, protoUDP, seg[:104]),
		}, ""
	})
	add("r-fragment-zero-checksum", "", func(n *nat) ([][]byte, string) {
		m, ok := n.maps[flowUDP]
		if !ok {
			return nil, "no mapping"
		}
		seg := udpSeg(53, m.port, fill(200, 0x70))
		return one(ipv4(v4hdr{src: remote, dst: m.addr, ttl: 64, id: 0x2002, mf: true}, protoUDP, seg[:104]))
	})
	add("r-fragmented-echo-reply", "", func(n *nat) ([][]byte, string) {
		m, ok := n.maps[flowEcho]
		if !ok {
			return nil, "no mapping"
		}
		seg := echoSeg(0, m.port, 3, fill(100, 0x12))
		fixL4(protoICMP, seg, 0)
		return [][]byte{
			ipv4(v4hdr{src: remote, dst: m.addr, ttl: 64, id: 0x2003, mf: true}, protoICMP, seg[:56]),
			ipv4(v4hdr{src: remote, dst: m.addr, ttl: 64, id: 0x2003, off: 56}, protoICMP, seg[56:]),
		}, ""
	})
	add("r-ttl-1", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x100b, ttl: 1}, protoUDP, udpTo([]byte("ttl 1")))
	})
	add("r-options-record-route", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x100c, opts: []byte{7, 7, 4, 0, 0, 0, 0, 1}}, protoUDP, udpTo([]byte("record route")))
	})
	add("r-options-lsrr", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x100d, opts: []byte{1, 131, 7, 4, 192, 0, 2, 9}}, protoUDP, udpTo([]byte("loose source route")))
	})
	add("r-bad-header-checksum", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x100e, badSum: true}, protoUDP, udpTo([]byte("bad ip checksum")))
	})
	add("r-udp-unbound-port", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x100f}, protoUDP, func(p uint16) []byte { return udpSeg(53, p+1, []byte("unbound")) })
	})
	add("r-tcp-syn-to-udp-mapping", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowUDP, v4hdr{id: 0x1010}, protoTCP, func(p uint16) []byte { return tcpSeg(80, p, 7, 0, synF, nil, nil) })
	})
	add("r-sctp", "", func(n *nat) ([][]byte, string) {
		m, ok := n.maps[flowUDP]
		if !ok {
			return nil, "no mapping"
		}
		return one(ipv4(v4hdr{src: remote, dst: m.addr, ttl: 64, id: 0x1011}, protoSCTP, fill(32, 0x50)))
	})
	add("r-icmp-timestamp", "", func(n *nat) ([][]byte, string) {
		return v4(n, flowEcho, v4hdr{id: 0x1012}, protoICMP, func(p uint16) []byte { return echoSeg(13, p, 1, fill(12, 0)) })
	})
	// ICMPv4 errors about packets the NAT sent to remote.
	qUDP := func(n *nat) ([]byte, bool) {
		return sent4(n, flowUDP, 0x3001, false, protoUDP, func(p uint16) []byte { return udpSeg(p, 53, []byte("a UDP datagram for the diff")) })
	}
	qTCP := func(n *nat) ([]byte, bool) {
		return sent4(n, flowTCP, 0x3002, true, protoTCP, func(p uint16) []byte { return tcpSeg(p, 80, 1001, 5001, ackF, nil, fill(1400-40, 'c')) })
	}
	errAbout := func(name string, q func(*nat) ([]byte, bool), flow string, t, code uint8, rest uint32, cut int) {
		add(name, "", func(n *nat) ([][]byte, string) {
			p, ok := q(n)
			if !ok {
				return nil, "no mapping"
			}
			return icmp4err(n, flow, t, code, rest, p, cut)
		})
	}
	errAbout("r-err-port-unreachable", qUDP, flowUDP, 3, 3, 0, 0)
	errAbout("r-err-port-unreachable-cut8", qUDP, flowUDP, 3, 3, 0, 28)
	errAbout("r-err-host-unreachable", qUDP, flowUDP, 3, 1, 0, 0)
	errAbout("r-err-proto-unreachable", qUDP, flowUDP, 3, 2, 0, 0)
	errAbout("r-err-admin-prohibited", qUDP, flowUDP, 3, 13, 0, 0)
	errAbout("r-err-frag-needed-1200", qTCP, flowTCP, 3, 4, 1200, 576-28)
	errAbout("r-err-frag-needed-0", qTCP, flowTCP, 3, 4, 0, 576-28)
	errAbout("r-err-time-exceeded", qUDP, flowUDP, 11, 0, 0, 0)
	errAbout("r-err-param-problem-ttl", qUDP, flowUDP, 12, 0, 8<<24, 0)
	errAbout("r-err-param-problem-id", qUDP, flowUDP, 12, 0, 4<<24, 0)
	errAbout("r-err-time-exceeded-echo", func(n *nat) ([]byte, bool) {
		return sent4(n, flowEcho, 0x3003, false, protoICMP, func(p uint16) []byte { return echoSeg(8, p, 1, fill(56, 0x10)) })
	}, flowEcho, 11, 0, 0, 0)
	add("r-err-bad-checksum", "", func(n *nat) ([][]byte, string) {
		p, ok := qUDP(n)
		if !ok {
			return nil, "no mapping"
		}
		ps, why := icmp4err(n, flowUDP, 3, 3, 0, p, 0)
		if why == "" {
			ps[0][22] ^= 0x55
		}
		return ps, why
	})

	for i, it := range c {
		it.id = fmt.Sprintf("%02d", i+1)
	}
	return c
}
