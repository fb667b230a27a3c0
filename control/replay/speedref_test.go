package replay_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// tools/speedref/speedref.c is the C yardstick of this package's fast-path
// benchmarks: their packets' bare work (docs/performance.md, "What this
// machine can do"; make bench-ref runs both). This keeps it honest: it is
// built and run on a few batches, and it checks the checksums of what it
// sends and exits non-zero on a drop or a bad one.
func TestSpeedrefTranslatesCorrectly(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) on PATH: speedref not built")
	}
	bin := filepath.Join(t.TempDir(), "speedref")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-Werror", "-o", bin, filepath.Join("..", "..", "tools", "speedref", "speedref.c")).CombinedOutput(); err != nil {
		t.Fatalf("cc speedref.c: %v\n%s", err, out)
	}
	for _, mode := range []string{"gateway", "nat64"} {
		out, err := exec.Command(bin, mode, "6400").CombinedOutput()
		if err != nil {
			t.Errorf("speedref %s: %v\n%s", mode, err, out)
			continue
		}
		t.Logf("%s", out)
	}
	if err := exec.Command(bin, "nonsense").Run(); err == nil {
		t.Error("speedref accepted an unknown mode")
	}
}
