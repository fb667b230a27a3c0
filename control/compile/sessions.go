package compile

import (
	"fmt"
	"time"

	"xdpgw/control/config"
	"xdpgw/dataplane/pipeline"
	"xdpgw/dataplane/session"
)

// NewSessions makes the session table the configuration asks for:
// sessions.capacity entries, the RFC 6146 timeouts of nat64.timeouts (or
// their defaults), eviction by sessions.evict. The table outlives reloads:
// the daemon makes it once and hands it to every Dataplane Env after.
// capacity, when non-zero, overrides the configured capacity (replay and
// tests use small tables).
func NewSessions(cfg *config.Config, capacity int) (*session.Table, error) {
	n := cfg.Sessions.Capacity
	if capacity > 0 {
		n = capacity
	}
	timeouts := session.DefaultTimeouts()
	if n := cfg; n.NAT64 != nil {
		udp, est, trans, icmp := cfg.NAT64.Timeouts.Durations()
		set := func(c session.Class, d time.Duration) {
			if d > 0 {
				timeouts[c] = d
			}
		}
		set(session.ClassUDP, udp)
		set(session.ClassTCPEstablished, est)
		set(session.ClassTCPTransitory, trans)
		set(session.ClassICMP, icmp)
		// Class 4: NAT64 fragment entries (pipeline.ClassFragment).
		frag := n.NAT64.Fragments.TimeoutDuration()
		if frag <= 0 {
			frag = 2 * time.Second
		}
		timeouts = append(timeouts, frag)
	} else {
		timeouts = append(timeouts, 2*time.Second)
	}
	policy := session.PolicyOldest
	if cfg.Sessions.DropNew() {
		policy = session.PolicyDropNew
	}
	t, err := session.New(session.Config{Capacity: n, Timeouts: timeouts, Policy: policy})
	if err != nil {
		return nil, fmt.Errorf("compile: sessions.capacity: %w", err)
	}
	return t, nil
}

// NewDataplane makes the data plane of rt with its session table
// (capacity sessions; 0: the configuration's), as replay and the tests
// run it.
func NewDataplane(rt *Runtime, capacity int) (*pipeline.Dataplane, error) {
	dp, err := pipeline.New(rt.Env)
	if err != nil {
		return nil, err
	}
	tab, err := NewSessions(rt.Config, capacity)
	if err != nil {
		return nil, err
	}
	dp.UseSessions(tab)
	return dp, nil
}
