package nat64_test

import (
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/packet"
)

// Errors from the IPv6 side are about packets the NAT64 sent there: the
// server's reply eip6:80 -> client6:1234, which left the server as
// eip4:80 -> pool4:40001. Errors from the IPv4 side are about the client's
// packets as translated: pool4:40001 -> eip4:80, originally
// client6:1234 -> eip6:80.
var (
	err6to4 = nat64.Addrs{Src4: pool4, Dst4: eip4, ID: 0x7777,
		InnerSrc4: eip4, InnerDst4: pool4, InnerSrcPort: 80, InnerDstPort: 40001}
	err4to6 = nat64.Addrs{Src6: router4in6, Dst6: client6,
		InnerSrc6: client6, InnerDst6: eip6, InnerSrcPort: 1234, InnerDstPort: 80}
)

// quoted6 is the server's reply as the client received it.
func quoted6(tb testing.TB, size int) []byte {
	ip := newIPv6(eip6, client6, layers.IPProtocolUDP)
	ip.TrafficClass, ip.HopLimit, ip.FlowLabel = 0x20, 50, 0
	return ser(tb, ip, gopacket.Payload(udpDgram(tb, ip, 80, 1234, size)))
}

// quoted4 is the client's packet as the IPv4 side saw it.
func quoted4(tb testing.TB, size int) []byte {
	ip := newIPv4(pool4, eip4, layers.IPProtocolUDP)
	ip.TOS, ip.TTL, ip.Flags, ip.Id = 0x20, 50, 0, 0x1111
	return ser(tb, ip, gopacket.Payload(udpDgram(tb, ip, 40001, 80, size)))
}

func icmp6Error(tb testing.TB, typ, code uint8, param uint32, quote []byte) []byte {
	ip := newIPv6(router6, eip6, layers.IPProtocolICMPv6)
	body := make([]byte, 4, 4+len(quote))
	binary.BigEndian.PutUint32(body, param)
	body = append(body, quote...)
	l4 := l4For(tb, ip, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}, gopacket.Payload(body))
	return v6Frame(tb, ip, nil, l4)
}

func icmp4Error(tb testing.TB, typ, code uint8, rest uint32, quote []byte) []byte {
	ip := newIPv4(router4, pool4, layers.IPProtocolICMPv4)
	ip.Flags = 0
	l4 := ser(tb, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: uint16(rest >> 16), Seq: uint16(rest)},
		gopacket.Payload(quote))
	return v4Frame(tb, ip, l4)
}

type errRow struct {
	typ, code uint8
	param     uint32
	drop      bool
	wantType  uint8
	wantCode  uint8
	wantParam uint32
}

