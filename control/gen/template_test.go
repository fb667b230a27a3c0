package gen_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"xdpgw/control/gen"
)

func tmpl(kind gen.Kind, src, dst string) gen.Template {
	t := gen.Template{Kind: kind, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst)}
	if kind == gen.KindGRE {
		t.OuterSrc, t.OuterDst, t.Key = netip.MustParseAddr("198.19.0.2"), netip.MustParseAddr("198.19.0.1"), 1000
	}
	return t
}

// checkL4 verifies the transport checksum of the innermost layer the way
// a receiver does: gopacket recomputes it on re-serialization.
func checkL4(tb testing.TB, p gopacket.Packet) {
	tb.Helper()
	var netw gopacket.NetworkLayer
	for _, l := range p.Layers() {
		if n, ok := l.(gopacket.NetworkLayer); ok {
			netw = n
		}
	}
	var got uint16
	var ser gopacket.SerializableLayer
	switch l := p.TransportLayer().(type) {
	case *layers.UDP:
		got = l.Checksum
		c := *l
		c.SetNetworkLayerForChecksum(netw)
		ser = &c
	case *layers.TCP:
		got = l.Checksum
		c := *l
		c.SetNetworkLayerForChecksum(netw)
		ser = &c
	default:
		tb.Fatalf("no transport layer")
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ser, gopacket.Payload(p.TransportLayer().LayerPayload())); err != nil {
		tb.Fatal(err)
	}
	var want uint16
	switch ser.(type) {
	case *layers.UDP:
		want = binary.BigEndian.Uint16(buf.Bytes()[6:])
	case *layers.TCP:
		want = binary.BigEndian.Uint16(buf.Bytes()[16:])
	}
	if got != want {
		tb.Errorf("transport checksum %#04x, want %#04x", got, want)
	}
}

func TestTemplates(t *testing.T) {
	for _, tt := range []struct {
		name   string
		t      gen.Template
		layers []gopacket.LayerType
	}{
		{"udp4", tmpl(gen.KindUDP, "198.18.0.7", "198.19.0.2"),
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeUDP}},
		{"udp6", tmpl(gen.KindUDP, "fd00:a::2", "fd00:b::2"),
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv6, layers.LayerTypeUDP}},
		{"gre", tmpl(gen.KindGRE, "10.0.0.7", "198.18.0.7"),
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeGRE, layers.LayerTypeIPv4, layers.LayerTypeUDP}},
		{"nat64", tmpl(gen.KindNAT64, "fd00:a::2", "fd00:64::198.19.0.2"),
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv6, layers.LayerTypeUDP}},
		{"syn4", tmpl(gen.KindSYN, "198.18.0.7", "198.19.0.2"),
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeTCP}},
		{"syn6", tmpl(gen.KindSYN, "fd00:a::2", "fd00:b::2"),
			[]gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv6, layers.LayerTypeTCP}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm := tt.t
			tm.SrcPort, tm.DstPort = 4000, 9
			b, err := tm.Frame()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) < 60 {
				t.Errorf("frame of %d bytes, want at least 60", len(b))
			}
			p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("decode: %v", el.Error())
			}
			var got []gopacket.LayerType
			for _, l := range p.Layers() {
				if l.LayerType() != gopacket.LayerTypePayload {
					got = append(got, l.LayerType())
				}
			}
			if len(got) != len(tt.layers) {
				t.Fatalf("layers %v, want %v", got, tt.layers)
			}
			for i := range got {
				if got[i] != tt.layers[i] {
					t.Fatalf("layers %v, want %v", got, tt.layers)
				}
			}
			// The innermost network layer carries the template's addresses.
			var src, dst net.IP
			for _, l := range p.Layers() {
				switch n := l.(type) {
				case *layers.IPv4:
					src, dst = n.SrcIP, n.DstIP
					if n.TTL != 64 {
						t.Errorf("TTL %d", n.TTL)
					}
				case *layers.IPv6:
					src, dst = n.SrcIP, n.DstIP
				case *layers.GRE:
					if !n.KeyPresent || n.Key != 1000 {
						t.Errorf("GRE key present %v key %d, want 1000", n.KeyPresent, n.Key)
					}
				}
			}
			if a, _ := netip.AddrFromSlice(src); a.Unmap() != tm.Src {
				t.Errorf("inner source %v, want %v", src, tm.Src)
			}
			if a, _ := netip.AddrFromSlice(dst); a.Unmap() != tm.Dst {
				t.Errorf("inner destination %v, want %v", dst, tm.Dst)
			}
			checkL4(t, p)
			// The rewrite offsets point at the source port and its checksum.
			rw := tm.Offsets()
			if port := binary.BigEndian.Uint16(b[rw.PortOff:]); port != 4000 {
				t.Errorf("source port at offset %d is %d, want 4000", rw.PortOff, port)
			}
			if rw.HdrEnd > len(b) || rw.CsumOff+2 > rw.HdrEnd {
				t.Errorf("offsets %+v outside the %d-byte frame", rw, len(b))
			}
		})
	}
}

