package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"
)

// nat is one of the two NAT64s under test, as the testbed wires it.
type nat struct {
	name   string
	client netip.Addr   // the corpus's IPv6 source: no host owns it, so nothing answers
	pool   netip.Prefix // the NAT's IPv4 pool
	own4   []netip.Addr // the NAT's own IPv4 addresses (sources of its errors)
	own6   []netip.Addr
	v6mac  net.HardwareAddr // the NAT's MAC on the IPv6 side
	v4mac  net.HardwareAddr // ... and on the IPv4 side
	v6, v4 *Link            // the client's link to it, the router's link to it
	maps   map[string]mapping
}

// mapping is what the NAT bound a client transport address to.
type mapping struct {
	addr netip.Addr
	port uint16
}

var (
	prefix = netip.MustParsePrefix("fd00:64::/96")
	remote = netip.MustParseAddr("203.0.113.7") // blackholed at the router
	server = netip.MustParseAddr("2.2.2.11")    // one router hop away
)

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// captured is one packet a NAT sent, on which side.
type captured struct {
	side string
	pkt  []byte
	kv   []kv
}

// result is what one corpus item produced through each NAT.
type result struct {
	it      *item
	out     [2][]captured
	skipped [2]string
	diffs   []string // unexplained
	known   []string // explained by known.go
	bugs    []string // known xdpgw bugs (known.go, bug: true)
}

func diff(args []string) error {
	fs := flag.NewFlagSet("diff", flag.ExitOnError)
	wait := fs.Duration("wait", 120*time.Millisecond, "how long to collect the output of each corpus item")
	verbose := fs.Bool("v", false, "print every packet's fields")
	only := fs.String("only", "", "run only the items whose name contains this")
	_ = fs.Parse(args)

	nats := [2]*nat{
		{name: "xdpgw", client: netip.MustParseAddr("2001:db8:6::70"), pool: netip.MustParsePrefix("198.51.100.0/28"),
			own4: addrs("192.0.2.1"), own6: addrs("2001:db8:6::1"),
			v6mac: mac("02:00:00:00:01:03"), v4mac: mac("02:00:00:00:01:04")},
		{name: "tayga", client: netip.MustParseAddr("2001:db8:7::70"), pool: netip.MustParsePrefix("198.51.100.16/28"),
			own4: addrs("192.0.4.1", "192.0.5.1"), own6: addrs("2001:db8:7::1", "fd00:64::c000:401", "fd00:64::c000:501"),
			v6mac: mac("02:00:00:00:07:03"), v4mac: mac("02:00:00:00:07:04")},
	}
	var err error
	devs := [2][2]string{{"n64-c0", "n64-r0"}, {"n64-c1", "n64-r2"}}
	for i, n := range nats {
		if n.v6, err = OpenLink("n64-client", devs[i][0]); err != nil {
			return err
		}
		defer n.v6.Close()
		if n.v4, err = OpenLink("n64-rtr", devs[i][1]); err != nil {
			return err
		}
		defer n.v4.Close()
		n.maps = map[string]mapping{}
	}
	time.Sleep(50 * time.Millisecond)
	for _, n := range nats {
		if err := warmUp(n); err != nil {
			return err
		}
	}

	var results []*result
	for _, it := range corpus() {
		if *only != "" && !strings.Contains(it.name, *only) {
			continue
		}
		r := &result{it: it}
		for i, n := range nats {
			pkts, why := it.build(n)
			if why != "" {
				r.skipped[i] = why
				continue
			}
			for _, p := range pkts {
				var f []byte
				var l *Link
				if p[0]>>4 == 6 {
					f, l = eth(n.v6mac, n.v6.MAC, etIPv6, p), n.v6
				} else {
					f, l = eth(n.v4mac, n.v4.MAC, etIPv4, p), n.v4
				}
				if err := l.Send(f); err != nil {
					return fmt.Errorf("%s: send to %s: %w", it.name, n.name, err)
				}
			}
		}
		time.Sleep(*wait)
		for i, n := range nats {
			for _, side := range []string{"v6", "v4"} {
				l := n.v6
				if side == "v4" {
					l = n.v4
				}
				for _, c := range l.Take() {
					if p := relevant(c.Frame); p != nil {
						r.out[i] = append(r.out[i], captured{side: side, pkt: p, kv: flatten(n, side, p)})
					}
				}
			}
			if it.learn != "" {
				learn(n, it, r.out[i])
			}
		}
		compare(r)
		results = append(results, r)
	}
	return report(os.Stdout, results, *verbose)
}

// warmUp sends a UDP datagram through the NAT (from a port the corpus does
// not use) until its translation comes out of the IPv4 side, for up to
// 5 s, then discards everything captured so far. On a busy machine the
// first packets after start-up can be lost while a NAT's data path
// settles (an AF_XDP worker not yet scheduled to fill its ring), and the
// corpus's first item must not be one of them: later items learn their
// mappings from it.
func warmUp(n *nat) error {
	p := v6(n, remote, 64, nil, protoUDP, udpSeg(39999, 53, []byte("warm-up")), false)
	f := eth(n.v6mac, n.v6.MAC, etIPv6, p)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := n.v6.Send(f); err != nil {
			return fmt.Errorf("warm-up: send to %s: %w", n.name, err)
		}
		for end := time.Now().Add(250 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			for _, c := range n.v4.Take() {
				if p := relevant(c.Frame); p != nil && p[0]>>4 == 4 {
					time.Sleep(20 * time.Millisecond)
					n.v6.Take()
					n.v4.Take()
					return nil
				}
			}
		}
	}
	return fmt.Errorf("warm-up: nothing came out of %s's IPv4 side in 5 s", n.name)
}

