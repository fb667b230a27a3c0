// Package fib is the forwarding information base of the data plane:
// longest-prefix match for IPv4 and IPv6, one table per VRF, routes that
// carry next hop, output port and optional GRE encapsulation.
//
// It owns: the immutable lookup Table, the Builder that produces tables
// from routes, the VRF that publishes a table atomically, and the Set of
// VRFs indexed by ID. It does not own route selection between protocols
// (the control plane decides which route wins and feeds the Builder) nor
// neighbour resolution (dataplane/neigh).
//
// It must never import anything under control/, fmt, log or log/slog:
// Lookup4 and Lookup6 run per packet and do no allocation, take no lock,
// make no interface call, use no map and format nothing. The package
// imports only the standard library (errors, strconv, slices, math/bits,
// encoding/binary, net/netip, sync/atomic, syscall, unsafe).
//
// # Concurrency
//
// A Table never changes after Build returns. VRF.Publish stores a new table
// with one atomic pointer store; a worker loads it with VRF.Table (one
// atomic load), ideally once per batch, and keeps using the table it
// loaded. A reader therefore never sees a half-built table, and an old
// table lives until the last reader drops it (the GC frees it).
//
// # Data structures
//
// Next hops are deduplicated into one array per table (index 0 means "no
// route"); the tries store uint32 entries, so the lookup structures hold no
// Go pointers (nothing for the GC to scan) and Lookup returns a pointer
// into the immutable next-hop array. An entry with bit 31 set is the index
// of a child; otherwise it is a next-hop index.
//
// IPv4 is a DIR-16-8-8 multibit trie with prefix expansion: a 65536-entry
// first level indexed by the top 16 bits, then 256-entry chunks for the
// third and the fourth byte, allocated only where a longer prefix needs
// them, all in flat []uint32 arrays. A lookup is at most three array
// reads, and it is branch-free: a terminal entry selects a dummy chunk 0
// through a mask instead of a branch, so no branch depends on a load that
// may miss the cache and the CPU keeps many independent lookups in flight
// (measured +20% lookups/s against the branchy form on 1M routes).
//
// IPv6 is a multibit trie of 8-bit strides under the same kind of first
// level (16 bits), so at most 15 levels. Its nodes are compressed, since
// IPv6 more-specifics are sparse and a 1 KiB chunk per level would cost
// kilobytes per /48: a node is five words, a 256-bit bitmap marking where a
// run of equal entries starts plus the base of its entries and the running
// popcounts of the bitmap words; the entry of byte v is found with one
// popcount. A /48 is 5 levels below the first one.
//
// A table with at most 16 IPv6 routes has no trie: the routes are kept as
// (address, mask) pairs, longest first, and a lookup stops at the first
// that contains the address. An appliance's IPv6 side is that small (the
// NAT64's clients: a connected /64 and a default), and a /64 is 8 dependent
// trie levels: BenchmarkSmallTable6 measured 52-56 ns through the trie and
// 6.5-13 ns for 3-16 routes scanned.
//
// Small tables (fewer than 1024 routes of a family) get an 8-bit first
// level (1 KiB) instead of the 256 KiB one: for IPv4 the 8-bit layout
// never needs more than 1 KiB more than the 16-bit one, it only costs one
// read more, and many small per-tenant VRFs stay cheap. A family without
// routes shares one zero first level. Chunks and nodes whose 256 entries
// are all equal are replaced by the entry.
//
// Large arrays are allocated 2 MiB-aligned and advised MADV_HUGEPAGE on
// Linux (huge_linux.go): random lookups over a 100 MiB trie otherwise miss
// the TLB on almost every access (doubly expensive in a VM). Measured +12%
// lookups/s on 1M routes.
//
// Build sorts the routes (radix sort for IPv4) by address, then length,
// and fills each level recursively: a covering prefix always comes before
// the prefixes it contains, so writing in order leaves the longest match
// in every slot. Every Build is a full rebuild; the Builder keeps the
// routes between builds.
//
// # Measured costs
//
// On the development VM (2 vCPU Xeon Sapphire Rapids, KVM), go test -bench
// with the BGP-like mix of bench_test.go (1M IPv4 prefixes: 60% /24, 12%
// /22-/23, 20% /16-/21, 2% /8-/15, 6% /25-/32; 200k IPv6: 55% /48, 35%
// /29-/44, 5% /56, 3% /64, 2% /45-/47):
//
//	IPv4, 1M routes      123.6 MiB   130 bytes/route   build 190 ms
//	IPv6, 200k routes     10.7 MiB    56 bytes/route   build 210 ms
//	empty table               96 B   (the next-hop placeholder)
//	3 + 3 routes (v4+v6)     ~7 KiB
//	10 + 10 routes          ~10 KiB
//	route lists (Routes)     16 bytes per IPv4 route, 32 per IPv6 route,
//	                         not counted in MemoryBytes
//
// IPv4 lookups on an idle machine, before the branch-free and huge-page
// changes: 28.5 M/s (uniform random destinations) and 26 M/s (destinations
// inside random routes) per core; the two changes measured +20% and +12% in
// interleaved A/B runs. IPv6: ~8.5 M/s. A small table lookup (all in L1):
// ~5 ns. See docs/performance.md for the current figures.
package fib
