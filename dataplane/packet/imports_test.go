package packet_test

import (
	"testing"

	"xdpgw/internal/depcheck"
)

// TestImports keeps the package's non-test code to the imports doc.go
// promises: no fmt, no logging, nothing from control/.
func TestImports(t *testing.T) {
	depcheck.CheckImports(t, map[string]bool{
		"encoding/binary":          true,
		"xdpgw/dataplane/checksum": true,
	})
}
