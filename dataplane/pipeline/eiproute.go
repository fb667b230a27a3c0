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

// eipRoute is one EIP's memo: the route, and what the fast path needs of
// its tunnel, derived once from the next hop (immutable, like its table)
// instead of per packet from its netip.Addr fields.
type eipRoute struct {
	t  *fib.Table
	nh *fib.NextHop

	over   int  // the tunnel's outer headers (tunnelOver), 0 without encap
	tun4   bool // nh encapsulates over IPv4 (encap4)
	hasSrc bool
	hasKey bool
	src    uint32 // tun4: the outer addresses (addr4 words) and key
	dst    uint32
	key    uint32
}

// set fills r from route nh, found in t (nil: not to be kept).
func (r *eipRoute) set(t *fib.Table, nh *fib.NextHop) {
	*r = eipRoute{t: t, nh: nh}
	if !nh.HasEncap {
		return
	}
	r.over = tunnelOver(nh)
	if !nh.Encap.OuterDst.Is6() {
		r.tun4 = true
		r.src, r.hasSrc = ipWord4(nh.Encap.OuterSrc), nh.Encap.OuterSrc.Is4()
		r.dst = ipWord4(nh.Encap.OuterDst)
		r.key, r.hasKey = nh.Encap.Key, nh.Encap.HasKey
	}
}

// eipMemo is EIP ei's memo if it holds the route of the EIP's private
// address in its tenant's VRF vrf, else nil; then eipRouteMiss looks the
// route up. The test is small enough to be inlined into the fast path.
func (w *Worker) eipMemo(ei int, vrf uint16) *eipRoute {
	if uint(ei) < uint(len(w.eipRoutes)) {
		if m := &w.eipRoutes[ei]; m.t == w.env.VRFs[vrf].Table() {
			return m
		}
	}
	return nil
}

// eipRouteMiss is lookup4(vrf, dst) for EIP ei, whose private address is
// dst in its tenant's VRF vrf, when the memo does not hold the route, as
// an eipRoute. A route that is not kept is returned in w.eipOnce, which
// eipRouteRelease clears.
func (w *Worker) eipRouteMiss(ei int, vrf uint16, dst [4]byte) (*eipRoute, bool) {
	if ei < 0 || ei >= len(w.eipRoutes) {
		return w.eipUnkept(vrf, dst)
	}
	m := &w.eipRoutes[ei]
	t := w.env.VRFs[vrf].Table()
	nh, ok := t.Lookup4(dst)
	if !ok {
		return nil, false
	}
	if nh.HasNextVRF {
		return w.eipUnkept(vrf, dst)
	}
	m.set(t, nh)
	return m, true
}

// eipUnkept is eipRouteMiss without the memo.
func (w *Worker) eipUnkept(vrf uint16, dst [4]byte) (*eipRoute, bool) {
	nh, ok := w.lookup4(vrf, dst)
	if !ok {
		return nil, false
	}
	w.eipOnce.set(nil, nh)
	return &w.eipOnce, true
}

// eipRouteRelease forgets the memo of the next EIP of the round if its
// tenant's VRF no longer holds the table it came from, so that an idle EIP
// does not keep a replaced table alive (as encapRelease does for the
// tunnels' headers), and the last route not kept. Once per batch.
func (w *Worker) eipRouteRelease() {
	w.eipOnce = eipRoute{}
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
