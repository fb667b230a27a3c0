package gen

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// XDP actions (include/uapi/linux/bpf.h).
const (
	XDPDrop = 1
	XDPPass = 2
	XDPTX   = 3
)

// struct xdp_md offsets.
const (
	mdData    = 0
	mdDataEnd = 4
)

// Counter is the value of the per-CPU counter maps: frames and bytes.
// The programs below write this layout.
type Counter struct {
	Packets, Bytes uint64
}

// counterMapSpec is a one-entry per-CPU array of Counter.
func counterMapSpec(name string) *ebpf.MapSpec {
	return &ebpf.MapSpec{Name: name, Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 16, MaxEntries: 1}
}

// minimalInsns is the two-instruction XDP_TX program.
func minimalInsns() asm.Instructions {
	return asm.Instructions{
		asm.Mov.Imm(asm.R0, XDPTX),
		asm.Return(),
	}
}

// lookupCounter emits the lookup of entry 0 of the map in fd into R0,
// jumping to miss when it fails. Clobbers R1-R5.
func lookupCounter(fd int, miss string) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, fd),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, miss),
	}
}

// senderInsns counts each frame run in the counter map (fd), restores
// the first hdr bytes of the frame (every header up to the end of L4)
// from the template, and, with flows > 1, rewrites the 16-bit source port
// at rw.PortOff to base + (count mod flows), fixing the checksum at
// rw.CsumOff incrementally (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). All
// 16-bit words are handled as loaded from memory (network order read
// little-endian): one's complement sums do not depend on byte order as
// long as every term has the same one. Returns XDP_TX.
//
// Why restore: with live frames a page keeps whatever was written into
// it when it comes back to the pool, and a kernel that forwards the frame
// in place (the page travels in the skb) rewrites its MACs, TTL and, with
// NAT, addresses. Without the restore the next send of that page carries
// the router's egress MACs and a lower TTL: the router then drops it as
// PACKET_OTHERHOST (the loss xdp-on-veth.md could not explain).
//
// With a pacing map (paceFd >= 0, a paceValue) the program first paces:
// a frame whose time has not come yet (now < next) is dropped at once
// (XDP_DROP: not sent, not counted); otherwise it is sent and next
// advances by one interval. next never lags now by more than the slack, so
// a generator that falls behind (the gap between two BPF_PROG_RUN calls)
// catches up by a burst of at most slack/interval frames, not by a flood.
// The frames leave evenly spaced at the mean rate, one every interval.
func senderInsns(fd, paceFd int, frame []byte, hdr int, rw Rewrite, base uint16, flows int) asm.Instructions {
	in := asm.Instructions{asm.Mov.Reg(asm.R6, asm.R1)}
	if paceFd >= 0 {
		in = append(in, paceInsns(paceFd, "send")...)
	}
	cnt := lookupCounter(fd, "out")
	cnt[0] = cnt[0].WithSymbol("send")
	in = append(in, cnt...)
	in = append(in,
		asm.LoadMem(asm.R7, asm.R0, 0, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R7),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
	)
	hdr = min(hdr, len(frame))
	end := hdr
	if flows > 1 {
		end = max(end, rw.PortOff+2, rw.CsumOff+2)
	}
	in = append(in,
		asm.LoadMem(asm.R2, asm.R6, mdData, asm.Word),
		asm.LoadMem(asm.R3, asm.R6, mdDataEnd, asm.Word),
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, int32(end)),
		asm.JGT.Reg(asm.R4, asm.R3, "out"),
	)
	for off := 0; off < hdr; {
		switch {
		case hdr-off >= 8:
			in = append(in,
				asm.LoadImm(asm.R1, int64(le64(frame[off:off+8])), asm.DWord),
				asm.StoreMem(asm.R2, int16(off), asm.R1, asm.DWord))
			off += 8
		case hdr-off >= 4:
			in = append(in, asm.StoreImm(asm.R2, int16(off), int64(int32(le32(frame[off:off+4]))), asm.Word))
			off += 4
		case hdr-off >= 2:
			in = append(in, asm.StoreImm(asm.R2, int16(off), int64(uint16(frame[off])|uint16(frame[off+1])<<8), asm.Half))
			off += 2
		default:
			in = append(in, asm.StoreImm(asm.R2, int16(off), int64(frame[off]), asm.Byte))
			off++
		}
	}
	if flows > 1 {
		in = append(in,
			// r7 = htons(base + count % flows)
			asm.Mod.Imm(asm.R7, int32(flows)),
			asm.Add.Imm(asm.R7, int32(base)),
			asm.HostTo(asm.BE, asm.R7, asm.Half),
			asm.LoadMem(asm.R5, asm.R2, int16(rw.PortOff), asm.Half),
			asm.StoreMem(asm.R2, int16(rw.PortOff), asm.R7, asm.Half),
			asm.LoadMem(asm.R1, asm.R2, int16(rw.CsumOff), asm.Half),
			asm.Xor.Imm(asm.R1, 0xffff),
			asm.Xor.Imm(asm.R5, 0xffff),
			asm.Add.Reg(asm.R1, asm.R5),
			asm.Add.Reg(asm.R1, asm.R7),
			// fold the carries twice
			asm.Mov.Reg(asm.R5, asm.R1),
			asm.RSh.Imm(asm.R5, 16),
			asm.And.Imm(asm.R1, 0xffff),
			asm.Add.Reg(asm.R1, asm.R5),
			asm.Mov.Reg(asm.R5, asm.R1),
			asm.RSh.Imm(asm.R5, 16),
			asm.And.Imm(asm.R1, 0xffff),
			asm.Add.Reg(asm.R1, asm.R5),
			asm.Xor.Imm(asm.R1, 0xffff),
		)
		if rw.UDP {
			in = append(in,
				asm.JNE.Imm(asm.R1, 0, "store"),
				asm.Mov.Imm(asm.R1, 0xffff),
			)
		}
		in = append(in,
			asm.StoreMem(asm.R2, int16(rw.CsumOff), asm.R1, asm.Half).WithSymbol("store"),
		)
	}
	in = append(in,
		asm.Mov.Imm(asm.R0, XDPTX).WithSymbol("out"),
		asm.Return(),
	)
	return in
}

