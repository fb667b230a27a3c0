package nat64_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/packet"
)

// Fuzz targets: any bytes, through Parsed.Decode, then the translator. It
// must never panic; when it translates, the output must decode as the
// other family, its IP header checksum must verify, an ICMP error it built
// must verify, and a transport checksum that verified before must verify
// after. Seed corpora live in testdata/fuzz/FuzzXxx/, one file per seed,
// named after the edge it targets; TestWriteFuzzCorpus regenerates them
// with -update-corpus.

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed corpora")

type seed struct {
	name string
	data []byte
}

func seeds6(tb testing.TB) []seed {
	ip := newIPv6(client6, eip6, layers.IPProtocolTCP)
	udp := newIPv6(client6, eip6, layers.IPProtocolUDP)
	hbh := newIPv6(client6, eip6, layers.IPProtocolIPv6HopByHop)
	frag := newIPv6(client6, eip6, layers.IPProtocolIPv6Fragment)
	echo := newIPv6(client6, eip6, layers.IPProtocolICMPv6)
	return []seed{
		{"tcp", v6Frame(tb, ip, nil, tcpSeg(tb, ip, 1234, 80, 20))},
		{"udp", v6Frame(tb, udp, nil, udpDgram(tb, udp, 1234, 53, 30))},
		{"udp_large_df", v6Frame(tb, udp, nil, udpDgram(tb, udp, 1234, 53, 1300))},
		{"hbh_destopts_routing_sl0", v6Frame(tb, hbh, append(append(hopByHop(packet.ProtoDestOpts), destOpts(packet.ProtoRouting)...), routing(packet.ProtoUDP, 0)...), udpDgram(tb, udp, 1, 2, 3))},
		{"routing_sl1", v6Frame(tb, hbh, append(hopByHop(packet.ProtoRouting), routing(packet.ProtoUDP, 1)...), udpDgram(tb, udp, 1, 2, 3))},
		{"first_fragment_udp", v6Frame(tb, frag, fragHdr(packet.ProtoUDP, 0, true, 7), udpDgram(tb, udp, 1, 2, 40)[:32])},
		{"later_fragment", v6Frame(tb, frag, fragHdr(packet.ProtoTCP, 512, false, 7), pattern(40))},
		{"echo_request", v6Frame(tb, echo, nil, l4For(tb, echo, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, &layers.ICMPv6Echo{Identifier: 9, SeqNumber: 1}, gopacket.Payload(pattern(24))))},
		{"neighbor_solicit", v6Frame(tb, echo, nil, l4For(tb, echo, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)}, gopacket.Payload(make([]byte, 20))))},
		{"err_port_unreachable", icmp6Error(tb, 1, 4, 0, quoted6(tb, 16))},
		{"err_packet_too_big", icmp6Error(tb, 2, 0, 1400, quoted6(tb, 16))},
		{"err_param_problem", icmp6Error(tb, 4, 0, 24, quoted6(tb, 16))},
		{"err_quote_cut", icmp6Error(tb, 3, 0, 0, quoted6(tb, 100)[:48])},
		{"err_about_error", icmp6Error(tb, 1, 4, 0, icmp6Error(tb, 1, 4, 0, quoted6(tb, 8))[14:])},
	}
}

