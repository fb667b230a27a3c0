package xdpprog_test

import (
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"xdpgw/control/daemon/xdpprog"
	"xdpgw/dataplane/afxdp"
	"xdpgw/tools/fixture"
)

const (
	xdpPass     = 2
	xdpRedirect = 4
)

// xdpMD is struct xdp_md, the context of a test run.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// inNetns moves the test's (locked) thread into a new network namespace
// named axdp-<prefix>-<pid> with a veth pair axdp-t0/axdp-t1, and undoes
// it all at cleanup.
func inNetns(tb testing.TB, prefix string) netlink.Link {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root (network namespaces, BPF, AF_XDP)")
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		tb.Fatal(err)
	}
	name := "axdp-" + prefix + "-" + strconv.Itoa(os.Getpid())
	ns, err := netns.NewNamed(name)
	if err != nil {
		orig.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		netns.Set(orig)
		orig.Close()
		ns.Close()
		netns.DeleteNamed(name)
		runtime.UnlockOSThread()
	})
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "axdp-t0"}, PeerName: "axdp-t1"}
	if err := netlink.LinkAdd(veth); err != nil {
		tb.Fatal(err)
	}
	for _, n := range []string{"axdp-t0", "axdp-t1"} {
		l, err := netlink.LinkByName(n)
		if err != nil {
			tb.Fatal(err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			tb.Fatal(err)
		}
	}
	l, err := netlink.LinkByName("axdp-t0")
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

const (
	peerMAC = "02:00:00:00:01:02"
	ourMAC  = "02:00:00:00:01:01"
)

func eth() *fixture.Builder { return fixture.New().Eth(peerMAC, ourMAC) }

func TestProgramVerdicts(t *testing.T) {
	link := inNetns(t, "prog")
	ifindex := link.Attrs().Index
	owned, err := xdpprog.NewOwned()
	if err != nil {
		t.Fatal(err)
	}
	defer owned.Close()
	prog, err := xdpprog.Load(owned, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := xdpprog.SyncOwned(owned, []xdpprog.OwnedKey{
		xdpprog.KeyFor(ifindex, netip.MustParseAddr("10.10.1.1")),
		xdpprog.KeyFor(ifindex, netip.MustParseAddr("2001:db8:a::1")),
		xdpprog.KeyFor(ifindex+1000, netip.MustParseAddr("10.10.9.9")), // another port's
	}); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, frame []byte) uint32 {
		t.Helper()
		ret, err := prog.Prog.Run(&ebpf.RunOptions{Data: frame, Context: xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(ifindex)}})
		if err != nil {
			t.Fatal(err)
		}
		return ret
	}
	udp := func(dst string) []byte {
		return eth().IPv4("10.10.1.2", dst).UDP(1000, 2000).Payload([]byte("x")).Bytes()
	}
	na := eth().IPv6("2001:db8:a::2", "2001:db8:a::1").ICMPv6Echo(1, 1).Bytes()
	na[14+40] = 136 // neighbour advertisement (the program reads only the type)
	withOptions := eth().IPv4("10.10.1.2", "10.10.2.2").TCP(40000, 179, "S").Bytes()
	// Four bytes of options (NOPs) between the IPv4 and TCP headers.
	withOptions = append(withOptions[:34:34], append([]byte{1, 1, 1, 1}, withOptions[34:]...)...)
	withOptions[14] = 0x46
	withOptions[17] += 4

	tests := []struct {
		name   string
		frame  []byte
		noSock int // expected action without a socket in the XSKMAP
		sock   int // with one
	}{
		{"arp request (broadcast)", fixture.New().Eth(peerMAC, "ff:ff:ff:ff:ff:ff").ARPRequest(peerMAC, "10.10.1.2", "10.10.1.1").Bytes(), xdpPass, xdpPass},
		{"arp reply (unicast)", eth().ARPRequest(peerMAC, "10.10.1.2", "10.10.1.1").Bytes(), xdpPass, xdpPass},
		{"bgp syn to own address", eth().IPv4("10.10.1.2", "10.10.1.1").TCP(40000, 179, "S").Bytes(), xdpPass, xdpPass},
		{"bgp syn-ack from port 179, foreign dst", eth().IPv4("10.10.1.2", "10.10.2.2").TCP(179, 40000, "SA").Bytes(), xdpPass, xdpPass},
		{"bgp over ipv6", eth().IPv6("2001:db8:a::2", "2001:db8:b::2").TCP(40000, 179, "S").Bytes(), xdpPass, xdpPass},
		{"bgp after ipv4 options", withOptions, xdpPass, xdpPass},
		{"udp to foreign address", udp("10.10.2.2"), xdpPass, xdpRedirect},
		{"udp to own address", udp("10.10.1.1"), xdpPass, xdpPass},
		{"udp to another port's own address", udp("10.10.9.9"), xdpPass, xdpRedirect},
		{"icmp echo to own address", eth().IPv4("10.10.1.2", "10.10.1.1").ICMPEcho(1, 1, false).Bytes(), xdpPass, xdpPass},
		{"tcp not bgp to foreign", eth().IPv4("10.10.1.2", "10.10.2.2").TCP(40000, 80, "S").Bytes(), xdpPass, xdpRedirect},
		{"gre to own address", eth().IPv4("10.10.1.2", "10.10.1.1").GRE(1000).IPv4("10.0.0.7", "1.1.1.7").UDP(1, 2).Bytes(), xdpPass, xdpRedirect},
		{"gre over ipv6 to own address", eth().IPv6("2001:db8:a::2", "2001:db8:a::1").GRE(1000).IPv4("10.0.0.7", "1.1.1.7").UDP(1, 2).Bytes(), xdpPass, xdpRedirect},
		{"ipv6 ns (multicast)", fixture.New().Eth(peerMAC, "33:33:ff:00:00:01").IPv6("2001:db8:a::2", "ff02::1:ff00:1").ICMPv6Echo(1, 1).Bytes(), xdpPass, xdpPass},
		{"ipv6 na (unicast)", na, xdpPass, xdpPass},
		{"icmpv6 echo to own address", eth().IPv6("2001:db8:a::2", "2001:db8:a::1").ICMPv6Echo(1, 1).Bytes(), xdpPass, xdpPass},
		{"icmpv6 echo to foreign address", eth().IPv6("2001:db8:a::2", "2001:db8:b::2").ICMPv6Echo(1, 1).Bytes(), xdpPass, xdpRedirect},
		{"vlan tagged", eth().VLAN(7).IPv4("10.10.1.2", "10.10.1.1").UDP(1, 2).Bytes(), xdpPass, xdpRedirect},
		{"truncated ipv4 (ethernet header only)", udp("10.10.2.2")[:14], xdpPass, xdpRedirect},
		{"truncated ipv4 header", udp("10.10.1.1")[:30], xdpPass, xdpRedirect},
		{"truncated ipv6 header", eth().IPv6("2001:db8:a::2", "2001:db8:a::1").ICMPv6Echo(1, 1).Bytes()[:50], xdpPass, xdpRedirect},
		{"other ethertype", append(fixture.MAC(ourMAC), append(fixture.MAC(peerMAC), 0x88, 0xcc, 0, 0)...), xdpPass, xdpPass},
	}
	// No t.Run: subtests run on other goroutines, hence other threads,
	// outside the namespace this thread is in.
	for _, tt := range tests {
		if got := run(t, tt.frame); got != uint32(tt.noSock) {
			t.Errorf("no socket: %s: action = %d, want %d", tt.name, got, tt.noSock)
		}
	}

	e, err := afxdp.Open([]afxdp.PortSpec{{Name: "axdp-t0", Ifindex: ifindex}}, afxdp.Options{RingSize: 64, FramesPerSocket: 128, Mode: afxdp.ModeCopy})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := prog.SetSocket(0, e.Socket(0, 0).FD()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if got := run(t, tt.frame); got != uint32(tt.sock) {
			t.Errorf("with socket: %s: action = %d, want %d", tt.name, got, tt.sock)
		}
	}
}

