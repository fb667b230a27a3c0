package pipeline

import (
	"xdpgw/dataplane/access"
	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
)

// MaxPorts bounds the port index so per-port counters are flat arrays.
const MaxPorts = 64

// Role says what kind of network a port faces; classification keys on it.
type Role uint8

const (
	RoleExternal Role = iota // the Internet side of the gateway
	RoleOverlay              // the underlay carrying tenants' GRE overlay
	RoleIPv6                 // NAT64: the IPv6 side
	RoleIPv4                 // NAT64: the IPv4 side
	RoleAccess               // access tier
)

var roleNames = [...]string{"external", "overlay", "ipv6", "ipv4", "access"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "unknown"
}

// ParseRole is the inverse of Role.String.
func ParseRole(s string) (Role, bool) {
	for i, n := range roleNames {
		if n == s {
			return Role(i), true
		}
	}
	return 0, false
}

// PortInfo is what the pipeline knows of a port.
type PortInfo struct {
	Name string
	Role Role
	MAC  [6]byte
	VRF  uint16 // index into Env.VRFs for traffic arriving on this port
	MTU  uint16 // L3 MTU

	// The port's first address of each family: the source of the ICMP
	// errors the appliance sends through this port.
	Addr4    [4]byte
	HasAddr4 bool
	Addr6    [16]byte
	HasAddr6 bool
}

// Env is the immutable set of tables the workers run on. The control plane
// builds a new Env on a configuration change and publishes it with
// Dataplane.Publish; workers pick it up at their next batch. Route changes
// inside a VRF are published by the fib.VRF itself, and neighbour changes by
// the neigh.Cache, without a new Env.
type Env struct {
	Ports []PortInfo
	VRFs  []*fib.VRF
	Neigh *neigh.Cache

	// Gateway holds the tenants and EIPs of the multi-tenant gateway;
	// nil when the box is no gateway.
	Gateway *Gateway

	// NAT64 is the stateful NAT64; nil when the box is no NAT64.
	NAT64 *NAT64

	// Access is the software access target whose tables (programmed over
	// P4Runtime by the manager) the access tier's stage reads on
	// RoleAccess ports; nil when the box is no access switch. The target
	// outlives Env changes.
	Access *access.Target

	// ICMPRate and ICMPBurst bound the ICMP errors each worker sends
	// (RFC 1812 4.3.2.8, RFC 4443 2.4(f)): tokens per second and bucket
	// size. Zero rate disables ICMP errors.
	ICMPRate  uint32
	ICMPBurst uint32

	gen uint32 // set by Dataplane.Publish
}

// Validate checks the invariants the per-packet code relies on, so that a
// bad Env is refused by Publish rather than found by a worker.
func (e *Env) Validate() error {
	if len(e.Ports) == 0 || len(e.Ports) > MaxPorts {
		return errPortCount
	}
	if e.Neigh == nil {
		return errNoNeigh
	}
	for i := range e.Ports {
		if int(e.Ports[i].VRF) >= len(e.VRFs) || e.VRFs[e.Ports[i].VRF] == nil {
			return errPortVRF
		}
		if e.Ports[i].MTU < 68 {
			return errPortMTU
		}
	}
	return nil
}

type envError string

func (e envError) Error() string { return string(e) }

// Errors returned by Env.Validate.
const (
	errPortCount = envError("pipeline: port count must be 1..64")
	errNoNeigh   = envError("pipeline: env has no neighbour cache")
	errPortVRF   = envError("pipeline: port refers to a missing VRF")
	errPortMTU   = envError("pipeline: port MTU below 68")
)
