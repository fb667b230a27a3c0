package pipeline

import (
	"errors"
	"sync/atomic"
	"time"
)

// Live capture (`xdpgw ctl capture`): frames the appliance receives are
// copied, as they arrived and before any stage rewrites them, into one
// ring per worker, from which the control plane writes a pcapng file that
// `xdpgw replay` runs through the same pipeline. tcpdump on the interface
// cannot do this: the XDP program redirects these frames to AF_XDP before
// the kernel's taps see them.
//
// Cost: with no capture running, one atomic load per batch. While one runs,
// a copy of up to the snap length per captured frame, no allocation, no
// lock: each ring has one writer (its worker) and one reader; a full ring
// drops the copy (counted), never the frame.

// AllPorts captures every port.
const AllPorts = 0xffff

// Capture limits.
const (
	MaxCaptureSnap  = 9216
	MaxCaptureSlots = 1 << 16
)

// ErrCaptureBusy: a capture is already running (one at a time).
var ErrCaptureBusy = errors.New("a capture is already running")

// Capture is a running capture. Start it with Dataplane.StartCapture, read
// it with Read, end it with Dataplane.StopCapture.
type Capture struct {
	port  uint16
	snap  int
	rings []captureRing // by worker ID
	drops atomic.Uint64
}

type captureRing struct {
	head atomic.Uint64 // next slot to read (reader)
	_    [56]byte
	tail atomic.Uint64 // next slot to write (writer)
	_    [56]byte
	meta []captureMeta
	data []byte // len(meta) * snap
}

type captureMeta struct {
	time    int64
	length  uint32 // bytes stored
	origLen uint32
	port    uint16
}

// StartCapture starts capturing the frames received on port (AllPorts:
// every port), at most snap bytes of each, with a ring of slots frames per
// worker. Only one capture runs at a time.
func (d *Dataplane) StartCapture(port uint16, snap, slots int) (*Capture, error) {
	if snap < 64 || snap > MaxCaptureSnap {
		return nil, errors.New("capture: snap length must be 64 to 9216 bytes")
	}
	if slots < 1 || slots > MaxCaptureSlots {
		return nil, errors.New("capture: ring size must be 1 to 65536 frames")
	}
	d.mu.Lock()
	n := len(d.workers)
	d.mu.Unlock()
	c := &Capture{port: port, snap: snap, rings: make([]captureRing, n)}
	for i := range c.rings {
		c.rings[i].meta = make([]captureMeta, slots)
		c.rings[i].data = make([]byte, slots*snap)
	}
	if !d.capture.CompareAndSwap(nil, c) {
		return nil, ErrCaptureBusy
	}
	return c, nil
}

// StopCapture ends c; workers stop copying from their next batch on.
func (d *Dataplane) StopCapture(c *Capture) { d.capture.CompareAndSwap(c, nil) }

// Dropped is how many frames were not copied because a ring was full.
func (c *Capture) Dropped() uint64 { return c.drops.Load() }

// Read hands every frame captured so far to fn, worker by worker in
// arrival order, and returns how many. data is valid only during the call.
// One reader at a time.
func (c *Capture) Read(fn func(port uint16, time int64, origLen int, data []byte)) int {
	n := 0
	for i := range c.rings {
		r := &c.rings[i]
		head, tail := r.head.Load(), r.tail.Load()
		size := uint64(len(r.meta))
		for ; head != tail; head++ {
			s := int(head % size)
			m := r.meta[s]
			fn(m.port, m.time, int(m.origLen), r.data[s*c.snap:s*c.snap+int(m.length)])
			n++
		}
		r.head.Store(head)
	}
	return n
}

// WallTime converts a batch time of a Loop that runs on its own clock (the
// daemon's: frames without a Time) to wall-clock time, for capture files.
func WallTime(now int64) time.Time { return start.Add(time.Duration(now)) }

// captureBatch copies the frames of batch that c wants into the worker's
// ring, stamped with the frame's Time, or the batch's.
func (w *Worker) captureBatch(c *Capture, batch []Frame, now int64) {
	if w.ID >= len(c.rings) {
		// A worker made after the capture started has no ring.
		c.drops.Add(uint64(len(batch)))
		return
	}
	r := &c.rings[w.ID]
	size := uint64(len(r.meta))
	head, tail := r.head.Load(), r.tail.Load()
	for i := range batch {
		f := &batch[i]
		if c.port != AllPorts && f.InPort != c.port {
			continue
		}
		if tail-head == size {
			if head = r.head.Load(); tail-head == size {
				c.drops.Add(1)
				continue
			}
		}
		s := int(tail % size)
		n := copy(r.data[s*c.snap:(s+1)*c.snap], f.Data())
		t := f.Time
		if t == 0 {
			t = now
		}
		r.meta[s] = captureMeta{time: t, length: uint32(n), origLen: uint32(f.Len), port: f.InPort}
		tail++
	}
	r.tail.Store(tail)
}
