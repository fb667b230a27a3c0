// Package compile turns a validated configuration into the data plane's
// immutable tables (pipeline.Env: ports, per-VRF FIBs, neighbours). It is
// the one place where configuration names (ports, VRFs) become the indices
// the per-packet code uses; keep both sides in step when either changes.
package compile

import (
	"fmt"
	"net/netip"

	"xdpgw/control/config"
	"xdpgw/dataplane/access"
	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/pipeline"
)

// Default ICMP error budget per worker (RFC 1812 4.3.2.8 asks routers to
// limit the rate; Linux's default is 1000/s with a burst of 50).
const (
	DefaultICMPRate  = 1000
	DefaultICMPBurst = 50
)

// Runtime is what the data plane runs on, with the names behind its indices.
type Runtime struct {
	Env        *pipeline.Env
	PortNames  []string // by port index
	Interfaces []string // Linux interface of each port
	VRFNames   []string // by VRF index
	Config     *config.Config
}

// Options adjust Build for where the tables will run.
type Options struct {
	// InterfaceMAC returns the MAC of a Linux interface, for ports whose
	// MAC the configuration leaves out (the daemon reads it from the
	// interface). Nil: such ports get a locally administered MAC derived
	// from their index, 02:00:00:00:ff:NN, which is what replay uses.
	InterfaceMAC func(iface string) ([6]byte, error)
	// Access is the software access target whose tables the access stage
	// reads on ports of role access (Env.Access); the daemon creates it
	// for role access and keeps it across reloads. Nil: no access tier.
	Access *access.Target
}

// Build compiles cfg (already validated by config.Parse) with default options.
func Build(cfg *config.Config) (*Runtime, error) { return BuildWith(cfg, Options{}) }

