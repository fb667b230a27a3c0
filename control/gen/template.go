package gen

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Kind names a frame template.
type Kind string

// The templates.
const (
	// UDP over IPv4 or IPv6 (the family of Src and Dst).
	KindUDP Kind = "udp"
	// GRE overlay, tenant -> Internet: Ethernet / IPv4 (OuterSrc ->
	// OuterDst, protocol 47) / GRE with key (RFC 2890) / IPv4 (Src -> Dst) /
	// UDP. The gateway decapsulates it, routes it in the key's VRF and SNATs
	// it to the tenant's EIP.
	KindGRE Kind = "gre"
	// UDP over IPv6 towards a NAT64 prefix (Dst is an RFC 6052 address,
	// e.g. fd00:64::10.20.2.2): the same as udp with IPv6 addresses, named
	// for what it exercises.
	KindNAT64 Kind = "nat64"
	// TCP SYN (with an MSS option) over IPv4 or IPv6: a SYN flood when
	// Flows is large.
	KindSYN Kind = "syn"
)

// Kinds lists the templates, for usage messages.
var Kinds = []Kind{KindUDP, KindGRE, KindNAT64, KindSYN}

// ParseKind accepts a template name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == strings.ToLower(s) {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown template %q (want one of %v)", s, Kinds)
}

// Template describes the frame a run sends. The zero values of the
// optional fields are filled by Defaults.
type Template struct {
	Kind           Kind
	SrcMAC, DstMAC net.HardwareAddr
	Src, Dst       netip.Addr // inner addresses for gre
	SrcPort        uint16     // first source port; flows vary it upwards
	DstPort        uint16
	TTL            uint8
	// Size is the frame length without the FCS (60 is the 64-byte minimum
	// Ethernet frame); the payload is padded with zeros to reach it. A
	// template larger than Size is sent at its natural size.
	Size int
	// Flows is the number of distinct flows: the source port takes the
	// values SrcPort .. SrcPort+Flows-1 in turn, frame by frame.
	Flows int
	// GRE only.
	OuterSrc, OuterDst netip.Addr
	Key                uint32
}

// Defaults fills what is unset: MACs 02:00:00:00:00:01 -> :02, ports
// 1024 -> 9, TTL 64, one flow, 60-byte frames.
func (t *Template) Defaults() {
	if t.Kind == "" {
		t.Kind = KindUDP
	}
	if t.SrcMAC == nil {
		t.SrcMAC = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	}
	if t.DstMAC == nil {
		t.DstMAC = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	}
	if t.SrcPort == 0 {
		t.SrcPort = 1024
	}
	if t.DstPort == 0 {
		t.DstPort = 9
	}
	if t.TTL == 0 {
		t.TTL = 64
	}
	if t.Flows == 0 {
		t.Flows = 1
	}
	if t.Size == 0 {
		t.Size = 60
	}
}

// Validate reports the first inconsistency of a (defaulted) template.
func (t *Template) Validate() error {
	switch {
	case !t.Src.IsValid() || !t.Dst.IsValid():
		return errors.New("template: source and destination addresses are required")
	case t.Src.Is4() != t.Dst.Is4():
		return fmt.Errorf("template: %v and %v are not of one address family", t.Src, t.Dst)
	case t.Kind == KindNAT64 && t.Src.Is4():
		return errors.New("template nat64: addresses must be IPv6 (the destination inside the NAT64 prefix)")
	case t.Kind == KindGRE && !t.Src.Is4():
		return errors.New("template gre: inner addresses must be IPv4")
	case t.Kind == KindGRE && (!t.OuterSrc.Is4() || !t.OuterDst.Is4()):
		return errors.New("template gre: outer source and destination (IPv4) are required")
	case len(t.SrcMAC) != 6 || len(t.DstMAC) != 6:
		return errors.New("template: MACs must be 6 bytes")
	case t.Flows < 1 || int(t.SrcPort)+t.Flows-1 > 65535:
		return fmt.Errorf("template: %d flows from source port %d run past 65535", t.Flows, t.SrcPort)
	case t.Size < 0 || t.Size > 1514:
		return fmt.Errorf("template: size %d is not 0..1514", t.Size)
	}
	return nil
}

