package afxdp

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"xdpgw/dataplane/pipeline"
)

// UMEM geometry. Chunks are aligned (the kernel finds a chunk from any
// address inside it by masking). The kernel puts received data
// XDP_PACKET_HEADROOM (256) bytes into the chunk, so every frame has at
// least 256 bytes of headroom for encapsulation without a UMEM headroom of
// our own, and 4096-256-MTU bytes of tailroom for ICMP errors.
const (
	ChunkSize = 4096
	chunkMask = ChunkSize - 1
	Headroom  = unix.XDP_PACKET_HEADROOM
)

// Mode selects copy or zero-copy sockets.
type Mode uint8

const (
	// ModeAuto tries zero-copy and falls back to copy mode when a port's
	// driver does not offer it (veth: EOPNOTSUPP).
	ModeAuto Mode = iota
	ModeCopy
	ModeZeroCopy
)

func (m Mode) String() string {
	switch m {
	case ModeCopy:
		return "copy"
	case ModeZeroCopy:
		return "zero-copy"
	}
	return "auto"
}

// Options of an engine. Zero values take the defaults.
type Options struct {
	Queues          int  // queues per port (worker q owns queue q of every port); default 1
	RingSize        int  // entries of each ring, a power of two; default 2048
	FramesPerSocket int  // UMEM frames per (port, queue); default 2*RingSize
	Batch           int  // frames per batch; default pipeline.BatchSize
	Mode            Mode // default ModeAuto
	// Spin keeps workers busy-polling the rings instead of sleeping in
	// poll when idle. Only on a CPU of their own (xdp-on-veth.md: a
	// spinning worker starves a NAPI thread on the same CPU).
	Spin bool
	// BusyPoll enables SO_PREFER_BUSY_POLL with SO_BUSY_POLL set to this
	// many microseconds (best effort: Engine.BusyPoll says if it took).
	BusyPoll       int
	BusyPollBudget int // SO_BUSY_POLL_BUDGET; default 64
	// CPUs pins worker q to CPUs[q % len(CPUs)]; empty: no pinning.
	CPUs []int
	// Null, when set (one entry per port), replaces the pipeline with the
	// null forwarder: a frame received on port p gets Null[p]'s MACs and
	// is transmitted on Null[p].Out, nothing else. It measures the
	// engine's own ceiling (testbed/bench.sh); Start ignores its
	// Dataplane then.
	Null []NullRoute
}

func (o *Options) setDefaults() error {
	if o.Queues == 0 {
		o.Queues = 1
	}
	if o.RingSize == 0 {
		o.RingSize = 2048
	}
	if o.FramesPerSocket == 0 {
		o.FramesPerSocket = 2 * o.RingSize
	}
	if o.Batch == 0 {
		o.Batch = pipeline.BatchSize
	}
	if o.BusyPollBudget == 0 {
		o.BusyPollBudget = 64
	}
	if o.Queues < 0 || o.RingSize < 8 || o.RingSize&(o.RingSize-1) != 0 || o.FramesPerSocket < o.RingSize || o.Batch < 1 {
		return ErrBadOptions
	}
	return nil
}

// PortSpec is one port, in pipeline port order.
type PortSpec struct {
	Name    string // interface name (for errors)
	Ifindex int
}

// Engine is the AF_XDP layer: one UMEM shared by the sockets of every
// (port, queue), and one worker per queue.
type Engine struct {
	opts    Options
	ports   []PortSpec
	umem    []byte
	mode    Mode // the mode the sockets run in (copy or zero-copy)
	workers []*worker
	socks   [][]*Socket // [queue][port]

	busyPoll bool
	stopFd   int
	stop     atomic.Bool
	started  bool
	wg       sync.WaitGroup
}

// Open creates the UMEM and binds a socket to every (port, queue). No
// traffic reaches the sockets until an XDP program redirects to them.
func Open(ports []PortSpec, opts Options) (*Engine, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if len(ports) == 0 || len(ports) > pipeline.MaxPorts {
		return nil, ErrBadOptions
	}
	if opts.Null != nil {
		if len(opts.Null) != len(ports) {
			return nil, ErrBadOptions
		}
		for _, r := range opts.Null {
			if int(r.Out) >= len(ports) {
				return nil, ErrBadOptions
			}
		}
	}
	switch opts.Mode {
	case ModeAuto:
		e, err := open(ports, opts, ModeZeroCopy)
		if errors.Is(err, ErrZeroCopyUnsupported) {
			return open(ports, opts, ModeCopy)
		}
		return e, err
	default:
		return open(ports, opts, opts.Mode)
	}
}

