package nat64_test

import (
	"testing"

	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/nat64"
)

// An IPv6 packet with a 65535-byte payload is 65555 bytes as IPv4: more
// than Total Length can hold, whatever Config.MTU4 says (an IPv4 MTU is
// at most 65535, RFC 791). It must be refused (ResultPacketTooBig), not
// written with a Total Length cut to 16 bits (20) and, on the fast path,
// the excess carried into the TOS.
func TestV6ToV4TotalLengthOverflow(t *testing.T) {
	for _, proto := range []layers.IPProtocol{layers.IPProtocolUDP, layers.IPProtocolTCP} {
		ip := newIPv6(client6, eip6, proto)
		var l4 []byte
		if proto == layers.IPProtocolUDP {
			l4 = udpDgram(t, ip, 1234, 80, 65535-8)
		} else {
			l4 = tcpSeg(t, ip, 1234, 80, 65535-20)
		}
		pkt := v6Frame(t, ip, nil, l4)
		buf := make([]byte, headroom+len(pkt)+64)
		copy(buf[headroom:], pkt)
		f := &nat64.Frame{Buf: buf, Off: headroom, Len: len(pkt)}
		before := clone(f)
		r := nat64.V6ToV4(f, parse(f), &out6to4, &nat64.Config{MTU4: 1 << 20})
		if r != nat64.ResultPacketTooBig {
			t.Errorf("%v: V6ToV4 = %v, want packet_too_big", proto, r)
			if r.Translated() {
				out, _ := decode4(t, f.Data())
				t.Errorf("%v: written with Total Length %d, TOS %#x", proto, out.Length, out.TOS)
			}
			continue
		}
		eq(t, "frame after a refusal", clone(f), before)
	}
}
