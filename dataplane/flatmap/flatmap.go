// Package flatmap is the data plane's immutable hash map from uint64 keys
// to uint32 values: open addressing over two flat arrays, no Go map and no
// pointers per entry, so a lookup is a multiply, a shift and a short
// probe. The control plane builds one (New, Put) and publishes it; every
// worker reads it (Get) without a lock. It imports nothing.
package flatmap

// Map is built with New and Put, then only read. A nil Map is empty.
type Map struct {
	keys  []uint64
	vals  []uint32 // value+1; 0 marks an empty slot
	mask  uint64
	shift uint8 // 64 - log2(len(keys)): slot selects the product's top bits
	n     int
}

// New returns an empty map sized for n keys (a load of at most one half).
func New(n int) *Map {
	size, shift := 8, uint8(64-3)
	for size < 2*n {
		size <<= 1
		shift--
	}
	return &Map{keys: make([]uint64, size), vals: make([]uint32, size), mask: uint64(size - 1), shift: shift}
}

// slot is k's first slot: the top bits of k times 2^64/phi (Fibonacci
// hashing), one multiply where Mix64 takes two and three shifts; the top
// bits of the product depend on every bit of k, and keys that differ in
// few bits (addresses of one prefix, small integers) land far apart.
func (m *Map) slot(k uint64) uint64 { return k * 0x9e3779b97f4a7c15 >> m.shift }

// Mix64 is the map's hash (the murmur3 finalizer): every input bit moves
// every output bit. Callers use it to spread keys of their own too.
func Mix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

// Put inserts or replaces k. It reports whether k was new. Not for more
// keys than New was sized for, nor for the value math.MaxUint32: values
// are stored plus one, with 0 meaning an empty slot (every caller stores
// an index or a slot number).
func (m *Map) Put(k uint64, v uint32) bool {
	i := m.slot(k)
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

// Get returns k's value.
func (m *Map) Get(k uint64) (uint32, bool) {
	if m == nil || m.n == 0 {
		return 0, false
	}
	i := m.slot(k)
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

// Len is the number of keys.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return m.n
}
