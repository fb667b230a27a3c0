// Package replay runs a capture through the data plane: every frame of a
// pcap or pcapng file goes through exactly the pipeline.Loop the daemon
// runs, with pcap-backed ports in place of AF_XDP sockets, and what the
// pipeline sends comes out as pcap files. No root is needed.
package replay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"xdpgw/dataplane/pipeline"
)

// Buffer geometry of a replayed frame, like a UMEM chunk: headroom for
// encapsulation, the frame, tailroom for ICMP errors.
const (
	ChunkSize = 4096
	Headroom  = 256
)

// Options of a replay.
type Options struct {
	// In is the capture (pcap or pcapng, detected by its magic number).
	In io.Reader
	// Port names the input port of every frame. Empty: pcapng interface
	// names are matched against the configured port names (and their
	// Linux interface names).
	Port string
	// Out receives every transmitted frame: pcapng with one interface per
	// port when OutFormat is "pcapng", classic pcap otherwise. May be nil.
	Out       io.Writer
	OutFormat string
	// OutDir, if set, receives one classic pcap per output port
	// (<port>.pcap), written only for ports that sent something.
	OutDir string
	// Trace, if set, receives one line per frame: input, verdict, output.
	Trace io.Writer
	// PortNames are the configured ports' names and interfaces, by index.
	PortNames  []string
	Interfaces []string
	// Batch is the number of frames per batch (default pipeline.BatchSize,
	// or 1 with Trace so that each frame's lines stay together).
	Batch int
}

// Summary is what a replay did.
type Summary struct {
	Frames    uint64 // frames read from the capture
	Truncated uint64 // frames captured shorter than they were on the wire
	Stats     pipeline.Stats
	PortNames []string
}

