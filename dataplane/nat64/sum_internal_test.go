package nat64

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// sum16Ref is the plain folded sum of two IPv6 addresses as big-endian
// 16-bit words (RFC 1071), the oracle for sum16's word-at-a-time version.
func sum16Ref(a, b *[16]byte) uint16 {
	var s uint32
	for i := 0; i < 16; i += 2 {
		s += uint32(binary.BigEndian.Uint16(a[i:])) + uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

func TestSum16MatchesReference(t *testing.T) {
	var ones [16]byte
	for i := range ones {
		ones[i] = 0xff
	}
	var zero, one [16]byte
	one[15] = 1
	cases := [][2][16]byte{{zero, zero}, {ones, ones}, {ones, zero}, {ones, one}, {one, one}}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		var a, b [16]byte
		for i := range a {
			// Bytes near 0xff make the carries that a wrong fold gets wrong.
			a[i], b[i] = 0xff-byte(r.IntN(3)), byte(r.Uint32())
			if r.IntN(2) == 0 {
				a[i] = byte(r.Uint32())
			}
		}
		cases = append(cases, [2][16]byte{a, b})
	}
	for _, c := range cases {
		if got, want := sum16(&c[0], &c[1]), sum16Ref(&c[0], &c[1]); got != want {
			t.Fatalf("sum16(%x, %x) = %#04x, want %#04x", c[0], c[1], got, want)
		}
	}
}

func TestMoveL2(t *testing.T) {
	for _, tc := range []struct{ from, to, n int }{
		{20, 0, 14}, {0, 20, 14}, {0, 28, 14}, {40, 0, 14}, // the two-word copy
		{10, 0, 14}, {0, 6, 14}, {30, 0, 18}, {0, 20, 22}, // overlap or VLAN tags: memmove
	} {
		buf := make([]byte, 80)
		for i := range buf {
			buf[i] = byte(i + 1)
		}
		want := append([]byte(nil), buf...)
		copy(want[tc.to:tc.to+tc.n], buf[tc.from:tc.from+tc.n])
		binary.BigEndian.PutUint16(want[tc.to+tc.n-2:], 0x86dd)
		moveL2(buf, tc.from, tc.to, tc.n, 0x86dd)
		if string(buf) != string(want) {
			t.Errorf("moveL2(from %d, to %d, n %d):\n got %x\nwant %x", tc.from, tc.to, tc.n, buf, want)
		}
	}
}

// TestIsGlobalV4Table: the first-octet table answers only where the
// blocks' own tests would say global.
func TestIsGlobalV4Table(t *testing.T) {
	for a := range 256 {
		for _, b := range []int{0, 1, 2, 16, 18, 19, 31, 51, 64, 100, 127, 128, 168, 254, 255} {
			for _, c := range []int{0, 1, 2, 100, 113, 255} {
				v := [4]byte{byte(a), byte(b), byte(c), 9}
				if got, want := IsGlobalV4(v), isGlobalV4(v); got != want {
					t.Fatalf("IsGlobalV4(%v) = %v, want %v", v, got, want)
				}
			}
		}
	}
}
