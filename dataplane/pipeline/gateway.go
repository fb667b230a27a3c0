package pipeline

import (
	"math/bits"
	"sync/atomic"
	"xdpgw/dataplane/flatmap"

	"xdpgw/dataplane/firewall"
)

// The multi-tenant Internet gateway (system A of background.md): tenants
// are (GRE key, VRF); elastic IPs are 1:1 NAT between the Internet and a
// tenant's private address; rule sets are selected by (tenant, direction).

// Tenant is one tenant as the data plane sees it.
type Tenant struct {
	Name    string
	Key     uint32 // the tenant's GRE key: selects the tenant on decap, keys its tunnels on encap
	VRF     uint16
	Offload bool // cache each flow's result in the session table (fast path)

	// The gateway's own address inside the tenant's overlay: it answers
	// ARP and ICMP echo there, through the tunnel the request came by.
	Addr4    [4]byte
	HasAddr4 bool

	// Rule sets; nil accepts everything. Ingress is towards the tenant,
	// egress from it. Each packet is classified once, by the direction it
	// travels (background.md bug 6).
	Ingress *firewall.RuleSet
	Egress  *firewall.RuleSet
}

// EIP maps an elastic IP to a tenant's private address.
type EIP struct {
	Addr    [4]byte
	Tenant  uint16
	Private [4]byte
}

// Gateway holds the gateway's tables, indexed for the workers.
type Gateway struct {
	Tenants []Tenant
	EIPs    []EIP

	byKey     *flatmap.Map // GRE key -> tenant
	byEIP     *flatmap.Map // EIP -> EIP index
	byPrivate *flatmap.Map // tenant<<32 | private -> EIP index
	vrfTenant []int32      // VRF -> tenant owning it, or -1

	// eipCount holds, per EIP, the packets and bytes (IP length) sent to
	// its tenant (in) and from it (out): workers count privately and add
	// their batch's increments here (Worker.Flush).
	eipCount []atomic.Uint64 // eipCounters per EIP
}

// Per-EIP counters, in Gateway.eipCount and a worker's private copy.
const (
	eipInPkts = iota
	eipInBytes
	eipOutPkts
	eipOutBytes
	eipCounters
)

// EIPTraffic is what went through one EIP since its Env was published.
type EIPTraffic struct {
	// In: towards the tenant, out: from it; bytes are IP lengths.
	InPackets  uint64 `json:"in_packets"`
	InBytes    uint64 `json:"in_bytes"`
	OutPackets uint64 `json:"out_packets"`
	OutBytes   uint64 `json:"out_bytes"`
}

// EIPTraffic returns the published counters of EIP i.
func (g *Gateway) EIPTraffic(i int) EIPTraffic {
	c := g.eipCount[i*eipCounters : (i+1)*eipCounters]
	return EIPTraffic{c[eipInPkts].Load(), c[eipInBytes].Load(), c[eipOutPkts].Load(), c[eipOutBytes].Load()}
}

// NewGateway indexes tenants and EIPs. vrfs is the number of VRFs of the
// Env the gateway will be part of.
func NewGateway(tenants []Tenant, eips []EIP, vrfs int) (*Gateway, error) {
	g := &Gateway{
		Tenants:   tenants,
		EIPs:      eips,
		byKey:     flatmap.New(len(tenants)),
		byEIP:     flatmap.New(len(eips)),
		byPrivate: flatmap.New(len(eips)),
		vrfTenant: make([]int32, vrfs),
		eipCount:  make([]atomic.Uint64, eipCounters*len(eips)),
	}
	for i := range g.vrfTenant {
		g.vrfTenant[i] = -1
	}
	for i, t := range tenants {
		if int(t.VRF) >= vrfs {
			return nil, errTenantVRF
		}
		if g.vrfTenant[t.VRF] >= 0 {
			return nil, errSharedVRF
		}
		g.vrfTenant[t.VRF] = int32(i)
		if !g.byKey.Put(uint64(t.Key), uint32(i)) {
			return nil, errDuplicateKey
		}
	}
	for i, e := range eips {
		if int(e.Tenant) >= len(tenants) {
			return nil, errEIPTenant
		}
		if !g.byEIP.Put(be32(e.Addr), uint32(i)) {
			return nil, errDuplicateEIP
		}
		if !g.byPrivate.Put(uint64(e.Tenant)<<32|be32(e.Private), uint32(i)) {
			return nil, errDuplicatePrivate
		}
	}
	return g, nil
}

// TenantByKey returns the tenant of a GRE key.
func (g *Gateway) TenantByKey(key uint32) (int, bool) {
	i, ok := g.byKey.Get(uint64(key))
	return int(i), ok
}

// EIPByAddr returns the index of an elastic IP.
func (g *Gateway) EIPByAddr(a [4]byte) (int, bool) { return g.eipByWord(word4(&a)) }

// eipByWord is EIPByAddr for an addr4 word.
func (g *Gateway) eipByWord(a uint32) (int, bool) {
	i, ok := g.byEIP.Get(uint64(bits.ReverseBytes32(a)))
	return int(i), ok
}

// EIPByPrivate returns the EIP of a tenant's private address.
func (g *Gateway) EIPByPrivate(tenant int, a [4]byte) (int, bool) {
	i, ok := g.byPrivate.Get(uint64(tenant)<<32 | be32(a))
	return int(i), ok
}

// Errors returned by NewGateway.
const (
	errTenantVRF        = envError("pipeline: tenant refers to a missing VRF")
	errSharedVRF        = envError("pipeline: two tenants share a VRF")
	errDuplicateKey     = envError("pipeline: two tenants share a GRE key")
	errEIPTenant        = envError("pipeline: EIP refers to a missing tenant")
	errDuplicateEIP     = envError("pipeline: EIP listed twice")
	errDuplicatePrivate = envError("pipeline: two EIPs for one private address of a tenant")
)
