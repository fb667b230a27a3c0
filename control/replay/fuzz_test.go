package replay_test

import (
	"testing"

	"xdpgw/control/compile"
	"xdpgw/control/config"
	"xdpgw/dataplane/pipeline"
	"xdpgw/dataplane/session"
	"xdpgw/tools/fixture"
)

// FuzzProcess runs arbitrary frames through the whole pipeline on the
// default configuration (gateway, NAT64 and plain forwarding ports), on
// the port the first byte names: no input may panic, and every frame must
// end with a verdict the counters account for. Seeds: the demo capture's
// frames; testdata/fuzz/FuzzProcess holds inputs a 60-s run found
// interesting (new coverage in the gateway, NAT64 and forwarding paths).
func FuzzProcess(f *testing.F) {
	cfg := config.Default()
	frames, err := fixture.Demo(cfg)
	if err != nil {
		f.Fatal(err)
	}
	for i, fr := range frames {
		f.Add(byte(i%4), fr.Data)
	}
	// ICMP errors through the EIP NAT, whose quotes are parsed and
	// rewritten (gwicmp.go): from the Internet and from a tenant host.
	f.Add(byte(portInet), fromClient("2.2.2.11").ICMPError(3, 4, fixture.New().IPv4("2.2.2.11", "1.1.1.7").TCP(40000, 23, "S").Bytes()).Bytes())
	f.Add(byte(portUnder), fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").ICMPError(3, 3, fixture.New().IPv4("1.1.1.7", "10.0.0.7").UDP(40000, 53).Payload([]byte("q")).Bytes()).Bytes())
	rt, err := compile.Build(cfg)
	if err != nil {
		f.Fatal(err)
	}
	dp, err := compile.NewDataplane(rt, 1024)
	if err != nil {
		f.Fatal(err)
	}
	w := dp.NewWorker()
	buf := make([]byte, 4096)
	spare := make([]pipeline.Frame, 8)
	var now int64 = 1e9
	f.Fuzz(func(t *testing.T, port byte, data []byte) {
		if len(data) > 4096-256 {
			data = data[:4096-256]
		}
		for i := range spare {
			spare[i] = pipeline.Frame{Buf: make([]byte, 4096), Off: 256}
		}
		n := copy(buf[256:], data)
		batch := []pipeline.Frame{{Buf: buf, Off: 256, Len: n, InPort: uint16(port % 5)}}
		// The prefetch pass reads raw headers (it runs only on large
		// tables, so call it directly).
		var keys [pipeline.MaxPrefetchKeys]session.Key
		w.PrefetchKeys(&batch[0], &keys)
		now += 1e6
		w.LendSpare(spare)
		w.Process(batch, now)
		w.Flush()
		fr := &batch[0]
		switch fr.Verdict {
		case pipeline.VerdictTx, pipeline.VerdictLocal:
			if fr.Off < 0 || fr.Len <= 0 || fr.Off+fr.Len > len(fr.Buf) {
				t.Fatalf("verdict %v with a frame out of its buffer: off %d len %d", fr.Verdict, fr.Off, fr.Len)
			}
		case pipeline.VerdictDrop:
			if fr.Drop == pipeline.DropNone {
				t.Fatal("dropped without a reason")
			}
		default:
			t.Fatalf("verdict %v", fr.Verdict)
		}
	})
}
