package compile

import (
	"fmt"

	"xdpgw/control/config"
	"xdpgw/dataplane/nat64"
	"xdpgw/dataplane/pipeline"
)

// synHashedBuckets is the number of shared SYN buckets for EIPs the
// configuration does not name (each named EIP has its own).
const synHashedBuckets = 4096

// nat64Env compiles the nat64 section; nil when absent or when the box has
// no IPv6-side port to receive from.
func nat64Env(cfg *config.Config, ports []pipeline.PortInfo) (*pipeline.NAT64, error) {
	n := cfg.NAT64
	if n == nil {
		return nil, nil
	}
	hasV6 := false
	for _, p := range ports {
		hasV6 = hasV6 || p.Role == pipeline.RoleIPv6
	}
	if !hasV6 {
		return nil, nil
	}
	prefix, err := nat64.NewPrefix(n.ParsedPrefix())
	if err != nil {
		return nil, fmt.Errorf("compile: nat64.prefix: %w", err)
	}
	out := &pipeline.NAT64{
		Prefix:                prefix,
		EndpointIndependent:   n.EndpointIndependentFiltering(),
		Hairpin:               n.Hairpinning(),
		RejectNonGlobalWithWK: true,
	}
	for i, p := range n.Pools {
		pfx := p.ParsedPrefix()
		if !pfx.Addr().Is4() {
			return nil, fmt.Errorf("compile: nat64.pools[%d].prefix: the pool must be IPv4", i)
		}
		r := p.PortRange()
		out.Pools = append(out.Pools, pipeline.Pool4{Base: pfx.Masked().Addr().As4(), Count: 1 << (32 - pfx.Bits()), PortLo: r.Lo, PortHi: r.Hi})
	}
	if len(out.Pools) == 0 {
		return nil, fmt.Errorf("compile: nat64.pools: at least one pool is needed")
	}
	for i, b := range n.StaticBIB {
		v6, v4 := b.ParsedIPv6(), b.ParsedIPv4()
		if !v6.Addr().Is6() || !v4.Addr().Is4() {
			return nil, fmt.Errorf("compile: nat64.static_bib[%d]: want an IPv6 and an IPv4 transport address", i)
		}
		out.Static = append(out.Static, pipeline.StaticBIB{Proto: b.ParsedProto(), V6: v6.Addr().As16(), Port6: v6.Port(), V4: v4.Addr().As4(), Port4: v4.Port()})
	}
	per := map[[4]byte]uint32{}
	for _, e := range n.SYNLimit.PerEIP {
		per[e.ParsedEIP().As4()] = uint32(e.Rate)
	}
	// The access tier's EIPs get buckets of their own too.
	if a := cfg.Access; a != nil {
		for _, v := range a.VIPs {
			for _, e := range v.ParsedEIPs() {
				if _, ok := per[e.As4()]; !ok && e.Is4() {
					per[e.As4()] = uint32(n.SYNLimit.Default)
				}
			}
		}
	}
	out.SYN = pipeline.NewSYNLimiter(uint32(n.SYNLimit.Default), per, synHashedBuckets)
	return out, nil
}
