package nat64_test

import (
	"testing"

	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/packet"
)

// hot is one translation on the hot path: the frame is restored from orig
// (a copy, which does not allocate) and translated; p is decoded once, as
// the frame is the same every time.
type hot struct {
	orig []byte
	f    nat64.Frame
	p    packet.Parsed
	a    nat64.Addrs
	sp   []nat64.Frame
}

func newHot(orig []byte, a nat64.Addrs) *hot {
	h := &hot{orig: orig, a: a, f: nat64.Frame{Buf: make([]byte, bufSize)}, sp: spares(3, bufSize)}
	h.reset()
	h.p.Decode(h.f.Data())
	return h
}

func (h *hot) reset() {
	copy(h.f.Buf[headroom:], h.orig)
	h.f.Off, h.f.Len = headroom, len(h.orig)
}

func (h *hot) v6to4() nat64.Result {
	h.reset()
	return nat64.V6ToV4(&h.f, &h.p, &h.a, nil)
}

func (h *hot) v4to6() nat64.Result {
	h.reset()
	_, r := nat64.V4ToV6(&h.f, &h.p, &h.a, nil, h.sp)
	return r
}

type hotCase struct {
	name string
	h    *hot
	run  func(*hot) nat64.Result
}

func hotCases(tb testing.TB) []hotCase {
	ip6 := newIPv6(client6, eip6, layers.IPProtocolTCP)
	udp6 := newIPv6(client6, eip6, layers.IPProtocolUDP)
	ip4 := newIPv4(eip4, pool4, layers.IPProtocolTCP)
	udp4 := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	big4 := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	big4.Flags = 0
	zero := udpDgram(tb, udp4, 53, 40001, 64)
	zero[6], zero[7] = 0, 0
	return []hotCase{
		{"V6ToV4/tcp", newHot(v6Frame(tb, ip6, nil, tcpSeg(tb, ip6, 1234, 80, 64)), out6to4), (*hot).v6to4},
		{"V6ToV4/udp", newHot(v6Frame(tb, udp6, nil, udpDgram(tb, udp6, 1234, 53, 64)), out6to4), (*hot).v6to4},
		{"V6ToV4/icmp_error", newHot(icmp6Error(tb, 1, 4, 0, quoted6(tb, 64)), err6to4), (*hot).v6to4},
		{"V4ToV6/tcp", newHot(v4Frame(tb, ip4, tcpSeg(tb, ip4, 80, 40001, 64)), back4to6), (*hot).v4to6},
		{"V4ToV6/udp", newHot(v4Frame(tb, udp4, udpDgram(tb, udp4, 53, 40001, 64)), back4to6), (*hot).v4to6},
		{"V4ToV6/udp_zero_checksum", newHot(v4Frame(tb, udp4, zero), back4to6), (*hot).v4to6},
		{"V4ToV6/icmp_error", newHot(icmp4Error(tb, 3, 3, 0, quoted4(tb, 64)), err4to6), (*hot).v4to6},
		{"V4ToV6/fragment_3000", newHot(v4Frame(tb, big4, udpDgram(tb, big4, 53, 40001, 3000)), back4to6), (*hot).v4to6},
	}
}

// TestNoAllocs: the translation functions allocate nothing.
func TestNoAllocs(t *testing.T) {
	for _, c := range hotCases(t) {
		if r := c.run(c.h); !r.Translated() {
			t.Fatalf("%s: %v", c.name, r)
		}
		if n := testing.AllocsPerRun(100, func() { c.run(c.h) }); n != 0 {
			t.Errorf("%s: %v allocs per run", c.name, n)
		}
	}
	f := frameOf(v6Frame(t, newIPv6(client6, eip6, layers.IPProtocolUDP), nil, make([]byte, 8)))
	p := parse(f)
	var e nat64.Embedded
	if n := testing.AllocsPerRun(100, func() {
		x := prefix.Embed(eip4)
		prefix.Extract(&x)
		nat64.ParseEmbedded(f.Data(), p, &e)
	}); n != 0 {
		t.Errorf("prefix/ParseEmbedded: %v allocs per run", n)
	}
}

func BenchmarkTranslate(b *testing.B) {
	for _, c := range hotCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.run(c.h)
			}
		})
	}
}

func BenchmarkPrefix(b *testing.B) {
	b.ReportAllocs()
	var v4 [4]byte
	for b.Loop() {
		v4[3]++
		a := prefix.Embed(v4)
		v4, _ = prefix.Extract(&a)
	}
}
