package nat64_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/packet"
)

// out6to4 is what the stateful layer would choose for the client's flow.
var out6to4 = nat64.Addrs{Src4: pool4, Dst4: eip4, SrcPort: 40001, DstPort: 80, ID: 0x5151}

// back4to6 is the reverse direction of the same flow.
var back4to6 = nat64.Addrs{Src6: eip6, Dst6: client6, SrcPort: 80, DstPort: 1234}

func tcpSeg(tb testing.TB, nl gopacket.NetworkLayer, sport, dport uint16, n int) []byte {
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 0x01020304, Ack: 0x0a0b0c0d,
		ACK: true, PSH: true, Window: 4096, Urgent: 0}
	return l4For(tb, nl, tcp, gopacket.Payload(pattern(n)))
}

func udpDgram(tb testing.TB, nl gopacket.NetworkLayer, sport, dport uint16, n int) []byte {
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	return l4For(tb, nl, udp, gopacket.Payload(pattern(n)))
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func TestV6ToV4Fields(t *testing.T) {
	tests := []struct {
		name    string
		proto   uint8
		ext     func(next uint8) []byte
		size    int // transport payload bytes
		tc, hop uint8
		zeroTC  bool
		wantDF  bool
	}{
		{name: "tcp small", proto: packet.ProtoTCP, size: 10, tc: 0xb8, hop: 63},
		{name: "udp small", proto: packet.ProtoUDP, size: 100, tc: 0x01, hop: 1},
		{name: "udp 1260 bytes over IPv4 keeps DF clear", proto: packet.ProtoUDP, size: 1260 - 28, tc: 0, hop: 255},
		{name: "udp 1261 bytes over IPv4 sets DF", proto: packet.ProtoUDP, size: 1261 - 28, hop: 64, wantDF: true},
		{name: "tcp 1400 sets DF", proto: packet.ProtoTCP, size: 1400, hop: 64, wantDF: true},
		{name: "hop-by-hop skipped", proto: packet.ProtoTCP, size: 33, hop: 9,
			ext: func(n uint8) []byte { return hopByHop(n) }},
		{name: "hbh, dest opts, routing sl=0 skipped", proto: packet.ProtoUDP, size: 17, hop: 9,
			ext: func(n uint8) []byte {
				return append(append(hopByHop(packet.ProtoDestOpts), destOpts(packet.ProtoRouting)...), routing(n, 0)...)
			}},
		{name: "zero traffic class option", proto: packet.ProtoTCP, size: 5, tc: 0xfc, hop: 64, zeroTC: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := newIPv6(client6, eip6, 0)
			ip.TrafficClass, ip.HopLimit = tt.tc, tt.hop
			var l4 []byte
			if tt.proto == packet.ProtoTCP {
				l4 = tcpSeg(t, ip, 1234, 80, tt.size)
			} else {
				l4 = udpDgram(t, ip, 1234, 80, tt.size)
			}
			var ext []byte
			ip.NextHeader = layers.IPProtocol(tt.proto)
			if tt.ext != nil {
				ext = tt.ext(tt.proto)
				ip.NextHeader = layers.IPProtocolIPv6HopByHop // every chain here starts with it
			}
			f := frameOf(v6Frame(t, ip, ext, l4))
			c := &nat64.Config{ZeroTrafficClass: tt.zeroTC}
			if r := nat64.V6ToV4(f, parse(f), &out6to4, c); r != nat64.ResultOK {
				t.Fatalf("V6ToV4 = %v", r)
			}
			out := f.Data()
			if f.Off != headroom+20+len(ext) {
				t.Errorf("Off = %d, want %d (the frame shrinks by 20 + ext)", f.Off, headroom+20+len(ext))
			}
			v4, pk := decode4(t, out)
			// RFC 7915 §5.1, field by field.
			eq(t, "version", v4.Version, uint8(4))
			eq(t, "IHL", v4.IHL, uint8(5))
			wantTOS := tt.tc
			if tt.zeroTC {
				wantTOS = 0
			}
			eq(t, "TOS", v4.TOS, wantTOS)
			eq(t, "total length", int(v4.Length), 20+len(l4))
			eq(t, "ID", v4.Id, out6to4.ID)
			var wantFlags layers.IPv4Flag
			if tt.wantDF {
				wantFlags = layers.IPv4DontFragment
			}
			eq(t, "flags", v4.Flags, wantFlags)
			eq(t, "fragment offset", v4.FragOffset, uint16(0))
			eq(t, "TTL", v4.TTL, tt.hop)
			eq(t, "protocol", uint8(v4.Protocol), tt.proto)
			eq(t, "src", v4.SrcIP, ip4(pool4))
			eq(t, "dst", v4.DstIP, ip4(eip4))
			e := pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			eq(t, "eth src", e.SrcMAC.String(), macA.String())
			eq(t, "eth dst", e.DstMAC.String(), macB.String())
			seg := out[14+20:]
			eq(t, "sport", binary.BigEndian.Uint16(seg), out6to4.SrcPort)
			eq(t, "dport", binary.BigEndian.Uint16(seg[2:]), out6to4.DstPort)
			// Everything but ports and checksum is the same.
			ck := 16
			if tt.proto == packet.ProtoUDP {
				ck = 6
			}
			eq(t, "transport bytes", seg[4:ck], l4[4:ck])
			eq(t, "transport tail", seg[ck+2:], l4[ck+2:])
			checkSums4(t, out[14:])
		})
	}
}

