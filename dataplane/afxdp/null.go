package afxdp

import "xdpgw/dataplane/pipeline"

// NullRoute is what the null forwarder does with every frame received on
// one port: set its Ethernet source and destination and transmit it on
// Out. Nothing else is read or written.
type NullRoute struct {
	Out    uint16
	SrcMAC [6]byte
	DstMAC [6]byte
}

// runner is one input port's receive-process-transmit round of a worker:
// a pipeline.Loop, or a nullLoop for Options.Null.
type runner interface {
	RunOnce() (int, error)
}

// nullLoop is the null pipeline: receive a batch on in, rewrite the two
// MACs, transmit the batch on out, release what the tx ring refused. It
// runs on the engine's own sockets, rings, UMEM and worker loop, so what it
// reaches is the ceiling of this engine on the machine with no packet
// processing: the kernel's AF_XDP receive and (in copy mode) transmit
// paths plus the ring handling (testbed/bench.sh, the null-forward case).
type nullLoop struct {
	in, out *Socket
	r       NullRoute
	batch   []pipeline.Frame
	tx      []*pipeline.Frame
}

func newNullLoop(in, out *Socket, r NullRoute, batch int) *nullLoop {
	return &nullLoop{in: in, out: out, r: r, batch: make([]pipeline.Frame, batch), tx: make([]*pipeline.Frame, 0, batch)}
}

// RunOnce implements runner; it allocates nothing.
func (l *nullLoop) RunOnce() (int, error) {
	for i := range l.batch {
		l.batch[i].Drop = 0
	}
	n, _ := l.in.Receive(l.batch)
	if n == 0 {
		return 0, nil
	}
	tx := l.tx[:0]
	bad := 0
	for i := range l.batch[:n] {
		f := &l.batch[i]
		if f.Len < 14 {
			// Oversize (Len set to 0 by Receive) or a runt: released
			// below, after the frames to send.
			bad++
			continue
		}
		d := f.Buf[f.Off : f.Off+12]
		copy(d[0:6], l.r.DstMAC[:])
		copy(d[6:12], l.r.SrcMAC[:])
		tx = append(tx, f)
	}
	sent := 0
	if len(tx) > 0 {
		sent, _ = l.out.Transmit(tx)
	}
	rel := tx[sent:]
	if bad > 0 {
		for i := range l.batch[:n] {
			if f := &l.batch[i]; f.Len < 14 {
				rel = append(rel, f)
			}
		}
	}
	if len(rel) > 0 {
		l.in.Release(rel)
	}
	clear(l.tx[:cap(l.tx)])
	return n, nil
}
