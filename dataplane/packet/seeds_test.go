package packet_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"xdpgw/dataplane/packet"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed corpora from the seed tables")

// seed is one fuzz seed; name says which edge it targets and becomes the
// corpus file name.
type seed struct {
	name      string
	data      []byte
	etherType uint16 // FuzzDecodeL3
	first     uint8  // FuzzIPv6Ext
}

func nineExt() []byte {
	return cat(ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(60), ext(packet.ProtoUDP), udpSeg())
}

func greAllFlags() []byte {
	return cat([]byte{0xb0, 0, 0x08, 0x00, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1}, ipv4(packet.ProtoUDP, udpSeg(1)))
}

func decodeSeeds() []seed {
	v4udp := ipv4(packet.ProtoUDP, udpSeg(1, 2, 3))
	v4tcp := ipv4(packet.ProtoTCP, tcpSeg(1))
	return []seed{
		{name: "empty", data: nil},
		{name: "truncated_l2_13_bytes", data: eth(packet.EtherTypeIPv4, nil)[:13]},
		{name: "truncated_l2_vlan_tag", data: eth(packet.EtherTypeVLAN, []byte{0, 1})},
		{name: "vlan_stacking_three_tags", data: eth(packet.EtherTypeIPv4, v4udp, 1, 2, 3)},
		{name: "vlan_qinq_ipv4_udp", data: eth(packet.EtherTypeIPv4, v4udp, 100, 200)},
		{name: "ipv4_udp_padded", data: eth(packet.EtherTypeIPv4, append(append([]byte(nil), v4udp...), make([]byte, 20)...))},
		{name: "ipv4_tcp", data: eth(packet.EtherTypeIPv4, v4tcp)},
		{name: "truncated_l3_ipv4_19_bytes", data: eth(packet.EtherTypeIPv4, v4udp[:19])},
		{name: "ipv4_ihl_below_5", data: eth(packet.EtherTypeIPv4, set(append([]byte(nil), v4udp...), 0, 0x44))},
		{name: "ipv4_ihl_15_beyond_frame", data: eth(packet.EtherTypeIPv4, set(append([]byte(nil), v4udp...), 0, 0x4f))},
		{name: "ipv4_total_length_beyond_frame", data: eth(packet.EtherTypeIPv4, set(append([]byte(nil), v4udp...), 2, 0xff, 0xff))},
		{name: "ipv4_total_length_below_ihl", data: eth(packet.EtherTypeIPv4, set(append([]byte(nil), v4udp...), 2, 0, 4))},
		{name: "ipv4_nonfirst_fragment", data: eth(packet.EtherTypeIPv4, set(append([]byte(nil), v4udp...), 6, 0x20, 0x10))},
		{name: "truncated_l4_tcp", data: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoTCP, tcpSeg()[:12]))},
		{name: "tcp_data_offset_15", data: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoTCP, set(tcpSeg(), 12, 0xf0)))},
		{name: "udp_length_7", data: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoUDP, set(udpSeg(1), 4, 0, 7)))},
		{name: "icmp_echo", data: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoICMP, []byte{8, 0, 0, 0, 1, 2, 0, 1}))},
		{name: "gre_all_flags", data: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, greAllFlags()))},
		{name: "gre_teb_inner_ethernet", data: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, cat(greHdr(packet.EtherTypeTEB, 5, true), eth(packet.EtherTypeIPv6, ipv6(packet.ProtoUDP, udpSeg())))))},
		{name: "gre_key_flag_truncated", data: eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, []byte{0x20, 0, 0x08, 0}))},
		{name: "ipv6_udp", data: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoUDP, udpSeg(1)))},
		{name: "truncated_l3_ipv6_39_bytes", data: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoUDP, nil)[:39])},
		{name: "ipv6_nine_ext_headers", data: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoDestOpts, nineExt()))},
		{name: "ipv6_hbh_frag_first", data: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoHopByHop, cat(ext(packet.ProtoFragment), fragHdr(packet.ProtoTCP, 0, true), tcpSeg())))},
		{name: "ipv6_frag_nonfirst", data: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoFragment, cat(fragHdr(packet.ProtoUDP, 1232, false), []byte{1, 2, 3})))},
		{name: "ipv6_ext_overrun", data: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoRouting, []byte{packet.ProtoUDP, 255, 0, 0, 0, 0, 0, 0}))},
		{name: "ipv6_icmpv6_ptb", data: eth(packet.EtherTypeIPv6, ipv6(packet.ProtoICMPv6, []byte{2, 0, 0, 0, 0, 0, 5, 0}))},
		{name: "arp_request", data: eth(packet.EtherTypeARP, arpPkt())},
		{name: "arp_short", data: eth(packet.EtherTypeARP, arpPkt()[:20])},
	}
}

func decodeL3Seeds() []seed {
	return []seed{
		{name: "ipv4_udp", data: ipv4(packet.ProtoUDP, udpSeg(1)), etherType: packet.EtherTypeIPv4},
		{name: "ipv4_gre_all_flags", data: ipv4(packet.ProtoGRE, greAllFlags()), etherType: packet.EtherTypeIPv4},
		{name: "ipv6_tcp", data: ipv6(packet.ProtoTCP, tcpSeg()), etherType: packet.EtherTypeIPv6},
		{name: "ipv6_nine_ext_headers", data: ipv6(packet.ProtoDestOpts, nineExt()), etherType: packet.EtherTypeIPv6},
		{name: "ipv4_as_ipv6", data: ipv4(packet.ProtoUDP, udpSeg(1)), etherType: packet.EtherTypeIPv6},
		{name: "arp_short", data: arpPkt()[:27], etherType: packet.EtherTypeARP},
		{name: "truncated_l3_empty", data: nil, etherType: packet.EtherTypeIPv4},
	}
}

