package session_test

import (
	"encoding/binary"
	"testing"

	"xdpgw/dataplane/session"
)

const (
	protoTCP  = 6
	protoUDP  = 17
	protoICMP = 1
)

// natKeys are the keys of NAT64 session i: client 2001:db8::/64 host i
// port 1024+i%50000 to EIP 2.2.2.11 port 80 (IPv6 side), and its reply
// 2.2.2.11:80 -> pool 198.18.0.0 + i>>16, port i&0xffff (IPv4 side).
func natKeys(i uint32, proto uint8) (fwd, rev session.Key) {
	fwd = session.Key{Family: session.FamilyNAT64, Zone: 1, Proto: proto,
		SrcPort: uint16(1024 + i%50000), DstPort: 80}
	fwd.Src[0], fwd.Src[1], fwd.Src[2], fwd.Src[3] = 0x20, 0x01, 0x0d, 0xb8
	binary.BigEndian.PutUint32(fwd.Src[12:], i)
	fwd.Dst = v4(2, 2, 2, 11)
	rev = session.Key{Family: session.FamilyIPv4, Zone: 2, Proto: proto,
		SrcPort: 80, DstPort: uint16(i)}
	rev.Src = v4(2, 2, 2, 11)
	binary.BigEndian.PutUint32(rev.Dst[:4], 198<<24|18<<16+i>>16)
	return fwd, rev
}

// gwKeys are the keys of gateway flow i: client 1.x.y.z:i%60000 to EIP
// 2.2.2.11:22 in zone 0 (outside), reply 10.0.0.7:22 -> client in zone
// 1000 (the tenant's VRF).
func gwKeys(i uint32) (fwd, rev session.Key) {
	fwd = session.Key{Family: session.FamilyIPv4, Zone: 0, Proto: protoTCP,
		SrcPort: uint16(1024 + i%60000), DstPort: 22}
	binary.BigEndian.PutUint32(fwd.Src[:4], 1<<24|i)
	fwd.Dst = v4(2, 2, 2, 11)
	rev = session.Key{Family: session.FamilyIPv4, Zone: 1000, Proto: protoTCP,
		SrcPort: 22, DstPort: fwd.SrcPort}
	rev.Src = v4(10, 0, 0, 7)
	rev.Dst = fwd.Src
	return fwd, rev
}

func v4(a, b, c, d byte) (x [16]byte) {
	x[0], x[1], x[2], x[3] = a, b, c, d
	return x
}

// check is the value the concurrency tests store: a checksum of both keys,
// so a reader can tell a torn entry from a whole one.
func check(fwd, rev *session.Key) session.Value {
	h := uint64(14695981039346656037)
	mix := func(b []byte) {
		for _, c := range b {
			h = (h ^ uint64(c)) * 1099511628211
		}
	}
	for _, k := range []*session.Key{fwd, rev} {
		mix(k.Src[:])
		mix(k.Dst[:])
		mix([]byte{byte(k.SrcPort), byte(k.SrcPort >> 8), byte(k.DstPort), byte(k.DstPort >> 8),
			byte(k.Zone), byte(k.Zone >> 8), k.Proto, byte(k.Family)})
	}
	return session.Value{uint32(h), uint32(h >> 32), uint32(h) ^ 0x5a5a5a5a}
}

func newTable(tb testing.TB, cfg session.Config) *session.Table {
	tb.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	t, err := session.New(cfg)
	if err != nil {
		tb.Fatalf("New(%+v): %v", cfg, err)
	}
	return t
}

const sec = int64(1e9)

// insertFunc is the signature of Insert and its variants.
type insertFunc func(fwd, rev *session.Key, c session.Class, st session.TCPState, v session.Value, now int64) (session.Handle, session.Result)

// insertVariants are the ways to insert, which must give the same results
// (InsertAfterMiss and InsertNew skip lookups before publication; the
// Prepared ones take the keys prepared).
var insertVariants = []string{"Insert", "InsertAfterMiss", "InsertNew",
	"InsertPrepared", "InsertPreparedAfterMiss", "InsertPreparedNew"}

// insertVariant is w's insert method of that name.
func insertVariant(w *session.Worker, name string) insertFunc {
	prepared := func(check session.Check) insertFunc {
		return func(fwd, rev *session.Key, c session.Class, st session.TCPState, v session.Value, now int64) (session.Handle, session.Result) {
			var pf, pr session.Prepared
			w.Prepare(fwd, &pf)
			w.Prepare(rev, &pr)
			return w.InsertPrepared(&pf, &pr, c, st, v, now, check)
		}
	}
	return map[string]insertFunc{"Insert": w.Insert, "InsertAfterMiss": w.InsertAfterMiss, "InsertNew": w.InsertNew,
		"InsertPrepared":          prepared(session.CheckFwd | session.CheckRev),
		"InsertPreparedAfterMiss": prepared(session.CheckRev),
		"InsertPreparedNew":       prepared(0),
	}[name]
}
