package nat64

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"xdpgw/dataplane/packet"
)

// randFrame is an Ethernet frame at offset 64 of a 2048-byte buffer holding
// an IPv6 (v == 6) or IPv4 packet with TCP or UDP, mostly the fast paths'
// case and sometimes not: extension headers, options, fragments, zero UDP
// checksums, sizes around the MTUs, cut or padded frames.
func randFrame(r *rand.Rand, v int) (buf []byte, off, n int) {
	buf = make([]byte, 2048)
	off = 64
	l2 := buf[off:]
	for i := 0; i < 12; i++ {
		l2[i] = byte(r.Uint32())
	}
	proto := uint8(packet.ProtoUDP)
	if r.IntN(2) == 0 {
		proto = packet.ProtoTCP
	}
	pl := 8 + r.IntN(40)
	if r.IntN(4) == 0 {
		pl = 1200 + r.IntN(400) // around DF's 1260 and the MTUs
	}
	if r.IntN(16) == 0 {
		pl = r.IntN(24) // maybe too short for its header
	}
	l3 := l2[14:]
	var n3 int
	if v == 6 {
		binary.BigEndian.PutUint16(l2[12:], packet.EtherTypeIPv6)
		binary.BigEndian.PutUint32(l3[0:], 6<<28|r.Uint32()&0x0fffffff)
		l3[6] = proto
		l3[7] = byte(r.Uint32())
		for i := 8; i < 40; i++ {
			l3[i] = byte(r.Uint32())
		}
		h := 40
		if r.IntN(8) == 0 { // a Destination Options or Fragment header
			if r.IntN(2) == 0 {
				copy(l3[h:], []byte{proto, 0, 1, 4, 0, 0, 0, 0})
				l3[6] = packet.ProtoDestOpts
			} else {
				copy(l3[h:], []byte{proto, 0, 0, byte(r.IntN(2)), 1, 2, 3, 4})
				l3[6] = packet.ProtoFragment
			}
			h += 8
		}
		binary.BigEndian.PutUint16(l3[4:], uint16(h-40+pl))
		n3 = h + pl
		for i := h; i < n3; i++ {
			l3[i] = byte(r.Uint32())
		}
		l4Lengths(l3[h:n3], proto)
	} else {
		binary.BigEndian.PutUint16(l2[12:], packet.EtherTypeIPv4)
		hl := 20
		if r.IntN(8) == 0 {
			hl = 24 // a No Operation option, padded
			copy(l3[20:], []byte{1, 1, 1, 0})
		}
		l3[0] = 0x40 | byte(hl/4)
		l3[1] = byte(r.Uint32())
		binary.BigEndian.PutUint16(l3[2:], uint16(hl+pl))
		binary.BigEndian.PutUint32(l3[4:], r.Uint32()&^0x1fff)
		if r.IntN(8) == 0 {
			binary.BigEndian.PutUint32(l3[4:], r.Uint32()) // maybe a fragment
		}
		l3[8] = byte(r.Uint32())
		l3[9] = proto
		for i := 12; i < 20; i++ {
			l3[i] = byte(r.Uint32())
		}
		n3 = hl + pl
		for i := hl; i < n3; i++ {
			l3[i] = byte(r.Uint32())
		}
		l4Lengths(l3[hl:n3], proto)
		if proto == packet.ProtoUDP && pl >= 8 && r.IntN(8) == 0 {
			l3[hl+6], l3[hl+7] = 0, 0
		}
		packet.IPv4(l3).SetChecksum(0)
		packet.IPv4(l3).SetChecksum(packet.IPv4(l3[:hl]).CalculateChecksum())
	}
	n = 14 + n3
	if r.IntN(8) == 0 {
		n += r.IntN(20) // Ethernet padding
	}
	if r.IntN(32) == 0 {
		n -= r.IntN(8) // cut short
	}
	return buf, off, n
}

// l4Lengths makes the UDP length and TCP data offset of seg agree with
// its size, so that most packets decode.
func l4Lengths(seg []byte, proto uint8) {
	switch {
	case proto == packet.ProtoUDP && len(seg) >= 8:
		binary.BigEndian.PutUint16(seg[4:], uint16(len(seg)))
	case proto == packet.ProtoTCP && len(seg) >= 20:
		seg[12] = 5 << 4
	}
}

func randAddrs(r *rand.Rand) *Addrs {
	a := &Addrs{SrcPort: uint16(r.Uint32()), DstPort: uint16(r.Uint32()), ID: uint16(r.Uint32())}
	binary.LittleEndian.PutUint32(a.Src4[:], r.Uint32())
	binary.LittleEndian.PutUint32(a.Dst4[:], r.Uint32())
	for i := range a.Src6 {
		a.Src6[i], a.Dst6[i] = byte(r.Uint32()), byte(r.Uint32())
	}
	return a
}

func randConfig(r *rand.Rand) *Config {
	return &Config{
		MTU4:              []int{0, 1280, 1500, 1400}[r.IntN(4)],
		MTU6:              []int{0, 1280, 1500, 1400}[r.IntN(4)],
		ZeroTrafficClass:  r.IntN(2) == 0,
		IPv4HeaderChecked: r.IntN(4) != 0,
	}
}

// TestFastPathsMatchGeneral: where v6ToV4Fast and v4ToV6Fast take a
// packet, the general paths write the same frame, Off and Len; where they
// do not, they leave the frame unchanged.
func TestFastPathsMatchGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 64))
	var fast [2]int
	for i := range 200000 {
		v := 4 + 2*(i&1)
		buf, off, n := randFrame(r, v)
		a, c := randAddrs(r), randConfig(r)
		var p packet.Parsed
		p.Decode(buf[off : off+n])
		fa := &Frame{Buf: append([]byte(nil), buf...), Off: off, Len: n}
		fb := &Frame{Buf: append([]byte(nil), buf...), Off: off, Len: n}
		l3, fend, ok := frameL3(fa, &p, uint8(v))
		if !ok {
			continue
		}
		var took bool
		var rb Result
		if v == 6 {
			ip := packet.IPv6(fa.Buf[l3:fend])
			if !ip.IsValid(len(ip)) {
				continue
			}
			took = v6ToV4Fast(fa, &p, a, c, l3, ip)
			rb = v6ToV4(fb, &p, a, c, l3, packet.IPv6(fb.Buf[l3:fend]))
		} else {
			ip := packet.IPv4(fa.Buf[l3:fend])
			if !ip.IsValid(len(ip)) {
				continue
			}
			took = v4ToV6Fast(fa, &p, a, c, l3, ip)
			_, rb = v4ToV6(fb, &p, a, c, nil, l3, packet.IPv4(fb.Buf[l3:fend]))
		}
		if !took {
			if !bytes.Equal(fa.Buf, buf) || fa.Off != off || fa.Len != n {
				t.Fatalf("case %d (IPv%d): the fast path refused the packet but changed the frame", i, v)
			}
			continue
		}
		fast[v/6]++
		if rb != ResultOK || !bytes.Equal(fa.Buf, fb.Buf) || fa.Off != fb.Off || fa.Len != fb.Len {
			t.Fatalf("case %d (IPv%d): fast Off %d Len %d, general %v Off %d Len %d\n fast %x\n  gen %x",
				i, v, fa.Off, fa.Len, rb, fb.Off, fb.Len, fa.Data(), fb.Data())
		}
	}
	// Both fast paths must have been exercised for the comparison to mean
	// anything.
	if fast[0] < 10000 || fast[1] < 10000 {
		t.Fatalf("fast paths taken %v times (IPv4, IPv6): the generator misses them", fast)
	}
}