func TestV4ToV6Fields(t *testing.T) {
	tests := []struct {
		name    string
		proto   uint8
		size    int
		tos     uint8
		ttl     uint8
		options []layers.IPv4Option
		df      bool
	}{
		{name: "tcp", proto: packet.ProtoTCP, size: 10, tos: 0xb8, ttl: 60, df: true},
		{name: "udp DF clear, small: no fragment header", proto: packet.ProtoUDP, size: 100, tos: 0x03, ttl: 1},
		{name: "udp 1232 bytes DF clear fits 1280 exactly", proto: packet.ProtoUDP, size: 1280 - 48, ttl: 255},
		{name: "options dropped", proto: packet.ProtoTCP, size: 20, ttl: 30, df: true,
			options: []layers.IPv4Option{{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}}, {OptionType: 1}}},
		{name: "expired source route ignored", proto: packet.ProtoUDP, size: 20, ttl: 30,
			options: []layers.IPv4Option{{OptionType: 131, OptionLength: 7, OptionData: []byte{8, 1, 2, 3, 4}}, {OptionType: 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := newIPv4(eip4, pool4, layers.IPProtocol(tt.proto))
			ip.TOS, ip.TTL, ip.Options = tt.tos, tt.ttl, tt.options
			if !tt.df {
				ip.Flags = 0
			}
			var l4 []byte
			if tt.proto == packet.ProtoTCP {
				l4 = tcpSeg(t, ip, 80, 40001, tt.size)
			} else {
				l4 = udpDgram(t, ip, 80, 40001, tt.size)
			}
			f := frameOf(v4Frame(t, ip, l4))
			hl := 20 + 4*((optLen(tt.options)+3)/4)
			n, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil)
			if r != nat64.ResultOK || n != 0 {
				t.Fatalf("V4ToV6 = %d, %v", n, r)
			}
			if want := headroom - 40 + hl; f.Off != want {
				t.Errorf("Off = %d, want %d", f.Off, want)
			}
			out := f.Data()
			v6, _ := decode6(t, out)
			// RFC 7915 §4.1, field by field.
			eq(t, "version", v6.Version, uint8(6))
			eq(t, "traffic class", v6.TrafficClass, tt.tos)
			eq(t, "flow label", v6.FlowLabel, uint32(0))
			eq(t, "payload length", int(v6.Length), len(l4))
			eq(t, "next header", uint8(v6.NextHeader), tt.proto)
			eq(t, "hop limit", v6.HopLimit, tt.ttl)
			eq(t, "src", v6.SrcIP, ip16(eip6))
			eq(t, "dst", v6.DstIP, ip16(client6))
			seg := out[14+40:]
			eq(t, "sport", binary.BigEndian.Uint16(seg), back4to6.SrcPort)
			eq(t, "dport", binary.BigEndian.Uint16(seg[2:]), back4to6.DstPort)
			checkSums6(t, out[14:])
		})
	}
}