// RFC 7915 §5.2, ICMPv6 errors to ICMPv4, one row per type/code the RFC
// lists, written from the RFC text. wantParam is the ICMPv4 second word.
var errRows6to4 = []errRow{
	{typ: 1, code: 0, wantType: 3, wantCode: 1},
	{typ: 1, code: 1, wantType: 3, wantCode: 10},
	{typ: 1, code: 2, wantType: 3, wantCode: 1},
	{typ: 1, code: 3, wantType: 3, wantCode: 1},
	{typ: 1, code: 4, wantType: 3, wantCode: 3},
	{typ: 1, code: 5, drop: true},
	{typ: 1, code: 6, drop: true},
	{typ: 2, code: 0, param: 1400, wantType: 3, wantCode: 4, wantParam: 1260}, // min(1380, 1500, 1280-20)
	{typ: 3, code: 0, wantType: 11, wantCode: 0},
	{typ: 3, code: 1, wantType: 11, wantCode: 1},
	{typ: 4, code: 0, param: 0, wantType: 12, wantCode: 0, wantParam: 0 << 24},
	{typ: 4, code: 0, param: 1, wantType: 12, wantCode: 0, wantParam: 1 << 24},
	{typ: 4, code: 0, param: 2, drop: true},
	{typ: 4, code: 0, param: 3, drop: true},
	{typ: 4, code: 0, param: 4, wantType: 12, wantCode: 0, wantParam: 2 << 24},
	{typ: 4, code: 0, param: 5, wantType: 12, wantCode: 0, wantParam: 2 << 24},
	{typ: 4, code: 0, param: 6, wantType: 12, wantCode: 0, wantParam: 9 << 24},
	{typ: 4, code: 0, param: 7, wantType: 12, wantCode: 0, wantParam: 8 << 24},
	{typ: 4, code: 0, param: 8, wantType: 12, wantCode: 0, wantParam: 12 << 24},
	{typ: 4, code: 0, param: 23, wantType: 12, wantCode: 0, wantParam: 12 << 24},
	{typ: 4, code: 0, param: 24, wantType: 12, wantCode: 0, wantParam: 16 << 24},
	{typ: 4, code: 0, param: 39, wantType: 12, wantCode: 0, wantParam: 16 << 24},
	{typ: 4, code: 0, param: 40, drop: true},
	{typ: 4, code: 1, wantType: 3, wantCode: 2},
	{typ: 4, code: 2, drop: true},
	{typ: 4, code: 3, drop: true},
	{typ: 0, code: 0, drop: true},
	{typ: 5, code: 0, drop: true},
	{typ: 127, code: 0, drop: true},
}

// RFC 7915 §4.2, ICMPv4 errors to ICMPv6. wantParam is the ICMPv6 second
// word.
var errRows4to6 = []errRow{
	{typ: 3, code: 0, wantType: 1, wantCode: 0},
	{typ: 3, code: 1, wantType: 1, wantCode: 0},
	{typ: 3, code: 2, wantType: 4, wantCode: 1, wantParam: 6},
	{typ: 3, code: 3, wantType: 1, wantCode: 4},
	{typ: 3, code: 4, param: 1400, wantType: 2, wantCode: 0, wantParam: 1280}, // min(1420, 1280, 1520)
	{typ: 3, code: 5, wantType: 1, wantCode: 0},
	{typ: 3, code: 6, wantType: 1, wantCode: 0},
	{typ: 3, code: 7, wantType: 1, wantCode: 0},
	{typ: 3, code: 8, wantType: 1, wantCode: 0},
	{typ: 3, code: 9, wantType: 1, wantCode: 1},
	{typ: 3, code: 10, wantType: 1, wantCode: 1},
	{typ: 3, code: 11, wantType: 1, wantCode: 0},
	{typ: 3, code: 12, wantType: 1, wantCode: 0},
	{typ: 3, code: 13, wantType: 1, wantCode: 1},
	{typ: 3, code: 14, drop: true},
	{typ: 3, code: 15, wantType: 1, wantCode: 1},
	{typ: 3, code: 16, drop: true},
	{typ: 4, code: 0, drop: true}, // source quench
	{typ: 5, code: 1, drop: true}, // redirect
	{typ: 6, code: 0, drop: true}, // alternate host address
	{typ: 11, code: 0, wantType: 3, wantCode: 0},
	{typ: 11, code: 1, wantType: 3, wantCode: 1},
	{typ: 12, code: 0, param: 0 << 24, wantType: 4, wantCode: 0, wantParam: 0},
	{typ: 12, code: 0, param: 1 << 24, wantType: 4, wantCode: 0, wantParam: 1},
	{typ: 12, code: 0, param: 2 << 24, wantType: 4, wantCode: 0, wantParam: 4},
	{typ: 12, code: 0, param: 3 << 24, wantType: 4, wantCode: 0, wantParam: 4},
	{typ: 12, code: 0, param: 4 << 24, drop: true},
	{typ: 12, code: 0, param: 5 << 24, drop: true},
	{typ: 12, code: 0, param: 6 << 24, drop: true},
	{typ: 12, code: 0, param: 7 << 24, drop: true},
	{typ: 12, code: 0, param: 8 << 24, wantType: 4, wantCode: 0, wantParam: 7},
	{typ: 12, code: 0, param: 9 << 24, wantType: 4, wantCode: 0, wantParam: 6},
	{typ: 12, code: 0, param: 10 << 24, drop: true},
	{typ: 12, code: 0, param: 11 << 24, drop: true},
	{typ: 12, code: 0, param: 12 << 24, wantType: 4, wantCode: 0, wantParam: 8},
	{typ: 12, code: 0, param: 15 << 24, wantType: 4, wantCode: 0, wantParam: 8},
	{typ: 12, code: 0, param: 16 << 24, wantType: 4, wantCode: 0, wantParam: 24},
	{typ: 12, code: 0, param: 19 << 24, wantType: 4, wantCode: 0, wantParam: 24},
	{typ: 12, code: 0, param: 20 << 24, drop: true},
	{typ: 12, code: 1, drop: true},
	{typ: 12, code: 2, param: 9 << 24, wantType: 4, wantCode: 0, wantParam: 6},
	{typ: 12, code: 3, drop: true},
	{typ: 42, code: 0, drop: true},
}