// TestSyncOwned: a second sync removes what is no longer wanted.
func TestSyncOwned(t *testing.T) {
	inNetns(t, "owned")
	m, err := xdpprog.NewOwned()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a := xdpprog.KeyFor(3, netip.MustParseAddr("10.0.0.1"))
	b := xdpprog.KeyFor(3, netip.MustParseAddr("2001:db8::1"))
	if err := xdpprog.SyncOwned(m, []xdpprog.OwnedKey{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := xdpprog.SyncOwned(m, []xdpprog.OwnedKey{b}); err != nil {
		t.Fatal(err)
	}
	var v uint8
	if err := m.Lookup(a, &v); err == nil {
		t.Errorf("stale key still present")
	}
	if err := m.Lookup(b, &v); err != nil {
		t.Errorf("wanted key missing: %v", err)
	}
}

// TestAttachDetach attaches natively to a veth and detaches with the same
// flags.
func TestAttachDetach(t *testing.T) {
	link := inNetns(t, "attach")
	owned, err := xdpprog.NewOwned()
	if err != nil {
		t.Fatal(err)
	}
	defer owned.Close()
	prog, err := xdpprog.Load(owned, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	a, err := xdpprog.Attach(link.Attrs().Index, "axdp-t0", prog.Prog)
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode != xdpprog.ModeNative {
		t.Errorf("mode %v, want native on veth (%v)", a.Mode, a.NativeErr)
	}
	// A second attach finds our own program and replaces it.
	if _, err := xdpprog.Attach(link.Attrs().Index, "axdp-t0", prog.Prog); err != nil {
		t.Errorf("re-attach over our own program: %v", err)
	}
	if err := a.Detach(); err != nil {
		t.Fatal(err)
	}
	if on, err := a.Attached(); err != nil || on {
		t.Errorf("still attached after Detach (%v)", err)
	}
}
