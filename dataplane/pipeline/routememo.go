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
// route memo, eiproute.go). The NAT64 routes its IPv4 destinations
// through the same memo (nat64Out, resolve4Memo); routememo6.go is its
// IPv6 counterpart.
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
const routeMemoSize = 1 << 6 // routeSlot's bits

type routeMemo struct {
	t, t2 *fib.Table // the VRF's table, and the leak's (t without a leak)
	nh    *fib.NextHop
	nt    *neigh.Table // the table mac came from; nil: not resolved yet
	mac   [6]byte
	dst   uint32 // addr4 word
	vrf   uint16 // the VRF t belongs to
	next  uint16 // the VRF t2 belongs to (vrf without a leak)
}

// routeSlot is the slot of destination dst in any VRF: the table test
// tells VRFs apart (two with the same table would have the same route).
func routeSlot(dst uint32) uint32 { return dst * 0x9e3779b1 >> (32 - 6) }

// routeMemoHit is the memo of dst (an addr4 word) in vrf if it holds the
// route (lookup4(vrf, dst) is m.nh), else nil; then lookup4Miss looks the
// route up and remembers it. The test is small enough to be inlined into
// the fast path.
func (w *Worker) routeMemoHit(vrf uint16, dst uint32) *routeMemo {
	vrfs := w.env.VRFs
	m := &w.routes[routeSlot(dst)]
	// The same table for the same destination gives the same first next
	// hop, hence the same leak (next); only the leak's table may differ.
	// (A route that does not leak has t2 == t, next == vrf: one test.)
	if m.dst == dst && m.t == vrfs[vrf].Table() && int(m.next) < len(vrfs) && m.t2 == vrfs[m.next].Table() {
		return m
	}
	return nil
}

// lookup4Miss is lookup4(vrf, dst) when the memo does not hold the route:
// the route is m.nh.
func (w *Worker) lookup4Miss(vrf uint16, dst uint32) (*routeMemo, bool) {
	m := &w.routes[routeSlot(dst)]
	return m, w.lookup4Fill(m, w.env.VRFs[vrf].Table(), vrf, dst)
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
	t2, next := t, vrf
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
	w.route6Release(w.routeHand)
	w.neighRelease(w.routeHand)
	m := &w.routes[w.routeHand%routeMemoSize]
	w.routeHand++
	if m.nt != w.neigh {
		m.nt = nil
	}
	if m.t == nil {
		return
	}
	vrfs := w.env.VRFs
	if !current(vrfs, m.vrf, m.t) || !current(vrfs, m.next, m.t2) {
		*m = routeMemo{}
	}
}

// current reports whether t is VRF vrf's table.
func current(vrfs []*fib.VRF, vrf uint16, t *fib.Table) bool {
	return int(vrf) < len(vrfs) && vrfs[vrf] != nil && vrfs[vrf].Table() == t
}