func seeds4(tb testing.TB) []seed {
	ip := newIPv4(eip4, pool4, layers.IPProtocolTCP)
	udp := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	udpNoDF := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	udpNoDF.Flags = 0
	opts := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	opts.Options = []layers.IPv4Option{{OptionType: 131, OptionLength: 7, OptionData: []byte{4, 1, 2, 3, 4}}, {OptionType: 0}}
	frag := newIPv4(eip4, pool4, layers.IPProtocolUDP)
	frag.Flags, frag.FragOffset = layers.IPv4MoreFragments, 8
	echo := newIPv4(eip4, pool4, layers.IPProtocolICMPv4)
	zero := udpDgram(tb, udp, 80, 40001, 20)
	zero[6], zero[7] = 0, 0
	return []seed{
		{"tcp", v4Frame(tb, ip, tcpSeg(tb, ip, 80, 40001, 20))},
		{"udp", v4Frame(tb, udp, udpDgram(tb, udp, 53, 40001, 30))},
		{"udp_zero_checksum", v4Frame(tb, udp, zero)},
		{"udp_df_clear_needs_fragments", v4Frame(tb, udpNoDF, udpDgram(tb, udpNoDF, 53, 40001, 1500))},
		{"tcp_df_too_big", v4Frame(tb, ip, tcpSeg(tb, ip, 80, 40001, 1400))},
		{"source_route", v4Frame(tb, opts, udpDgram(tb, opts, 1, 2, 3))},
		{"later_fragment", v4Frame(tb, frag, pattern(40))},
		{"echo_reply", v4Frame(tb, echo, ser(tb, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0), Id: 40001, Seq: 3}, gopacket.Payload(pattern(24))))},
		{"timestamp", v4Frame(tb, echo, ser(tb, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(13, 0)}, gopacket.Payload(make([]byte, 12))))},
		{"err_port_unreachable", icmp4Error(tb, 3, 3, 0, quoted4(tb, 16))},
		{"err_frag_needed_zero_mtu", icmp4Error(tb, 3, 4, 0, quoted4(tb, 1400)[:28])},
		{"err_param_problem", icmp4Error(tb, 12, 0, 9<<24, quoted4(tb, 16))},
		{"err_quote_cut", icmp4Error(tb, 11, 0, 0, quoted4(tb, 100)[:24])},
	}
}