func TestICMPv6ErrorToV4(t *testing.T) {
	const size = 40
	quote := quoted6(t, size)
	for _, row := range errRows6to4 {
		f := frameOf(icmp6Error(t, row.typ, row.code, row.param, quote))
		before := clone(f)
		r := nat64.V6ToV4(f, parse(f), &err6to4, nil)
		if row.drop {
			if r != nat64.ResultICMPUntranslatable {
				t.Errorf("%d/%d param %d: %v, want icmp_untranslatable", row.typ, row.code, row.param, r)
			}
			eq(t, "frame after a refusal", clone(f), before)
			continue
		}
		if r != nat64.ResultOK {
			t.Errorf("%d/%d param %d: %v", row.typ, row.code, row.param, r)
			continue
		}
		out := f.Data()
		v4, pk := decode4(t, out)
		eq(t, "outer src", v4.SrcIP, ip4(pool4))
		eq(t, "outer dst", v4.DstIP, ip4(eip4))
		eq(t, "outer protocol", v4.Protocol, layers.IPProtocolICMPv4)
		eq(t, "outer TTL", v4.TTL, uint8(63))
		eq(t, "outer TOS", v4.TOS, uint8(0xb8))
		eq(t, "outer ID", v4.Id, err6to4.ID)
		eq(t, "outer length", int(v4.Length), 20+8+20+8+size)
		ic := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		eq(t, "type/code", ic.TypeCode, layers.CreateICMPv4TypeCode(row.wantType, row.wantCode))
		eq(t, "second word", uint32(ic.Id)<<16|uint32(ic.Seq), row.wantParam)
		// RFC 7915 §5.3: the quoted packet is translated like the outer
		// one, with the session's addresses and ports, hop limit kept.
		in := gopacket.NewPacket(ic.Payload, layers.LayerTypeIPv4, gopacket.Default)
		iv4, _ := in.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if iv4 == nil {
			t.Fatalf("quote is not IPv4: %v", in)
		}
		eq(t, "inner src", iv4.SrcIP, ip4(eip4))
		eq(t, "inner dst", iv4.DstIP, ip4(pool4))
		eq(t, "inner TOS", iv4.TOS, uint8(0x20))
		eq(t, "inner TTL", iv4.TTL, uint8(50))
		eq(t, "inner length", int(iv4.Length), 20+8+size)
		eq(t, "inner flags", iv4.Flags, layers.IPv4Flag(0))
		eq(t, "inner protocol", iv4.Protocol, layers.IPProtocolUDP)
		udp, _ := in.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil {
			t.Fatalf("quote has no UDP: %v", in)
		}
		eq(t, "inner sport", uint16(udp.SrcPort), uint16(80))
		eq(t, "inner dport", uint16(udp.DstPort), uint16(40001))
		eq(t, "inner payload", []byte(udp.Payload), pattern(size))
		checkSums4(t, out[14:])
	}
}

