package pipeline

import "time"

// BatchSize is the default number of frames a worker takes per batch
// (design.md: rings are processed in batches of 32-256).
const BatchSize = 64

// maxSpare is how many spare buffers a batch may use: one IPv4 datagram
// of up to 9000 bytes becomes at most 8 IPv6 fragments at MTU 1280.
const maxSpare = 8

// Loop is one worker's receive-process-output cycle over an input port. It
// owns its batch and scratch slices: after construction, RunOnce allocates
// nothing.
type Loop struct {
	W     *Worker
	In    Port
	Ports []Port // output ports, indexed like Env.Ports
	// Clock returns the batch time in ns; nil means the frames' own Time
	// (replay) or, if that is zero, the monotonic clock.
	Clock func() int64

	batch   []Frame
	spare   []Frame
	perPort [][]*Frame
	local   []*Frame
	release []*Frame
}

// NewLoop makes a loop with batch frames per batch.
func NewLoop(w *Worker, in Port, ports []Port, batch int) *Loop {
	if batch <= 0 {
		batch = BatchSize
	}
	l := &Loop{W: w, In: in, Ports: ports, batch: make([]Frame, batch), spare: make([]Frame, maxSpare)}
	l.perPort = make([][]*Frame, len(ports))
	for i := range l.perPort {
		l.perPort[i] = make([]*Frame, 0, batch)
	}
	l.local = make([]*Frame, 0, batch)
	l.release = make([]*Frame, 0, batch)
	return l
}

var start = time.Now()

// Now is the data plane's clock in ns (monotonic, from process start): the
// time a Loop without a Clock gives its batches when the frames carry
// none, so that other goroutines (the daemon's session sweeper) age
// sessions on the workers' clock.
func Now() int64 { return int64(time.Since(start)) }

// RunOnce receives one batch, runs it through the pipeline and hands every
// frame to its output port, the host path or back to its owner. It returns
// the number of frames received and the Receive error (io.EOF at the end of
// a capture).
func (l *Loop) RunOnce() (int, error) {
	batch := l.batch
	for i := range batch {
		batch[i] = Frame{}
	}
	n, err := l.In.Receive(batch)
	if n == 0 {
		return 0, err
	}
	b := batch[:n]
	var now int64
	switch {
	case l.Clock != nil:
		now = l.Clock()
	case b[0].Time != 0:
		now = b[0].Time
	default:
		now = Now()
	}
	// Spare buffers for packets that become several (NAT64 fragmenting
	// an IPv4 datagram into IPv6 fragments): lent per batch, only when
	// the Env can use them.
	w := l.W
	w.spare = w.spare[:0]
	if env := w.d.env.Load(); env != nil && env.NAT64 != nil {
		for i := range l.spare {
			l.spare[i] = Frame{}
		}
		w.spare = l.spare[:l.In.Spare(l.spare)]
	}
	w.Process(b, now)
	spares := w.spare
	for i := range spares {
		if i >= w.spareUsed {
			spares[i].Verdict = VerdictDrop // unused: back to the port
		}
	}

	for i := 0; i < len(b)+len(spares); i++ {
		var f *Frame
		if i < len(b) {
			f = &b[i]
		} else {
			f = &spares[i-len(b)]
		}
		switch f.Verdict {
		case VerdictTx:
			if int(f.OutPort) < len(l.perPort) {
				l.perPort[f.OutPort] = append(l.perPort[f.OutPort], f)
				continue
			}
			l.W.drop(f, DropUnknownPort)
			l.release = append(l.release, f)
		case VerdictLocal:
			l.local = append(l.local, f)
		default:
			l.release = append(l.release, f)
		}
	}
	for port, fs := range l.perPort {
		if len(fs) == 0 {
			continue
		}
		sent, _ := l.Ports[port].Transmit(fs)
		l.W.stats.TxFrames[port] += uint64(sent)
		for _, f := range fs[sent:] {
			l.W.drop(f, DropTxFull)
			l.release = append(l.release, f)
		}
		clear(fs)
		l.perPort[port] = fs[:0]
	}
	if len(l.local) > 0 {
		l.In.Local(l.local)
		clear(l.local)
		l.local = l.local[:0]
	}
	if len(l.release) > 0 {
		l.In.Release(l.release)
		clear(l.release)
		l.release = l.release[:0]
	}
	l.W.Flush()
	return n, err
}