// TestWriteFuzzCorpus checks that testdata/fuzz holds every seed as
// written; -update-corpus rewrites it.
func TestWriteFuzzCorpus(t *testing.T) {
	for dir, ss := range map[string][]seed{"FuzzV6ToV4": seeds6(t), "FuzzV4ToV6": seeds4(t)} {
		d := filepath.Join("testdata", "fuzz", dir)
		if *updateCorpus {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range ss {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s.data)) + ")\n"
			path := filepath.Join(d, s.name)
			if !*updateCorpus {
				if got, err := os.ReadFile(path); err != nil || string(got) != body {
					t.Errorf("%s is missing or stale; run with -update-corpus", path)
				}
				continue
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// l4Checksum reports whether frame's transport checksum can be verified
// (a whole TCP, UDP, ICMP or ICMPv6 message) and whether it verifies.
func l4Checksum(frame []byte, p *packet.Parsed) (checkable, valid bool) {
	if p.Status != packet.DecodeOK || p.Frag || p.L4Off == 0 {
		return false, false
	}
	seg := frame[p.L4Off : p.L3Off+p.L3Len]
	var ps uint16
	switch {
	case p.Proto == packet.ProtoICMP && p.IPVersion == 4:
	case p.Proto == packet.ProtoICMPv6 && p.IPVersion == 6,
		p.Proto == packet.ProtoTCP || p.Proto == packet.ProtoUDP:
		if p.Proto == packet.ProtoUDP {
			if seg[6] == 0 && seg[7] == 0 {
				return false, false
			}
			// RFC 768: the checksum covers Length bytes, not the IP payload.
			if l := int(seg[4])<<8 | int(seg[5]); l >= packet.UDPSize && l <= len(seg) {
				seg = seg[:l]
			}
		}
		if p.IPVersion == 4 {
			ps = checksum.PseudoHeaderV4(p.Src4(), p.Dst4(), p.Proto, uint16(len(seg)))
		} else {
			ps = checksum.PseudoHeaderV6(p.Src, p.Dst, p.Proto, uint32(len(seg)))
		}
	default:
		return false, false
	}
	return true, checksum.Checksum(seg, ps) == 0xffff
}

func fuzzCheck(t *testing.T, in []byte, translate func(f *nat64.Frame, p *packet.Parsed) nat64.Result, outVersion uint8) {
	if len(in) > bufSize-2*headroom {
		return
	}
	f := frameOf(in)
	var p packet.Parsed
	p.Decode(f.Data())
	_, validIn := l4Checksum(f.Data(), &p)
	isErr := p.L4Off != 0 && ((p.Proto == packet.ProtoICMP && packet.ICMPv4IsError(p.ICMPType)) ||
		(p.Proto == packet.ProtoICMPv6 && packet.ICMPv6IsError(p.ICMPType)))
	before := clone(f)
	r := translate(f, &p)
	if !r.Translated() {
		if string(clone(f)) != string(before) {
			t.Fatalf("result %v but the frame changed", r)
		}
		return
	}
	var q packet.Parsed
	q.Decode(f.Data())
	if q.Status != packet.DecodeOK || q.IPVersion != outVersion {
		t.Fatalf("result %v: output decodes as %v, IP version %d", r, q.Status, q.IPVersion)
	}
	out := f.Data()
	if outVersion == 4 {
		if s := checksum.Checksum(out[q.L3Off:q.L3Off+20], 0); s != 0xffff {
			t.Fatalf("IPv4 header checksum sums to %#04x", s)
		}
	}
	checkable, validOut := l4Checksum(out, &q)
	if checkable && !validOut && (validIn || isErr || r == nat64.ResultUDPChecksumComputed) {
		t.Fatalf("result %v: transport checksum does not verify (input verified: %v, error: %v)", r, validIn, isErr)
	}
	if isErr && outVersion == 4 {
		in := out[q.L4Off+8:]
		if s := checksum.Checksum(in[:20], 0); s != 0xffff {
			t.Fatalf("quoted IPv4 header checksum sums to %#04x", s)
		}
	}
}

var fuzzAddrs = nat64.Addrs{
	Src4: pool4, Dst4: eip4, Src6: eip6, Dst6: client6, SrcPort: 40001, DstPort: 80, ID: 1,
	InnerSrc4: eip4, InnerDst4: pool4, InnerSrc6: client6, InnerDst6: eip6, InnerSrcPort: 80, InnerDstPort: 40001,
}

func FuzzV6ToV4(f *testing.F) {
	for _, s := range seeds6(f) {
		f.Add(s.data)
	}
	c := &nat64.Config{MTU4: 1400}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzCheck(t, data, func(fr *nat64.Frame, p *packet.Parsed) nat64.Result {
			return nat64.V6ToV4(fr, p, &fuzzAddrs, c)
		}, 4)
	})
}

func FuzzV4ToV6(f *testing.F) {
	for _, s := range seeds4(f) {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sp := spares(2, bufSize)
		fuzzCheck(t, data, func(fr *nat64.Frame, p *packet.Parsed) nat64.Result {
			n, r := nat64.V4ToV6(fr, p, &fuzzAddrs, nil, sp)
			if n > 0 {
				for _, s := range sp[:n] {
					var q packet.Parsed
					q.Decode(s.Data())
					if q.Status != packet.DecodeOK || q.IPVersion != 6 || !q.Frag {
						t.Fatalf("extra fragment decodes as %v", q.Status)
					}
				}
			}
			return r
		}, 6)
	})
}

// TestTruncated: every prefix of every seed, through both translators: no
// panic, and the invariants of the fuzz targets hold.
func TestTruncated(t *testing.T) {
	for _, s := range append(seeds6(t), seeds4(t)...) {
		for n := 0; n <= len(s.data); n++ {
			in := s.data[:n]
			fuzzCheck(t, in, func(fr *nat64.Frame, p *packet.Parsed) nat64.Result {
				return nat64.V6ToV4(fr, p, &fuzzAddrs, nil)
			}, 4)
			fuzzCheck(t, in, func(fr *nat64.Frame, p *packet.Parsed) nat64.Result {
				_, r := nat64.V4ToV6(fr, p, &fuzzAddrs, nil, spares(2, bufSize))
				return r
			}, 6)
		}
	}
}