func TestICMPv4ErrorToV6(t *testing.T) {
	const size = 40
	quote := quoted4(t, size)
	for _, row := range errRows4to6 {
		f := frameOf(icmp4Error(t, row.typ, row.code, row.param, quote))
		before := clone(f)
		_, r := nat64.V4ToV6(f, parse(f), &err4to6, nil, nil)
		if row.drop {
			if r != nat64.ResultICMPUntranslatable {
				t.Errorf("%d/%d param %#x: %v, want icmp_untranslatable", row.typ, row.code, row.param, r)
			}
			eq(t, "frame after a refusal", clone(f), before)
			continue
		}
		if r != nat64.ResultOK {
			t.Errorf("%d/%d param %#x: %v", row.typ, row.code, row.param, r)
			continue
		}
		out := f.Data()
		v6, pk := decode6(t, out)
		eq(t, "outer src", v6.SrcIP, ip16(router4in6))
		eq(t, "outer dst", v6.DstIP, ip16(client6))
		eq(t, "outer next header", v6.NextHeader, layers.IPProtocolICMPv6)
		eq(t, "outer hop limit", v6.HopLimit, uint8(61))
		eq(t, "outer traffic class", v6.TrafficClass, uint8(0x28))
		eq(t, "outer flow label", v6.FlowLabel, uint32(0))
		eq(t, "outer length", int(v6.Length), 8+40+8+size)
		ic := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
		eq(t, "type/code", ic.TypeCode, layers.CreateICMPv6TypeCode(row.wantType, row.wantCode))
		eq(t, "second word", binary.BigEndian.Uint32(ic.Payload), row.wantParam)
		// RFC 7915 §4.3.
		in := gopacket.NewPacket(ic.Payload[4:], layers.LayerTypeIPv6, gopacket.Default)
		iv6, _ := in.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		if iv6 == nil {
			t.Fatalf("quote is not IPv6: %v", in)
		}
		eq(t, "inner src", iv6.SrcIP, ip16(client6))
		eq(t, "inner dst", iv6.DstIP, ip16(eip6))
		eq(t, "inner traffic class", iv6.TrafficClass, uint8(0x20))
		eq(t, "inner hop limit", iv6.HopLimit, uint8(50))
		eq(t, "inner payload length", int(iv6.Length), 8+size)
		eq(t, "inner next header", iv6.NextHeader, layers.IPProtocolUDP)
		udp, _ := in.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil {
			t.Fatalf("quote has no UDP: %v", in)
		}
		eq(t, "inner sport", uint16(udp.SrcPort), uint16(1234))
		eq(t, "inner dport", uint16(udp.DstPort), uint16(80))
		checkSums6(t, out[14:])
	}
}

