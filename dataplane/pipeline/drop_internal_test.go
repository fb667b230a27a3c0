package pipeline

import (
	"testing"

	"xdpgw/dataplane/packet"
)

// Every decoder verdict has a drop reason of the same name, so an operator
// sees the decoder's words in the counters.
func TestDecodeStatusesHaveDropReasons(t *testing.T) {
	for s := packet.DecodeStatus(1); s < packet.NumDecodeStatus; s++ {
		if got := dropForStatus(s); got.String() != s.String() {
			t.Errorf("decode status %s maps to drop reason %s", s, got)
		}
	}
}
