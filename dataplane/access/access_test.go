package access_test

import (
	"hash/crc32"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"xdpgw/control/maglev"
	"xdpgw/dataplane/access"
	"xdpgw/dataplane/packet"
	"xdpgw/p4"
	"xdpgw/tools/fixture"
)

func mac(tb testing.TB, s string) [6]byte {
	tb.Helper()
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		tb.Fatalf("bad MAC %q", s)
	}
	return [6]byte(hw)
}

var portMACs = [][6]byte{
	{0x02, 0xac, 0, 0, 0, 0},
	{0x02, 0xac, 0, 0, 0, 1},
	{0x02, 0xac, 0, 0, 0, 2},
	{0x02, 0xac, 0, 0, 0, 3},
}

// vectorTarget builds a Target whose tables are p4/testdata/flows.txt's.
func vectorTarget(tb testing.TB) (*access.Target, *p4.Vectors) {
	tb.Helper()
	v, err := p4.ReadVectors("../../p4/testdata/flows.txt")
	if err != nil {
		tb.Fatal(err)
	}
	target, err := access.NewTarget(16, 16, v.Size)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := access.NewBuilder(v.Size)
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range v.Prefixes {
		a := p.Addr().As16()
		b.AddPrefix([12]byte(a[:12]))
	}
	for _, vip := range v.VIPs {
		var bs []maglev.Backend
		for _, n := range vip.Backends {
			bs = append(bs, maglev.Backend{Name: n})
		}
		tab, err := maglev.Build(bs, v.Size)
		if err != nil {
			tb.Fatal(err)
		}
		entries := make([]uint64, v.Size)
		for i, id := range tab.Entries {
			entries[i] = access.PackMAC(mac(tb, tab.Name(id)))
		}
		if err := b.SetMaglev(vip.VIP.As4(), entries); err != nil {
			tb.Fatal(err)
		}
	}
	for i, e := range v.EIPs {
		if err := b.AddEIP(access.EIPEntry{EIP: e.EIP.As4(), VIP: e.VIP.As4(), Port: e.Port, Slot: uint32(i)}); err != nil {
			tb.Fatal(err)
		}
		b.AddSYNMeter(e.EIP.As4(), access.DirDown, uint32(2*i))
		b.AddSYNMeter(e.EIP.As4(), access.DirUp, uint32(2*i+1))
	}
	for _, p := range v.Pools {
		if err := b.AddPool(access.PoolEntry{Prefix: p.Prefix, DMAC: mac(tb, p.DMAC), Port: p.Port}); err != nil {
			tb.Fatal(err)
		}
	}
	target.Publish(b.Build())
	return target, v
}

func flowFrame(f p4.VectorFlow) []byte {
	b := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02")
	if f.Family == 6 {
		b.IPv6(f.Src.String(), f.Dst.String())
	} else {
		b.IPv4(f.Src.String(), f.Dst.String())
	}
	switch f.Proto {
	case "tcp":
		b.TCP(f.SPort, f.DPort, "A")
	case "udp":
		b.UDP(f.SPort, f.DPort)
	case "icmp":
		if f.Family == 6 {
			b.ICMPv6Echo(7, 1)
		} else {
			b.ICMPEcho(7, 1, false)
		}
	}
	return b.Payload([]byte("xdpgw")).Bytes()
}

