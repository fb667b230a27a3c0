package fib_test

import (
	"strings"
	"testing"

	"xdpgw/internal/depcheck"
)

// TestNoForbiddenImports keeps the per-packet package free of the control
// plane, formatting and logging (see doc.go).
func TestNoForbiddenImports(t *testing.T) {
	depcheck.Check(t, "xdpgw/dataplane/fib", func(dep string) bool {
		return dep == "fmt" || dep == "log" || strings.HasPrefix(dep, "log/") ||
			strings.HasPrefix(dep, "xdpgw/control") || strings.Contains(dep, "grpc")
	})
}
