package daemon

import (
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"xdpgw/dataplane/afxdp"
	"xdpgw/dataplane/neigh"
	"xdpgw/dataplane/pipeline"
)

// neighbours mirrors the kernel's neighbour table for the ports'
// interfaces and publishes it, merged with the configuration's static
// entries (which win), into the running Env's neigh.Cache. It is owned by
// the daemon goroutine.
type neighbours struct {
	portOf map[int]uint16 // ifindex -> port index
	ifOf   []int          // port index -> ifindex
	kernel map[neighKey]neigh.MAC
	static []neigh.Entry
	cache  *neigh.Cache

	// Misses already asked about, and when: the kernel is asked at most
	// once a second per address.
	asked map[neighKey]time.Time
}

type neighKey struct {
	ifindex int
	addr    netip.Addr
}

func newNeighbours(ifindexes []int) *neighbours {
	n := &neighbours{portOf: map[int]uint16{}, ifOf: ifindexes, kernel: map[neighKey]neigh.MAC{}, asked: map[neighKey]time.Time{}}
	for i, ifx := range ifindexes {
		n.portOf[ifx] = uint16(i)
	}
	return n
}

// usable: the states in which the kernel has a MAC worth forwarding to.
// STALE counts: the kernel keeps using a stale entry while it re-checks
// it, and traffic through xdpgw never triggers that re-check (the kernel
// does not see it), so dropping STALE entries would drop working next hops.
const usable = unix.NUD_REACHABLE | unix.NUD_STALE | unix.NUD_DELAY | unix.NUD_PROBE | unix.NUD_PERMANENT | unix.NUD_NOARP

// update applies one kernel neighbour; it reports whether the table
// changed.
func (n *neighbours) update(nb *netlink.Neigh, deleted bool) bool {
	if _, ok := n.portOf[nb.LinkIndex]; !ok {
		return false
	}
	addr, ok := netip.AddrFromSlice(nb.IP)
	if !ok {
		return false
	}
	k := neighKey{nb.LinkIndex, addr.Unmap()}
	old, had := n.kernel[k]
	if deleted || nb.State&usable == 0 || len(nb.HardwareAddr) != 6 {
		if had {
			delete(n.kernel, k)
			return true
		}
		return false
	}
	mac := neigh.MAC(nb.HardwareAddr)
	n.kernel[k] = mac
	return !had || old != mac
}

// list loads the kernel's current table.
func (n *neighbours) list() error {
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		ns, err := netlink.NeighList(0, fam)
		if err != nil {
			return err
		}
		for i := range ns {
			n.update(&ns[i], false)
		}
	}
	return nil
}

// publish builds a Table (kernel entries, then static ones so that they
// win) and publishes it.
func (n *neighbours) publish() int {
	entries := make([]neigh.Entry, 0, len(n.kernel)+len(n.static))
	for k, mac := range n.kernel {
		entries = append(entries, neigh.Entry{Port: n.portOf[k.ifindex], Addr: k.addr, MAC: mac})
	}
	entries = append(entries, n.static...)
	t := neigh.Build(entries)
	n.cache.Publish(t)
	return t.Len()
}

// resolve asks the kernel to resolve the next hop of a destination the
// pipeline had no MAC for: the route in the input port's VRF gives the
// output port and the next hop, and an RTM_NEWNEIGH with NTF_USE makes the
// kernel send the ARP request or neighbour solicitation (the kernel, not
// the appliance, speaks ARP and ND). The answer comes back as a netlink
// neighbour update.
func (n *neighbours) resolve(env *pipeline.Env, m afxdp.Miss, now time.Time) (netip.Addr, string, error) {
	if int(m.InPort) >= len(env.Ports) {
		return netip.Addr{}, "", nil
	}
	vrf := env.VRFs[env.Ports[m.InPort].VRF]
	var dst netip.Addr
	var port uint16
	var via netip.Addr
	if m.V4 {
		dst = netip.AddrFrom4([4]byte(m.Addr[:4]))
		nh, ok := vrf.Table().Lookup4(dst.As4())
		if !ok || nh.Local || nh.Blackhole {
			return netip.Addr{}, "", nil
		}
		port, via = nh.Port, nh.Via
	} else {
		dst = netip.AddrFrom16(m.Addr)
		nh, ok := vrf.Table().Lookup6(m.Addr)
		if !ok || nh.Local || nh.Blackhole {
			return netip.Addr{}, "", nil
		}
		port, via = nh.Port, nh.Via
	}
	next := dst
	if via.IsValid() {
		next = via
	}
	if int(port) >= len(n.ifOf) {
		return netip.Addr{}, "", nil
	}
	k := neighKey{n.ifOf[port], next}
	if t, ok := n.asked[k]; ok && now.Sub(t) < time.Second {
		return netip.Addr{}, "", nil
	}
	n.asked[k] = now
	if len(n.asked) > 4096 {
		for k, t := range n.asked {
			if now.Sub(t) > time.Second {
				delete(n.asked, k)
			}
		}
	}
	err := netlink.NeighSet(&netlink.Neigh{
		LinkIndex: k.ifindex,
		Family:    family(next),
		IP:        net.IP(next.AsSlice()),
		Flags:     unix.NTF_USE,
	})
	return next, env.Ports[port].Name, err
}

func family(a netip.Addr) int {
	if a.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}
