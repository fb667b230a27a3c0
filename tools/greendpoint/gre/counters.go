package gre

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// Counters are the endpoint's raw counters; rates are computed outside.
// The receive and transmit loops update them concurrently with the signal
// handler reading them, hence the atomics.
type Counters struct {
	// RxPackets and RxBytes count GRE packets accepted by Decap and
	// written to the TUN device; bytes are inner bytes.
	RxPackets, RxBytes atomic.Uint64
	// RxErrors counts accepted packets the TUN device refused to take.
	RxErrors atomic.Uint64
	// TxPackets and TxBytes count packets read from the TUN device and sent
	// to the remote; bytes are inner bytes.
	TxPackets, TxBytes atomic.Uint64
	// TxErrors counts packets that sendto refused (no route, too big for
	// the underlay, ...).
	TxErrors atomic.Uint64
	// TxDropped counts packets read from the TUN device that are neither
	// IPv4 nor IPv6.
	TxDropped atomic.Uint64
	// Drops counts received packets by the reason Decap refused them;
	// Drops[OK] stays zero.
	Drops [NumReasons]atomic.Uint64
}

// Drop counts one received packet refused for r.
func (c *Counters) Drop(r DropReason) {
	if r != OK && r < NumReasons {
		c.Drops[r].Add(1)
	}
}

// CountersPrefix is the first word of every line AppendLine writes, so
// that a script can pick the lines out of the endpoint's output.
const CountersPrefix = "counters"

// AppendLine appends the counters as one line without the newline:
//
//	counters name=gre1 rx_packets=3 rx_bytes=252 rx_errors=0 tx_packets=3 tx_bytes=252 tx_errors=0 tx_dropped=0 truncated=0 bad_ip=0 ...
//
// The format is stable: keys are never renamed or reordered, new keys are
// only appended. After the name come the rx and tx counters, then one key
// per DropReason (its String) in the order of the constants. name must not
// contain spaces or '='.
func (c *Counters) AppendLine(b []byte, name string) []byte {
	b = append(b, CountersPrefix...)
	b = append(b, " name="...)
	b = append(b, name...)
	kv := func(k string, v uint64) {
		b = append(b, ' ')
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendUint(b, v, 10)
	}
	kv("rx_packets", c.RxPackets.Load())
	kv("rx_bytes", c.RxBytes.Load())
	kv("rx_errors", c.RxErrors.Load())
	kv("tx_packets", c.TxPackets.Load())
	kv("tx_bytes", c.TxBytes.Load())
	kv("tx_errors", c.TxErrors.Load())
	kv("tx_dropped", c.TxDropped.Load())
	for r := OK + 1; r < NumReasons; r++ {
		kv(r.String(), c.Drops[r].Load())
	}
	return b
}

// ErrNotCounters is returned by ParseCounters for a line that does not
// start with CountersPrefix.
var ErrNotCounters = errors.New("not a counters line")

// ParseCounters reads a line written by AppendLine back into a map from key
// to value. The name is returned separately; every other value must be a
// decimal number.
func ParseCounters(line string) (name string, vals map[string]uint64, err error) {
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != CountersPrefix {
		return "", nil, ErrNotCounters
	}
	vals = make(map[string]uint64, len(fields))
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", nil, fmt.Errorf("parse counters: field %q: no '='", f)
		}
		if k == "name" {
			name = v
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return "", nil, fmt.Errorf("parse counters: field %q: %w", f, err)
		}
		vals[k] = n
	}
	return name, vals, nil
}
