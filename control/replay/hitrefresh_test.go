package replay_test

import (
	"testing"

	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/pipeline"
	"xdpgw/dataplane/session"
)

// sessionsAt returns the sessions of the table by kind of forward key
// (zone 0: the gateway flow from the Internet; FamilyNAT64 keys with
// DstPort 0: bindings; other FamilyNAT64 keys: NAT64 sessions).
func sessionsAt(t *testing.T, g *gw) (flows, nat, bib []session.Entry) {
	t.Helper()
	g.dp.Sessions().Range(0, func(fwd *session.Key, e *session.Entry) bool {
		switch {
		case fwd.Family == session.FamilyIPv4:
			flows = append(flows, *e)
		case fwd.DstPort == 0 && fwd.Dst == [16]byte{}:
			bib = append(bib, *e)
		default:
			nat = append(nat, *e)
		}
		return true
	})
	return flows, nat, bib
}

// TestGatewayFlowHitRefresh: a flow's hits keep it alive (an established
// TCP flow for 2 h 4 min after its last packet, not after its first), its
// state follows the connection, and a packet after the lifetime finds it
// expired: the hit path deletes it and the packet takes the slow path.
func TestGatewayFlowHitRefresh(t *testing.T) {
	g := newGW(t, nil)
	const t0 = int64(100e9)
	const hour = int64(3600e9)
	g.expectTx(g.sendAt(portInet, fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes(), t0), portUnder)
	reply := fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(22, 40000, "SA").Bytes()
	g.expectTx(g.sendAt(portUnder, reply, t0+1e6), portInet)
	ack := fromClient("2.2.2.11").TCP(40000, 22, "A").Bytes()
	g.expectTx(g.sendAt(portInet, ack, t0+2e6), portUnder)
	flows, _, _ := sessionsAt(t, g)
	if len(flows) != 1 || flows[0].State != session.StateEstablished || flows[0].Class != session.ClassTCPEstablished {
		t.Fatalf("after the handshake: %+v", flows)
	}
	// Idle 2 h: still alive (2 h 4 min), and refreshed by the packet.
	g.expectTx(g.sendAt(portInet, ack, t0+2*hour), portUnder)
	flows, _, _ = sessionsAt(t, g)
	if len(flows) != 1 || flows[0].LastSeen != session.Ticks(t0+2*hour) {
		t.Fatalf("after 2 h: %+v", flows)
	}
	// 2 h later again: alive only because the last hit refreshed it.
	g.expectTx(g.sendAt(portUnder, reply, t0+4*hour), portInet)
	if st := g.dp.Stats(); st.Events[pipeline.EventFlowHit] != 4 || st.Events[pipeline.EventFlowCreated] != 1 {
		t.Fatalf("hits %d created %d, want 4 and 1", st.Events[pipeline.EventFlowHit], st.Events[pipeline.EventFlowCreated])
	}
	// Past its lifetime: gone, by the hit path's delete or by the batch's
	// sweep (which in this small table reaches every entry first: the
	// session tests check the hit path's HitExpired), and the ACK goes
	// the slow way (the rules admit ssh), creating nothing.
	g.expectTx(g.sendAt(portInet, ack, t0+7*hour), portUnder)
	st := g.dp.Stats()
	if st.Events[pipeline.EventFlowHit] != 4 || st.Events[pipeline.EventFlowCreated] != 1 {
		t.Errorf("after the lifetime: hits %d created %d, want 4 and 1", st.Events[pipeline.EventFlowHit], st.Events[pipeline.EventFlowCreated])
	}
	if ss := g.dp.Sessions().Stats(); ss.Deleted+ss.Expired != 1 || ss.Live() != 0 {
		t.Errorf("session counters %+v: want the expired flow deleted", ss)
	}
}

