package pipeline

import (
	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
)

// A tenant's packet to the Internet routes its destination in the
// tenant's VRF, whose default route leaks into the main table (config:
// "route leaking"): two table lookups per packet, for a destination that
// the packets before it mostly had too. A worker keeps the routes it
// found last in a small direct-mapped memo, each with the table it came
// from and, for a leaked route, the table of the VRF it leaked into.
// Tables are immutable and replaced, not changed, when routes change, so
// while those VRFs still hold those tables the lookups would return the
// same next hop; both are loaded per packet, and a route change in either
// reaches the next packet exactly as without the memo (as for the EIP
// route memo, eiproute.go).
//
// With the route, a memo keeps the next hop's MAC and the neighbour table
// it came from (also immutable and replaced on change, and loaded per
// batch): the MAC depends only on that table, the route and the
// destination.
//
// A memo holds its tables, so each batch the worker checks one slot
// (routeRelease, round robin) and empties it if either table has been
// replaced, and forgets its MAC if the neighbour table has: a replaced
// table is let go within routeMemoSize batches.

// routeMemoSize is the number of destinations a worker remembers routes
// for (direct-mapped: a destination whose slot another took is looked up
// again).
const routeMemoSize = 64

type routeMemo struct {
	t, t2 *fib.Table // the VRF's table, and the leak's (nil: no leak)
	nh    *fib.NextHop
	nt    *neigh.Table // the table mac came from; nil: not resolved yet
	mac   [6]byte
	dst   uint32 // addr4 word
	vrf   uint16 // the VRF t belongs to
	next  uint16 // the VRF t2 belongs to
}

func routeSlot(vrf uint16, dst uint32) int {
	h := (dst ^ uint32(vrf)<<16) * 0x9e3779b1
	return int(h >> (32 - 6) & (routeMemoSize - 1))
}

// lookup4Memo is lookup4(vrf, dst) for an addr4 word dst, through the memo:
// the route is m.nh.
func (w *Worker) lookup4Memo(vrf uint16, dst uint32) (m *routeMemo, ok bool) {
	vrfs := w.env.VRFs
	t := vrfs[vrf].Table()
	m = &w.routes[routeSlot(vrf, dst)]
	// The same table for the same destination gives the same first next
	// hop, hence the same leak (next); only the leak's table may differ.
	if m.t == t && m.dst == dst && (m.t2 == nil || int(m.next) < len(vrfs) && m.t2 == vrfs[m.next].Table()) {
		return m, true
	}
	return m, w.lookup4Fill(m, t, vrf, dst)
}

// neighbor4 is neighbor4(m.nh, m.dst), for a memo whose MAC is not from
// the current neighbour table (m.nt != w.neigh); it remembers the MAC.
func (m *routeMemo) neighbor4(w *Worker) ([6]byte, bool) {
	mac, ok := w.neighbor4(m.nh, wordAddr4(m.dst))
	if ok {
		m.nt, m.mac = w.neigh, mac
	}
	return mac, ok
}

// lookup4Fill is lookup4 from vrf's table t, remembering the route in m.
func (w *Worker) lookup4Fill(m *routeMemo, t *fib.Table, vrf uint16, dst uint32) bool {
	*m = routeMemo{}
	a := wordAddr4(dst)
	nh, ok := t.Lookup4(a)
	if !ok {
		return false
	}
	var t2 *fib.Table
	var next uint16
	if nh.HasNextVRF {
		vrfs := w.env.VRFs
		if int(nh.NextVRF) >= len(vrfs) {
			return false
		}
		next = nh.NextVRF
		t2 = vrfs[next].Table()
		nh, ok = t2.Lookup4(a)
		if !ok || nh.HasNextVRF {
			return false
		}
	}
	*m = routeMemo{t: t, t2: t2, nh: nh, dst: dst, vrf: vrf, next: next}
	return true
}

// routeRelease empties the next slot of the round if a table it holds is
// no longer its VRF's (see above). Once per batch.
func (w *Worker) routeRelease() {
	m := &w.routes[w.routeHand%routeMemoSize]
	w.routeHand++
	if m.nt != w.neigh {
		m.nt = nil
	}
	if m.t == nil {
		return
	}
	vrfs := w.env.VRFs
	if !current(vrfs, m.vrf, m.t) || m.t2 != nil && !current(vrfs, m.next, m.t2) {
		*m = routeMemo{}
	}
}

// current reports whether t is VRF vrf's table.
func current(vrfs []*fib.VRF, vrf uint16, t *fib.Table) bool {
	return int(vrf) < len(vrfs) && vrfs[vrf] != nil && vrfs[vrf].Table() == t
}
