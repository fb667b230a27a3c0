package afxdp

import (
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// worker is one goroutine, locked to an OS thread, owning queue q of every
// port: the sockets, their rings, a share of the UMEM's frames (addresses
// lo..hi) and the free list of those frames. A frame never leaves its
// worker: it is filled, received, transmitted and completed on the
// worker's own rings, so no ring has two producers or two consumers and
// nothing is locked.
type worker struct {
	e      *Engine
	q      int
	umem   []byte
	lo, hi uint64
	total  int // frames owned

	free  []uint64 // free chunks (a stack; capacity total, never grows)
	socks []*Socket
	loops []runner // one per input port: pipeline.Loop or nullLoop

	misses missRing

	pfds       []unix.PollFd
	ts         unix.Timespec
	doubleFree atomic.Uint64
}

// spinRounds is how many empty rounds a worker spins before it sleeps in
// poll (when Options.Spin is off): under load the rings rarely run dry for
// that long, so a busy worker makes no poll syscalls.
const spinRounds = 8

// put returns a chunk to the free list.
func (w *worker) put(addr uint64) {
	if len(w.free) == cap(w.free) {
		// More frames returned than the worker owns: a double release.
		// Refuse it rather than grow (and allocate on the hot path).
		w.doubleFree.Add(1)
		return
	}
	w.free = append(w.free, addr)
}

// initFrames puts every frame of the worker on its free list and fills the
// fill rings.
func (w *worker) initFrames() {
	w.free = make([]uint64, 0, w.total)
	for a := w.hi; a > w.lo; {
		a -= ChunkSize
		w.free = append(w.free, a)
	}
	for _, s := range w.socks {
		s.refill()
	}
}

// step is one round: reap completions, refill, receive-process-transmit a
// batch on every port, and wake the kernel where it asked. It returns the
// number of frames received.
func (w *worker) step() int {
	for _, s := range w.socks {
		s.reap()
		s.refill()
	}
	n := 0
	for _, l := range w.loops {
		k, _ := l.RunOnce()
		n += k
	}
	for _, s := range w.socks {
		if s.txInflight > 0 && s.tx.needWakeup() && s.tx.pending() > 0 {
			s.kickTx()
		}
		if s.fill.needWakeup() {
			s.kickRx()
		}
	}
	return n
}

func (w *worker) run(stop *atomic.Bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	opts := &w.e.opts
	if len(opts.CPUs) > 0 {
		var set unix.CPUSet
		set.Set(opts.CPUs[w.q%len(opts.CPUs)])
		// Best effort: a failure leaves the thread where the scheduler
		// put it.
		_ = unix.SchedSetaffinity(0, &set)
	}
	idle := 0
	for !stop.Load() {
		if w.step() > 0 {
			idle = 0
			continue
		}
		idle++
		if opts.Spin || idle < spinRounds {
			continue
		}
		if opts.BusyPoll > 0 {
			// Busy polling: the syscall runs the driver's NAPI in
			// this thread's context.
			for _, s := range w.socks {
				s.kickRx()
			}
			continue
		}
		w.wait()
	}
}

// wait sleeps until a socket has something to receive, the engine stops,
// or a timeout: short while frames are in flight on a tx ring (their
// completions raise no poll event and the fill rings may need them),
// long otherwise.
func (w *worker) wait() {
	inflight := false
	for i, s := range w.socks {
		w.pfds[i].Revents = 0
		if s.txInflight > 0 {
			inflight = true
		}
	}
	w.pfds[len(w.socks)].Revents = 0
	w.ts = unix.Timespec{Sec: 1}
	if inflight {
		w.ts = unix.Timespec{Nsec: 1_000_000}
	}
	ppoll(w.pfds, &w.ts)
}

// Accounting is where a worker's frames are, read after Stop (or, in
// tests, between steps). Free + Kernel + InFlight == Total when nothing
// leaked.
type Accounting struct {
	Queue      int
	Total      int    // frames the worker owns
	Free       int    // on its free list
	Kernel     uint64 // given to fill rings and not yet received (in fill rings or the kernel's buffers)
	InFlight   uint64 // queued for tx and not yet completed
	DoubleFree uint64 // releases refused because the free list was full
}

func (w *worker) accounting() Accounting {
	a := Accounting{Queue: w.q, Total: w.total, Free: len(w.free), DoubleFree: w.doubleFree.Load()}
	for _, s := range w.socks {
		a.Kernel += s.filled - s.received
		a.InFlight += s.txInflight
	}
	return a
}

// Leaked is the number of frames missing from the accounting (negative:
// counted twice).
func (a Accounting) Leaked() int64 {
	return int64(a.Total) - int64(a.Free) - int64(a.Kernel) - int64(a.InFlight)
}
