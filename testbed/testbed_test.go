// Package testbed runs the namespace testbeds as part of `make test` when
// root: each script brings its topology up, checks it with real programs
// and tears it down by name, whatever happens.
package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("testbed needs root (network namespaces, XDP): skipped")
	}
	for _, c := range []string{"ip", "ethtool", "socat", "ping"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("testbed needs %s (testbed/deps.sh installs it): skipped", c)
		}
	}
}

// build compiles the binaries the scripts run into a temporary directory.
func build(t *testing.T) (xdpgw, greendpoint string) {
	t.Helper()
	dir := t.TempDir()
	xdpgw, greendpoint = filepath.Join(dir, "xdpgw"), filepath.Join(dir, "greendpoint")
	for pkg, out := range map[string]string{"../cmd/xdpgw": xdpgw, "../tools/greendpoint": greendpoint} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return xdpgw, greendpoint
}

func TestGatewayTestbed(t *testing.T) {
	needRoot(t)
	xdpgw, gre := build(t)
	cmd := exec.Command("./gateway.sh", "test")
	cmd.Env = append(os.Environ(), "XDPGW_BIN="+xdpgw, "GREENDPOINT_BIN="+gre, "XG_RUN="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("testbed/gateway.sh test:\n%s", out)
	if err != nil {
		t.Fatalf("gateway testbed failed: %v", err)
	}
	if strings.Contains(string(out), "FAIL ") || !strings.Contains(string(out), " 0 failed") {
		t.Fatal("gateway testbed reported failures")
	}
}

// TestNAT64Testbed runs testbed/nat64.sh test: curl, UDP, ping, iperf3,
// hop-limit expiry and a SYN flood through xdpgw's NAT64 on AF_XDP, then
// the differential test against tayga (which the script skips, saying
// so, when tayga is not installed).
func TestNAT64Testbed(t *testing.T) {
	needRoot(t)
	for _, c := range []string{"curl", "iperf3"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("NAT64 testbed needs %s (testbed/deps.sh installs it): skipped", c)
		}
	}
	dir := t.TempDir()
	xdpgw, diff := filepath.Join(dir, "xdpgw"), filepath.Join(dir, "nat64diff")
	for pkg, out := range map[string]string{"../cmd/xdpgw": xdpgw, "../tools/nat64diff": diff} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	cmd := exec.Command("./nat64.sh", "test")
	cmd.Env = append(os.Environ(), "XDPGW_BIN="+xdpgw, "NAT64DIFF_BIN="+diff, "N64_RUN="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("testbed/nat64.sh test:\n%s", out)
	if err != nil {
		t.Fatalf("NAT64 testbed failed: %v", err)
	}
	if strings.Contains(string(out), "FAIL ") || !strings.Contains(string(out), " 0 failed") {
		t.Fatal("NAT64 testbed reported failures")
	}
}

// TestScaleoutTestbed runs testbed/scaleout.sh test: BIRD, an access tier
// (xdpgw access + manager) and three then four NAT64 servers announcing
// their VIP by BGP; 300 long-lived TCP connections; a server stopped
// breaks only its own connections (about 1/3), a server added only those
// Maglev moves to it (about 1/4), tables updated within a second.
func TestScaleoutTestbed(t *testing.T) {
	needRoot(t)
	for _, c := range []string{"bird", "birdc", "curl", "python3"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("scale-out testbed needs %s (testbed/deps.sh installs it): skipped", c)
		}
	}
	xdpgw := filepath.Join(t.TempDir(), "xdpgw")
	if b, err := exec.Command("go", "build", "-o", xdpgw, "../cmd/xdpgw").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	cmd := exec.Command("./scaleout.sh", "test")
	cmd.Env = append(os.Environ(), "XDPGW_BIN="+xdpgw, "SO_RUN="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("testbed/scaleout.sh test:\n%s", out)
	if err != nil {
		t.Fatalf("scale-out testbed failed: %v", err)
	}
	if strings.Contains(string(out), "FAIL ") || !strings.Contains(string(out), " 0 failed") {
		t.Fatal("scale-out testbed reported failures")
	}
}
