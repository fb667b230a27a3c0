package pipeline_test

import (
	"encoding/binary"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/packet"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// The test topology: three ports in one VRF.
//
//	port 0 "a": 10.1.0.1/24, 2001:db8:1::1/64, host 10.1.0.7 / 2001:db8:1::7
//	port 1 "b": 10.2.0.1/24, 2001:db8:2::1/64, router 10.2.0.254 / 2001:db8:2::fe
//	            default routes point here
//	port 2 "c": 10.3.0.1/24, MTU 576, host 10.3.0.7 (no IPv6)
//	10.9.0.0/16 is routed to port 1 via 10.2.0.99, whose MAC is unknown.
const (
	macA    = "02:00:00:00:00:0a"
	macB    = "02:00:00:00:00:0b"
	macC    = "02:00:00:00:00:0c"
	macHost = "02:00:00:00:01:07"
	macRtr  = "02:00:00:00:02:fe"
	macC7   = "02:00:00:00:03:07"
)

func mac(s string) [6]byte { return [6]byte(fixture.MAC(s)) }

func testEnv(tb testing.TB) *pipeline.Env {
	tb.Helper()
	b := fib.NewBuilder()
	add := func(p string, nh fib.NextHop) {
		if err := b.Add(fib.Route{Prefix: netip.MustParsePrefix(p), NextHop: nh}); err != nil {
			tb.Fatal(err)
		}
	}
	add("10.1.0.0/24", fib.NextHop{Port: 0})
	add("10.1.0.1/32", fib.NextHop{Port: 0, Local: true})
	add("10.2.0.0/24", fib.NextHop{Port: 1})
	add("10.2.0.1/32", fib.NextHop{Port: 1, Local: true})
	add("10.3.0.0/24", fib.NextHop{Port: 2})
	add("10.9.0.0/16", fib.NextHop{Port: 1, Via: netip.MustParseAddr("10.2.0.99")})
	add("10.66.0.0/16", fib.NextHop{Blackhole: true})
	add("0.0.0.0/0", fib.NextHop{Port: 1, Via: netip.MustParseAddr("10.2.0.254")})
	add("2001:db8:1::/64", fib.NextHop{Port: 0})
	add("2001:db8:1::1/128", fib.NextHop{Port: 0, Local: true})
	add("2001:db8:2::/64", fib.NextHop{Port: 1})
	add("2000::/3", fib.NextHop{Port: 1, Via: netip.MustParseAddr("2001:db8:2::fe")})
	vrf := fib.NewVRF(0, "main")
	vrf.Publish(b.Build())
	nc := new(neigh.Cache)
	nc.Publish(neigh.Build([]neigh.Entry{
		{Port: 0, Addr: netip.MustParseAddr("10.1.0.7"), MAC: mac(macHost)},
		{Port: 0, Addr: netip.MustParseAddr("2001:db8:1::7"), MAC: mac(macHost)},
		{Port: 1, Addr: netip.MustParseAddr("10.2.0.254"), MAC: mac(macRtr)},
		{Port: 1, Addr: netip.MustParseAddr("2001:db8:2::fe"), MAC: mac(macRtr)},
		{Port: 2, Addr: netip.MustParseAddr("10.3.0.7"), MAC: mac(macC7)},
	}))
	return &pipeline.Env{
		Ports: []pipeline.PortInfo{
			{Name: "a", MAC: mac(macA), MTU: 1500, Addr4: [4]byte{10, 1, 0, 1}, HasAddr4: true,
				Addr6: netip.MustParseAddr("2001:db8:1::1").As16(), HasAddr6: true},
			{Name: "b", MAC: mac(macB), MTU: 1500, Addr4: [4]byte{10, 2, 0, 1}, HasAddr4: true,
				Addr6: netip.MustParseAddr("2001:db8:2::1").As16(), HasAddr6: true},
			{Name: "c", MAC: mac(macC), MTU: 576, Addr4: [4]byte{10, 3, 0, 1}, HasAddr4: true},
		},
		VRFs:      []*fib.VRF{vrf},
		Neigh:     nc,
		ICMPRate:  1000,
		ICMPBurst: 10,
	}
}

// run processes one frame arriving on port in and returns the frame.
func run(tb testing.TB, dp *pipeline.Dataplane, in uint16, data []byte) (*pipeline.Frame, *pipeline.Worker) {
	tb.Helper()
	w := dp.NewWorker()
	return runOn(w, in, data), w
}

func runOn(w *pipeline.Worker, in uint16, data []byte) *pipeline.Frame {
	buf := make([]byte, 2048)
	n := copy(buf[256:], data)
	fr := []pipeline.Frame{{Buf: buf, Off: 256, Len: n, InPort: in}}
	w.Process(fr, 1e9)
	w.Flush()
	return &fr[0]
}

func newDP(tb testing.TB) *pipeline.Dataplane {
	tb.Helper()
	dp, err := pipeline.New(testEnv(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return dp
}

func decode(data []byte) gopacket.Packet {
	return gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
}

func TestForward(t *testing.T) {
	tests := []struct {
		name     string
		in       uint16
		frame    []byte
		wantPort uint16
		wantDst  string
		wantTTL  uint8
	}{
		{"ipv4 connected", 0, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.3.0.7").UDP(1, 2).Payload([]byte("x")).Bytes(), 2, macC7, 63},
		{"ipv4 default route via router", 0, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "8.8.8.8").TCP(1000, 443, "S").Bytes(), 1, macRtr, 63},
		{"ipv4 back to host", 1, fixture.New().Eth(macRtr, macB).IPv4("8.8.8.8", "10.1.0.7").TTL(2).TCP(443, 1000, "SA").Bytes(), 0, macHost, 1},
		{"ipv4 with vlan tag", 0, fixture.New().Eth(macHost, macA).VLAN(42).IPv4("10.1.0.7", "8.8.4.4").UDP(1, 9999).Payload([]byte("q")).Bytes(), 1, macRtr, 63},
		{"ipv6 default route", 0, fixture.New().Eth(macHost, macA).IPv6("2001:db8:1::7", "2001:db8:99::1").UDP(1, 2).Payload([]byte("x")).Bytes(), 1, macRtr, 63},
		{"ipv6 connected", 1, fixture.New().Eth(macRtr, macB).IPv6("2001:db8:99::1", "2001:db8:1::7").TCP(1, 2, "A").Bytes(), 0, macHost, 63},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dp := newDP(t)
			f, _ := run(t, dp, tt.in, tt.frame)
			if f.Verdict != pipeline.VerdictTx || f.OutPort != tt.wantPort {
				t.Fatalf("verdict %v port %d drop %v, want tx on port %d", f.Verdict, f.OutPort, f.Drop, tt.wantPort)
			}
			out := f.Data()
			pkt := decode(out)
			if el := pkt.ErrorLayer(); el != nil {
				t.Fatalf("output does not decode: %v", el.Error())
			}
			eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			if eth.DstMAC.String() != tt.wantDst || [6]byte(eth.SrcMAC) != dp.Env().Ports[tt.wantPort].MAC {
				t.Errorf("MACs %v > %v, want %v > %s", eth.SrcMAC, eth.DstMAC, dp.Env().Ports[tt.wantPort].MAC, tt.wantDst)
			}
			if pkt.Layer(layers.LayerTypeDot1Q) != nil {
				t.Error("VLAN tag forwarded")
			}
			if len(out) < 60 {
				t.Errorf("output frame is %d bytes, below the Ethernet minimum", len(out))
			}
			in := decode(tt.frame)
			if ip4, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
				if ip4.TTL != tt.wantTTL {
					t.Errorf("TTL %d, want %d", ip4.TTL, tt.wantTTL)
				}
				hdr := out[14 : 14+int(ip4.IHL)*4]
				if ^checksum.Checksum(hdr, 0) != 0 {
					t.Errorf("IPv4 header checksum invalid after the incremental update")
				}
				orig := in.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if string(ip4.Payload) != string(orig.Payload) {
					t.Error("IPv4 payload changed")
				}
			}
			if ip6, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
				if ip6.HopLimit != tt.wantTTL {
					t.Errorf("hop limit %d, want %d", ip6.HopLimit, tt.wantTTL)
				}
				orig := in.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				if string(ip6.Payload) != string(orig.Payload) {
					t.Error("IPv6 payload changed")
				}
			}
			// The receiver's checksum check must pass for L4 too (the
			// pseudo-header is unchanged by forwarding).
			st := dp.Stats()
			if st.TotalDrops() != 0 || st.RxFrames[tt.in] != 1 {
				t.Errorf("stats: drops %d rx %d", st.TotalDrops(), st.RxFrames[tt.in])
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	oversize := make([]byte, 1000)
	tests := []struct {
		name  string
		in    uint16
		frame []byte
		want  pipeline.Verdict
		drop  pipeline.DropReason
	}{
		{"arp broadcast is local", 0, fixture.New().Eth(macHost, "ff:ff:ff:ff:ff:ff").ARPRequest(macHost, "10.1.0.7", "10.1.0.1").Bytes(), pipeline.VerdictLocal, 0},
		{"own address is local", 0, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.1.0.1").ICMPEcho(1, 1, false).Bytes(), pipeline.VerdictLocal, 0},
		{"own ipv6 address is local", 0, fixture.New().Eth(macHost, macA).IPv6("2001:db8:1::7", "2001:db8:1::1").ICMPv6Echo(1, 1).Bytes(), pipeline.VerdictLocal, 0},
		{"ipv6 multicast is local", 0, fixture.New().Eth(macHost, "33:33:00:00:00:01").IPv6("fe80::7", "ff02::1").ICMPv6Echo(1, 1).Bytes(), pipeline.VerdictLocal, 0},
		{"ipv4 multicast to our MAC is local", 0, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "224.0.0.5").UDP(1, 2).Bytes(), pipeline.VerdictLocal, 0},
		{"other host's MAC", 0, fixture.New().Eth(macHost, "02:99:00:00:00:01").IPv4("10.1.0.7", "10.3.0.7").UDP(1, 2).Bytes(), pipeline.VerdictDrop, pipeline.DropOtherHost},
		{"martian source 127/8", 0, fixture.New().Eth(macHost, macA).IPv4("127.0.0.1", "10.3.0.7").UDP(1, 2).Bytes(), pipeline.VerdictDrop, pipeline.DropBadSource},
		{"martian ipv6 source ::1", 0, fixture.New().Eth(macHost, macA).IPv6("::1", "2001:db8:2::5").UDP(1, 2).Bytes(), pipeline.VerdictDrop, pipeline.DropBadSource},
		{"blackhole", 0, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.66.1.1").UDP(1, 2).Bytes(), pipeline.VerdictDrop, pipeline.DropBlackhole},
		{"unknown neighbour", 0, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.9.1.1").UDP(1, 2).Bytes(), pipeline.VerdictDrop, pipeline.DropNoNeighbor},
		{"unknown neighbour on connected net", 0, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.3.0.8").UDP(1, 2).Bytes(), pipeline.VerdictDrop, pipeline.DropNoNeighbor},
		{"DF=0 above MTU", 0, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.3.0.7").UDP(1, 2).Payload(oversize).Bytes(), pipeline.VerdictDrop, pipeline.DropFragmentationNeeded},
		{"unsupported ethertype", 0, append(fixture.New().Eth(macHost, macA).Bytes()[:12], 0x88, 0xcc, 0, 0, 0, 0), pipeline.VerdictDrop, pipeline.DropUnsupportedEtherType},
		{"unknown input port", 9, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.3.0.7").UDP(1, 2).Bytes(), pipeline.VerdictDrop, pipeline.DropUnknownPort},
		{"ttl 1 icmp error is not answered", 0, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.3.0.7").TTL(1).Bytes(), pipeline.VerdictDrop, pipeline.DropTTLExceeded},
	}
	// The last case carries an ICMP error (type 3) as payload.
	last := &tests[len(tests)-1]
	last.frame = icmpErrorFrame()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dp := newDP(t)
			f, _ := run(t, dp, tt.in, tt.frame)
			if f.Verdict != tt.want || (tt.want == pipeline.VerdictDrop && f.Drop != tt.drop) {
				t.Fatalf("got %v/%v, want %v/%v", f.Verdict, f.Drop, tt.want, tt.drop)
			}
			st := dp.Stats()
			if tt.want == pipeline.VerdictDrop && st.Drops[tt.drop] != 1 {
				t.Errorf("drop counter %v = %d, want 1", tt.drop, st.Drops[tt.drop])
			}
			if tt.want == pipeline.VerdictDrop && st.TotalDrops() != 1 {
				t.Errorf("total drops %d, want 1 (one counter per frame)", st.TotalDrops())
			}
		})
	}
}

func icmpErrorFrame() []byte {
	inner := fixture.New().IPv4("10.3.0.7", "10.1.0.7").UDP(5, 6).Bytes()
	return fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.3.0.7").TTL(1).
		ICMPError(3, 3, inner).Bytes()
}

func TestICMPErrors(t *testing.T) {
	tests := []struct {
		name       string
		frame      []byte
		drop       pipeline.DropReason
		event      pipeline.Event
		typ, code  uint8
		wantMTU    uint16
		ipv6       bool
		wantSrc    string
		wantQuoted int
	}{
		{
			name:  "ttl exceeded",
			frame: fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "8.8.8.8").TTL(1).UDP(33434, 33434).Payload([]byte("traceroute")).Bytes(),
			drop:  pipeline.DropTTLExceeded, event: pipeline.EventICMPTimeExceeded, typ: 11, code: 0, wantSrc: "10.1.0.1", wantQuoted: 38,
		},
		{
			name:  "fragmentation needed with DF",
			frame: fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.3.0.7").DF().TCP(1, 2, "A").Payload(make([]byte, 900)).Bytes(),
			drop:  pipeline.DropMTUExceeded, event: pipeline.EventICMPFragNeeded, typ: 3, code: 4, wantMTU: 576, wantSrc: "10.1.0.1", wantQuoted: 576 - 28,
		},
		{
			name:  "ipv6 hop limit exceeded",
			frame: fixture.New().Eth(macHost, macA).IPv6("2001:db8:1::7", "2001:db8:2::5").TTL(1).UDP(1, 2).Payload([]byte("x")).Bytes(),
			drop:  pipeline.DropTTLExceeded, event: pipeline.EventICMPTimeExceeded, typ: 3, code: 0, ipv6: true, wantSrc: "2001:db8:1::1", wantQuoted: 49,
		},
		{
			name:  "ipv6 no route",
			frame: fixture.New().Eth(macHost, macA).IPv6("2001:db8:1::7", "fd00::5").UDP(1, 2).Payload(make([]byte, 1400)).Bytes(),
			drop:  pipeline.DropNoRoute, event: pipeline.EventICMPUnreachable, typ: 1, code: 0, ipv6: true, wantSrc: "2001:db8:1::1", wantQuoted: 1280 - 48,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dp := newDP(t)
			f, _ := run(t, dp, 0, tt.frame)
			if f.Verdict != pipeline.VerdictTx || f.OutPort != 0 {
				t.Fatalf("got %v port %d drop %v, want the error sent back on port 0", f.Verdict, f.OutPort, f.Drop)
			}
			st := dp.Stats()
			if st.Drops[tt.drop] != 1 || st.Events[tt.event] != 1 {
				t.Errorf("counters: %v=%d %v=%d, want 1 and 1", tt.drop, st.Drops[tt.drop], tt.event, st.Events[tt.event])
			}
			out := f.Data()
			pkt := decode(out)
			if el := pkt.ErrorLayer(); el != nil {
				t.Fatalf("error message does not decode: %v", el.Error())
			}
			eth := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			if eth.DstMAC.String() != macHost || eth.SrcMAC.String() != macA {
				t.Errorf("MACs %v > %v", eth.SrcMAC, eth.DstMAC)
			}
			orig := tt.frame[14:]
			if tt.ipv6 {
				ip := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				if ip.SrcIP.String() != tt.wantSrc || ip.DstIP.String() != "2001:db8:1::7" {
					t.Errorf("addresses %v > %v", ip.SrcIP, ip.DstIP)
				}
				ic := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				if ic.TypeCode.Type() != tt.typ && !(tt.typ == 3 && ic.TypeCode.Type() == packet.ICMPv6TimeExceeded) {
					t.Errorf("type %v", ic.TypeCode)
				}
				// Verify the checksum with the pseudo-header.
				l4 := out[14+40:]
				sum := checksum.PseudoHeaderV6([16]byte(ip.SrcIP.To16()), [16]byte(ip.DstIP.To16()), 58, uint32(len(l4)))
				if ^checksum.Checksum(l4, sum) != 0 {
					t.Error("ICMPv6 checksum invalid")
				}
				quoted := l4[8:]
				if len(quoted) != tt.wantQuoted || string(quoted) != string(orig[:len(quoted)]) {
					t.Errorf("quoted %d bytes, want the first %d bytes of the original", len(quoted), tt.wantQuoted)
				}
				return
			}
			ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if ip.SrcIP.String() != tt.wantSrc || ip.DstIP.String() != "10.1.0.7" || ip.TTL != 64 {
				t.Errorf("header %v > %v ttl %d", ip.SrcIP, ip.DstIP, ip.TTL)
			}
			if ^checksum.Checksum(out[14:34], 0) != 0 {
				t.Error("IPv4 checksum invalid")
			}
			l4 := out[34 : 14+int(ip.Length)]
			if ^checksum.Checksum(l4, 0) != 0 {
				t.Error("ICMP checksum invalid")
			}
			if l4[0] != tt.typ || l4[1] != tt.code {
				t.Errorf("type/code %d/%d, want %d/%d", l4[0], l4[1], tt.typ, tt.code)
			}
			if mtu := binary.BigEndian.Uint16(l4[6:]); mtu != tt.wantMTU {
				t.Errorf("next-hop MTU %d, want %d", mtu, tt.wantMTU)
			}
			quoted := l4[8:]
			if len(quoted) != tt.wantQuoted || string(quoted) != string(orig[:len(quoted)]) {
				t.Errorf("quoted %d bytes, want the first %d bytes of the original", len(quoted), tt.wantQuoted)
			}
		})
	}
}

func TestICMPRateLimit(t *testing.T) {
	dp := newDP(t)
	w := dp.NewWorker()
	frame := fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "8.8.8.8").TTL(1).UDP(1, 2).Bytes()
	// The bucket holds 10 (ICMPBurst); all frames come at the same instant.
	sent := 0
	for i := 0; i < 25; i++ {
		if runOn(w, 0, frame).Verdict == pipeline.VerdictTx {
			sent++
		}
	}
	st := dp.Stats()
	if sent != 10 || st.Events[pipeline.EventICMPRateLimited] != 15 || st.Drops[pipeline.DropTTLExceeded] != 25 {
		t.Fatalf("sent %d, rate limited %d, ttl drops %d; want 10, 15, 25", sent, st.Events[pipeline.EventICMPRateLimited], st.Drops[pipeline.DropTTLExceeded])
	}
}

// TestMalformedNeverPanics feeds every truncation of a set of frames and
// some damaged headers: each must end as a named drop or a verdict, and the
// counters must account for every frame.
func TestMalformedNeverPanics(t *testing.T) {
	frames := [][]byte{
		fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.3.0.7").TCP(1, 2, "S").Bytes(),
		fixture.New().Eth(macHost, macA).VLAN(7).IPv6("2001:db8:1::7", "2001:db8:2::9").UDP(1, 2).Payload([]byte("abc")).Bytes(),
		fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.3.0.7").GRE(1000).IPv4("10.0.0.7", "1.1.1.7").ICMPEcho(1, 1, false).Bytes(),
		fixture.New().Eth(macHost, "ff:ff:ff:ff:ff:ff").ARPRequest(macHost, "10.1.0.7", "10.1.0.1").Bytes(),
	}
	dp := newDP(t)
	w := dp.NewWorker()
	n := 0
	for _, fr := range frames {
		for cut := 0; cut <= len(fr); cut++ {
			runOn(w, 0, fr[:cut])
			n++
		}
		for i := 14; i < len(fr); i++ {
			bad := append([]byte(nil), fr...)
			bad[i] ^= 0xff
			runOn(w, 0, bad)
			n++
		}
	}
	st := dp.Stats()
	var local uint64
	for _, v := range st.Local {
		local += v
	}
	// Every frame is dropped, sent or local; an ICMP error is counted as
	// the original's drop and as a transmitted frame.
	var tx uint64
	for _, v := range st.TxFrames {
		tx += v
	}
	if st.RxFrames[0] != uint64(n) {
		t.Fatalf("rx %d, want %d", st.RxFrames[0], n)
	}
	if st.Drops[pipeline.DropTruncatedL2] == 0 || st.Drops[pipeline.DropTruncatedL3] == 0 {
		t.Errorf("truncations not counted: %v", st.Drops)
	}
	if st.TotalDrops()+local == 0 {
		t.Error("nothing counted")
	}
}

func TestProcessAllocatesNothing(t *testing.T) {
	dp := newDP(t)
	w := dp.NewWorker()
	frames := [][]byte{
		fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "8.8.8.8").TCP(1000, 443, "A").Bytes(),
		fixture.New().Eth(macHost, macA).IPv6("2001:db8:1::7", "2001:db8:99::1").UDP(1, 2).Bytes(),
		fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "8.8.8.8").TTL(1).UDP(1, 2).Bytes(),
		fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "10.9.9.9").UDP(1, 2).Bytes(),
	}
	batch := make([]pipeline.Frame, len(frames))
	bufs := make([][]byte, len(frames))
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	var now int64
	allocs := testing.AllocsPerRun(200, func() {
		for i, fr := range frames {
			n := copy(bufs[i][256:], fr)
			batch[i] = pipeline.Frame{Buf: bufs[i], Off: 256, Len: n}
		}
		now += 1e6
		w.Process(batch, now)
		w.Flush()
	})
	if allocs != 0 {
		t.Fatalf("Process allocates %v times per batch", allocs)
	}
}

