package session_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoForbiddenImports keeps the package free of the control plane,
// formatting and logging (doc.go).
func TestNoForbiddenImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "xdpgw/dataplane/session").Output()
	if err != nil {
		t.Skip("go list failed:", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "fmt", dep == "log", strings.HasPrefix(dep, "log/"),
			strings.HasPrefix(dep, "xdpgw/"), strings.Contains(dep, "grpc"):
			if dep != "xdpgw/dataplane/session" {
				t.Errorf("dataplane/session depends on %s", dep)
			}
		}
	}
}
