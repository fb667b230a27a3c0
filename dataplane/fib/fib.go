package fib

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"unsafe"
)

// Encap is a route's GRE encapsulation (the route, not a device, holds
// tunnel attributes).
type Encap struct {
	Key      uint32
	HasKey   bool
	OuterSrc netip.Addr // may be invalid: the pipeline picks the port address
	OuterDst netip.Addr
}

// NextHop is what a route resolves to.
type NextHop struct {
	// Via is the next-hop address; invalid (zero) means directly connected:
	// the neighbour is the packet's destination.
	Via       netip.Addr
	Port      uint16 // output port index
	HasEncap  bool
	Encap     Encap
	Local     bool // destination is the box itself (an own address): deliver locally
	Blackhole bool // drop silently
	// HasNextVRF continues the lookup in VRF NextVRF (route leaking, e.g.
	// a tenant's default route into the main table). The pipeline follows
	// one such step and no more, so leaks cannot loop.
	HasNextVRF bool
	NextVRF    uint16
}

// Route is a prefix and its next hop.
type Route struct {
	Prefix  netip.Prefix
	NextHop NextHop
}

// Entry encoding shared by both families: a uint32 that is either a
// terminal (bit 31 clear: an index into Table.nhs, 0 meaning "no route")
// or a pointer (bit 31 set: the index of a child chunk or node).
const (
	ptrBit  = 1 << 31
	idxMask = ptrBit - 1
)

// Root sizes. A table whose family has at least bigRootMin routes gets a
// 16-bit first level (65536 entries, 256 KiB) and saves one memory read per
// lookup; smaller tables get an 8-bit first level (1 KiB). For IPv4 the
// 8-bit layout never needs more than 1 KiB more than the 16-bit one (the
// extra level holds at most 256 chunks that replace 255 KiB of root), so
// the threshold trades speed only, not memory.
const (
	bigRootMin = 1024
	smallRoot  = 256
	bigRoot    = 65536
)

// zeroRoot is the shared first level of a family without routes.
var zeroRoot [smallRoot]uint32

// Table is an immutable LPM table for IPv4 and IPv6 of one VRF. Safe for
// concurrent readers. Obtain one from Builder.Build; the zero Table is an
// empty table.
//
// IPv4 is a multibit trie of flat uint32 arrays: a first level indexed by
// the top 16 bits (8 for small tables), then 256-entry chunks for the next
// bytes, with prefix expansion, so a lookup is 1-3 array reads (1-4 for
// small tables). IPv6 is a trie of 8-bit strides below the same kind of
// first level, whose nodes are compressed: a 256-bit bitmap marks where a
// run of equal entries starts and a popcount finds the entry; a table with
// at most 16 IPv6 routes keeps them in a list, longest first, instead.
type Table struct {
	nhs []NextHop // deduplicated next hops; nhs[0] is unused ("no route")

	v4root   []uint32 // 65536 or 256 entries
	v4chunks []uint32 // 256-entry chunks, back to back
	v4big    bool

	v6root    []uint32 // 65536 or 256 entries
	v6nodes   []uint64 // 5 words per node: meta, bitmap[4]
	v6entries []uint32 // compressed node entries
	v6big     bool
	// v6lin holds the routes of a family with at most linear6Max IPv6
	// routes, longest first: a lookup compares them in order (a few
	// 128-bit masked compares) instead of descending up to 16 trie
	// levels. Appliance VRFs (the NAT64's IPv6 side, tenants) are that
	// small. nil for larger tables.
	v6lin []lin6

	// The route lists, sorted by address then length, kept for Len and
	// Routes; the lookup never touches them.
	r4 []route4
	r6 []route6
}

// route4 is an IPv4 route inside the builder and the table: key is
// addr<<8 | bits so that sorting by key sorts by address, then length.
type route4 struct {
	key uint64
	nh  uint32
}

func (r route4) addr() uint32 { return uint32(r.key >> 8) }
func (r route4) bits() int    { return int(r.key & 0xff) }

// route6 is an IPv6 route: the address as two big-endian halves.
type route6 struct {
	hi, lo uint64
	bits   uint8
	nh     uint32
}

