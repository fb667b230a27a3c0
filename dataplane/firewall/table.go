package firewall

import "sync/atomic"

// Table selects the rule set of a packet by (tenant, direction) in O(1):
// a flat array indexed by tenant*2 + direction, no map and no chain walk
// (background.md A: rule sets selected per tenant, not by walking them).
// Set publishes a rule set with one atomic store, so a reload never
// stops the workers; Get is one atomic load. A nil rule set accepts all.
type Table struct {
	sets []atomic.Pointer[RuleSet]
}

// NewTable returns a table for tenant indexes 0..tenants-1, all accepting.
func NewTable(tenants int) *Table {
	return &Table{sets: make([]atomic.Pointer[RuleSet], 2*tenants)}
}

// Tenants returns the number of tenant slots.
func (t *Table) Tenants() int { return len(t.sets) / 2 }

// Set publishes rs (nil: accept all) for the tenant and direction. It
// panics if tenant or d is out of range, as a slice index would.
func (t *Table) Set(tenant int, d Direction, rs *RuleSet) {
	t.sets[slot(tenant, d)].Store(rs)
}

// Get returns the rule set of the tenant and direction (nil: accept all).
// It panics if tenant or d is out of range.
func (t *Table) Get(tenant int, d Direction) *RuleSet {
	return t.sets[slot(tenant, d)].Load()
}

func slot(tenant int, d Direction) int {
	if d > Egress || tenant < 0 {
		panic("firewall: tenant or direction out of range")
	}
	return tenant*2 + int(d)
}
