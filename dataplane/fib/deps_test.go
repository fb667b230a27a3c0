package fib_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoForbiddenImports keeps the per-packet package free of the control
// plane, formatting and logging (see doc.go).
func TestNoForbiddenImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found:", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "xdpgw/dataplane/fib").Output()
	if err != nil {
		t.Skip("go list failed:", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "fmt", dep == "log", strings.HasPrefix(dep, "log/"),
			strings.HasPrefix(dep, "xdpgw/control"), strings.Contains(dep, "grpc"):
			t.Errorf("dataplane/fib depends on %s", dep)
		}
	}
}
