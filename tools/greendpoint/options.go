package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"xdpgw/tools/greendpoint/gre"
)

// underlayMTU is the link MTU the default tunnel MTU is derived from: the
// testbed's veth pairs keep the Ethernet default.
const underlayMTU = 1500

// options is the parsed command line.
type options struct {
	name    string
	local   netip.Addr
	remote  netip.Addr
	key     uint32
	hasKey  bool
	addrs   []netip.Prefix // IPv4 and IPv6 addresses for the TUN device
	mtu     int
	routes  []netip.Prefix
	csum    bool
	verbose bool
}

// greConfig is what Decap checks received packets against.
func (o options) greConfig() gre.Config {
	return gre.Config{Local: o.local, Remote: o.remote, Key: o.key, HasKey: o.hasKey}
}

// defaultMTU leaves room in a 1500-byte underlay packet for the outer IPv4
// header and the GRE header this endpoint sends (the same arithmetic as
// the kernel's ip_gre: 1476 unkeyed, 1472 keyed, 4 less with a checksum).
func defaultMTU(hasKey, csum bool) int {
	return underlayMTU - 20 - gre.HeaderLength(hasKey, csum)
}

const usageText = `usage: greendpoint --name IFNAME --local A --remote B [--key N] --addr CIDR [--addr6 CIDR]
                   [--mtu N] [--route CIDR]... [--csum] [-v]

Creates TUN device IFNAME and carries its IPv4 and IPv6 packets in GRE over
IPv4 between --local (an address of this namespace) and --remote, until
SIGINT or SIGTERM. SIGUSR1 prints the counters; so does exit.

`

// parseArgs parses and checks the command line. It returns flag.ErrHelp
// after printing the usage for -h.
func parseArgs(args []string, out io.Writer) (options, error) {
	var (
		o            options
		local        addrValue
		remote       addrValue
		key          keyValue
		addrs, addr6 prefixList
		routes       prefixList
	)
	fs := flag.NewFlagSet("greendpoint", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.name, "name", "gre1", "name of the TUN device to create")
	fs.Var(&local, "local", "this end's underlay IPv4 address (must be configured in the namespace)")
	fs.Var(&remote, "remote", "the peer's underlay IPv4 address")
	fs.Var(&key, "key", "GRE key, a number or dotted quad (RFC 2890); absent: unkeyed tunnel")
	fs.Var(&addrs, "addr", "IPv4 address/prefix for the device (repeatable)")
	fs.Var(&addr6, "addr6", "IPv6 address/prefix for the device (repeatable)")
	fs.IntVar(&o.mtu, "mtu", 0, "device MTU (default: 1500 less the outer IPv4 and GRE headers)")
	fs.Var(&routes, "route", "IPv4 or IPv6 prefix to route through the device (repeatable)")
	fs.BoolVar(&o.csum, "csum", false, "add a GRE checksum to sent packets (received ones are verified whenever present)")
	fs.BoolVar(&o.verbose, "v", false, "log every packet (to stderr)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.local, o.remote = local.a, remote.a
	o.key, o.hasKey = key.v, key.set
	o.routes = routes
	if err := checkName(o.name); err != nil {
		return options{}, err
	}
	for _, a := range []struct {
		flag string
		v    netip.Addr
	}{{"local", o.local}, {"remote", o.remote}} {
		switch {
		case !a.v.IsValid():
			return options{}, fmt.Errorf("--%s is required", a.flag)
		case !a.v.Is4():
			return options{}, fmt.Errorf("--%s %s: only an IPv4 underlay is supported", a.flag, a.v)
		case a.v.IsUnspecified() || a.v.IsMulticast() || a.v == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return options{}, fmt.Errorf("--%s %s: not a unicast address", a.flag, a.v)
		}
	}
	if o.local == o.remote {
		return options{}, fmt.Errorf("--local and --remote are both %s", o.local)
	}
	for _, p := range addrs {
		if !p.Addr().Is4() {
			return options{}, fmt.Errorf("--addr %s: not IPv4 (use --addr6)", p)
		}
	}
	for _, p := range addr6 {
		if !p.Addr().Is6() {
			return options{}, fmt.Errorf("--addr6 %s: not IPv6 (use --addr)", p)
		}
	}
	o.addrs = append(append(o.addrs, addrs...), addr6...)
	if len(o.addrs) == 0 {
		return options{}, errors.New("--addr or --addr6 is required")
	}
	for _, p := range o.routes {
		if p != p.Masked() {
			return options{}, fmt.Errorf("--route %s: host bits set (did you mean %s?)", p, p.Masked())
		}
	}
	maxMTU := 65535 - 20 - gre.HeaderLength(o.hasKey, o.csum)
	switch {
	case o.mtu == 0:
		o.mtu = defaultMTU(o.hasKey, o.csum)
	case o.mtu < 68 || o.mtu > maxMTU:
		// RFC 791: every IPv4 link carries 68 bytes; the top is what fits
		// in one outer IPv4 packet.
		return options{}, fmt.Errorf("--mtu %d: out of range 68..%d", o.mtu, maxMTU)
	}
	if len(addr6) > 0 && o.mtu < 1280 {
		return options{}, fmt.Errorf("--mtu %d: IPv6 needs at least 1280 (RFC 8200 §5)", o.mtu)
	}
	return o, nil
}

// checkName refuses names the kernel would refuse, with a clearer message.
func checkName(n string) error {
	switch {
	case n == "":
		return errors.New("--name is empty")
	case len(n) >= 16: // IFNAMSIZ, with the terminating NUL
		return fmt.Errorf("--name %q: longer than 15 bytes", n)
	case n == "." || n == ".." || strings.ContainsAny(n, "/: \t\n"):
		return fmt.Errorf("--name %q: not a valid interface name", n)
	}
	return nil
}

// addrValue is a flag holding one IP address.
type addrValue struct{ a netip.Addr }

func (v *addrValue) String() string {
	if !v.a.IsValid() {
		return ""
	}
	return v.a.String()
}

func (v *addrValue) Set(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return fmt.Errorf("bad address %q", s)
	}
	v.a = a.Unmap()
	return nil
}

// keyValue is the --key flag: a 32-bit number, decimal, 0x hex or a dotted
// quad as ip-tunnel(8) writes keys; set tells an explicit key 0 from none.
type keyValue struct {
	v   uint32
	set bool
}

func (k *keyValue) String() string {
	if !k.set {
		return ""
	}
	return strconv.FormatUint(uint64(k.v), 10)
}

func (k *keyValue) Set(s string) error {
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		b := a.As4()
		k.v, k.set = uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]), true
		return nil
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return fmt.Errorf("bad key %q: want a number 0..4294967295 or a dotted quad", s)
	}
	k.v, k.set = uint32(n), true
	return nil
}

// prefixList is a repeatable flag of address/prefix values.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Errorf("bad prefix %q: want ADDRESS/LENGTH", s)
	}
	*l = append(*l, p)
	return nil
}
