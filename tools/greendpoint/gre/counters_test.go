package gre_test

import (
	"errors"
	"testing"

	"xdpgw/tools/greendpoint/gre"
)

// TestCountersLineStable pins the output format: scripts and the testbed
// parse it, so a change here is a change of interface.
func TestCountersLineStable(t *testing.T) {
	var c gre.Counters
	c.RxPackets.Add(3)
	c.RxBytes.Add(252)
	c.TxPackets.Add(4)
	c.TxBytes.Add(336)
	c.TxErrors.Add(1)
	c.Drop(gre.KeyMismatch)
	c.Drop(gre.KeyMismatch)
	c.Drop(gre.Truncated)
	c.Drop(gre.OK) // not a drop: ignored
	got := string(c.AppendLine(nil, "gre1"))
	want := "counters name=gre1 rx_packets=3 rx_bytes=252 rx_errors=0 tx_packets=4 tx_bytes=336 tx_errors=1 tx_dropped=0" +
		" truncated=1 bad_ip=0 not_gre=0 fragment=0 wrong_source=0 wrong_destination=0 bad_version=0 bad_flags=0" +
		" bad_checksum=0 key_mismatch=2 unsupported_proto=0"
	if got != want {
		t.Fatalf("AppendLine (-want +got):\n-%s\n+%s", want, got)
	}
	name, vals, err := gre.ParseCounters(got)
	if err != nil {
		t.Fatal(err)
	}
	if name != "gre1" || vals["key_mismatch"] != 2 || vals["tx_packets"] != 4 || vals["ok"] != 0 || len(vals) != 7+int(gre.NumReasons)-1 {
		t.Errorf("ParseCounters = %q, %v", name, vals)
	}
}

func TestParseCountersErrors(t *testing.T) {
	for _, line := range []string{"", "time=1 level=INFO", "counter name=x"} {
		if _, _, err := gre.ParseCounters(line); !errors.Is(err, gre.ErrNotCounters) {
			t.Errorf("ParseCounters(%q) error = %v, want ErrNotCounters", line, err)
		}
	}
	for _, line := range []string{"counters rx_packets", "counters rx_packets=-1", "counters rx_packets=x"} {
		if _, _, err := gre.ParseCounters(line); err == nil || errors.Is(err, gre.ErrNotCounters) {
			t.Errorf("ParseCounters(%q) error = %v, want a parse error", line, err)
		}
	}
}