func TestStatsConcurrentReaders(t *testing.T) {
	dp := newDP(t)
	frame := fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "8.8.8.8").UDP(1, 2).Bytes()
	done := make(chan struct{})
	const perWorker = 2000
	for g := 0; g < 2; g++ {
		w := dp.NewWorker()
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < perWorker; i++ {
				runOn(w, 0, frame)
			}
		}()
	}
	for range 2 {
		for {
			select {
			case <-done:
				goto next
			default:
				_ = dp.Stats()
			}
		}
	next:
	}
	if got := dp.Stats().RxFrames[0]; got != 2*perWorker {
		t.Fatalf("rx %d, want %d", got, 2*perWorker)
	}
}

func TestPublishRefusesBadEnv(t *testing.T) {
	dp := newDP(t)
	bad := testEnv(t)
	bad.Ports[1].VRF = 5
	if err := dp.Publish(bad); err == nil {
		t.Fatal("Publish accepted a port with a missing VRF")
	}
	if dp.Env().Ports[1].VRF != 0 {
		t.Fatal("refused env replaced the running one")
	}
}

func TestDropTableComplete(t *testing.T) {
	seen := map[string]bool{}
	for r := pipeline.DropReason(0); r < pipeline.NumDropReasons; r++ {
		n := r.String()
		if n == "" || n == "unknown" || r.Help() == "" || seen[n] {
			t.Errorf("drop reason %d: name %q help %q (names must be unique and documented)", r, n, r.Help())
		}
		seen[n] = true
	}
	for e := pipeline.Event(0); e < pipeline.NumEvents; e++ {
		if n := e.String(); n == "" || n == "unknown" || seen[n] {
			t.Errorf("event %d: name %q", e, n)
		}
		seen[e.String()] = true
	}
}

