package afxdp

import (
	"bytes"
	"sync/atomic"
	"testing"
)

// TestNullForward: the null forwarder sends every frame received on port 0
// out of port 1 from the same chunk, with only the two MACs rewritten,
// releases runts, leaks nothing and allocates nothing per round.
func TestNullForward(t *testing.T) {
	e := newFakeEngine(t, 2, 256, 512)
	src, dst := [6]byte{2, 0, 0, 0, 0, 0xb}, [6]byte{2, 0, 0, 0, 2, 7}
	e.opts.Null = []NullRoute{{Out: 1, SrcMAC: src, DstMAC: dst}, {Out: 0}}
	w := e.workers[0]
	w.attach(nil)
	in, out := w.socks[0], w.socks[1]
	frame := udpFrame("10.2.0.7")
	want := append(append(append([]byte{}, dst[:]...), src[:]...), frame[12:]...)
	var got int
	var rxAddr uint64
	round := func() {
		for k := 0; k < 63; k++ { // 63 + a runt: one batch
			kernelRx(in, e.umem, frame)
		}
		kernelRx(in, e.umem, frame[:10]) // a runt: released, not sent
		rxAddr = in.rx.descs[(atomic.LoadUint32(in.rx.producer)-2)&in.rx.mask].Addr
		w.step()
		kernelTx(out, e.umem, func(b []byte) {
			if !bytes.Equal(b, want) {
				t.Fatalf("sent %x, want %x", b, want)
			}
			if a := uint64(cap(e.umem) - cap(b)); got%63 == 62 && a != rxAddr {
				t.Fatalf("sent from %#x, received at %#x: copied", a, rxAddr)
			}
			got++
		})
	}
	for i := 0; i < 10; i++ {
		round()
	}
	if got != 630 {
		t.Fatalf("sent %d frames, want 630", got)
	}
	if a := testing.AllocsPerRun(200, round); a != 0 {
		t.Errorf("null round allocates %.1f times, want 0", a)
	}
	w.step()
	checkAccounting(t, e)
}

func TestNullOptions(t *testing.T) {
	for _, n := range [][]NullRoute{{{Out: 1}}, {{Out: 1}, {Out: 2}}} {
		if _, err := Open([]PortSpec{{Name: "a"}, {Name: "b"}}, Options{Null: n}); err != ErrBadOptions {
			t.Errorf("Null %+v: %v, want ErrBadOptions", n, err)
		}
	}
}
