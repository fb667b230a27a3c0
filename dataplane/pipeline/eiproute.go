package pipeline

import "xdpgw/dataplane/fib"

// Every packet from the Internet to an EIP routes the EIP's private address
// in its tenant's VRF (background.md bug 4), and it is the same address for
// all of the EIP's packets. A worker keeps, per EIP, the route it last found
// and the table it found it in: tables are immutable and replaced, not
// changed, when routes change, so while the VRF still holds that table the
// lookup would return the same next hop, and a route change reaches the
// next packet exactly as without the memo (the table is loaded per packet).
// A route that leaks into another VRF is not kept: its answer depends on a
// second table.

// eipRoute is one EIP's memo.
type eipRoute struct {
	t  *fib.Table
	nh *fib.NextHop
}

// eipLookup4 is lookup4(vrf, dst) for EIP ei, whose private address is dst
// in its tenant's VRF vrf.
func (w *Worker) eipLookup4(ei int, vrf uint16, dst [4]byte) (*fib.NextHop, bool) {
	if ei < 0 || ei >= len(w.eipRoutes) {
		return w.lookup4(vrf, dst)
	}
	m := &w.eipRoutes[ei]
	t := w.env.VRFs[vrf].Table()
	if m.t == t {
		return m.nh, true
	}
	nh, ok := t.Lookup4(dst)
	if !ok {
		return nil, false
	}
	if nh.HasNextVRF {
		return w.lookup4(vrf, dst)
	}
	m.t, m.nh = t, nh
	return nh, true
}

// eipRouteRelease forgets the memo of the next EIP of the round if its
// tenant's VRF no longer holds the table it came from, so that an idle EIP
// does not keep a replaced table alive (as encapRelease does for the
// tunnels' headers). Once per batch.
func (w *Worker) eipRouteRelease() {
	gw, n := w.eipGW, len(w.eipRoutes)
	if gw == nil || n == 0 {
		return
	}
	ei := int(w.eipRouteHand % uint32(n))
	w.eipRouteHand++
	m := &w.eipRoutes[ei]
	if m.t == nil {
		return
	}
	vrfs := w.env.VRFs
	vrf := int(gw.Tenants[gw.EIPs[ei].Tenant].VRF)
	if vrf >= len(vrfs) || vrfs[vrf] == nil || vrfs[vrf].Table() != m.t {
		*m = eipRoute{}
	}
}
