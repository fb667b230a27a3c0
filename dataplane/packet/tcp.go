package packet

import (
	"encoding/binary"

	"xdpgw/dataplane/checksum"
)

// TCP is a TCP segment: header and payload (RFC 9293 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|       |       |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           [Options]                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The view should span exactly the segment (IP payload), so that Payload
// and CalculateChecksum see the right bytes. Call IsValid once; the
// accessors are then unchecked.
type TCP []byte

const (
	tcpSrcPort    = 0
	tcpDstPort    = 2
	tcpSeq        = 4
	tcpAck        = 8
	tcpDataOffset = 12
	tcpFlags      = 13
	tcpWindow     = 14
	tcpChecksum   = 16
	tcpUrgent     = 18
	tcpOptions    = 20
)

// TCP flag bits as returned by Flags (RFC 9293 §3.1, RFC 3168 §6.1).
const (
	TCPFlagFIN uint8 = 1 << iota
	TCPFlagSYN
	TCPFlagRST
	TCPFlagPSH
	TCPFlagACK
	TCPFlagURG
	TCPFlagECE
	TCPFlagCWR
)

// IsValid reports whether b holds a TCP header whose Data Offset is at
// least 5 words and fits within the first segLen bytes (clamped to len(b)).
func (b TCP) IsValid(segLen int) bool {
	if len(b) < TCPMinSize {
		return false
	}
	segLen = min(segLen, len(b))
	do := b.DataOffset()
	return do >= TCPMinSize && do <= segLen
}

// SrcPort returns the source port.
func (b TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(b[tcpSrcPort:]) }

// DstPort returns the destination port.
func (b TCP) DstPort() uint16 { return binary.BigEndian.Uint16(b[tcpDstPort:]) }

// SetSrcPort sets the source port. It does not update the checksum.
func (b TCP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(b[tcpSrcPort:], p) }

// SetDstPort sets the destination port. It does not update the checksum.
func (b TCP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(b[tcpDstPort:], p) }

// Seq returns the sequence number.
func (b TCP) Seq() uint32 { return binary.BigEndian.Uint32(b[tcpSeq:]) }

// SetSeq sets the sequence number.
func (b TCP) SetSeq(v uint32) { binary.BigEndian.PutUint32(b[tcpSeq:], v) }

// Ack returns the acknowledgment number.
func (b TCP) Ack() uint32 { return binary.BigEndian.Uint32(b[tcpAck:]) }

// SetAck sets the acknowledgment number.
func (b TCP) SetAck(v uint32) { binary.BigEndian.PutUint32(b[tcpAck:], v) }

// DataOffset returns the header length in bytes (Data Offset * 4).
func (b TCP) DataOffset() int { return int(b[tcpDataOffset]>>4) * 4 }

// Flags returns the eight flag bits (TCPFlagFIN ... TCPFlagCWR).
func (b TCP) Flags() uint8 { return b[tcpFlags] }

// SetFlags sets the eight flag bits.
func (b TCP) SetFlags(f uint8) { b[tcpFlags] = f }

// Window returns the (unscaled) receive window.
func (b TCP) Window() uint16 { return binary.BigEndian.Uint16(b[tcpWindow:]) }

// SetWindow sets the receive window.
func (b TCP) SetWindow(v uint16) { binary.BigEndian.PutUint16(b[tcpWindow:], v) }

// Checksum returns the stored checksum.
func (b TCP) Checksum() uint16 { return binary.BigEndian.Uint16(b[tcpChecksum:]) }

// SetChecksum stores a checksum.
func (b TCP) SetChecksum(v uint16) { binary.BigEndian.PutUint16(b[tcpChecksum:], v) }

// UrgentPointer returns the urgent pointer.
func (b TCP) UrgentPointer() uint16 { return binary.BigEndian.Uint16(b[tcpUrgent:]) }

// Options returns the option bytes between the fixed header and Data
// Offset. Parse them with TCPOptionIter or the TCPOption* helpers.
func (b TCP) Options() []byte { return b[tcpOptions:b.DataOffset()] }

// Payload returns the bytes after the header.
func (b TCP) Payload() []byte { return b[b.DataOffset():] }

// CalculateChecksum returns the value to store in the checksum field, given
// the pseudo-header sum (IPv4.PseudoHeaderChecksum or
// IPv6.PseudoHeaderChecksum with ProtoTCP and len(b)). The checksum field is
// taken as zero and not modified.
func (b TCP) CalculateChecksum(pseudo uint16) uint16 {
	s := checksum.Checksum(b[:tcpChecksum], pseudo)
	s = checksum.Checksum(b[tcpChecksum+2:], s)
	return ^s
}

// IsChecksumValid reports whether the segment with the stored checksum sums
// to 0xffff together with the pseudo-header sum.
func (b TCP) IsChecksumValid(pseudo uint16) bool {
	return checksum.Checksum(b, pseudo) == 0xffff
}

