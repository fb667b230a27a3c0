package nat64_test

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/packet"
)

// TestCorpus translates seeded random packets built with gopacket and
// compares gopacket's decoding of each output, field by field, with the
// translation RFC 7915 §4.1/§5.1 prescribes, computed here from the input
// fields alone.
func TestCorpus(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 500; i++ {
		corpus6(t, rng, i)
		corpus4(t, rng, i)
	}
}

func rndAddr4(rng *rand.Rand) (a [4]byte)   { rng.Read(a[:]); return }
func rndAddr16(rng *rand.Rand) (a [16]byte) { rng.Read(a[:]); return }

func corpus6(t *testing.T, rng *rand.Rand, i int) {
	proto := []uint8{packet.ProtoTCP, packet.ProtoUDP}[rng.Intn(2)]
	src, dst := rndAddr16(rng), rndAddr16(rng)
	ip := newIPv6(src, dst, layers.IPProtocol(proto))
	ip.TrafficClass, ip.HopLimit, ip.FlowLabel = uint8(rng.Intn(256)), uint8(1+rng.Intn(255)), uint32(rng.Intn(1<<20))
	size := rng.Intn(1500)
	sport, dport := uint16(rng.Intn(65536)), uint16(rng.Intn(65536))
	var l4 []byte
	if proto == packet.ProtoTCP {
		l4 = tcpSeg(t, ip, sport, dport, size)
	} else {
		l4 = udpDgram(t, ip, sport, dport, size)
	}
	var ext []byte
	first := proto
	if rng.Intn(2) == 0 {
		ext = hopByHop(proto)
		first = packet.ProtoHopByHop
	}
	frag := rng.Intn(3) == 0
	fragID := rng.Uint32()
	more := frag && rng.Intn(2) == 0
	if frag {
		// A first fragment (offset 0): the transport header is there.
		ext = append(ext, fragHdr(proto, 0, more, fragID)...)
		if first == proto {
			first = packet.ProtoFragment
		} else {
			ext[0] = packet.ProtoFragment
		}
	}
	ip.NextHeader = layers.IPProtocol(first)
	f := frameOf(v6Frame(t, ip, ext, l4))
	a := nat64.Addrs{Src4: rndAddr4(rng), Dst4: rndAddr4(rng), SrcPort: uint16(rng.Intn(65536)), DstPort: uint16(rng.Intn(65536)), ID: uint16(rng.Intn(65536))}
	r := nat64.V6ToV4(f, parse(f), &a, nil)
	total := 20 + len(l4)
	if total > 1500 {
		if r != nat64.ResultPacketTooBig {
			t.Fatalf("case %d: %v, want packet_too_big", i, r)
		}
		return
	}
	if r != nat64.ResultOK {
		t.Fatalf("case %d: %v", i, r)
	}
	v4, _ := decode4(t, f.Data())
	// Expected per RFC 7915 §5.1 / §5.1.1.
	wantID, wantFlags := a.ID, layers.IPv4Flag(0)
	if frag {
		wantID = uint16(fragID)
		if more {
			wantFlags = layers.IPv4MoreFragments
		}
	} else if total > 1260 {
		wantFlags = layers.IPv4DontFragment
	}
	eq(t, "TOS", v4.TOS, ip.TrafficClass)
	eq(t, "length", int(v4.Length), total)
	eq(t, "ID", v4.Id, wantID)
	eq(t, "flags", v4.Flags, wantFlags)
	eq(t, "TTL", v4.TTL, ip.HopLimit)
	eq(t, "protocol", uint8(v4.Protocol), proto)
	eq(t, "src", v4.SrcIP, ip4(a.Src4))
	eq(t, "dst", v4.DstIP, ip4(a.Dst4))
	seg := f.Data()[34:]
	eq(t, "sport", binary.BigEndian.Uint16(seg), a.SrcPort)
	eq(t, "dport", binary.BigEndian.Uint16(seg[2:]), a.DstPort)
	// A first fragment here holds the whole datagram, so the checksum
	// can be verified either way.
	if s := checksum.Checksum(seg, checksum.PseudoHeaderV4(a.Src4, a.Dst4, proto, uint16(len(seg)))); s != 0xffff {
		t.Errorf("case %d: transport checksum sums to %#04x", i, s)
	}
	if s := checksum.Checksum(f.Data()[14:34], 0); s != 0xffff {
		t.Errorf("case %d: header checksum sums to %#04x", i, s)
	}
}

