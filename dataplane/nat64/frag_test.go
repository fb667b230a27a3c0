package nat64_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/packet"
)

// reassemble puts pieces (offset, data) together and checks they tile.
func reassemble(tb testing.TB, pieces map[int][]byte) []byte {
	tb.Helper()
	var out []byte
	for len(pieces) > 0 {
		d, ok := pieces[len(out)]
		if !ok {
			tb.Fatalf("gap at offset %d", len(out))
		}
		delete(pieces, len(out))
		out = append(out, d...)
	}
	return out
}

// TestV6FragmentsToV4: RFC 7915 §5.1.1, the fields of each fragment, and
// the UDP checksum of the reassembled IPv4 datagram.
func TestV6FragmentsToV4(t *testing.T) {
	ip := newIPv6(client6, eip6, layers.IPProtocolIPv6Fragment)
	dgram := udpDgram(t, ip, 1234, 80, 100) // 108 bytes
	const id = 0x12345678
	parts := []struct {
		off  int
		more bool
		data []byte
	}{{0, true, dgram[:64]}, {64, false, dgram[64:]}}
	pieces := map[int][]byte{}
	for _, pt := range parts {
		f := frameOf(v6Frame(t, ip, fragHdr(packet.ProtoUDP, uint16(pt.off), pt.more, id), pt.data))
		if r := nat64.V6ToV4(f, parse(f), &out6to4, nil); r != nat64.ResultOK {
			t.Fatalf("fragment at %d: %v", pt.off, r)
		}
		v4, _ := decode4(t, f.Data())
		eq(t, "ID", v4.Id, uint16(id&0xffff))
		wantFlags := layers.IPv4Flag(0) // DF clear (§5.1.1)
		if pt.more {
			wantFlags = layers.IPv4MoreFragments
		}
		eq(t, "flags", v4.Flags, wantFlags)
		eq(t, "offset", int(v4.FragOffset)*8, pt.off)
		eq(t, "protocol", v4.Protocol, layers.IPProtocolUDP)
		eq(t, "total length", int(v4.Length), 20+len(pt.data))
		checkSums4(t, f.Data()[14:])
		pieces[pt.off] = append([]byte(nil), f.Data()[14+20:]...)
	}
	d := reassemble(t, pieces)
	eq(t, "sport", binary.BigEndian.Uint16(d), out6to4.SrcPort)
	eq(t, "dport", binary.BigEndian.Uint16(d[2:]), out6to4.DstPort)
	eq(t, "data", d[8:], dgram[8:])
	if s := checksum.Checksum(d, checksum.PseudoHeaderV4(pool4, eip4, packet.ProtoUDP, uint16(len(d)))); s != 0xffff {
		t.Errorf("reassembled UDP checksum: sum %#04x", s)
	}
	if got := nat64.FragID6To4(0xdeadbeef); got != 0xbeef {
		t.Errorf("FragID6To4 = %#x", got)
	}
	if got := nat64.FragID4To6(0xbeef); got != 0xbeef {
		t.Errorf("FragID4To6 = %#x", got)
	}
}

// TestV4FragmentsToV6: RFC 7915 §4.1, the Fragment header of each
// translated IPv4 fragment.
func TestV4FragmentsToV6(t *testing.T) {
	ip := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	dgram := udpDgram(t, ip, 80, 40001, 100)
	parts := []struct {
		off  int
		more bool
		data []byte
	}{{0, true, dgram[:72]}, {72, false, dgram[72:]}}
	pieces := map[int][]byte{}
	for _, pt := range parts {
		ip.Flags, ip.FragOffset, ip.Id = 0, uint16(pt.off/8), 0xbeef
		if pt.more {
			ip.Flags = layers.IPv4MoreFragments
		}
		f := frameOf(v4Frame(t, ip, pt.data))
		if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultOK {
			t.Fatalf("fragment at %d: %v", pt.off, r)
		}
		v6, pk := decode6(t, f.Data())
		eq(t, "next header", v6.NextHeader, layers.IPProtocolIPv6Fragment)
		eq(t, "payload length", int(v6.Length), 8+len(pt.data))
		fh, _ := pk.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
		if fh == nil {
			t.Fatalf("no fragment header: %v", pk)
		}
		eq(t, "frag next header", fh.NextHeader, layers.IPProtocolUDP)
		eq(t, "frag offset", int(fh.FragmentOffset)*8, pt.off)
		eq(t, "M", fh.MoreFragments, pt.more)
		eq(t, "ID", fh.Identification, uint32(0xbeef))
		pieces[pt.off] = append([]byte(nil), f.Data()[14+48:]...)
	}
	d := reassemble(t, pieces)
	if s := checksum.Checksum(d, checksum.PseudoHeaderV6(eip6, client6, packet.ProtoUDP, uint32(len(d)))); s != 0xffff {
		t.Errorf("reassembled UDP checksum: sum %#04x", s)
	}
}