func optLen(opts []layers.IPv4Option) int {
	n := 0
	for _, o := range opts {
		if o.OptionType <= 1 {
			n++
		} else {
			n += int(o.OptionLength)
		}
	}
	return n
}

// TestRoundTrip: IPv6 -> IPv4 -> IPv6 with the reverse mapping gives back
// the original packet, except what RFC 7915 does not carry: the flow label
// (0) and the extension headers (dropped).
func TestRoundTrip(t *testing.T) {
	for _, proto := range []uint8{packet.ProtoTCP, packet.ProtoUDP, packet.ProtoICMPv6} {
		for _, size := range []int{0, 1, 31, 500, 1200} {
			ip := newIPv6(client6, eip6, layers.IPProtocol(proto))
			ip.FlowLabel = 0
			var l4 []byte
			switch proto {
			case packet.ProtoTCP:
				l4 = tcpSeg(t, ip, 1234, 80, size)
			case packet.ProtoUDP:
				l4 = udpDgram(t, ip, 1234, 80, size)
			default:
				l4 = l4For(t, ip, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)},
					&layers.ICMPv6Echo{Identifier: 1234, SeqNumber: 7}, gopacket.Payload(pattern(size)))
			}
			orig := v6Frame(t, ip, nil, l4)
			f := frameOf(orig)
			a := out6to4
			if proto == packet.ProtoICMPv6 {
				a.SrcPort, a.DstPort = 40001, 40001
			}
			if r := nat64.V6ToV4(f, parse(f), &a, nil); r != nat64.ResultOK {
				t.Fatalf("proto %d size %d: V6ToV4 = %v", proto, size, r)
			}
			checkSums4(t, f.Data()[14:])
			b := back4to6
			b.Src6, b.Dst6 = client6, eip6
			b.SrcPort, b.DstPort = 1234, 80
			if proto == packet.ProtoICMPv6 {
				b.SrcPort, b.DstPort = 1234, 1234
			}
			if _, r := nat64.V4ToV6(f, parse(f), &b, nil, nil); r != nat64.ResultOK {
				t.Fatalf("proto %d size %d: V4ToV6 = %v", proto, size, r)
			}
			if !bytes.Equal(f.Data(), orig) {
				t.Errorf("proto %d size %d: round trip differs:\n-% x\n+% x", proto, size, orig, f.Data())
			}
			if f.Off != headroom {
				t.Errorf("Off = %d after round trip", f.Off)
			}
		}
	}
}

func TestVLANKept(t *testing.T) {
	ip := newIPv6(client6, eip6, layers.IPProtocolUDP)
	l4 := udpDgram(t, ip, 1234, 80, 9)
	pkt := ser(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 42, Type: layers.EthernetTypeIPv6}, ip, gopacket.Payload(l4))
	f := frameOf(pkt)
	if r := nat64.V6ToV4(f, parse(f), &out6to4, nil); r != nat64.ResultOK {
		t.Fatalf("V6ToV4 = %v", r)
	}
	pk := gopacket.NewPacket(f.Data(), layers.LayerTypeEthernet, gopacket.Default)
	q, _ := pk.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
	if q == nil || q.VLANIdentifier != 42 || q.Type != layers.EthernetTypeIPv4 {
		t.Fatalf("VLAN tag lost or wrong: %v", pk)
	}
	if pk.Layer(layers.LayerTypeUDP) == nil {
		t.Fatalf("no UDP: %v", pk)
	}
	checkSums4(t, f.Data()[18:])
}