// Lookup4 returns the next hop of the longest prefix that contains dst. The
// pointer refers into the table's immutable next-hop array: do not modify
// it. It does not allocate.
func (t *Table) Lookup4(dst [4]byte) (nh *NextHop, ok bool) {
	a := uint(dst[0])<<24 | uint(dst[1])<<16 | uint(dst[2])<<8 | uint(dst[3])
	var e uint32
	if t.v4big {
		// Branch-free descent (last16), so that the CPU keeps many
		// lookups in flight.
		e = last16(t.v4chunks, (*[bigRoot]uint32)(t.v4root)[a>>16], a)
	} else {
		root := t.v4root
		if len(root) < smallRoot {
			return nil, false // zero Table
		}
		e = (*[smallRoot]uint32)(root)[a>>24]
		if e&ptrBit != 0 {
			// At most three more levels, unrolled and branch-free as
			// above once the root has named a chunk (a table without
			// IPv4 routes has no chunks, not even the dummy).
			c := t.v4chunks
			e = last16(c, c[uint(e&idxMask)<<8|(a>>16)&0xff], a)
		}
	}
	if e == 0 {
		return nil, false
	}
	return &t.nhs[e], true
}

// last16 descends from entry e (a pointer to the chunk of a's bits 8-15,
// or a terminal) through the last two levels of address a, branch-free:
// a terminal selects chunk 0, a dummy, so no branch depends on a load
// that may miss the cache. m is all ones when e is a pointer (bit 31
// sign-extended), else zero.
func last16(c []uint32, e uint32, a uint) uint32 {
	m := uint(int32(e) >> 31)
	e2 := c[(uint(e&idxMask)&m)<<8|(a>>8)&0xff]
	e ^= (e ^ e2) & uint32(m)
	m = uint(int32(e) >> 31)
	e3 := c[(uint(e&idxMask)&m)<<8|a&0xff]
	return e ^ (e^e3)&uint32(m)
}

// Lookup6 returns the next hop of the longest prefix that contains dst. The
// pointer refers into the table's immutable next-hop array: do not modify
// it. It does not allocate.
func (t *Table) Lookup6(dst [16]byte) (nh *NextHop, ok bool) {
	if lin := t.v6lin; lin != nil {
		hi := binary.BigEndian.Uint64(dst[:8])
		lo := binary.BigEndian.Uint64(dst[8:])
		for i := range lin {
			r := &lin[i]
			if hi&r.mhi == r.hi && lo&r.mlo == r.lo {
				return &t.nhs[r.nh], true
			}
		}
		return nil, false
	}
	var e uint32
	var k uint
	if t.v6big {
		e = (*[bigRoot]uint32)(t.v6root)[uint(dst[0])<<8|uint(dst[1])]
		k = 2
	} else {
		root := t.v6root
		if len(root) < smallRoot {
			return nil, false // zero Table
		}
		e = (*[smallRoot]uint32)(root)[dst[0]]
		k = 1
	}
	if e&ptrBit != 0 {
		nodes, ents := t.v6nodes, t.v6entries
		for e&ptrBit != 0 {
			// A trie never descends past the last byte (a /128 ends
			// there), so k&15 only removes the bounds check.
			b := uint(dst[k&15])
			k++
			i := uint(e&idxMask) * 5
			n := nodes[i : i+5 : i+5]
			meta := n[0]
			w := b >> 6
			bm := n[1+w&3]
			cnt := uint(bits.OnesCount64(bm & (2<<(b&63) - 1)))
			cum := uint(byte(meta >> (32 + 8*w)))
			e = ents[uint(uint32(meta))+cum+cnt-1]
		}
	}
	if e == 0 {
		return nil, false
	}
	return &t.nhs[e], true
}

// Len returns the number of routes.
func (t *Table) Len() int { return len(t.r4) + len(t.r6) }

// Len4 returns the number of IPv4 routes.
func (t *Table) Len4() int { return len(t.r4) }

// Len6 returns the number of IPv6 routes.
func (t *Table) Len6() int { return len(t.r6) }

