package dataplane_test

import (
	"strings"
	"testing"

	"xdpgw/internal/depcheck"
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
	depcheck.CheckAll(t, "xdpgw/dataplane/...", func(dep string) bool {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				return true
			}
		}
		return false
	})
}
