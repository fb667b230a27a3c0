// Package maglev owns the Maglev lookup tables of the NAT64 Access tier:
// for every VIP, a table of a prime number of entries M (default 65537)
// whose entry i names the backend (the next-hop MAC of one NAT64 server)
// that a flow with hash h goes to when h mod M == i. The algorithm is the
// one of Eisenbud et al., "Maglev: A Fast and Reliable Software Network
// Load Balancer", NSDI 2016, section 3.4; docs/maglev.md explains it, the
// weighted variant and the minimal-disruption update, and records the
// disruption study that `xdpgw bench maglev` reproduces.
//
// Two ways to compute a table, side by side:
//
//   - Build(backends, size) is the paper's algorithm: a pure function of
//     the set of backends (names and weights) and the size. The input
//     order does not matter (backends are sorted by name), so a manager
//     that recomputes a table from the same next hops after a restart gets
//     the same table, entry for entry.
//   - Update(prev, backends) is the minimal-disruption mode: a pure
//     function of the previous table and the new set. On a removal only
//     the removed backend's entries change; on an addition only the
//     entries the new backend takes change. Shares stay balanced to one
//     entry, as in Build.
//
// Diff(old, new) lists the entries to rewrite on the switch; unchanged
// entries are not listed. VIPs keeps one table per VIP behind operator
// verbs (SetBackends, AddBackends, DeleteBackends, DeleteVIP) and returns
// that diff from each verb.
//
// Everything here is pure computation on values: no I/O, no goroutines,
// no clock, no randomness. The package must never import dataplane/,
// gRPC, P4Runtime or anything that touches the network or the kernel: the
// P4Runtime client and the software Access target consume its tables and
// diffs. The name hashes (hash.go) are part of the contract: changing them
// changes every table, which the golden test in maglev_test.go catches.
package maglev
