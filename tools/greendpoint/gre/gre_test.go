package gre_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
	"xdpgw/tools/greendpoint/gre"
)

// The tenant-1 tunnel of the prototype in docs/background.md §A: the
// gateway at 172.168.0.1, tenant 1 at 172.168.0.11, key 1000.
var (
	gateway = netip.MustParseAddr("172.168.0.1")
	tenant1 = netip.MustParseAddr("172.168.0.11")
	cfg1000 = gre.Config{Local: tenant1, Remote: gateway, Key: 1000, HasKey: true}
)

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// outer wraps payload in a 20-byte IPv4 header from src to dst with the
// given protocol, as a raw socket delivers it.
func outer(src, dst netip.Addr, proto uint8, payload []byte) []byte {
	b := make([]byte, packet.IPv4MinSize+len(payload))
	packet.EncodeIPv4(b, packet.IPv4Fields{
		TotalLength: uint16(len(b)), TTL: 64, Protocol: proto,
		Src: src.As4(), Dst: dst.As4(),
	})
	copy(b[packet.IPv4MinSize:], payload)
	return b
}

// fromGateway wraps a GRE packet as the gateway would send it to tenant 1.
func fromGateway(g []byte) []byte { return outer(gateway, tenant1, packet.ProtoGRE, g) }

// icmp4 is a small inner IPv4 packet (an echo request 10.0.0.7 -> 1.1.1.7);
// its contents do not matter to GRE beyond the version nibble.
func icmp4() []byte {
	b := make([]byte, 28)
	packet.EncodeIPv4(b, packet.IPv4Fields{TotalLength: 28, TTL: 64, Protocol: packet.ProtoICMP,
		Src: [4]byte{10, 0, 0, 7}, Dst: [4]byte{1, 1, 1, 7}})
	copy(b[20:], []byte{8, 0, 0xf7, 0xfe, 0, 1, 0, 0})
	return b
}

// udp6 is a small inner IPv6 packet with an odd length, so that the GRE
// checksum has a trailing byte to pad.
func udp6() []byte {
	b := make([]byte, 40+9)
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], 9)
	b[6] = packet.ProtoUDP
	b[7] = 64
	b[8], b[23] = 0x20, 1
	b[24], b[39] = 0x20, 2
	copy(b[40:], []byte{0x12, 0x34, 0x00, 0x35, 0, 9, 0, 0, 0xab})
	return b
}

