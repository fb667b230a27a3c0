package packet

import "encoding/binary"

// ARP operation codes (RFC 826).
const (
	ARPRequest = 1
	ARPReply   = 2
)

// ARPHTypeEthernet is the ARP hardware type for Ethernet (RFC 826, IANA).
const ARPHTypeEthernet = 1

// ARP is an ARP packet for IPv4 over Ethernet (RFC 826), the only form the
// gateway answers or learns from:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Hardware Type          |         Protocol Type         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  HW Len (6)   | Proto Len (4) |           Operation           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Sender Hardware Address (6)                   |
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |  Sender Protocol Address (4)  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                 Target Hardware Address (6)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Target Protocol Address (4)                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Call IsValid once; the accessors are then unchecked and assume the fixed
// Ethernet/IPv4 layout above.
type ARP []byte

const (
	arpHType = 0
	arpPType = 2
	arpHLen  = 4
	arpPLen  = 5
	arpOp    = 6
	arpSHA   = 8
	arpSPA   = 14
	arpTHA   = 18
	arpTPA   = 24
)

// IsValid reports whether a is at least ARPSize bytes long and describes
// Ethernet (htype 1, hlen 6) and IPv4 (ptype 0x0800, plen 4) addresses.
// Other hardware or protocol types have a different layout and are not ours.
func (a ARP) IsValid() bool {
	return len(a) >= ARPSize &&
		a.HType() == ARPHTypeEthernet && a.PType() == EtherTypeIPv4 &&
		a[arpHLen] == 6 && a[arpPLen] == 4
}

// HType returns the hardware type.
func (a ARP) HType() uint16 { return binary.BigEndian.Uint16(a[arpHType:]) }

// PType returns the protocol type.
func (a ARP) PType() uint16 { return binary.BigEndian.Uint16(a[arpPType:]) }

// HLen returns the hardware address length.
func (a ARP) HLen() uint8 { return a[arpHLen] }

// PLen returns the protocol address length.
func (a ARP) PLen() uint8 { return a[arpPLen] }

// Op returns the operation (ARPRequest or ARPReply).
func (a ARP) Op() uint16 { return binary.BigEndian.Uint16(a[arpOp:]) }

// SenderMAC returns the sender hardware address.
func (a ARP) SenderMAC() MAC { return MAC(a[arpSHA : arpSHA+6]) }

// SenderIP returns the sender protocol address.
func (a ARP) SenderIP() [4]byte { return [4]byte(a[arpSPA : arpSPA+4]) }

// TargetMAC returns the target hardware address.
func (a ARP) TargetMAC() MAC { return MAC(a[arpTHA : arpTHA+6]) }

// TargetIP returns the target protocol address.
func (a ARP) TargetIP() [4]byte { return [4]byte(a[arpTPA : arpTPA+4]) }

// SetHType sets the hardware type.
func (a ARP) SetHType(t uint16) { binary.BigEndian.PutUint16(a[arpHType:], t) }

// SetPType sets the protocol type.
func (a ARP) SetPType(t uint16) { binary.BigEndian.PutUint16(a[arpPType:], t) }

// SetOp sets the operation.
func (a ARP) SetOp(op uint16) { binary.BigEndian.PutUint16(a[arpOp:], op) }

// SetSenderMAC sets the sender hardware address.
func (a ARP) SetSenderMAC(m MAC) { copy(a[arpSHA:arpSHA+6], m[:]) }

// SetSenderIP sets the sender protocol address.
func (a ARP) SetSenderIP(ip [4]byte) { copy(a[arpSPA:arpSPA+4], ip[:]) }

// SetTargetMAC sets the target hardware address.
func (a ARP) SetTargetMAC(m MAC) { copy(a[arpTHA:arpTHA+6], m[:]) }

// SetTargetIP sets the target protocol address.
func (a ARP) SetTargetIP(ip [4]byte) { copy(a[arpTPA:arpTPA+4], ip[:]) }

// EncodeARP writes a complete Ethernet/IPv4 ARP packet into b and returns
// ARPSize. b must have room for it.
func EncodeARP(b []byte, op uint16, senderMAC MAC, senderIP [4]byte, targetMAC MAC, targetIP [4]byte) int {
	a := ARP(b[:ARPSize])
	a.SetHType(ARPHTypeEthernet)
	a.SetPType(EtherTypeIPv4)
	a[arpHLen] = 6
	a[arpPLen] = 4
	a.SetOp(op)
	a.SetSenderMAC(senderMAC)
	a.SetSenderIP(senderIP)
	a.SetTargetMAC(targetMAC)
	a.SetTargetIP(targetIP)
	return ARPSize
}