// TestFlowVectors runs the software target on the shared vectors: each
// flow must reach the backend p4_test.go's model of access.p4 gives.
func TestFlowVectors(t *testing.T) {
	target, v := vectorTarget(t)
	s := access.NewStage(target, portMACs)
	for _, f := range v.Flows {
		frame := flowFrame(f)
		var p packet.Parsed
		p.Decode(frame)
		if f.Family == 6 {
			sport, dport := f.Ports()
			src, dst := f.Src.As16(), f.Dst.As16()
			if h := access.FlowHash6(&src, &dst, sport, dport); h != f.CRC {
				t.Errorf("line %d: hash %#08x, vectors %#08x", f.Line, h, f.CRC)
			}
			if i := access.MaglevIndex(f.CRC, uint32(v.Size)); i != f.Index {
				t.Errorf("line %d: index %d, vectors %d", f.Line, i, f.Index)
			}
		}
		r := s.Process(frame, &p, 0)
		if r.Verdict != access.VerdictForward || r.Port != f.Port {
			t.Errorf("line %d: %+v, want forward on port %d", f.Line, r, f.Port)
			continue
		}
		eth := packet.Ethernet(frame)
		if got := eth.Dst(); [6]byte(got) != mac(t, f.Backend) {
			t.Errorf("line %d: dst MAC %s, want %s", f.Line, got, f.Backend)
		}
		if got := eth.Src(); [6]byte(got) != portMACs[f.Port] {
			t.Errorf("line %d: src MAC %s, want port %d's", f.Line, got, f.Port)
		}
	}
}

func TestCRC32MatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := access.CRC32(b), crc32.ChecksumIEEE(b); got != want {
			t.Fatalf("len %d: CRC32 %#x, hash/crc32 %#x", n, got, want)
		}
	}
}

func decoded(frame []byte) *packet.Parsed {
	p := new(packet.Parsed)
	p.Decode(frame)
	return p
}

func TestNotAccessTrafficPasses(t *testing.T) {
	target, _ := vectorTarget(t)
	s := access.NewStage(target, portMACs)
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"arp", fixture.New().Eth("02:00:00:00:ee:01", "ff:ff:ff:ff:ff:ff").ARPRequest("02:00:00:00:ee:01", "192.0.2.1", "192.0.2.2").Bytes()},
		{"ipv6 outside the /96", fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv6("2001:db8::1", "2001:db8::c633:640a").UDP(1, 2).Bytes()},
		{"ipv4 not from an EIP", fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv4("192.0.2.9", "192.0.2.17").TCP(179, 40000, "A").Bytes()},
		{"vlan tagged", fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").VLAN(10).IPv6("2001:db8::1", "64:ff9b::c633:640a").UDP(1, 2).Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := append([]byte(nil), tc.frame...)
			r := s.Process(tc.frame, decoded(tc.frame), 0)
			if r.Verdict != access.VerdictPass {
				t.Fatalf("%+v, want pass", r)
			}
			if string(orig) != string(tc.frame) {
				t.Fatal("frame changed")
			}
		})
	}
	if s.Stats.Passed != 4 {
		t.Errorf("Passed = %d, want 4", s.Stats.Passed)
	}
}

func TestDrops(t *testing.T) {
	target, _ := vectorTarget(t)
	s := access.NewStage(target, portMACs[:2]) // port 2 does not exist
	for _, tc := range []struct {
		name  string
		frame []byte
		want  access.DropReason
	}{
		{"unknown EIP", fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv6("2001:db8::1", "64:ff9b::0909:0909").UDP(1, 2).Bytes(), access.DropUnknownEIP},
		{"no pool route", fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv4("198.51.100.10", "10.9.9.9").UDP(53, 2).Bytes(), access.DropNoPoolRoute},
		{"port missing", fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv6("2001:db8::1", "64:ff9b::cb00:7105").UDP(1, 2).Bytes(), access.DropBadPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Process(tc.frame, decoded(tc.frame), 0)
			if r.Verdict != access.VerdictDrop || r.Drop != tc.want {
				t.Fatalf("%+v, want drop %v", r, tc.want)
			}
			if s.Stats.Drops[tc.want] != 1 {
				t.Fatalf("Drops[%v] = %d, want 1", tc.want, s.Stats.Drops[tc.want])
			}
		})
	}
}

