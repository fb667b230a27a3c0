package main

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
)

// kv is one field of a flattened packet: a dotted path and its value.
type kv struct{ k, v string }

// flattener turns an IP packet into its fields, with the values that
// legitimately differ between two NAT64s replaced by a name:
//
//   - IPv4 addresses of the NAT's own pool -> POOL, of the NAT itself -> NAT4;
//   - IPv6 address of the client the NAT serves -> CLIENT, of the NAT -> NAT6;
//   - on the IPv4 side, the source port (and echo Identifier) the NAT chose,
//     and the same port quoted as destination in an ICMP error -> MAPPED;
//   - the IPv4 Identification of a packet that is not a fragment -> ID;
//   - checksums -> ok / bad / zero (UDP) / quoted (a cut quote).
type flattener struct {
	n    *nat
	side string // "v4" or "v6": which side the packet was captured on
	out  []kv
}

func (f *flattener) add(k string, format string, a ...any) {
	f.out = append(f.out, kv{k, fmt.Sprintf(format, a...)})
}

func (f *flattener) addr4(a netip.Addr) string {
	if f.n.pool.Contains(a) {
		return "POOL"
	}
	for _, o := range f.n.own4 {
		if a == o {
			return "NAT4"
		}
	}
	return a.String()
}

func (f *flattener) addr6(a netip.Addr) string {
	if a == f.n.client {
		return "CLIENT"
	}
	for _, o := range f.n.own6 {
		if a == o {
			return "NAT6"
		}
	}
	return a.String()
}

func payload(b []byte) string {
	if len(b) <= 24 {
		return fmt.Sprintf("%d:%x", len(b), b)
	}
	h := sha256.Sum256(b)
	return fmt.Sprintf("%d:%x..:%x", len(b), b[:8], h[:6])
}

// ip flattens an IP packet (p may be a cut quote when in != "").
func (f *flattener) ip(pre string, p []byte, quoted bool) {
	if len(p) < 1 {
		f.add(pre+"truncated", "0")
		return
	}
	switch p[0] >> 4 {
	case 4:
		f.ip4(pre, p, quoted)
	case 6:
		f.ip6(pre, p, quoted)
	default:
		f.add(pre+"version", "%d", p[0]>>4)
	}
}

func (f *flattener) ip4(pre string, p []byte, quoted bool) {
	if len(p) < 20 {
		f.add(pre+"truncated", "%d", len(p))
		return
	}
	ihl := int(p[0]&15) * 4
	tl := int(be16(p[2:]))
	fo := be16(p[6:])
	off, df, mf := (fo&0x1fff)*8, fo&0x4000 != 0, fo&0x2000 != 0
	src, dst := netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
	f.add(pre+"ip4.ihl", "%d", ihl)
	f.add(pre+"ip4.tos", "%#02x", p[1])
	f.add(pre+"ip4.len", "%d", tl)
	if !mf && off == 0 {
		f.add(pre+"ip4.id", "ID")
	} else {
		f.add(pre+"ip4.id", "%#04x", be16(p[4:]))
	}
	f.add(pre+"ip4.df", "%v", df)
	f.add(pre+"ip4.mf", "%v", mf)
	f.add(pre+"ip4.off", "%d", off)
	f.add(pre+"ip4.ttl", "%d", p[8])
	f.add(pre+"ip4.proto", "%d", p[9])
	if ihl < 20 || ihl > len(p) {
		f.add(pre+"ip4.bad_ihl", "%d", ihl)
		return
	}
	if csum(p[:ihl], 0) == 0 {
		f.add(pre+"ip4.csum", "ok")
	} else {
		f.add(pre+"ip4.csum", "bad")
	}
	f.add(pre+"ip4.src", "%s", f.addr4(src))
	f.add(pre+"ip4.dst", "%s", f.addr4(dst))
	if ihl > 20 {
		f.add(pre+"ip4.options", "%x", p[20:ihl])
	}
	end := min(tl, len(p))
	if !quoted && (tl > len(p) || (tl < len(p) && len(p) > 46)) {
		f.add(pre+"ip4.frame_len", "%d", len(p)) // cut, or more than Ethernet padding
	}
	if end < ihl {
		return
	}
	seg := p[ihl:end]
	if off != 0 {
		f.add(pre+"data", "%s", payload(seg))
		return
	}
	whole := !mf && end == tl
	var ps uint32
	if p[9] != protoICMP {
		ps = pseudo4(src, dst, p[9], tl-ihl)
	}
	f.l4(pre, p[9], seg, ps, whole, quoted)
}

func (f *flattener) ip6(pre string, p []byte, quoted bool) {
	if len(p) < 40 {
		f.add(pre+"truncated", "%d", len(p))
		return
	}
	w := be32(p)
	plen := int(be16(p[4:]))
	src, dst := netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40]))
	f.add(pre+"ip6.tc", "%#02x", uint8(w>>20))
	f.add(pre+"ip6.flow", "%#x", w&0xfffff)
	f.add(pre+"ip6.plen", "%d", plen)
	f.add(pre+"ip6.hlim", "%d", p[7])
	f.add(pre+"ip6.src", "%s", f.addr6(src))
	f.add(pre+"ip6.dst", "%s", f.addr6(dst))
	if !quoted && (40+plen > len(p) || (40+plen < len(p) && len(p) > 46)) {
		f.add(pre+"ip6.frame_len", "%d", len(p))
	}
	end := min(40+plen, len(p))
	next, off := p[6], 40
	frag, more, fragOff := false, false, 0
	for i := 0; ; i++ {
		switch next {
		case protoHBH, protoDst, protoRH, protoFrag:
		default:
			goto upper
		}
		if off+8 > end {
			f.add(pre+"ext.truncated", "%d", next)
			return
		}
		h := p[off:]
		f.add(fmt.Sprintf("%sext%d.type", pre, i), "%d", next)
		if next == protoFrag {
			frag = true
			v := be16(h[2:])
			fragOff, more = int(v&0xfff8), v&1 != 0
			f.add(fmt.Sprintf("%sext%d.frag", pre, i), "off=%d m=%v id=%#x", fragOff, more, be32(h[4:]))
			next, off = h[0], off+8
			if fragOff != 0 {
				f.add(pre+"l4.proto", "%d", next)
				f.add(pre+"data", "%s", payload(p[off:end]))
				return
			}
			continue
		}
		l := (int(h[1]) + 1) * 8
		f.add(fmt.Sprintf("%sext%d.bytes", pre, i), "%x", h[:min(l, end-off)])
		next, off = h[0], off+l
		if off > end {
			return
		}
	}
