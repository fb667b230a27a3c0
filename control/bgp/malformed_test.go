package bgp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	xbgp "xdpgw/control/bgp"
)

// rawPeer is a hand-driven BGP peer: it speaks just enough of RFC 4271 to
// reach Established and then sends whatever the test wants.
type rawPeer struct {
	t *testing.T
	c net.Conn
}

func (p *rawPeer) send(b []byte) {
	p.t.Helper()
	p.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.c.Write(b); err != nil {
		p.t.Fatalf("raw peer write: %v", err)
	}
}

func (p *rawPeer) sendMsg(m *bgp.BGPMessage) {
	p.t.Helper()
	b, err := m.Serialize()
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(b)
}

// read returns the next message; io.EOF when the speaker closed the
// session.
func (p *rawPeer) read() (*bgp.BGPMessage, error) {
	p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	hdr := make([]byte, bgp.BGP_HEADER_LENGTH)
	if _, err := io.ReadFull(p.c, hdr); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[16:18]))
	body := make([]byte, n-bgp.BGP_HEADER_LENGTH)
	if _, err := io.ReadFull(p.c, body); err != nil {
		return nil, err
	}
	return bgp.ParseBGPMessage(append(hdr, body...))
}

// TestMalformedUpdate: a peer that sends an UPDATE whose attribute length
// overruns the message gets a NOTIFICATION (UPDATE Message Error,
// Malformed Attribute List: RFC 4271 6.3; RFC 7606 section 4 keeps
// "session reset" for this case because the NLRI cannot be located), its
// session is closed, the counters show it, and the speaker keeps serving
// (the peer can come back).
func TestMalformedUpdate(t *testing.T) {
	addrS := netip.MustParseAddr("127.77.1.1")
	addrP := netip.MustParseAddr("127.77.1.2")
	port := freePort(t, addrS)
	const asS, asP = 64512, 65009
	// The resolver learns the peer's MAC only later: the watch re-reads
	// unresolved next hops and delivers the MAC when it appears.
	var known atomic.Bool
	macP := net.HardwareAddr{2, 0, 0, 0, 0, 0x99}
	s := start(t, xbgp.Config{
		ASN: asS, RouterID: addrS, Listen: netip.AddrPortFrom(addrS, port),
		Peers: []xbgp.Peer{{Address: addrP, ASN: asP, Passive: true}},
		Resolver: xbgp.ResolverFunc(func(ctx context.Context, a netip.Addr) (net.HardwareAddr, error) {
			if known.Load() {
				return macP, nil
			}
			return nil, xbgp.ErrUnresolved
		}),
	})
	w := watch(t, s, vip)
	w.wait(t, vip, "initial withdrawn", withdrawn)

	connect := func() *rawPeer {
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(addrP, 0)), Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", netip.AddrPortFrom(addrS, port).String())
		if err != nil {
			t.Fatalf("dial speaker: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		p := &rawPeer{t: t, c: c}
		p.sendMsg(bgp.NewBGPOpenMessage(asP, 9, addrP.String(), []bgp.OptionParameterInterface{
			bgp.NewOptionParameterCapability([]bgp.ParameterCapabilityInterface{
				bgp.NewCapMultiProtocol(bgp.RF_IPv4_UC),
				bgp.NewCapFourOctetASNumber(asP),
			}),
		}))
		for got := 0; got < 2; {
			m, err := p.read()
			if err != nil {
				t.Fatalf("raw peer: waiting for OPEN/KEEPALIVE: %v", err)
			}
			switch m.Header.Type {
			case bgp.BGP_MSG_OPEN, bgp.BGP_MSG_KEEPALIVE:
				got++
			default:
				t.Fatalf("raw peer: unexpected message type %d during open", m.Header.Type)
			}
		}
		p.sendMsg(bgp.NewBGPKeepAliveMessage())
		return p
	}

	// gobgp accepts a passive peer's connection only once the peer is in
	// ACTIVE; a connection made before (while it is still IDLE, just
	// configured) is closed at once (seen under load: EOF before OPEN).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitActive := func(what string) {
		deadline := time.Now().Add(15 * time.Second)
		for s.PeerState(ctx, addrP) != "ACTIVE" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the raw peer never became ACTIVE (state %q)", what, s.PeerState(ctx, addrP))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitActive("first connection")
	p := connect()
	// A good UPDATE first: the VIP via the raw peer.
	p.sendMsg(bgp.NewBGPUpdateMessage(nil, []bgp.PathAttributeInterface{
		bgp.NewPathAttributeOrigin(0),
		bgp.NewPathAttributeAsPath([]bgp.AsPathParamInterface{bgp.NewAs4PathParam(bgp.BGP_ASPATH_ATTR_TYPE_SEQ, []uint32{asP})}),
		bgp.NewPathAttributeNextHop(addrP.String()),
	}, []*bgp.IPAddrPrefix{bgp.NewIPAddrPrefix(uint8(vip.Bits()), vip.Addr().String())}))
	u := w.wait(t, vip, "raw peer's path", func(u xbgp.PathUpdate) bool {
		return !u.Withdrawn && len(u.NextHops) == 1 && u.NextHops[0].Addr == addrP
	})
	if u.Resolved() {
		t.Errorf("next hop resolved before the resolver knew it: %s", u)
	}
	known.Store(true)
	w.wait(t, vip, "the MAC once resolvable", func(u xbgp.PathUpdate) bool {
		return u.Resolved() && len(u.NextHops) == 1 && bytes.Equal(u.NextHops[0].MAC, macP)
	})

	// Now garbage: Total Path Attribute Length says 255 bytes, none follow.
	bad := bytes.Repeat([]byte{0xff}, 16)
	bad = binary.BigEndian.AppendUint16(bad, bgp.BGP_HEADER_LENGTH+4)
	bad = append(bad, bgp.BGP_MSG_UPDATE, 0, 0, 0, 0xff)
	p.send(bad)

	var notif *bgp.BGPNotification
	for notif == nil {
		m, err := p.read()
		if err != nil {
			t.Fatalf("raw peer: want a NOTIFICATION, got %v", err)
		}
		if n, ok := m.Body.(*bgp.BGPNotification); ok {
			notif = n
		}
	}
	if notif.ErrorCode != bgp.BGP_ERROR_UPDATE_MESSAGE_ERROR || notif.ErrorSubcode != bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST {
		t.Errorf("NOTIFICATION code %d subcode %d, want %d/%d (UPDATE Message Error / Malformed Attribute List)",
			notif.ErrorCode, notif.ErrorSubcode, bgp.BGP_ERROR_UPDATE_MESSAGE_ERROR, bgp.BGP_ERROR_SUB_MALFORMED_ATTRIBUTE_LIST)
	}
	if _, err := p.read(); err == nil {
		t.Errorf("session still open after the NOTIFICATION")
	}
	// The peer's routes go with its session.
	w.wait(t, vip, "withdrawn after the session reset", withdrawn)

	st := s.Stats(ctx)
	t.Logf("stats: %+v", st)
	if st.NotificationsSent < 1 || st.PeerUps != 1 || st.PeerDowns != 1 || st.UpdatesReceived < 1 {
		t.Errorf("stats after a malformed update: %+v", st)
	}

	// The speaker keeps serving: the peer comes back (gobgp holds a reset
	// peer in Idle for its idle-hold time, 5 s, before accepting again).
	waitActive("after the reset")
	connect()
	w.wait(t, vip, "still withdrawn after reconnect", withdrawn)
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats(ctx).PeerUps != 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := s.Stats(ctx); st.PeerUps != 2 || st.PeersEstablished != 1 {
		t.Errorf("after reconnect: %+v", st)
	}
}
