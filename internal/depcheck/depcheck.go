// Package depcheck lets a test assert that a package does not depend,
// directly or transitively, on packages it must not use. It runs the go
// tool, so it is for tests only: no non-test code may import it (it imports
// testing, and through it fmt, which the data plane forbids).
//
// depcheck imports only the standard library.
package depcheck

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Check runs `go list -deps pkg` and reports, with t.Errorf, each listed
// package for which forbidden returns true. The list includes pkg itself.
// The test is skipped when the go tool is not found or `go list` fails
// (for example when the module cache cannot be filled offline).
func Check(t testing.TB, pkg string, forbidden func(dep string) bool) {
	t.Helper()
	gobin := lookGo(t)
	out, err := exec.Command(gobin, "list", "-deps", pkg).Output()
	if err != nil {
		t.Skip("go list failed:", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if forbidden(dep) {
			t.Errorf("%s depends on %s", pkg, dep)
		}
	}
}

// CheckAll lists every package matching pattern with its dependencies
// (`go list -f '{{.ImportPath}}: {{join .Deps " "}}' pattern`) and reports,
// with t.Errorf, each dependency of each package for which forbidden
// returns true. The listed packages themselves are not checked, only
// their dependencies. The test is skipped when the go tool is not found,
// and fails when `go list` fails.
func CheckAll(t testing.TB, pattern string, forbidden func(dep string) bool) {
	t.Helper()
	gobin := lookGo(t)
	out, err := exec.Command(gobin, "list", "-f", `{{.ImportPath}}: {{join .Deps " "}}`, pattern).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ": ")
		for _, dep := range strings.Fields(deps) {
			if forbidden(dep) {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

// lookGo returns the path of the go tool, skipping the test if there is
// none.
func lookGo(t testing.TB) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found:", err)
	}
	return gobin
}

// CheckImports reports, with t.Errorf, every import of the non-test Go
// files in the test's working directory (the package under test) that is
// not in allowed: a package's direct imports held to the list its doc
// promises. It parses the files, so it never skips.
func CheckImports(t testing.TB, allowed map[string]bool) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %q, which is not allowed in this package (see doc.go)", name, path)
			}
		}
	}
}
