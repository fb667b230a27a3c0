// Package neigh is the data plane's neighbour table: (port, IP address) ->
// MAC address, read by every worker without locks.
//
// A Table is immutable once built: an open-addressing hash table in flat
// arrays (no Go pointers in the entries, no Go map), so a lookup is a hash
// and a short linear probe. The control plane builds a new Table when the
// kernel neighbour table or the static configuration changes and publishes
// it through a Cache (atomic.Pointer); workers load the pointer once per
// batch.
//
// This package must never import control/, fmt or any logging package.
package neigh

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"
)

// MAC is an Ethernet address. It has the same layout as packet.MAC so the
// pipeline converts between them for free.
type MAC = [6]byte

// Entry is one neighbour as the control plane sees it.
type Entry struct {
	Port uint16
	Addr netip.Addr // IPv4 or IPv6; IPv4-mapped IPv6 addresses are unmapped
	MAC  MAC
}

type slot struct {
	addr [16]byte
	port uint16
	v4   bool
	used bool
	mac  MAC
}

// Table is an immutable neighbour table. The zero value and nil are empty
// tables.
type Table struct {
	slots []slot
	mask  uint32
	n     int
}

// Build makes a Table from entries; a later entry for the same (port,
// address) replaces an earlier one.
func Build(entries []Entry) *Table {
	size := 8
	for size < 2*len(entries) {
		size <<= 1
	}
	t := &Table{slots: make([]slot, size), mask: uint32(size - 1)}
	for _, e := range entries {
		a := e.Addr.Unmap()
		if !a.IsValid() {
			continue
		}
		var key [16]byte
		v4 := a.Is4()
		if v4 {
			b := a.As4()
			copy(key[:], b[:])
		} else {
			key = a.As16()
		}
		t.insert(e.Port, key, v4, e.MAC)
	}
	return t
}

func (t *Table) insert(port uint16, key [16]byte, v4 bool, mac MAC) {
	i := hash(port, &key) & t.mask
	for {
		s := &t.slots[i]
		if !s.used {
			*s = slot{addr: key, port: port, v4: v4, used: true, mac: mac}
			t.n++
			return
		}
		if s.port == port && s.v4 == v4 && s.addr == key {
			s.mac = mac
			return
		}
		i = (i + 1) & t.mask
	}
}

// hash mixes the port and the address as two 64-bit words with
// multiply-xorshift steps: a few cycles, where a byte-wise hash cost more
// than the rest of forwarding a packet.
func hash(port uint16, a *[16]byte) uint32 {
	lo := binary.LittleEndian.Uint64(a[:8])
	hi := binary.LittleEndian.Uint64(a[8:])
	h := lo*0x9e3779b97f4a7c15 ^ hi*0xc2b2ae3d27d4eb4f ^ uint64(port)*0x165667b19e3779f9
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return uint32(h)
}

// Lookup4 returns the MAC of IPv4 neighbour a on port.
func (t *Table) Lookup4(port uint16, a [4]byte) (MAC, bool) {
	var key [16]byte
	copy(key[:4], a[:])
	return t.lookup(port, &key, true)
}

// Lookup6 returns the MAC of IPv6 neighbour a on port.
func (t *Table) Lookup6(port uint16, a [16]byte) (MAC, bool) {
	return t.lookup(port, &a, false)
}

func (t *Table) lookup(port uint16, key *[16]byte, v4 bool) (MAC, bool) {
	if t == nil || t.n == 0 {
		return MAC{}, false
	}
	i := hash(port, key) & t.mask
	for {
		s := &t.slots[i]
		if !s.used {
			return MAC{}, false
		}
		if s.port == port && s.v4 == v4 && s.addr == *key {
			return s.mac, true
		}
		i = (i + 1) & t.mask
	}
}

// Len is the number of entries.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// Entries lists the table (control plane and API use; allocates).
func (t *Table) Entries() []Entry {
	if t == nil {
		return nil
	}
	out := make([]Entry, 0, t.n)
	for _, s := range t.slots {
		if !s.used {
			continue
		}
		var a netip.Addr
		if s.v4 {
			a = netip.AddrFrom4([4]byte(s.addr[:4]))
		} else {
			a = netip.AddrFrom16(s.addr)
		}
		out = append(out, Entry{Port: s.port, Addr: a, MAC: s.mac})
	}
	return out
}

// Cache publishes Tables atomically to the workers.
type Cache struct {
	p atomic.Pointer[Table]
}

// Load returns the current table (never nil).
func (c *Cache) Load() *Table {
	if t := c.p.Load(); t != nil {
		return t
	}
	return &empty
}

// Publish replaces the current table.
func (c *Cache) Publish(t *Table) { c.p.Store(t) }

var empty Table
