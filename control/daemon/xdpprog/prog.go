// Package xdpprog is xdpgw's XDP program, written in Go with
// cilium/ebpf's asm package (no C toolchain, no generated objects), its
// maps, and its attachment to interfaces through netlink.
//
// # What the program does
//
// It runs on every port before the kernel's stack and decides, per frame:
//
//   - XDP_PASS (to the kernel), in this order:
//     1. Ethernet multicast and broadcast destinations (ARP requests, IPv6
//     ND and MLD, routing protocols): a router does not forward them and
//     the kernel answers them;
//     2. EtherType ARP (unicast ARP replies);
//     3. any EtherType other than IPv4, IPv6 and VLAN tags: not the
//     appliance's;
//     4. ICMPv6 types 133-137 (RS, RA, NS, NA, Redirect: RFC 4861),
//     directly after the IPv6 header;
//     5. TCP with source or destination port 179 (BGP, RFC 4271) in either
//     direction, directly after the IPv6 header or after the IPv4 header of
//     a first fragment;
//     6. IPv4 or IPv6 whose destination is a kernel-owned address of the
//     receiving interface (the "owned" hash map, keyed by ingress ifindex and
//     the address, IPv4 as ::ffff:a.b.c.d; the daemon fills it with the
//     configured port addresses), EXCEPT GRE (IP protocol / next header 47):
//     the gateway terminates tunnels addressed to its own addresses, so GRE
//     to an owned address still goes to the appliance.
//   - Everything else of IPv4 and IPv6, VLAN-tagged frames, and frames too
//     short for the header a rule needs (the appliance counts those under
//     its decode drop reasons): bpf_redirect_map to the XSKMAP entry of the
//     receiving queue (ctx->rx_queue_index). With no socket at that index
//     the redirect falls back to XDP_PASS, so a port whose socket is gone
//     degrades to the kernel rather than to a black hole.
//
// The program never drops and never rewrites a frame.
//
// This package must stay in step with dataplane/afxdp on one point: the
// XSKMAP index is the queue id a socket is bound to.
package xdpprog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// Program and map names as the kernel shows them (bpftool prog/map).
const (
	ProgName  = "xdpgw"
	XSKsName  = "xdpgw_xsks"
	OwnedName = "xdpgw_owned"
)

// MaxOwned bounds the owned-address map.
const MaxOwned = 4096

// OwnedKey is the owned map's key: ingress ifindex and an IPv6 address
// (IPv4 as ::ffff:a.b.c.d). 20 bytes, no padding; the program builds the
// same layout on its stack.
type OwnedKey struct {
	Ifindex uint32
	Addr    [16]byte
}

// KeyFor makes the key of addr on ifindex.
func KeyFor(ifindex int, addr netip.Addr) OwnedKey {
	return OwnedKey{Ifindex: uint32(ifindex), Addr: netip.AddrFrom16(addr.As16()).As16()}
}

// XDP actions and offsets of struct xdp_md (include/uapi/linux/bpf.h).
const (
	xdpPass = 2

	mdData          = 0
	mdDataEnd       = 4
	mdIngressIfidx  = 12
	mdRxQueueIndex  = 16
	ethHdr          = 14
	ipv4Hdr         = 20
	ipv6Hdr         = 40
	protoTCP        = 6
	protoGRE        = 47
	protoICMPv6     = 58
	bgpPort         = 179
	ndFirst, ndLast = 133, 137
)

// be16 is the value a 16-bit load from the packet yields for the
// big-endian (wire) value v on this host.
func be16(v uint16) int32 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return int32(binary.NativeEndian.Uint16(b[:]))
}

