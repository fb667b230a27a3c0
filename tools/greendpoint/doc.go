// Command greendpoint gives a network namespace a GRE tunnel interface
// without the kernel's GRE module.
//
// # Why it exists
//
// The testbed re-creates the multi-tenant gateway prototype of
// docs/background.md §A: tenant hosts reach the gateway over keyed GRE
// tunnels (tenant 1 at 172.168.0.11 with key 1000, tenant 2 at 172.168.0.12
// with key 2000, the gateway at 172.168.0.1). The kernel the testbed runs
// on has no ip_gre module, so `ip tunnel add ... mode gre` and lightweight
// tunnel routes are not available. greendpoint is the tenant host's end of
// such a tunnel in userspace: a TUN device carries the inner packets, a raw
// IPv4 socket for protocol 47 carries the GRE packets.
//
// # Usage
//
//	greendpoint --name gre1 --local 172.168.0.11 --remote 172.168.0.1 --key 1000 \
//	    --addr 10.0.0.7/24 [--addr6 fd00::7/64] [--mtu 1472] \
//	    [--route 1.1.1.0/24]... [--csum] [-v]
//
// It creates TUN device gre1 (IFF_TUN|IFF_NO_PI; it fails if the name is
// taken), sets its MTU, brings it up, adds the addresses and then the
// routes with ip(8), and forwards in the foreground until SIGINT or
// SIGTERM. The device, and the routes through it, disappear when the
// process exits. The testbed starts it as
//
//	ip netns exec tenant1 greendpoint --name gre1 ... &
//
// and stops it by PID; `ip netns exec` execs, so $! is greendpoint itself.
// A line "level=INFO msg=ready ..." on stderr says the device is configured
// and forwarding.
//
// Flags:
//   - --local: this end's underlay address; it must be configured in the
//     namespace (the raw socket is bound to it, which also chooses the
//     outer source address).
//   - --remote: the peer's underlay address; GRE packets from any other
//     source are dropped and counted.
//   - --key: the GRE key (RFC 2890), a number or a dotted quad. Without it
//     the tunnel is unkeyed. Packets with another key, with no key on a
//     keyed tunnel, or with a key on an unkeyed one are dropped and counted.
//   - --addr, --addr6: addresses of the device (repeatable; at least one).
//   - --mtu: default 1500 less the outer IPv4 header and the GRE header
//     sent: 1476 unkeyed, 1472 keyed, 4 less with --csum (as ip_gre does).
//   - --route: a prefix to route through the device (repeatable; IPv4 or
//     IPv6, e.g. 0.0.0.0/0).
//   - --csum: add the RFC 2784 checksum to sent packets. Received checksums
//     are verified whenever present, with or without --csum.
//   - -v: log every packet and every drop (log/slog text on stderr).
//
// # Counters
//
// SIGUSR1 prints the counters; exit prints them once more. Each dump is one
// line on stdout, key=value, in a fixed order (gre.Counters.AppendLine;
// gre.ParseCounters reads it back):
//
//	counters name=gre1 rx_packets=3 rx_bytes=252 rx_errors=0 tx_packets=3 tx_bytes=252 tx_errors=0 tx_dropped=0 truncated=0 bad_ip=0 not_gre=0 fragment=0 wrong_source=0 wrong_destination=0 bad_version=0 bad_flags=0 bad_checksum=0 key_mismatch=0 unsupported_proto=0
//
// rx counts GRE packets accepted and written to the device (rx_errors:
// refused by the device), tx counts packets read from the device and sent
// (tx_errors: sendto failed, e.g. larger than the underlay MTU; tx_dropped:
// neither IPv4 nor IPv6). The other keys count received packets dropped,
// one per gre.DropReason: bad_version is GRE version other than 0 (PPTP),
// bad_flags the RFC 1701 routing, strict source route or recursion bits.
//
// Exit status: 0 after SIGINT or SIGTERM, 1 when setup or forwarding
// fails (not root, no TUN, --local not configured, ip(8) refused a step),
// 2 for a bad command line.
//
// # Limits
//
//   - IPv4 underlay only: --local and --remote must be IPv4. IPv6 inner
//     packets are carried (protocol type 0x86DD); an IPv6 underlay (GRE over
//     IPv6, RFC 7676) is not implemented.
//   - Point to point: one remote per process. Run one process per tunnel;
//     several can share a namespace as long as their --local, --remote or
//     key differ, but each raw socket sees every GRE packet to its --local,
//     so one tunnel counts the other's packets as wrong_source or
//     key_mismatch.
//   - No sequence numbers are sent; received ones (RFC 2890 §2.2) are
//     accepted without reordering or dropping late packets. No keepalives,
//     no transparent Ethernet bridging (0x6558 is dropped as
//     unsupported_proto).
//   - The outer header is the kernel's: TTL, DF and fragmentation follow
//     the raw socket's defaults, the inner TOS is not copied, and an inner
//     packet too big for the underlay is lost (tx_errors) rather than
//     answered with ICMP. Keep the MTU at its default on a 1500-byte link.
//   - Linux only (TUN and raw sockets); every step needs root
//     (CAP_NET_ADMIN and CAP_NET_RAW).
//   - One packet per system call in each direction, one goroutine each:
//     enough for the testbed, not a data plane.
//
// The wire format lives in tools/greendpoint/gre, pure functions over
// bytes built on dataplane/packet's GRE view, so it is unit tested and
// fuzzed without root. TestNamespaces (root only) runs two endpoints in
// namespaces gre-t-a and gre-t-b and checks ping, ping -6, full-MTU
// packets, a TCP transfer, checksums and a key mismatch.
package main
