package access

import (
	"errors"
	"math"
	"sync/atomic"
)

// DefaultSYNRate is the SYN meter rate of an (EIP, direction) whose meter
// was never configured, in packets per second (background.md, B), and
// DefaultSYNBurst its burst in packets (a tenth of a second's worth).
const (
	DefaultSYNRate  = 50000
	DefaultSYNBurst = DefaultSYNRate / 10
)

// Meter is one SYN token bucket, shared by all workers: a GCRA (virtual
// scheduling) on one atomic "theoretical arrival time", so that a packet
// costs one load and one compare-and-swap, no lock. interval is the time
// per token in ns; tau the burst tolerance, (burst-1)*interval.
type Meter struct {
	tat      atomic.Int64
	interval atomic.Int64 // ns per packet; < 0: rate 0, every SYN is RED
	tau      atomic.Int64
	// Counters of the slot: SYNs seen (syn_packets) and SYNs dropped.
	SYNs  atomic.Uint64
	Drops atomic.Uint64
	_     [24]byte // one 64-byte cache line per meter
}

// Configure sets the rate (packets/s) and burst (packets). Rate 0 drops
// every SYN; burst 0 means 1. Safe while workers run: a packet sees the
// old or the new setting.
func (m *Meter) Configure(rate, burst uint64) {
	if rate == 0 {
		m.interval.Store(-1)
		m.tau.Store(0)
		return
	}
	iv := int64(1e9 / rate)
	if iv < 1 {
		iv = 1
	}
	if burst == 0 {
		burst = 1
	}
	// (burst-1)*iv overflows int64 for a burst above ~9.2e18/iv (P4Runtime
	// pburst is an int64): saturate, as a negative tau would make every
	// SYN RED.
	tau := int64(math.MaxInt64)
	if burst-1 <= uint64(math.MaxInt64/iv) {
		tau = int64(burst-1) * iv
	}
	m.interval.Store(iv)
	m.tau.Store(tau)
}

// Rate returns the configured rate and burst.
func (m *Meter) Rate() (rate, burst uint64) {
	iv := m.interval.Load()
	if iv <= 0 {
		return 0, 0
	}
	return uint64(1e9 / iv), uint64(m.tau.Load()/iv) + 1
}

// Allow takes one token at time now (ns) and reports whether the packet
// conforms (GREEN); false is RED.
func (m *Meter) Allow(now int64) bool {
	iv := m.interval.Load()
	if iv < 0 {
		return false
	}
	tau := m.tau.Load()
	for {
		tat := m.tat.Load()
		t := max(tat, now)
		if t-now > tau {
			return false
		}
		if m.tat.CompareAndSwap(tat, t+iv) {
			return true
		}
	}
}

// EIPCounter is the eip_packets counter of one EIP slot.
type EIPCounter struct {
	Packets atomic.Uint64
	Bytes   atomic.Uint64
}

// Target is the meeting point of the control side (control/access) and the
// workers: the current Tables, published atomically, and the slot arrays
// of meters and per-EIP counters, which outlive snapshots. The control
// side allocates slots; a slot is reset (Reset*) before reuse.
type Target struct {
	cur    atomic.Pointer[Tables]
	meters []Meter
	eips   []EIPCounter
}

// ErrCapacity is returned for a zero or huge capacity.
var ErrCapacity = errors.New("access: capacity out of range")

// NewTarget returns a Target with room for eipSlots per-EIP counters and
// meterSlots SYN meters (p4: eip_to_vip and syn_meter sizes, 65536 and
// 131072), and empty tables of Maglev size maglevSize.
func NewTarget(eipSlots, meterSlots, maglevSize int) (*Target, error) {
	if eipSlots < 1 || eipSlots > 1<<24 || meterSlots < 1 || meterSlots > 1<<24 {
		return nil, ErrCapacity
	}
	b, err := NewBuilder(maglevSize)
	if err != nil {
		return nil, err
	}
	t := &Target{meters: make([]Meter, meterSlots), eips: make([]EIPCounter, eipSlots)}
	for i := range t.meters {
		t.meters[i].Configure(DefaultSYNRate, DefaultSYNBurst)
	}
	t.cur.Store(b.Build())
	return t, nil
}

// Publish makes tab the tables of every worker's next batch. Slots named
// by tab must be within the Target's capacities.
func (t *Target) Publish(tab *Tables) { t.cur.Store(tab) }

// Tables returns the current snapshot.
func (t *Target) Tables() *Tables { return t.cur.Load() }

// Meter returns meter slot i.
func (t *Target) Meter(i uint32) *Meter { return &t.meters[i] }

// EIPCounter returns per-EIP counter slot i.
func (t *Target) EIPCounter(i uint32) *EIPCounter { return &t.eips[i] }

// MeterSlots and EIPSlots return the capacities.
func (t *Target) MeterSlots() int { return len(t.meters) }

// EIPSlots returns the number of per-EIP counter slots.
func (t *Target) EIPSlots() int { return len(t.eips) }

// ResetMeter returns slot i to the default rate with a full bucket and
// zero counters, for a new syn_meter entry.
func (t *Target) ResetMeter(i uint32) {
	m := &t.meters[i]
	m.Configure(DefaultSYNRate, DefaultSYNBurst)
	m.tat.Store(0)
	m.SYNs.Store(0)
	m.Drops.Store(0)
}

// ResetEIPCounter zeroes slot i, for a new eip_to_vip entry.
func (t *Target) ResetEIPCounter(i uint32) {
	t.eips[i].Packets.Store(0)
	t.eips[i].Bytes.Store(0)
}