// hdr builds a GRE header by hand: first two octets, protocol, then the
// optional words in order. It does not compute a checksum.
func hdr(b0, b1 byte, proto uint16, words ...uint32) []byte {
	b := []byte{b0, b1, byte(proto >> 8), byte(proto)}
	for _, w := range words {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b
}

// withChecksum fills in the checksum word of a GRE packet whose C bit is
// set and returns it.
func withChecksum(g []byte) []byte {
	v := packet.GRE(g)
	v.SetChecksum(0)
	v.SetChecksum(v.CalculateChecksum())
	return g
}

func TestDecap(t *testing.T) {
	in4, in6 := icmp4(), udp6()
	unkeyed := gre.Config{Local: tenant1, Remote: gateway}
	tests := []struct {
		name   string
		cfg    gre.Config
		pkt    []byte
		inner  []byte
		proto  uint16
		reason gre.DropReason
	}{
		{name: "keyed ipv4", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x20, 0, 0x0800, 1000), in4)), inner: in4, proto: 0x0800},
		{name: "keyed ipv6", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x20, 0, 0x86DD, 1000), in6)), inner: in6, proto: 0x86DD},
		{name: "unkeyed", cfg: unkeyed, pkt: fromGateway(cat(hdr(0, 0, 0x0800), in4)), inner: in4, proto: 0x0800},
		{name: "key 0 is a key", cfg: gre.Config{Local: tenant1, Remote: gateway, HasKey: true},
			pkt: fromGateway(cat(hdr(0x20, 0, 0x0800, 0), in4)), inner: in4, proto: 0x0800},
		{name: "key mismatch", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x20, 0, 0x0800, 2000), in4)), reason: gre.KeyMismatch},
		{name: "key missing", cfg: cfg1000, pkt: fromGateway(cat(hdr(0, 0, 0x0800), in4)), reason: gre.KeyMismatch},
		{name: "key on unkeyed tunnel", cfg: unkeyed, pkt: fromGateway(cat(hdr(0x20, 0, 0x0800, 1000), in4)), reason: gre.KeyMismatch},
		{name: "checksum and key", cfg: cfg1000, pkt: fromGateway(withChecksum(cat(hdr(0xa0, 0, 0x0800, 0, 1000), in4))), inner: in4, proto: 0x0800},
		{name: "checksum odd length", cfg: unkeyed, pkt: fromGateway(withChecksum(cat(hdr(0x80, 0, 0x86DD, 0), in6))), inner: in6, proto: 0x86DD},
		{name: "checksum bad", cfg: cfg1000, pkt: func() []byte {
			g := withChecksum(cat(hdr(0xa0, 0, 0x0800, 0, 1000), in4))
			g[len(g)-1] ^= 0x40
			return fromGateway(g)
		}(), reason: gre.BadChecksum},
		{name: "checksum zero stored", cfg: cfg1000, pkt: fromGateway(cat(hdr(0xa0, 0, 0x0800, 0, 1000), in4)), reason: gre.BadChecksum},
		{name: "sequence number accepted", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x30, 0, 0x0800, 1000, 7), in4)), inner: in4, proto: 0x0800},
		{name: "all of C K S", cfg: cfg1000, pkt: fromGateway(withChecksum(cat(hdr(0xb0, 0, 0x86DD, 0, 1000, 0xffffffff), in6))), inner: in6, proto: 0x86DD},
		{name: "sequence without key on keyed tunnel", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x10, 0, 0x0800, 1000), in4)), reason: gre.KeyMismatch},
		{name: "reserved0 bits 6-12 ignored", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x23, 0xf8, 0x0800, 1000), in4)), inner: in4, proto: 0x0800},
		{name: "version 1 pptp", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x20, 1, 0x880b, 1000), in4)), reason: gre.BadVersion},
		{name: "version 7 short", cfg: cfg1000, pkt: fromGateway(hdr(0x30, 7, 0x0800)), reason: gre.BadVersion},
		{name: "routing bit rfc1701", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x60, 0, 0x0800, 1000), in4)), reason: gre.BadFlags},
		{name: "strict source route bit", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x28, 0, 0x0800, 1000), in4)), reason: gre.BadFlags},
		{name: "recursion control top bit", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x24, 0, 0x0800, 1000), in4)), reason: gre.BadFlags},
		{name: "routing bit and truncated", cfg: cfg1000, pkt: fromGateway(hdr(0x60, 0, 0x0800)), reason: gre.BadFlags},
		{name: "transparent ethernet", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x20, 0, 0x6558, 1000), make([]byte, 60))), reason: gre.UnsupportedProto},
		{name: "wrong source", cfg: cfg1000, pkt: outer(netip.MustParseAddr("172.168.0.12"), tenant1, packet.ProtoGRE, cat(hdr(0x20, 0, 0x0800, 1000), in4)), reason: gre.WrongSource},
		{name: "wrong destination", cfg: cfg1000, pkt: outer(gateway, netip.MustParseAddr("172.168.0.12"), packet.ProtoGRE, cat(hdr(0x20, 0, 0x0800, 1000), in4)), reason: gre.WrongDestination},
		{name: "zero config accepts any address", cfg: gre.Config{Key: 1000, HasKey: true},
			pkt: outer(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), packet.ProtoGRE, cat(hdr(0x20, 0, 0x0800, 1000), in4)), inner: in4, proto: 0x0800},
		{name: "not gre", cfg: cfg1000, pkt: outer(gateway, tenant1, packet.ProtoUDP, make([]byte, 16)), reason: gre.NotGRE},
		{name: "outer fragment", cfg: cfg1000, pkt: func() []byte {
			p := fromGateway(cat(hdr(0x20, 0, 0x0800, 1000), in4))
			ip := packet.IPv4(p)
			ip.SetFlagsFragmentOffset(packet.IPv4FlagMF, 0)
			return p
		}(), reason: gre.Fragment},
		{name: "outer padding ignored", cfg: cfg1000, pkt: cat(fromGateway(cat(hdr(0x20, 0, 0x0800, 1000), in4)), make([]byte, 6)), inner: in4, proto: 0x0800},
		{name: "outer ipv6 version", cfg: cfg1000, pkt: func() []byte {
			p := fromGateway(cat(hdr(0x20, 0, 0x0800, 1000), in4))
			p[0] = 0x65
			return p
		}(), reason: gre.BadIP},
		{name: "outer ihl below 5", cfg: cfg1000, pkt: func() []byte {
			p := fromGateway(cat(hdr(0x20, 0, 0x0800, 1000), in4))
			p[0] = 0x44
			return p
		}(), reason: gre.BadIP},
		{name: "empty", cfg: cfg1000, pkt: nil, reason: gre.Truncated},
		{name: "outer 19 bytes", cfg: cfg1000, pkt: fromGateway(nil)[:19], reason: gre.Truncated},
		{name: "outer total length beyond buffer", cfg: cfg1000, pkt: fromGateway(cat(hdr(0x20, 0, 0x0800, 1000), in4))[:40], reason: gre.Truncated},
		{name: "gre 3 bytes", cfg: cfg1000, pkt: fromGateway([]byte{0x20, 0, 8}), reason: gre.Truncated},
		{name: "key flag without key word", cfg: cfg1000, pkt: fromGateway(hdr(0x20, 0, 0x0800)), reason: gre.Truncated},
		{name: "checksum flag without word", cfg: cfg1000, pkt: fromGateway(hdr(0xa0, 0, 0x0800, 0)), reason: gre.Truncated},
		{name: "no inner packet", cfg: cfg1000, pkt: fromGateway(hdr(0x20, 0, 0x0800, 1000)), reason: gre.Truncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner, proto, reason := gre.Decap(tt.pkt, tt.cfg)
			if reason != tt.reason {
				t.Fatalf("Decap reason = %v, want %v", reason, tt.reason)
			}
			if proto != tt.proto {
				t.Errorf("Decap proto = %#04x, want %#04x", proto, tt.proto)
			}
			if !bytes.Equal(inner, tt.inner) {
				t.Errorf("Decap inner (-want +got):\n-%x\n+%x", tt.inner, inner)
			}
			if reason != gre.OK && inner != nil {
				t.Errorf("Decap returned inner %x with reason %v", inner, reason)
			}
		})
	}
}

