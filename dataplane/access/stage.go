package access

import (
	"encoding/binary"

	"xdpgw/dataplane/packet"
)

// Verdict is what the pipeline does with a frame after Process.
type Verdict uint8

const (
	// VerdictPass: not access traffic (access.p4 punts it to the CPU):
	// the pipeline handles it as for any other port, typically host
	// delivery (ARP, ND, BGP) or its own drop. The frame is unchanged.
	VerdictPass Verdict = iota
	// VerdictForward: the MACs were rewritten; send the frame on Result.Port.
	VerdictForward
	// VerdictDrop: drop the frame; Result.Drop says why (already counted
	// in Stage.Stats).
	VerdictDrop
)

// DropReason names why the access stage dropped a frame. The first four
// are access.p4's DROP_* constants (the index of its drops counter); keep
// them in step.
type DropReason uint8

const (
	DropNone        DropReason = iota
	DropUnknownEIP             // IPv6 to the /96, EIP not in eip_to_vip
	DropSYNRate                // SYN over the (EIP, direction) meter: RED
	DropNoNexthop              // maglev has no entry for (VIP, index): a VIP without next hops
	DropNoPoolRoute            // IPv4 from an EIP to no NAT64 pool
	DropBadPort                // entry names a port the pipeline does not have (software only)
	DropMalformed              // IP header the decoder refused (software only)

	NumDropReasons
)

var dropNames = [NumDropReasons]string{
	"none", "unknown_eip", "syn_rate", "no_nexthop", "no_pool_route", "bad_port", "malformed",
}

// String returns the lower_snake name of r, used as a counter label.
func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// Result is the outcome of Process.
type Result struct {
	Verdict Verdict
	Port    uint16     // output port (index into the pipeline's ports) for VerdictForward
	Drop    DropReason // for VerdictDrop
}

// Direction of a forwarded packet, the index of Stats.Forwarded.
const (
	DirDown = 0 // IPv6 client -> EIP (access.p4 DIR_DOWN)
	DirUp   = 1 // IPv4 EIP -> NAT64 pool (DIR_UP)
)

// Stats are one worker's counters: plain integers, written by the worker
// only; the control plane reads them (racy reads of whole words are the
// accepted trade-off, as for the pipeline's stats).
type Stats struct {
	Forwarded [2]uint64 // by direction
	Passed    uint64
	Drops     [NumDropReasons]uint64
	SYNs      [2]uint64 // SYNs metered, by direction
}

// Stage is one worker's access stage. Create one per worker with
// NewStage; it is not safe for concurrent use, the Target it reads is.
type Stage struct {
	target  *Target
	tables  *Tables
	nports  uint16
	portMAC [MaxPorts]uint64 // packed; the source MAC when port_smac has no entry
	Stats   Stats
}

// NewStage returns a worker's stage over target. portMACs are the MACs of
// the pipeline's ports, by port index (len <= MaxPorts): a frame sent on
// port i gets portMACs[i] as source unless port_smac names one.
func NewStage(target *Target, portMACs [][6]byte) *Stage {
	s := &Stage{target: target, nports: uint16(min(len(portMACs), MaxPorts))}
	for i := range int(s.nports) {
		s.portMAC[i] = PackMAC(portMACs[i])
	}
	s.tables = target.Tables()
	return s
}

// Begin loads the current tables; call it once per batch, before the
// batch's Process calls.
func (s *Stage) Begin() { s.tables = s.target.Tables() }

// Process runs access.p4 on one frame whose decode is p, at time now (ns,
// any monotonic origin; only differences matter, for the SYN meters). It
// rewrites the Ethernet addresses in place for VerdictForward and never
// changes the frame otherwise. It does not allocate.
func (s *Stage) Process(frame []byte, p *packet.Parsed, now int64) Result {
	t := s.tables
	// access.p4's parser reads untagged IPv4 and IPv6 only.
	if p.VLANs != 0 || (p.IPVersion != 4 && p.IPVersion != 6) {
		return s.pass()
	}
	if p.Status != packet.DecodeOK {
		return s.drop(DropMalformed)
	}
	if p.IPVersion == 6 {
		return s.down(frame, p, t, now)
	}
	return s.up(frame, p, t, now)
}

func (s *Stage) pass() Result {
	s.Stats.Passed++
	return Result{Verdict: VerdictPass}
}