// TestMTU: RFC 7915 §4.2 and §5.2 MTU arithmetic, the plateau table of
// RFC 1191 when the ICMPv4 MTU is 0, and the 1280 floor.
func TestMTU(t *testing.T) {
	t.Run("frag needed to packet too big", func(t *testing.T) {
		tests := []struct {
			adv, innerTL int
			c            nat64.Config
			want         uint32
		}{
			{adv: 1400, innerTL: 1500, want: 1280},                                          // MTU6 default 1280
			{adv: 1400, innerTL: 1500, c: nat64.Config{MTU6: 9000, MTU4: 9000}, want: 1420}, // adv + 20
			{adv: 1000, innerTL: 1500, c: nat64.Config{MTU6: 9000, MTU4: 9000}, want: 1280}, // floor
			{adv: 0, innerTL: 1500, c: nat64.Config{MTU6: 9000, MTU4: 9000}, want: 1512},    // plateau 1492
			{adv: 0, innerTL: 1492, c: nat64.Config{MTU6: 9000, MTU4: 9000}, want: 1280},    // plateau 1006: below it
			{adv: 0, innerTL: 9000, c: nat64.Config{MTU6: 9000, MTU4: 9000}, want: 8186},    // plateau 8166
			{adv: 1500, innerTL: 1500, c: nat64.Config{MTU6: 1400, MTU4: 9000}, want: 1400}, // IPv6 next hop
			{adv: 1500, innerTL: 1500, c: nat64.Config{MTU6: 9000, MTU4: 1300}, want: 1320}, // IPv4 next hop + 20
		}
		for _, tt := range tests {
			q := quoted4(t, tt.innerTL-28)[:28+8] // header + 16 bytes: Total Length says innerTL
			f := frameOf(icmp4Error(t, 3, 4, uint32(tt.adv), q))
			c := tt.c
			if _, r := nat64.V4ToV6(f, parse(f), &err4to6, &c, nil); r != nat64.ResultOK {
				t.Fatalf("%+v: %v", tt, r)
			}
			_, pk := decode6(t, f.Data())
			ic := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			eq(t, "type/code", ic.TypeCode, layers.CreateICMPv6TypeCode(2, 0))
			if got := binary.BigEndian.Uint32(ic.Payload); got != tt.want {
				t.Errorf("adv %d innerTL %d config %+v: MTU %d, want %d", tt.adv, tt.innerTL, tt.c, got, tt.want)
			}
			checkSums6(t, f.Data()[14:])
		}
	})
	t.Run("packet too big to frag needed", func(t *testing.T) {
		tests := []struct {
			adv  uint32
			c    nat64.Config
			want uint16
		}{
			{adv: 1400, want: 1260},
			{adv: 1400, c: nat64.Config{MTU6: 1500, MTU4: 1500}, want: 1380},
			{adv: 9000, c: nat64.Config{MTU6: 1500, MTU4: 1500}, want: 1480},
			{adv: 9000, c: nat64.Config{MTU6: 9000, MTU4: 1500}, want: 1500},
			{adv: 100000, c: nat64.Config{MTU6: 100000, MTU4: 100000}, want: 65535},
			{adv: 20, c: nat64.Config{MTU6: 1500, MTU4: 1500}, want: 68},
		}
		for _, tt := range tests {
			f := frameOf(icmp6Error(t, 2, 0, tt.adv, quoted6(t, 8)))
			c := tt.c
			if r := nat64.V6ToV4(f, parse(f), &err6to4, &c); r != nat64.ResultOK {
				t.Fatalf("%+v: %v", tt, r)
			}
			_, pk := decode4(t, f.Data())
			ic := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if ic.Seq != tt.want {
				t.Errorf("adv %d config %+v: MTU %d, want %d", tt.adv, tt.c, ic.Seq, tt.want)
			}
		}
	})
	t.Run("plateau", func(t *testing.T) {
		for _, tt := range []struct{ tl, want int }{
			{65536, 65535}, {65535, 32000}, {1500, 1492}, {1492, 1006}, {577, 508}, {300, 296}, {69, 68}, {68, 68}, {0, 68},
		} {
			if got := nat64.Plateau(tt.tl); got != tt.want {
				t.Errorf("Plateau(%d) = %d, want %d", tt.tl, got, tt.want)
			}
		}
	})
}