func TestZeroChecksumUDP(t *testing.T) {
	// RFC 7915 §4.5: a whole datagram gets a computed checksum.
	ip := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	l4 := udpDgram(t, ip, 80, 40001, 50)
	l4[6], l4[7] = 0, 0
	f := frameOf(v4Frame(t, ip, l4))
	if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultUDPChecksumComputed || !r.Translated() {
		t.Fatalf("V4ToV6 = %v, want udp_checksum_computed", r)
	}
	out := f.Data()[14:]
	if binary.BigEndian.Uint16(out[40+6:]) == 0 {
		t.Fatalf("checksum still zero")
	}
	checkSums6(t, out)

	// The first fragment of such a datagram is dropped.
	ip.Flags = layers.IPv4MoreFragments
	l4 = udpDgram(t, ip, 80, 40001, 48)
	binary.BigEndian.PutUint16(l4[4:], 200) // the whole datagram is longer
	l4[6], l4[7] = 0, 0
	f = frameOf(v4Frame(t, ip, l4))
	before := clone(f)
	if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultFragmentedZeroCsumUDP {
		t.Fatalf("V4ToV6 = %v, want fragmented_zero_csum_udp", r)
	}
	eq(t, "frame after a refusal", clone(f), before)
}

func TestRoutingHeader(t *testing.T) {
	ip := newIPv6(client6, eip6, layers.IPProtocolIPv6HopByHop)
	l4 := udpDgram(t, ip, 1234, 80, 10)
	ext := append(hopByHop(packet.ProtoRouting), routing(packet.ProtoUDP, 1)...)
	f := frameOf(v6Frame(t, ip, ext, l4))
	p := parse(f)
	before := clone(f)
	if r := nat64.V6ToV4(f, p, &out6to4, nil); r != nat64.ResultRoutingHeader {
		t.Fatalf("V6ToV4 = %v, want routing_header", r)
	}
	eq(t, "frame after a refusal", clone(f), before)
	// RFC 7915 §5.1: the pointer is the Segments Left field: 40 + 8 + 3.
	if got := nat64.RoutingHeaderPointer(f.Data(), p); got != 51 {
		t.Errorf("RoutingHeaderPointer = %d, want 51", got)
	}
	if r := nat64.BuildRoutingHeaderError(f, p, router6); r != nat64.ResultOK {
		t.Fatalf("BuildRoutingHeaderError = %v", r)
	}
	v6, pk := decode6(t, f.Data())
	eq(t, "error src", v6.SrcIP, ip16(router6))
	eq(t, "error dst", v6.DstIP, ip16(client6))
	ic := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	eq(t, "type/code", ic.TypeCode, layers.CreateICMPv6TypeCode(4, 0))
	eq(t, "pointer", binary.BigEndian.Uint32(ic.Payload), uint32(51))
	eq(t, "quoted packet", ic.Payload[4:], before[14:])
	checkSums6(t, f.Data()[14:])
}

func TestSourceRoute(t *testing.T) {
	for _, typ := range []uint8{131, 137} {
		ip := newIPv4(eip4, pool4, layers.IPProtocolTCP)
		// Pointer 4 <= length 11: two hops still to go.
		ip.Options = []layers.IPv4Option{{OptionType: typ, OptionLength: 11, OptionData: []byte{4, 1, 2, 3, 4, 5, 6, 7, 8}}, {OptionType: 0}}
		f := frameOf(v4Frame(t, ip, tcpSeg(t, ip, 80, 40001, 4)))
		if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultSourceRoute {
			t.Errorf("option %d: V4ToV6 = %v, want source_route", typ, r)
		}
	}
}