func TestVIPWithoutNexthops(t *testing.T) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := access.NewBuilder(7)
	must(err)
	b.AddPrefix([12]byte{0, 0x64, 0xff, 0x9b})
	must(b.AddEIP(access.EIPEntry{EIP: [4]byte{198, 51, 100, 10}, VIP: [4]byte{100, 64, 0, 9}, Port: 1, Slot: access.NoSlot}))
	target, err := access.NewTarget(1, 1, 7)
	must(err)
	target.Publish(b.Build())
	s := access.NewStage(target, portMACs)
	frame := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv6("2001:db8::1", "64:ff9b::c633:640a").UDP(1, 2).Bytes()
	if r := s.Process(frame, decoded(frame), 0); r.Drop != access.DropNoNexthop {
		t.Fatalf("%+v, want no_nexthop", r)
	}
	// A VIP with a table in which the entry was never written.
	b, err = access.NewBuilder(7)
	must(err)
	b.AddPrefix([12]byte{0, 0x64, 0xff, 0x9b})
	must(b.AddEIP(access.EIPEntry{EIP: [4]byte{198, 51, 100, 10}, VIP: [4]byte{100, 64, 0, 9}, Port: 1, Slot: access.NoSlot}))
	must(b.SetMaglev([4]byte{100, 64, 0, 9}, make([]uint64, 7)))
	target.Publish(b.Build())
	s.Begin()
	if r := s.Process(frame, decoded(frame), 0); r.Drop != access.DropNoNexthop {
		t.Fatalf("%+v, want no_nexthop", r)
	}
	if s.Stats.Drops[access.DropNoNexthop] != 2 {
		t.Fatalf("no_nexthop drops = %d", s.Stats.Drops[access.DropNoNexthop])
	}
}

// TestSYNMeter checks the per-(EIP, direction) SYN meter on a fake clock:
// the burst passes, the excess is dropped, tokens come back at the rate,
// the other direction and non-SYNs are not affected.
func TestSYNMeter(t *testing.T) {
	target, _ := vectorTarget(t)
	// EIP 0 (198.51.100.10) has meter slots 0 (down) and 1 (up).
	target.Meter(0).Configure(1000, 5) // 1 ms per SYN, burst 5
	target.Meter(1).Configure(1000, 5)
	s := access.NewStage(target, portMACs)
	syn := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv6("2001:db8::1", "64:ff9b::c633:640a").TCP(40000, 443, "S").Bytes()
	ack := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv6("2001:db8::1", "64:ff9b::c633:640a").TCP(40000, 443, "A").Bytes()
	synack := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv6("2001:db8::1", "64:ff9b::c633:640a").TCP(40000, 443, "SA").Bytes()
	up := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv4("198.51.100.10", "192.0.2.17").TCP(443, 40000, "S").Bytes()
	run := func(frame []byte, now int64) access.Result { return s.Process(frame, decoded(frame), now) }
	const t0 = int64(1e12)
	var fwd, drop int
	for range 8 {
		if run(syn, t0).Verdict == access.VerdictForward {
			fwd++
		} else {
			drop++
		}
	}
	if fwd != 5 || drop != 3 {
		t.Fatalf("at t0: %d forwarded, %d dropped; want 5, 3", fwd, drop)
	}
	if s.Stats.Drops[access.DropSYNRate] != 3 || target.Meter(0).Drops.Load() != 3 || target.Meter(0).SYNs.Load() != 8 {
		t.Fatalf("counters: stage %d, meter drops %d syns %d", s.Stats.Drops[access.DropSYNRate], target.Meter(0).Drops.Load(), target.Meter(0).SYNs.Load())
	}
	// Not SYNs: never metered.
	if run(ack, t0).Verdict != access.VerdictForward || run(synack, t0).Verdict != access.VerdictForward {
		t.Fatal("ACK or SYN-ACK was metered")
	}
	// The other direction has its own bucket.
	for i := range 5 {
		if r := run(up, t0); r.Verdict != access.VerdictForward {
			t.Fatalf("up SYN %d: %+v", i, r)
		}
	}
	if run(up, t0).Drop != access.DropSYNRate {
		t.Fatal("6th up SYN passed")
	}
	// 1 ms later one token is back, not two.
	if run(syn, t0+1e6).Verdict != access.VerdictForward {
		t.Fatal("SYN after 1 ms dropped")
	}
	if run(syn, t0+1e6).Verdict != access.VerdictDrop {
		t.Fatal("second SYN after 1 ms passed")
	}
	// After a long idle time, a full burst again.
	for i := range 5 {
		if run(syn, t0+1e10).Verdict != access.VerdictForward {
			t.Fatalf("SYN %d after idle dropped", i)
		}
	}
	// Rate 0: every SYN is RED.
	target.Meter(0).Configure(0, 0)
	if run(syn, t0+2e10).Verdict != access.VerdictDrop {
		t.Fatal("rate 0 let a SYN through")
	}
}