// Rewrite says where the per-frame source port lives in the frame and
// which checksum covers it, for the program that varies flows.
type Rewrite struct {
	PortOff, CsumOff int
	// HdrEnd is where the L4 header ends: the sender restores the bytes
	// before it on every frame.
	HdrEnd int
	// UDP: a computed checksum of 0 is sent as 0xffff (RFC 768: 0 means
	// "no checksum").
	UDP bool
}

// Offsets returns the rewrite offsets of the template's source port.
func (t *Template) Offsets() Rewrite {
	l3 := 14
	if t.Kind == KindGRE {
		l3 = 14 + 20 + 8 // outer IPv4, GRE with key
	}
	l4 := l3 + 20
	if t.Src.Is6() {
		l4 = l3 + 40
	}
	if t.Kind == KindSYN {
		return Rewrite{PortOff: l4, CsumOff: l4 + 16, HdrEnd: l4 + 24}
	}
	return Rewrite{PortOff: l4, CsumOff: l4 + 6, HdrEnd: l4 + 8, UDP: true}
}

func ipOf(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }

// Frame serializes the template with its first flow's source port:
// lengths and checksums computed, padded to Size.
func (t *Template) Frame() ([]byte, error) {
	t.Defaults()
	if err := t.Validate(); err != nil {
		return nil, err
	}
	eth := &layers.Ethernet{SrcMAC: t.SrcMAC, DstMAC: t.DstMAC}
	ls := []gopacket.SerializableLayer{eth}
	hdr := 14
	if t.Kind == KindGRE {
		eth.EthernetType = layers.EthernetTypeIPv4
		ls = append(ls,
			&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolGRE, SrcIP: ipOf(t.OuterSrc), DstIP: ipOf(t.OuterDst)},
			&layers.GRE{KeyPresent: true, Key: t.Key, Protocol: layers.EthernetTypeIPv4})
		hdr += 20 + 8
	}
	var netw gopacket.NetworkLayer
	proto := layers.IPProtocolUDP
	if t.Kind == KindSYN {
		proto = layers.IPProtocolTCP
	}
	if t.Src.Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: t.TTL, Protocol: proto, SrcIP: ipOf(t.Src), DstIP: ipOf(t.Dst), Id: 1}
		if t.Kind != KindGRE {
			eth.EthernetType = layers.EthernetTypeIPv4
		}
		netw = ip
		ls = append(ls, ip)
		hdr += 20
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: t.TTL, NextHeader: proto, SrcIP: ipOf(t.Src), DstIP: ipOf(t.Dst)}
		netw = ip
		ls = append(ls, ip)
		hdr += 40
	}
	switch t.Kind {
	case KindSYN:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(t.SrcPort), DstPort: layers.TCPPort(t.DstPort), Seq: 1, SYN: true, Window: 65535,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}}
		tcp.SetNetworkLayerForChecksum(netw)
		ls = append(ls, tcp)
		hdr += 24
	default:
		udp := &layers.UDP{SrcPort: layers.UDPPort(t.SrcPort), DstPort: layers.UDPPort(t.DstPort)}
		udp.SetNetworkLayerForChecksum(netw)
		ls = append(ls, udp)
		hdr += 8
	}
	// A SYN carries no payload: IP and TCP lengths stay those of the
	// headers, and Ethernet padding (not covered by any length) makes up
	// the size, as a NIC pads a short frame.
	pad := 0
	if t.Size > hdr {
		pad = t.Size - hdr
	}
	if t.Kind != KindSYN && pad > 0 {
		ls = append(ls, gopacket.Payload(make([]byte, pad)))
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Kind, err)
	}
	out := append([]byte(nil), buf.Bytes()...)
	if t.Kind == KindSYN && pad > 0 {
		out = append(out, make([]byte, pad)...)
	}
	return out, nil
}
