package pipeline

// u64map is an immutable open-addressing hash map from uint64 keys to
// uint32 values in two flat arrays: no Go map and no pointers per entry, so
// a lookup is a multiply, a shift and a short probe. Built by the control
// plane, read by every worker.
type u64map struct {
	keys []uint64
	vals []uint32 // value+1; 0 marks an empty slot
	mask uint64
	n    int
}

func newU64Map(n int) *u64map {
	size := 8
	for size < 2*n {
		size <<= 1
	}
	return &u64map{keys: make([]uint64, size), vals: make([]uint32, size), mask: uint64(size - 1)}
}

func mix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

// put inserts or replaces k. It reports whether k was new.
func (m *u64map) put(k uint64, v uint32) bool {
	i := mix64(k) & m.mask
	for {
		if m.vals[i] == 0 {
			m.keys[i], m.vals[i] = k, v+1
			m.n++
			return true
		}
		if m.keys[i] == k {
			m.vals[i] = v + 1
			return false
		}
		i = (i + 1) & m.mask
	}
}

func (m *u64map) get(k uint64) (uint32, bool) {
	if m == nil || m.n == 0 {
		return 0, false
	}
	i := mix64(k) & m.mask
	for {
		v := m.vals[i]
		if v == 0 {
			return 0, false
		}
		if m.keys[i] == k {
			return v - 1, true
		}
		i = (i + 1) & m.mask
	}
}

func be32(a [4]byte) uint64 {
	return uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
}