// Instructions is the program. It expects map references "xsks" and
// "owned".
func Instructions() asm.Instructions {
	// v4-mapped prefix word: bytes 00 00 ff ff at key offset 12.
	mapped := int64(int32(binary.NativeEndian.Uint32([]byte{0, 0, 0xff, 0xff})))
	const (
		ctx   = asm.R6
		data  = asm.R7
		end   = asm.R8
		proto = asm.R9
		key   = -20 // the owned key on the stack: fp-20 .. fp-1
	)
	return asm.Instructions{
		asm.Mov.Reg(ctx, asm.R1).WithSymbol(ProgName),
		asm.LoadMem(data, ctx, mdData, asm.Word),
		asm.LoadMem(end, ctx, mdDataEnd, asm.Word),

		// Ethernet header.
		asm.Mov.Reg(asm.R0, data),
		asm.Add.Imm(asm.R0, ethHdr),
		asm.JGT.Reg(asm.R0, end, "redirect"),
		asm.LoadMem(asm.R1, data, 0, asm.Byte),
		asm.And.Imm(asm.R1, 1),
		asm.JNE.Imm(asm.R1, 0, "pass"), // group address
		asm.LoadMem(asm.R1, data, 12, asm.Half),
		asm.JEq.Imm(asm.R1, be16(0x0800), "ipv4"),
		asm.JEq.Imm(asm.R1, be16(0x86dd), "ipv6"),
		asm.JEq.Imm(asm.R1, be16(0x8100), "redirect"),
		asm.JEq.Imm(asm.R1, be16(0x88a8), "redirect"),
		asm.Ja.Label("pass"), // ARP and every other EtherType

		// IPv4.
		asm.Mov.Reg(asm.R0, data).WithSymbol("ipv4"),
		asm.Add.Imm(asm.R0, ethHdr+ipv4Hdr),
		asm.JGT.Reg(asm.R0, end, "redirect"),
		asm.LoadMem(proto, data, ethHdr+9, asm.Byte),
		asm.JNE.Imm(proto, protoTCP, "ipv4_gre"),
		// TCP: ports of a first fragment only.
		asm.LoadMem(asm.R1, data, ethHdr+6, asm.Half),
		asm.And.Imm(asm.R1, be16(0x1fff)),
		asm.JNE.Imm(asm.R1, 0, "ipv4_owned"),
		asm.LoadMem(asm.R1, data, ethHdr, asm.Byte),
		asm.And.Imm(asm.R1, 0x0f),
		asm.LSh.Imm(asm.R1, 2),
		asm.JLT.Imm(asm.R1, ipv4Hdr, "redirect"), // bad IHL: the appliance counts it
		asm.Mov.Reg(asm.R2, data),
		asm.Add.Reg(asm.R2, asm.R1),
		asm.Add.Imm(asm.R2, ethHdr),
		asm.Mov.Reg(asm.R0, asm.R2),
		asm.Add.Imm(asm.R0, 4),
		asm.JGT.Reg(asm.R0, end, "redirect"),
		asm.LoadMem(asm.R1, asm.R2, 0, asm.Half),
		asm.JEq.Imm(asm.R1, be16(bgpPort), "pass"),
		asm.LoadMem(asm.R1, asm.R2, 2, asm.Half),
		asm.JEq.Imm(asm.R1, be16(bgpPort), "pass"),
		asm.Ja.Label("ipv4_owned"),
		asm.JEq.Imm(proto, protoGRE, "redirect").WithSymbol("ipv4_gre"),
		// Owned destination? Key: ifindex, ::ffff:dst.
		asm.LoadMem(asm.R1, ctx, mdIngressIfidx, asm.Word).WithSymbol("ipv4_owned"),
		asm.StoreMem(asm.RFP, key, asm.R1, asm.Word),
		asm.StoreImm(asm.RFP, key+4, 0, asm.Word),
		asm.StoreImm(asm.RFP, key+8, 0, asm.Word),
		asm.StoreImm(asm.RFP, key+12, mapped, asm.Word),
		asm.LoadMem(asm.R1, data, ethHdr+16, asm.Word),
		asm.StoreMem(asm.RFP, key+16, asm.R1, asm.Word),
		asm.Ja.Label("lookup"),

		// IPv6.
		asm.Mov.Reg(asm.R0, data).WithSymbol("ipv6"),
		asm.Add.Imm(asm.R0, ethHdr+ipv6Hdr),
		asm.JGT.Reg(asm.R0, end, "redirect"),
		asm.LoadMem(proto, data, ethHdr+6, asm.Byte),
		asm.JEq.Imm(proto, protoGRE, "redirect"),
		asm.JNE.Imm(proto, protoICMPv6, "ipv6_tcp"),
		asm.Mov.Reg(asm.R0, data),
		asm.Add.Imm(asm.R0, ethHdr+ipv6Hdr+1),
		asm.JGT.Reg(asm.R0, end, "redirect"),
		asm.LoadMem(asm.R1, data, ethHdr+ipv6Hdr, asm.Byte),
		asm.JLT.Imm(asm.R1, ndFirst, "ipv6_owned"),
		asm.JLE.Imm(asm.R1, ndLast, "pass"),
		asm.Ja.Label("ipv6_owned"),
		asm.JNE.Imm(proto, protoTCP, "ipv6_owned").WithSymbol("ipv6_tcp"),
		asm.Mov.Reg(asm.R0, data),
		asm.Add.Imm(asm.R0, ethHdr+ipv6Hdr+4),
		asm.JGT.Reg(asm.R0, end, "redirect"),
		asm.LoadMem(asm.R1, data, ethHdr+ipv6Hdr, asm.Half),
		asm.JEq.Imm(asm.R1, be16(bgpPort), "pass"),
		asm.LoadMem(asm.R1, data, ethHdr+ipv6Hdr+2, asm.Half),
		asm.JEq.Imm(asm.R1, be16(bgpPort), "pass"),
		asm.LoadMem(asm.R1, ctx, mdIngressIfidx, asm.Word).WithSymbol("ipv6_owned"),
		asm.StoreMem(asm.RFP, key, asm.R1, asm.Word),
		asm.LoadMem(asm.R1, data, ethHdr+24, asm.DWord),
		asm.StoreMem(asm.RFP, key+4, asm.R1, asm.DWord),
		asm.LoadMem(asm.R1, data, ethHdr+32, asm.DWord),
		asm.StoreMem(asm.RFP, key+12, asm.R1, asm.DWord),

		// The owned-address lookup.
		asm.LoadMapPtr(asm.R1, 0).WithReference("owned").WithSymbol("lookup"),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, key),
		asm.FnMapLookupElem.Call(),
		asm.JNE.Imm(asm.R0, 0, "pass"),

		// To the appliance: the socket of this queue, or the kernel if
		// there is none.
		asm.LoadMapPtr(asm.R1, 0).WithReference("xsks").WithSymbol("redirect"),
		asm.LoadMem(asm.R2, ctx, mdRxQueueIndex, asm.Word),
		asm.Mov.Imm(asm.R3, xdpPass),
		asm.FnRedirectMap.Call(),
		asm.Return(),

		asm.Mov.Imm(asm.R0, xdpPass).WithSymbol("pass"),
		asm.Return(),
	}
}

