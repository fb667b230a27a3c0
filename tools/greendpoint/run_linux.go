package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"xdpgw/dataplane/packet"
	"xdpgw/tools/greendpoint/gre"
)

// Errors the command explains instead of showing a bare errno.
var (
	// errPermission wraps EPERM and EACCES from socket, open and ioctl.
	errPermission = errors.New("operation not permitted: run as root (needs CAP_NET_ADMIN and CAP_NET_RAW)")
	// errNoTUN means /dev/net/tun is missing or the tun driver is absent.
	errNoTUN = errors.New("TUN unavailable: /dev/net/tun is missing or the tun driver is not loaded")
)

// iffTunExcl makes TUNSETIFF fail with EBUSY when the name is taken instead
// of attaching to an existing persistent device (linux/if_tun.h); the
// syscall package does not define it.
const iffTunExcl = 0x8000

// endpoint is one running tunnel: the TUN device and the raw GRE socket.
type endpoint struct {
	o      options
	cfg    gre.Config
	tun    int // /dev/net/tun file descriptor
	raw    int // raw IPv4 socket for protocol 47
	remote syscall.SockaddrInet4
	c      gre.Counters
	log    *slog.Logger
}

// run sets the tunnel up, forwards until SIGINT or SIGTERM and returns the
// exit code. Counters go to stdout, one line per dump; logs to stderr.
func run(o options) int {
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// Ask for the signals before anything exists, so that a kill during
	// setup still closes the device and prints the (empty) counters.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGINT, syscall.SIGTERM)

	e, err := open(o, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "greendpoint:", err)
		return 1
	}
	defer e.close()
	log.Info("ready", "name", o.name, "local", o.local, "remote", o.remote,
		"key", keyString(o), "csum", o.csum, "mtu", o.mtu)

	errc := make(chan error, 2)
	go func() { errc <- e.receive() }()
	go func() { errc <- e.transmit() }()
	for {
		select {
		case s := <-sigs:
			e.dump()
			if s != syscall.SIGUSR1 {
				return 0
			}
		case err := <-errc:
			log.Error("forwarding stopped", "err", err)
			e.dump()
			return 1
		}
	}
}

func keyString(o options) string {
	if !o.hasKey {
		return "none"
	}
	return strconv.FormatUint(uint64(o.key), 10)
}

// open creates the raw socket first, so that a wrong --local fails before
// any device exists, then the TUN device, its addresses and routes.
func open(o options, log *slog.Logger) (*endpoint, error) {
	e := &endpoint{o: o, cfg: o.greConfig(), tun: -1, raw: -1, log: log,
		remote: syscall.SockaddrInet4{Addr: o.remote.As4()}}
	var err error
	if e.raw, err = openRaw(o.local); err != nil {
		return nil, err
	}
	if e.tun, err = openTUN(o.name); err != nil {
		e.close()
		return nil, err
	}
	if err := configure(o); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// close releases both descriptors; the kernel deletes the (non-persistent)
// TUN device, and the routes through it, when the last one closes.
func (e *endpoint) close() {
	if e.tun >= 0 {
		syscall.Close(e.tun)
		e.tun = -1
	}
	if e.raw >= 0 {
		syscall.Close(e.raw)
		e.raw = -1
	}
}

func (e *endpoint) dump() {
	os.Stdout.Write(append(e.c.AppendLine(nil, e.o.name), '\n'))
}

// openRaw opens a raw IPv4 socket for GRE bound to local. Without
// IP_HDRINCL the kernel writes the outer header on send (protocol 47,
// source local); on receive it hands over the whole IPv4 packet, header
// included, after reassembly. Binding also makes the kernel deliver only
// packets addressed to local. While the socket is open the kernel, which
// has no GRE handler of its own here, does not answer GRE with ICMP
// protocol-unreachable.
func openRaw(local netip.Addr) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, packet.ProtoGRE)
	if err != nil {
		return -1, fmt.Errorf("create raw GRE socket: %w", explain(err))
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: local.As4()}); err != nil {
		syscall.Close(fd)
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			return -1, fmt.Errorf("bind raw GRE socket: --local %s is not an address of this namespace", local)
		}
		return -1, fmt.Errorf("bind raw GRE socket to %s: %w", local, explain(err))
	}
	// A larger receive buffer rides out bursts (iperf, TCP slow start)
	// while the single receive goroutine writes to the TUN device; the
	// kernel caps it at net.core.rmem_max, which is fine.
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	return fd, nil
}

// openTUN creates TUN device name in layer-3 mode without the packet
// information prefix (IFF_TUN|IFF_NO_PI), refusing to attach to an
// existing device.
func openTUN(name string) (int, error) {
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO) {
			return -1, fmt.Errorf("open /dev/net/tun: %w", errNoTUN)
		}
		return -1, fmt.Errorf("open /dev/net/tun: %w", explain(err))
	}
	// struct ifreq: the name in the first IFNAMSIZ bytes, then the flags
	// (a short) at the start of the union; 40 bytes in all on Linux.
	var ifr [40]byte
	copy(ifr[:syscall.IFNAMSIZ-1], name)
	binary.NativeEndian.PutUint16(ifr[syscall.IFNAMSIZ:], syscall.IFF_TUN|syscall.IFF_NO_PI|iffTunExcl)
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TUNSETIFF, uintptr(unsafe.Pointer(&ifr[0])))
	if errno != 0 {
		syscall.Close(fd)
		switch errno {
		case syscall.EBUSY, syscall.EEXIST:
			return -1, fmt.Errorf("create TUN device %s: a link with that name already exists", name)
		case syscall.EINVAL:
			return -1, fmt.Errorf("create TUN device %s: a link with that name exists and is not a TUN device", name)
		case syscall.ENODEV:
			return -1, fmt.Errorf("create TUN device %s: %w", name, errNoTUN)
		}
		return -1, fmt.Errorf("create TUN device %s: %w", name, explain(errno))
	}
	return fd, nil
}