func open(ports []PortSpec, opts Options, mode Mode) (_ *Engine, err error) {
	e := &Engine{opts: opts, ports: ports, mode: mode, stopFd: -1}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	perWorker := len(ports) * opts.FramesPerSocket
	size := opts.Queues * perWorker * ChunkSize
	e.umem, err = unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return nil, opError("map UMEM ("+strconv.Itoa(size>>20)+" MiB)", err)
	}
	e.stopFd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, opError("create eventfd", err)
	}
	e.busyPoll = opts.BusyPoll > 0
	umemFd := -1
	for q := 0; q < opts.Queues; q++ {
		w := &worker{e: e, q: q, umem: e.umem, total: perWorker}
		w.lo = uint64(q * perWorker * ChunkSize)
		w.hi = w.lo + uint64(perWorker*ChunkSize)
		e.workers = append(e.workers, w)
		row := make([]*Socket, len(ports))
		e.socks = append(e.socks, row)
		for p := range ports {
			s, err := e.newSocket(w, p, q, umemFd)
			if s != nil {
				row[p] = s
				w.socks = append(w.socks, s)
			}
			if err != nil {
				return nil, err
			}
			if umemFd < 0 {
				umemFd = s.fd
			}
		}
		w.pfds = make([]unix.PollFd, len(w.socks)+1)
		for i, s := range w.socks {
			w.pfds[i] = unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN}
		}
		w.pfds[len(w.socks)] = unix.PollFd{Fd: int32(e.stopFd), Events: unix.POLLIN}
		w.initFrames()
	}
	return e, nil
}

func (e *Engine) newSocket(w *worker, port, queue, umemFd int) (*Socket, error) {
	name := e.ports[port].Name
	where := " " + name + " queue " + strconv.Itoa(queue)
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, opError("create AF_XDP socket"+where, err)
	}
	s := &Socket{fd: fd, port: uint16(port), queue: queue, name: name, w: w}
	if umemFd < 0 {
		reg := unix.XDPUmemReg{
			Addr: uint64(uintptr(unsafe.Pointer(&e.umem[0]))),
			Len:  uint64(len(e.umem)),
			Size: ChunkSize,
		}
		if err := setsockopt(fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
			return s, opError("register UMEM"+where, err)
		}
	}
	n := e.opts.RingSize
	// Every socket has its own fill and completion rings: the kernel
	// requires them for a UMEM shared across devices or queues.
	for _, o := range []struct {
		opt  int
		name string
	}{
		{unix.XDP_UMEM_FILL_RING, "fill"},
		{unix.XDP_UMEM_COMPLETION_RING, "completion"},
		{unix.XDP_RX_RING, "rx"},
		{unix.XDP_TX_RING, "tx"},
	} {
		if err := unix.SetsockoptInt(fd, unix.SOL_XDP, o.opt, n); err != nil {
			return s, opError("size "+o.name+" ring"+where, err)
		}
	}
	var off unix.XDPMmapOffsets
	l := uint32(unsafe.Sizeof(off))
	if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, unix.XDP_MMAP_OFFSETS,
		uintptr(unsafe.Pointer(&off)), uintptr(unsafe.Pointer(&l)), 0); e != 0 {
		return s, opError("read ring offsets"+where, e)
	}
	mapRing := func(what string, pgoff int64, ro unix.XDPRingOffset, ent uintptr) ([]byte, error) {
		m, err := unix.Mmap(fd, pgoff, ringBytes(ro, uint32(n), ent), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return nil, opError("map "+what+" ring"+where, err)
		}
		s.maps = append(s.maps, m)
		return m, nil
	}
	m, err := mapRing("fill", unix.XDP_UMEM_PGOFF_FILL_RING, off.Fr, 8)
	if err != nil {
		return s, err
	}
	s.fill = newAddrRing(m, off.Fr, uint32(n))
	if m, err = mapRing("completion", unix.XDP_UMEM_PGOFF_COMPLETION_RING, off.Cr, 8); err != nil {
		return s, err
	}
	s.comp = newAddrRing(m, off.Cr, uint32(n))
	if m, err = mapRing("rx", unix.XDP_PGOFF_RX_RING, off.Rx, unsafe.Sizeof(unix.XDPDesc{})); err != nil {
		return s, err
	}
	s.rx = newDescRing(m, off.Rx, uint32(n))
	if m, err = mapRing("tx", unix.XDP_PGOFF_TX_RING, off.Tx, unsafe.Sizeof(unix.XDPDesc{})); err != nil {
		return s, err
	}
	s.tx = newDescRing(m, off.Tx, uint32(n))

	if e.opts.BusyPoll > 0 {
		ok := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PREFER_BUSY_POLL, 1) == nil &&
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BUSY_POLL, e.opts.BusyPoll) == nil &&
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BUSY_POLL_BUDGET, e.opts.BusyPollBudget) == nil
		if !ok {
			e.busyPoll = false
		}
	}

	sa := &unix.SockaddrXDP{Ifindex: uint32(e.ports[port].Ifindex), QueueID: uint32(queue)}
	if umemFd < 0 {
		sa.Flags = unix.XDP_USE_NEED_WAKEUP
		if e.mode == ModeZeroCopy {
			sa.Flags |= unix.XDP_ZEROCOPY
		} else {
			sa.Flags |= unix.XDP_COPY
		}
	} else {
		// A socket sharing the UMEM inherits the owner's mode and
		// need-wakeup setting; the kernel refuses other flags.
		sa.Flags = unix.XDP_SHARED_UMEM
		sa.SharedUmemFD = uint32(umemFd)
	}
	if err := unix.Bind(fd, sa); err != nil {
		if e.mode == ModeZeroCopy && errors.Is(err, unix.EOPNOTSUPP) {
			err = &wrapped{err, ErrZeroCopyUnsupported}
		}
		return s, opError("bind AF_XDP socket"+where, err)
	}
	return s, nil
}

