package packet

import (
	"encoding/binary"

	"xdpgw/dataplane/checksum"
)

// UDP is a UDP datagram: header and payload (RFC 768):
//
//	 0      7 8     15 16    23 24    31
//	+--------+--------+--------+--------+
//	|     Source      |   Destination   |
//	|      Port       |      Port       |
//	+--------+--------+--------+--------+
//	|                 |                 |
//	|     Length      |    Checksum     |
//	+--------+--------+--------+--------+
//	|          data octets ...
//	+---------------- ...
//
// Call IsValid once; the accessors are then unchecked.
type UDP []byte

const (
	udpSrcPort  = 0
	udpDstPort  = 2
	udpLength   = 4
	udpChecksum = 6
)

// IsValid reports whether b holds a UDP header whose Length is at least 8
// and at most segLen (clamped to len(b)).
func (b UDP) IsValid(segLen int) bool {
	if len(b) < UDPSize {
		return false
	}
	segLen = min(segLen, len(b))
	l := int(b.Length())
	return l >= UDPSize && l <= segLen
}

// SrcPort returns the source port.
func (b UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(b[udpSrcPort:]) }

// DstPort returns the destination port.
func (b UDP) DstPort() uint16 { return binary.BigEndian.Uint16(b[udpDstPort:]) }

// SetSrcPort sets the source port. It does not update the checksum.
func (b UDP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(b[udpSrcPort:], p) }

// SetDstPort sets the destination port. It does not update the checksum.
func (b UDP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(b[udpDstPort:], p) }

// Length returns the Length field: header plus data.
func (b UDP) Length() uint16 { return binary.BigEndian.Uint16(b[udpLength:]) }

// SetLength sets the Length field.
func (b UDP) SetLength(v uint16) { binary.BigEndian.PutUint16(b[udpLength:], v) }

// Checksum returns the stored checksum. Over IPv4, 0 means none was
// computed (RFC 768); over IPv6 it is mandatory (RFC 8200 §8.1).
func (b UDP) Checksum() uint16 { return binary.BigEndian.Uint16(b[udpChecksum:]) }

// SetChecksum stores a checksum.
func (b UDP) SetChecksum(v uint16) { binary.BigEndian.PutUint16(b[udpChecksum:], v) }

// Payload returns the data up to Length, clamped to len(b): on a first
// fragment Length covers data that is in later fragments.
func (b UDP) Payload() []byte {
	end := min(int(b.Length()), len(b))
	if end < UDPSize {
		return b[UDPSize:UDPSize]
	}
	return b[UDPSize:end]
}

// CalculateChecksum returns the value to store in the checksum field over
// the first Length bytes, given the pseudo-header sum (with ProtoUDP and
// Length). The field is taken as zero and not modified. A computed 0 is
// returned as 0xffff, since 0 on the wire means "no checksum" (RFC 768).
func (b UDP) CalculateChecksum(pseudo uint16) uint16 {
	end := min(int(b.Length()), len(b))
	if end < UDPSize {
		end = UDPSize
	}
	s := checksum.Checksum(b[:udpChecksum], pseudo)
	s = checksum.Checksum(b[udpChecksum+2:end], s)
	if c := ^s; c != 0 {
		return c
	}
	return 0xffff
}

// EncodeUDP writes an 8-byte UDP header into b and returns UDPSize. The
// checksum is the caller's: it needs the payload.
func EncodeUDP(b []byte, srcPort, dstPort, length, csum uint16) int {
	h := UDP(b[:UDPSize])
	h.SetSrcPort(srcPort)
	h.SetDstPort(dstPort)
	h.SetLength(length)
	h.SetChecksum(csum)
	return UDPSize
}
