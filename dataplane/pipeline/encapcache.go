package pipeline

import (
	"encoding/binary"

	"xdpgw/dataplane/checksum"
	"xdpgw/dataplane/fib"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/packet"
)

// The outer headers of GRE over IPv4 depend, per packet, only on the
// tunnel (output port, outer source and destination, key), on the
// underlay route and neighbour of the outer destination, and on three
// fields of the inner packet (TOS, length) and the worker (IP ID). encap4
// keeps the headers it built for a tunnel in a small per-worker cache
// and, on a hit, copies them and patches those three fields and the
// header checksum, instead of looking up the underlay route and the
// neighbour and encoding Ethernet, IPv4 and GRE again.
//
// An entry is used only while everything it was derived from is the same
// object: the Env (ports, VRFs), the neighbour table and the underlay
// VRF's route table. All three are immutable and replaced, not changed,
// when the control plane publishes a change, and a worker loads the
// current ones per batch (the route table per packet), so a route or
// neighbour change reaches the next packet exactly as without the cache.

// An entry holds pointers to the tables it was built from, which keeps
// them alive: a tunnel that falls idle would keep a replaced underlay
// table (a full BGP table is 100+ MiB) until another tunnel took its slot.
// So each batch the worker checks one slot (encapRelease, round robin) and
// empties it if any of its tables has been replaced: a replaced table is
// let go within encapCacheSize batches.

// encapCacheSize is the number of tunnels a worker keeps headers for
// (direct-mapped: a tunnel whose slot another took is rebuilt).
const encapCacheSize = 128

// encapHdr4Max is Ethernet + IPv4 (no options) + GRE with a key.
const encapHdr4Max = packet.EthernetSize + packet.IPv4MinSize + 8

type encapEntry struct {
	env   *Env
	neigh *neigh.Table
	under *fib.Table

	src, dst uint32 // addr4 words
	key      uint32
	port     uint16
	hasKey   bool
	valid    bool

	hlen uint8
	// sum is what write's checksum update starts from: the complement of
	// the IPv4 header checksum of hdr as stored (TOS, total length and ID
	// zero) plus the three fields' changes from zero but for their new
	// values, which each packet adds (RFC 1624: ~C + ~0 + new, per
	// field). One ~0 is left out: checksum.Apply(0, x) adds it (~0).
	sum uint64
	hdr [encapHdr4Max]byte
}

func encapSlot(dst uint32, key uint32, port uint16) int {
	h := (dst ^ key ^ uint32(port)<<16) * 0x9e3779b1
	return int(h >> (32 - 7) & (encapCacheSize - 1))
}

// hit reports whether c holds the headers of this tunnel, built from the
// current tables.
func (c *encapEntry) hit(env *Env, nt *neigh.Table, under *fib.Table, src, dst uint32, key uint32, hasKey bool, port uint16) bool {
	return c.valid && c.env == env && c.neigh == nt && c.under == under && c.dst == dst && c.src == src &&
		c.key == key && c.hasKey == hasKey && c.port == port
}

// fill builds the tunnel's headers into c.
func (c *encapEntry) fill(env *Env, nt *neigh.Table, under *fib.Table, src, dst uint32, key uint32, hasKey bool, port uint16, mac, ownMAC [6]byte) {
	*c = encapEntry{}
	c.env, c.neigh, c.under = env, nt, under
	c.src, c.dst, c.key, c.hasKey, c.port = src, dst, key, hasKey, port
	b := c.hdr[:]
	packet.EncodeEthernet(b, packet.MAC(mac), packet.MAC(ownMAC), packet.EtherTypeIPv4)
	packet.EncodeIPv4(b[packet.EthernetSize:], packet.IPv4Fields{
		Flags:    packet.IPv4FlagDF,
		TTL:      64,
		Protocol: packet.ProtoGRE,
		Src:      wordAddr4(src),
		Dst:      wordAddr4(dst),
	})
	n := packet.EncodeGRE(b[packet.EthernetSize+packet.IPv4MinSize:], packet.EtherTypeIPv4, key, hasKey)
	c.hlen = uint8(packet.EthernetSize + packet.IPv4MinSize + n)
	c.sum = uint64(^packet.IPv4(b[packet.EthernetSize:]).Checksum()) + 2*0xffff
	c.valid = true
}

// write copies the headers to h and sets the packet's TOS, total length
// and ID, updating the header checksum for them (RFC 1624: each field
// changes from the template's zero).
func (c *encapEntry) write(h *[encapHdr4Max]byte, tos uint8, total, id uint16) {
	// Word copies instead of a memmove call of hlen bytes (an array
	// assignment this large also becomes a memmove call, the compiler
	// not knowing that the two do not overlap): 32 bytes, then the rest
	// of IPv4 and GRE with its key (42 bytes in all) or without (38).
	const fixed = packet.EthernetSize + packet.IPv4MinSize
	s := &c.hdr
	le := binary.LittleEndian
	le.PutUint64(h[0:], le.Uint64(s[0:]))
	le.PutUint64(h[8:], le.Uint64(s[8:]))
	le.PutUint64(h[16:], le.Uint64(s[16:]))
	le.PutUint64(h[24:], le.Uint64(s[24:]))
	if c.hlen == encapHdr4Max {
		le.PutUint64(h[32:], le.Uint64(s[32:]))
		le.PutUint16(h[40:], le.Uint16(s[40:]))
	} else {
		le.PutUint32(h[32:], le.Uint32(s[32:]))
		le.PutUint16(h[36:], le.Uint16(s[36:]))
	}
	ip := h[packet.EthernetSize:fixed]
	ip[1] = tos
	binary.BigEndian.PutUint16(ip[2:], total)
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[10:], checksum.Apply(0, c.sum+uint64(tos)+uint64(total)+uint64(id)))
}

// encapRelease empties the next slot of the round if it was built from
// tables that are no longer current (see above). Once per batch.
func (w *Worker) encapRelease() {
	c := &w.encap[w.encapHand%encapCacheSize]
	w.encapHand++
	if !c.valid {
		return
	}
	env := w.env
	if c.env != env || c.neigh != w.neigh || int(c.port) >= len(env.Ports) ||
		c.under != env.VRFs[env.Ports[c.port].VRF].Table() {
		*c = encapEntry{}
	}
}