func setsockopt(fd, opt int, p unsafe.Pointer, n uintptr) error {
	if _, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), n, 0); e != 0 {
		return e
	}
	return nil
}

// ppoll waits on fds; errors (EINTR) just end the wait.
func ppoll(fds []unix.PollFd, ts *unix.Timespec) {
	unix.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)), uintptr(unsafe.Pointer(ts)), 0, 0, 0)
}

// Mode is the mode the sockets run in: ModeCopy or ModeZeroCopy.
func (e *Engine) Mode() Mode { return e.mode }

// BusyPoll reports whether busy polling was asked for and every socket
// accepted it.
func (e *Engine) BusyPoll() bool { return e.busyPoll }

// Queues is the number of queues per port (and of workers).
func (e *Engine) Queues() int { return e.opts.Queues }

// Socket is the socket of port on queue.
func (e *Engine) Socket(port, queue int) *Socket { return e.socks[queue][port] }

// Sockets lists every socket, queue by queue.
func (e *Engine) Sockets() []*Socket {
	var out []*Socket
	for _, row := range e.socks {
		for _, s := range row {
			if s != nil {
				out = append(out, s)
			}
		}
	}
	return out
}

// Start runs one worker goroutine per queue over dp. The pipeline's port
// indices are the PortSpecs' order. With Options.Null the workers run the
// null forwarder and dp may be nil.
func (e *Engine) Start(dp *pipeline.Dataplane) error {
	if e.started {
		return ErrStarted
	}
	e.started = true
	for _, w := range e.workers {
		w.attach(dp)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			w.run(&e.stop)
		}()
	}
	return nil
}

// attach makes the worker's pipeline loops: one per input port, each able
// to transmit on every port through the worker's own sockets.
func (w *worker) attach(dp *pipeline.Dataplane) {
	w.loops = w.loops[:0]
	if null := w.e.opts.Null; null != nil {
		for i, s := range w.socks {
			w.loops = append(w.loops, newNullLoop(s, w.socks[null[i].Out], null[i], w.e.opts.Batch))
		}
		return
	}
	pw := dp.NewWorker()
	outs := make([]pipeline.Port, len(w.socks))
	for i, s := range w.socks {
		outs[i] = s
	}
	for _, s := range w.socks {
		w.loops = append(w.loops, pipeline.NewLoop(pw, s, outs, w.e.opts.Batch))
	}
}

// Stop ends the workers and waits for them. The sockets stay open.
func (e *Engine) Stop() {
	if e.stop.Swap(true) || !e.started {
		return
	}
	if e.stopFd >= 0 {
		var one = [8]byte{1}
		unix.Write(e.stopFd, one[:])
	}
	e.wg.Wait()
}

// Drain hands every neighbour miss the workers reported since the last
// Drain to fn. Call it from one goroutine only.
func (e *Engine) Drain(fn func(Miss)) {
	for _, w := range e.workers {
		w.misses.drain(fn)
	}
}

// Accounting reports where each worker's frames are. Call it after Stop.
func (e *Engine) Accounting() []Accounting {
	out := make([]Accounting, 0, len(e.workers))
	for _, w := range e.workers {
		out = append(out, w.accounting())
	}
	return out
}

// Close stops the workers, closes the sockets (which removes them from any
// XSKMAP) and unmaps the rings and the UMEM.
func (e *Engine) Close() error {
	e.Stop()
	var first error
	for _, row := range e.socks {
		for _, s := range row {
			if s == nil {
				continue
			}
			for _, m := range s.maps {
				unix.Munmap(m)
			}
			s.maps = nil
			if s.fd >= 0 {
				if err := unix.Close(s.fd); err != nil && first == nil {
					first = opError("close AF_XDP socket "+s.name, err)
				}
				s.fd = -1
			}
		}
	}
	if e.stopFd >= 0 {
		unix.Close(e.stopFd)
		e.stopFd = -1
	}
	if e.umem != nil {
		unix.Munmap(e.umem)
		e.umem = nil
	}
	return first
}
