package pipeline

import (
	"encoding/binary"

	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
)

// The NAT64's packets from the IPv4 side route the IPv6 client's address
// per packet (resolve6: the VRF's table, a leak, the neighbour table), and
// the packets before them mostly had the same few clients. A worker keeps
// those routes in a small direct-mapped memo, as routememo.go does for
// IPv4: each with the table it came from and, for a leaked route, the
// table it leaked into, and with the next hop's MAC and the neighbour
// table that came from. Tables are immutable and replaced on change, and
// all are compared with the current ones per packet, so a change reaches
// the next packet exactly as without the memo. routeRelease checks one
// slot per batch, so a replaced table is let go within route6MemoSize
// batches.

// route6MemoSize is the number of IPv6 destinations a worker remembers
// (direct-mapped).
const route6MemoSize = 1 << 4 // route6Slot's bits

type route6Memo struct {
	t, t2 *fib.Table // the VRF's table, and the leak's (t without a leak)
	nh    *fib.NextHop
	nt    *neigh.Table // the table mac came from; nil: none
	hi    uint64       // the destination's first 8 bytes, little-endian
	lo    uint64       // and its last 8
	mac   [6]byte
	vrf   uint16 // the VRF t belongs to
	next  uint16 // the VRF t2 belongs to (vrf without a leak)
}

// route6Slot is the slot of the destination whose halves are hi and lo
// (as words): the /64 and the interface identifier folded and multiplied
// (the top bits of the product).
func route6Slot(hi, lo uint64) uint32 {
	return uint32((hi ^ lo) * 0x9e3779b97f4a7c15 >> (64 - 4))
}

// holds reports whether m is the memo of the destination whose halves are
// hi and lo (as words) in vrf, with both the route (lookup6(vrf, dst) is
// m.nh) and the next hop's MAC (m.mac) from tables that are still
// current: vrfs's and nt. Else resolve6Memo resolves the destination.
// Small enough to be inlined into the fast path, with route6Slot.
func (m *route6Memo) holds(vrfs []*fib.VRF, nt *neigh.Table, vrf uint16, hi, lo uint64) bool {
	return m.hi == hi && m.lo == lo && m.nt == nt && m.t == vrfs[vrf].Table() && int(m.next) < len(vrfs) && m.t2 == vrfs[m.next].Table()
}

// resolve6Memo is resolve6(vrf, *dst) for a destination the memo does not
// hold: it resolves the route and MAC and remembers them (only a route
// that resolve6 accepts, with its MAC, is remembered).
//
//go:noinline
func (w *Worker) resolve6Memo(vrf uint16, dst *[16]byte) (*route6Memo, DropReason) {
	hi, lo := binary.LittleEndian.Uint64(dst[0:8]), binary.LittleEndian.Uint64(dst[8:16])
	m := &w.routes6[route6Slot(hi, lo)%route6MemoSize]
	*m = route6Memo{}
	vrfs := w.env.VRFs
	t := vrfs[vrf].Table()
	nh, ok := t.Lookup6(*dst)
	t2, next := t, vrf
	if ok && nh.HasNextVRF {
		if int(nh.NextVRF) >= len(vrfs) {
			return nil, DropNoRoute
		}
		next = nh.NextVRF
		t2 = vrfs[next].Table()
		if nh, ok = t2.Lookup6(*dst); ok && nh.HasNextVRF {
			return nil, DropNoRoute
		}
	}
	if !ok || !plainRoute(nh, len(w.env.Ports)) {
		return nil, DropNoRoute
	}
	mac, ok := w.neighbor6(nh, *dst)
	if !ok {
		return nil, DropNoNeighbor
	}
	*m = route6Memo{t: t, t2: t2, nh: nh, nt: w.neigh, hi: hi, lo: lo, mac: mac, vrf: vrf, next: next}
	return m, DropNone
}

// route6Release empties slot i if a table it holds is no longer current.
func (w *Worker) route6Release(i uint32) {
	m := &w.routes6[i%route6MemoSize]
	if m.t == nil {
		return
	}
	vrfs := w.env.VRFs
	if m.nt != w.neigh || !current(vrfs, m.vrf, m.t) || !current(vrfs, m.next, m.t2) {
		*m = route6Memo{}
	}
}
