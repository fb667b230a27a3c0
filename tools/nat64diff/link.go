package main

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Link is an AF_PACKET socket bound to one interface of one network
// namespace: it sends whole Ethernet frames and records the frames the
// interface receives (never those it sends).
type Link struct {
	Name  string // "netns/interface", for messages
	fd    int
	index int
	MAC   net.HardwareAddr

	mu     sync.Mutex
	frames []Captured
	closed chan struct{}
	done   chan struct{}
}

// Captured is a received frame and when it arrived.
type Captured struct {
	At    time.Time
	Frame []byte
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// OpenLink opens a packet socket on dev inside the namespace ns (a name in
// /run/netns; "" for the current one). The socket keeps its namespace after
// the thread returns to ours.
func OpenLink(ns, dev string) (*Link, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if ns != "" {
		orig, err := netns.Get()
		if err != nil {
			return nil, err
		}
		defer orig.Close()
		h, err := netns.GetFromName(ns)
		if err != nil {
			return nil, fmt.Errorf("netns %s: %w", ns, err)
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			return nil, fmt.Errorf("setns %s: %w", ns, err)
		}
		defer func() { _ = netns.Set(orig) }()
	}
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", ns, dev, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind %s/%s: %w", ns, dev, err)
	}
	tv := unix.Timeval{Usec: 20000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	l := &Link{Name: ns + "/" + dev, fd: fd, index: ifi.Index, MAC: ifi.HardwareAddr, closed: make(chan struct{}), done: make(chan struct{})}
	go l.read()
	return l, nil
}

func (l *Link) read() {
	defer close(l.done)
	buf := make([]byte, 65536)
	for {
		select {
		case <-l.closed:
			return
		default:
		}
		n, from, err := unix.Recvfrom(l.fd, buf, 0)
		if err != nil {
			continue // timeout: look at closed again
		}
		if sa, ok := from.(*unix.SockaddrLinklayer); ok && sa.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		f := make([]byte, n)
		copy(f, buf[:n])
		l.mu.Lock()
		l.frames = append(l.frames, Captured{At: time.Now(), Frame: f})
		l.mu.Unlock()
	}
}

// Send writes one Ethernet frame out of the interface.
func (l *Link) Send(frame []byte) error {
	var dst [8]byte
	copy(dst[:], frame[:6])
	return unix.Sendto(l.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: l.index, Halen: 6, Addr: dst})
}

// Take returns the frames received so far and forgets them.
func (l *Link) Take() []Captured {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.frames
	l.frames = nil
	return f
}

// Close stops the reader and closes the socket.
func (l *Link) Close() {
	close(l.closed)
	<-l.done
	unix.Close(l.fd)
}
