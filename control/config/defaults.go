package config

// Default values, applied by SetDefaults before validation. docs/config.md
// lists them too; keep both in step.
const (
	DefaultVRF              = "main"
	DefaultMTU              = 1500
	DefaultQueues           = 1
	DefaultRuleSetPolicy    = ActionAccept
	DefaultEncapType        = EncapGRE
	DefaultPoolPorts        = "1024-65535"
	DefaultFiltering        = FilteringEndpointIndependent
	DefaultUDPTimeout       = "5m"   // RFC 6146 section 4, UDP_MIN is 2m; 5m recommended
	DefaultTCPEstablished   = "2h4m" // RFC 6146 section 4, TCP_EST
	DefaultTCPTransitory    = "4m"   // RFC 6146 section 4, TCP_TRANS
	DefaultICMPTimeout      = "60s"  // RFC 6146 section 4, ICMP_DEFAULT
	DefaultSYNLimit         = 50000
	DefaultFragmentsPending = 4096
	DefaultFragmentsTimeout = "2s"
	DefaultMaglevTableSize  = 65537
	DefaultBGPListen        = "0.0.0.0:179"
	DefaultSessionCapacity  = 1 << 20
	DefaultEvict            = EvictOldest
	DefaultAPISocket        = "/run/xdpgw.sock"
)

// SetDefaults fills every field left empty with its default value and adds
// the VRF "main" if it is missing. Parse calls it before Validate; call it
// on a Config built in Go before Validate. It is idempotent.
//
// Two defaults depend on whether the key was written in the file (known
// only for a parsed Config): an explicit `nat64.syn_limit.default: 0`
// turns the SYN limit off, while an absent one means 50000.
func (c *Config) SetDefaults() {
	for i := range c.Ports {
		p := &c.Ports[i]
		if p.Interface == "" {
			p.Interface = p.Name
		}
		if p.VRF == "" {
			p.VRF = DefaultVRF
		}
		if p.MTU == 0 {
			p.MTU = DefaultMTU
		}
		if p.Queues == 0 {
			p.Queues = DefaultQueues
		}
	}
	hasMain := false
	for i := range c.VRFs {
		if c.VRFs[i].Name == DefaultVRF {
			hasMain = true
		}
		for j := range c.VRFs[i].Routes {
			if e := c.VRFs[i].Routes[j].Encap; e != nil && e.Type == "" {
				e.Type = DefaultEncapType
			}
		}
	}
	if !hasMain {
		c.VRFs = append(c.VRFs, VRF{Name: DefaultVRF})
	}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		if t.VRF == "" {
			t.VRF = t.Name
		}
		if t.FlowOffload == nil {
			t.FlowOffload = ptr(true)
		}
		if t.Firewall != nil {
			for _, rs := range []*RuleSet{t.Firewall.Ingress, t.Firewall.Egress} {
				if rs != nil && rs.Default == "" {
					rs.Default = DefaultRuleSetPolicy
				}
			}
		}
	}
	if n := c.NAT64; n != nil {
		for i := range n.Pools {
			if n.Pools[i].Ports == "" {
				n.Pools[i].Ports = DefaultPoolPorts
			}
		}
		if n.Filtering == "" {
			n.Filtering = DefaultFiltering
		}
		setString(&n.Timeouts.UDP, DefaultUDPTimeout)
		setString(&n.Timeouts.TCPEstablished, DefaultTCPEstablished)
		setString(&n.Timeouts.TCPTransitory, DefaultTCPTransitory)
		setString(&n.Timeouts.ICMP, DefaultICMPTimeout)
		if n.SYNLimit.Default == 0 && !c.written("nat64.syn_limit.default") {
			n.SYNLimit.Default = DefaultSYNLimit
		}
		if n.Hairpin == nil {
			n.Hairpin = ptr(true)
		}
		if n.Fragments.MaxPending == 0 {
			n.Fragments.MaxPending = DefaultFragmentsPending
		}
		setString(&n.Fragments.Timeout, DefaultFragmentsTimeout)
	}
	if a := c.Access; a != nil && a.TableSize == 0 {
		a.TableSize = DefaultMaglevTableSize
	}
	if b := c.BGP; b != nil && b.Listen == "" {
		b.Listen = DefaultBGPListen
	}
	if c.Sessions.Capacity == 0 {
		c.Sessions.Capacity = DefaultSessionCapacity
	}
	setString(&c.Sessions.Evict, DefaultEvict)
	setString(&c.API.Socket, DefaultAPISocket)
}

func setString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func ptr[T any](v T) *T { return &v }

// written reports whether path had a non-null value in the parsed file.
func (c *Config) written(path string) bool {
	if c.meta == nil {
		return false
	}
	_, ok := c.meta.pos[path]
	return ok && !c.meta.null[path]
}
