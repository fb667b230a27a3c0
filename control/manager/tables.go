package manager

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"time"
)

// Snapshot is the manager's state as the API shows it: per VIP its
// backends (next-hop MAC, address, BGP peer) and how many Maglev entries
// each holds, the learned pool routes, and counters. It is immutable.
type Snapshot struct {
	Target    string      `json:"target"`
	Connected bool        `json:"connected"`
	Mode      string      `json:"mode"`
	TableSize int         `json:"table_size"`
	VIPs      []VIPState  `json:"vips"`
	Pools     []PoolState `json:"pools"`
	Stats     Stats       `json:"stats"`
}

// VIPState is one VIP's table.
type VIPState struct {
	VIP      netip.Addr     `json:"vip"`
	EIPs     []netip.Addr   `json:"eips"`
	Backends []BackendState `json:"backends"`
	// Entries with a backend: 0 when no server announces the VIP (its
	// traffic is dropped by the access tier, access_no_nexthop).
	Entries int `json:"entries"`
	// Unresolved next hops (no MAC yet), left out of the table.
	Unresolved int `json:"unresolved"`
	// The last change written: when, how many entries it changed, and the
	// time from the watch's delivery to the write's completion.
	Updated     time.Time `json:"updated,omitzero"`
	LastChanged int       `json:"last_changed"`
	LastDelayMS float64   `json:"last_delay_ms"`
}

// BackendState is one NAT64 server of a VIP.
type BackendState struct {
	MAC     string     `json:"mac"`
	NextHop netip.Addr `json:"next_hop,omitzero"`
	Peer    netip.Addr `json:"peer,omitzero"`
	Entries int        `json:"entries"`
}

// PoolState is one learned pool route.
type PoolState struct {
	Prefix    netip.Prefix `json:"prefix"`
	MAC       string       `json:"mac"`
	NextHop   netip.Addr   `json:"next_hop"`
	Withdrawn bool         `json:"withdrawn"`
}

// Stats are raw counters since start.
type Stats struct {
	Deliveries     uint64 `json:"deliveries"`      // states the watch delivered
	Applied        uint64 `json:"applied"`         // states applied (after coalescing)
	Coalesced      uint64 `json:"coalesced"`       // states replaced by a later one before being applied
	TableWrites    uint64 `json:"table_writes"`    // VIP table changes written
	EntriesChanged uint64 `json:"entries_changed"` // Maglev entries those changes rewrote
	PoolWrites     uint64 `json:"pool_writes"`
	WriteErrors    uint64 `json:"write_errors"`
	Syncs          uint64 `json:"syncs"` // reconciliations (start, periodic, after errors or a target restart)
	SyncErrors     uint64 `json:"sync_errors"`
	Unresolved     uint64 `json:"unresolved"` // next hops delivered without a MAC
	Refused        uint64 `json:"refused"`    // tables that could not be computed
	// EntriesWritten is the P4Runtime client's count of accepted updates
	// (every table, reconciliations included).
	EntriesWritten uint64  `json:"entries_written"`
	LastDelayMS    float64 `json:"last_delay_ms"` // watch delivery to write completion
	MaxDelayMS     float64 `json:"max_delay_ms"`
}

// publish makes a new snapshot of the owner's state. Run's goroutine only
// (and New, before Run).
func (m *Manager) publish() {
	s := &Snapshot{Target: m.cfg.Target.Address, Mode: m.mode().String(), TableSize: m.cfg.TableSize}
	for _, v := range m.cfg.VIPs {
		st := m.vips[v.Addr]
		vs := VIPState{VIP: v.Addr, EIPs: slices.Clone(v.EIPs), Unresolved: st.unresolved,
			Updated: st.updated, LastChanged: st.changed, LastDelayMS: ms(st.delay)}
		counts := st.table.Counts()
		for i, b := range st.table.Backends {
			bs := BackendState{MAC: b.Name, Entries: counts[i]}
			for _, h := range st.hops {
				if h.MAC.String() == b.Name {
					bs.NextHop, bs.Peer = h.Addr, h.Peer
				}
			}
			vs.Entries += counts[i]
			vs.Backends = append(vs.Backends, bs)
		}
		s.VIPs = append(s.VIPs, vs)
	}
	for p, st := range m.pools {
		s.Pools = append(s.Pools, PoolState{Prefix: p, MAC: st.mac.String(), NextHop: st.hop, Withdrawn: st.withdrawn})
	}
	slices.SortFunc(s.Pools, func(a, b PoolState) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) })
	m.snap.Store(s)
}

// Tables returns the current snapshot with fresh counters.
func (m *Manager) Tables() *Snapshot {
	s := *m.snap.Load()
	c := &m.c
	s.Stats = Stats{
		Deliveries: c.deliveries.Load(), Applied: c.applied.Load(), Coalesced: c.coalesced.Load(),
		TableWrites: c.tableWrites.Load(), EntriesChanged: c.entriesChanged.Load(), PoolWrites: c.poolWrites.Load(),
		WriteErrors: c.writeErrors.Load(), Syncs: c.syncs.Load(), SyncErrors: c.syncErrors.Load(),
		Unresolved: c.unresolved.Load(), Refused: c.refused.Load(),
		LastDelayMS: ms(time.Duration(c.lastDelay.Load())), MaxDelayMS: ms(time.Duration(c.maxDelay.Load())),
	}
	if cl := m.client.Load(); cl != nil {
		s.Connected = cl.Connected() && cl.Primary()
		s.Stats.EntriesWritten = cl.Metrics.EntriesWritten.Load()
	}
	return &s
}

// ServeHTTP answers GET with the snapshot as JSON (docs/scaleout.md).
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(m.Tables())
}