func spares(n, size int) []nat64.Frame {
	s := make([]nat64.Frame, n)
	for i := range s {
		s[i] = nat64.Frame{Buf: make([]byte, size), Off: headroom}
	}
	return s
}

// TestFragmentDFClear: RFC 7915 §4.1: DF clear and too big for the IPv6
// MTU: cut into fragments of at most MTU bytes, offsets in 8-byte units,
// M on all but the last (which keeps the original MF).
func TestFragmentDFClear(t *testing.T) {
	tests := []struct {
		name   string
		mtu6   int
		size   int // UDP payload
		frag   bool
		wantN  int // frames in all
		wantSz []int
	}{
		{name: "2000 bytes over 1280", mtu6: 1280, size: 2000, wantN: 2, wantSz: []int{1232, 776}},
		{name: "4000 bytes over 1280", mtu6: 1280, size: 4000, wantN: 4, wantSz: []int{1232, 1232, 1232, 312}},
		{name: "1453 bytes over 1500", mtu6: 1500, size: 1453, wantN: 2, wantSz: []int{1448, 13}},
		{name: "first fragment refragmented", mtu6: 1280, size: 1392, frag: true, wantN: 2, wantSz: []int{1232, 168}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := newIPv4(eip4, pool4, layers.IPProtocolUDP)
			ip.Flags = 0
			if tt.frag {
				ip.Flags = layers.IPv4MoreFragments
			}
			dgram := udpDgram(t, ip, 80, 40001, tt.size)
			pkt := v4Frame(t, ip, dgram)
			buf := make([]byte, 8192)
			copy(buf[headroom:], pkt)
			f := &nat64.Frame{Buf: buf, Off: headroom, Len: len(pkt)}
			sp := spares(4, bufSize)
			c := &nat64.Config{MTU6: tt.mtu6}
			n, r := nat64.V4ToV6(f, parse(f), &back4to6, c, sp)
			if r != nat64.ResultOK || n != tt.wantN-1 {
				t.Fatalf("V4ToV6 = %d, %v; want %d, ok", n, r, tt.wantN-1)
			}
			frames := append([]nat64.Frame{*f}, sp[:n]...)
			pieces := map[int][]byte{}
			for i, fr := range frames {
				data := fr.Data()
				if l := len(data) - 14; l > tt.mtu6 {
					t.Errorf("fragment %d: %d bytes > MTU %d", i, l, tt.mtu6)
				}
				v6, pk := decode6(t, data)
				eq(t, "src", v6.SrcIP, ip16(eip6))
				eq(t, "dst", v6.DstIP, ip16(client6))
				eq(t, "hop limit", v6.HopLimit, uint8(61))
				fh, _ := pk.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
				if fh == nil {
					t.Fatalf("fragment %d: no fragment header", i)
				}
				eq(t, "ID", fh.Identification, uint32(0x4321))
				eq(t, "next header", fh.NextHeader, layers.IPProtocolUDP)
				wantMore := i < len(frames)-1 || tt.frag
				eq(t, "M", fh.MoreFragments, wantMore)
				off := int(fh.FragmentOffset) * 8
				if off%8 != 0 {
					t.Errorf("offset %d", off)
				}
				eq(t, "piece size", len(data)-14-48, tt.wantSz[i])
				eq(t, "payload length", int(v6.Length), 8+tt.wantSz[i])
				pieces[off] = append([]byte(nil), data[14+48:]...)
			}
			d := reassemble(t, pieces)
			eq(t, "reassembled length", len(d), len(dgram))
			eq(t, "data", d[8:], dgram[8:])
			if !tt.frag {
				if s := checksum.Checksum(d, checksum.PseudoHeaderV6(eip6, client6, packet.ProtoUDP, uint32(len(d)))); s != 0xffff {
					t.Errorf("reassembled UDP checksum: sum %#04x", s)
				}
			}
		})
	}
}

func TestFragmentNeedSpare(t *testing.T) {
	ip := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	ip.Flags = 0
	pkt := v4Frame(t, ip, udpDgram(t, ip, 80, 40001, 2000))
	for _, sp := range [][]nat64.Frame{nil, spares(1, 200), {{Buf: make([]byte, bufSize), Off: -1}}} {
		f := frameOf(pkt)
		n, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, sp)
		if r != nat64.ResultNeedSpare || n != 0 {
			t.Errorf("V4ToV6 = %d, %v; want need_spare", n, r)
		}
		eq(t, "frame after a refusal", clone(f), pkt)
	}
}

