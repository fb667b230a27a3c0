package checksum_test

import (
	"encoding/binary"
	"math/rand"
	"testing"

	"xdpgw/dataplane/checksum"
)

// naiveChecksum is the oracle: the RFC 1071 byte-pair loop with a 32-bit
// accumulator, folded at the end, exactly as the RFC's sample code does it.
func naiveChecksum(b []byte, initial uint16) uint16 {
	sum := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
		// Fold eagerly so the oracle cannot overflow on any length.
		sum = (sum & 0xffff) + (sum >> 16)
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + (sum >> 16)
	}
	return uint16(sum)
}

func TestChecksumMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	buf := make([]byte, 2000+8)
	for n := 0; n <= 2000; n++ {
		for trial := 0; trial < 4; trial++ {
			// Shift the start to exercise unaligned slices.
			start := rng.Intn(8)
			b := buf[start : start+n]
			switch trial {
			case 0: // all 0xff: maximises carries
				for i := range b {
					b[i] = 0xff
				}
			default:
				rng.Read(b)
			}
			initial := uint16(rng.Intn(0x10000))
			if trial == 1 {
				initial = 0xffff
			}
			want := naiveChecksum(b, initial)
			got := checksum.Checksum(b, initial)
			if got != want {
				t.Fatalf("Checksum(len=%d, start=%d, initial=%#04x) = %#04x, want %#04x", n, start, initial, got, want)
			}
		}
	}
}

