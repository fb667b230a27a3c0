package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"xdpgw/dataplane/neigh"
)

func TestNeighboursMerge(t *testing.T) {
	n := newNeighbours([]int{7, 9})
	n.cache = new(neigh.Cache)
	mac1 := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	mac2 := net.HardwareAddr{2, 0, 0, 0, 0, 2}
	static := neigh.MAC{2, 0, 0, 0, 0, 0x55}
	n.static = []neigh.Entry{{Port: 1, Addr: netip.MustParseAddr("10.0.2.5"), MAC: static}}

	if !n.update(&netlink.Neigh{LinkIndex: 7, IP: net.ParseIP("10.0.1.5"), HardwareAddr: mac1, State: unix.NUD_REACHABLE}, false) {
		t.Fatal("new entry not a change")
	}
	if n.update(&netlink.Neigh{LinkIndex: 7, IP: net.ParseIP("10.0.1.5"), HardwareAddr: mac1, State: unix.NUD_STALE}, false) {
		t.Error("same MAC, STALE: not a change")
	}
	if n.update(&netlink.Neigh{LinkIndex: 8, IP: net.ParseIP("10.0.1.6"), HardwareAddr: mac1, State: unix.NUD_REACHABLE}, false) {
		t.Error("interface that is not a port taken")
	}
	if n.update(&netlink.Neigh{LinkIndex: 9, IP: net.ParseIP("10.0.2.6"), State: unix.NUD_INCOMPLETE}, false) {
		t.Error("incomplete entry taken")
	}
	// The kernel's entry for the static neighbour loses to the static one.
	n.update(&netlink.Neigh{LinkIndex: 9, IP: net.ParseIP("10.0.2.5"), HardwareAddr: mac2, State: unix.NUD_REACHABLE}, false)
	n.update(&netlink.Neigh{LinkIndex: 9, IP: net.ParseIP("2001:db8::5"), HardwareAddr: mac2, State: unix.NUD_REACHABLE}, false)
	if got := n.publish(); got != 3 {
		t.Errorf("published %d entries, want 3", got)
	}
	tab := n.cache.Load()
	if m, ok := tab.Lookup4(0, [4]byte{10, 0, 1, 5}); !ok || m != neigh.MAC(mac1) {
		t.Errorf("10.0.1.5 on port 0 = %v %v", m, ok)
	}
	if m, ok := tab.Lookup4(1, [4]byte{10, 0, 2, 5}); !ok || m != static {
		t.Errorf("static entry lost to the kernel's: %v %v", m, ok)
	}
	if m, ok := tab.Lookup6(1, netip.MustParseAddr("2001:db8::5").As16()); !ok || m != neigh.MAC(mac2) {
		t.Errorf("IPv6 entry = %v %v", m, ok)
	}
	// A failed or deleted entry goes away.
	if !n.update(&netlink.Neigh{LinkIndex: 7, IP: net.ParseIP("10.0.1.5"), State: unix.NUD_FAILED}, false) {
		t.Error("failed entry not a change")
	}
	if !n.update(&netlink.Neigh{LinkIndex: 9, IP: net.ParseIP("2001:db8::5")}, true) {
		t.Error("deleted entry not a change")
	}
	n.publish()
	if _, ok := n.cache.Load().Lookup4(0, [4]byte{10, 0, 1, 5}); ok {
		t.Error("failed entry still published")
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestMissingInterface(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the privilege check comes first")
	}
	cfg := filepath.Join(t.TempDir(), "x.yaml")
	os.WriteFile(cfg, []byte("ports:\n  - name: internet\n    interface: axdp-nope7\n    role: external\n    addresses: [10.0.0.1/24]\nvrfs:\n  - name: main\n"), 0o644)
	err := Run(context.Background(), Options{ConfigPath: cfg, Log: quietLog()})
	if err == nil || !strings.Contains(err.Error(), "port internet: interface axdp-nope7 not found") {
		t.Errorf("err = %v, want the missing interface named", err)
	}
}

func TestPrivileges(t *testing.T) {
	if os.Geteuid() == 0 {
		if err := checkPrivileges(); err != nil {
			t.Errorf("root refused: %v", err)
		}
		return
	}
	if err := checkPrivileges(); err == nil {
		t.Errorf("unprivileged process accepted")
	}
}

// TestForwardTestbed runs testbed/forward.sh test: three namespaces,
// xdpgw forwarding ping, TCP and TTL expiry between them.
func TestForwardTestbed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the testbed creates network namespaces and runs xdpgw on AF_XDP")
	}
	if testing.Short() {
		t.Skip("testbed skipped in -short mode")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "xdpgw")
	build := exec.Command("go", "build", "-o", bin, "./cmd/xdpgw")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(root, "testbed/forward.sh"), "test", bin)
	cmd.Env = append(os.Environ(), "WORK="+dir, "IPERF_TIME=2")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		if log, rerr := os.ReadFile(filepath.Join(dir, "xdpgw.log")); rerr == nil {
			t.Logf("xdpgw.log:\n%s", log)
		}
		t.Fatalf("forward.sh test: %v", err)
	}
}
