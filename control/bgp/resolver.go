package bgp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrUnresolved is what a Resolver returns when it knows no MAC for an
// address (yet).
var ErrUnresolved = errors.New("next hop not resolved")

// Resolver maps a next-hop address to the MAC address frames to it must
// carry. WatchPaths calls it from its own goroutine, once per next hop per
// delivery; it must be safe for concurrent use by several watches.
type Resolver interface {
	Resolve(ctx context.Context, nextHop netip.Addr) (net.HardwareAddr, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, nextHop netip.Addr) (net.HardwareAddr, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, a netip.Addr) (net.HardwareAddr, error) {
	return f(ctx, a)
}

// NetlinkResolver reads the kernel neighbour table (ARP / NDP) of the
// network namespace the process runs in. It does not send probes: the BGP
// session to a directly connected peer keeps the peer's entry fresh, and
// an address the kernel has not resolved is reported as ErrUnresolved
// (WatchPaths then retries; see docs/bgp.md).
type NetlinkResolver struct {
	// LinkIndex restricts the lookup to one interface; 0: any.
	LinkIndex int
}

// usableNUD are the neighbour states whose MAC is worth forwarding to.
// STALE counts: the kernel keeps using a stale entry while it re-checks
// it (same rule as control/daemon's neighbour mirror).
const usableNUD = unix.NUD_REACHABLE | unix.NUD_STALE | unix.NUD_DELAY | unix.NUD_PROBE | unix.NUD_PERMANENT | unix.NUD_NOARP

// Resolve looks nextHop up in the kernel neighbour table.
func (r NetlinkResolver) Resolve(_ context.Context, nextHop netip.Addr) (net.HardwareAddr, error) {
	nextHop = nextHop.Unmap()
	fam := netlink.FAMILY_V4
	if nextHop.Is6() {
		fam = netlink.FAMILY_V6
	}
	list, err := netlink.NeighList(r.LinkIndex, fam)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: neighbour table: %w", nextHop, err)
	}
	for _, n := range list {
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok || a.Unmap() != nextHop || n.State&usableNUD == 0 {
			continue
		}
		if len(n.HardwareAddr) != 6 || bytes.Equal(n.HardwareAddr, make([]byte, 6)) {
			continue
		}
		return append(net.HardwareAddr(nil), n.HardwareAddr...), nil
	}
	return nil, fmt.Errorf("resolve %s: %w", nextHop, ErrUnresolved)
}

// StaticResolver resolves from a fixed map (tests, static neighbours of
// the config file).
type StaticResolver map[netip.Addr]net.HardwareAddr

// Resolve looks a up in the map.
func (m StaticResolver) Resolve(_ context.Context, a netip.Addr) (net.HardwareAddr, error) {
	if mac, ok := m[a.Unmap()]; ok {
		return mac, nil
	}
	return nil, fmt.Errorf("resolve %s: %w", a, ErrUnresolved)
}