func TestRefusals(t *testing.T) {
	ip6 := newIPv6(client6, eip6, layers.IPProtocolUDP)
	ip4 := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	udp4 := v4Frame(t, ip4, udpDgram(t, ip4, 80, 40001, 8))
	t.Run("v6 frame to V4ToV6", func(t *testing.T) {
		f := frameOf(v6Frame(t, ip6, nil, udpDgram(t, ip6, 1, 2, 3)))
		if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultMalformed {
			t.Errorf("= %v", r)
		}
	})
	t.Run("v4 frame to V6ToV4", func(t *testing.T) {
		f := frameOf(udp4)
		if r := nat64.V6ToV4(f, parse(f), &out6to4, nil); r != nat64.ResultMalformed {
			t.Errorf("= %v", r)
		}
	})
	t.Run("bad IPv4 header checksum", func(t *testing.T) {
		f := frameOf(udp4)
		f.Data()[14+10] ^= 0xff
		if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultBadChecksum {
			t.Errorf("= %v", r)
		}
		// A caller that verified the header itself (the data plane, on
		// receipt) is not second-guessed: the check is its.
		checked := nat64.Config{IPv4HeaderChecked: true}
		if _, r := nat64.V4ToV6(f, parse(f), &back4to6, &checked, nil); !r.Translated() {
			t.Errorf("with IPv4HeaderChecked = %v, want translated", r)
		}
	})
	t.Run("unsupported protocol", func(t *testing.T) {
		ip := newIPv4(eip4, pool4, layers.IPProtocolGRE)
		f := frameOf(v4Frame(t, ip, make([]byte, 8)))
		if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultUnsupportedProto {
			t.Errorf("= %v", r)
		}
		ip6 := newIPv6(client6, eip6, layers.IPProtocolESP)
		f = frameOf(v6Frame(t, ip6, nil, make([]byte, 16)))
		if r := nat64.V6ToV4(f, parse(f), &out6to4, nil); r != nat64.ResultUnsupportedProto {
			t.Errorf("= %v", r)
		}
	})
	t.Run("no headroom", func(t *testing.T) {
		buf := append([]byte(nil), udp4...)
		f := &nat64.Frame{Buf: buf, Off: 0, Len: len(buf)}
		if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultNoHeadroom {
			t.Errorf("= %v", r)
		}
		eq(t, "frame", buf, udp4)
	})
	t.Run("frame bounds", func(t *testing.T) {
		// frameL3's unsigned compares: a negative or too large Off or
		// Len is refused, not sliced.
		bad := func(f *nat64.Frame) [][2]int {
			n := len(f.Buf)
			return [][2]int{{-1, f.Len}, {f.Off, -1}, {-64, 64}, {n + 1, 0}, {f.Off, n - f.Off + 1}, {n, 1}}
		}
		f := frameOf(udp4)
		p := parse(f)
		for _, c := range bad(f) {
			g := *f
			g.Off, g.Len = c[0], c[1]
			if _, r := nat64.V4ToV6(&g, p, &back4to6, nil, nil); r != nat64.ResultMalformed {
				t.Errorf("V4ToV6 Off %d Len %d = %v", g.Off, g.Len, r)
			}
		}
		f6 := frameOf(v6Frame(t, ip6, nil, udpDgram(t, ip6, 1, 2, 3)))
		p6 := parse(f6)
		for _, c := range bad(f6) {
			g := *f6
			g.Off, g.Len = c[0], c[1]
			if r := nat64.V6ToV4(&g, p6, &out6to4, nil); r != nat64.ResultMalformed {
				t.Errorf("V6ToV4 Off %d Len %d = %v", g.Off, g.Len, r)
			}
		}
	})
	t.Run("decode status not ok", func(t *testing.T) {
		f := frameOf(udp4)
		p := parse(f)
		p.Status = packet.DecodeTruncatedL4
		if _, r := nat64.V4ToV6(f, p, &back4to6, nil, nil); r != nat64.ResultMalformed {
			t.Errorf("= %v", r)
		}
	})
}

func TestResultNames(t *testing.T) {
	seen := map[string]bool{}
	for r := nat64.Result(0); r < nat64.NumResults; r++ {
		s := r.String()
		if s == "" || s == "unknown" || seen[s] {
			t.Errorf("Result(%d).String() = %q", r, s)
		}
		seen[s] = true
		if r.Translated() != (r <= nat64.ResultUDPChecksumComputed) {
			t.Errorf("%v.Translated() = %v", r, r.Translated())
		}
	}
	if nat64.Result(nat64.NumResults).String() != "unknown" {
		t.Errorf("out of range: %q", nat64.Result(nat64.NumResults).String())
	}
}
