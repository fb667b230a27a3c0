package xdpprog

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AttachMode is how a program is attached.
type AttachMode int

const (
	ModeNative  AttachMode = unix.XDP_FLAGS_DRV_MODE // in the driver (veth supports it)
	ModeGeneric AttachMode = unix.XDP_FLAGS_SKB_MODE // after the skb is built: 2-3x slower
)

func (m AttachMode) String() string {
	switch m {
	case ModeNative:
		return "native"
	case ModeGeneric:
		return "generic"
	}
	return "unknown"
}

// Attachment is a program attached to an interface. Detach removes it with
// the same mode flags it was attached with: netlink needs them to find the
// program (asavie/xdp's Detach omits them and never removes a generic-mode
// program).
type Attachment struct {
	Ifindex int
	Name    string
	Mode    AttachMode
	// NativeErr is why native mode was refused when Mode is generic.
	NativeErr error
}

// ErrBusy: another XDP program is attached to the interface.
var ErrBusy = errors.New("another XDP program is attached")

// Attach attaches prog to the interface: native mode first, generic mode
// if the driver refuses. A program that is already attached is replaced
// only if it is xdpgw's own (left by a daemon that did not shut down);
// anything else is ErrBusy.
func Attach(ifindex int, name string, prog *ebpf.Program) (*Attachment, error) {
	link, err := netlink.LinkByIndex(ifindex)
	if err != nil {
		return nil, fmt.Errorf("attach XDP to %s: %w", name, err)
	}
	if x := link.Attrs().Xdp; x != nil && x.Attached {
		if !isOurs(x.ProgId) {
			return nil, fmt.Errorf("attach XDP to %s: %w (program id %d); remove it with `ip link set dev %s xdp off` if it is stale", name, ErrBusy, x.ProgId, name)
		}
		// A stale xdpgw program: remove it in whichever mode it has.
		for _, m := range []int{unix.XDP_FLAGS_DRV_MODE, unix.XDP_FLAGS_SKB_MODE} {
			_ = netlink.LinkSetXdpFdWithFlags(link, -1, m)
		}
	}
	a := &Attachment{Ifindex: ifindex, Name: name}
	nerr := netlink.LinkSetXdpFdWithFlags(link, prog.FD(), unix.XDP_FLAGS_DRV_MODE|unix.XDP_FLAGS_UPDATE_IF_NOEXIST)
	if nerr == nil {
		a.Mode = ModeNative
		return a, nil
	}
	gerr := netlink.LinkSetXdpFdWithFlags(link, prog.FD(), unix.XDP_FLAGS_SKB_MODE|unix.XDP_FLAGS_UPDATE_IF_NOEXIST)
	if gerr != nil {
		return nil, fmt.Errorf("attach XDP to %s: native: %v; generic: %w", name, nerr, gerr)
	}
	a.Mode = ModeGeneric
	a.NativeErr = nerr
	return a, nil
}

func isOurs(id uint32) bool {
	p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
	if err != nil {
		return false
	}
	defer p.Close()
	info, err := p.Info()
	return err == nil && info.Name == ProgName
}

// Detach removes the program. An interface that is gone is not an error.
func (a *Attachment) Detach() error {
	link, err := netlink.LinkByIndex(a.Ifindex)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("detach XDP from %s: %w", a.Name, err)
	}
	if err := netlink.LinkSetXdpFdWithFlags(link, -1, int(a.Mode)); err != nil {
		return fmt.Errorf("detach XDP from %s: %w", a.Name, err)
	}
	return nil
}

// Attached reports whether an XDP program with the given mode is still on
// the interface (someone may have removed it).
func (a *Attachment) Attached() (bool, error) {
	link, err := netlink.LinkByIndex(a.Ifindex)
	if err != nil {
		return false, err
	}
	x := link.Attrs().Xdp
	return x != nil && x.Attached, nil
}
