package replay_test

import (
	"encoding/binary"
	"testing"

	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// withOptions inserts 4 bytes of IPv4 options (NOP, NOP, NOP, EOL) into
// the IPv4 header at l3 of frame, fixing its length fields and checksum.
// An outer header's checksum is fixed; the caller fixes anything that
// covers the inner one.
func withOptions(frame []byte, l3 int) []byte {
	hl := int(frame[l3]&0x0f) * 4
	out := append(append(append([]byte(nil), frame[:l3+hl]...), 1, 1, 1, 0), frame[l3+hl:]...)
	out[l3] = out[l3]&0xf0 | byte((hl+4)/4)
	binary.BigEndian.PutUint16(out[l3+2:], binary.BigEndian.Uint16(out[l3+2:])+4)
	fixIPv4(out[l3 : l3+hl+4])
	return out
}

// setMF marks the IPv4 packet at l3 as a first fragment (more fragments)
// or, with offset > 0, a later one.
func setFrag(frame []byte, l3 int, offset8 uint16) []byte {
	out := append([]byte(nil), frame...)
	binary.BigEndian.PutUint16(out[l3+6:], 0x2000|offset8)
	fixIPv4(out[l3 : l3+int(out[l3]&0x0f)*4])
	return out
}

// Issue 3's bad input, each with its defined verdict: non-GRE packets on
// the underlay, IP options (outer and inner), fragments, TTL 1. (Unknown
// and missing keys, truncated GRE and GRE checksum errors:
// TestGatewayBadTunnels.)
func TestGatewayInputVerdicts(t *testing.T) {
	tenant := func() []byte { return fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(23, 40000, "S").Bytes() }
	client := func() []byte { return fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes() }
	tests := []struct {
		name    string
		port    uint16
		frame   []byte
		verdict pipeline.Verdict
		drop    pipeline.DropReason
	}{
		{"UDP to the gateway's underlay address is the host's", portUnder,
			fixtureUDP(macHost1, macUnderlay, "172.168.0.11", "172.168.0.1"), pipeline.VerdictLocal, pipeline.DropNone},
		{"GRE with outer IP options is decapsulated", portUnder, withOptions(tenant(), 14), pipeline.VerdictTx, pipeline.DropNone},
		{"inner IP options are forwarded with the packet", portUnder, innerOptions(tenant()), pipeline.VerdictTx, pipeline.DropNone},
		{"Internet packet with IP options to an EIP", portInet, withOptions(client(), 14), pipeline.VerdictTx, pipeline.DropNone},
		{"fragmented GRE is not reassembled", portUnder, setFrag(tenant(), 14, 0), pipeline.VerdictDrop, pipeline.DropGREFragment},
		{"a later fragment to an EIP has no ports for the rules", portInet, setFrag(client(), 14, 100), pipeline.VerdictDrop, pipeline.DropFirewallIngress},
		{"TTL 1 from the Internet", portInet, fromClient("2.2.2.11").TTL(1).TCP(40000, 22, "S").Bytes(), pipeline.VerdictTx, pipeline.DropNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGW(t, nil)
			f := g.send(tt.port, tt.frame)
			if f.Verdict != tt.verdict || f.Drop != tt.drop {
				t.Fatalf("verdict %v drop %v, want %v %v", f.Verdict, f.Drop, tt.verdict, tt.drop)
			}
			if tt.drop != pipeline.DropNone {
				if st := g.dp.Stats(); st.Drops[tt.drop] != 1 {
					t.Errorf("counter %v = %d, want 1", tt.drop, st.Drops[tt.drop])
				}
			}
		})
	}
	// The TTL 1 packet above is counted as dropped (ttl_exceeded) and its
	// frame carries the answer: a time exceeded back to the client.
	g := newGW(t, nil)
	g.send(portInet, fromClient("2.2.2.11").TTL(1).TCP(40000, 22, "S").Bytes())
	if st := g.dp.Stats(); st.Drops[pipeline.DropTTLExceeded] != 1 || st.Events[pipeline.EventICMPTimeExceeded] != 1 {
		t.Errorf("TTL 1: ttl_exceeded %d, time exceeded sent %d; want 1 and 1", st.Drops[pipeline.DropTTLExceeded], st.Events[pipeline.EventICMPTimeExceeded])
	}
}

func fixtureUDP(srcMAC, dstMAC, src, dst string) []byte {
	return fixture.New().Eth(srcMAC, dstMAC).IPv4(src, dst).UDP(5000, 6000).Payload([]byte("x")).Bytes()
}

// innerOptions adds options to the inner IPv4 header of a GRE frame built
// by fromTenant (outer IPv4 without options, GRE with a key).
func innerOptions(frame []byte) []byte {
	out := withOptions(frame, 14+20+8)
	// The outer packet grew by 4 bytes too.
	binary.BigEndian.PutUint16(out[16:], binary.BigEndian.Uint16(out[16:])+4)
	fixIPv4(out[14:34])
	return out
}

// A packet from the NAT64's IPv4 side with a bad header checksum is
// dropped before translation (forward4 verifies it; nat64In relies on it).
func TestNAT64BadIPv4Checksum(t *testing.T) {
	g := newGW(t, nil)
	b := fromServer("198.51.100.1").UDP(7053, 40000).Payload([]byte("x")).Bytes()
	b[14+10] ^= 0xff
	g.expectDrop(g.send(portV4, b), pipeline.DropBadIPChecksum)
}