// Run replays opts.In through dp.
func Run(dp *pipeline.Dataplane, opts Options) (*Summary, error) {
	src, err := openCapture(opts.In)
	if err != nil {
		return nil, err
	}
	names := opts.PortNames
	inPortOf, err := mapInterfaces(src, opts.Port, names, opts.Interfaces)
	if err != nil {
		return nil, err
	}

	outs := make([]*outPort, len(names))
	var ng *pcapgo.NgWriter
	var classic *pcapgo.Writer
	if opts.Out != nil {
		if opts.OutFormat == "pcapng" {
			ng, err = pcapgo.NewNgWriterInterface(opts.Out, pcapgo.NgInterface{
				Name: names[0], LinkType: layers.LinkTypeEthernet, SnapLength: 0,
			}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "xdpgw replay"}})
			if err != nil {
				return nil, fmt.Errorf("write pcapng header: %w", err)
			}
			for _, n := range names[1:] {
				if _, err := ng.AddInterface(pcapgo.NgInterface{Name: n, LinkType: layers.LinkTypeEthernet}); err != nil {
					return nil, fmt.Errorf("write pcapng interface: %w", err)
				}
			}
		} else {
			classic = pcapgo.NewWriterNanos(opts.Out)
			if err := classic.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
				return nil, fmt.Errorf("write pcap header: %w", err)
			}
		}
	}
	if opts.OutDir != "" {
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("create output directory: %w", err)
		}
	}
	sum := &Summary{PortNames: names}
	ports := make([]pipeline.Port, len(names))
	for i := range names {
		outs[i] = &outPort{index: i, name: names[i], ng: ng, classic: classic, dir: opts.OutDir, trace: opts.Trace}
		ports[i] = outs[i]
	}
	batch := opts.Batch
	if batch <= 0 {
		batch = pipeline.BatchSize
		if opts.Trace != nil {
			// One frame per batch keeps the trace of each frame together.
			batch = 1
		}
	}
	in := &inPort{src: src, inPortOf: inPortOf, sum: sum, trace: opts.Trace, names: names}
	in.bufs = make([][]byte, batch)
	for i := range in.bufs {
		in.bufs[i] = make([]byte, ChunkSize)
	}
	for _, o := range outs {
		o.in = in
	}
	w := dp.NewWorker()
	loop := pipeline.NewLoop(w, in, ports, batch)
	for {
		_, err := loop.RunOnce()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	var firstErr error
	for _, o := range outs {
		if err := o.close(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if ng != nil {
		if err := ng.Flush(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("flush pcapng: %w", err)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	sum.Stats = dp.Stats()
	return sum, nil
}

// capture is a pcap or pcapng reader.
type capture struct {
	pcap *pcapgo.Reader
	ng   *pcapgo.NgReader
}

func openCapture(r io.Reader) (*capture, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("read capture: %w", err)
	}
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("read pcapng: %w", err)
		}
		return &capture{ng: ng}, nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("read pcap: %w", err)
	}
	if lt := pr.LinkType(); lt != layers.LinkTypeEthernet {
		return nil, fmt.Errorf("read pcap: link type %v: only Ethernet captures can be replayed", lt)
	}
	return &capture{pcap: pr}, nil
}

func (c *capture) read() ([]byte, gopacket.CaptureInfo, error) {
	if c.ng != nil {
		return c.ng.ReadPacketData()
	}
	return c.pcap.ReadPacketData()
}

// mapInterfaces decides the input port of each capture interface.
func mapInterfaces(c *capture, port string, names, ifaces []string) (func(int) (int, error), error) {
	find := func(n string) int {
		for i := range names {
			if names[i] == n || (i < len(ifaces) && ifaces[i] == n) {
				return i
			}
		}
		return -1
	}
	if port != "" {
		i := find(port)
		if i < 0 {
			return nil, fmt.Errorf("--port %q: no such port (ports: %s)", port, strings.Join(names, ", "))
		}
		return func(int) (int, error) { return i, nil }, nil
	}
	if c.ng == nil {
		return nil, fmt.Errorf("a classic pcap has no interface names: say which port it came in on with --port (ports: %s)", strings.Join(names, ", "))
	}
	cache := map[int]int{}
	return func(id int) (int, error) {
		if i, ok := cache[id]; ok {
			return i, nil
		}
		intf, err := c.ng.Interface(id)
		if err != nil {
			return 0, fmt.Errorf("pcapng interface %d: %w", id, err)
		}
		if intf.LinkType != layers.LinkTypeEthernet {
			return 0, fmt.Errorf("pcapng interface %d (%q): link type %v: only Ethernet can be replayed", id, intf.Name, intf.LinkType)
		}
		i := find(intf.Name)
		if i < 0 {
			return 0, fmt.Errorf("pcapng interface %d is named %q, which is no configured port (ports: %s); use --port", id, intf.Name, strings.Join(names, ", "))
		}
		cache[id] = i
		return i, nil
	}, nil
}

// inPort feeds the capture to the loop.
type inPort struct {
	src      *capture
	inPortOf func(int) (int, error)
	bufs     [][]byte
	sum      *Summary
	trace    io.Writer
	names    []string
	eof      bool
	spares   [][]byte
	// times of the frames of the current batch, for the output files.
	times [256]time.Time
}

func (p *inPort) Receive(batch []pipeline.Frame) (int, error) {
	if p.eof {
		return 0, io.EOF
	}
	n := 0
	for n < len(batch) && n < len(p.bufs) {
		data, ci, err := p.src.read()
		if errors.Is(err, io.EOF) {
			p.eof = true
			break
		}
		if err != nil {
			return n, fmt.Errorf("read capture frame %d: %w", p.sum.Frames+1, err)
		}
		port, err := p.inPortOf(ci.InterfaceIndex)
		if err != nil {
			return n, err
		}
		p.sum.Frames++
		if ci.CaptureLength < ci.Length {
			p.sum.Truncated++
		}
		f := &batch[n]
		buf := p.bufs[n]
		f.Buf = buf
		f.Off = Headroom
		f.InPort = uint16(port)
		f.Addr = p.sum.Frames
		f.Time = ci.Timestamp.UnixNano()
		if len(data) > len(buf)-Headroom {
			f.Len = 0
			f.Drop = pipeline.DropOversizeFrame
		} else {
			f.Len = copy(buf[Headroom:], data)
		}
		if n < len(p.times) {
			p.times[n] = ci.Timestamp
		}
		if p.trace != nil {
			fmt.Fprintf(p.trace, "#%d in %s: %s\n", f.Addr, p.names[port], describe(data))
		}
		n++
	}
	if n == 0 && p.eof {
		return 0, io.EOF
	}
	return n, nil
}

func (p *inPort) Local(frames []*pipeline.Frame) {
	for _, f := range frames {
		if p.trace != nil {
			fmt.Fprintf(p.trace, "#%d -> local (host stack)\n", f.Addr)
		}
	}
}

func (p *inPort) Release(frames []*pipeline.Frame) {
	for _, f := range frames {
		if p.trace != nil && f.Addr != 0 {
			fmt.Fprintf(p.trace, "#%d -> drop: %s\n", f.Addr, f.Drop)
		}
	}
}

func (p *inPort) Transmit([]*pipeline.Frame) (int, error) { return 0, nil }

// Spare lends the replay's spare buffers (reused every batch: a replayed
// frame's outputs are written out before the next batch).
func (p *inPort) Spare(frames []pipeline.Frame) int {
	if p.spares == nil {
		p.spares = make([][]byte, 8)
		for i := range p.spares {
			p.spares[i] = make([]byte, ChunkSize)
		}
	}
	n := min(len(frames), len(p.spares))
	for i := 0; i < n; i++ {
		// Addr 0 marks a spare (capture frames are numbered from 1).
		frames[i] = pipeline.Frame{Buf: p.spares[i], Off: Headroom}
	}
	return n
}

// outPort writes what the pipeline sends on one port.
type outPort struct {
	index   int
	name    string
	in      *inPort
	ng      *pcapgo.NgWriter
	classic *pcapgo.Writer
	dir     string
	trace   io.Writer

	file *os.File
	bw   *bufio.Writer
	w    *pcapgo.Writer
}

func (o *outPort) Transmit(frames []*pipeline.Frame) (int, error) {
	for _, f := range frames {
		data := f.Data()
		ts := time.Unix(0, f.Time)
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data), InterfaceIndex: o.index}
		if o.trace != nil {
			fmt.Fprintf(o.trace, "#%d -> out %s: %s\n", f.Addr, o.name, describe(data))
		}
		if o.ng != nil {
			if err := o.ng.WritePacket(ci, data); err != nil {
				return 0, fmt.Errorf("write pcapng: %w", err)
			}
		}
		if o.classic != nil {
			if err := o.classic.WritePacket(ci, data); err != nil {
				return 0, fmt.Errorf("write pcap: %w", err)
			}
		}
		if o.dir != "" {
			if o.w == nil {
				file, err := os.Create(filepath.Join(o.dir, o.name+".pcap"))
				if err != nil {
					return 0, fmt.Errorf("create output pcap: %w", err)
				}
				o.file = file
				o.bw = bufio.NewWriter(file)
				o.w = pcapgo.NewWriterNanos(o.bw)
				if err := o.w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
					return 0, fmt.Errorf("write pcap header: %w", err)
				}
			}
			if err := o.w.WritePacket(ci, data); err != nil {
				return 0, fmt.Errorf("write pcap: %w", err)
			}
		}
	}
	return len(frames), nil
}

