package session

import "reflect"

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
	var x enc
	encode(k, &x)
	h := t.seeds.hash(&x)
	var idx [evictSample]uint32
	var w0s [evictSample]uint64
	n := t.sample(t.home(h), evictOffset(h), &idx, &w0s)
	return idx[:n]
}