// TestFragNeeded: DF set and too big: ResultFragNeeded, then the ICMPv4
// error built in place with MTU = IPv6 MTU - 20 (RFC 7915 §4.1).
func TestFragNeeded(t *testing.T) {
	ip := newIPv4(eip4, pool4, layers.IPProtocolTCP)
	pkt := v4Frame(t, ip, tcpSeg(t, ip, 80, 40001, 1400))
	f := frameOf(pkt)
	p := parse(f)
	if _, r := nat64.V4ToV6(f, p, &back4to6, nil, nil); r != nat64.ResultFragNeeded {
		t.Fatalf("V4ToV6 = %v, want frag_needed", r)
	}
	eq(t, "frame after a refusal", clone(f), pkt)
	if r := nat64.BuildFragNeeded(f, p, pool4, 0x99, nil); r != nat64.ResultOK {
		t.Fatalf("BuildFragNeeded = %v", r)
	}
	v4, pk := decode4(t, f.Data())
	eq(t, "src", v4.SrcIP, ip4(pool4))
	eq(t, "dst", v4.DstIP, ip4(eip4))
	eq(t, "length", int(v4.Length), 576)
	eq(t, "ID", v4.Id, uint16(0x99))
	ic := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	eq(t, "type/code", ic.TypeCode, layers.CreateICMPv4TypeCode(3, 4))
	eq(t, "MTU", ic.Seq, uint16(1260))
	eq(t, "quote", []byte(ic.Payload), pkt[14:14+548])
	checkSums4(t, f.Data()[14:])
	// No error about an error.
	g := frameOf(icmp4Error(t, 3, 3, 0, quoted4(t, 8)))
	if r := nat64.BuildFragNeeded(g, parse(g), pool4, 0, nil); r != nat64.ResultNoICMPError {
		t.Errorf("BuildFragNeeded about an error = %v", r)
	}
}

// TestPacketTooBig: a translated packet larger than the IPv4 MTU:
// ResultPacketTooBig, then ICMPv6 Packet Too Big with MTU4 + 20.
func TestPacketTooBig(t *testing.T) {
	ip := newIPv6(client6, eip6, layers.IPProtocolTCP)
	pkt := v6Frame(t, ip, nil, tcpSeg(t, ip, 1234, 80, 1440))
	f := frameOf(pkt)
	p := parse(f)
	c := &nat64.Config{MTU4: 1400}
	if r := nat64.V6ToV4(f, p, &out6to4, c); r != nat64.ResultPacketTooBig {
		t.Fatalf("V6ToV4 = %v, want packet_too_big", r)
	}
	eq(t, "frame after a refusal", clone(f), pkt)
	if r := nat64.BuildPacketTooBig(f, p, router4in6, c); r != nat64.ResultOK {
		t.Fatalf("BuildPacketTooBig = %v", r)
	}
	v6, pk := decode6(t, f.Data())
	eq(t, "src", v6.SrcIP, ip16(router4in6))
	eq(t, "dst", v6.DstIP, ip16(client6))
	eq(t, "length", 40+int(v6.Length), 1280)
	ic := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	eq(t, "type/code", ic.TypeCode, layers.CreateICMPv6TypeCode(2, 0))
	eq(t, "MTU", binary.BigEndian.Uint32(ic.Payload), uint32(1420))
	if !bytes.Equal(ic.Payload[4:], pkt[14:14+1232]) {
		t.Errorf("quote differs")
	}
	checkSums6(t, f.Data()[14:])
}

func TestFragmentedICMP(t *testing.T) {
	ip := newIPv6(client6, eip6, layers.IPProtocolIPv6Fragment)
	for _, off := range []uint16{0, 64} {
		f := frameOf(v6Frame(t, ip, fragHdr(packet.ProtoICMPv6, off, true, 1), make([]byte, 64)))
		if r := nat64.V6ToV4(f, parse(f), &out6to4, nil); r != nat64.ResultFragmentedICMP {
			t.Errorf("v6 offset %d: %v", off, r)
		}
	}
	ip4 := newIPv4(eip4, pool4, layers.IPProtocolICMPv4)
	ip4.Flags = layers.IPv4MoreFragments
	for _, off := range []uint16{0, 8} {
		ip4.FragOffset = off
		f := frameOf(v4Frame(t, ip4, ser(t, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload(make([]byte, 56)))))
		if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultFragmentedICMP {
			t.Errorf("v4 offset %d: %v", off, r)
		}
	}
}
