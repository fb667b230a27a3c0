package afxdp

import (
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"xdpgw/dataplane/pipeline"
)

// Socket is one AF_XDP socket: one (port, queue) with its own fill,
// completion, rx and tx rings, all owned by one worker goroutine. It
// implements pipeline.Port; the methods must only be called by its worker.
type Socket struct {
	fd    int
	port  uint16 // pipeline port index
	queue int
	name  string // interface name, for errors and stats
	w     *worker

	fill addrRing
	comp addrRing
	rx   descRing
	tx   descRing
	maps [][]byte // ring mappings, unmapped by Close

	// Frame accounting (worker-private): frames handed to the fill ring
	// minus frames received is what the kernel holds for this socket;
	// txInflight is what was queued for sending and not completed.
	filled     uint64
	received   uint64
	txInflight uint64

	c Counters
}

// Counters are a socket's engine counters. The worker adds to them once
// per batch; readers load them atomically.
type Counters struct {
	Rx          atomic.Uint64 // frames received
	Tx          atomic.Uint64 // frames queued on the tx ring
	Completed   atomic.Uint64 // tx completions reaped
	FillEmpty   atomic.Uint64 // refills that found no free frame while the fill ring had room
	TxRingFull  atomic.Uint64 // frames refused because the tx ring was full
	Wakeups     atomic.Uint64 // sendto/recvfrom syscalls made because the kernel asked (need_wakeup)
	WakeupErrs  atomic.Uint64 // of those, failed with something other than EAGAIN/EBUSY/ENOBUFS
	BadDescs    atomic.Uint64 // rx/completion descriptors with an address outside the worker's frames
	BadTx       atomic.Uint64 // frames refused by Transmit: offset/length outside their chunk
	Oversize    atomic.Uint64 // frames received in several buffers (larger than a chunk)
	LocalFrames atomic.Uint64 // frames for the host path that had no host path (released)
	Misses      atomic.Uint64 // neighbour misses reported to the control plane
}

// FD is the socket's file descriptor (to put into the XSKMAP).
func (s *Socket) FD() int { return s.fd }

// Port is the socket's pipeline port index; Queue its queue id.
func (s *Socket) Port() int  { return int(s.port) }
func (s *Socket) Queue() int { return s.queue }

// Name is the interface name.
func (s *Socket) Name() string { return s.name }

// Counters returns the engine counters.
func (s *Socket) Counters() *Counters { return &s.c }

// KernelStats reads the kernel's XDP_STATISTICS for the socket. It may be
// called from any goroutine.
func (s *Socket) KernelStats() (unix.XDPStatistics, error) {
	var st unix.XDPStatistics
	if s.fd < 0 {
		return st, nil
	}
	l := uint32(unsafe.Sizeof(st))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(s.fd), unix.SOL_XDP, unix.XDP_STATISTICS,
		uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return st, opError("read XDP statistics", e)
	}
	return st, nil
}

// Receive implements pipeline.Port: it takes up to len(batch) frames from
// the rx ring and lends the loop their UMEM chunks. No allocation: Buf is a
// subslice of the UMEM mapping.
func (s *Socket) Receive(batch []pipeline.Frame) (int, error) {
	w := s.w
	n := s.rx.available(uint32(len(batch)))
	if n == 0 {
		return 0, nil
	}
	idx := s.rx.cachedCons
	j := 0
	for i := uint32(0); i < n; i++ {
		d := s.rx.descs[(idx+i)&s.rx.mask]
		base := d.Addr &^ chunkMask
		if base < w.lo || base >= w.hi {
			// Not one of ours: the kernel cannot hand out a frame we
			// never filled, so this is memory corruption; never touch it.
			s.c.BadDescs.Add(1)
			continue
		}
		f := &batch[j]
		j++
		f.Buf = w.umem[base : base+ChunkSize : base+ChunkSize]
		f.Addr = base
		f.InPort = s.port
		off := int(d.Addr - base)
		f.Off = off
		f.Len = int(d.Len)
		if d.Options&unix.XDP_PKT_CONTD != 0 || off+f.Len > ChunkSize {
			// A multi-buffer frame (only with XDP_USE_SG, which we do
			// not set) or a length beyond the chunk: counted by the
			// pipeline as oversize and released.
			f.Len = 0
			f.Drop = pipeline.DropOversizeFrame
			s.c.Oversize.Add(1)
		}
	}
	s.rx.release(n)
	s.received += uint64(n)
	if j > 0 {
		s.c.Rx.Add(uint64(j))
	}
	return j, nil
}

