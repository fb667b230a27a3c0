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
