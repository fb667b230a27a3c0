package access

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"xdpgw/dataplane/flatmap"
)

// MaxPorts bounds the output port a table entry may name; it matches the
// pipeline's port index bound.
const MaxPorts = 64

// NoSlot marks an entry without a counter or meter slot.
const NoSlot = ^uint32(0)

// macValid marks a set MAC in a packed uint64 (MAC in the low 48 bits).
const macValid = 1 << 48

// PackMAC packs a MAC for a Maglev entry: the low 48 bits hold it and bit
// 48 says the entry is set. Zero is an empty entry (P4: maglev_miss).
func PackMAC(m [6]byte) uint64 {
	return macValid | uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 |
		uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

// UnpackMAC is the inverse of PackMAC; ok is false for an empty entry.
func UnpackMAC(v uint64) (m [6]byte, ok bool) {
	for i := range 6 {
		m[i] = byte(v >> (40 - 8*i))
	}
	return m, v&macValid != 0
}

// EIPEntry is an eip_to_vip entry: set_vip(vip, port).
type EIPEntry struct {
	EIP  [4]byte
	VIP  [4]byte
	Port uint16
	// Slot indexes the Target's per-EIP counters (eip_packets); NoSlot
	// for none.
	Slot uint32
	vip  int32 // index into Tables.maglev, -1 when the VIP has no table
}

// PoolEntry is a pool_route entry: set_pool_nexthop(dmac, port).
type PoolEntry struct {
	Prefix netip.Prefix // IPv4, masked
	DMAC   [6]byte
	Port   uint16
}

// Tables is one immutable snapshot of the access tables. Build it with a
// Builder; never change it after Target.Publish.
type Tables struct {
	maglevSize uint32
	prefixes   [][12]byte   // nat64_prefix: the /96s, few
	eipIndex   *flatmap.Map // EIP -> index into eips
	eips       []EIPEntry
	syn        *flatmap.Map // eip<<1 | direction -> meter slot
	vipIndex   *flatmap.Map // VIP -> index into maglev
	vips       [][4]byte
	maglev     [][]uint64   // per VIP: maglevSize packed MACs
	poolLens   []uint8      // distinct prefix lengths, longest first
	poolIndex  *flatmap.Map // len<<32 | masked address -> index into pools
	pools      []PoolEntry
	smac       [MaxPorts]uint64 // port_smac, packed; 0 = no entry
}

// MaglevSize returns the number of entries per VIP.
func (t *Tables) MaglevSize() int { return int(t.maglevSize) }

// Builder collects entries for a new Tables.
type Builder struct {
	size     uint32
	prefixes [][12]byte
	eips     []EIPEntry
	syn      map[uint64]uint32
	maglev   map[[4]byte][]uint64
	pools    []PoolEntry
	smac     [MaxPorts]uint64
}

// Errors of the Builder.
var (
	ErrMaglevSize  = errors.New("maglev table has the wrong size")
	ErrPort        = errors.New("port out of range")
	ErrPoolPrefix  = errors.New("pool prefix is not IPv4")
	ErrBadMaglevSz = errors.New("maglev size must be at least 1")
)

// NewBuilder starts tables whose Maglev tables have size entries per VIP
// (p4.MaglevSize on a Tofino built from access.p4).
func NewBuilder(size int) (*Builder, error) {
	if size < 1 || size > 1<<30 {
		return nil, ErrBadMaglevSz
	}
	return &Builder{size: uint32(size), syn: map[uint64]uint32{}, maglev: map[[4]byte][]uint64{}}, nil
}

// AddPrefix adds a NAT64 /96 (its first 12 bytes).
func (b *Builder) AddPrefix(p [12]byte) {
	if !slices.Contains(b.prefixes, p) {
		b.prefixes = append(b.prefixes, p)
	}
}

// AddEIP adds an eip_to_vip entry; a later entry for the same EIP wins.
func (b *Builder) AddEIP(e EIPEntry) error {
	if e.Port >= MaxPorts {
		return ErrPort
	}
	b.eips = append(b.eips, e)
	return nil
}

// AddSYNMeter adds a syn_meter entry for (eip, dir) metered by the
// Target's meter slot.
func (b *Builder) AddSYNMeter(eip [4]byte, dir uint8, slot uint32) {
	b.syn[synKey(be32(eip), dir)] = slot
}

// SetMaglev sets the Maglev table of a VIP: size packed MACs (PackMAC; 0
// for an entry not written). The slice is kept, not copied: the caller
// must not change it afterwards.
func (b *Builder) SetMaglev(vip [4]byte, entries []uint64) error {
	if len(entries) != int(b.size) {
		return ErrMaglevSize
	}
	b.maglev[vip] = entries
	return nil
}

// AddPool adds a pool_route entry.
func (b *Builder) AddPool(p PoolEntry) error {
	if !p.Prefix.Addr().Is4() {
		return ErrPoolPrefix
	}
	if p.Port >= MaxPorts {
		return ErrPort
	}
	p.Prefix = p.Prefix.Masked()
	b.pools = append(b.pools, p)
	return nil
}

// SetSMAC sets the port_smac entry of a port.
func (b *Builder) SetSMAC(port uint16, mac [6]byte) error {
	if port >= MaxPorts {
		return ErrPort
	}
	b.smac[port] = PackMAC(mac)
	return nil
}

// Build returns the snapshot. The Builder must not be used afterwards.
func (b *Builder) Build() *Tables {
	t := &Tables{maglevSize: b.size, prefixes: b.prefixes, smac: b.smac}
	t.vipIndex = flatmap.New(len(b.maglev))
	for vip, e := range b.maglev {
		t.vipIndex.Put(uint64(be32(vip)), uint32(len(t.maglev)))
		t.vips = append(t.vips, vip)
		t.maglev = append(t.maglev, e)
	}
	t.eipIndex = flatmap.New(len(b.eips))
	for _, e := range b.eips {
		e.vip = -1
		if i, ok := t.vipIndex.Get(uint64(be32(e.VIP))); ok {
			e.vip = int32(i)
		}
		k := uint64(be32(e.EIP))
		if i, ok := t.eipIndex.Get(k); ok {
			t.eips[i] = e
			continue
		}
		t.eipIndex.Put(k, uint32(len(t.eips)))
		t.eips = append(t.eips, e)
	}
	t.syn = flatmap.New(len(b.syn))
	for k, v := range b.syn {
		t.syn.Put(k, v)
	}
	t.poolIndex = flatmap.New(len(b.pools))
	for _, p := range b.pools {
		l := uint8(p.Prefix.Bits())
		k := poolKey(be32(p.Prefix.Addr().As4()), l)
		if i, ok := t.poolIndex.Get(k); ok {
			t.pools[i] = p
			continue
		}
		t.poolIndex.Put(k, uint32(len(t.pools)))
		t.pools = append(t.pools, p)
		if !slices.Contains(t.poolLens, l) {
			t.poolLens = append(t.poolLens, l)
		}
	}
	slices.SortFunc(t.poolLens, func(a, b uint8) int { return int(b) - int(a) })
	return t
}

func be32(a [4]byte) uint32 { return binary.BigEndian.Uint32(a[:]) }

func synKey(eip uint32, dir uint8) uint64 { return uint64(eip)<<1 | uint64(dir&1) }

func poolKey(addr uint32, l uint8) uint64 {
	return uint64(l)<<32 | uint64(addr&prefixMask(l))
}

func prefixMask(l uint8) uint32 {
	if l == 0 {
		return 0
	}
	return ^uint32(0) << (32 - uint32(l))
}

// Lookups, used per packet and by tests.

func (t *Tables) isPrefix(dst *[16]byte) bool {
	for i := range t.prefixes {
		if [12]byte(dst[:12]) == t.prefixes[i] {
			return true
		}
	}
	return false
}

func (t *Tables) eip(eip uint32) (*EIPEntry, bool) {
	i, ok := t.eipIndex.Get(uint64(eip))
	if !ok {
		return nil, false
	}
	return &t.eips[i], true
}

func (t *Tables) pool(dst uint32) (*PoolEntry, bool) {
	for _, l := range t.poolLens {
		if i, ok := t.poolIndex.Get(poolKey(dst, l)); ok {
			return &t.pools[i], true
		}
	}
	return nil, false
}

// Backend returns the next-hop MAC that maglev[(vip, index)] holds.
func (t *Tables) Backend(vip [4]byte, index uint32) ([6]byte, bool) {
	i, ok := t.vipIndex.Get(uint64(be32(vip)))
	if !ok || index >= t.maglevSize {
		return [6]byte{}, false
	}
	return UnpackMAC(t.maglev[i][index])
}

// EIPs returns the number of eip_to_vip entries.
func (t *Tables) EIPs() int { return len(t.eips) }

// VIPs returns the number of VIPs with a Maglev table.
func (t *Tables) VIPs() int { return len(t.vips) }
