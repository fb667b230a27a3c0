package afxdp

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The four AF_XDP rings are single-producer/single-consumer queues shared
// with the kernel. Each side owns one index and only reads the other's:
//
//	producer: write entries, then store the producer index (release);
//	consumer: load the producer index (acquire), read entries, then store
//	          the consumer index (release) so that the slots can be reused.
//
// Go's sync/atomic operations are sequentially consistent, which is
// stronger than the acquire/release pairs the kernel's xsk_queue.h
// documents (its barriers A-D), so the entries are never read before they
// are published nor overwritten before they are consumed. Each side keeps a
// cached copy of the other side's index and refreshes it only when the
// cached view has run out, as libxdp does: one atomic load per batch, not
// per entry.

// ringHeader is the shared part of a ring: the two indices, the flags word
// and the geometry.
type ringHeader struct {
	producer *uint32
	consumer *uint32
	flags    *uint32
	mask     uint32
	size     uint32

	// The caller's view: cachedProd is the producer index as last
	// published (by us when we produce, as last loaded when we consume);
	// likewise cachedCons.
	cachedProd uint32
	cachedCons uint32
}

// needWakeup reports whether the kernel asked to be woken (sendto, poll or
// recvfrom) before it processes this ring (XDP_USE_NEED_WAKEUP).
func (r *ringHeader) needWakeup() bool {
	return atomic.LoadUint32(r.flags)&unix.XDP_RING_NEED_WAKEUP != 0
}

// freeSlots is how many entries a producer may write, refreshing the
// consumer index only when the cached view shows fewer than want.
func (r *ringHeader) freeSlots(want uint32) uint32 {
	free := r.size - (r.cachedProd - r.cachedCons)
	if free >= want {
		return want
	}
	r.cachedCons = atomic.LoadUint32(r.consumer)
	free = r.size - (r.cachedProd - r.cachedCons)
	return min(free, want)
}

// submit publishes n entries written at cachedProd.
func (r *ringHeader) submit(n uint32) {
	r.cachedProd += n
	atomic.StoreUint32(r.producer, r.cachedProd)
}

// available is how many entries a consumer may read, up to want.
func (r *ringHeader) available(want uint32) uint32 {
	n := r.cachedProd - r.cachedCons
	if n < want {
		r.cachedProd = atomic.LoadUint32(r.producer)
		n = r.cachedProd - r.cachedCons
	}
	return min(n, want)
}

// release gives n consumed entries back to the producer.
func (r *ringHeader) release(n uint32) {
	r.cachedCons += n
	atomic.StoreUint32(r.consumer, r.cachedCons)
}

// pending is, for a ring we produce, how many published entries the kernel
// has not consumed yet (one atomic load).
func (r *ringHeader) pending() uint32 {
	return r.cachedProd - atomic.LoadUint32(r.consumer)
}

// addrRing is a fill or completion ring: UMEM addresses.
type addrRing struct {
	ringHeader
	addrs []uint64
}

// descRing is an rx or tx ring: descriptors.
type descRing struct {
	ringHeader
	descs []unix.XDPDesc
}

// ringLayout places a ring in mem (an mmapped region or, in tests,
// ordinary memory) according to the offsets the kernel reported.
func ringLayout(mem []byte, off unix.XDPRingOffset, size uint32) ringHeader {
	return ringHeader{
		producer: (*uint32)(unsafe.Pointer(&mem[off.Producer])),
		consumer: (*uint32)(unsafe.Pointer(&mem[off.Consumer])),
		flags:    (*uint32)(unsafe.Pointer(&mem[off.Flags])),
		mask:     size - 1,
		size:     size,
	}
}

func newAddrRing(mem []byte, off unix.XDPRingOffset, size uint32) addrRing {
	h := ringLayout(mem, off, size)
	// A producer's view starts at the published indices (zero on a new
	// ring); so does a consumer's.
	h.cachedProd = atomic.LoadUint32(h.producer)
	h.cachedCons = atomic.LoadUint32(h.consumer)
	return addrRing{ringHeader: h, addrs: unsafe.Slice((*uint64)(unsafe.Pointer(&mem[off.Desc])), size)}
}

func newDescRing(mem []byte, off unix.XDPRingOffset, size uint32) descRing {
	h := ringLayout(mem, off, size)
	h.cachedProd = atomic.LoadUint32(h.producer)
	h.cachedCons = atomic.LoadUint32(h.consumer)
	return descRing{ringHeader: h, descs: unsafe.Slice((*unix.XDPDesc)(unsafe.Pointer(&mem[off.Desc])), size)}
}

// ringBytes is the size of the mapping of a ring of n entries of entSize
// bytes.
func ringBytes(off unix.XDPRingOffset, n uint32, entSize uintptr) int {
	return int(off.Desc) + int(n)*int(entSize)
}