// BuildWith compiles cfg.
func BuildWith(cfg *config.Config, opts Options) (*Runtime, error) {
	if len(cfg.Ports) == 0 {
		return nil, fmt.Errorf("compile: ports: at least one port is needed")
	}
	if len(cfg.Ports) > pipeline.MaxPorts {
		return nil, fmt.Errorf("compile: ports: %d ports, at most %d", len(cfg.Ports), pipeline.MaxPorts)
	}
	rt := &Runtime{Config: cfg}
	vrfIndex := map[string]uint16{}
	for i, v := range cfg.VRFs {
		vrfIndex[v.Name] = uint16(i)
		rt.VRFNames = append(rt.VRFNames, v.Name)
	}
	portIndex := map[string]uint16{}
	env := &pipeline.Env{ICMPRate: DefaultICMPRate, ICMPBurst: DefaultICMPBurst, Access: opts.Access}
	for i, p := range cfg.Ports {
		portIndex[p.Name] = uint16(i)
		role, ok := pipeline.ParseRole(p.Role)
		if !ok {
			return nil, fmt.Errorf("compile: ports[%d].role: unknown role %q", i, p.Role)
		}
		vrf, ok := vrfIndex[p.VRF]
		if !ok {
			return nil, fmt.Errorf("compile: ports[%d].vrf: no VRF %q", i, p.VRF)
		}
		info := pipeline.PortInfo{Name: p.Name, Role: role, VRF: vrf, MTU: uint16(p.MTU)}
		if mac, ok := p.ParsedMAC(); ok {
			info.MAC = mac
		} else if opts.InterfaceMAC != nil {
			mac, err := opts.InterfaceMAC(p.Interface)
			if err != nil {
				return nil, fmt.Errorf("compile: ports[%d].mac: not set and interface %s has none: %w", i, p.Interface, err)
			}
			info.MAC = mac
		} else {
			info.MAC = [6]byte{0x02, 0, 0, 0, 0xff, byte(i + 1)}
		}
		for _, a := range p.ParsedAddresses() {
			addr := a.Addr()
			if addr.Is4() && !info.HasAddr4 {
				info.Addr4, info.HasAddr4 = addr.As4(), true
			}
			if addr.Is6() && !info.HasAddr6 {
				info.Addr6, info.HasAddr6 = addr.As16(), true
			}
		}
		env.Ports = append(env.Ports, info)
		rt.PortNames = append(rt.PortNames, p.Name)
		rt.Interfaces = append(rt.Interfaces, p.Interface)
	}

	builders := make([]*fib.Builder, len(cfg.VRFs))
	for i := range builders {
		builders[i] = fib.NewBuilder()
	}
	explicit := make([]map[netip.Prefix]bool, len(cfg.VRFs))
	for vi, v := range cfg.VRFs {
		explicit[vi] = map[netip.Prefix]bool{}
		for ri, r := range v.Routes {
			path := fmt.Sprintf("vrfs[%d].routes[%d]", vi, ri)
			pfx := r.ParsedPrefix()
			if r.VRF != "" {
				next, ok := vrfIndex[r.VRF]
				if !ok {
					return nil, fmt.Errorf("compile: %s.vrf: no VRF %q", path, r.VRF)
				}
				if err := builders[vi].Add(fib.Route{Prefix: pfx, NextHop: fib.NextHop{HasNextVRF: true, NextVRF: next}}); err != nil {
					return nil, fmt.Errorf("compile: %s: %w", path, err)
				}
				explicit[vi][pfx] = true
				continue
			}
			port, ok := portIndex[r.Port]
			if !ok {
				return nil, fmt.Errorf("compile: %s.port: no port %q", path, r.Port)
			}
			nh := fib.NextHop{Via: r.ParsedVia(), Port: port}
			if r.Encap != nil {
				nh.HasEncap = true
				nh.Encap.OuterDst = r.Encap.ParsedDst()
				nh.Encap.OuterSrc = r.Encap.ParsedSrc()
				nh.Encap.Key, nh.Encap.HasKey = r.Encap.ParsedKey()
			}
			if err := builders[vi].Add(fib.Route{Prefix: pfx, NextHop: nh}); err != nil {
				return nil, fmt.Errorf("compile: %s: %w", path, err)
			}
			explicit[vi][pfx] = true
		}
	}
	// Each port address is a local (host) route in the port's VRF, and its
	// subnet a connected route unless the configuration routes it itself.
	for i, p := range cfg.Ports {
		vi := env.Ports[i].VRF
		for _, a := range p.ParsedAddresses() {
			host := netip.PrefixFrom(a.Addr(), a.Addr().BitLen())
			if err := builders[vi].Add(fib.Route{Prefix: host, NextHop: fib.NextHop{Port: uint16(i), Local: true}}); err != nil {
				return nil, fmt.Errorf("compile: ports[%d].addresses: %w", i, err)
			}
			if subnet := a.Masked(); subnet.Bits() < a.Addr().BitLen() && !explicit[vi][subnet] {
				if err := builders[vi].Add(fib.Route{Prefix: subnet, NextHop: fib.NextHop{Port: uint16(i)}}); err != nil {
					return nil, fmt.Errorf("compile: ports[%d].addresses: %w", i, err)
				}
			}
		}
	}
	// A tenant's own overlay addresses are local in its VRF.
	for ti, t := range cfg.Tenants {
		vi, ok := vrfIndex[t.VRF]
		if !ok {
			return nil, fmt.Errorf("compile: tenants[%d].vrf: no VRF %q", ti, t.VRF)
		}
		port := uint16(0)
		for _, a := range t.ParsedAddresses() {
			host := netip.PrefixFrom(a.Addr(), a.Addr().BitLen())
			if err := builders[vi].Add(fib.Route{Prefix: host, NextHop: fib.NextHop{Port: port, Local: true}}); err != nil {
				return nil, fmt.Errorf("compile: tenants[%d].addresses: %w", ti, err)
			}
		}
	}
	// Elastic IPs are the gateway's own addresses on the Internet side:
	// local in the VRF of every external port (the gateway's DNAT takes
	// them from there).
	for i := range env.Ports {
		if env.Ports[i].Role != pipeline.RoleExternal {
			continue
		}
		vi := env.Ports[i].VRF
		for _, t := range cfg.Tenants {
			for _, e := range t.EIPs {
				a := e.ParsedEIP()
				host := netip.PrefixFrom(a, a.BitLen())
				if err := builders[vi].Add(fib.Route{Prefix: host, NextHop: fib.NextHop{Port: uint16(i), Local: true}}); err != nil {
					return nil, fmt.Errorf("compile: tenants[].eips: %w", err)
				}
			}
		}
	}
	for vi, v := range cfg.VRFs {
		vrf := fib.NewVRF(uint16(vi), v.Name)
		vrf.Publish(builders[vi].Build())
		env.VRFs = append(env.VRFs, vrf)
	}

	gw, err := gateway(cfg, vrfIndex)
	if err != nil {
		return nil, err
	}
	env.Gateway = gw
	if env.NAT64, err = nat64Env(cfg, env.Ports); err != nil {
		return nil, err
	}

	var entries []neigh.Entry
	for i, n := range cfg.Neighbors {
		port, ok := portIndex[n.Port]
		if !ok {
			return nil, fmt.Errorf("compile: neighbors[%d].port: no port %q", i, n.Port)
		}
		entries = append(entries, neigh.Entry{Port: port, Addr: n.ParsedIP(), MAC: n.ParsedMAC()})
	}
	env.Neigh = new(neigh.Cache)
	env.Neigh.Publish(neigh.Build(entries))

	if err := env.Validate(); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	rt.Env = env
	return rt, nil
}