func corpus4(t *testing.T, rng *rand.Rand, i int) {
	proto := []uint8{packet.ProtoTCP, packet.ProtoUDP}[rng.Intn(2)]
	src, dst := rndAddr4(rng), rndAddr4(rng)
	ip := newIPv4(src, dst, layers.IPProtocol(proto))
	ip.TOS, ip.TTL, ip.Id = uint8(rng.Intn(256)), uint8(1+rng.Intn(255)), uint16(rng.Intn(65536))
	ip.Flags = []layers.IPv4Flag{0, layers.IPv4DontFragment, layers.IPv4MoreFragments}[rng.Intn(3)]
	size := rng.Intn(1300)
	sport, dport := uint16(rng.Intn(65536)), uint16(rng.Intn(65536))
	var l4 []byte
	if proto == packet.ProtoTCP {
		l4 = tcpSeg(t, ip, sport, dport, size)
	} else {
		l4 = udpDgram(t, ip, sport, dport, size)
	}
	f := frameOf(v4Frame(t, ip, l4))
	a := nat64.Addrs{Src6: rndAddr16(rng), Dst6: rndAddr16(rng), SrcPort: uint16(rng.Intn(65536)), DstPort: uint16(rng.Intn(65536))}
	sp := spares(2, bufSize)
	n, r := nat64.V4ToV6(f, parse(f), &a, nil, sp)
	isFrag := ip.Flags == layers.IPv4MoreFragments
	hdr := 40
	if isFrag {
		hdr = 48
	}
	if hdr+len(l4) > 1280 {
		switch {
		case ip.Flags == layers.IPv4DontFragment:
			if r != nat64.ResultFragNeeded {
				t.Fatalf("case %d: %v, want frag_needed", i, r)
			}
			return
		case r != nat64.ResultOK || n != 1:
			t.Fatalf("case %d: %d, %v; want 1 spare used", i, n, r)
		}
		hdr = 48
	} else if r != nat64.ResultOK || n != 0 {
		t.Fatalf("case %d: %d, %v", i, n, r)
	}
	v6, pk := decode6(t, f.Data())
	eq(t, "traffic class", v6.TrafficClass, ip.TOS)
	eq(t, "flow label", v6.FlowLabel, uint32(0))
	eq(t, "hop limit", v6.HopLimit, ip.TTL)
	eq(t, "src", v6.SrcIP, ip16(a.Src6))
	eq(t, "dst", v6.DstIP, ip16(a.Dst6))
	if hdr == 48 {
		fh, _ := pk.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
		if fh == nil {
			t.Fatalf("case %d: no fragment header", i)
		}
		eq(t, "frag ID", fh.Identification, uint32(ip.Id))
		eq(t, "frag offset", fh.FragmentOffset, uint16(0))
		eq(t, "M", fh.MoreFragments, isFrag || n > 0)
		eq(t, "frag next header", uint8(fh.NextHeader), proto)
	} else {
		eq(t, "next header", uint8(v6.NextHeader), proto)
		eq(t, "payload length", int(v6.Length), len(l4))
	}
	seg := f.Data()[14+hdr:]
	eq(t, "sport", binary.BigEndian.Uint16(seg), a.SrcPort)
	eq(t, "dport", binary.BigEndian.Uint16(seg[2:]), a.DstPort)
	if n == 0 {
		if s := checksum.Checksum(seg, checksum.PseudoHeaderV6(a.Src6, a.Dst6, proto, uint32(len(seg)))); s != 0xffff {
			t.Errorf("case %d: transport checksum sums to %#04x", i, s)
		}
	}
}
