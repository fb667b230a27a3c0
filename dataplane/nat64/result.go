package nat64

// Result is what a translation did. ResultOK and ResultUDPChecksumComputed
// mean the frame now holds the translated packet; every other value is a
// named reason not to forward it, meant to become a drop counter (keep
// resultNames in the same order). On any result other than those two the
// frame is left exactly as it was, so that the caller can still build an
// ICMP error about it.
type Result uint8

// Translation results.
const (
	// ResultOK: translated.
	ResultOK Result = iota
	// ResultUDPChecksumComputed: translated; the IPv4 UDP datagram had a
	// zero checksum and a full one was computed (RFC 7915 §4.5 asks for a
	// counter of these).
	ResultUDPChecksumComputed

	// ResultMalformed: Parsed.Status is not DecodeOK, the IP version is not
	// the one the function translates from, or the headers disagree with
	// the buffer.
	ResultMalformed
	// ResultBadChecksum: the IPv4 header checksum, or the checksum of an
	// ICMP error that is rebuilt rather than patched, does not verify.
	ResultBadChecksum
	// ResultTruncated: the transport header to rewrite is not all there.
	ResultTruncated
	// ResultUnsupportedProto: not TCP, UDP, ICMP (IPv4) or ICMPv6 (IPv6);
	// AH and ESP included (RFC 6146 §1.1: the NAT64 handles these three).
	ResultUnsupportedProto
	// ResultRoutingHeader: IPv6 Routing header with Segments Left != 0.
	// RFC 7915 §5.1: send ICMPv6 Parameter Problem code 0 pointing at
	// Segments Left (RoutingHeaderPointer gives the pointer).
	ResultRoutingHeader
	// ResultSourceRoute: IPv4 packet with an unexpired LSRR/SSRR option.
	// RFC 7915 §4.1: send ICMPv4 Destination Unreachable code 5 (Source
	// Route Failed).
	ResultSourceRoute
	// ResultNoHeadroom: the translated headers do not fit before the
	// payload in the buffer (IPv4 -> IPv6 grows the packet at the front).
	ResultNoHeadroom
	// ResultFragmentedZeroCsumUDP: first fragment of an IPv4 UDP datagram
	// with a zero checksum, which cannot be computed without reassembly
	// (RFC 7915 §4.5, RFC 6146 §3.4).
	ResultFragmentedZeroCsumUDP
	// ResultFragmentedICMP: a fragment of an ICMP message; the ICMPv6
	// checksum's pseudo-header needs the length of the whole message,
	// unknown before reassembly.
	ResultFragmentedICMP
	// ResultICMPUntranslatable: an ICMP type or code that RFC 7915 §4.2 or
	// §5.2 says to silently drop (timestamp, address mask, router
	// discovery, redirect, MLD, ND, unknown types and codes, ...).
	ResultICMPUntranslatable
	// ResultBadInner: the packet embedded in an ICMP error is malformed,
	// too short to hold its IP header, or is itself an ICMP error or an
	// informational ICMP message other than echo (RFC 7915 §4.3, §5.3:
	// only one level of embedded header is translated).
	ResultBadInner
	// ResultFragNeeded: IPv4 packet with DF set that would exceed the IPv6
	// MTU once translated (RFC 7915 §4.1): send ICMPv4 Fragmentation
	// Needed (BuildFragNeeded).
	ResultFragNeeded
	// ResultPacketTooBig: IPv6 packet whose translation would exceed the
	// IPv4 MTU (RFC 7915 §5.1): send ICMPv6 Packet Too Big
	// (BuildPacketTooBig).
	ResultPacketTooBig
	// ResultNeedSpare: an IPv4 packet with DF clear must be fragmented
	// (RFC 7915 §4.1) and the spare frames passed in are too few or too
	// small.
	ResultNeedSpare
	// ResultNoICMPError: an error builder refused to answer a packet that
	// must not get an ICMP error (an ICMP error itself or a non-first
	// fragment: RFC 1122 §3.2.2, RFC 4443 §2.4(e)).
	ResultNoICMPError

	// NumResults is the number of Result values, for sizing counter
	// arrays.
	NumResults = iota
)

var resultNames = [NumResults]string{
	"ok",
	"udp_checksum_computed",
	"malformed",
	"bad_checksum",
	"truncated",
	"unsupported_proto",
	"routing_header",
	"source_route",
	"no_headroom",
	"fragmented_zero_csum_udp",
	"fragmented_icmp",
	"icmp_untranslatable",
	"bad_inner",
	"frag_needed",
	"packet_too_big",
	"need_spare",
	"no_icmp_error",
}

// String returns the lower_snake name of r, used as a counter label.
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "unknown"
}

// Translated reports whether the frame holds a translated packet to send.
func (r Result) Translated() bool { return r <= ResultUDPChecksumComputed }
