// Package access is the per-packet stage of the software NAT64 Access
// tier: the same behaviour as the Tofino program p4/access.p4, over tables
// that control/access fills from P4Runtime writes and publishes here.
//
// Per packet (see Stage.Process):
//
//   - IPv6 to a NAT64 /96 prefix (nat64_prefix): the EIP is the low 32 bits
//     of the destination; eip_to_vip gives the VIP and the output port; a
//     TCP SYN without ACK is metered per (EIP, down); CRC32 over (source,
//     destination, source port, destination port) mod the Maglev size is
//     the index; maglev[(VIP, index)] is the destination MAC.
//   - IPv4 from an EIP: a SYN is metered per (EIP, up); pool_route (LPM on
//     the destination, a NAT64 server's source pool) gives the MAC and
//     port of the server that owns the session.
//   - Anything else is not access traffic: VerdictPass, for the rest of the
//     pipeline (host delivery: ARP, ND, BGP).
//
// Tables are immutable snapshots published through an atomic pointer
// (Target.Publish); workers load the current one once per batch
// (Stage.Begin). SYN meters and per-EIP counters live in slot arrays owned
// by the Target, so they survive a new snapshot.
//
// The package must never import control/, gRPC, fmt or any logging
// package, and never allocates, locks or uses a Go map per packet
// (AllocsPerRun tests keep it so). Things that must stay in step with
// p4/access.p4 say so where they are defined; p4/testdata/flows.txt is
// checked against both.
package access
