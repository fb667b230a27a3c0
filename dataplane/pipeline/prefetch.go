package pipeline

import (
	"encoding/binary"

	"xdpgw/dataplane/packet"
	"xdpgw/dataplane/session"
)

// Prefetching the session table. A large table lives in DRAM: each lookup
// is two dependent cache misses (index bucket, entry), and a worker that
// takes its packets one at a time pays them in turn. Before it processes a
// batch, the worker reads the raw headers of every frame, computes the
// session keys their processing will look up first, and starts loading
// those keys' index buckets (session.Worker.Prefetch), so that the batch's
// misses overlap. The pass only reads: a frame it misjudges costs a
// useless prefetch, never a wrong verdict; Process still parses and checks
// everything.
//
// Which keys: a NAT64 packet from the IPv6 side its session's forward key,
// and for a TCP SYN the keys a new session looks up and publishes (the
// binding of (X',x), its first candidate (T,t), the session's reverse
// key); a NAT64 packet from the IPv4 side its session's reverse key; a
// packet from the Internet to an EIP its flow key; a tenant's packet in
// its GRE tunnel (the plain layout: no GRE checksum or sequence number)
// its flow key. prefetchKeys must build exactly the keys the processing
// builds (TestPrefetchKeysMatchLookups checks).
//
// A small table stays in the caches and gains nothing, so the pass runs
// only when the table is larger than prefetchMinBytes.

// prefetchMinBytes: tables below this size (index and entries) are left
// to the caches.
const prefetchMinBytes = 8 << 20

// MaxPrefetchKeys is the most keys one frame prefetches.
const MaxPrefetchKeys = 4

// prefetchBatch prefetches the session keys of every frame of batch.
func (w *Worker) prefetchBatch(batch []Frame) {
	var keys [MaxPrefetchKeys]session.Key
	for i := range batch {
		n := w.prefetchKeys(w.env, &batch[i], &keys)
		for j := 0; j < n; j++ {
			w.sw.Prefetch(&keys[j])
		}
	}
}

// PrefetchKeys fills keys with the session keys that processing f under
// the current Env would look up first, and returns how many: what Process
// prefetches for f when the table is large. For tests and diagnostics.
func (w *Worker) PrefetchKeys(f *Frame, keys *[MaxPrefetchKeys]session.Key) int {
	return w.prefetchKeys(w.d.env.Load(), f, keys)
}

// prefetchKeys reads the frame's headers without trusting them: every
// offset is checked against the frame.
func (w *Worker) prefetchKeys(env *Env, f *Frame, keys *[MaxPrefetchKeys]session.Key) int {
	if int(f.InPort) >= len(env.Ports) || f.Drop != DropNone {
		return 0
	}
	d := f.Data()
	switch env.Ports[f.InPort].Role {
	case RoleIPv6:
		if n := env.NAT64; n != nil {
			return prefetchNAT64Out(d, n, keys)
		}
	case RoleIPv4:
		if n := env.NAT64; n != nil {
			return prefetchNAT64In(d, n, keys)
		}
	case RoleExternal:
		if gw := env.Gateway; gw != nil {
			return prefetchEIP(d, gw, keys)
		}
	case RoleOverlay:
		if gw := env.Gateway; gw != nil {
			return prefetchTenant(d, gw, keys)
		}
	}
	return 0
}

// Offsets in an untagged Ethernet frame.
const (
	pfL3     = packet.EthernetSize
	pfL4v6   = pfL3 + packet.IPv6Size
	pfL4v4   = pfL3 + packet.IPv4MinSize
	pfGREKey = pfL4v4 + 4
	pfInner  = pfL4v4 + 8 // inner IPv4 of a GRE header with a key only
)

func isTCPOrUDP(proto uint8) bool { return proto == packet.ProtoTCP || proto == packet.ProtoUDP }

// ipv4Plain reports whether d holds, at off, an IPv4 header without
// options that is not a fragment, followed by 4 bytes of ports.
func ipv4Plain(d []byte, off int) bool {
	return len(d) >= off+packet.IPv4MinSize+4 && d[off] == 0x45 && binary.BigEndian.Uint16(d[off+6:])&0x3fff == 0
}

// rawFlow4 reports whether d holds an untagged Ethernet frame with an
// option-less, unfragmented IPv4 TCP or UDP packet at l3.
func rawFlow4(d []byte, l3 int) bool {
	return len(d) >= pfL3 && binary.BigEndian.Uint16(d[12:]) == packet.EtherTypeIPv4 && ipv4Plain(d, l3) && isTCPOrUDP(d[l3+9])
}

