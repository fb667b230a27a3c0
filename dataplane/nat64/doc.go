// Package nat64 is the stateless translation core of the stateful NAT64:
// RFC 6052 address mapping and RFC 7915 IP/ICMP translation, in place in a
// frame buffer. The stateful part (RFC 6146: BIB, sessions, pools, timers,
// filtering, fragment tracking) lives elsewhere and calls it with the
// addresses and ports it chose; this package keeps no state at all.
//
// It owns:
//
//   - Prefix (RFC 6052 §2.2): the six prefix lengths 32, 40, 48, 56, 64 and
//     96, the u octet (bits 64-71) skipped and zero, the Well-Known Prefix
//     64:ff9b::/96 and network-specific prefixes; Embed, Extract, Contains,
//     and the §3.1 rule that the Well-Known Prefix embeds only global IPv4
//     addresses (EmbeddableV4, checked when state is created).
//   - V6ToV4 (RFC 7915 §5) and V4ToV6 (§4): header translation with the
//     stateful layer's addresses and ports (Addrs), TCP/UDP/ICMP checksums
//     patched incrementally (RFC 1624 eq. 3), ICMP <-> ICMPv6 for echo and
//     for errors with the quoted packet translated too (§4.2, §4.3, §5.2,
//     §5.3), fragments both ways, fragmentation of DF-clear IPv4 packets
//     into spare frames, and a named Result for every packet it refuses.
//   - Builders for the errors the translator itself sends (BuildFragNeeded,
//     BuildPacketTooBig, BuildRoutingHeaderError, and the general
//     BuildICMPv4Error/BuildICMPv6Error), in place as pipeline/icmp.go does.
//   - ParseEmbedded: the tuple quoted in an ICMP error, for the session
//     lookup that must precede the translation of the error.
//
// Frames: the packet is Frame.Buf[Off:Off+Len], Ethernet first (VLAN tags
// allowed), with headroom before it (the pipeline keeps >= 256 bytes). The
// transport header never moves: IPv4 -> IPv6 writes the bigger header into
// the headroom (Off shrinks by 20, or 28 with a Fragment header, less any
// IPv4 options), IPv6 -> IPv4 writes the smaller one over the old and Off
// grows. The link-layer header is moved along with its EtherType set; MAC
// addresses and the output port are the caller's. Len drops Ethernet
// padding. On a refusal the frame is untouched, so the caller can still
// quote it in an ICMP error.
//
// What the caller does (RFC 7915 §4.1, §5.1 make the translator a router):
// decrement the TTL or Hop Limit before translating and send Time Exceeded
// at zero; send the ICMP errors that ResultFragNeeded, ResultPacketTooBig,
// ResultRoutingHeader and ResultSourceRoute ask for; count every Result.
//
// Choices where RFC 7915 leaves options, with the clause:
//
//   - §4.1/§5.1 Traffic Class and TOS: copied by default;
//     Config.ZeroTrafficClass writes 0 instead.
//   - §4.1 lowest-ipv6-mtu: Config.MTU6 (default 1280, never below). DF-clear
//     IPv4 packets larger once translated are fragmented to fit it (the
//     SHOULD); a DF-clear packet that fits gets no Fragment header (the
//     §4.1 SHOULD NOT; atomic fragments are deprecated, RFC 8021).
//   - §5.1 Identification of an IPv6 packet without a Fragment header: the
//     caller's generator (Addrs.ID); DF is set iff the IPv4 packet exceeds
//     1260 bytes (§5). A translated IPv6 packet larger than Config.MTU4
//     (default 1500) gets ResultPacketTooBig whether or not DF would be
//     set: the package does not fragment IPv4, so MTU4 should be >= 1260.
//   - §4.5 UDP with a zero IPv4 checksum: computed when the datagram is
//     whole (ResultUDPChecksumComputed, which the RFC asks to count); the
//     first fragment of such a datagram is dropped
//     (ResultFragmentedZeroCsumUDP: no reassembly, RFC 6146 §3.4 allows
//     either). Its later fragments carry no UDP header and are translated;
//     the stateful layer, which tracks first fragments, drops them.
//   - §4.2/§5.2 Packet Too Big / Fragmentation Needed: the MTU adjusted by
//     20 bytes as if the offending packet had no Fragment header (the
//     conservative reading of "taking into account"); the RFC 1191 plateau
//     below the quoted Total Length when the ICMPv4 MTU is 0; the IPv6 MTU
//     never below 1280; the IPv4 MTU kept within 68..65535.
//   - §4.2 ICMPv4 Parameter Problem code 2 (bad length) is mapped like code
//     0, through Figure 3.
//   - §4.1 IPv4 options: ignored, except an unexpired LSRR/SSRR
//     (ResultSourceRoute). §5.1 extension headers: Hop-by-Hop, Destination
//     Options and Routing with Segments Left 0 dropped; Segments Left != 0
//     is ResultRoutingHeader (RoutingHeaderPointer gives the pointer).
//   - Protocols: TCP, UDP, ICMP and ICMPv6 only (RFC 6146 §1.1); AH, ESP
//     and the rest are ResultUnsupportedProto, as is ICMP in IPv6 and
//     ICMPv6 in IPv4. A UDP checksum of zero over IPv6 is left zero.
//   - Fragmented ICMP (any fragment) is ResultFragmentedICMP: the ICMPv6
//     pseudo-header needs the reassembled length.
//   - ICMP errors are rebuilt, not patched: their checksum is verified
//     first (ResultBadChecksum), the quoted packet is translated one level
//     deep (§4.3, §5.3; a quoted error is ResultBadInner), its hop limit
//     and TTL kept, its transport ports and checksum patched where the
//     quote still holds them, its IPv4 header checksum computed; a
//     translated ICMPv6 error is cut to 1280 bytes (RFC 4443 §2.4(c)), an
//     ICMPv4 one to Config.MTU4. The quoted IPv4 header of an IPv6 packet
//     without a Fragment header gets Identification 0. RFC 4884 extensions
//     are not recognised: they are carried as part of the quote.
//   - The IPv4 header checksum of an IPv4 packet is verified
//     (ResultBadChecksum), as a router does (RFC 1812 §5.2.2).
//
// Differences from tayga are to be listed in docs/nat64.md with the
// differential test of issue 4.
//
// Nothing in this package allocates, locks, calls through an interface or
// uses a map per packet; tests enforce the allocations with
// testing.AllocsPerRun. It must never import fmt, log, any logging
// package, anything under control/, or gopacket (tests only); besides the
// standard library's encoding/binary, errors, math/bits and net/netip it
// imports only dataplane/checksum and dataplane/packet.
package nat64