// Spec is the collection: the program, an XSKMAP of queues entries and
// the owned map.
func Spec(queues int) *ebpf.CollectionSpec {
	return &ebpf.CollectionSpec{
		Maps: map[string]*ebpf.MapSpec{
			"xsks":  {Name: XSKsName, Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: uint32(queues)},
			"owned": OwnedSpec(),
		},
		Programs: map[string]*ebpf.ProgramSpec{
			ProgName: {Name: ProgName, Type: ebpf.XDP, License: "GPL", Instructions: Instructions()},
		},
	}
}

// OwnedSpec is the owned-address map (shared by the programs of all
// ports; the key carries the ifindex).
func OwnedSpec() *ebpf.MapSpec {
	return &ebpf.MapSpec{Name: OwnedName, Type: ebpf.Hash, KeySize: 20, ValueSize: 1, MaxEntries: MaxOwned}
}

// Program is the program loaded for one port, with its XSKMAP.
type Program struct {
	Prog *ebpf.Program
	XSKs *ebpf.Map
}

// Load loads the program for one port with queues XSKMAP entries, sharing
// owned (from NewOwned).
func Load(owned *ebpf.Map, queues int) (*Program, error) {
	coll, err := ebpf.NewCollectionWithOptions(Spec(queues), ebpf.CollectionOptions{
		MapReplacements: map[string]*ebpf.Map{"owned": owned},
	})
	if err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("load XDP program: %+v", verr)
		}
		return nil, fmt.Errorf("load XDP program: %w", err)
	}
	return &Program{Prog: coll.Programs[ProgName], XSKs: coll.Maps["xsks"]}, nil
}

// Close releases the program and its map (an attached program stays
// attached until detached).
func (p *Program) Close() {
	if p == nil {
		return
	}
	p.Prog.Close()
	p.XSKs.Close()
}

// SetSocket puts an AF_XDP socket at its queue's index.
func (p *Program) SetSocket(queue, fd int) error {
	if err := p.XSKs.Put(uint32(queue), uint32(fd)); err != nil {
		return fmt.Errorf("add socket of queue %d to XSKMAP: %w", queue, err)
	}
	return nil
}

// NewOwned creates the owned-address map.
func NewOwned() (*ebpf.Map, error) {
	m, err := ebpf.NewMap(OwnedSpec())
	if err != nil {
		return nil, fmt.Errorf("create owned-address map: %w", err)
	}
	return m, nil
}

// SyncOwned makes the owned map hold exactly want: adds what is missing,
// deletes what is no longer wanted (a reload that changes port addresses).
func SyncOwned(m *ebpf.Map, want []OwnedKey) error {
	keep := make(map[OwnedKey]bool, len(want))
	for _, k := range want {
		keep[k] = true
		if err := m.Update(k, uint8(1), ebpf.UpdateAny); err != nil {
			return fmt.Errorf("update owned-address map: %w", err)
		}
	}
	var k OwnedKey
	var v uint8
	var stale []OwnedKey
	it := m.Iterate()
	for it.Next(&k, &v) {
		if !keep[k] {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("list owned-address map: %w", err)
	}
	for _, k := range stale {
		if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("delete from owned-address map: %w", err)
		}
	}
	return nil
}
