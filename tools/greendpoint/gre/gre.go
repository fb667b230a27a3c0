package gre

import (
	"encoding/binary"
	"net/netip"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

// Config is what Decap checks a received packet against: one point-to-point
// tunnel between Local and Remote, keyed or not.
type Config struct {
	// Local is the tunnel's own underlay address: the outer destination of
	// packets it accepts. An invalid (zero) Local accepts any destination.
	Local netip.Addr
	// Remote is the peer's underlay address: the outer source of packets it
	// accepts. An invalid (zero) Remote accepts any source.
	Remote netip.Addr
	// Key is the GRE key (RFC 2890 §2.1) both directions carry when HasKey
	// is set. Without HasKey the tunnel is unkeyed and Key is ignored.
	Key    uint32
	HasKey bool
}

// DropReason names why Decap refused a packet. OK is not a drop.
type DropReason uint8

const (
	// OK means the packet was accepted.
	OK DropReason = iota
	// Truncated: the outer IPv4 header, the GRE header or the words its
	// flags announce do not fit, or nothing follows the GRE header.
	Truncated
	// BadIP: the outer header is not a well-formed IPv4 header (version or
	// IHL wrong, total length below the header length).
	BadIP
	// NotGRE: the outer protocol is not 47.
	NotGRE
	// Fragment: the outer packet is an IPv4 fragment. The kernel reassembles
	// before it hands a packet to a raw socket, so this only shows up when
	// Decap is fed captured packets.
	Fragment
	// WrongSource: the outer source is not Config.Remote.
	WrongSource
	// WrongDestination: the outer destination is not Config.Local.
	WrongDestination
	// BadVersion: the GRE version is not 0 (RFC 2784 §2.3.1: a receiver
	// MUST discard a packet whose version it does not implement; version 1
	// is PPTP).
	BadVersion
	// BadFlags: one of the RFC 1701-only bits (routing, strict source
	// route, top bit of recursion control) is set (RFC 2784 §2.3).
	BadFlags
	// BadChecksum: the C bit is set and the checksum over the GRE header
	// and payload does not verify (RFC 2784 §2.5).
	BadChecksum
	// KeyMismatch: the key is not the configured one, or the packet has a
	// key and the tunnel has none, or the other way round. A keyed and an
	// unkeyed tunnel are different tunnels (RFC 2890 §2.1).
	KeyMismatch
	// UnsupportedProto: the protocol type is neither IPv4 (0x0800) nor IPv6
	// (0x86DD), e.g. transparent Ethernet bridging.
	UnsupportedProto

	// NumReasons is the number of DropReason values, OK included.
	NumReasons
)

// reasonNames are the counter names; they are part of the stable output
// format (see Counters.AppendLine), so never rename one.
var reasonNames = [NumReasons]string{
	OK:               "ok",
	Truncated:        "truncated",
	BadIP:            "bad_ip",
	NotGRE:           "not_gre",
	Fragment:         "fragment",
	WrongSource:      "wrong_source",
	WrongDestination: "wrong_destination",
	BadVersion:       "bad_version",
	BadFlags:         "bad_flags",
	BadChecksum:      "bad_checksum",
	KeyMismatch:      "key_mismatch",
	UnsupportedProto: "unsupported_proto",
}

// String returns the counter name of r.
func (r DropReason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// GRE header bits this package writes or checks beyond what
// dataplane/packet exports (RFC 2784 §2, RFC 2890 §2).
const (
	flagChecksum = 0x80
	flagKey      = 0x20
)

// HeaderLength returns the length of the GRE header Encap writes: 4, plus 4
// for the checksum word and 4 for the key.
func HeaderLength(hasKey, csum bool) int {
	n := packet.GREHeaderLength(hasKey)
	if csum {
		n += 4
	}
	return n
}

// InnerProtocol returns the GRE protocol type for an IP packet, chosen by
// its version nibble, and false when inner is empty or neither IPv4 nor
// IPv6.
func InnerProtocol(inner []byte) (uint16, bool) {
	if len(inner) == 0 {
		return 0, false
	}
	switch inner[0] >> 4 {
	case 4:
		return packet.EtherTypeIPv4, true
	case 6:
		return packet.EtherTypeIPv6, true
	}
	return 0, false
}

// Encap appends a GRE header and inner to dst and returns the extended
// slice; the caller sends it as the payload of an IPv4 packet with protocol
// 47. The protocol type comes from inner's version nibble; when inner is
// not an IPv4 or IPv6 packet (see InnerProtocol) Encap returns dst
// unchanged. The header is version 0 without a sequence number, with the
// key when hasKey, and with a checksum over the header and inner when csum
// (RFC 2784 §2.5). Encap does not allocate when dst has room for
// HeaderLength(hasKey, csum)+len(inner) more bytes. inner must not overlap
// dst's spare capacity.
func Encap(dst []byte, inner []byte, key uint32, hasKey, csum bool) []byte {
	proto, ok := InnerProtocol(inner)
	if !ok {
		return dst
	}
	hl := HeaderLength(hasKey, csum)
	n := len(dst)
	total := n + hl + len(inner)
	if cap(dst) < total {
		grown := make([]byte, n, total)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:total]
	h := dst[n:]
	if !csum {
		packet.EncodeGRE(h, proto, key, hasKey)
	} else {
		// EncodeGRE writes no checksum word, so the header is laid out here:
		// flags, version 0, protocol, checksum and Reserved1 (both zero
		// while the checksum is computed), then the key.
		h[0] = flagChecksum
		h[1] = 0
		binary.BigEndian.PutUint16(h[2:], proto)
		binary.BigEndian.PutUint32(h[4:], 0)
		if hasKey {
			h[0] |= flagKey
			binary.BigEndian.PutUint32(h[8:], key)
		}
	}
	copy(h[hl:], inner)
	if csum {
		g := packet.GRE(h)
		g.SetChecksum(g.CalculateChecksum())
	}
	return dst
}

// Decap checks a received IPv4 packet (outer header, GRE header, inner
// packet, as a raw IPv4 socket delivers it) against cfg and returns the
// inner packet, a subslice of pkt, and its protocol type (0x0800 or
// 0x86DD). When the packet is refused, inner is nil, proto is 0 and reason
// names the first check that failed. Sequence numbers (RFC 2890 §2.2) are
// accepted and ignored: the tunnel does not reorder or drop out-of-order
// packets, which RFC 2890 allows. Decap never panics and never allocates.
func Decap(pkt []byte, cfg Config) (inner []byte, proto uint16, reason DropReason) {
	ip := packet.IPv4(pkt)
	if len(pkt) < packet.IPv4MinSize {
		return nil, 0, Truncated
	}
	if !ip.IsValid(len(pkt)) {
		// IsValid folds several faults together; a header that is fine in
		// itself but longer than the buffer is a truncation.
		hl := ip.HeaderLength()
		if ip.Version() == packet.IPv4Version && hl >= packet.IPv4MinSize && int(ip.TotalLength()) >= hl {
			return nil, 0, Truncated
		}
		return nil, 0, BadIP
	}
	if ip.Protocol() != packet.ProtoGRE {
		return nil, 0, NotGRE
	}
	if ip.IsFragment() {
		return nil, 0, Fragment
	}
	if cfg.Remote.IsValid() && netip.AddrFrom4(ip.Src()) != cfg.Remote {
		return nil, 0, WrongSource
	}
	if cfg.Local.IsValid() && netip.AddrFrom4(ip.Dst()) != cfg.Local {
		return nil, 0, WrongDestination
	}
	g := packet.GRE(ip.Payload())
	if len(g) < packet.GREMinSize {
		return nil, 0, Truncated
	}
	if !g.IsValid() {
		// IsValid folds the version, the RFC 1701 bits and the length into
		// one answer; name the first that fails, in that order.
		switch {
		case g.Version() != 0:
			return nil, 0, BadVersion
		case badFlags(g):
			return nil, 0, BadFlags
		default:
			return nil, 0, Truncated
		}
	}
	// RFC 2784 §2.5: the checksum covers the GRE header and the payload; the
	// one's complement sum of everything, checksum field included, is
	// 0xffff when it verifies (RFC 1071 §1).
	if g.HasChecksum() && checksum.Checksum(g, 0) != 0xffff {
		return nil, 0, BadChecksum
	}
	if g.HasKey() != cfg.HasKey || (cfg.HasKey && g.Key() != cfg.Key) {
		return nil, 0, KeyMismatch
	}
	p := g.Protocol()
	if p != packet.EtherTypeIPv4 && p != packet.EtherTypeIPv6 {
		return nil, 0, UnsupportedProto
	}
	inner = g.Payload()
	if len(inner) == 0 {
		return nil, 0, Truncated
	}
	return inner, p, OK
}

// badFlags reports whether g (at least GREMinSize bytes) sets a bit that
// IsValid refuses for a reason other than the version or the length: it
// asks IsValid about the first word with the version and the C, K and S
// bits (which only announce optional words) cleared, so that the list of
// refused bits stays in dataplane/packet.
func badFlags(g packet.GRE) bool {
	probe := [packet.GREMinSize]byte{g[0] &^ (flagChecksum | flagKey | 0x10), g[1] &^ 0x07}
	return !packet.GRE(probe[:]).IsValid()
}
