package gen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// flagLiveFrames is BPF_F_TEST_XDP_LIVE_FRAMES (include/uapi/linux/bpf.h).
const flagLiveFrames = 1 << 1

// ErrNotSupported: the kernel cannot run XDP programs with live frames
// (before 5.18), and this package has no other sender.
var ErrNotSupported = errors.New("BPF_PROG_RUN with live frames is not supported by this kernel")

// InNetns runs fn on an OS thread in the named network namespace (""
// for the caller's). The thread is locked and never unlocked: when fn
// returns the goroutine exits and the runtime discards the thread, so no
// other goroutine ever runs in the namespace by accident.
func InNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if name != "" {
			h, err := netns.GetFromName(name)
			if err != nil {
				errc <- fmt.Errorf("open netns %s: %w", name, err)
				return
			}
			defer h.Close()
			if err := netns.Set(h); err != nil {
				errc <- fmt.Errorf("enter netns %s: %w", name, err)
				return
			}
		}
		errc <- fn()
	}()
	return <-errc
}

// SendOptions configure a sender.
type SendOptions struct {
	Netns, Dev string // where the frames leave: the veth whose peer receives them
	Template   Template
	// Minimal uses the two-instruction XDP_TX program: one flow, sent
	// frames counted by Repeat (a lower bound when a call is retried).
	Minimal bool
	// Rate in frames per second; 0 sends flat out. The counting program
	// paces the frames itself (evenly spaced, see senderInsns); the
	// minimal program cannot.
	Rate float64
	// Duration of the run; Count stops earlier after so many frames
	// (0: no limit). One of them must be set.
	Duration time.Duration
	Count    uint64
	// BatchSize of the kernel's live-frame loop (default 64).
	BatchSize uint32
	// CPU pins the sending thread (-1: no pinning).
	CPU int
}

// SendResult is what a sender did.
type SendResult struct {
	Sent    uint64        // frames run through the program and transmitted (XDP_TX)
	Elapsed time.Duration // from the first call to the end of the last
	Calls   int           // BPF_PROG_RUN calls
}

// PPS is the offered rate.
func (r SendResult) PPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// Sender holds a loaded sending program.
type Sender struct {
	o     SendOptions
	frame []byte
	prog  *ebpf.Program
	count *ebpf.Map
	pace  *ebpf.Map // with Rate: the pacing state (paceValue)
}

// NewSender builds the frame and loads the program.
func NewSender(o SendOptions) (*Sender, error) {
	if o.Duration <= 0 && o.Count == 0 {
		return nil, errors.New("sender: a duration or a count is required")
	}
	if o.BatchSize == 0 {
		o.BatchSize = 64
	}
	t := o.Template
	frame, err := t.Frame()
	if err != nil {
		return nil, err
	}
	if o.Minimal && t.Flows > 1 {
		return nil, errors.New("sender: the minimal program sends one flow (drop -minimal or -flows)")
	}
	if o.Minimal && o.Rate > 0 {
		return nil, errors.New("sender: the minimal program cannot pace (drop -minimal or -rate)")
	}
	if o.Rate < 0 || o.Rate > 1e9 {
		return nil, errors.New("sender: rate out of range")
	}
	o.Template = t
	s := &Sender{o: o, frame: frame}
	spec := &ebpf.ProgramSpec{Name: "xdpgw_gen", Type: ebpf.XDP, License: "GPL"}
	if o.Minimal {
		spec.Instructions = minimalInsns()
	} else {
		s.count, err = ebpf.NewMap(counterMapSpec("xdpgw_gen_cnt"))
		if err != nil {
			return nil, fmt.Errorf("sender: create counter map: %w", err)
		}
		paceFd := -1
		if o.Rate > 0 {
			if s.pace, err = ebpf.NewMap(paceMapSpec()); err != nil {
				s.Close()
				return nil, fmt.Errorf("sender: create pacing map: %w", err)
			}
			iv := uint64(1e12 / o.Rate)
			// A burst of at most 32 frames after a stall: the veth's
			// ring (256) never sees a flood from the catch-up, and
			// short stalls of the sender (flushing a bulk to the
			// veth) cost no sending slots.
			if err := s.pace.Put(uint32(0), paceValue{Interval: iv, Slack: 32 * iv}); err != nil {
				s.Close()
				return nil, fmt.Errorf("sender: set pacing: %w", err)
			}
			paceFd = s.pace.FD()
		}
		rw := t.Offsets()
		spec.Instructions = senderInsns(s.count.FD(), paceFd, frame, rw.HdrEnd, rw, t.SrcPort, t.Flows)
	}
	s.prog, err = ebpf.NewProgram(spec)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sender: load program: %w", err)
	}
	return s, nil
}

