package nat64_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package's non-test code to the imports doc.go
// promises.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"encoding/binary":          true,
		"errors":                   true,
		"net/netip":                true,
		"xdpgw/dataplane/checksum": true,
		"xdpgw/dataplane/packet":   true,
	}
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