func BenchmarkForward4(b *testing.B) {
	benchForward(b, fixture.New().Eth(macHost, macA).IPv4("10.1.0.7", "8.8.8.8").UDP(1000, 53).Payload(make([]byte, 18)).Bytes())
}

func BenchmarkForward6(b *testing.B) {
	benchForward(b, fixture.New().Eth(macHost, macA).IPv6("2001:db8:1::7", "2001:db8:99::1").UDP(1000, 53).Payload(make([]byte, 18)).Bytes())
}

// benchForward runs batches of 64 copies of frame through one worker; the
// copy-in of each frame (the port's job) is part of the measurement so the
// TTL does not run out.
func benchForward(b *testing.B, frame []byte) {
	dp := newDP(b)
	w := dp.NewWorker()
	const n = 64
	batch := make([]pipeline.Frame, n)
	bufs := make([]byte, n*2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	var now int64
	for b.Loop() {
		for i := range batch {
			buf := bufs[i*2048 : (i+1)*2048]
			l := copy(buf[256:], frame)
			batch[i] = pipeline.Frame{Buf: buf, Off: 256, Len: l}
		}
		now += 1000
		w.Process(batch, now)
		w.Flush()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds()/1e6, "Mpps")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pkt")
	if dp.Stats().TotalDrops() != 0 {
		b.Fatal("frames dropped")
	}
}

// Operators read drop reasons and events in docs/replay.md; every counter
// must be there.
func TestCountersDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/replay.md")
	if err != nil {
		t.Fatal(err)
	}
	for r := pipeline.DropReason(1); r < pipeline.NumDropReasons; r++ {
		if !strings.Contains(string(doc), "`"+r.String()+"`") {
			t.Errorf("drop reason %s is not documented in docs/replay.md", r)
		}
	}
	for e := pipeline.Event(0); e < pipeline.NumEvents; e++ {
		if !strings.Contains(string(doc), "`"+e.String()+"`") {
			t.Errorf("event %s is not documented in docs/replay.md", e)
		}
	}
}