// Frame is the template as sent (first flow).
func (s *Sender) Frame() []byte { return s.frame }

// Close releases the program and map.
func (s *Sender) Close() {
	if s.prog != nil {
		s.prog.Close()
	}
	if s.count != nil {
		s.count.Close()
	}
	if s.pace != nil {
		s.pace.Close()
	}
}

func readCounter(m *ebpf.Map) (Counter, error) {
	var vals []Counter
	if err := m.Lookup(uint32(0), &vals); err != nil {
		return Counter{}, err
	}
	var c Counter
	for _, v := range vals {
		c.Packets += v.Packets
		c.Bytes += v.Bytes
	}
	return c, nil
}

// Run sends until the duration or count is reached or ctx is done.
func (s *Sender) Run(ctx context.Context) (SendResult, error) {
	var res SendResult
	err := InNetns(s.o.Netns, func() error {
		if s.o.CPU >= 0 {
			var set unix.CPUSet
			set.Set(s.o.CPU)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				return fmt.Errorf("sender: pin to CPU %d: %w", s.o.CPU, err)
			}
		}
		link, err := netlink.LinkByName(s.o.Dev)
		if err != nil {
			return fmt.Errorf("sender: interface %s: %w", s.o.Dev, err)
		}
		var r error
		res, r = s.loop(ctx, link.Attrs().Index)
		return r
	})
	return res, err
}

func (s *Sender) loop(ctx context.Context, ifindex int) (SendResult, error) {
	var res SendResult
	var before Counter
	if s.count != nil {
		var err error
		if before, err = readCounter(s.count); err != nil {
			return res, fmt.Errorf("sender: read counter: %w", err)
		}
	}
	xmd := struct {
		Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
	}{DataEnd: uint32(len(s.frame)), IngressIfindex: uint32(ifindex)}
	opts := ebpf.RunOptions{Data: s.frame, Context: xmd, Flags: flagLiveFrames, BatchSize: s.o.BatchSize}
	// A BPF_PROG_RUN call with live frames costs ~17 ms of fixed set-up and
	// tear-down on this kernel (page pool, rxq registration), measured
	// with 64 frames in one call, during which nothing is sent. So calls
	// must be long: each is sized from the iterations per second measured
	// so far to last ~250 ms flat out, ~1 s paced (capped by the time
	// left). Paced, the program itself spaces the frames (senderInsns) and
	// drops the iterations whose time has not come, so a call runs many
	// more iterations than it sends.
	target := 250 * time.Millisecond
	if s.o.Rate > 0 {
		target = time.Second
	}
	var repeats, sent uint64
	start := time.Now()
	for {
		if ctx.Err() != nil {
			break
		}
		el := time.Since(start)
		if s.o.Duration > 0 && el >= s.o.Duration {
			break
		}
		if s.o.Count > 0 && sent >= s.o.Count {
			break
		}
		n := uint64(1 << 18)
		if repeats > 0 && el > 0 {
			t := target
			if s.o.Duration > 0 {
				t = min(t, s.o.Duration-el)
			}
			n = uint64(float64(repeats) / el.Seconds() * t.Seconds())
		}
		n = min(max(n, 1<<12), 1<<30)
		if s.o.Count > 0 {
			left := s.o.Count - sent
			switch {
			case s.o.Rate == 0:
				// Each iteration sends one frame.
				n = min(n, left)
			case sent > 0:
				// Paced, most iterations send nothing: size the call
				// for 3/4 of the frames left at the frames per
				// iteration seen so far (which vary with each call's
				// fixed cost), so that the calls close in on the
				// count instead of overshooting it.
				n = min(n, uint64(0.75*float64(left)*float64(repeats)/float64(sent))+1)
			}
		}
		opts.Repeat = uint32(n)
		if _, err := s.prog.Run(&opts); err != nil {
			if errors.Is(err, unix.EINVAL) && res.Calls == 0 {
				return res, fmt.Errorf("sender: %w (%v)", ErrNotSupported, err)
			}
			return res, fmt.Errorf("sender: BPF_PROG_RUN: %w", err)
		}
		repeats += n
		res.Calls++
		sent = repeats
		if s.o.Rate > 0 {
			c, err := readCounter(s.count)
			if err != nil {
				return res, fmt.Errorf("sender: read counter: %w", err)
			}
			sent = c.Packets - before.Packets
		}
	}
	res.Elapsed = time.Since(start)
	res.Sent = repeats
	if s.count != nil {
		after, err := readCounter(s.count)
		if err != nil {
			return res, fmt.Errorf("sender: read counter: %w", err)
		}
		res.Sent = after.Packets - before.Packets
	}
	return res, nil
}