// TCPFields holds the values EncodeTCP writes.
type TCPFields struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	DataOffset       int // header length in bytes; 0 means TCPMinSize
	Flags            uint8
	Window           uint16
	Checksum         uint16
	UrgentPointer    uint16
}

// EncodeTCP writes the 20-byte fixed TCP header into b and returns
// TCPMinSize. Options, if DataOffset announces any, are the caller's to
// write after it; so is the checksum, which needs the payload.
func EncodeTCP(b []byte, f TCPFields) int {
	h := TCP(b[:TCPMinSize])
	do := f.DataOffset
	if do == 0 {
		do = TCPMinSize
	}
	h.SetSrcPort(f.SrcPort)
	h.SetDstPort(f.DstPort)
	h.SetSeq(f.Seq)
	h.SetAck(f.Ack)
	h[tcpDataOffset] = uint8(do/4) << 4
	h.SetFlags(f.Flags)
	h.SetWindow(f.Window)
	h.SetChecksum(f.Checksum)
	binary.BigEndian.PutUint16(h[tcpUrgent:], f.UrgentPointer)
	return TCPMinSize
}

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	TCPOptionEOL           = 0
	TCPOptionNOP           = 1
	TCPOptionKindMSS       = 2 // RFC 9293 §3.2
	TCPOptionKindWScale    = 3 // RFC 7323 §2
	TCPOptionKindSACKPerm  = 4 // RFC 2018
	TCPOptionKindSACK      = 5 // RFC 2018
	TCPOptionKindTimestamp = 8 // RFC 7323 §3
)

// TCPOptionIter walks TCP options. It never panics: a malformed option
// (length < 2 or past the end) ends the walk and sets Err.
//
//	it := packet.TCPOptionIter{Opts: tcp.Options()}
//	for it.Next() { use(it.Kind, it.Data, it.Offset) }
type TCPOptionIter struct {
	Opts []byte
	// Kind, Data and Offset describe the current option after a Next that
	// returned true. Data excludes the kind and length octets; Offset is
	// the position of the kind octet in Opts.
	Kind   uint8
	Data   []byte
	Offset int
	// Err is set when the walk ended on a malformed option.
	Err bool

	pos int
}

// Next advances to the next option other than NOP. It returns false at
// End of Option List, at the end of Opts, or on a malformed option.
func (it *TCPOptionIter) Next() bool {
	for it.pos < len(it.Opts) {
		kind := it.Opts[it.pos]
		switch kind {
		case TCPOptionEOL:
			it.pos = len(it.Opts)
			return false
		case TCPOptionNOP:
			it.pos++
			continue
		}
		if len(it.Opts)-it.pos < 2 {
			it.Err = true
			it.pos = len(it.Opts)
			return false
		}
		l := int(it.Opts[it.pos+1])
		if l < 2 || l > len(it.Opts)-it.pos {
			it.Err = true
			it.pos = len(it.Opts)
			return false
		}
		it.Kind = kind
		it.Data = it.Opts[it.pos+2 : it.pos+l]
		it.Offset = it.pos
		it.pos += l
		return true
	}
	return false
}

// TCPOptionMSSOffset returns the offset within opts of the 2-byte MSS value
// (so that an MSS clamp can rewrite it and fix the checksum with
// checksum.Update16), or -1 if there is no well-formed MSS option.
func TCPOptionMSSOffset(opts []byte) int {
	it := TCPOptionIter{Opts: opts}
	for it.Next() {
		if it.Kind == TCPOptionKindMSS && len(it.Data) == 2 {
			return it.Offset + 2
		}
	}
	return -1
}

// TCPOptionMSS returns the Maximum Segment Size option value.
func TCPOptionMSS(opts []byte) (uint16, bool) {
	off := TCPOptionMSSOffset(opts)
	if off < 0 {
		return 0, false
	}
	return binary.BigEndian.Uint16(opts[off:]), true
}

// TCPOptionWindowScale returns the Window Scale shift count.
func TCPOptionWindowScale(opts []byte) (uint8, bool) {
	it := TCPOptionIter{Opts: opts}
	for it.Next() {
		if it.Kind == TCPOptionKindWScale && len(it.Data) == 1 {
			return it.Data[0], true
		}
	}
	return 0, false
}

// TCPOptionSACKPermitted reports whether the SACK-permitted option is
// present.
func TCPOptionSACKPermitted(opts []byte) bool {
	it := TCPOptionIter{Opts: opts}
	for it.Next() {
		if it.Kind == TCPOptionKindSACKPerm && len(it.Data) == 0 {
			return true
		}
	}
	return false
}

// TCPOptionTimestamp returns the Timestamps option's TSval and TSecr.
func TCPOptionTimestamp(opts []byte) (val, echo uint32, ok bool) {
	it := TCPOptionIter{Opts: opts}
	for it.Next() {
		if it.Kind == TCPOptionKindTimestamp && len(it.Data) == 8 {
			return binary.BigEndian.Uint32(it.Data), binary.BigEndian.Uint32(it.Data[4:]), true
		}
	}
	return 0, 0, false
}