// TestPortRewrite applies the sender program's arithmetic (RFC 1624
// incremental update, as the BPF program does it on 16-bit words loaded
// little-endian) to every template and checks the result with gopacket.
func TestPortRewrite(t *testing.T) {
	for _, tm := range []gen.Template{
		tmpl(gen.KindUDP, "198.18.0.7", "198.19.0.2"),
		tmpl(gen.KindGRE, "10.0.0.7", "198.18.0.7"),
		tmpl(gen.KindNAT64, "fd00:a::2", "fd00:64::198.19.0.2"),
		tmpl(gen.KindSYN, "fd00:a::2", "fd00:b::2"),
	} {
		b, err := tm.Frame()
		if err != nil {
			t.Fatal(err)
		}
		rw := tm.Offsets()
		for _, port := range []uint16{1, 1025, 4242, 65535} {
			f := append([]byte(nil), b...)
			le := binary.LittleEndian
			newRaw := uint64(le.Uint16(binary.BigEndian.AppendUint16(nil, port)))
			old := uint64(le.Uint16(f[rw.PortOff:]))
			le.PutUint16(f[rw.PortOff:], uint16(newRaw))
			sum := (uint64(le.Uint16(f[rw.CsumOff:])) ^ 0xffff) + (old ^ 0xffff) + newRaw
			sum = sum&0xffff + sum>>16
			sum = sum&0xffff + sum>>16
			c := sum ^ 0xffff
			if rw.UDP && c == 0 {
				c = 0xffff
			}
			le.PutUint16(f[rw.CsumOff:], uint16(c))
			p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
			checkL4(t, p)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		t    gen.Template
	}{
		{"no addresses", gen.Template{Kind: gen.KindUDP}},
		{"mixed families", tmpl(gen.KindUDP, "198.18.0.7", "fd00::1")},
		{"nat64 with IPv4", tmpl(gen.KindNAT64, "198.18.0.7", "198.19.0.2")},
		{"gre without outer", gen.Template{Kind: gen.KindGRE, Src: netip.MustParseAddr("10.0.0.7"), Dst: netip.MustParseAddr("198.18.0.7")}},
		{"flows past 65535", func() gen.Template {
			x := tmpl(gen.KindUDP, "198.18.0.7", "198.19.0.2")
			x.SrcPort, x.Flows = 65000, 1000
			return x
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.t.Frame(); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestPadding(t *testing.T) {
	tm := tmpl(gen.KindUDP, "198.18.0.7", "198.19.0.2")
	tm.Size = 1000
	b, err := tm.Frame()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 1000 {
		t.Errorf("len %d, want 1000", len(b))
	}
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	if ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ip.Length != 1000-14 {
		t.Errorf("IPv4 length %d, want %d", ip.Length, 1000-14)
	}
}