func TestChecksumKnownValues(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		initial uint16
		want    uint16
	}{
		{name: "empty", in: nil, want: 0},
		{name: "empty with initial", in: nil, initial: 0x1234, want: 0x1234},
		{name: "single odd byte is high byte", in: []byte{0xab}, want: 0xab00},
		// RFC 1071 §3 numerical example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
		{name: "rfc1071 example", in: []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, want: 0xddf2},
		{name: "end-around carry", in: []byte{0xff, 0xff, 0x00, 0x01}, want: 0x0001},
		{name: "all ones is -0", in: []byte{0xff, 0xff, 0xff, 0xff}, want: 0xffff},
		// IPv4 header from RFC 1071 style worked examples (Wikipedia's
		// classic): the stored checksum b861 makes the sum 0xffff.
		{name: "ipv4 header", in: []byte{
			0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
		}, want: 0xffff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checksum.Checksum(tt.in, tt.initial); got != tt.want {
				t.Errorf("Checksum() = %#04x, want %#04x", got, tt.want)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 10000; i++ {
		a, b := uint16(rng.Uint32()), uint16(rng.Uint32())
		var buf [4]byte
		binary.BigEndian.PutUint16(buf[0:], a)
		binary.BigEndian.PutUint16(buf[2:], b)
		if got, want := checksum.Combine(a, b), naiveChecksum(buf[:], 0); got != want {
			t.Fatalf("Combine(%#04x, %#04x) = %#04x, want %#04x", a, b, got, want)
		}
	}
	// Splitting a buffer at an even offset and combining the halves gives
	// the sum of the whole (RFC 1071 §2(B), associativity).
	b := make([]byte, 1500)
	rng.Read(b)
	for split := 0; split <= len(b); split += 2 {
		got := checksum.Combine(checksum.Checksum(b[:split], 0), checksum.Checksum(b[split:], 0))
		if want := checksum.Checksum(b, 0); got != want {
			t.Fatalf("split %d: Combine = %#04x, want %#04x", split, got, want)
		}
	}
}

// store computes the checksum of hdr with the 2-byte field at off treated as
// zero and writes it there, as a header builder would.
func store(hdr []byte, off int) uint16 {
	hdr[off], hdr[off+1] = 0, 0
	c := ^checksum.Checksum(hdr, 0)
	binary.BigEndian.PutUint16(hdr[off:], c)
	return c
}

const csumOff = 10 // same place as the IPv4 header checksum

func TestUpdateMatchesRecompute(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 20000; i++ {
		n := 40 + 2*rng.Intn(40) // even length, room for a 16-byte field
		hdr := make([]byte, n)
		rng.Read(hdr)
		if i%50 == 0 {
			// Mostly-zero data pushes sums to the ±0 boundary.
			clear(hdr)
			hdr[0] = byte(rng.Intn(4))
		}
		csum := store(hdr, csumOff)

		// Fields sit at even offsets that do not overlap the checksum.
		fieldOff := 12 + 2*rng.Intn((n-12-16)/2+1)
		kind := i % 4
		var got uint16
		switch kind {
		case 0:
			old := binary.BigEndian.Uint16(hdr[fieldOff:])
			nw := uint16(rng.Uint32())
			if i%7 == 0 {
				nw = ^old // extreme change
			}
			binary.BigEndian.PutUint16(hdr[fieldOff:], nw)
			got = checksum.Update16(csum, old, nw)
		case 1:
			var old, nw [4]byte
			copy(old[:], hdr[fieldOff:])
			rng.Read(nw[:])
			copy(hdr[fieldOff:], nw[:])
			got = checksum.Update32(csum, old, nw)
		case 2:
			var old, nw [16]byte
			copy(old[:], hdr[fieldOff:])
			rng.Read(nw[:])
			if i%11 == 0 {
				nw = [16]byte{}
			}
			copy(hdr[fieldOff:], nw[:])
			got = checksum.Update128(csum, old, nw)
		case 3:
			l := 2 * (1 + rng.Intn(8))
			old := append([]byte(nil), hdr[fieldOff:fieldOff+l]...)
			nw := make([]byte, l)
			rng.Read(nw)
			copy(hdr[fieldOff:], nw)
			got = checksum.UpdateBytes(csum, old, nw)
		}
		want := store(append([]byte(nil), hdr...), csumOff)
		allZero := true
		for j, c := range hdr {
			if (j != csumOff && j != csumOff+1) && c != 0 {
				allZero = false
			}
		}
		if allZero {
			// RFC 1624 §3: for all-zero data ±0 are both defensible;
			// a full computation stores 0xffff.
			continue
		}
		if got != want {
			t.Fatalf("iteration %d kind %d: incremental %#04x, recomputed %#04x", i, kind, got, want)
		}
		// The updated header must verify: its full sum is -0.
		binary.BigEndian.PutUint16(hdr[csumOff:], got)
		if s := checksum.Checksum(hdr, 0); s != 0xffff {
			t.Fatalf("iteration %d kind %d: header sums to %#04x after update, want 0xffff", i, kind, s)
		}
	}
}

// TestUpdateRFC1624Corner checks the case RFC 1624 was written for: an update
// whose correct result is 0x0000. RFC 1141's equation gives 0xffff (-0) there.
func TestUpdateRFC1624Corner(t *testing.T) {
	// RFC 1624 §5 worked example.
	if got := checksum.Update16(0xdd2f, 0x5555, 0x3285); got != 0x0000 {
		t.Errorf("Update16(0xdd2f, 0x5555, 0x3285) = %#04x, want 0x0000", got)
	}
	rfc1141 := func(hc, m, mNew uint16) uint16 { return checksum.Combine(checksum.Combine(hc, m), ^mNew) }
	if got := rfc1141(0xdd2f, 0x5555, 0x3285); got != 0xffff {
		t.Errorf("sanity: RFC 1141 form = %#04x, expected its wrong answer 0xffff", got)
	}

	// Constructed: a header whose recomputed checksum after the change is
	// exactly 0x0000, i.e. its data sums to 0xffff.
	hdr := []byte{0x45, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0, 0, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02}
	csum := store(hdr, csumOff)
	// Choose the new value of the last word so the data sums to 0xffff.
	old := binary.BigEndian.Uint16(hdr[18:])
	binary.BigEndian.PutUint16(hdr[18:], 0)
	binary.BigEndian.PutUint16(hdr[csumOff:], 0)
	partial := checksum.Checksum(hdr, 0)
	nw := 0xffff - partial
	binary.BigEndian.PutUint16(hdr[18:], nw)
	if want := store(append([]byte(nil), hdr...), csumOff); want != 0x0000 {
		t.Fatalf("construction: recomputed checksum %#04x, want 0x0000", want)
	}
	if got := checksum.Update16(csum, old, nw); got != 0x0000 {
		t.Errorf("Update16 = %#04x, want 0x0000 (RFC 1624 eqn 3 never yields -0 here)", got)
	}
	if got := checksum.UpdateBytes(csum, []byte{byte(old >> 8), byte(old)}, []byte{byte(nw >> 8), byte(nw)}); got != 0x0000 {
		t.Errorf("UpdateBytes = %#04x, want 0x0000", got)
	}
}

func TestUpdateBytesContract(t *testing.T) {
	// Mismatched or odd lengths leave the checksum alone instead of panicking.
	if got := checksum.UpdateBytes(0x1234, []byte{1, 2}, []byte{1, 2, 3, 4}); got != 0x1234 {
		t.Errorf("mismatched lengths: got %#04x, want unchanged 0x1234", got)
	}
	if got := checksum.UpdateBytes(0x1234, []byte{1}, []byte{2}); got != 0x1234 {
		t.Errorf("odd length: got %#04x, want unchanged 0x1234", got)
	}
}

func TestPseudoHeaders(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for i := 0; i < 1000; i++ {
		var s4, d4 [4]byte
		var s6, d6 [16]byte
		rng.Read(s4[:])
		rng.Read(d4[:])
		rng.Read(s6[:])
		rng.Read(d6[:])
		proto := uint8(rng.Intn(256))
		l16 := uint16(rng.Uint32())
		l32 := rng.Uint32()

		var ph4 [12]byte
		copy(ph4[0:], s4[:])
		copy(ph4[4:], d4[:])
		ph4[9] = proto
		binary.BigEndian.PutUint16(ph4[10:], l16)
		if got, want := checksum.PseudoHeaderV4(s4, d4, proto, l16), naiveChecksum(ph4[:], 0); got != want {
			t.Fatalf("PseudoHeaderV4 = %#04x, want %#04x", got, want)
		}

		var ph6 [40]byte
		copy(ph6[0:], s6[:])
		copy(ph6[16:], d6[:])
		binary.BigEndian.PutUint32(ph6[32:], l32)
		ph6[39] = proto
		if got, want := checksum.PseudoHeaderV6(s6, d6, proto, l32), naiveChecksum(ph6[:], 0); got != want {
			t.Fatalf("PseudoHeaderV6 = %#04x, want %#04x", got, want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	b := make([]byte, 1500)
	var a4, b4 [4]byte
	var a16, b16 [16]byte
	var sink uint16
	n := testing.AllocsPerRun(100, func() {
		sink += checksum.Checksum(b, 0)
		sink += checksum.Combine(sink, 1)
		sink += checksum.Update16(sink, 1, 2)
		sink += checksum.Update32(sink, a4, b4)
		sink += checksum.Update128(sink, a16, b16)
		sink += checksum.UpdateBytes(sink, b[:16], b[16:32])
		sink += checksum.PseudoHeaderV4(a4, b4, 6, 20)
		sink += checksum.PseudoHeaderV6(a16, b16, 6, 20)
	})
	if n != 0 {
		t.Errorf("AllocsPerRun = %v, want 0", n)
	}
	_ = sink
}

var benchSink uint16

func benchChecksum(b *testing.B, n int) {
	buf := make([]byte, n)
	rand.New(rand.NewSource(5)).Read(buf)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		benchSink = checksum.Checksum(buf, benchSink)
	}
}

func BenchmarkChecksum20(b *testing.B)   { benchChecksum(b, 20) }
func BenchmarkChecksum64(b *testing.B)   { benchChecksum(b, 64) }
func BenchmarkChecksum1500(b *testing.B) { benchChecksum(b, 1500) }
func BenchmarkChecksum9000(b *testing.B) { benchChecksum(b, 9000) }

// BenchmarkChecksumNaive1500 is the oracle, for comparison only.
func BenchmarkChecksumNaive1500(b *testing.B) {
	buf := make([]byte, 1500)
	rand.New(rand.NewSource(5)).Read(buf)
	b.SetBytes(1500)
	b.ReportAllocs()
	for b.Loop() {
		benchSink = naiveChecksum(buf, benchSink)
	}
}

func BenchmarkUpdate16(b *testing.B) {
	b.ReportAllocs()
	c := uint16(0x1234)
	for b.Loop() {
		c = checksum.Update16(c, 0x0050, 0x1f90)
	}
	benchSink = c
}

func BenchmarkUpdate32(b *testing.B) {
	b.ReportAllocs()
	c := uint16(0x1234)
	old, nw := [4]byte{10, 0, 0, 1}, [4]byte{192, 0, 2, 33}
	for b.Loop() {
		c = checksum.Update32(c, old, nw)
	}
	benchSink = c
}

func BenchmarkUpdate128(b *testing.B) {
	b.ReportAllocs()
	c := uint16(0x1234)
	old := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	nw := [16]byte{0x00, 0x64, 0xff, 0x9b, 12: 192, 13: 0, 14: 2, 15: 33}
	for b.Loop() {
		c = checksum.Update128(c, old, nw)
	}
	benchSink = c
}

func BenchmarkPseudoHeaderV6(b *testing.B) {
	b.ReportAllocs()
	s := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	d := [16]byte{0x00, 0x64, 0xff, 0x9b, 12: 192, 13: 0, 14: 2, 15: 33}
	for b.Loop() {
		benchSink = checksum.PseudoHeaderV6(s, d, 6, 1460)
	}
}

// Sum20 is the general sum of 20 bytes, for every pattern including the
// extremes (all ones, all zeros) and random headers.
func TestSum20(t *testing.T) {
	r := rand.New(rand.NewSource(20))
	cases := [][]byte{make([]byte, 20), func() []byte {
		b := make([]byte, 20)
		for i := range b {
			b[i] = 0xff
		}
		return b
	}()}
	for range 20000 {
		b := make([]byte, 20)
		r.Read(b)
		cases = append(cases, b)
	}
	for _, b := range cases {
		if got, want := checksum.Sum20(b), naiveChecksum(b, 0); got != want {
			t.Fatalf("Sum20(% x) = %#04x, want %#04x", b, got, want)
		}
	}
}

// TestApplyDiffsMatchesRecompute changes a 4-byte field and a 16-bit field
// of random headers at once (an address and the TTL word, as NAT with a TTL
// decrement does) and checks the one Apply of their summed diffs against a
// full recomputation, and against Update32 then Update16.
func TestApplyDiffsMatchesRecompute(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for i := 0; i < 20000; i++ {
		hdr := make([]byte, 20)
		rng.Read(hdr)
		if i%50 == 0 {
			clear(hdr)
			hdr[0] = byte(1 + rng.Intn(4))
		}
		csum := store(hdr, csumOff)
		const addrOff, wordOff = 12, 8
		var old, nw [4]byte
		copy(old[:], hdr[addrOff:])
		rng.Read(nw[:])
		if i%9 == 0 {
			nw = [4]byte{}
		}
		oldW := binary.BigEndian.Uint16(hdr[wordOff:])
		newW := oldW - 0x100
		copy(hdr[addrOff:], nw[:])
		binary.BigEndian.PutUint16(hdr[wordOff:], newW)
		got := checksum.Apply(csum, checksum.Diff32(old, nw)+checksum.Diff16(oldW, newW))
		seq := checksum.Update16(checksum.Update32(csum, old, nw), oldW, newW)
		want := store(append([]byte(nil), hdr...), csumOff)
		if got != seq {
			t.Fatalf("iteration %d: Apply %#04x, Update32+Update16 %#04x", i, got, seq)
		}
		allZero := true
		for j, c := range hdr {
			if j != csumOff && j != csumOff+1 && c != 0 {
				allZero = false
			}
		}
		if !allZero && got != want {
			t.Fatalf("iteration %d: Apply %#04x, recomputed %#04x", i, got, want)
		}
	}
}
