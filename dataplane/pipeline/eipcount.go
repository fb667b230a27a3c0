package pipeline

// Traffic per EIP (and so per tenant: a tenant reaches the Internet only
// through its EIPs): packets and bytes towards the tenant and from it. A
// worker counts into a private array and, once per batch (Flush), adds
// the EIPs it touched to the Gateway's shared counters with atomic adds:
// no shared cache line is written per packet.

// maxEIPDirty bounds the EIPs one batch can touch before the worker
// flushes early (a batch of 256 frames touches at most 256).
const maxEIPDirty = 256

// useGateway points the worker's private counters at g (a new Env): what
// was counted for the previous Gateway is added to it first.
func (w *Worker) useGateway(g *Gateway) {
	w.flushEIPs()
	w.eipGW = g
	w.eipPriv, w.eipDirty, w.eipRoutes = nil, nil, nil
	if g != nil {
		w.eipPriv = make([]uint64, eipCounters*len(g.EIPs))
		w.eipDirty = make([]int32, 0, min(len(g.EIPs), maxEIPDirty))
		w.eipRoutes = make([]eipRoute, len(g.EIPs))
	}
}

// countEIP counts a packet of n bytes through EIP ei towards the tenant
// (in) or from it.
func (w *Worker) countEIP(ei int, in bool, n int) {
	i := ei * eipCounters
	if i+eipCounters > len(w.eipPriv) {
		return
	}
	c := w.eipPriv[i : i+eipCounters : i+eipCounters]
	if c[eipInPkts] == 0 && c[eipOutPkts] == 0 {
		if len(w.eipDirty) == cap(w.eipDirty) {
			w.flushEIPs()
		}
		w.eipDirty = append(w.eipDirty, int32(ei))
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
	for _, ei := range w.eipDirty {
		i := int(ei) * eipCounters
		for j := i; j < i+eipCounters; j++ {
			if v := w.eipPriv[j]; v != 0 {
				g.eipCount[j].Add(v)
				w.eipPriv[j] = 0
			}
		}
	}
	w.eipDirty = w.eipDirty[:0]
}
