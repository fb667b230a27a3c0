// Command nat64diff is the NAT64 testbed's packet tool (testbed/nat64.sh):
//
//	nat64diff flood -netns NS -dev IF -dst-mac MAC -src ADDR6 -dst ADDR6 [-count 2000]
//	nat64diff diff  [-tayga=true] [-v]
//
// flood sends TCP SYNs from distinct source ports as fast as a packet
// socket takes them and prints how many it sent and how long it took (the
// SYN-limit check of the testbed).
//
// diff is the differential test against tayga: the same corpus of IPv6
// packets (and then IPv4 packets to the pool addresses of the sessions
// the first part made) goes through xdpgw and through tayga in the
// testbed's namespaces; what each sends out of either side is captured,
// normalised for what legitimately differs (pool address and port, IPv4
// ID, client address) and compared field by field. Every difference must
// be in the table of known differences (known.go, docs/nat64.md), each
// with the RFC clause behind xdpgw's choice; anything else fails.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "flood":
		err = flood(os.Args[2:])
	case "diff":
		err = diff(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nat64diff:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: nat64diff flood|diff [flags] (-h for each)")
	os.Exit(2)
}

func flood(args []string) error {
	fs := flag.NewFlagSet("flood", flag.ExitOnError)
	ns := fs.String("netns", "n64-client", "network namespace of -dev")
	dev := fs.String("dev", "n64-c0", "interface to send from")
	dstMAC := fs.String("dst-mac", "02:00:00:00:01:03", "the NAT64's MAC")
	src := fs.String("src", "2001:db8:6::7", "IPv6 source")
	dst := fs.String("dst", "64:ff9b::202:20b", "IPv6 destination (prefix + EIP)")
	dport := fs.Uint("dport", 80, "TCP destination port")
	sport := fs.Uint("sport", 20000, "first source port")
	count := fs.Int("count", 2000, "SYNs to send")
	burst := fs.Int("burst", 256, "SYNs sent back to back before a pause of -gap (the NAT64's receive ring is 2048 deep)")
	gap := fs.Duration("gap", 2*time.Millisecond, "pause between bursts")
	_ = fs.Parse(args)
	mac, err := net.ParseMAC(*dstMAC)
	if err != nil {
		return err
	}
	s, err := netip.ParseAddr(*src)
	if err != nil {
		return err
	}
	d, err := netip.ParseAddr(*dst)
	if err != nil {
		return err
	}
	l, err := OpenLink(*ns, *dev)
	if err != nil {
		return err
	}
	defer l.Close()
	frames := make([][]byte, *count)
	for i := range frames {
		seg := tcpSeg(uint16(int(*sport)+i), uint16(*dport), uint32(i)*7919, 0, synF, synOpts, nil)
		fixL4(protoTCP, seg, pseudo6(s, d, protoTCP, len(seg)))
		frames[i] = eth(mac, l.MAC, etIPv6, ipv6(v6hdr{src: s, dst: d, hl: 64}, nil, protoTCP, seg))
	}
	start := time.Now()
	sent := 0
	for i, f := range frames {
		if i > 0 && *burst > 0 && i%*burst == 0 {
			time.Sleep(*gap)
		}
		for try := 0; try < 100; try++ {
			if err = l.Send(f); err == nil {
				sent++
				break
			}
			time.Sleep(100 * time.Microsecond) // ENOBUFS: let the veth drain
		}
	}
	el := time.Since(start)
	fmt.Printf("sent %d SYNs in %.3f s\n", sent, el.Seconds())
	if sent != *count {
		return fmt.Errorf("sent only %d of %d: %v", sent, *count, err)
	}
	return nil
}
