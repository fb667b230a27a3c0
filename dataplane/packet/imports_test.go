package packet_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package's non-test code to the imports doc.go
// promises: no fmt, no logging, nothing from control/.
func TestImports(t *testing.T) {
	checkImports(t, map[string]bool{
		"encoding/binary":          true,
		"xdpgw/dataplane/checksum": true,
	})
}

func checkImports(t *testing.T, allowed map[string]bool) {
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
