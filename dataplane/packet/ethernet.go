package packet

import "encoding/binary"

// MAC is an IEEE 802 48-bit MAC address. It is an array so that it can be
// compared with == and used as a map key without allocation.
type MAC [6]byte

// BroadcastMAC is ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsMulticast reports whether the group bit (the least significant bit of the
// first octet, IEEE 802-2014 §8.2) is set. Broadcast is multicast too.
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

const hexDigits = "0123456789abcdef"

// String formats m as six lower-case colon-separated hex octets. It
// allocates the returned string; use it for logs, not per packet.
func (m MAC) String() string {
	var buf [17]byte
	for i, b := range m {
		if i > 0 {
			buf[3*i-1] = ':'
		}
		buf[3*i] = hexDigits[b>>4]
		buf[3*i+1] = hexDigits[b&0x0f]
	}
	return string(buf[:])
}

// Ethernet is an Ethernet II header (IEEE 802.3 §3.1.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Destination MAC (6 octets)                   |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                     Source MAC (6 octets)                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           EtherType           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The view is unchecked: the caller ensures len >= EthernetSize (Parsed.Decode
// does) before calling any method.
type Ethernet []byte

const (
	ethDst       = 0
	ethSrc       = 6
	ethEtherType = 12
)

// Dst returns the destination MAC address.
func (e Ethernet) Dst() MAC { return MAC(e[ethDst : ethDst+6]) }

// Src returns the source MAC address.
func (e Ethernet) Src() MAC { return MAC(e[ethSrc : ethSrc+6]) }

// SetDst sets the destination MAC address.
func (e Ethernet) SetDst(m MAC) { copy(e[ethDst:ethDst+6], m[:]) }

// SetSrc sets the source MAC address.
func (e Ethernet) SetSrc(m MAC) { copy(e[ethSrc:ethSrc+6], m[:]) }

// EtherType returns the EtherType field. With VLAN tags present this is the
// outer tag's TPID (0x8100 or 0x88a8), not the payload type.
func (e Ethernet) EtherType() uint16 { return binary.BigEndian.Uint16(e[ethEtherType:]) }

// SetAddrs sets the destination and source MAC addresses, reading them
// through pointers as 4- and 2-byte words: the per-packet rewrite of the
// output path, where SetDst and SetSrc copied each array by value first.
func (e Ethernet) SetAddrs(dst, src *MAC) {
	_ = e[11]
	binary.LittleEndian.PutUint32(e[ethDst:], binary.LittleEndian.Uint32(dst[0:4]))
	binary.LittleEndian.PutUint16(e[ethDst+4:], binary.LittleEndian.Uint16(dst[4:6]))
	binary.LittleEndian.PutUint32(e[ethSrc:], binary.LittleEndian.Uint32(src[0:4]))
	binary.LittleEndian.PutUint16(e[ethSrc+4:], binary.LittleEndian.Uint16(src[4:6]))
}

// SetEtherType sets the EtherType field.
func (e Ethernet) SetEtherType(t uint16) { binary.BigEndian.PutUint16(e[ethEtherType:], t) }

// Payload returns the bytes after the 14-byte header (including any VLAN tags).
func (e Ethernet) Payload() []byte { return e[EthernetSize:] }

// EncodeEthernet writes a 14-byte Ethernet header into b and returns
// EthernetSize. b must have room for it.
func EncodeEthernet(b []byte, dst, src MAC, etherType uint16) int {
	e := Ethernet(b[:EthernetSize])
	e.SetDst(dst)
	e.SetSrc(src)
	e.SetEtherType(etherType)
	return EthernetSize
}

// VLAN is the 4 bytes that follow a 0x8100 or 0x88a8 TPID: the Tag Control
// Information and the EtherType of what follows (IEEE 802.1Q-2018 §9.6):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| PCP |D|         VID           |           EtherType           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The view is unchecked: the caller ensures len >= VLANSize.
type VLAN []byte

const (
	vlanTCI       = 0
	vlanEtherType = 2

	vlanVIDMask = 0x0fff
	vlanDEIBit  = 0x1000
	vlanPCPShft = 13
)

// TCI returns the whole 16-bit Tag Control Information.
func (v VLAN) TCI() uint16 { return binary.BigEndian.Uint16(v[vlanTCI:]) }

// SetTCI sets the whole Tag Control Information.
func (v VLAN) SetTCI(tci uint16) { binary.BigEndian.PutUint16(v[vlanTCI:], tci) }

// VID returns the 12-bit VLAN identifier.
func (v VLAN) VID() uint16 { return v.TCI() & vlanVIDMask }

// PCP returns the 3-bit priority code point.
func (v VLAN) PCP() uint8 { return uint8(v.TCI() >> vlanPCPShft) }

// DEI returns the drop eligible indicator.
func (v VLAN) DEI() bool { return v.TCI()&vlanDEIBit != 0 }

// EtherType returns the EtherType of the encapsulated payload (or of the
// next tag).
func (v VLAN) EtherType() uint16 { return binary.BigEndian.Uint16(v[vlanEtherType:]) }

// SetEtherType sets the encapsulated EtherType.
func (v VLAN) SetEtherType(t uint16) { binary.BigEndian.PutUint16(v[vlanEtherType:], t) }

// SetVID sets the VLAN identifier, keeping PCP and DEI. Bits of vid above
// the low 12 are ignored.
func (v VLAN) SetVID(vid uint16) { v.SetTCI(v.TCI()&^vlanVIDMask | vid&vlanVIDMask) }

// SetPCP sets the priority code point, keeping DEI and VID.
func (v VLAN) SetPCP(pcp uint8) {
	v.SetTCI(v.TCI()&^(7<<vlanPCPShft) | uint16(pcp&7)<<vlanPCPShft)
}
