package pipeline

// Traffic per EIP (and so per tenant: a tenant reaches the Internet only
// through its EIPs): packets and bytes towards the tenant and from it. A
// worker counts into a private array and, once per batch (Flush), adds
// the EIPs it touched to the Gateway's shared counters with atomic adds:
// no shared cache line is written per packet.

// useGateway points the worker's private counters at g (a new Env): what
// was counted for the previous Gateway is added to it first.
func (w *Worker) useGateway(g *Gateway) {
	w.flushEIPs()
	w.eipGW = g
	w.eipPriv, w.eipDirty, w.nDirty, w.eipRoutes = nil, nil, 0, nil
	if g != nil {
		w.eipPriv = make([][eipCounters]uint64, len(g.EIPs))
		// Room for every EIP: one is recorded at most once between
		// flushes (when its counts are still zero), so the list never
		// fills and countEIP needs no flush of its own.
		w.eipDirty = make([]int32, len(g.EIPs))
		w.eipRoutes = make([]eipRoute, len(g.EIPs))
	}
}

// countEIP counts a packet of n bytes through EIP ei towards the tenant
// (in) or from it. It is small enough to be inlined into the fast path.
func (w *Worker) countEIP(ei int, in bool, n int) {
	if uint(ei) >= uint(len(w.eipPriv)) {
		return
	}
	c := &w.eipPriv[ei]
	// The EIP's first count since the last flush: record it.
	if c[eipInPkts]|c[eipOutPkts] == 0 && w.nDirty < len(w.eipDirty) {
		w.eipDirty[w.nDirty] = int32(ei)
		w.nDirty++
	}
	if in {
		c[eipInPkts]++
		c[eipInBytes] += uint64(n)
	} else {
		c[eipOutPkts]++
		c[eipOutBytes] += uint64(n)
	}
}

// flushEIPs adds the private counts of the touched EIPs to the Gateway's.
func (w *Worker) flushEIPs() {
	g := w.eipGW
	for _, ei := range w.eipDirty[:w.nDirty] {
		c := &w.eipPriv[ei]
		for j, v := range c {
			if v != 0 {
				g.eipCount[int(ei)*eipCounters+j].Add(v)
				c[j] = 0
			}
		}
	}
	w.nDirty = 0
}
