package bgp

import (
	"fmt"
	"net/netip"

	api "github.com/osrg/gobgp/v3/api"
	apb "google.golang.org/protobuf/types/known/anypb"
)

var (
	familyV4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	familyV6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

func familyOf(p netip.Prefix) *api.Family {
	if p.Addr().Is4() {
		return familyV4
	}
	return familyV6
}

// checkRoute validates an operator's (prefix, next hop) pair and returns
// the masked prefix. An invalid next hop means "self": gobgp then puts the
// session's local address in the UPDATE (RFC 4271 5.1.3: on eBGP always
// unless the next hop is given; on iBGP for locally originated routes).
func checkRoute(p netip.Prefix, nh netip.Addr) (netip.Prefix, error) {
	if !p.IsValid() {
		return p, fmt.Errorf("invalid prefix")
	}
	if p.Addr().Is4In6() {
		return p, fmt.Errorf("IPv4-mapped IPv6 prefix; use the IPv4 form")
	}
	m := p.Masked()
	if m != p {
		return p, fmt.Errorf("host bits set (did you mean %s?)", m)
	}
	if nh.IsValid() {
		nh = nh.Unmap()
		if nh.Is4() != p.Addr().Is4() {
			return p, fmt.Errorf("next hop %s is not of the prefix's address family", nh)
		}
		if nh.IsUnspecified() || nh.IsMulticast() {
			return p, fmt.Errorf("next hop %s is not a unicast address", nh)
		}
	}
	return m, nil
}

// apiPath builds the gobgp path for a locally originated route: ORIGIN IGP
// (RFC 4271 5.1.1) and the next hop, as NEXT_HOP for IPv4 and inside
// MP_REACH_NLRI for IPv6 (RFC 4760 3).
func apiPath(p netip.Prefix, nh netip.Addr) (*api.Path, error) {
	nlri, err := apb.New(&api.IPAddressPrefix{Prefix: p.Addr().String(), PrefixLen: uint32(p.Bits())})
	if err != nil {
		return nil, err
	}
	origin, err := apb.New(&api.OriginAttribute{Origin: 0})
	if err != nil {
		return nil, err
	}
	var hop *apb.Any
	if p.Addr().Is4() {
		s := "0.0.0.0"
		if nh.IsValid() {
			s = nh.String()
		}
		hop, err = apb.New(&api.NextHopAttribute{NextHop: s})
	} else {
		s := "::"
		if nh.IsValid() {
			s = nh.String()
		}
		hop, err = apb.New(&api.MpReachNLRIAttribute{Family: familyV6, NextHops: []string{s}, Nlris: []*apb.Any{nlri}})
	}
	if err != nil {
		return nil, err
	}
	return &api.Path{Family: familyOf(p), Nlri: nlri, Pattrs: []*apb.Any{origin, hop}}, nil
}

// received is one path of the global RIB as the watch sees it.
type received struct {
	prefix  netip.Prefix
	nextHop netip.Addr
	peer    netip.Addr // invalid: locally originated
	peerASN uint32
}

// parsePath extracts prefix, next hop and source of a gobgp path; ok is
// false for anything that is not IPv4/IPv6 unicast.
func parsePath(p *api.Path) (r received, ok bool) {
	if p == nil || p.Nlri == nil {
		return r, false
	}
	m, err := p.Nlri.UnmarshalNew()
	if err != nil {
		return r, false
	}
	ip, isIP := m.(*api.IPAddressPrefix)
	if !isIP {
		return r, false
	}
	a, err := netip.ParseAddr(ip.Prefix)
	if err != nil {
		return r, false
	}
	r.prefix, err = a.Unmap().Prefix(int(ip.PrefixLen))
	if err != nil {
		return r, false
	}
	for _, at := range p.Pattrs {
		v, err := at.UnmarshalNew()
		if err != nil {
			continue
		}
		switch v := v.(type) {
		case *api.NextHopAttribute:
			r.nextHop, _ = netip.ParseAddr(v.NextHop)
		case *api.MpReachNLRIAttribute:
			// RFC 2545 3: a global and optionally a link-local address;
			// the global one is the forwarding next hop.
			if len(v.NextHops) > 0 {
				r.nextHop, _ = netip.ParseAddr(v.NextHops[0])
			}
		}
	}
	r.nextHop = r.nextHop.Unmap()
	r.peer, _ = netip.ParseAddr(p.NeighborIp) // "<nil>" for local paths
	r.peerASN = p.SourceAsn
	return r, true
}
