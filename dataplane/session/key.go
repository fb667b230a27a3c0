package session

import (
	"encoding/binary"
	"math/bits"
)

// Family says how a Key's addresses are laid out. The table stores a key's
// addresses in their shortest exact form (see doc.go, "Memory layout").
type Family uint8

const (
	// FamilyIPv4: Src and Dst hold IPv4 addresses in their first 4 bytes;
	// the other 12 bytes are ignored.
	FamilyIPv4 Family = 1
	// FamilyNAT64: Src is a full IPv6 address (16 bytes), Dst holds in
	// its first 4 bytes the IPv4 address embedded in the RFC 6052
	// destination. This is the IPv6 side of a NAT64 session, (X',x) ->
	// (Y',y) of RFC 6146 3.5 with Y' = Pref64::Z stored as Z: the prefix
	// is configuration, not per-session state, and the NAT64 puts the
	// prefix's identity into Zone when it has several.
	FamilyNAT64 Family = 2
	// FamilyIPv6: both addresses are full IPv6 addresses. Such keys can be
	// hashed and looked up (always a miss) but not stored: a 48-byte entry
	// has no room for 64 bytes of addresses (see doc.go).
	FamilyIPv6 Family = 3
)

// Key identifies one direction of a flow. IPv4 addresses occupy the first
// 4 bytes of Src and Dst. Zone is the VRF/tenant (gateway) or the
// NAT64 instance/prefix identity; it separates overlapping address spaces.
// For ICMP query sessions the ports are the echo identifier (RFC 6146
// 3.5.3 keys ICMP by the identifier) and 0.
type Key struct {
	Src, Dst         [16]byte
	SrcPort, DstPort uint16
	Zone             uint16
	Proto            uint8
	Family           Family
}

// enc is a Key in the table's stored form: the meta word (zone, protocol,
// family, ports) and the address words. For FamilyIPv4, a is the source
// (32 bits) and b is 0; c is always the 32-bit destination. amask covers
// the bits of an entry's word 3 that hold a forward key's a (an IPv4
// forward key shares that word with the value).
type enc struct {
	meta  uint64
	a, b  uint64
	amask uint64
	c     uint32
	fam   Family
}

// The meta word's family byte. In an entry's reverse meta word (always
// IPv4) it holds instead the reverse key's address mode (see revMode).
const (
	famShift = 24
	famMask  = 0xff << famShift
)

// keyMeta is the meta word of k, assembled field by field. Reading the
// Key's last 8 bytes as one word (the meta word with its halves swapped)
// is 10 instructions fewer, but callers build their keys a field at a
// time just before (the pipeline's flowKey, nat64Out), and a load wider
// than the stores it overlaps cannot take their data from the store
// buffer: it stalls until they reach the cache (10-15 cycles, more than
// the instructions it saves). For the same reason prepare reads an IPv4
// source as 4 bytes, not as 8 masked.
func keyMeta(k *Key) uint64 {
	return uint64(k.Zone) | uint64(k.Proto)<<16 | uint64(k.Family)<<24 |
		uint64(k.SrcPort)<<32 | uint64(k.DstPort)<<48
}

// littleEndian: the machine stores the low half of a uint64 first (the
// word-wise bucket scans, table.go, need to know which slot is which).
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Reverse key address modes: a session's reverse key (an IPv4 tuple)
// shares one address with its forward key, because a NAT rewrites one side
// of a flow and the other side's address appears in both tuples: for NAT64
// and the gateway's SNAT the reply comes from the forward destination, for
// the gateway's DNAT it goes to the forward source, a NAT64 binding's two
// keys both have destination 0. The entry stores the reverse key's other
// address and two bits: which of the reverse addresses it is (modeSrcNew:
// the source; else the destination), and which forward address the shared
// one equals (modeFromSrc: the forward source, IPv4 forward keys only;
// else the forward destination). That saves 4 bytes and makes the entry
// 48 bytes (doc.go, "Memory layout").
const (
	modeSrcNew  = 1
	modeFromSrc = 2
)

// revMode finds how r shares an address with f; false if it does not.
func revMode(f, r *enc) (mode uint64, ok bool) {
	rs := uint32(r.a)
	switch {
	case rs == f.c:
		return 0, true
	case r.c == f.c:
		return modeSrcNew, true
	case f.fam == FamilyIPv4 && r.c == uint32(f.a):
		return modeSrcNew | modeFromSrc, true
	case f.fam == FamilyIPv4 && rs == uint32(f.a):
		return modeFromSrc, true
	}
	return 0, false
}

// revAddrs rebuilds the reverse key's source and destination from entry
// words 2 (reverse meta, mode in the family byte), 3 (forward source) and
// 5 (forward destination | the reverse key's own address).
func revAddrs(w2, w3, w5 uint64) (src, dst uint32) {
	m := w2 >> famShift
	shared, own := uint32(w5), uint32(w5>>32)
	if m&modeFromSrc != 0 {
		shared = uint32(w3)
	}
	if m&modeSrcNew != 0 {
		return own, shared
	}
	return shared, own
}