// TestICMPInformational: echo is translated both ways (RFC 7915 §4.2,
// §5.2); every other informational type is dropped.
func TestICMPInformational(t *testing.T) {
	for _, tt := range []struct{ typ, want uint8 }{{128, 8}, {129, 0}} {
		ip := newIPv6(client6, eip6, layers.IPProtocolICMPv6)
		l4 := l4For(t, ip, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(tt.typ, 0)},
			&layers.ICMPv6Echo{Identifier: 1234, SeqNumber: 99}, gopacket.Payload(pattern(56)))
		f := frameOf(v6Frame(t, ip, nil, l4))
		a := out6to4
		a.SrcPort, a.DstPort = 40002, 40002
		if r := nat64.V6ToV4(f, parse(f), &a, nil); r != nat64.ResultOK {
			t.Fatalf("type %d: %v", tt.typ, r)
		}
		v4, pk := decode4(t, f.Data())
		eq(t, "protocol", v4.Protocol, layers.IPProtocolICMPv4)
		ic := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		eq(t, "type/code", ic.TypeCode, layers.CreateICMPv4TypeCode(tt.want, 0))
		eq(t, "identifier", ic.Id, uint16(40002))
		eq(t, "sequence", ic.Seq, uint16(99))
		eq(t, "data", []byte(ic.Payload), pattern(56))
		checkSums4(t, f.Data()[14:])
	}
	for _, tt := range []struct{ typ, want uint8 }{{8, 128}, {0, 129}} {
		ip := newIPv4(eip4, pool4, layers.IPProtocolICMPv4)
		l4 := ser(t, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(tt.typ, 0), Id: 40002, Seq: 99}, gopacket.Payload(pattern(56)))
		f := frameOf(v4Frame(t, ip, l4))
		a := back4to6
		a.SrcPort, a.DstPort = 1234, 1234
		if _, r := nat64.V4ToV6(f, parse(f), &a, nil, nil); r != nat64.ResultOK {
			t.Fatalf("type %d: %v", tt.typ, r)
		}
		v6, pk := decode6(t, f.Data())
		eq(t, "next header", v6.NextHeader, layers.IPProtocolICMPv6)
		ic := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
		eq(t, "type/code", ic.TypeCode, layers.CreateICMPv6TypeCode(tt.want, 0))
		echo := pk.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo)
		eq(t, "identifier", echo.Identifier, uint16(1234))
		eq(t, "sequence", echo.SeqNumber, uint16(99))
		checkSums6(t, f.Data()[14:])
	}
	// RFC 7915 §5.2: MLD (130-132), ND (133-137), unknown: dropped.
	for _, typ := range []uint8{130, 131, 132, 133, 134, 135, 136, 137, 200} {
		ip := newIPv6(client6, eip6, layers.IPProtocolICMPv6)
		l4 := l4For(t, ip, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}, gopacket.Payload(make([]byte, 20)))
		f := frameOf(v6Frame(t, ip, nil, l4))
		if r := nat64.V6ToV4(f, parse(f), &out6to4, nil); r != nat64.ResultICMPUntranslatable {
			t.Errorf("ICMPv6 type %d: %v, want icmp_untranslatable", typ, r)
		}
	}
	// RFC 7915 §4.2: router advertisement/solicitation (9, 10),
	// timestamp (13, 14), information (15, 16), address mask (17, 18),
	// unknown: dropped.
	for _, typ := range []uint8{9, 10, 13, 14, 15, 16, 17, 18, 40} {
		ip := newIPv4(eip4, pool4, layers.IPProtocolICMPv4)
		l4 := ser(t, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0)}, gopacket.Payload(make([]byte, 12)))
		f := frameOf(v4Frame(t, ip, l4))
		if _, r := nat64.V4ToV6(f, parse(f), &back4to6, nil, nil); r != nat64.ResultICMPUntranslatable {
			t.Errorf("ICMPv4 type %d: %v, want icmp_untranslatable", typ, r)
		}
	}
}