// TestDefaultSYNRate: an unconfigured meter passes the default rate.
func TestDefaultSYNRate(t *testing.T) {
	target, _ := vectorTarget(t)
	s := access.NewStage(target, portMACs)
	syn := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv6("2001:db8::1", "64:ff9b::c633:640a").TCP(40000, 443, "S").Bytes()
	p := decoded(syn)
	// One second of SYNs at 100,000/s: the bucket lets 50,000/s plus the
	// burst through.
	fwd := 0
	for i := range 100000 {
		if s.Process(syn, p, int64(i)*10000).Verdict == access.VerdictForward {
			fwd++
		}
	}
	want := access.DefaultSYNRate + access.DefaultSYNBurst
	if fwd < want-2 || fwd > want+2 {
		t.Fatalf("forwarded %d SYNs in 1 s, want about %d", fwd, want)
	}
}

// TestMeterHugeBurst: a burst so large that burst*interval overflows
// int64 (P4Runtime's pburst is an int64) must let SYNs through, not turn
// every SYN RED.
func TestMeterHugeBurst(t *testing.T) {
	var m access.Meter
	for _, c := range []struct{ rate, burst uint64 }{{1, 1e10}, {10, 1 << 62}, {50000, 1<<63 - 1}} {
		m.Configure(c.rate, c.burst)
		if !m.Allow(1e9) {
			t.Errorf("rate %d burst %d: first SYN RED", c.rate, c.burst)
		}
	}
}

func TestProcessDoesNotAllocate(t *testing.T) {
	target, v := vectorTarget(t)
	s := access.NewStage(target, portMACs)
	for _, f := range v.Flows {
		frame := flowFrame(f)
		p := decoded(frame)
		if n := testing.AllocsPerRun(100, func() { s.Process(frame, p, 0) }); n != 0 {
			t.Errorf("line %d: %v allocations per packet", f.Line, n)
		}
	}
	syn := fixture.New().Eth("02:00:00:00:ee:01", "02:00:00:00:ee:02").IPv6("2001:db8::1", "64:ff9b::c633:640a").TCP(40000, 443, "S").Bytes()
	p := decoded(syn)
	now := int64(0)
	if n := testing.AllocsPerRun(100, func() { now += 1000; s.Process(syn, p, now); s.Begin() }); n != 0 {
		t.Errorf("SYN path: %v allocations per packet", n)
	}
}

func TestTablesLookups(t *testing.T) {
	target, v := vectorTarget(t)
	tab := target.Tables()
	if tab.EIPs() != len(v.EIPs) || tab.VIPs() != len(v.VIPs) || tab.MaglevSize() != v.Size {
		t.Fatalf("EIPs %d VIPs %d size %d", tab.EIPs(), tab.VIPs(), tab.MaglevSize())
	}
	for _, f := range v.Flows {
		if f.Family != 6 {
			continue
		}
		d := f.Dst.As16()
		eip := netip.AddrFrom4([4]byte(d[12:]))
		for _, e := range v.EIPs {
			if e.EIP == eip {
				m, ok := tab.Backend(e.VIP.As4(), f.Index)
				if !ok || m != mac(t, f.Backend) {
					t.Errorf("line %d: Backend = %x %v", f.Line, m, ok)
				}
			}
		}
	}
}

func BenchmarkProcessDown(b *testing.B) {
	target, v := vectorTarget(b)
	s := access.NewStage(target, portMACs)
	frame := flowFrame(v.Flows[0])
	p := decoded(frame)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Process(frame, p, int64(i))
	}
}
