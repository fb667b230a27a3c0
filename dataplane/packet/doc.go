// Package packet provides zero-copy views over packet headers and a
// decode-once summary of a frame.
//
// It owns the wire formats the gateway touches: Ethernet and 802.1Q/802.1ad
// tags, ARP, IPv4, IPv6 and its extension headers, GRE (RFC 2784/2890), TCP,
// UDP, ICMPv4 and ICMPv6. Each protocol lives in its own file as a
// `type X []byte` view in the style of gVisor's pkg/tcpip/header: offsets are
// unexported constants under the RFC's header diagram, a view is validated
// once (IsValid or Parsed.Decode) and its accessors are then unchecked.
//
// Parsed.Decode follows Tailscale's net/packet: it fills offsets and the
// fields the pipeline keys on in one pass, never returns an error and never
// panics; a malformed frame becomes a DecodeStatus that names the drop.
//
// Nothing in this package allocates on the per-packet path (accessors,
// setters, encoders, Decode); tests enforce it with testing.AllocsPerRun.
// Only MAC.String and DecodeStatus.String produce strings, and they are for
// logs and counters, not the hot path.
//
// It must never import fmt, log, any logging package, anything under
// control/, or gRPC. Checksum arithmetic comes from dataplane/checksum; this
// package imports nothing else outside the standard library's encoding/binary.
package packet