func TestICMPErrorQuotes(t *testing.T) {
	t.Run("quoted echo is translated", func(t *testing.T) {
		ip := newIPv6(eip6, client6, layers.IPProtocolICMPv6)
		q := ser(t, ip, gopacket.Payload(l4For(t, ip, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(129, 0)},
			&layers.ICMPv6Echo{Identifier: 1234, SeqNumber: 5}, gopacket.Payload(pattern(16)))))
		f := frameOf(icmp6Error(t, 3, 0, 0, q))
		a := err6to4
		a.InnerSrcPort, a.InnerDstPort = 40003, 40003
		if r := nat64.V6ToV4(f, parse(f), &a, nil); r != nat64.ResultOK {
			t.Fatalf("%v", r)
		}
		_, pk := decode4(t, f.Data())
		ic := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		in := gopacket.NewPacket(ic.Payload, layers.LayerTypeIPv4, gopacket.Default)
		iic, _ := in.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if iic == nil {
			t.Fatalf("quote: %v", in)
		}
		eq(t, "inner type", iic.TypeCode, layers.CreateICMPv4TypeCode(0, 0))
		eq(t, "inner id", iic.Id, uint16(40003))
		checkSums4(t, f.Data()[14:]) // includes the quoted echo's checksum
	})
	t.Run("quote cut inside TCP", func(t *testing.T) {
		ip := newIPv4(pool4, eip4, layers.IPProtocolTCP)
		full := ser(t, ip, gopacket.Payload(tcpSeg(t, ip, 40001, 80, 100)))
		f := frameOf(icmp4Error(t, 11, 0, 0, full[:28]))
		if _, r := nat64.V4ToV6(f, parse(f), &err4to6, nil, nil); r != nat64.ResultOK {
			t.Fatalf("%v", r)
		}
		out := f.Data()[14:]
		eq(t, "length", len(out), 40+8+40+8)
		seg := out[40+8+40:]
		eq(t, "inner sport", binary.BigEndian.Uint16(seg), uint16(1234))
		eq(t, "inner dport", binary.BigEndian.Uint16(seg[2:]), uint16(80))
		eq(t, "inner seq", binary.BigEndian.Uint32(seg[4:]), uint32(0x01020304))
		eq(t, "inner payload length", int(binary.BigEndian.Uint16(out[48+4:])), 120)
		checkSums6(t, out)
	})
	t.Run("long quote cut at 1280", func(t *testing.T) {
		f := frameOf(icmp4Error(t, 3, 3, 0, quoted4(t, 1300)))
		if _, r := nat64.V4ToV6(f, parse(f), &err4to6, nil, nil); r != nat64.ResultOK {
			t.Fatalf("%v", r)
		}
		out := f.Data()[14:]
		eq(t, "IPv6 packet length", len(out), 1280)
		eq(t, "payload length", int(binary.BigEndian.Uint16(out[4:])), 1240)
		eq(t, "inner payload length (declared)", int(binary.BigEndian.Uint16(out[48+4:])), 1308)
		checkSums6(t, out)
	})
	t.Run("quoted fragment gets a fragment header", func(t *testing.T) {
		ip := newIPv4(pool4, eip4, layers.IPProtocolUDP)
		ip.Flags, ip.Id = layers.IPv4MoreFragments, 0xabcd
		q := ser(t, ip, gopacket.Payload(udpDgram(t, ip, 40001, 80, 32)))
		f := frameOf(icmp4Error(t, 11, 1, 0, q))
		if _, r := nat64.V4ToV6(f, parse(f), &err4to6, nil, nil); r != nat64.ResultOK {
			t.Fatalf("%v", r)
		}
		out := f.Data()[14:]
		in := out[48:]
		eq(t, "inner next header", in[6], uint8(packet.ProtoFragment))
		fh := in[40:48]
		eq(t, "frag next header", fh[0], uint8(packet.ProtoUDP))
		eq(t, "frag offset+M", binary.BigEndian.Uint16(fh[2:]), uint16(1))
		eq(t, "frag ID", binary.BigEndian.Uint32(fh[4:]), uint32(0xabcd))
		eq(t, "inner payload length", int(binary.BigEndian.Uint16(in[4:])), 8+8+32)
		eq(t, "inner sport", binary.BigEndian.Uint16(in[48:]), uint16(1234))
		checkSums6(t, out)
	})
	t.Run("quoted error is refused", func(t *testing.T) {
		inner := icmp6Error(t, 1, 4, 0, quoted6(t, 8))[14:]
		f := frameOf(icmp6Error(t, 1, 4, 0, inner))
		if r := nat64.V6ToV4(f, parse(f), &err6to4, nil); r != nat64.ResultBadInner {
			t.Errorf("V6ToV4 = %v, want bad_inner", r)
		}
		inner4 := icmp4Error(t, 3, 3, 0, quoted4(t, 8))[14:]
		f = frameOf(icmp4Error(t, 3, 3, 0, inner4))
		if _, r := nat64.V4ToV6(f, parse(f), &err4to6, nil, nil); r != nat64.ResultBadInner {
			t.Errorf("V4ToV6 = %v, want bad_inner", r)
		}
	})
	t.Run("quote too short", func(t *testing.T) {
		f := frameOf(icmp6Error(t, 1, 4, 0, quoted6(t, 8)[:39]))
		if r := nat64.V6ToV4(f, parse(f), &err6to4, nil); r != nat64.ResultBadInner {
			t.Errorf("V6ToV4 = %v, want bad_inner", r)
		}
		f = frameOf(icmp4Error(t, 3, 3, 0, quoted4(t, 8)[:19]))
		if _, r := nat64.V4ToV6(f, parse(f), &err4to6, nil, nil); r != nat64.ResultBadInner {
			t.Errorf("V4ToV6 = %v, want bad_inner", r)
		}
	})
	t.Run("bad ICMP checksum", func(t *testing.T) {
		f := frameOf(icmp6Error(t, 1, 4, 0, quoted6(t, 8)))
		f.Data()[len(f.Data())-1] ^= 1
		if r := nat64.V6ToV4(f, parse(f), &err6to4, nil); r != nat64.ResultBadChecksum {
			t.Errorf("V6ToV4 = %v, want bad_checksum", r)
		}
		f = frameOf(icmp4Error(t, 3, 3, 0, quoted4(t, 8)))
		f.Data()[len(f.Data())-1] ^= 1
		if _, r := nat64.V4ToV6(f, parse(f), &err4to6, nil, nil); r != nat64.ResultBadChecksum {
			t.Errorf("V4ToV6 = %v, want bad_checksum", r)
		}
	})
}

