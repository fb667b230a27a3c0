// Package bgp owns xdpgw's BGP speaker: github.com/osrg/gobgp/v3's
// server.BgpServer embedded as a library (no separate daemon, no gRPC
// listener), wrapped in operator verbs for the three roles of system B
// (docs/background.md, section B; docs/bgp.md):
//
//   - nat64: Announce its cluster VIP (/32) and its own IPv4 source pool;
//     Drain withdraws both (and Resume re-announces them); Stop withdraws
//     everything before the sessions are closed;
//   - access: Announce the region's NAT64 /96 upstream; Stop (or Withdraw)
//     when the access goes down;
//   - manager: WatchPaths delivers, per VIP, every path the peers announce
//     (all next hops: one per NAT64 server), coalesced so that a flapping
//     backend cannot cause a churn storm, with next hops resolved to MAC
//     addresses through a pluggable Resolver (netlink neighbour table by
//     default).
//
// Concurrency: every state change of a Speaker (announce, withdraw, drain,
// peer changes, stop) is a closure run by one owner goroutine, the pattern
// of gobgp's own mgmtOperation; the package has no mutex. Counters are
// atomics readable from anywhere.
//
// Control plane only: dataplane/ must never import this package (it pulls
// in gRPC/protobuf types through gobgp).
package bgp