// setValue sets v to the value stored with a forward key of meta w1: in the upper
// half of word 3 and in word 4, which an IPv4 source leaves free; a
// FamilyNAT64 entry has no room for one (its value is zero).
func setValue(v *Value, w1, w3, w4 uint64) {
	// Element by element: a Value built and assigned whole goes through a
	// stack temporary on the lookup path.
	if Family(w1>>famShift) != FamilyIPv4 {
		v[0], v[1], v[2] = 0, 0, 0
		return
	}
	v[0], v[1], v[2] = uint32(w3>>32), uint32(w4), uint32(w4>>32)
}

// decode is the inverse of encodeHash's encoding. The meta word's fields
// are stored one by one: a Key is only 2-aligned, so one 8-byte store
// over its last five fields (tried: a few instructions per NAT64 hit)
// would be a misaligned pointer to the race detector's checkptr.
func decode(meta, a, b uint64, c uint32, k *Key) {
	k.Zone = uint16(meta)
	k.Proto = uint8(meta >> 16)
	k.Family = Family(meta >> 24)
	k.SrcPort = uint16(meta >> 32)
	k.DstPort = uint16(meta >> 48)
	binary.LittleEndian.PutUint64(k.Src[0:8], a)
	binary.LittleEndian.PutUint64(k.Src[8:16], b)
	binary.LittleEndian.PutUint64(k.Dst[0:8], uint64(c))
	binary.LittleEndian.PutUint64(k.Dst[8:16], 0)
}

// mum is the 64x64->128 multiply folded to 64 bits (wyhash's mixer): one
// MUL instruction, full avalanche of both operands into the result.
func mum(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

// hashSeeds are derived from Config.Seed; a per-table random seed keeps
// an outsider from aiming many flows at one bucket.
type hashSeeds [6]uint64

func newSeeds(seed uint64) hashSeeds {
	var s hashSeeds
	for i := range s {
		// splitmix64
		seed += 0x9e3779b97f4a7c15
		z := seed
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		s[i] = z ^ z>>31 | 1
	}
	return s
}

// hash of an encoded key: three multiplies, no allocation. The high 32
// bits choose the bucket, the low bits give the slot tag.
func (s *hashSeeds) hash(e *enc) uint64 {
	h1 := mum(e.meta^s[0], e.a^s[1])
	h2 := mum(e.b^s[2], uint64(e.c)^s[3])
	return mum(h1^s[4], h2^s[5])
}

// prepare puts k in its stored form with its hash into p, for table t
// (false, and p invalid, for a family the table cannot store).
func (t *Table) prepare(k *Key, p *Prepared) bool {
	h, ok := t.encodeHash(k, &p.x)
	if !ok {
		p.seed = 0
		return false
	}
	p.h, p.seed = h, t.seeds[0]
	return true
}

// encodeHash puts k in its stored form into x and returns its hash (false
// for a family the table cannot store): what every operation on a Key
// starts with, in one call that calls nothing (Go keeps no register
// across a call: separate encode and hash calls cost a third more).
// Lookups encode into a local enc, not a Prepared: batches of lookups
// (BenchmarkLookupBatch/plain-10M) ran 60% slower with a Prepared on the
// stack, and as slow with only 56 more bytes zeroed per lookup. Lookups
// of a large table are DRAM-bound and overlap their misses only as far
// as the core runs ahead of a stalled load; every store of the lookups
// in between takes a store-buffer entry that stays until that load
// retires, so a few more stores per lookup cut the overlap (a reading of
// the measurements: this VM has no performance counters to confirm it).
func (t *Table) encodeHash(k *Key, x *enc) (uint64, bool) {
	// Every load no wider than the stores that build a key (see
	// keyMeta): an IPv4 source is 4 bytes, a NAT64 source 16.
	var a, b, amask uint64
	switch k.Family {
	case FamilyIPv4:
		a, b, amask = uint64(binary.LittleEndian.Uint32(k.Src[0:4])), 0, 0xffffffff
	case FamilyNAT64:
		a, b, amask = binary.LittleEndian.Uint64(k.Src[0:8]), binary.LittleEndian.Uint64(k.Src[8:16]), ^uint64(0)
	default:
		return 0, false
	}
	c := binary.LittleEndian.Uint32(k.Dst[0:4])
	meta := keyMeta(k)
	// Field by field: a composite literal is built on the stack and
	// copied.
	x.meta, x.a, x.b, x.amask, x.c, x.fam = meta, a, b, amask, c, k.Family
	s := &t.seeds
	h1 := mum(meta^s[0], a^s[1])
	h2 := mum(b^s[2], uint64(c)^s[3])
	return mum(h1^s[4], h2^s[5]), true
}

// keyHash is k's hash (false for a family the table cannot store), all
// that Prefetch needs: prepare without the stored form (and without
// zeroing a Prepared for it), 15 instructions less.
func (t *Table) keyHash(k *Key) (uint64, bool) {
	var a, b uint64
	switch k.Family {
	case FamilyIPv4:
		a = uint64(binary.LittleEndian.Uint32(k.Src[0:4]))
	case FamilyNAT64:
		a, b = binary.LittleEndian.Uint64(k.Src[0:8]), binary.LittleEndian.Uint64(k.Src[8:16])
	default:
		return 0, false
	}
	s := &t.seeds
	h1 := mum(keyMeta(k)^s[0], a^s[1])
	h2 := mum(b^s[2], uint64(binary.LittleEndian.Uint32(k.Dst[0:4]))^s[3])
	return mum(h1^s[4], h2^s[5]), true
}