func TestParseEmbedded(t *testing.T) {
	f := frameOf(icmp6Error(t, 1, 4, 0, quoted6(t, 8)))
	var e nat64.Embedded
	if r := nat64.ParseEmbedded(f.Data(), parse(f), &e); r != nat64.ResultOK {
		t.Fatalf("v6: %v", r)
	}
	want := nat64.Embedded{Proto: packet.ProtoUDP, Src: eip6, Dst: client6, SrcPort: 80, DstPort: 1234, HasPorts: true}
	if e != want {
		t.Errorf("v6: got %+v, want %+v", e, want)
	}
	f = frameOf(icmp4Error(t, 3, 3, 0, quoted4(t, 8)[:24]))
	if r := nat64.ParseEmbedded(f.Data(), parse(f), &e); r != nat64.ResultOK {
		t.Fatalf("v4: %v", r)
	}
	want = nat64.Embedded{Proto: packet.ProtoUDP, SrcPort: 40001, DstPort: 80, HasPorts: true}
	copy(want.Src[:], pool4[:])
	copy(want.Dst[:], eip4[:])
	if e != want {
		t.Errorf("v4: got %+v, want %+v", e, want)
	}
	f = frameOf(v4Frame(t, newIPv4(eip4, pool4, layers.IPProtocolUDP), make([]byte, 8)))
	if r := nat64.ParseEmbedded(f.Data(), parse(f), &e); r != nat64.ResultMalformed {
		t.Errorf("not an error: %v", r)
	}
}