func TestRouteLeak(t *testing.T) {
	env := testEnv(t)
	leak := func(id uint16, to uint16) *fib.VRF {
		b := fib.NewBuilder()
		b.Add(fib.Route{Prefix: netip.MustParsePrefix("0.0.0.0/0"), NextHop: fib.NextHop{HasNextVRF: true, NextVRF: to}})
		v := fib.NewVRF(id, "leak")
		v.Publish(b.Build())
		return v
	}
	env.VRFs = append(env.VRFs, leak(1, 0), leak(2, 1))
	env.Ports[2].VRF = 1
	dp, err := pipeline.New(env)
	if err != nil {
		t.Fatal(err)
	}
	frame := fixture.New().Eth(macC7, macC).IPv4("10.3.0.7", "8.8.8.8").UDP(1, 2).Bytes()
	if f, _ := run(t, dp, 2, frame); f.Verdict != pipeline.VerdictTx || f.OutPort != 1 {
		t.Fatalf("leaked default route: %v port %d drop %v, want tx on port 1", f.Verdict, f.OutPort, f.Drop)
	}
	// A chain of two leaks is not followed.
	env2 := *env
	env2.Ports = append([]pipeline.PortInfo(nil), env.Ports...)
	env2.Ports[2].VRF = 2
	dp2, _ := pipeline.New(&env2)
	if f, _ := run(t, dp2, 2, frame); f.Verdict == pipeline.VerdictTx && f.OutPort == 1 {
		t.Fatal("followed a chain of two route leaks")
	}
}