// NextHops returns the number of distinct next hops the table holds.
func (t *Table) NextHops() int {
	if len(t.nhs) == 0 {
		return 0
	}
	return len(t.nhs) - 1
}

// Routes returns a copy of the routes, IPv4 first, each family sorted by
// address, then prefix length. It allocates: control plane use only.
func (t *Table) Routes() []Route {
	out := make([]Route, 0, t.Len())
	for _, r := range t.r4 {
		a := r.addr()
		addr := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
		out = append(out, Route{Prefix: netip.PrefixFrom(addr, r.bits()), NextHop: t.nhs[r.nh]})
	}
	for _, r := range t.r6 {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], r.hi)
		binary.BigEndian.PutUint64(b[8:], r.lo)
		out = append(out, Route{Prefix: netip.PrefixFrom(netip.AddrFrom16(b), int(r.bits)), NextHop: t.nhs[r.nh]})
	}
	return out
}

// MemoryBytes returns the bytes held by the lookup structures: both tries
// and the next-hop array. The route lists kept for Routes (16 bytes per
// IPv4 route, 32 per IPv6 route) are not counted; a first level shared by
// all tables without routes of a family is not counted either.
func (t *Table) MemoryBytes() int {
	n := len(t.nhs) * int(unsafe.Sizeof(NextHop{}))
	if !sharedRoot(t.v4root) {
		n += 4 * len(t.v4root)
	}
	if !sharedRoot(t.v6root) {
		n += 4 * len(t.v6root)
	}
	n += 4*len(t.v4chunks) + 8*len(t.v6nodes) + 4*len(t.v6entries)
	n += len(t.v6lin) * int(unsafe.Sizeof(lin6{}))
	return n
}

// RouteListBytes returns the bytes of the route lists kept for Len and
// Routes (not part of MemoryBytes).
func (t *Table) RouteListBytes() int {
	return len(t.r4)*int(unsafe.Sizeof(route4{})) + len(t.r6)*int(unsafe.Sizeof(route6{}))
}

func sharedRoot(r []uint32) bool { return len(r) > 0 && &r[0] == &zeroRoot[0] }

// batchLanes is how many IPv4 lookups Lookup4Batch keeps in flight: each
// level's loads are issued for all lanes before the next level, so the
// cache misses of independent lookups overlap instead of queueing.
const batchLanes = 8

// Lookup4Batch looks up every address of dst and stores its next hop (nil
// when no route matches) in nh, which must be at least as long as dst.
// It gives the same answers as Lookup4; on large tables, where a lookup is
// two cache misses, it is faster because the misses overlap. It does not
// allocate.
func (t *Table) Lookup4Batch(dst [][4]byte, nh []*NextHop) {
	_ = nh[:len(dst)]
	if !t.v4big {
		for i, d := range dst {
			nh[i], _ = t.Lookup4(d)
		}
		return
	}
	root := (*[bigRoot]uint32)(t.v4root)
	c := t.v4chunks
	for base := 0; base < len(dst); base += batchLanes {
		n := min(batchLanes, len(dst)-base)
		var a [batchLanes]uint
		var e [batchLanes]uint32
		for i := 0; i < n; i++ {
			d := dst[base+i]
			a[i] = uint(d[0])<<24 | uint(d[1])<<16 | uint(d[2])<<8 | uint(d[3])
			e[i] = root[a[i]>>16]
		}
		for i := 0; i < n; i++ {
			m := uint(int32(e[i]) >> 31)
			e2 := c[(uint(e[i]&idxMask)&m)<<8|(a[i]>>8)&0xff]
			e[i] ^= (e[i] ^ e2) & uint32(m)
		}
		for i := 0; i < n; i++ {
			m := uint(int32(e[i]) >> 31)
			e3 := c[(uint(e[i]&idxMask)&m)<<8|a[i]&0xff]
			e[i] ^= (e[i] ^ e3) & uint32(m)
		}
		for i := 0; i < n; i++ {
			if e[i] == 0 {
				nh[base+i] = nil
			} else {
				nh[base+i] = &t.nhs[e[i]]
			}
		}
	}
}
