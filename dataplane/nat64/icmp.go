package nat64

import (
	"encoding/binary"

	"xdpgw/dataplane/packet"
)

// icmp6To4 maps the type, code and second word of an ICMPv6 error to
// ICMPv4 (RFC 7915 §5.2). ok is false for what the RFC says to silently
// drop.
func icmp6To4(msg []byte, c *Config) (t, code uint8, rest uint32, ok bool) {
	switch msg[0] {
	case packet.ICMPv6DestUnreachable:
		t = packet.ICMPv4DestUnreachable
		switch msg[1] {
		case 0, 2, 3: // no route, beyond scope, address unreachable
			code = packet.ICMPv4HostUnreachable
		case 1: // administratively prohibited
			code = 10 // host administratively prohibited
		case 4:
			code = packet.ICMPv4PortUnreachable
		default:
			return 0, 0, 0, false
		}
	case packet.ICMPv6PacketTooBig:
		t, code = packet.ICMPv4DestUnreachable, packet.ICMPv4FragNeeded
		rest = uint32(ptbToFragNeeded(binary.BigEndian.Uint32(msg[4:]), c))
	case packet.ICMPv6TimeExceeded:
		t, code = packet.ICMPv4TimeExceeded, msg[1] // code unchanged
	case packet.ICMPv6ParamProblem:
		switch msg[1] {
		case 0: // erroneous header field: pointer through Figure 6
			ptr, ok := Pointer6To4(binary.BigEndian.Uint32(msg[4:]))
			if !ok {
				return 0, 0, 0, false
			}
			t, code, rest = packet.ICMPv4ParamProblem, 0, uint32(ptr)<<24
		case 1: // unrecognized Next Header: protocol unreachable
			t, code = packet.ICMPv4DestUnreachable, 2
		default: // unrecognized option, and unknown codes
			return 0, 0, 0, false
		}
	default:
		return 0, 0, 0, false
	}
	return t, code, rest, true
}

// icmp4To6 maps the type, code and second word of an ICMPv4 error to ICMPv6
// (RFC 7915 §4.2). itl is the quoted packet's Total Length, needed when a
// Fragmentation Needed carries no MTU. ok is false for what the RFC says to
// silently drop.
func icmp4To6(msg []byte, itl int, c *Config) (t, code uint8, rest uint32, ok bool) {
	switch msg[0] {
	case packet.ICMPv4DestUnreachable:
		t = packet.ICMPv6DestUnreachable
		switch msg[1] {
		case 0, 1, 5, 6, 7, 8, 11, 12:
			code = packet.ICMPv6NoRoute
		case 2: // protocol unreachable: Parameter Problem at Next Header
			t, code, rest = packet.ICMPv6ParamProblem, 1, 6
		case 3:
			code = packet.ICMPv6PortUnreachable
		case 4:
			t, code = packet.ICMPv6PacketTooBig, 0
			rest = uint32(fragNeededToPTB(binary.BigEndian.Uint16(msg[6:]), itl, c))
		case 9, 10, 13, 15:
			code = packet.ICMPv6AdminProhibited
		default: // 14 host precedence violation, unknown codes
			return 0, 0, 0, false
		}
	case packet.ICMPv4TimeExceeded:
		t, code = packet.ICMPv6TimeExceeded, msg[1] // code unchanged
	case packet.ICMPv4ParamProblem:
		if msg[1] != 0 && msg[1] != 2 { // 1 missing option, unknown codes
			return 0, 0, 0, false
		}
		ptr, ok := Pointer4To6(msg[4])
		if !ok {
			return 0, 0, 0, false
		}
		t, code, rest = packet.ICMPv6ParamProblem, 0, ptr
	default: // source quench, redirect, alternate host, unknown
		return 0, 0, 0, false
	}
	return t, code, rest, true
}

// Pointer4To6 maps an ICMPv4 Parameter Problem pointer to ICMPv6 (RFC 7915
// §4.2, Figure 3). ok is false for the fields IPv6 has no counterpart of
// (Identification, flags, fragment offset, header checksum) and for
// pointers past the fixed header: the message is then dropped.
func Pointer4To6(p uint8) (uint32, bool) {
	switch {
	case p == 0, p == 1: // version/IHL, TOS -> version/traffic class, TC/flow label
		return uint32(p), true
	case p == 2, p == 3: // total length -> payload length
		return 4, true
	case p == 8: // TTL -> hop limit
		return 7, true
	case p == 9: // protocol -> next header
		return 6, true
	case p >= 12 && p <= 15: // source address
		return 8, true
	case p >= 16 && p <= 19: // destination address
		return 24, true
	}
	return 0, false
}

// Pointer6To4 maps an ICMPv6 Parameter Problem pointer to ICMPv4 (RFC 7915
// §5.2, Figure 6). ok is false for the flow label and for pointers past the
// fixed header.
func Pointer6To4(p uint32) (uint8, bool) {
	switch {
	case p == 0, p == 1: // version/traffic class, TC/flow label
		return uint8(p), true
	case p == 4, p == 5: // payload length -> total length
		return 2, true
	case p == 6: // next header -> protocol
		return 9, true
	case p == 7: // hop limit -> TTL
		return 8, true
	case p >= 8 && p <= 23: // source address
		return 12, true
	case p >= 24 && p <= 39: // destination address
		return 16, true
	}
	return 0, false
}

// plateaus are the MTU plateaus of RFC 1191 §7, highest first.
var plateaus = [...]uint16{65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68}

// Plateau returns the greatest RFC 1191 plateau below totalLen, the
// Total Length of the packet a Fragmentation Needed without an MTU was
// about (RFC 7915 §4.2); 68 if none is below it.
func Plateau(totalLen int) int {
	for _, p := range plateaus {
		if int(p) < totalLen {
			return int(p)
		}
	}
	return minMTU4
}

// fragNeededToPTB returns the MTU of the Packet Too Big that replaces an
// ICMPv4 Fragmentation Needed advertising mtu (RFC 7915 §4.2):
// min(mtu+20, IPv6 next-hop MTU, IPv4 next-hop MTU+20), the mtu taken from
// the plateau table when 0, and never below 1280 (RFC 7915 §5, RFC 8200 §5).
// The +20 assumes the offending packet had no Fragment header: the
// conservative choice, as a sender using the larger value for unfragmented
// packets would overrun the IPv4 link.
func fragNeededToPTB(mtu uint16, itl int, c *Config) int {
	m := int(mtu)
	if m == 0 {
		m = Plateau(itl)
	}
	m = min(m+packet.IPv6Size-packet.IPv4MinSize, c.mtu6(), c.mtu4()+packet.IPv6Size-packet.IPv4MinSize)
	return max(m, minMTU6)
}

// ptbToFragNeeded returns the Next-Hop MTU of the Fragmentation Needed that
// replaces an ICMPv6 Packet Too Big advertising mtu (RFC 7915 §5.2):
// min(mtu-20, IPv4 next-hop MTU, IPv6 next-hop MTU-20), kept within
// 68..65535.
func ptbToFragNeeded(mtu uint32, c *Config) uint16 {
	m := int64(mtu) - (packet.IPv6Size - packet.IPv4MinSize)
	m = min(m, int64(c.mtu4()), int64(c.mtu6()-(packet.IPv6Size-packet.IPv4MinSize)))
	return uint16(min(max(m, minMTU4), 0xffff))
}
