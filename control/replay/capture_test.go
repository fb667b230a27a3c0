package replay_test

import (
	"bytes"
	"errors"
	"testing"

	"xdpgw/dataplane/pipeline"
)

// A live capture keeps the frames of its port as they arrived, before the
// pipeline rewrote them, drops copies (not frames) when its ring is full,
// and costs no allocation per batch.
func TestCapture(t *testing.T) {
	g := newGW(t, nil)
	c, err := g.dp.StartCapture(portInet, 256, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.dp.StartCapture(pipeline.AllPorts, 256, 2); !errors.Is(err, pipeline.ErrCaptureBusy) {
		t.Errorf("second capture: %v, want ErrCaptureBusy", err)
	}
	syn := fromClient("2.2.2.11").TCP(40000, 22, "S").Bytes()
	out := g.send(portInet, append([]byte(nil), syn...))
	g.expectTx(out, portUnder)                                                                      // DNATed and encapsulated in place
	g.send(portUnder, fromTenant(1, 1000).IPv4("10.0.0.7", "1.1.1.7").TCP(22, 40000, "SA").Bytes()) // another port
	big := fromClient("2.2.2.11").UDP(1, 2).Payload(make([]byte, 600)).Bytes()
	g.send(portInet, big)
	g.send(portInet, syn) // the ring (2 frames) is full: not copied
	if c.Dropped() != 1 {
		t.Errorf("dropped %d copies, want 1", c.Dropped())
	}
	var got [][]byte
	var lens []int
	n := c.Read(func(port uint16, _ int64, origLen int, data []byte) {
		if port != portInet {
			t.Errorf("captured a frame of port %d", port)
		}
		got = append(got, append([]byte(nil), data...))
		lens = append(lens, origLen)
	})
	if n != 2 || len(got) != 2 {
		t.Fatalf("read %d frames, want 2", n)
	}
	if !bytes.Equal(got[0], syn) {
		t.Errorf("captured\n% x\nwant the frame as it arrived\n% x", got[0], syn)
	}
	if len(got[1]) != 256 || lens[1] != len(big) || !bytes.Equal(got[1], big[:256]) {
		t.Errorf("second frame: %d bytes of %d, want the first 256 of %d", len(got[1]), lens[1], len(big))
	}
	// The ring has room again.
	g.send(portInet, syn)
	if n := c.Read(func(uint16, int64, int, []byte) {}); n != 1 {
		t.Errorf("after reading: %d frames captured, want 1", n)
	}
	sendRead := func() {
		g.send(portInet, syn)
		c.Read(func(uint16, int64, int, []byte) {})
	}
	with := testing.AllocsPerRun(100, sendRead)
	g.dp.StopCapture(c)
	g.send(portInet, syn)
	if n := c.Read(func(uint16, int64, int, []byte) {}); n != 0 {
		t.Errorf("%d frames captured after StopCapture", n)
	}
	// send allocates its buffer and batch: the capture must add nothing.
	if without := testing.AllocsPerRun(100, sendRead); with != without {
		t.Errorf("%v allocations per frame with a capture running, %v without", with, without)
	}
	if c2, err := g.dp.StartCapture(pipeline.AllPorts, 64, 1); err != nil {
		t.Errorf("capture after stop: %v", err)
	} else {
		g.dp.StopCapture(c2)
	}
}

// A capture read while a worker writes it (the daemon's case): every frame
// read is one that was sent, whole, in order per worker, and the reader
// and the writer never race (run with -race).
func TestCaptureConcurrent(t *testing.T) {
	g := newGW(t, nil)
	c, err := g.dp.StartCapture(pipeline.AllPorts, 128, 64)
	if err != nil {
		t.Fatal(err)
	}
	const frames = 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		batch := make([]pipeline.Frame, 1)
		for i := 0; i < frames; i++ {
			f := fromClient("2.2.2.11").UDP(uint16(i), 9).Payload([]byte("capture")).Bytes()
			n := copy(buf[256:], f)
			batch[0] = pipeline.Frame{Buf: buf, Off: 256, Len: n, InPort: portInet}
			g.w.Process(batch, int64(i+1))
		}
	}()
	read, last := 0, -1
	check := func(_ uint16, _ int64, _ int, data []byte) {
		read++
		port := int(data[34])<<8 | int(data[35]) // the UDP source port: the frame's number
		if port <= last {
			t.Errorf("frame %d read after frame %d", port, last)
		}
		last = port
	}
	for {
		select {
		case <-done:
			c.Read(check)
			g.dp.StopCapture(c)
			if uint64(read)+c.Dropped() != frames {
				t.Errorf("read %d + dropped %d, want %d frames", read, c.Dropped(), frames)
			}
			if read == 0 {
				t.Error("nothing read")
			}
			return
		default:
			c.Read(check)
		}
	}
}
