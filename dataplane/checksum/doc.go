// Package checksum implements the Internet checksum (RFC 1071) and the
// incremental updates of RFC 1624 that the NAT64 and GRE paths use to patch
// a header in place without re-summing the whole packet.
//
// It owns: the one's complement sum, folding, pseudo-header sums for IPv4
// (RFC 793 §3.1, RFC 768) and IPv6 (RFC 8200 §8.1), and incremental update
// helpers.
//
// Conventions, shared with dataplane/packet:
//   - Checksum, Combine and the PseudoHeader functions return a folded,
//     NOT complemented sum. A caller writing a checksum field stores ^sum.
//   - The Update functions take and return the value stored in the field,
//     i.e. the complemented form.
//
// It must never import fmt, log, anything under control/, or any package that
// allocates: every function here runs per packet and must not allocate.
// It imports only encoding/binary and math/bits.
package checksum
