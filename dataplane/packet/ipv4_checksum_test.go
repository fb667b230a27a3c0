package packet_test

import (
	"math/rand"
	"testing"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/packet"
)

// The option-less header's unrolled checksum (checksum.Sum20) agrees with
// the general computation on random headers, whatever the checksum field
// holds, and with or without options.
func TestIPv4ChecksumFastPath(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for i := range 20000 {
		hl := 20
		if i%4 == 0 {
			hl = 20 + 4*(1+r.Intn(10))
		}
		b := make([]byte, hl)
		r.Read(b)
		b[0] = 0x40 | byte(hl/4)
		if i%7 == 0 {
			b[10], b[11] = 0, 0
		}
		h := packet.IPv4(b)
		// The reference: sum the header with the field zeroed.
		z := append([]byte(nil), b...)
		z[10], z[11] = 0, 0
		want := ^checksum.Checksum(z, 0)
		if got := h.CalculateChecksum(); got != want {
			t.Fatalf("CalculateChecksum(% x) = %#04x, want %#04x", b, got, want)
		}
		valid := checksum.Checksum(b, 0) == 0xffff
		if h.IsChecksumValid() != valid {
			t.Fatalf("IsChecksumValid(% x) = %v, want %v", b, !valid, valid)
		}
		h.SetChecksum(want)
		if !h.IsChecksumValid() {
			t.Fatalf("header with its computed checksum is not valid: % x", b)
		}
	}
}
