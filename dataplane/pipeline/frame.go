package pipeline

// Frame is one packet in a buffer the port owns (a UMEM chunk under AF_XDP,
// a replay buffer under `xdpgw replay`). The packet is Buf[Off:Off+Len]; the
// bytes before Off are headroom (encapsulation prepends there) and the bytes
// after Off+Len are tailroom (an ICMP error grows the packet there). Stages
// rewrite the packet in place and move Off/Len; they never allocate.
type Frame struct {
	Buf []byte
	Off int
	Len int

	// Addr is opaque to the pipeline: the port's handle for the buffer
	// (the UMEM address under AF_XDP, a slot index under replay).
	Addr uint64
	// Time is when the frame was received (ns, the port's clock).
	Time int64

	InPort  uint16
	OutPort uint16
	Verdict Verdict
	// Drop is why the frame was dropped. A port sets it before Process
	// for a frame it could not receive whole (DropOversizeFrame); the
	// pipeline then only counts it.
	Drop DropReason
}

// Data is the packet itself.
func (f *Frame) Data() []byte { return f.Buf[f.Off : f.Off+f.Len] }

// Verdict is what the pipeline decided for a frame.
type Verdict uint8

const (
	// VerdictDrop: the frame is discarded; Drop says why.
	VerdictDrop Verdict = iota
	// VerdictTx: send the frame on OutPort.
	VerdictTx
	// VerdictLocal: the frame is for the host (ARP, ND, routing protocols,
	// traffic to the appliance's own addresses). Under AF_XDP the XDP
	// program passes most of it to the kernel before it reaches a worker;
	// what still arrives is handed to the port's local path.
	VerdictLocal
)

func (v Verdict) String() string {
	switch v {
	case VerdictDrop:
		return "drop"
	case VerdictTx:
		return "tx"
	case VerdictLocal:
		return "local"
	}
	return "unknown"
}

// Port is what a worker receives from and transmits to. The AF_XDP engine
// and the pcap replayer implement it. Every method takes a whole batch: the
// pipeline makes one interface call per batch, never one per packet.
type Port interface {
	// Receive fills up to len(batch) frames (Buf, Off, Len, Addr, Time,
	// InPort) and returns how many it filled. It returns io.EOF when the
	// port is finished (a replayed capture at its end).
	Receive(batch []Frame) (int, error)
	// Transmit queues frames for sending on this port and takes ownership
	// of their buffers. It returns how many it took; the caller releases
	// the rest as DropTxFull.
	Transmit(frames []*Frame) (int, error)
	// Local hands frames with VerdictLocal to the host path and takes
	// ownership of their buffers.
	Local(frames []*Frame)
	// Release gives back the buffers of frames that were dropped. A frame
	// dropped with DropNoNeighbor still has its Drop set here, so a port
	// can ask the control plane to resolve the neighbour.
	Release(frames []*Frame)
	// Spare lends up to len(frames) empty buffers (Buf, Off = where a
	// frame may start, Addr) for the frames a packet turns into, such as
	// the fragments of an IPv4 packet translated to IPv6 (RFC 7915 4.1).
	// The Loop asks once per batch, only when the pipeline may need them,
	// and gives unused ones back with Release.
	Spare(frames []Frame) int
}
