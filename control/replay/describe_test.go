package replay_test

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/pipeline"
	"xdpgw/dataplane/session"
)

// TestDescribeSessions: what xdpgw ctl sessions shows for a NAT64 TCP
// connection (its session and its binding) and a gateway flow, and the
// address filter.
func TestDescribeSessions(t *testing.T) {
	g := newGW(t, nil)
	const at = int64(100e9)
	pkt := g.expectTx(g.sendAt(portV6, from6().TCP(50000, 80, "S").Bytes(), at), portV4)
	ip, _ := decode4(t, pkt)
	tport := uint16(pkt.Layer(layers.LayerTypeTCP).(*layers.TCP).SrcPort)
	pool := netip.AddrPortFrom(netip.MustParseAddr(ip.SrcIP.String()), tport).String()
	g.expectTx(g.sendAt(portV4, fromServer(ip.SrcIP.String()).TCP(80, tport, "SA").Bytes(), at+1e6), portV6)
	g.expectTx(g.sendAt(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes(), at), portUnder)

	tab := g.dp.Sessions()
	env := g.dp.Env()
	byKind := map[string]pipeline.SessionInfo{}
	matches := map[string]int{}
	tab.Range(0, func(fwd *session.Key, e *session.Entry) bool {
		in := env.DescribeSession(tab, fwd, e, at+10e9)
		if _, dup := byKind[in.Kind]; dup {
			t.Errorf("two %s entries: %+v", in.Kind, in)
		}
		byKind[in.Kind] = in
		for _, a := range []string{client6, "1.1.1.7", "2.2.2.11", "198.51.100.200"} {
			if pipeline.SessionMatches(fwd, e, netip.MustParseAddr(a)) {
				matches[a]++
			}
		}
		return true
	})
	n, b, f := byKind["nat64"], byKind["bib"], byKind["flow"]
	client := "[" + client6 + "]:50000"
	if n.Client != client || n.Remote != "2.2.2.11:80" || n.Pool != pool || n.Proto != "tcp" || n.State != "ESTABLISHED" {
		t.Errorf("nat64 session: %+v", n)
	}
	if n.IdleS < 9 || n.IdleS > 11 || n.ExpiresInS < 7400 || n.ExpiresInS > 7450 {
		t.Errorf("nat64 session idle %d s, expires in %d s; want ~10 and ~2 h 4 min less that", n.IdleS, n.ExpiresInS)
	}
	if b.Client != client || b.Pool != pool {
		t.Errorf("binding: %+v", b)
	}
	if f.Tenant != "user1" || f.EIP != "2.2.2.11" || f.OpenedBy != "internet" || f.State != "SYN FROM OPENER" ||
		f.Forward != "zone 0 tcp 1.1.1.7:40000 -> 2.2.2.11:22" || f.Reply == "" {
		t.Errorf("gateway flow: %+v", f)
	}
	// The IPv6 client: its session and binding; the EIP: the NAT64
	// session (remote) and the flow; nobody has 198.51.100.200.
	if matches[client6] != 2 || matches["1.1.1.7"] != 1 || matches["2.2.2.11"] != 2 || matches["198.51.100.200"] != 0 {
		t.Errorf("address matches %v", matches)
	}
}

// TestNAT64SessionKeys: the keys pipeline.NAT64SessionKeys builds are the
// ones the data plane inserts for a UDP and a TCP session.
func TestNAT64SessionKeys(t *testing.T) {
	g := newGW(t, nil)
	for _, proto := range []uint8{6, 17} {
		frame := from6().UDP(5300, 7053).Bytes()
		if proto == 6 {
			frame = from6().TCP(5300, 7053, "S").Bytes()
		}
		pkt := g.expectTx(g.send(portV6, frame), portV4)
		ip, _ := decode4(t, pkt)
		var tport uint16
		if proto == 6 {
			tport = uint16(pkt.Layer(layers.LayerTypeTCP).(*layers.TCP).SrcPort)
		} else {
			tport = uint16(pkt.Layer(layers.LayerTypeUDP).(*layers.UDP).SrcPort)
		}
		f, r := pipeline.NAT64SessionKeys(proto, netip.MustParseAddr(client6).As16(), 5300,
			[4]byte{2, 2, 2, 11}, 7053, netip.MustParseAddr(ip.SrcIP.String()).As4(), tport)
		sw := g.dp.Sessions().NewWorker()
		var e1, e2 session.Entry
		if !sw.Lookup(&f, &e1) || !sw.Lookup(&r, &e2) || e1.Handle != e2.Handle || e1.Other != r || e2.Other != f {
			t.Errorf("proto %d: keys %+v / %+v not the data plane's session (%v %v)", proto, f, r, e1, e2)
		}
	}
}