// Transmit implements pipeline.Port: it queues frames on the tx ring
// without copying them (the UMEM is shared by all the worker's sockets) and
// wakes the kernel when it asks to be woken.
func (s *Socket) Transmit(frames []*pipeline.Frame) (int, error) {
	w := s.w
	n := s.tx.freeSlots(uint32(len(frames)))
	prod := s.tx.cachedProd
	k := uint32(0)
	for i := uint32(0); i < n; i++ {
		f := frames[i]
		if f.Off < 0 || f.Len <= 0 || f.Off+f.Len > ChunkSize || f.Addr < w.lo || f.Addr >= w.hi || f.Addr&chunkMask != 0 {
			// The kernel would reject the descriptor and never complete
			// it, leaking the frame: keep it out of the ring.
			s.c.BadTx.Add(1)
			w.put(f.Addr)
			continue
		}
		d := &s.tx.descs[(prod+k)&s.tx.mask]
		d.Addr = f.Addr + uint64(f.Off)
		d.Len = uint32(f.Len)
		d.Options = 0
		k++
	}
	if k > 0 {
		s.tx.submit(k)
		s.txInflight += uint64(k)
		s.c.Tx.Add(uint64(k))
	}
	if rest := uint32(len(frames)) - n; rest > 0 {
		s.c.TxRingFull.Add(uint64(rest))
	}
	if k > 0 && s.tx.needWakeup() {
		s.kickTx()
	}
	return int(n), nil
}

// Local implements pipeline.Port. The XDP program passes the host's
// traffic to the kernel before it reaches a worker; what the pipeline still
// calls local (multicast that was redirected, tenant overlay addresses) has
// no host path yet and is released, counted.
func (s *Socket) Local(frames []*pipeline.Frame) {
	s.c.LocalFrames.Add(uint64(len(frames)))
	for _, f := range frames {
		s.w.put(f.Addr)
	}
}

// Release implements pipeline.Port: the frames' chunks go back to the
// worker's free list (and from there to a fill ring). A frame dropped for
// want of a neighbour is reported to the control plane, which asks the
// kernel to resolve it.
func (s *Socket) Release(frames []*pipeline.Frame) {
	w := s.w
	for _, f := range frames {
		if f.Drop == pipeline.DropNoNeighbor && w.misses.report(f) {
			s.c.Misses.Add(1)
		}
		w.put(f.Addr)
	}
}

// Spare implements pipeline.Port: it lends free chunks of the worker for
// frames a packet turns into (NAT64 fragments). Unused ones come back
// through Release, sent ones through the completion ring, like any frame.
func (s *Socket) Spare(frames []pipeline.Frame) int {
	w := s.w
	n := min(len(frames), len(w.free))
	top := len(w.free)
	for i := 0; i < n; i++ {
		base := w.free[top-1-i]
		frames[i] = pipeline.Frame{Buf: w.umem[base : base+ChunkSize : base+ChunkSize], Off: Headroom, Addr: base, InPort: s.port}
	}
	w.free = w.free[:top-n]
	return n
}

// reap moves completed tx frames to the free list.
func (s *Socket) reap() {
	w := s.w
	n := s.comp.available(s.comp.size)
	if n == 0 {
		return
	}
	idx := s.comp.cachedCons
	for i := uint32(0); i < n; i++ {
		base := s.comp.addrs[(idx+i)&s.comp.mask] &^ chunkMask
		if base < w.lo || base >= w.hi {
			s.c.BadDescs.Add(1)
			continue
		}
		w.put(base)
	}
	s.comp.release(n)
	s.txInflight -= uint64(n)
	s.c.Completed.Add(uint64(n))
}

// refill gives free frames to the fill ring, keeping it as full as the
// free list allows.
func (s *Socket) refill() {
	w := s.w
	room := s.fill.freeSlots(s.fill.size)
	if room == 0 {
		return
	}
	n := min(room, uint32(len(w.free)))
	if n == 0 {
		s.c.FillEmpty.Add(1)
		return
	}
	prod := s.fill.cachedProd
	top := len(w.free)
	for i := uint32(0); i < n; i++ {
		s.fill.addrs[(prod+i)&s.fill.mask] = w.free[top-1-int(i)]
	}
	w.free = w.free[:top-int(n)]
	s.fill.submit(n)
	s.filled += uint64(n)
}

// kickTx asks the kernel to process the tx ring (copy mode transmits in
// this syscall's context).
func (s *Socket) kickTx() {
	if s.fd < 0 {
		return
	}
	s.c.Wakeups.Add(1)
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	s.countWakeupErr(e)
}

// kickRx asks the kernel to process the fill ring (zero-copy drivers set
// need_wakeup on it when they ran out of buffers), or drives busy polling.
func (s *Socket) kickRx() {
	if s.fd < 0 {
		return
	}
	s.c.Wakeups.Add(1)
	_, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	s.countWakeupErr(e)
}

func (s *Socket) countWakeupErr(e syscall.Errno) {
	switch e {
	case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.EINTR:
		// Transient: the ring is processed on a later kick.
	default:
		// ENETDOWN, ENXIO: the interface is down or gone. Counted; the
		// worker keeps running and recovers when it comes back.
		s.c.WakeupErrs.Add(1)
	}
}