// rawKey4 fills k with the 5-tuple of the IPv4 packet at l3 (checked by
// rawFlow4 or ipv4Plain) in zone.
func rawKey4(k *session.Key, d []byte, l3 int, zone uint16) {
	l4 := l3 + packet.IPv4MinSize
	*k = session.Key{}
	k.Family = session.FamilyIPv4
	k.Zone = zone
	k.Proto = d[l3+9]
	k.SrcPort = binary.BigEndian.Uint16(d[l4:])
	k.DstPort = binary.BigEndian.Uint16(d[l4+2:])
	copy(k.Src[:4], d[l3+12:l3+16])
	copy(k.Dst[:4], d[l3+16:l3+20])
}

func prefetchNAT64Out(d []byte, n *NAT64, keys *[MaxPrefetchKeys]session.Key) int {
	if len(d) < pfL4v6+14 || binary.BigEndian.Uint16(d[12:]) != packet.EtherTypeIPv6 || !isTCPOrUDP(d[pfL3+6]) {
		return 0
	}
	proto := d[pfL3+6]
	var src, dst [16]byte
	copy(src[:], d[pfL3+8:])
	copy(dst[:], d[pfL3+24:])
	eip, ok := n.Prefix.Extract(&dst)
	if !ok {
		return 0
	}
	sport := binary.BigEndian.Uint16(d[pfL4v6:])
	dport := binary.BigEndian.Uint16(d[pfL4v6+2:])
	k := &keys[0]
	*k = session.Key{}
	k.Family = session.FamilyNAT64
	k.Zone = zoneNAT64
	k.Proto = proto
	k.Src = src
	k.SrcPort = sport
	k.DstPort = dport
	copy(k.Dst[:4], eip[:])
	if proto != packet.ProtoTCP || d[pfL4v6+13]&(packet.TCPFlagSYN|packet.TCPFlagACK) != packet.TCPFlagSYN || len(n.Pools) == 0 {
		return 1
	}
	// A SYN probably opens a session: its binding, the binding's first
	// candidate and the session's reverse key.
	keys[1] = session.Key{}
	keys[1].Family = session.FamilyNAT64
	keys[1].Zone = zoneBIB
	keys[1].Proto = proto
	keys[1].Src = src
	keys[1].SrcPort = sport
	t, tport := n.bibCandidate(bibSeed(&src, sport, proto), 0)
	keys[2] = session.Key{}
	keys[2].Family = session.FamilyIPv4
	keys[2].Zone = zoneBIB
	keys[2].Proto = proto
	keys[2].SrcPort = tport
	copy(keys[2].Src[:4], t[:])
	keys[3] = session.Key{}
	keys[3].Family = session.FamilyIPv4
	keys[3].Zone = zoneNAT64
	keys[3].Proto = proto
	keys[3].SrcPort = dport
	keys[3].DstPort = tport
	copy(keys[3].Src[:4], eip[:])
	copy(keys[3].Dst[:4], t[:])
	return 4
}

func prefetchNAT64In(d []byte, n *NAT64, keys *[MaxPrefetchKeys]session.Key) int {
	if !rawFlow4(d, pfL3) || !n.inPool([4]byte(d[pfL3+16:pfL3+20])) {
		return 0
	}
	rawKey4(&keys[0], d, pfL3, zoneNAT64)
	return 1
}

func prefetchEIP(d []byte, gw *Gateway, keys *[MaxPrefetchKeys]session.Key) int {
	if !rawFlow4(d, pfL3) {
		return 0
	}
	if _, ok := gw.EIPByAddr([4]byte(d[pfL3+16 : pfL3+20])); !ok {
		return 0
	}
	rawKey4(&keys[0], d, pfL3, zoneInternet)
	return 1
}

func prefetchTenant(d []byte, gw *Gateway, keys *[MaxPrefetchKeys]session.Key) int {
	if len(d) < pfL3 || binary.BigEndian.Uint16(d[12:]) != packet.EtherTypeIPv4 || !ipv4Plain(d, pfL3) ||
		d[pfL3+9] != packet.ProtoGRE || len(d) < pfInner {
		return 0
	}
	// GRE version 0 with a key and nothing else, carrying IPv4.
	if binary.BigEndian.Uint16(d[pfL4v4:]) != 0x2000 || binary.BigEndian.Uint16(d[pfL4v4+2:]) != packet.EtherTypeIPv4 ||
		!ipv4Plain(d, pfInner) || !isTCPOrUDP(d[pfInner+9]) {
		return 0
	}
	ti, ok := gw.TenantByKey(binary.BigEndian.Uint32(d[pfGREKey:]))
	if !ok {
		return 0
	}
	rawKey4(&keys[0], d, pfInner, uint16(ti)+1)
	return 1
}
