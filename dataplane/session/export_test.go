package session

import (
	"reflect"
	"unsafe"
)

// ArrayTypes are the element types of the table's large arrays, for the
// test that they hold no pointers.
func ArrayTypes(t *Table) []reflect.Type {
	return []reflect.Type{reflect.TypeOf(t.entries).Elem(), reflect.TypeOf(t.index).Elem()}
}

// Buckets is the number of index buckets.
func Buckets(t *Table) int { return int(t.nb) }

// OverflowSum is the sum of the index's overflow counts (0 once every
// session is gone).
func OverflowSum(t *Table) uint64 {
	var s uint64
	for i := range t.index {
		s += uint64(t.index[i][ovfSlot])
	}
	return s
}

// UsedSlots counts the index slots in use (2 per session).
func UsedSlots(t *Table) int {
	n := 0
	for i := range t.index {
		for s := 0; s < slotsUsed; s++ {
			if t.index[i][s] != 0 {
				n++
			}
		}
	}
	return n
}

// EvictionSample are the entry indices eviction compares for a new key k
// whose home bucket has candidates.
func EvictionSample(t *Table, k *Key) []uint32 {
	var p Prepared
	t.prepare(k, &p)
	h := p.h
	var idx [evictSample]uint32
	var w0s [evictSample]uint64
	n := t.sample(t.home(h), evictOffset(h), &idx, &w0s)
	return idx[:n]
}

// TagCandidates runs the table's word-wise tag scan on a bucket holding
// words (slots 0-14, overflow count in 15), and returns its candidate
// mask and the table's tag mask.
func TagCandidates(t *Table, words [bucketSlots]uint32, tag uint32) (cand, tagMask uint32) {
	// A bucket in the index's layout: 64-byte aligned.
	buf := alignWords(bucketSlots/2, 64)
	bk := (*bucket)(unsafe.Pointer(&buf[0]))
	*bk = words
	return t.tagCandidates(bk, tag), t.tagMask
}

// KeyHash is the hash Prefetch computes for k, and the one prepare does.
func KeyHash(t *Table, k *Key) (h uint64, ok bool, prepared uint64, pok bool) {
	var p Prepared
	pok = t.prepare(k, &p)
	h, ok = t.keyHash(k)
	return h, ok, p.h, pok
}

// NextTag runs find's slot scan on a bucket holding words from slot s on.
func NextTag(words [bucketSlots]uint32, s int, tag, mask uint32) int {
	buf := alignWords(bucketSlots/2, 64)
	bk := (*bucket)(unsafe.Pointer(&buf[0]))
	*bk = words
	return nextTag(bk, s, tag, mask)
}
