package replay_test

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/pipeline"
)

// udp6Fragments builds a UDP datagram from the client to the EIP and
// splits it into IPv6 fragments (Fragment header, RFC 8200 4.5) of at most
// 'chunk' payload bytes (a multiple of 8).
func udp6Fragments(sport, dport uint16, payload []byte, id uint32, chunk int) [][]byte {
	src, dst := net.ParseIP(client6).To16(), net.ParseIP(eip6).To16()
	udp := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload)
	c := ^checksum.Checksum(udp, checksum.PseudoHeaderV6([16]byte(src), [16]byte(dst), 17, uint32(len(udp))))
	binary.BigEndian.PutUint16(udp[6:], c)
	var out [][]byte
	for off := 0; off < len(udp); off += chunk {
		end := min(off+chunk, len(udp))
		more := end < len(udp)
		f := make([]byte, 14+40+8+end-off)
		copy(f[0:], []byte{2, 0, 0, 0, 1, 3, 2, 0, 0, 0, 4, 7, 0x86, 0xdd})
		ip := f[14:]
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(8+end-off))
		ip[6], ip[7] = 44, 64
		copy(ip[8:], src)
		copy(ip[24:], dst)
		fh := ip[40:]
		fh[0] = 17
		fo := uint16(off/8) << 3
		if more {
			fo |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], fo)
		binary.BigEndian.PutUint32(fh[4:], id)
		copy(fh[8:], udp[off:end])
		out = append(out, f)
	}
	return out
}

func TestNAT64Fragments(t *testing.T) {
	g := newGW(t, nil)
	payload := make([]byte, 600)
	for i := range payload {
		payload[i] = byte(i)
	}
	frags := udp6Fragments(7000, 7053, payload, 0x12345678, 304)
	if len(frags) != 2 {
		t.Fatalf("built %d fragments", len(frags))
	}
	// A later fragment before the first one has nothing to map it.
	g.expectDrop(g.send(portV6, frags[1]), pipeline.DropNAT64Fragment)

	var got []*layers.IPv4
	for i, fr := range frags {
		pkt := g.expectTx(g.send(portV6, fr), portV4)
		ip, _ := decode4(t, pkt)
		if !inPool(ip.SrcIP) || ip.DstIP.String() != "2.2.2.11" || ip.Id != 0x5678 {
			t.Fatalf("fragment %d: %v > %v id %#x", i, ip.SrcIP, ip.DstIP, ip.Id)
		}
		got = append(got, ip)
	}
	if got[0].SrcIP.String() != got[1].SrcIP.String() || got[0].Flags&layers.IPv4MoreFragments == 0 || got[1].FragOffset != 304/8 {
		t.Fatalf("fragments disagree: %v/%v flags %v off %d", got[0].SrcIP, got[1].SrcIP, got[0].Flags, got[1].FragOffset)
	}
	// Reassembled, the UDP checksum must verify with the IPv4 pseudo-header.
	udp := append(append([]byte{}, got[0].Payload...), got[1].Payload...)
	sum := checksum.PseudoHeaderV4([4]byte(got[0].SrcIP.To4()), [4]byte(got[0].DstIP.To4()), 17, uint16(len(udp)))
	if ^checksum.Checksum(udp, sum) != 0 {
		t.Error("reassembled UDP checksum invalid after translation")
	}
	if g.dp.Stats().Events[pipeline.EventNAT64FragmentTracked] != 1 {
		t.Error("first fragment not tracked")
	}
}

// serverUDPFragments returns a UDP datagram (with its checksum) from the
// IPv4 server 192.0.2.11's EIP 2.2.2.11, port 7053, to the pool address
// and port of a NAT64 session, and frag, which makes the frame of its
// IPv4 fragment of bytes off..end (identification id, MF if more), as it
// arrives on port v4.
func serverUDPFragments(pool [4]byte, tport uint16, payload []byte, id uint16) (udp []byte, frag func(off, end int, more bool) []byte) {
	udp = make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], 7053)
	binary.BigEndian.PutUint16(udp[2:], tport)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload)
	c := ^checksum.Checksum(udp, checksum.PseudoHeaderV4([4]byte{2, 2, 2, 11}, pool, 17, uint16(len(udp))))
	binary.BigEndian.PutUint16(udp[6:], c)
	frag = func(off, end int, more bool) []byte {
		f := make([]byte, 14+20+end-off)
		copy(f, []byte{2, 0, 0, 0, 1, 4, 2, 0, 0, 0, 5, 0x0b, 8, 0})
		h := f[14:]
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+end-off))
		binary.BigEndian.PutUint16(h[4:], id)
		fo := uint16(off / 8)
		if more {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(h[6:], fo)
		h[8], h[9] = 64, 17
		copy(h[12:], []byte{2, 2, 2, 11})
		copy(h[16:], pool[:])
		fixIPv4(h[:20])
		copy(h[20:], udp[off:end])
		return f
	}
	return udp, frag
}

func TestNAT64FragmentsFromIPv4(t *testing.T) {
	g := newGW(t, nil)
	pkt := g.expectTx(g.send(portV6, from6().UDP(7001, 7053).Payload([]byte("req")).Bytes()), portV4)
	ip, _ := decode4(t, pkt)
	pool := [4]byte(ip.SrcIP.To4())
	tport := uint16(pkt.Layer(layers.LayerTypeUDP).(*layers.UDP).SrcPort)

	udp, frag := serverUDPFragments(pool, tport, make([]byte, 500), 0x4242)
	var payloads [][]byte
	for _, fr := range [][]byte{frag(0, 256, true), frag(256, len(udp), false)} {
		back := g.expectTx(g.send(portV4, fr), portV6)
		ip6 := back.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		if ip6.DstIP.String() != client6 || ip6.SrcIP.String() != eip6 {
			t.Fatalf("fragment translated to %v > %v", ip6.SrcIP, ip6.DstIP)
		}
		fh, ok := back.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
		if !ok || fh.Identification != 0x4242 {
			t.Fatalf("no fragment header with the IPv4 ID: %v", back)
		}
		payloads = append(payloads, fh.Payload)
	}
	whole := append(payloads[0], payloads[1]...)
	sum := checksum.PseudoHeaderV6([16]byte(net.ParseIP(eip6).To16()), [16]byte(net.ParseIP(client6).To16()), 17, uint32(len(whole)))
	if ^checksum.Checksum(whole, sum) != 0 || binary.BigEndian.Uint16(whole[2:]) != 7001 {
		t.Error("reassembled UDP wrong after translation (checksum or destination port)")
	}
}
