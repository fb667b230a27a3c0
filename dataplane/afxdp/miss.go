package afxdp

import (
	"sync/atomic"

	"xdpgw/dataplane/pipeline"
)

// Miss is a destination the pipeline found no neighbour for. The control
// plane resolves the next hop and asks the kernel to resolve its MAC
// (the kernel, not the appliance, speaks ARP and ND).
type Miss struct {
	InPort uint16 // the port the packet came in on (its VRF routes it)
	V4     bool
	Addr   [16]byte // IPv4 in the first 4 bytes
}

// missRing is a single-producer (the worker) single-consumer (the control
// plane) ring of neighbour misses. Reporting never blocks: a full ring
// drops the report, and the same destination is reported at most once per
// missRepeat consecutive misses, so a flood towards an unresolved host
// costs a compare per frame.
type missRing struct {
	head atomic.Uint32 // next to write (producer)
	tail atomic.Uint32 // next to read (consumer)
	ents [missRingSize]Miss

	last    Miss
	lastSet bool
	repeat  uint32
}

const (
	missRingSize = 64
	missRepeat   = 4096
)

// report records the destination of f; it returns whether a report was
// queued.
func (m *missRing) report(f *pipeline.Frame) bool {
	var e Miss
	if !missDest(f, &e) {
		return false
	}
	if m.lastSet && e == m.last {
		m.repeat++
		if m.repeat < missRepeat {
			return false
		}
	}
	m.last, m.lastSet, m.repeat = e, true, 0
	h := m.head.Load()
	if h-m.tail.Load() >= missRingSize {
		return false
	}
	m.ents[h%missRingSize] = e
	m.head.Store(h + 1)
	return true
}

// drain hands every queued miss to fn. Only one goroutine may drain.
func (m *missRing) drain(fn func(Miss)) {
	t := m.tail.Load()
	h := m.head.Load()
	for ; t != h; t++ {
		fn(m.ents[t%missRingSize])
	}
	m.tail.Store(t)
}

// missDest reads the IP destination of an Ethernet frame (up to two VLAN
// tags).
func missDest(f *pipeline.Frame, e *Miss) bool {
	if f.Off < 0 || f.Len <= 0 || f.Off+f.Len > len(f.Buf) {
		return false
	}
	d := f.Buf[f.Off : f.Off+f.Len]
	off := 12
	for i := 0; i < 3; i++ {
		if len(d) < off+2 {
			return false
		}
		et := uint16(d[off])<<8 | uint16(d[off+1])
		switch et {
		case 0x8100, 0x88a8:
			off += 4
			continue
		case 0x0800:
			if len(d) < off+2+20 {
				return false
			}
			e.InPort, e.V4 = f.InPort, true
			copy(e.Addr[:4], d[off+2+16:off+2+20])
			return true
		case 0x86dd:
			if len(d) < off+2+40 {
				return false
			}
			e.InPort = f.InPort
			copy(e.Addr[:], d[off+2+24:off+2+40])
			return true
		}
		return false
	}
	return false
}
