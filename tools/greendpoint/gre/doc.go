// Package gre is the wire half of the userspace GRE endpoint in
// tools/greendpoint: encapsulation and decapsulation of IPv4 and IPv6
// packets in GRE over an IPv4 underlay (RFC 2784 with the RFC 2890 key and
// sequence number extensions), the named drop reasons, and the counters the
// command prints.
//
// Everything here is a pure function over byte slices or plain data, so it
// is tested and fuzzed without root, TUN devices or sockets. The header
// views come from xdpgw/dataplane/packet and the checksum arithmetic from
// xdpgw/dataplane/checksum, so the endpoint and the gateway agree on the
// wire format by construction.
//
// It must never import anything under control/ or cmd/, and nothing that
// touches the kernel: the TUN device and the raw socket live in package
// main beside it.
package gre