func ipv6ExtSeeds() []seed {
	return []seed{
		{name: "none_udp", data: udpSeg(), first: packet.ProtoUDP},
		{name: "hbh_dst_rt_frag", data: cat(ext(60), ext(43), ext(44), fragHdr(6, 0, true), tcpSeg()), first: 0},
		{name: "nine_headers", data: nineExt(), first: 60},
		{name: "hbh_not_first", data: cat(ext(0), ext(6)), first: 60},
		{name: "two_fragment_headers", data: cat(fragHdr(44, 0, true), fragHdr(6, 0, true)), first: 44},
		{name: "ah_length_rule", data: cat([]byte{17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, udpSeg()), first: packet.ProtoAH},
		{name: "truncated_7_bytes", data: make([]byte, 7), first: 43},
		{name: "overrun_length", data: []byte{6, 200, 0, 0, 0, 0, 0, 0}, first: 60},
	}
}

func greSeeds() []seed {
	return []seed{
		{name: "all_flags", data: greAllFlags()},
		{name: "key_only", data: cat(greHdr(packet.EtherTypeIPv6, 42, true), ipv6(17, udpSeg()))},
		{name: "minimal", data: greHdr(packet.EtherTypeIPv4, 0, false)},
		{name: "version_1_pptp", data: []byte{0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0}},
		{name: "routing_bit", data: []byte{0x40, 0, 0x08, 0, 0, 0, 0, 0}},
		{name: "flags_beyond_length", data: []byte{0xb0, 0, 0x08, 0, 0, 0, 0, 0}},
		{name: "short_3_bytes", data: []byte{0, 0, 8}},
	}
}

func arpSeeds() []seed {
	return []seed{
		{name: "request", data: arpPkt()},
		{name: "short_27_bytes", data: arpPkt()[:27]},
		{name: "htype_6", data: set(arpPkt(), 0, 0, 6)},
		{name: "plen_16", data: set(arpPkt(), 5, 16)},
	}
}

func tcpOptionSeeds() []seed {
	return []seed{
		{name: "linux_syn", data: []byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}},
		{name: "length_zero", data: []byte{2, 0, 5, 0xb4}},
		{name: "length_past_end", data: []byte{8, 10, 0, 0}},
		{name: "kind_without_length", data: []byte{1, 1, 2}},
		{name: "eol_then_garbage", data: []byte{0, 2, 4}},
	}
}

// corpusFile renders values in the format of Go's fuzzing engine
// ("go test fuzz v1" followed by one Go literal per line).
func corpusFile(vals ...any) string {
	var sb strings.Builder
	sb.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&sb, "[]byte(%q)\n", v)
		case uint16:
			fmt.Fprintf(&sb, "uint16(%d)\n", v)
		case uint8:
			fmt.Fprintf(&sb, "byte(%q)\n", v)
		}
	}
	return sb.String()
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/ from the seed tables when
// run with -update-corpus, and otherwise checks the committed corpus is
// current, so that names and contents cannot drift apart.
func TestWriteFuzzCorpus(t *testing.T) {
	targets := []struct {
		name  string
		seeds []seed
		vals  func(s seed) []any
	}{
		{"FuzzDecode", decodeSeeds(), func(s seed) []any { return []any{s.data} }},
		{"FuzzDecodeL3", decodeL3Seeds(), func(s seed) []any { return []any{s.data, s.etherType} }},
		{"FuzzIPv6Ext", ipv6ExtSeeds(), func(s seed) []any { return []any{s.data, s.first} }},
		{"FuzzGRE", greSeeds(), func(s seed) []any { return []any{s.data} }},
		{"FuzzARP", arpSeeds(), func(s seed) []any { return []any{s.data} }},
		{"FuzzTCPOptions", tcpOptionSeeds(), func(s seed) []any { return []any{s.data} }},
	}
	var readme strings.Builder
	readme.WriteString("# Fuzz seed corpora\n\n")
	readme.WriteString("Generated by `go test ./dataplane/packet -run TestWriteFuzzCorpus -update-corpus`\n")
	readme.WriteString("from the seed tables in seeds_test.go. Each file is named after the edge it\n")
	readme.WriteString("targets. Files whose names start with a hash were found by the fuzzer; they\n")
	readme.WriteString("are kept as regression seeds and are not regenerated.\n")
	for _, tg := range targets {
		fmt.Fprintf(&readme, "\n## %s\n\n", tg.name)
		dir := filepath.Join("testdata", "fuzz", tg.name)
		names := make([]string, 0, len(tg.seeds))
		for _, s := range tg.seeds {
			names = append(names, s.name)
			path := filepath.Join(dir, s.name)
			want := corpusFile(tg.vals(s)...)
			if *updateCorpus {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale; run with -update-corpus", path)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&readme, "- `%s`\n", n)
		}
	}
	path := filepath.Join("testdata", "fuzz", "README.md")
	if *updateCorpus {
		if err := os.WriteFile(path, []byte(readme.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if got, err := os.ReadFile(path); err != nil || string(got) != readme.String() {
		t.Errorf("%s is missing or stale; run with -update-corpus", path)
	}
}