func (s *Stage) drop(r DropReason) Result {
	s.Stats.Drops[r]++
	return Result{Verdict: VerdictDrop, Drop: r}
}

// down is the IPv6 side: client -> prefix::EIP.
func (s *Stage) down(frame []byte, p *packet.Parsed, t *Tables, now int64) Result {
	if !t.isPrefix(&p.Dst) {
		return s.pass()
	}
	e, ok := t.eip(binary.BigEndian.Uint32(p.Dst[12:16]))
	if !ok {
		return s.drop(DropUnknownEIP)
	}
	s.countEIP(e, p)
	// Ports and SYN as access.p4's parser sees them: only when TCP or UDP
	// directly follows the fixed header (no extension headers).
	nh := frame[p.L3Off+6]
	var sport, dport uint16
	if (nh == packet.ProtoTCP || nh == packet.ProtoUDP) && p.L4Off != 0 {
		sport, dport = p.SrcPort, p.DstPort
		if nh == packet.ProtoTCP && isSYN(p.TCPFlags) && !s.meter(t, binary.BigEndian.Uint32(p.Dst[12:16]), DirDown, now) {
			return s.drop(DropSYNRate)
		}
	}
	if e.vip < 0 {
		return s.drop(DropNoNexthop)
	}
	idx := MaglevIndex(FlowHash6(&p.Src, &p.Dst, sport, dport), t.maglevSize)
	mac := t.maglev[e.vip][idx]
	if mac&macValid == 0 {
		return s.drop(DropNoNexthop)
	}
	return s.output(frame, t, mac, e.Port, DirDown)
}

// up is the IPv4 side: a reply from an EIP to a NAT64 server's pool.
func (s *Stage) up(frame []byte, p *packet.Parsed, t *Tables, now int64) Result {
	eip := binary.BigEndian.Uint32(p.Src[:4])
	e, ok := t.eip(eip)
	if !ok {
		return s.pass()
	}
	s.countEIP(e, p)
	// access.p4 parses TCP after an IPv4 header without options that is not
	// a later fragment.
	if p.Proto == packet.ProtoTCP && p.L4Off != 0 && frame[p.L3Off]&0x0f == 5 &&
		isSYN(p.TCPFlags) && !s.meter(t, eip, DirUp, now) {
		return s.drop(DropSYNRate)
	}
	r, ok := t.pool(binary.BigEndian.Uint32(p.Dst[:4]))
	if !ok {
		return s.drop(DropNoPoolRoute)
	}
	return s.output(frame, t, PackMAC(r.DMAC), r.Port, DirUp)
}

// isSYN is access.p4's mark_syn: SYN set, ACK clear.
func isSYN(flags uint8) bool { return flags&(packet.TCPFlagSYN|packet.TCPFlagACK) == packet.TCPFlagSYN }

// meter runs the syn_meter table: no entry is NoAction (GREEN).
func (s *Stage) meter(t *Tables, eip uint32, dir uint8, now int64) bool {
	slot, ok := t.syn.Get(synKey(eip, dir))
	if !ok || int(slot) >= len(s.target.meters) {
		return true
	}
	s.Stats.SYNs[dir]++
	m := &s.target.meters[slot]
	m.SYNs.Add(1)
	if m.Allow(now) {
		return true
	}
	m.Drops.Add(1)
	return false
}

func (s *Stage) countEIP(e *EIPEntry, p *packet.Parsed) {
	if int(e.Slot) < len(s.target.eips) {
		c := &s.target.eips[e.Slot]
		c.Packets.Add(1)
		c.Bytes.Add(uint64(p.L3Len))
	}
}

// output rewrites the destination MAC to dmac and the source MAC to the
// port's (port_smac, else the pipeline port's own MAC).
func (s *Stage) output(frame []byte, t *Tables, dmac uint64, port uint16, dir int) Result {
	if port >= s.nports {
		return s.drop(DropBadPort)
	}
	smac := t.smac[port]
	if smac == 0 {
		smac = s.portMAC[port]
	}
	putMAC(frame[0:6], dmac)
	putMAC(frame[6:12], smac)
	s.Stats.Forwarded[dir]++
	return Result{Verdict: VerdictForward, Port: port}
}

func putMAC(b []byte, v uint64) {
	_ = b[5]
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}