// relevant returns the IP packet of a frame worth comparing: IPv4 or IPv6,
// not neighbour discovery, not multicast.
func relevant(f []byte) []byte {
	if len(f) < 14+20 {
		return nil
	}
	p := f[14:]
	switch be16(f[12:]) {
	case etIPv4:
		return p
	case etIPv6:
		if len(p) < 40 || p[24] == 0xff {
			return nil
		}
		if p[6] == protoICMP6 && len(p) > 40 && p[40] >= 130 && p[40] <= 143 {
			return nil // MLD, router and neighbour discovery
		}
		return p
	}
	return nil
}

// learn records the pool address and port the NAT gave the item's flow,
// from its translated output on the IPv4 side.
func learn(n *nat, it *item, out []captured) {
	for _, c := range out {
		p := c.pkt
		if c.side != "v4" || p[0]>>4 != 4 || len(p) < 28 {
			continue
		}
		ihl := int(p[0]&15) * 4
		src := netip.AddrFrom4([4]byte(p[12:16]))
		if !n.pool.Contains(src) || len(p) < ihl+8 {
			continue
		}
		var port uint16
		switch p[9] {
		case protoTCP, protoUDP:
			port = be16(p[ihl:])
		case protoICMP:
			port = be16(p[ihl+4:])
		default:
			continue
		}
		n.maps[it.learn] = mapping{src, port}
		return
	}
}

// compare pairs the two NATs' outputs side by side, in order, and lists
// the fields that differ, each explained by known.go or not.
func compare(r *result) {
	if r.skipped[0] != "" || r.skipped[1] != "" {
		for i, s := range r.skipped {
			if s != "" {
				r.note(fmt.Sprintf("not sent to %s: %s", []string{"xdpgw", "tayga"}[i], s), "", "", "")
			}
		}
		return
	}
	for _, side := range []string{"v4", "v6"} {
		var a, b []captured
		for _, c := range r.out[0] {
			if c.side == side {
				a = append(a, c)
			}
		}
		for _, c := range r.out[1] {
			if c.side == side {
				b = append(b, c)
			}
		}
		if len(a) != len(b) {
			r.note(fmt.Sprintf("%s: xdpgw sent %d packets, tayga %d", side, len(a), len(b)), side+".count", fmt.Sprint(len(a)), fmt.Sprint(len(b)))
		}
		for i := 0; i < min(len(a), len(b)); i++ {
			ma, mb := map[string]string{}, map[string]string{}
			var keys []string
			seen := map[string]bool{}
			for _, x := range a[i].kv {
				ma[x.k] = x.v
				if !seen[x.k] {
					keys, seen[x.k] = append(keys, x.k), true
				}
			}
			for _, x := range b[i].kv {
				mb[x.k] = x.v
				if !seen[x.k] {
					keys, seen[x.k] = append(keys, x.k), true
				}
			}
			for _, k := range keys {
				va, oka := ma[k]
				vb, okb := mb[k]
				if !oka {
					va = "-"
				}
				if !okb {
					vb = "-"
				}
				if va != vb {
					r.note(fmt.Sprintf("%s[%d] %s: xdpgw=%s tayga=%s", side, i, k, va, vb), k, va, vb)
				}
			}
		}
	}
}

// note files a difference as known (with its reason) or unexplained.
func (r *result) note(msg, field, xv, tv string) {
	if k := lookupKnown(r.it.name, field, xv, tv); k != nil {
		if k.bug {
			r.bugs = append(r.bugs, fmt.Sprintf("%s  [%s]", msg, k.id))
		} else {
			r.known = append(r.known, fmt.Sprintf("%s  [%s]", msg, k.id))
		}
		knownUsed[k.id] = true
		return
	}
	r.diffs = append(r.diffs, msg)
}

func report(w *os.File, results []*result, verbose bool) error {
	same, known, bad, bugs := 0, 0, 0, 0
	for _, r := range results {
		status := "same"
		switch {
		case len(r.diffs) > 0:
			status, bad = "DIFFERENT", bad+1
		case len(r.bugs) > 0:
			status, bugs = "known xdpgw bug", bugs+1
		case len(r.known) > 0:
			status, known = "known differences", known+1
		default:
			same++
		}
		fmt.Fprintf(w, "%-4s %-28s xdpgw %d / tayga %d packets: %s\n", r.it.id, r.it.name, len(r.out[0]), len(r.out[1]), status)
		for _, d := range r.diffs {
			fmt.Fprintf(w, "       UNEXPLAINED %s\n", d)
		}
		for _, d := range r.bugs {
			fmt.Fprintf(w, "       XDPGW BUG   %s\n", d)
		}
		for _, d := range r.known {
			fmt.Fprintf(w, "       known       %s\n", d)
		}
		if verbose || len(r.diffs) > 0 {
			for i, out := range r.out {
				for _, c := range out {
					fmt.Fprintf(w, "       %s %s: %s\n", []string{"xdpgw", "tayga"}[i], c.side, fields(c.kv))
				}
			}
		}
	}
	var used []string
	for id := range knownUsed {
		used = append(used, id)
	}
	sort.Strings(used)
	fmt.Fprintf(w, "known differences seen: %s\n", strings.Join(used, " "))
	fmt.Fprintf(w, "%d items: %d identical, %d with known differences only, %d with known xdpgw bugs, %d with unexplained differences\n", len(results), same, known, bugs, bad)
	if bad > 0 {
		return fmt.Errorf("%d items with unexplained differences", bad)
	}
	return nil
}

func fields(kvs []kv) string {
	var b strings.Builder
	for i, x := range kvs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x.k + "=" + x.v)
	}
	return b.String()
}