func TestEncap(t *testing.T) {
	in4, in6 := icmp4(), udp6()
	tests := []struct {
		name   string
		inner  []byte
		key    uint32
		hasKey bool
		csum   bool
		hdr    []byte // expected header; checksum word checked separately
	}{
		{name: "unkeyed ipv4", inner: in4, hdr: hdr(0, 0, 0x0800)},
		{name: "keyed ipv4", inner: in4, key: 1000, hasKey: true, hdr: hdr(0x20, 0, 0x0800, 1000)},
		{name: "keyed ipv6", inner: in6, key: 2000, hasKey: true, hdr: hdr(0x20, 0, 0x86DD, 2000)},
		{name: "key ignored without hasKey", inner: in4, key: 99, hdr: hdr(0, 0, 0x0800)},
		{name: "checksum unkeyed", inner: in6, csum: true, hdr: hdr(0x80, 0, 0x86DD, 0)},
		{name: "checksum keyed", inner: in4, key: 0xdeadbeef, hasKey: true, csum: true, hdr: hdr(0xa0, 0, 0x0800, 0, 0xdeadbeef)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{1, 2, 3}
			got := gre.Encap(append([]byte(nil), prefix...), tt.inner, tt.key, tt.hasKey, tt.csum)
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("Encap dropped the existing bytes of dst: %x", got)
			}
			g := got[len(prefix):]
			if hl := gre.HeaderLength(tt.hasKey, tt.csum); hl != len(tt.hdr) || len(g) != hl+len(tt.inner) {
				t.Fatalf("length %d, HeaderLength %d, want header %d + inner %d", len(g), hl, len(tt.hdr), len(tt.inner))
			}
			h := append([]byte(nil), g[:len(tt.hdr)]...)
			if tt.csum {
				if sum := checksum.Checksum(g, 0); sum != 0xffff {
					t.Errorf("checksum does not verify: sum %#04x", sum)
				}
				if v := packet.GRE(g); v.Checksum() != v.CalculateChecksum() {
					t.Errorf("checksum %#04x, CalculateChecksum %#04x", v.Checksum(), v.CalculateChecksum())
				}
				h[4], h[5] = 0, 0
			}
			if !bytes.Equal(h, tt.hdr) {
				t.Errorf("header (-want +got):\n-%x\n+%x", tt.hdr, h)
			}
			if !bytes.Equal(g[len(tt.hdr):], tt.inner) {
				t.Errorf("payload (-want +got):\n-%x\n+%x", tt.inner, g[len(tt.hdr):])
			}
			// What Encap writes, Decap takes back.
			cfg := gre.Config{Local: tenant1, Remote: gateway, Key: tt.key, HasKey: tt.hasKey}
			inner, _, reason := gre.Decap(fromGateway(g), cfg)
			if reason != gre.OK || !bytes.Equal(inner, tt.inner) {
				t.Errorf("Decap(Encap) = %x, %v; want the inner packet back", inner, reason)
			}
		})
	}
}

func TestEncapNotIP(t *testing.T) {
	for _, inner := range [][]byte{nil, {}, {0x00, 1, 2}, {0x50, 0}, {0xff}} {
		dst := []byte{9}
		if got := gre.Encap(dst, inner, 1, true, true); !bytes.Equal(got, dst) {
			t.Errorf("Encap(%x) = %x, want dst unchanged", inner, got)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	inner := icmp4()
	buf := make([]byte, 0, 2048)
	pkt := fromGateway(gre.Encap(nil, inner, 1000, true, true))
	if n := testing.AllocsPerRun(100, func() {
		buf = gre.Encap(buf[:0], inner, 1000, true, true)
	}); n != 0 {
		t.Errorf("Encap allocates %v times per call with room in dst", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, _, r := gre.Decap(pkt, cfg1000); r != gre.OK {
			t.Fatal(r)
		}
	}); n != 0 {
		t.Errorf("Decap allocates %v times per call", n)
	}
}

func TestDropReasonNames(t *testing.T) {
	seen := map[string]gre.DropReason{}
	for r := gre.OK; r < gre.NumReasons; r++ {
		s := r.String()
		if s == "" || s == "unknown" {
			t.Errorf("DropReason(%d) has no name", r)
		}
		if prev, dup := seen[s]; dup {
			t.Errorf("DropReason %d and %d share the name %q", prev, r, s)
		}
		seen[s] = r
	}
	if s := gre.NumReasons.String(); s != "unknown" {
		t.Errorf("NumReasons.String() = %q, want unknown", s)
	}
}
