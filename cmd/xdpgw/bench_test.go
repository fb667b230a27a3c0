package main

import (
	"strings"
	"testing"
)

func TestBenchMaglevSmallStudy(t *testing.T) {
	rc, out, errs := runCmd("bench", "maglev", "-n", "4", "-sizes", "1031,8191", "-trials", "2", "-timing=false")
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, errs)
	}
	for _, want := range []string{"1031", "8191", "|"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if rc, _, _ := runCmd("bench", "nosuchstudy"); rc != 2 {
		t.Errorf("unknown study: rc %d, want 2", rc)
	}
}
