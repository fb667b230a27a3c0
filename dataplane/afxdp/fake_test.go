package afxdp

import (
	"net/netip"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// These tests run the engine's ring code against a fake kernel over
// ordinary memory: no root, no sockets. The fake kernel is the other side
// of every ring (consumer of fill and tx, producer of rx and completion).

var fakeOff = unix.XDPRingOffset{Producer: 0, Consumer: 64, Flags: 128, Desc: 192}

func fakeRingMem(n uint32, ent int) []byte { return make([]byte, 192+int(n)*ent) }

// newFakeEngine makes an engine of one worker with ports sockets whose
// rings live in Go memory.
func newFakeEngine(tb testing.TB, ports int, ring uint32, frames int) *Engine {
	tb.Helper()
	opts := Options{RingSize: int(ring), FramesPerSocket: frames, Batch: 64}
	if err := opts.setDefaults(); err != nil {
		tb.Fatal(err)
	}
	e := &Engine{opts: opts, stopFd: -1, mode: ModeCopy}
	total := ports * frames
	e.umem = make([]byte, total*ChunkSize)
	w := &worker{e: e, umem: e.umem, lo: 0, hi: uint64(total * ChunkSize), total: total}
	e.workers = []*worker{w}
	row := make([]*Socket, ports)
	for p := 0; p < ports; p++ {
		s := &Socket{fd: -1, port: uint16(p), name: "fake", w: w}
		s.fill = newAddrRing(fakeRingMem(ring, 8), fakeOff, ring)
		s.comp = newAddrRing(fakeRingMem(ring, 8), fakeOff, ring)
		s.rx = newDescRing(fakeRingMem(ring, 16), fakeOff, ring)
		s.tx = newDescRing(fakeRingMem(ring, 16), fakeOff, ring)
		row[p] = s
		w.socks = append(w.socks, s)
	}
	e.socks = [][]*Socket{row}
	w.initFrames()
	return e
}

// kernelRx moves one frame from s's fill ring to its rx ring with data at
// the kernel's headroom, as xsk_rcv does. It reports false when the fill
// ring is empty or the rx ring full (the kernel would count a drop).
func kernelRx(s *Socket, umem []byte, data []byte) bool {
	fc := atomic.LoadUint32(s.fill.consumer)
	if atomic.LoadUint32(s.fill.producer) == fc {
		return false
	}
	rp := atomic.LoadUint32(s.rx.producer)
	if rp-atomic.LoadUint32(s.rx.consumer) == s.rx.size {
		return false
	}
	addr := s.fill.addrs[fc&s.fill.mask]
	atomic.StoreUint32(s.fill.consumer, fc+1)
	copy(umem[addr+Headroom:], data)
	s.rx.descs[rp&s.rx.mask] = unix.XDPDesc{Addr: addr + Headroom, Len: uint32(len(data))}
	atomic.StoreUint32(s.rx.producer, rp+1)
	return true
}

// kernelTx "sends" every queued tx descriptor: it records the frame and
// posts the address on the completion ring.
func kernelTx(s *Socket, umem []byte, sent func([]byte)) int {
	tc := atomic.LoadUint32(s.tx.consumer)
	tp := atomic.LoadUint32(s.tx.producer)
	cp := atomic.LoadUint32(s.comp.producer)
	n := 0
	for ; tc != tp; tc++ {
		if cp-atomic.LoadUint32(s.comp.consumer) == s.comp.size {
			break
		}
		d := s.tx.descs[tc&s.tx.mask]
		if sent != nil {
			sent(umem[d.Addr : d.Addr+uint64(d.Len)])
		}
		s.comp.addrs[cp&s.comp.mask] = d.Addr
		cp++
		n++
	}
	atomic.StoreUint32(s.tx.consumer, tc)
	atomic.StoreUint32(s.comp.producer, cp)
	return n
}

func fillCount(s *Socket) uint32 {
	return atomic.LoadUint32(s.fill.producer) - atomic.LoadUint32(s.fill.consumer)
}

// testEnv: port 0 10.1.0.1/24 with host 10.1.0.7, port 1 10.2.0.1/24 with
// host 10.2.0.7; 10.9.0.0/16 via 10.2.0.99 whose MAC is unknown.
func testEnv(tb testing.TB) *pipeline.Env {
	tb.Helper()
	b := fib.NewBuilder()
	for _, r := range []fib.Route{
		{Prefix: netip.MustParsePrefix("10.1.0.0/24"), NextHop: fib.NextHop{Port: 0}},
		{Prefix: netip.MustParsePrefix("10.2.0.0/24"), NextHop: fib.NextHop{Port: 1}},
		{Prefix: netip.MustParsePrefix("10.9.0.0/16"), NextHop: fib.NextHop{Port: 1, Via: netip.MustParseAddr("10.2.0.99")}},
	} {
		if err := b.Add(r); err != nil {
			tb.Fatal(err)
		}
	}
	vrf := fib.NewVRF(0, "main")
	vrf.Publish(b.Build())
	nc := new(neigh.Cache)
	nc.Publish(neigh.Build([]neigh.Entry{
		{Port: 0, Addr: netip.MustParseAddr("10.1.0.7"), MAC: [6]byte(fixture.MAC("02:00:00:00:01:07"))},
		{Port: 1, Addr: netip.MustParseAddr("10.2.0.7"), MAC: [6]byte(fixture.MAC("02:00:00:00:02:07"))},
	}))
	return &pipeline.Env{
		Ports: []pipeline.PortInfo{
			{Name: "a", MAC: [6]byte(fixture.MAC("02:00:00:00:00:0a")), MTU: 1500, Addr4: [4]byte{10, 1, 0, 1}, HasAddr4: true},
			{Name: "b", MAC: [6]byte(fixture.MAC("02:00:00:00:00:0b")), MTU: 1500, Addr4: [4]byte{10, 2, 0, 1}, HasAddr4: true},
		},
		VRFs:  []*fib.VRF{vrf},
		Neigh: nc,
	}
}

func udpFrame(dst string) []byte {
	return fixture.New().Eth("02:00:00:00:01:07", "02:00:00:00:00:0a").IPv4("10.1.0.7", dst).UDP(1000, 2000).Payload(make([]byte, 18)).Bytes()
}

func startFake(tb testing.TB, ports int, ring uint32, frames int) (*Engine, *worker) {
	tb.Helper()
	e := newFakeEngine(tb, ports, ring, frames)
	dp, err := pipeline.New(testEnv(tb))
	if err != nil {
		tb.Fatal(err)
	}
	w := e.workers[0]
	w.attach(dp)
	return e, w
}

func checkAccounting(t *testing.T, e *Engine) {
	t.Helper()
	for _, a := range e.Accounting() {
		if a.Leaked() != 0 || a.DoubleFree != 0 {
			t.Errorf("queue %d: %d frames leaked, %d double frees: %+v", a.Queue, a.Leaked(), a.DoubleFree, a)
		}
	}
}

// TestForwardNoCopyNoLeak forwards frames from port 0 to port 1 through the
// shared UMEM: the transmitted descriptor points into the chunk the frame
// was received in (no copy), and after the traffic every frame is on the
// free list or in a fill ring.
func TestForwardNoCopyNoLeak(t *testing.T) {
	e, w := startFake(t, 2, 64, 128)
	in, out := w.socks[0], w.socks[1]
	frame := udpFrame("10.2.0.7")
	const N = 10000
	sent := 0
	var rxAddrs, txAddrs [64]uint64
	for sent < N {
		k := 0
		for k < 48 && sent < N && kernelRx(in, e.umem, frame) {
			// Remember where the kernel put it.
			rxAddrs[k] = in.rx.descs[(atomic.LoadUint32(in.rx.producer)-1)&in.rx.mask].Addr &^ chunkMask
			k++
			sent++
		}
		w.step()
		m := 0
		kernelTx(out, e.umem, func(b []byte) {
			if m < len(txAddrs) {
				txAddrs[m] = uint64(cap(e.umem)-cap(b)) &^ chunkMask
			}
			m++
		})
		if m != k {
			t.Fatalf("received %d frames, transmitted %d", k, m)
		}
		if rxAddrs != txAddrs {
			t.Fatalf("transmitted chunks differ from received ones (a copy?)\nrx %v\ntx %v", rxAddrs[:k], txAddrs[:m])
		}
		rxAddrs, txAddrs = [64]uint64{}, [64]uint64{}
	}
	w.step() // reap the last completions
	if got := out.c.Tx.Load(); got != N {
		t.Errorf("tx = %d, want %d", got, N)
	}
	if got := in.c.Rx.Load(); got != N {
		t.Errorf("rx = %d, want %d", got, N)
	}
	// Every frame is either free or in a fill ring (the fake kernel
	// publishes its consumer index exactly, so the fill rings can be
	// counted directly).
	free := len(w.free)
	fill := int(fillCount(in) + fillCount(out))
	if free+fill != w.total {
		t.Errorf("free %d + fill rings %d = %d, want %d frames", free, fill, free+fill, w.total)
	}
	seen := map[uint64]bool{}
	for _, a := range w.free {
		if seen[a] {
			t.Fatalf("chunk %#x twice on the free list", a)
		}
		seen[a] = true
	}
	checkAccounting(t, e)
}

// TestDropsAndMissesReturnFrames: dropped frames (no route, no neighbour,
// malformed) go back to the free list, and a missing neighbour is reported.
func TestDropsAndMissesReturnFrames(t *testing.T) {
	e, w := startFake(t, 2, 64, 128)
	in := w.socks[0]
	for i := 0; i < 500; i++ {
		for _, f := range [][]byte{udpFrame("10.9.1.1"), udpFrame("192.0.2.1"), {1, 2, 3}} {
			kernelRx(in, e.umem, f)
		}
		w.step()
	}
	var misses []Miss
	e.Drain(func(m Miss) { misses = append(misses, m) })
	if len(misses) != 1 || !misses[0].V4 || netip.AddrFrom4([4]byte(misses[0].Addr[:4])) != netip.MustParseAddr("10.9.1.1") || misses[0].InPort != 0 {
		t.Errorf("misses = %+v, want one for 10.9.1.1 from port 0", misses)
	}
	checkAccounting(t, e)
	if int(fillCount(w.socks[0])+fillCount(w.socks[1]))+len(w.free) != w.total {
		t.Errorf("frames missing after drops")
	}
}

// TestTxRingFull: when the output tx ring is full, the refused frames are
// released (counted as tx_full by the pipeline and tx_ring_full here), not
// lost.
func TestTxRingFull(t *testing.T) {
	e, w := startFake(t, 2, 16, 64)
	in, out := w.socks[0], w.socks[1]
	frame := udpFrame("10.2.0.7")
	for i := 0; i < 100; i++ {
		for k := 0; k < 16; k++ {
			kernelRx(in, e.umem, frame)
		}
		w.step() // the fake kernel never transmits: the tx ring fills
	}
	if out.c.TxRingFull.Load() == 0 {
		t.Errorf("tx ring full not counted")
	}
	checkAccounting(t, e)
	kernelTx(out, e.umem, nil)
	w.step()
	checkAccounting(t, e)
	if out.txInflight != 0 {
		t.Errorf("tx in flight %d after completion", out.txInflight)
	}
}

// TestStepAllocatesNothing: a worker round in steady state (receive,
// process, transmit, complete, refill) allocates nothing.
func TestStepAllocatesNothing(t *testing.T) {
	e, w := startFake(t, 2, 256, 512)
	in, out := w.socks[0], w.socks[1]
	frames := [][]byte{udpFrame("10.2.0.7"), udpFrame("10.9.0.1"), udpFrame("192.0.2.1")}
	round := func() {
		for k := 0; k < 64; k++ {
			kernelRx(in, e.umem, frames[k%len(frames)])
		}
		w.step()
		kernelTx(out, e.umem, nil)
		e.Drain(func(Miss) {})
	}
	for i := 0; i < 10; i++ {
		round()
	}
	if a := testing.AllocsPerRun(200, round); a != 0 {
		t.Errorf("worker round allocates %.1f times, want 0", a)
	}
	checkAccounting(t, e)
}

func TestOptions(t *testing.T) {
	for _, o := range []Options{{RingSize: 100}, {RingSize: 4}, {RingSize: 64, FramesPerSocket: 32}, {Queues: -1}} {
		if err := o.setDefaults(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	o := Options{}
	if err := o.setDefaults(); err != nil || o.Queues != 1 || o.RingSize != 2048 || o.FramesPerSocket != 4096 {
		t.Errorf("defaults: %+v %v", o, err)
	}
}
