// Package afxdp is xdpgw's AF_XDP engine: one UMEM, the sockets of every
// (port, queue), their rings, and the worker goroutines that run
// pipeline.Loop over them. It implements pipeline.Port for a socket.
//
// # Shared UMEM, zero copy between ports
//
// One UMEM (4096-byte chunks, aligned mode) is registered on the first
// socket; every other socket binds with XDP_SHARED_UMEM to it, with its own
// fill and completion rings, as the kernel requires when sockets of one
// UMEM sit on different devices or queues. A frame received on port A is
// transmitted on port B by putting the same UMEM address on B's tx ring:
// no copy (asavie/xdp has no shared UMEM and copies every forwarded frame,
// 0.1 Mpps in xdp-on-veth.md). The kernel writes received data
// XDP_PACKET_HEADROOM (256) bytes into the chunk, so every frame has 256
// bytes of headroom for encapsulation and the rest of the chunk as
// tailroom (pipeline.Frame: Buf is the chunk, Off/Len the packet, Addr the
// chunk's UMEM address).
//
// # Threading: worker q owns queue q of every port
//
// With a shared UMEM a worker must own a tx ring on every port it may send
// to, and every ring must keep one producer and one consumer (the kernel's
// rings have no locks, and ours have none either). "One worker per (port,
// queue)" would need a second socket per (port, queue) for the other
// workers' transmissions, and the kernel makes sockets on the same (device,
// queue) share one fill and one completion ring: those would have several
// producers. So worker q owns the socket of queue q on every port: it
// receives from all of them (one pipeline.Loop per input port, one
// pipeline.Worker for all of them) and transmits to any of them. The UMEM
// is split: worker q owns the frames [q*F, (q+1)*F), which it fills,
// receives, transmits and completes only on its own rings, so frames
// never cross threads, the free list is a plain slice, and nothing is
// locked on the packet path; the only atomics are the ring indices and the
// counters (one add per batch). Scaling is
// by queues (RSS spreads flows over queues; on veth the queue is the
// sending CPU modulo the queue count), which is how the design scales
// anyway. All ports must have the same number of queues.
//
// Workers are goroutines locked to an OS thread (optionally pinned to a
// CPU). A worker spins for a few empty rounds and then sleeps in ppoll on
// its sockets and an eventfd (Stop); with Options.Spin it never sleeps.
// On this machine's veths a spinning worker on the NAPI thread's CPU
// starves it (xdp-on-veth.md), hence sleeping is the default.
//
// # Rings
//
// Ring indices are read and written with sync/atomic (the kernel's
// acquire/release pairs), each side caching the other's index and
// refreshing it once per batch. Descriptor slices are the rings themselves
// (mmapped) and the caller's batch: nothing is allocated per batch
// (TestStepAllocatesNothing). With XDP_USE_NEED_WAKEUP the engine makes a
// syscall only when the kernel sets the ring's flag: sendto for the tx ring
// (in copy mode the kernel transmits inside that call, at most 32 frames
// per call, so the worker kicks again while frames remain), recvfrom for the
// fill ring (zero-copy drivers). Copy mode is what veth offers; Open in
// ModeAuto tries XDP_ZEROCOPY first and falls back to XDP_COPY on
// EOPNOTSUPP. Busy polling (SO_PREFER_BUSY_POLL, SO_BUSY_POLL,
// SO_BUSY_POLL_BUDGET) is optional and best effort.
//
// # Accounting
//
// Every frame of a worker is in exactly one place: its free list, given to
// a fill ring and not yet received (Kernel), queued for tx and not yet
// completed (InFlight), or in the batch being processed. Released, local
// and refused frames go back to the free list at once; completions are
// reaped every round. Engine.Accounting checks the sum after Stop.
//
// # Not here
//
// The XDP program, its maps and its attachment (control/daemon/xdpprog),
// the neighbour table (control/daemon), logging and fmt: this package is
// data plane and must never import control/, fmt or a logging package
// (dataplane/imports_test.go). Setup errors are OpErrors built without
// fmt.
package afxdp