// Sink is a counting XDP program attached to an interface.
type Sink struct {
	Netns, Dev string
	prog       *ebpf.Program
	count      *ebpf.Map
	ifindex    int
}

// AttachSink loads a counting program returning action (XDPDrop, XDPTX or
// XDPPass) and attaches it in native mode to dev in netns. It refuses to
// replace a program that is already attached.
func AttachSink(netnsName, dev string, action int) (*Sink, error) {
	s := &Sink{Netns: netnsName, Dev: dev}
	var err error
	if s.count, err = ebpf.NewMap(counterMapSpec("xdpgw_sink_cnt")); err != nil {
		return nil, fmt.Errorf("sink: create counter map: %w", err)
	}
	s.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "xdpgw_sink", Type: ebpf.XDP, License: "GPL",
		Instructions: sinkInsns(s.count.FD(), int32(action)),
	})
	if err != nil {
		s.count.Close()
		return nil, fmt.Errorf("sink: load program: %w", err)
	}
	err = InNetns(netnsName, func() error {
		link, err := netlink.LinkByName(dev)
		if err != nil {
			return fmt.Errorf("sink: interface %s: %w", dev, err)
		}
		s.ifindex = link.Attrs().Index
		if x := link.Attrs().Xdp; x != nil && x.Attached {
			return fmt.Errorf("sink: %s already has an XDP program (id %d)", dev, x.ProgId)
		}
		if err := netlink.LinkSetXdpFdWithFlags(link, s.prog.FD(), unix.XDP_FLAGS_DRV_MODE|unix.XDP_FLAGS_UPDATE_IF_NOEXIST); err != nil {
			return fmt.Errorf("sink: attach XDP to %s: %w", dev, err)
		}
		return nil
	})
	if err != nil {
		s.prog.Close()
		s.count.Close()
		return nil, err
	}
	return s, nil
}

// Read returns the counters so far.
func (s *Sink) Read() (Counter, error) { return readCounter(s.count) }

// Close detaches the program (if it is still ours) and releases it.
func (s *Sink) Close() error {
	err := InNetns(s.Netns, func() error {
		link, err := netlink.LinkByIndex(s.ifindex)
		if err != nil {
			return nil // gone with its namespace
		}
		info, _ := s.prog.Info()
		if x := link.Attrs().Xdp; x == nil || !x.Attached {
			return nil
		} else if id, ok := info.ID(); ok && uint32(id) != x.ProgId {
			return nil // someone else's now
		}
		return netlink.LinkSetXdpFdWithFlags(link, -1, unix.XDP_FLAGS_DRV_MODE)
	})
	s.prog.Close()
	s.count.Close()
	if err != nil {
		return fmt.Errorf("sink: detach from %s: %w", s.Dev, err)
	}
	return nil
}

// Sampler reads a sink every interval and keeps the per-interval rates.
type Sampler struct {
	Samples []float64 // packets per second of each full interval
	First   Counter   // at start
	Last    Counter   // at stop
}

// Sample reads s every interval until stop is closed.
func Sample(s *Sink, every time.Duration, stop <-chan struct{}) (*Sampler, error) {
	sp := &Sampler{}
	c, err := s.Read()
	if err != nil {
		return nil, err
	}
	sp.First, sp.Last = c, c
	t := time.NewTicker(every)
	defer t.Stop()
	prevT := time.Now()
	for {
		select {
		case <-stop:
			c, err := s.Read()
			if err != nil {
				return sp, err
			}
			sp.Last = c
			return sp, nil
		case now := <-t.C:
			c, err := s.Read()
			if err != nil {
				return sp, err
			}
			sp.Samples = append(sp.Samples, float64(c.Packets-sp.Last.Packets)/now.Sub(prevT).Seconds())
			sp.Last, prevT = c, now
		}
	}
}

// EnsureNoAsyncPreempt re-executes the program with
// GODEBUG=asyncpreemptoff=1 added when it is not set: the runtime's
// preemption signal interrupts BPF_PROG_RUN, which cilium/ebpf then
// restarts from the beginning. It returns only if no re-exec happened.
func EnsureNoAsyncPreempt() error {
	g := os.Getenv("GODEBUG")
	for _, kv := range splitComma(g) {
		if kv == "asyncpreemptoff=1" {
			return nil
		}
	}
	if g != "" {
		g += ","
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	env := append(os.Environ(), "GODEBUG="+g+"asyncpreemptoff=1")
	return unix.Exec(exe, os.Args, env)
}

func splitComma(s string) []string {
	var out []string
	for s != "" {
		i := 0
		for i < len(s) && s[i] != ',' {
			i++
		}
		out = append(out, s[:i])
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}