// explain replaces EPERM and EACCES by errPermission.
func explain(err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return errPermission
	}
	return err
}

// configure sets the MTU, brings the device up, adds its addresses, then
// its routes (a route needs the device up). It runs ip(8): simpler than
// netlink and the same commands an operator would type.
func configure(o options) error {
	cmds := [][]string{{"link", "set", "dev", o.name, "mtu", strconv.Itoa(o.mtu), "up"}}
	for _, p := range o.addrs {
		if p.Addr().Is4() {
			cmds = append(cmds, []string{"-4", "addr", "add", p.String(), "dev", o.name})
		} else {
			// A TUN device is NOARP, so the kernel skips DAD anyway; nodad
			// says so and keeps the address usable at once.
			cmds = append(cmds, []string{"-6", "addr", "add", p.String(), "dev", o.name, "nodad"})
		}
	}
	for _, p := range o.routes {
		fam := "-4"
		if p.Addr().Is6() {
			fam = "-6"
		}
		cmds = append(cmds, []string{fam, "route", "add", p.String(), "dev", o.name})
	}
	for _, args := range cmds {
		if err := ip(args...); err != nil {
			return err
		}
	}
	return nil
}

func ip(args ...string) error {
	out, err := exec.CommandContext(context.Background(), "ip", args...).CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return errors.New("ip(8) not found in PATH: install iproute2")
	}
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// receive reads GRE packets from the raw socket and writes the accepted
// inner packets to the TUN device. It returns only on a socket error.
func (e *endpoint) receive() error {
	buf := make([]byte, 1<<16)
	debug := e.log.Enabled(context.Background(), slog.LevelDebug)
	for {
		n, err := syscall.Read(e.raw, buf)
		if err != nil {
			if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN) {
				continue
			}
			return fmt.Errorf("read raw GRE socket: %w", err)
		}
		pkt := buf[:n]
		inner, proto, reason := gre.Decap(pkt, e.cfg)
		if reason != gre.OK {
			e.c.Drop(reason)
			if debug {
				e.logDrop(pkt, reason)
			}
			continue
		}
		if _, err := syscall.Write(e.tun, inner); err != nil {
			e.c.RxErrors.Add(1)
			if debug {
				e.log.Debug("rx", append(innerAttrs(inner), "proto", proto, "err", err)...)
			}
			continue
		}
		e.c.RxPackets.Add(1)
		e.c.RxBytes.Add(uint64(len(inner)))
		if debug {
			e.log.Debug("rx", innerAttrs(inner)...)
		}
	}
}

// transmit reads packets from the TUN device and sends them to the remote
// in GRE. It returns only on a TUN read error.
func (e *endpoint) transmit() error {
	in := make([]byte, 1<<16)
	out := make([]byte, 0, 1<<16+packet.GREMaxSize)
	debug := e.log.Enabled(context.Background(), slog.LevelDebug)
	for {
		n, err := syscall.Read(e.tun, in)
		if err != nil {
			if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN) {
				continue
			}
			return fmt.Errorf("read TUN device %s: %w", e.o.name, err)
		}
		inner := in[:n]
		out = gre.Encap(out[:0], inner, e.o.key, e.o.hasKey, e.o.csum)
		if len(out) == 0 {
			e.c.TxDropped.Add(1)
			if debug {
				e.log.Debug("tx drop", "len", n, "reason", "not IPv4 or IPv6")
			}
			continue
		}
		if err := syscall.Sendto(e.raw, out, 0, &e.remote); err != nil {
			// EMSGSIZE (bigger than the underlay MTU), ENETUNREACH,
			// ENOBUFS: the packet is lost, the tunnel goes on.
			e.c.TxErrors.Add(1)
			if debug {
				e.log.Debug("tx", append(innerAttrs(inner), "err", err)...)
			}
			continue
		}
		e.c.TxPackets.Add(1)
		e.c.TxBytes.Add(uint64(n))
		if debug {
			e.log.Debug("tx", innerAttrs(inner)...)
		}
	}
}

// logDrop logs a refused packet with what can be read of its outer header.
func (e *endpoint) logDrop(pkt []byte, reason gre.DropReason) {
	attrs := []any{"reason", reason.String(), "len", len(pkt)}
	if ip := packet.IPv4(pkt); len(pkt) >= packet.IPv4MinSize {
		attrs = append(attrs, "src", netip.AddrFrom4(ip.Src()), "dst", netip.AddrFrom4(ip.Dst()))
		if g := packet.GRE(ip.Payload()); len(g) >= packet.GREMinSize && g.IsValid() && g.HasKey() {
			attrs = append(attrs, "key", g.Key())
		}
	}
	e.log.Debug("rx drop", attrs...)
}

// innerAttrs describes an inner packet for the -v log: length and, when
// they fit, the addresses and protocol.
func innerAttrs(b []byte) []any {
	attrs := []any{"len", len(b)}
	switch {
	case len(b) >= packet.IPv4MinSize && b[0]>>4 == 4:
		ip := packet.IPv4(b)
		attrs = append(attrs, "src", netip.AddrFrom4(ip.Src()), "dst", netip.AddrFrom4(ip.Dst()), "ipproto", ip.Protocol())
	case len(b) >= packet.IPv6Size && b[0]>>4 == 6:
		attrs = append(attrs, "src", netip.AddrFrom16([16]byte(b[8:24])), "dst", netip.AddrFrom16([16]byte(b[24:40])), "ipproto", b[6])
	}
	return attrs
}
