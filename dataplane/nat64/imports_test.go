package nat64_test

import (
	"testing"

	"xdpgw/internal/depcheck"
)

// TestImports keeps the package's non-test code to the imports doc.go
// promises.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"encoding/binary":          true,
		"errors":                   true,
		"math/bits":                true,
		"net/netip":                true,
		"xdpgw/dataplane/checksum": true,
		"xdpgw/dataplane/packet":   true,
	}
	depcheck.CheckImports(t, allowed)
}
