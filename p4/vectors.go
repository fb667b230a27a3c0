package p4

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Vectors are the shared test vectors of testdata/flows.txt: a set of
// access tables and flows with the backend each must reach. Both the Go
// model of access.p4 (p4_test.go) and the software target
// (dataplane/access) are checked against them.
type Vectors struct {
	Size     int
	Prefixes []netip.Prefix
	VIPs     []VectorVIP
	EIPs     []VectorEIP
	Pools    []VectorPool
	Flows    []VectorFlow
	lines    []string // the file, for Rewrite
}

// VectorVIP is a VIP and its backends (MAC strings, maglev.Build order
// does not matter).
type VectorVIP struct {
	VIP      netip.Addr
	Backends []string
}

// VectorEIP is an eip_to_vip entry.
type VectorEIP struct {
	EIP, VIP netip.Addr
	Port     uint16
}

// VectorPool is a pool_route entry.
type VectorPool struct {
	Prefix netip.Prefix
	DMAC   string
	Port   uint16
}

// VectorFlow is one flow and its expectation.
type VectorFlow struct {
	Line         int    // 1-based line in the file
	Family       int    // 6: flow6 (Maglev), 4: flow4 (pool route)
	Proto        string // tcp, udp, icmp
	Src, Dst     netip.Addr
	SPort, DPort uint16
	// Expected: for flow6, the CRC32 and index as well.
	CRC     uint32
	Index   uint32
	Backend string
	Port    uint16
}

// ReadVectors parses a flows file.
func ReadVectors(path string) (*Vectors, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read vectors: %w", err)
	}
	v := &Vectors{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		v.lines = append(v.lines, line)
		if err := v.parseLine(n, line); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return v, sc.Err()
}

func (v *Vectors) parseLine(n int, line string) error {
	s := strings.TrimSpace(line)
	if s == "" || strings.HasPrefix(s, "#") {
		return nil
	}
	lhs, rhs, _ := strings.Cut(s, "=>")
	f := strings.Fields(lhs)
	bad := func(what string) error { return fmt.Errorf("bad %s line %q", what, line) }
	switch f[0] {
	case "size":
		if len(f) != 2 {
			return bad("size")
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return bad("size")
		}
		v.Size = n
	case "prefix":
		if len(f) != 2 {
			return bad("prefix")
		}
		p, err := netip.ParsePrefix(f[1])
		if err != nil || !p.Addr().Is6() || p.Bits() != 96 {
			return bad("prefix")
		}
		v.Prefixes = append(v.Prefixes, p)
	case "vip":
		if len(f) < 3 {
			return bad("vip")
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			return bad("vip")
		}
		v.VIPs = append(v.VIPs, VectorVIP{VIP: a, Backends: f[2:]})
	case "eip":
		if len(f) != 4 {
			return bad("eip")
		}
		e, err1 := netip.ParseAddr(f[1])
		vip, err2 := netip.ParseAddr(f[2])
		port, err3 := strconv.ParseUint(f[3], 10, 16)
		if err1 != nil || err2 != nil || err3 != nil {
			return bad("eip")
		}
		v.EIPs = append(v.EIPs, VectorEIP{EIP: e, VIP: vip, Port: uint16(port)})
	case "pool":
		if len(f) != 4 {
			return bad("pool")
		}
		p, err1 := netip.ParsePrefix(f[1])
		port, err2 := strconv.ParseUint(f[3], 10, 16)
		if err1 != nil || err2 != nil {
			return bad("pool")
		}
		v.Pools = append(v.Pools, VectorPool{Prefix: p, DMAC: f[2], Port: uint16(port)})
	case "flow6", "flow4":
		if len(f) != 6 {
			return bad("flow")
		}
		fl := VectorFlow{Line: n, Family: 6, Proto: f[1]}
		if f[0] == "flow4" {
			fl.Family = 4
		}
		var err [4]error
		fl.Src, err[0] = netip.ParseAddr(f[2])
		sp, e1 := strconv.ParseUint(f[3], 10, 16)
		fl.Dst, err[1] = netip.ParseAddr(f[4])
		dp, e2 := strconv.ParseUint(f[5], 10, 16)
		err[2], err[3] = e1, e2
		for _, e := range err {
			if e != nil {
				return bad("flow")
			}
		}
		fl.SPort, fl.DPort = uint16(sp), uint16(dp)
		for _, kv := range strings.Fields(rhs) {
			k, val, _ := strings.Cut(kv, "=")
			switch k {
			case "crc":
				c, err := strconv.ParseUint(val, 0, 32)
				if err != nil {
					return bad("flow crc")
				}
				fl.CRC = uint32(c)
			case "index":
				i, err := strconv.ParseUint(val, 10, 32)
				if err != nil {
					return bad("flow index")
				}
				fl.Index = uint32(i)
			case "backend":
				fl.Backend = val
			case "port":
				p, err := strconv.ParseUint(val, 10, 16)
				if err != nil {
					return bad("flow port")
				}
				fl.Port = uint16(p)
			default:
				return bad("flow expectation")
			}
		}
		v.Flows = append(v.Flows, fl)
	default:
		return bad("unknown")
	}
	return nil
}

// Ports returns the ports a flow is hashed with: its own for TCP and UDP,
// zero otherwise (access.p4 extracts ports only for TCP and UDP).
func (f VectorFlow) Ports() (uint16, uint16) {
	if f.Proto == "tcp" || f.Proto == "udp" {
		return f.SPort, f.DPort
	}
	return 0, 0
}

// Rewrite writes the file back with the expectations of the flows
// replaced by those in v.Flows (for -update).
func (v *Vectors) Rewrite(path string) error {
	out := make([]string, len(v.lines))
	copy(out, v.lines)
	for _, f := range v.Flows {
		lhs, _, _ := strings.Cut(out[f.Line-1], "=>")
		lhs = strings.TrimRight(lhs, " ")
		if f.Family == 6 {
			out[f.Line-1] = fmt.Sprintf("%s => crc=0x%08x index=%d backend=%s port=%d", lhs, f.CRC, f.Index, f.Backend, f.Port)
		} else {
			out[f.Line-1] = fmt.Sprintf("%s => backend=%s port=%d", lhs, f.Backend, f.Port)
		}
	}
	return os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644)
}