// paceValue is the pacing map's value, times in picoseconds (the
// program multiplies bpf_ktime_get_ns by 1000): the next frame's time,
// the interval between frames and how far next may lag behind now.
type paceValue struct {
	Next, Interval, Slack uint64
}

// paceMapSpec is a one-entry array of paceValue (not per CPU: one sending
// thread at a time).
func paceMapSpec() *ebpf.MapSpec {
	return &ebpf.MapSpec{Name: "xdpgw_gen_pace", Type: ebpf.Array, KeySize: 4, ValueSize: 24, MaxEntries: 1}
}

// paceInsns: the pacing prologue of senderInsns. Expects nothing in
// registers; uses R8 (callee-saved); jumps to send when the frame's time
// has come (or the map lookup fails), returns XDP_DROP otherwise.
func paceInsns(fd int, send string) asm.Instructions {
	return append(lookupCounter(fd, send),
		asm.Mov.Reg(asm.R8, asm.R0),
		asm.FnKtimeGetNs.Call(),
		asm.Mul.Imm(asm.R0, 1000),
		asm.LoadMem(asm.R1, asm.R8, 0, asm.DWord),  // next
		asm.LoadMem(asm.R2, asm.R8, 8, asm.DWord),  // interval
		asm.LoadMem(asm.R3, asm.R8, 16, asm.DWord), // slack
		asm.JLT.Reg(asm.R0, asm.R1, "paced"),
		// next = max(next, now - slack) + interval
		asm.Mov.Reg(asm.R4, asm.R0),
		asm.Sub.Reg(asm.R4, asm.R3),
		asm.JGE.Reg(asm.R1, asm.R4, "keep"),
		asm.Mov.Reg(asm.R1, asm.R4),
		asm.Add.Reg(asm.R1, asm.R2).WithSymbol("keep"),
		asm.StoreMem(asm.R8, 0, asm.R1, asm.DWord),
		asm.Ja.Label(send),
		asm.Mov.Imm(asm.R0, XDPDrop).WithSymbol("paced"),
		asm.Return(),
	)
}

// le64 and le32 read memory as the (little-endian) host does.
func le64(b []byte) uint64 {
	return uint64(le32(b)) | uint64(le32(b[4:]))<<32
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// sinkInsns counts frames and bytes in the counter map (fd) and returns
// action; ARP and IPv6 frames whose next header is ICMPv6 go to the kernel
// (XDP_PASS, not counted) so that neighbour resolution works through a
// sink.
func sinkInsns(fd int, action int32) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R2, asm.R6, mdData, asm.Word),
		asm.LoadMem(asm.R3, asm.R6, mdDataEnd, asm.Word),
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, 21),
		asm.JGT.Reg(asm.R4, asm.R3, "count"),
		asm.LoadMem(asm.R5, asm.R2, 12, asm.Half),
		asm.JEq.Imm(asm.R5, 0x0608, "pass"),  // ETH_P_ARP, network order read little-endian
		asm.JNE.Imm(asm.R5, 0xdd86, "count"), // ETH_P_IPV6
		asm.LoadMem(asm.R5, asm.R2, 20, asm.Byte),
		asm.JEq.Imm(asm.R5, 58, "pass"), // IPPROTO_ICMPV6
		asm.Mov.Imm(asm.R0, 0).WithSymbol("count"),
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, fd),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "act"),
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
		asm.LoadMem(asm.R2, asm.R6, mdData, asm.Word),
		asm.LoadMem(asm.R3, asm.R6, mdDataEnd, asm.Word),
		asm.Sub.Reg(asm.R3, asm.R2),
		asm.LoadMem(asm.R1, asm.R0, 8, asm.DWord),
		asm.Add.Reg(asm.R1, asm.R3),
		asm.StoreMem(asm.R0, 8, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, action).WithSymbol("act"),
		asm.Return(),
		asm.Mov.Imm(asm.R0, XDPPass).WithSymbol("pass"),
		asm.Return(),
	}
}
