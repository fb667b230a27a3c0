package dataplane_test

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are packages the data plane must not depend on (design.md):
// control-plane code, gRPC, formatting and logging, and gopacket (which is
// for pcap files and tests, where speed does not matter).
var forbidden = []string{
	"xdpgw/control",
	"xdpgw/cmd",
	"xdpgw/tools",
	"google.golang.org/grpc",
	"fmt",
	"log",
	"log/slog",
	"github.com/google/gopacket",
}

func TestDataplaneImports(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found: cannot list dependencies")
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}: {{join .Deps \" \"}}", "xdpgw/dataplane/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ": ")
		for _, d := range strings.Fields(deps) {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