func (o *outPort) close() error {
	if o.file == nil {
		return nil
	}
	if err := o.bw.Flush(); err != nil {
		o.file.Close()
		return fmt.Errorf("write %s: %w", o.file.Name(), err)
	}
	return o.file.Close()
}

func (o *outPort) Receive([]pipeline.Frame) (int, error) { return 0, io.EOF }
func (o *outPort) Local([]*pipeline.Frame)               {}
func (o *outPort) Release([]*pipeline.Frame)             {}
func (o *outPort) Spare([]pipeline.Frame) int            { return 0 }

// describe is a one-line decoding of a frame for traces (gopacket: speed
// does not matter here).
func describe(data []byte) string {
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	var parts []string
	for _, l := range pkt.Layers() {
		switch v := l.(type) {
		case *layers.Ethernet:
			parts = append(parts, fmt.Sprintf("%s > %s", v.SrcMAC, v.DstMAC))
		case *layers.Dot1Q:
			parts = append(parts, fmt.Sprintf("vlan %d", v.VLANIdentifier))
		case *layers.IPv4:
			parts = append(parts, fmt.Sprintf("%s > %s ttl %d len %d", v.SrcIP, v.DstIP, v.TTL, v.Length))
		case *layers.IPv6:
			parts = append(parts, fmt.Sprintf("%s > %s hlim %d", v.SrcIP, v.DstIP, v.HopLimit))
		case *layers.GRE:
			if v.KeyPresent {
				parts = append(parts, fmt.Sprintf("gre key %d", v.Key))
			} else {
				parts = append(parts, "gre")
			}
		case *layers.TCP:
			parts = append(parts, fmt.Sprintf("tcp %d > %d%s", v.SrcPort, v.DstPort, tcpFlags(v)))
		case *layers.UDP:
			parts = append(parts, fmt.Sprintf("udp %d > %d", v.SrcPort, v.DstPort))
		case *layers.ICMPv4:
			parts = append(parts, fmt.Sprintf("icmp %s", v.TypeCode))
		case *layers.ICMPv6:
			parts = append(parts, fmt.Sprintf("icmp6 %s", v.TypeCode))
		case *layers.ARP:
			parts = append(parts, fmt.Sprintf("arp op %d who-has %v tell %v", v.Operation, ipString(v.DstProtAddress), ipString(v.SourceProtAddress)))
		}
	}
	// Application payloads (DNS on port 53, ...) are not ours to judge.
	if el := pkt.ErrorLayer(); el != nil && pkt.TransportLayer() == nil {
		parts = append(parts, "malformed: "+el.Error().Error())
	}
	parts = append(parts, fmt.Sprintf("(%d bytes)", len(data)))
	return strings.Join(parts, ", ")
}

func ipString(b []byte) string {
	if len(b) == 4 {
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	}
	return fmt.Sprintf("%x", b)
}

func tcpFlags(t *layers.TCP) string {
	s := ""
	for _, f := range []struct {
		on bool
		c  string
	}{{t.SYN, "S"}, {t.ACK, "."}, {t.FIN, "F"}, {t.RST, "R"}, {t.PSH, "P"}} {
		if f.on {
			s += f.c
		}
	}
	if s != "" {
		return " [" + s + "]"
	}
	return ""
}
