package packet_test

import (
	"testing"

	"xdpgw/dataplane/packet"
)

// IPv4.Payload promises never to panic on an unvalidated view; an IHL that
// points past the end of the view must give an empty payload, not a slice
// out of range (tools/greendpoint's logDrop calls it on refused packets).
func TestIPv4PayloadIHLBeyondView(t *testing.T) {
	for _, tl := range []uint16{0, 20, 40, 100, 0xffff} {
		b := make([]byte, 20) // capacity 20 too: nothing past the view
		b[0] = 0x4f           // IHL 15: a 60-byte header in a 20-byte view
		ip := packet.IPv4(b)
		ip.SetTotalLength(tl)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("TotalLength %d: Payload panicked: %v", tl, r)
				}
			}()
			if n := len(ip.Payload()); n != 0 {
				t.Fatalf("TotalLength %d: Payload len %d, want 0", tl, n)
			}
		}()
	}
}