upper:
	f.add(pre+"l4.proto", "%d", next)
	whole := !more && !frag && end == 40+plen
	if frag && !more && fragOff == 0 {
		whole = end == 40+plen // an atomic fragment
	}
	f.l4(pre, next, p[off:end], pseudo6(src, dst, next, 40+plen-off), whole, quoted)
}

// l4 flattens a transport segment; ps is the pseudo-header sum, whole
// whether seg is the complete segment (so its checksum can be verified).
func (f *flattener) l4(pre string, proto uint8, seg []byte, ps uint32, whole, quoted bool) {
	ck := func(at int) string {
		if len(seg) < at+2 {
			return "cut"
		}
		if proto == protoUDP && be16(seg[at:]) == 0 {
			return "zero"
		}
		if !whole {
			return "quoted"
		}
		if csum(seg, ps) == 0 {
			return "ok"
		}
		return "bad" // its value depends on the addresses and ports each NAT wrote
	}
	// Ports the NAT chose: the outer source on the IPv4 side, the quoted
	// destination (the packet the NAT had sent) in an error on that side.
	mapped := func(port uint16, isSrc bool) string {
		if f.side == "v4" && isSrc == (pre == "") {
			return "MAPPED"
		}
		return fmt.Sprint(port)
	}
	switch proto {
	case protoTCP:
		if len(seg) < 4 {
			f.add(pre+"tcp.cut", "%x", seg)
			return
		}
		f.add(pre+"tcp.sport", "%s", mapped(be16(seg), true))
		f.add(pre+"tcp.dport", "%s", mapped(be16(seg[2:]), false))
		if len(seg) < 20 {
			f.add(pre+"tcp.rest", "%x", seg[4:])
			return
		}
		f.add(pre+"tcp.seq", "%d", be32(seg[4:]))
		f.add(pre+"tcp.ack", "%d", be32(seg[8:]))
		f.add(pre+"tcp.flags", "%#02x", seg[13])
		f.add(pre+"tcp.win", "%d", be16(seg[14:]))
		f.add(pre+"tcp.csum", "%s", ck(16))
		h := int(seg[12]>>4) * 4
		if h > 20 && h <= len(seg) {
			f.add(pre+"tcp.options", "%x", seg[20:h])
		}
		if h <= len(seg) {
			f.add(pre+"tcp.payload", "%s", payload(seg[h:]))
		}
	case protoUDP:
		if len(seg) < 4 {
			f.add(pre+"udp.cut", "%x", seg)
			return
		}
		f.add(pre+"udp.sport", "%s", mapped(be16(seg), true))
		f.add(pre+"udp.dport", "%s", mapped(be16(seg[2:]), false))
		if len(seg) < 8 {
			f.add(pre+"udp.rest", "%x", seg[4:])
			return
		}
		f.add(pre+"udp.len", "%d", be16(seg[4:]))
		f.add(pre+"udp.csum", "%s", ck(6))
		f.add(pre+"udp.payload", "%s", payload(seg[8:]))
	case protoICMP, protoICMP6:
		name := "icmp"
		if proto == protoICMP6 {
			name = "icmp6"
		}
		if len(seg) < 4 {
			f.add(pre+name+".cut", "%x", seg)
			return
		}
		t := seg[0]
		f.add(pre+name+".type", "%d", t)
		f.add(pre+name+".code", "%d", seg[1])
		f.add(pre+name+".csum", "%s", ck(2))
		if len(seg) < 8 {
			return
		}
		echo := (proto == protoICMP && (t == 0 || t == 8)) || (proto == protoICMP6 && (t == 128 || t == 129))
		isErr := (proto == protoICMP && (t == 3 || t == 11 || t == 12)) || (proto == protoICMP6 && t < 128)
		switch {
		case echo:
			id := fmt.Sprint(be16(seg[4:]))
			if f.side == "v4" {
				id = "MAPPED"
			}
			f.add(pre+name+".id", "%s", id)
			f.add(pre+name+".seq", "%d", be16(seg[6:]))
			f.add(pre+name+".payload", "%s", payload(seg[8:]))
		case isErr && !quoted:
			f.add(pre+name+".rest", "%#08x", be32(seg[4:]))
			f.add(pre+name+".quote_len", "%d", len(seg)-8)
			f.ip("in.", seg[8:], true)
		default:
			f.add(pre+name+".rest", "%#08x", be32(seg[4:]))
			f.add(pre+name+".payload", "%s", payload(seg[8:]))
		}
	default:
		f.add(pre+"l4.data", "%s", payload(seg))
	}
}

func flatten(n *nat, side string, pkt []byte) []kv {
	f := &flattener{n: n, side: side}
	f.ip("", pkt, false)
	return f.out
}