// TestNAT64HitRefresh: the NAT64's hits refresh the session and its
// binding, an established TCP session gives its binding the established
// lifetime, and an expired session is a miss that opens a new one.
func TestNAT64HitRefresh(t *testing.T) {
	g := newGW(t, nil)
	const t0 = int64(100e9)
	const min = int64(60e9)
	pkt := g.expectTx(g.sendAt(portV6, from6().TCP(50000, 80, "S").Bytes(), t0), portV4)
	ip, _ := decode4(t, pkt)
	pool, tport := ip.SrcIP.String(), uint16(pkt.Layer(layers.LayerTypeTCP).(*layers.TCP).SrcPort)
	_, nat, bib := sessionsAt(t, g)
	if len(nat) != 1 || len(bib) != 1 || bib[0].Class != session.ClassTCPTransitory {
		t.Fatalf("after the SYN: sessions %+v bindings %+v", nat, bib)
	}
	// The SYN+ACK establishes the session, and the binding takes the
	// established lifetime with it, though the SYN+ACK comes in the
	// SYN's tick (the session's state moved, its last-seen time did not).
	g.expectTx(g.sendAt(portV4, fromServer(pool).TCP(80, tport, "SA").Bytes(), t0+1e6), portV6)
	_, nat, bib = sessionsAt(t, g)
	if len(nat) != 1 || nat[0].State != session.StateEstablished || nat[0].Class != session.ClassTCPEstablished ||
		nat[0].LastSeen != session.Ticks(t0+1e6) {
		t.Fatalf("after the SYN+ACK: %+v", nat)
	}
	if len(bib) != 1 || bib[0].Class != session.ClassTCPEstablished || bib[0].LastSeen != session.Ticks(t0+1e6) {
		t.Fatalf("binding after the SYN+ACK: %+v", bib)
	}
	// An hour idle, then an ACK from the client: a hit, both refreshed.
	g.expectTx(g.sendAt(portV6, from6().TCP(50000, 80, "A").Bytes(), t0+65*min), portV4)
	_, nat, bib = sessionsAt(t, g)
	if nat[0].LastSeen != session.Ticks(t0+65*min) || bib[0].LastSeen != session.Ticks(t0+65*min) {
		t.Fatalf("after an hour: session %+v binding %+v", nat, bib)
	}

	// UDP: 5 min, refreshed by each packet in a later tick.
	udp := from6().UDP(50001, 5000).Payload([]byte("q")).Bytes()
	g.expectTx(g.sendAt(portV6, udp, t0), portV4)
	g.expectTx(g.sendAt(portV6, udp, t0+4*min), portV4)
	g.expectTx(g.sendAt(portV6, udp, t0+8*min), portV4)
	st := g.dp.Stats()
	created := st.Events[pipeline.EventNAT64SessionCreated]
	if st.Events[pipeline.EventNAT64Hit] != 4 || created != 2 {
		t.Fatalf("hits %d sessions %d, want 4 and 2", st.Events[pipeline.EventNAT64Hit], created)
	}
	// 6 min idle: expired, a miss, a new session (the table removes the
	// old one when the new one needs its keys).
	g.expectTx(g.sendAt(portV6, udp, t0+14*min), portV4)
	st = g.dp.Stats()
	if st.Events[pipeline.EventNAT64Hit] != 4 || st.Events[pipeline.EventNAT64SessionCreated] != created+1 {
		t.Errorf("after the UDP lifetime: hits %d sessions %d, want 4 and %d",
			st.Events[pipeline.EventNAT64Hit], st.Events[pipeline.EventNAT64SessionCreated], created+1)
	}
}

// TestGatewayICMPFlowNotRefreshedByWrongDirection: an echo request that
// arrives on an ICMP flow's reply key (same identifier, from the other
// side) is not the flow's packet: it is judged by the rules, and it does
// not extend the flow's life, which its own echo reply then does.
func TestGatewayICMPFlowNotRefreshedByWrongDirection(t *testing.T) {
	g := newGW(t, nil)
	const t0 = int64(100e9)
	g.expectTx(g.sendAt(portInet, fromClient("2.2.2.11").ICMPEcho(9, 1, false).Bytes(), t0), portUnder)
	// The tenant host pings the client with the same identifier, 30 s on.
	g.sendAt(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").ICMPEcho(9, 1, false).Bytes(), t0+30e9)
	flows, _, _ := sessionsAt(t, g)
	if len(flows) != 1 || flows[0].LastSeen != session.Ticks(t0) {
		t.Fatalf("after a request on the reply key: %+v (want the flow last seen at %d)", flows, session.Ticks(t0))
	}
	if st := g.dp.Stats(); st.Events[pipeline.EventFlowHit] != 0 {
		t.Fatalf("a request on the reply key was a flow hit")
	}
	// The echo reply is the flow's: a hit that refreshes it.
	g.expectTx(g.sendAt(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").ICMPEcho(9, 1, true).Bytes(), t0+40e9), portInet)
	flows, _, _ = sessionsAt(t, g)
	if st := g.dp.Stats(); st.Events[pipeline.EventFlowHit] != 1 || len(flows) != 1 || flows[0].LastSeen != session.Ticks(t0+40e9) {
		t.Fatalf("echo reply: hits %d flows %+v", st.Events[pipeline.EventFlowHit], flows)
	}
}
