// Package manager is the NAT64 manager (role `manager`, docs/background.md
// section B, docs/scaleout.md): it learns every VIP's next hops (the NAT64
// servers announcing the VIP by BGP, resolved to MACs) from a watch of the
// BGP RIB, runs Maglev per VIP (control/maglev, minimal-disruption mode by
// default), and writes only the changed entries of each VIP's table to the
// Access tier over P4Runtime (control/p4rt), whether the tier is a Tofino
// running p4/access.p4 or xdpgw's software target (control/access).
//
// It also writes what the access tier needs besides the Maglev tables: the
// NAT64 /96 (nat64_prefix), each VIP's EIPs (eip_to_vip, with their SYN
// meters) and the route of every NAT64 server's IPv4 source pool
// (pool_route), learned by BGP like the VIPs.
//
// Concurrency: one owner goroutine (Run) holds the P4Runtime client, the
// tables and the desired state; the watch's callback only records the
// latest state per prefix and wakes the owner, so a burst of updates (a
// flapping server) collapses into one table change. Readers get immutable
// snapshots (Tables) through an atomic pointer.
//
// The package must never import dataplane/ (it talks to the access tier
// over P4Runtime only).
package manager
