package session_test

import (
	"strings"
	"testing"

	"xdpgw/internal/depcheck"
)

// TestNoForbiddenImports keeps the package free of the control plane,
// formatting and logging (doc.go).
func TestNoForbiddenImports(t *testing.T) {
	depcheck.Check(t, "xdpgw/dataplane/session", func(dep string) bool {
		if dep == "xdpgw/dataplane/session" {
			return false
		}
		return dep == "fmt" || dep == "log" || strings.HasPrefix(dep, "log/") ||
			strings.HasPrefix(dep, "xdpgw/") || strings.Contains(dep, "grpc")
	})
}
