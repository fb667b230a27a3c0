package compile

import (
	"fmt"

	"xdpgw/control/config"
	"xdpgw/dataplane/firewall"
	"xdpgw/dataplane/pipeline"
)

// gateway compiles the tenants, their EIPs and their firewalls.
func gateway(cfg *config.Config, vrfIndex map[string]uint16) (*pipeline.Gateway, error) {
	if len(cfg.Tenants) == 0 {
		return nil, nil
	}
	var tenants []pipeline.Tenant
	var eips []pipeline.EIP
	for ti, t := range cfg.Tenants {
		base := fmt.Sprintf("tenants[%d]", ti)
		vrf, ok := vrfIndex[t.VRF]
		if !ok {
			return nil, fmt.Errorf("compile: %s.vrf: no VRF %q", base, t.VRF)
		}
		pt := pipeline.Tenant{Name: t.Name, Key: t.Key(), VRF: vrf, Offload: t.Offload()}
		for _, a := range t.ParsedAddresses() {
			if a.Addr().Is4() && !pt.HasAddr4 {
				pt.Addr4, pt.HasAddr4 = a.Addr().As4(), true
			}
		}
		if fw := t.Firewall; fw != nil {
			var err error
			if pt.Ingress, err = ruleSet(fw.Ingress); err != nil {
				return nil, fmt.Errorf("compile: %s.firewall.ingress: %w", base, err)
			}
			if pt.Egress, err = ruleSet(fw.Egress); err != nil {
				return nil, fmt.Errorf("compile: %s.firewall.egress: %w", base, err)
			}
		}
		tenants = append(tenants, pt)
		for ei, e := range t.EIPs {
			a, p := e.ParsedEIP(), e.ParsedPrivate()
			if !a.Is4() || !p.Is4() {
				return nil, fmt.Errorf("compile: %s.eips[%d]: only IPv4 EIPs and private addresses are supported", base, ei)
			}
			eips = append(eips, pipeline.EIP{Addr: a.As4(), Tenant: uint16(ti), Private: p.As4()})
		}
	}
	gw, err := pipeline.NewGateway(tenants, eips, len(cfg.VRFs))
	if err != nil {
		return nil, fmt.Errorf("compile: tenants: %w", err)
	}
	return gw, nil
}

var actions = map[string]firewall.Action{
	config.ActionAccept: firewall.ActionAccept,
	config.ActionDrop:   firewall.ActionDrop,
	config.ActionReject: firewall.ActionReject,
}

// ruleSet compiles one configured rule set; nil (absent) accepts all.
func ruleSet(rs *config.RuleSet) (*firewall.RuleSet, error) {
	if rs == nil {
		return nil, nil
	}
	def, ok := actions[rs.Default]
	if !ok {
		return nil, fmt.Errorf("default: unknown action %q", rs.Default)
	}
	rules := make([]firewall.Rule, 0, len(rs.Rules))
	for i, r := range rs.Rules {
		a, ok := actions[r.Action]
		if !ok {
			return nil, fmt.Errorf("rules[%d].action: unknown action %q", i, r.Action)
		}
		fr := firewall.Rule{Name: r.Name, Action: a, Src: r.ParsedSrc(), Dst: r.ParsedDst(), ICMPTypes: r.ParsedICMPTypes()}
		fr.Proto, fr.AnyProto = r.ParsedProto()
		for _, pr := range r.ParsedSrcPorts() {
			fr.SrcPorts = append(fr.SrcPorts, firewall.PortRange{Lo: pr.Lo, Hi: pr.Hi})
		}
		for _, pr := range r.ParsedDstPorts() {
			fr.DstPorts = append(fr.DstPorts, firewall.PortRange{Lo: pr.Lo, Hi: pr.Hi})
		}
		fr.TCPFlagsWant, fr.TCPFlagsMask = r.ParsedTCPFlags()
		if fr.Name == "" {
			fr.Name = fmt.Sprintf("rule%d", i)
		}
		rules = append(rules, fr)
	}
	compiled, err := firewall.Compile(rules, def)
	if err != nil {
		return nil, err
	}
	return compiled, nil
}
