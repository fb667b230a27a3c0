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

// Candidates are the entry indices referenced from the home bucket of k:
// the sessions PolicyOldest chooses among when k's session finds no room.
func Candidates(t *Table, k *Key) []uint32 {
	var x enc
	encode(k, &x)
	bk := &t.index[t.home(t.seeds.hash(&x))]
	var out []uint32
	for s := 0; s < slotsUsed; s++ {
		if v := bk[s]; v != 0 {
			out = append(out, t.slotIndex(v))
		}
	}
	return out
}
