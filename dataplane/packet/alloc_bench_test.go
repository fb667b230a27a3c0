package packet_test

import (
	"testing"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

func benchFrames() map[string][]byte {
	return map[string][]byte{
		"IPv4TCP":    eth(packet.EtherTypeIPv4, ipv4(packet.ProtoTCP, tcpSeg(make([]byte, 1400)...))),
		"IPv6ExtUDP": eth(packet.EtherTypeIPv6, ipv6(packet.ProtoHopByHop, cat(ext(60), ext(44), fragHdr(packet.ProtoUDP, 0, true), udpSeg(make([]byte, 1200)...)))),
		"GRE":        eth(packet.EtherTypeIPv4, ipv4(packet.ProtoGRE, cat(greHdr(packet.EtherTypeIPv4, 1234, true), ipv4(packet.ProtoUDP, udpSeg(make([]byte, 1000)...)))), 42),
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	for name, frame := range benchFrames() {
		t.Run(name, func(t *testing.T) {
			var p packet.Parsed
			n := testing.AllocsPerRun(100, func() {
				p.Decode(frame)
				if p.Proto == packet.ProtoGRE {
					p.DecodeL3(frame, p.L4Off+p.GREHdrLen, p.GREProto)
				}
			})
			if n != 0 {
				t.Errorf("AllocsPerRun = %v, want 0", n)
			}
			if p.Status != packet.DecodeOK {
				t.Fatalf("Status = %v", p.Status)
			}
		})
	}
}

func TestSettersNoAllocs(t *testing.T) {
	frame := eth(packet.EtherTypeIPv4, ipv4(packet.ProtoTCP, tcpSeg(make([]byte, 100)...)), 5)
	var p packet.Parsed
	p.Decode(frame)
	v6 := ipv6(packet.ProtoUDP, udpSeg(1, 2))
	buf := make([]byte, 128)
	n := testing.AllocsPerRun(100, func() {
		e := packet.Ethernet(frame)
		e.SetDst(e.Src())
		e.SetEtherType(e.EtherType())
		packet.VLAN(frame[14:]).SetVID(7)
		ip := packet.IPv4(frame[p.L3Off:])
		old := ip.Src()
		ip.SetSrc(v4B)
		ip.SetChecksum(checksum.Update32(ip.Checksum(), old, v4B))
		ip.SetTTL(ip.TTL() - 1)
		ip.SetTOS(0)
		ip.SetID(1)
		ip.SetFlagsFragmentOffset(packet.IPv4FlagDF, 0)
		ip.SetChecksum(ip.CalculateChecksum())
		tcp := packet.TCP(frame[p.L4Off:])
		tcp.SetSrcPort(1)
		tcp.SetDstPort(2)
		tcp.SetFlags(packet.TCPFlagACK)
		tcp.SetChecksum(tcp.CalculateChecksum(ip.PseudoHeaderChecksum(packet.ProtoTCP, uint16(len(tcp)))))
		_, _ = packet.TCPOptionMSS(tcp.Options())
		ip6 := packet.IPv6(v6)
		ip6.SetSrc(v6B)
		ip6.SetHopLimit(9)
		ip6.SetFlowLabel(3)
		ip6.SetTrafficClass(1)
		u := packet.UDP(ip6.Payload())
		u.SetDstPort(9)
		u.SetChecksum(u.CalculateChecksum(ip6.PseudoHeaderChecksum(packet.ProtoUDP, uint32(len(u)))))
		packet.EncodeEthernet(buf, macA, macB, packet.EtherTypeIPv6)
		packet.EncodeIPv6(buf[14:], packet.IPv6Fields{Src: v6A, Dst: v6B})
		packet.EncodeIPv4(buf[14:], packet.IPv4Fields{Src: v4A, Dst: v4B})
		packet.EncodeGRE(buf[34:], packet.EtherTypeTEB, 5, true)
		packet.GRE(buf[34:]).SetKey(6)
		packet.EncodeUDP(buf[42:], 1, 2, 8, 0)
		packet.EncodeTCP(buf[42:], tcpHd)
		packet.EncodeICMPv4(buf[42:], 3, 4, 1400)
		packet.EncodeICMPv6(buf[42:], 2, 0, 1280)
		packet.EncodeARP(buf[14:], packet.ARPReply, macA, v4A, macB, v4B)
		packet.EncodeIPv6Fragment(buf[54:], 17, 8, true, 1)
	})
	if n != 0 {
		t.Errorf("AllocsPerRun = %v, want 0", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"IPv4TCP", "IPv6ExtUDP", "GRE"} {
		frame := benchFrames()[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var p packet.Parsed
			for b.Loop() {
				p.Decode(frame)
			}
			if p.Status != packet.DecodeOK {
				b.Fatalf("Status = %v", p.Status)
			}
		})
	}
}

// BenchmarkDecodeGREInner is outer decode plus the inner DecodeL3, the full
// per-packet parse on the overlay ingress path.
func BenchmarkDecodeGREInner(b *testing.B) {
	frame := benchFrames()["GRE"]
	b.ReportAllocs()
	var p packet.Parsed
	for b.Loop() {
		p.Decode(frame)
		p.DecodeL3(frame, p.L4Off+p.GREHdrLen, p.GREProto)
	}
}

// BenchmarkNATRewrite4 is a NAT44-style rewrite: source address and port,
// with incremental IPv4 header and TCP checksum updates (RFC 1624).
func BenchmarkNATRewrite4(b *testing.B) {
	frame := benchFrames()["IPv4TCP"]
	var p packet.Parsed
	p.Decode(frame)
	ip := packet.IPv4(frame[p.L3Off:])
	tcp := packet.TCP(frame[p.L4Off:])
	addrs := [2][4]byte{v4A, v4B}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		old, nw := ip.Src(), addrs[i&1]
		i++
		ip.SetSrc(nw)
		ip.SetChecksum(checksum.Update32(ip.Checksum(), old, nw))
		c := checksum.Update32(tcp.Checksum(), old, nw)
		oldPort := tcp.SrcPort()
		tcp.SetSrcPort(oldPort + 1)
		tcp.SetChecksum(checksum.Update16(c, oldPort, oldPort+1))
	}
}

func BenchmarkIPv4Checksum(b *testing.B) {
	ip := packet.IPv4(ipv4(packet.ProtoUDP, udpSeg()))
	b.ReportAllocs()
	for b.Loop() {
		ip.SetChecksum(ip.CalculateChecksum())
	}
}

// BenchmarkChecksum1500 and BenchmarkUpdate32 mirror the checksum package's
// benchmarks from the packet side (TCP checksum over a 1500-byte segment).
func BenchmarkChecksum1500(b *testing.B) {
	frame := eth(packet.EtherTypeIPv4, ipv4(packet.ProtoTCP, tcpSeg(make([]byte, 1460)...)))
	var p packet.Parsed
	p.Decode(frame)
	ip := packet.IPv4(frame[p.L3Off:])
	tcp := packet.TCP(frame[p.L4Off:])
	b.SetBytes(int64(len(tcp)))
	b.ReportAllocs()
	for b.Loop() {
		tcp.SetChecksum(tcp.CalculateChecksum(ip.PseudoHeaderChecksum(packet.ProtoTCP, uint16(len(tcp)))))
	}
}

func BenchmarkUpdate32(b *testing.B) {
	ip := packet.IPv4(ipv4(packet.ProtoUDP, udpSeg()))
	b.ReportAllocs()
	addrs := [2][4]byte{v4A, v4B}
	i := 0
	for b.Loop() {
		old, nw := ip.Src(), addrs[i&1]
		i++
		ip.SetSrc(nw)
		ip.SetChecksum(checksum.Update32(ip.Checksum(), old, nw))
	}
}
