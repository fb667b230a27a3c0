package p4

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	p4config "github.com/p4lang/p4runtime/go/p4/config/v1"

	"xdpgw/control/maglev"
)

var update = flag.Bool("update", false, "rewrite testdata/flows.txt expectations from the model of access.p4")

func loadAll(t *testing.T) (*p4Source, *Schema) {
	t.Helper()
	src := loadP4Source(t, "access.p4")
	s, err := LoadSchema()
	if err != nil {
		t.Fatal(err)
	}
	return src, s
}

var matchKinds = map[string]p4config.MatchField_MatchType{
	"exact":   p4config.MatchField_EXACT,
	"lpm":     p4config.MatchField_LPM,
	"ternary": p4config.MatchField_TERNARY,
	"range":   p4config.MatchField_RANGE,
}

var counterUnits = map[string]p4config.CounterSpec_Unit{
	"PACKETS":           p4config.CounterSpec_PACKETS,
	"BYTES":             p4config.CounterSpec_BYTES,
	"PACKETS_AND_BYTES": p4config.CounterSpec_BOTH,
}

var meterUnits = map[string]p4config.MeterSpec_Unit{
	"PACKETS": p4config.MeterSpec_PACKETS,
	"BYTES":   p4config.MeterSpec_BYTES,
}

// actionName is the P4Info name of an action named in a table of control
// c: the control's own actions are qualified, core.p4's NoAction is not.
func actionName(c *p4Control, a string) string {
	if _, ok := c.Actions[a]; ok {
		return c.Name + "." + a
	}
	return a
}

// TestP4InfoMatchesProgram checks every table, match field, action and
// parameter, counter and meter of access.p4 against the P4Info, and the
// other way round.
func TestP4InfoMatchesProgram(t *testing.T) {
	src, s := loadAll(t)
	seenTables := map[string]bool{}
	seenActions := map[string]bool{}
	seenCounters := map[string]bool{}
	for _, c := range src.controls {
		for _, tab := range c.Tables {
			name := c.Name + "." + tab.Name
			seenTables[name] = true
			it, err := s.Table(name)
			if err != nil {
				t.Errorf("program table %s: not in P4Info", name)
				continue
			}
			if got := it.GetPreamble().GetAlias(); got != tab.Name {
				t.Errorf("table %s: alias %q, want %q", name, got, tab.Name)
			}
			// Match fields, in order, with kinds and widths.
			if len(it.GetMatchFields()) != len(tab.Keys) {
				t.Errorf("table %s: P4Info has %d match fields, program %d", name, len(it.GetMatchFields()), len(tab.Keys))
			}
			for i, k := range tab.Keys {
				if i >= len(it.GetMatchFields()) {
					break
				}
				f := it.GetMatchFields()[i]
				if f.GetName() != k.Name {
					t.Errorf("table %s key %d: P4Info name %q, program %q", name, i, f.GetName(), k.Name)
				}
				if f.GetId() != uint32(i+1) {
					t.Errorf("table %s field %s: id %d, want %d (declaration order)", name, k.Name, f.GetId(), i+1)
				}
				if want, ok := matchKinds[k.Kind]; !ok || f.GetMatchType() != want {
					t.Errorf("table %s field %s: P4Info match %v, program %s", name, k.Name, f.GetMatchType(), k.Kind)
				}
				w, err := src.exprWidth(c, k.Expr)
				if err != nil {
					t.Errorf("table %s field %s: %v", name, k.Name, err)
				} else if int(f.GetBitwidth()) != w {
					t.Errorf("table %s field %s: P4Info bitwidth %d, program %d (%s)", name, k.Name, f.GetBitwidth(), w, k.Expr)
				}
			}
			// Actions and their scope.
			var want, got []string
			for _, a := range tab.Actions {
				want = append(want, actionName(c, a))
			}
			for _, r := range it.GetActionRefs() {
				a, err := s.ActionByID(r.GetId())
				if err != nil {
					t.Errorf("table %s: action ref %#x: %v", name, r.GetId(), err)
					continue
				}
				an := a.GetPreamble().GetName()
				got = append(got, an)
				short := strings.TrimPrefix(an, c.Name+".")
				if tab.DefaultOnly[short] != (r.GetScope() == p4config.ActionRef_DEFAULT_ONLY) {
					t.Errorf("table %s action %s: P4Info scope %v, program @defaultonly=%v", name, an, r.GetScope(), tab.DefaultOnly[short])
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(want, got) {
				t.Errorf("table %s actions: P4Info %v, program %v", name, got, want)
			}
			if tab.DefaultAction != "" {
				d, err := s.ActionByID(it.GetConstDefaultActionId())
				if err != nil || d.GetPreamble().GetName() != actionName(c, tab.DefaultAction) {
					t.Errorf("table %s: const default action %#x, program %s", name, it.GetConstDefaultActionId(), tab.DefaultAction)
				}
			}
			if tab.Size == "" || int64(src.intValue(t, tab.Size)) != it.GetSize() {
				t.Errorf("table %s: P4Info size %d, program %q", name, it.GetSize(), tab.Size)
			}
			// Direct resources.
			var direct []string
			for _, r := range []string{tab.Counters, tab.Meters} {
				if r != "" {
					direct = append(direct, c.Name+"."+r)
				}
			}
			var gotDirect []string
			for _, id := range it.GetDirectResourceIds() {
				gotDirect = append(gotDirect, directName(s.Info, id))
			}
			slices.Sort(direct)
			slices.Sort(gotDirect)
			if !slices.Equal(direct, gotDirect) {
				t.Errorf("table %s direct resources: P4Info %v, program %v", name, gotDirect, direct)
			}
			for _, a := range tab.Actions {
				an := actionName(c, a)
				if seenActions[an] {
					continue
				}
				seenActions[an] = true
				ia, err := s.Action(an)
				if err != nil {
					t.Errorf("program action %s: not in P4Info", an)
					continue
				}
				params := c.Actions[a] // nil for NoAction
				if len(ia.GetParams()) != len(params) {
					t.Errorf("action %s: P4Info has %d params, program %d", an, len(ia.GetParams()), len(params))
					continue
				}
				for i, p := range params {
					ip := ia.GetParams()[i]
					if ip.GetName() != p.Name || ip.GetId() != uint32(i+1) {
						t.Errorf("action %s param %d: P4Info %q id %d, program %q", an, i, ip.GetName(), ip.GetId(), p.Name)
					}
					if w := src.typeWidth(t, p.Type); int(ip.GetBitwidth()) != w {
						t.Errorf("action %s param %s: P4Info bitwidth %d, program %s (%d)", an, p.Name, ip.GetBitwidth(), p.Type, w)
					}
				}
			}
		}
		for name, typ := range c.DirectCounters {
			full := c.Name + "." + name
			seenCounters[full] = true
			dc := findDirectCounter(s.Info, full)
			if dc == nil {
				t.Errorf("program direct counter %s: not in P4Info", full)
				continue
			}
			if dc.GetSpec().GetUnit() != counterUnits[typ] {
				t.Errorf("direct counter %s: unit %v, program %s", full, dc.GetSpec().GetUnit(), typ)
			}
			if tab := tableWith(c, func(tb *p4Table) bool { return tb.Counters == name }); tab == "" ||
				tableName(s.Info, dc.GetDirectTableId()) != c.Name+"."+tab {
				t.Errorf("direct counter %s: table %#x, program %s", full, dc.GetDirectTableId(), tab)
			}
		}
		for name, typ := range c.DirectMeters {
			full := c.Name + "." + name
			seenCounters[full] = true
			dm, err := s.DirectMeter(full)
			if err != nil {
				t.Errorf("program direct meter %s: not in P4Info", full)
				continue
			}
			if dm.GetSpec().GetUnit() != meterUnits[typ] {
				t.Errorf("direct meter %s: unit %v, program %s", full, dm.GetSpec().GetUnit(), typ)
			}
			if tab := tableWith(c, func(tb *p4Table) bool { return tb.Meters == name }); tab == "" ||
				tableName(s.Info, dm.GetDirectTableId()) != c.Name+"."+tab {
				t.Errorf("direct meter %s: table %#x, program %s", full, dm.GetDirectTableId(), tab)
			}
		}
		for name, ctr := range c.Counters {
			full := c.Name + "." + name
			seenCounters[full] = true
			var ic *p4config.Counter
			for _, x := range s.Info.GetCounters() {
				if x.GetPreamble().GetName() == full {
					ic = x
				}
			}
			if ic == nil {
				t.Errorf("program counter %s: not in P4Info", full)
				continue
			}
			if ic.GetSize() != int64(ctr.Size) || ic.GetSpec().GetUnit() != counterUnits[ctr.Type] {
				t.Errorf("counter %s: P4Info size %d unit %v, program %d %s", full, ic.GetSize(), ic.GetSpec().GetUnit(), ctr.Size, ctr.Type)
			}
		}
	}
	// The other way: nothing in the P4Info that the program lacks.
	for _, it := range s.Info.GetTables() {
		if !seenTables[it.GetPreamble().GetName()] {
			t.Errorf("P4Info table %s: not in the program", it.GetPreamble().GetName())
		}
	}
	for _, a := range s.Info.GetActions() {
		if !seenActions[a.GetPreamble().GetName()] {
			t.Errorf("P4Info action %s: not used by any table of the program", a.GetPreamble().GetName())
		}
	}
	var resources []string
	for _, x := range s.Info.GetCounters() {
		resources = append(resources, x.GetPreamble().GetName())
	}
	for _, x := range s.Info.GetDirectCounters() {
		resources = append(resources, x.GetPreamble().GetName())
	}
	for _, x := range s.Info.GetDirectMeters() {
		resources = append(resources, x.GetPreamble().GetName())
	}
	for _, r := range resources {
		if !seenCounters[r] {
			t.Errorf("P4Info resource %s: not in the program", r)
		}
	}
	if len(s.Info.GetMeters()) != 0 || len(s.Info.GetRegisters()) != 0 || len(s.Info.GetActionProfiles()) != 0 {
		t.Errorf("P4Info has meters, registers or action profiles the program does not declare")
	}
}

func tableWith(c *p4Control, f func(*p4Table) bool) string {
	for _, t := range c.Tables {
		if f(t) {
			return t.Name
		}
	}
	return ""
}

func tableName(info *p4config.P4Info, id uint32) string {
	for _, t := range info.GetTables() {
		if t.GetPreamble().GetId() == id {
			return t.GetPreamble().GetName()
		}
	}
	return ""
}

func findDirectCounter(info *p4config.P4Info, name string) *p4config.DirectCounter {
	for _, x := range info.GetDirectCounters() {
		if x.GetPreamble().GetName() == name {
			return x
		}
	}
	return nil
}

func directName(info *p4config.P4Info, id uint32) string {
	for _, x := range info.GetDirectCounters() {
		if x.GetPreamble().GetId() == id {
			return x.GetPreamble().GetName()
		}
	}
	for _, x := range info.GetDirectMeters() {
		if x.GetPreamble().GetId() == id {
			return x.GetPreamble().GetName()
		}
	}
	return ""
}

// TestP4InfoIDs checks the P4Ids prefixes (p4info.proto) and uniqueness.
func TestP4InfoIDs(t *testing.T) {
	_, s := loadAll(t)
	seen := map[uint32]string{}
	check := func(kind string, prefix uint32, p *p4config.Preamble) {
		if p.GetId()>>24 != prefix {
			t.Errorf("%s %s: id %#x lacks prefix %#x", kind, p.GetName(), p.GetId(), prefix)
		}
		if other, dup := seen[p.GetId()]; dup {
			t.Errorf("%s %s: id %#x also used by %s", kind, p.GetName(), p.GetId(), other)
		}
		seen[p.GetId()] = p.GetName()
		if p.GetAlias() == "" {
			t.Errorf("%s %s: no alias", kind, p.GetName())
		}
	}
	for _, x := range s.Info.GetTables() {
		check("table", uint32(p4config.P4Ids_TABLE), x.GetPreamble())
	}
	for _, x := range s.Info.GetActions() {
		check("action", uint32(p4config.P4Ids_ACTION), x.GetPreamble())
	}
	for _, x := range s.Info.GetCounters() {
		check("counter", uint32(p4config.P4Ids_COUNTER), x.GetPreamble())
	}
	for _, x := range s.Info.GetDirectCounters() {
		check("direct counter", uint32(p4config.P4Ids_DIRECT_COUNTER), x.GetPreamble())
	}
	for _, x := range s.Info.GetDirectMeters() {
		check("direct meter", uint32(p4config.P4Ids_DIRECT_METER), x.GetPreamble())
	}
}

// TestDefinesMatchConstants checks the Go mirror of access.p4's #defines.
func TestDefinesMatchConstants(t *testing.T) {
	src, s := loadAll(t)
	for name, want := range map[string]int{
		"MAGLEV_SIZE": MaglevSize, "MAGLEV_INDEX_BITS": MaglevIndexBits, "MAX_VIPS": MaxVIPs,
	} {
		if got := src.intValue(t, name); got != want {
			t.Errorf("#define %s %d, Go constant %d", name, got, want)
		}
	}
	if MaglevSize > 1<<MaglevIndexBits || MaglevSize <= 1<<(MaglevIndexBits-1) {
		t.Errorf("MAGLEV_INDEX_BITS %d does not fit MAGLEV_SIZE %d tightly", MaglevIndexBits, MaglevSize)
	}
	mg, err := s.Table(TableMaglev)
	if err != nil {
		t.Fatal(err)
	}
	if mg.GetSize() != MaglevSize*MaxVIPs {
		t.Errorf("maglev size %d, want MAGLEV_SIZE * MAX_VIPS = %d", mg.GetSize(), MaglevSize*MaxVIPs)
	}
}

// constants returns the string constants declared in p4.go, by Go name.
func constants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "p4.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, id := range vs.Names {
			if i < len(vs.Values) {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					out[id.Name], _ = strconv.Unquote(lit.Value)
				}
			}
		}
		return true
	})
	return out
}

// TestNamesInP4Info checks every name constant the control code uses
// against the P4Info, and that every P4Info object has a constant.
func TestNamesInP4Info(t *testing.T) {
	_, s := loadAll(t)
	consts := constants(t)
	fields, params := map[string]bool{}, map[string]bool{}
	for _, tb := range s.Info.GetTables() {
		for _, f := range tb.GetMatchFields() {
			fields[f.GetName()] = true
		}
	}
	for _, a := range s.Info.GetActions() {
		for _, p := range a.GetParams() {
			params[p.GetName()] = true
		}
	}
	named := map[string]bool{}
	for goName, v := range consts {
		named[v] = true
		var ok bool
		switch {
		case strings.HasPrefix(goName, "Table"):
			_, err := s.Table(v)
			ok = err == nil
		case strings.HasPrefix(goName, "Action"):
			_, err := s.Action(v)
			ok = err == nil
		case strings.HasPrefix(goName, "DirectMeter"):
			_, err := s.DirectMeter(v)
			ok = err == nil
		case strings.HasPrefix(goName, "Counter"), strings.HasPrefix(goName, "DirectCounter"):
			_, ok = s.CounterID(v)
		case strings.HasPrefix(goName, "Field"):
			ok = fields[v]
		case strings.HasPrefix(goName, "Param"):
			ok = params[v]
		default:
			continue
		}
		if !ok {
			t.Errorf("constant %s = %q: not in the P4Info", goName, v)
		}
	}
	var all []string
	for _, x := range s.Info.GetTables() {
		all = append(all, x.GetPreamble().GetName())
	}
	for _, x := range s.Info.GetActions() {
		all = append(all, x.GetPreamble().GetName())
	}
	for n := range fields {
		all = append(all, n)
	}
	for n := range params {
		all = append(all, n)
	}
	for _, n := range all {
		if !named[n] {
			t.Errorf("P4Info name %q has no constant in p4.go", n)
		}
	}
}

// TestControlCodeUsesConstants scans the control packages that speak
// P4Runtime for string literals naming P4 objects: they must use the
// constants of this package, which TestNamesInP4Info checks.
func TestControlCodeUsesConstants(t *testing.T) {
	_, s := loadAll(t)
	objects := map[string]bool{}
	for _, x := range s.Info.GetTables() {
		objects[x.GetPreamble().GetName()] = true
	}
	for _, x := range s.Info.GetActions() {
		objects[x.GetPreamble().GetName()] = true
	}
	scanned := 0
	for _, dir := range []string{"../control/p4rt", "../control/access"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			scanned++
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				if objects[v] || strings.HasPrefix(v, "AccessIngress.") || strings.HasPrefix(v, "AccessEgress.") {
					t.Errorf("%s: literal %q names a P4 object: use the constant in xdpgw/p4", path, v)
				}
				return true
			})
		}
	}
	if scanned == 0 {
		t.Fatal("no control code found to scan: ../control/p4rt and ../control/access hold no .go files")
	}
}

// hashKey builds the bytes access.p4's flow_hash consumes for a flow, from
// the field list as the program declares it: a change of fields or order
// in the program changes the key and fails TestFlowVectors.
func hashKey(t *testing.T, src *p4Source, c *p4Control, fields []string, f VectorFlow) []byte {
	t.Helper()
	sport, dport := f.Ports()
	var key []byte
	for _, e := range fields {
		w, err := src.exprWidth(c, e)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		switch e {
		case "hdr.ipv6.src_addr":
			a := f.Src.As16()
			b = a[:]
		case "hdr.ipv6.dst_addr":
			a := f.Dst.As16()
			b = a[:]
		case "ig_md.src_port", "hdr.ports.src_port":
			b = []byte{byte(sport >> 8), byte(sport)}
		case "ig_md.dst_port", "hdr.ports.dst_port":
			b = []byte{byte(dport >> 8), byte(dport)}
		default:
			t.Fatalf("flow_hash field %s: the model does not know it", e)
		}
		if len(b)*8 != w {
			t.Fatalf("flow_hash field %s: bit<%d>, model gives %d bytes", e, w, len(b))
		}
		key = append(key, b...)
	}
	return key
}

// TestFlowVectors runs the Go model of access.p4 on testdata/flows.txt.
func TestFlowVectors(t *testing.T) {
	src, _ := loadAll(t)
	const path = "testdata/flows.txt"
	v, err := ReadVectors(path)
	if err != nil {
		t.Fatal(err)
	}
	ig := src.controls["AccessIngress"]
	if ig == nil {
		t.Fatal("no AccessIngress control")
	}
	if alg := ig.Hashes["flow_hash"]; alg != "CRC32" {
		t.Fatalf("flow_hash algorithm %q: the model implements CRC32", alg)
	}
	fields := ig.HashFields["flow_hash"]
	if len(fields) == 0 {
		t.Fatal("no flow_hash.get({...}) field list in AccessIngress")
	}
	size := src.intValue(t, "MAGLEV_SIZE")
	if v.Size != size {
		t.Fatalf("%s: size %d, program MAGLEV_SIZE %d", path, v.Size, size)
	}
	tables := map[netip.Addr]maglev.Table{}
	for _, vip := range v.VIPs {
		var bs []maglev.Backend
		for _, b := range vip.Backends {
			bs = append(bs, maglev.Backend{Name: b})
		}
		tab, err := maglev.Build(bs, size)
		if err != nil {
			t.Fatal(err)
		}
		tables[vip.VIP] = tab
	}
	changed := false
	for i := range v.Flows {
		f := &v.Flows[i]
		want := *f
		if f.Family == 6 {
			model6(t, src, ig, fields, v, tables, uint32(size), f)
		} else {
			model4(v, f)
		}
		if want.CRC != f.CRC || want.Index != f.Index || want.Backend != f.Backend || want.Port != f.Port {
			changed = true
			if !*update {
				t.Errorf("%s:%d: model gives crc=0x%08x index=%d backend=%s port=%d, file says crc=0x%08x index=%d backend=%s port=%d",
					path, f.Line, f.CRC, f.Index, f.Backend, f.Port, want.CRC, want.Index, want.Backend, want.Port)
			}
		}
	}
	if *update && changed {
		if err := v.Rewrite(path); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
	}
	// The vectors must spread over every backend of the first VIP, or they
	// would not notice a hash that sends everything to one server.
	seen := map[string]bool{}
	for _, f := range v.Flows {
		seen[f.Backend] = true
	}
	for _, b := range v.VIPs[0].Backends {
		if !seen[b] {
			t.Errorf("no vector reaches backend %s", b)
		}
	}
}

func model6(t *testing.T, src *p4Source, ig *p4Control, fields []string, v *Vectors, tables map[netip.Addr]maglev.Table, size uint32, f *VectorFlow) {
	t.Helper()
	inPrefix := false
	for _, p := range v.Prefixes {
		inPrefix = inPrefix || p.Contains(f.Dst)
	}
	if !inPrefix {
		t.Fatalf("flow line %d: destination outside the NAT64 prefixes", f.Line)
	}
	d := f.Dst.As16()
	eip := netip.AddrFrom4([4]byte(d[12:16]))
	var e *VectorEIP
	for i := range v.EIPs {
		if v.EIPs[i].EIP == eip {
			e = &v.EIPs[i]
		}
	}
	if e == nil {
		t.Fatalf("flow line %d: EIP %s not in the vectors", f.Line, eip)
	}
	crc := crc32.ChecksumIEEE(hashKey(t, src, ig, fields, *f))
	idx := crc % size
	// access.p4 computes the index without a divider (fold_index_ge/lt):
	// it must agree with the modulo for MAGLEV_SIZE = 2^16 + 1.
	lo, hi := crc&0xffff, crc>>16
	fold := lo - hi
	if lo < hi {
		fold = lo + size - hi
	}
	if size == 65537 && fold != idx {
		t.Fatalf("flow line %d: fold %d != crc mod size %d", f.Line, fold, idx)
	}
	tab := tables[e.VIP]
	f.CRC, f.Index = crc, idx
	f.Backend = tab.Name(tab.Entries[idx])
	f.Port = e.Port
}

func model4(v *Vectors, f *VectorFlow) {
	best := -1
	f.Backend, f.Port = "none", 0
	for _, p := range v.Pools {
		if p.Prefix.Contains(f.Dst) && p.Prefix.Bits() > best {
			best = p.Prefix.Bits()
			f.Backend, f.Port = p.DMAC, p.Port
		}
	}
}

// TestFoldEqualsModulo checks the divider-free index of access.p4 against
// the modulo on the whole range edges and random values.
func TestFoldEqualsModulo(t *testing.T) {
	const m = 65537
	for _, h := range []uint32{0, 1, 0xffff, 0x10000, 0x10001, 0xfffe0001, 0xffff0000, 0xffffffff, 0x12345678, 0x0000ffff} {
		lo, hi := h&0xffff, h>>16
		f := lo - hi
		if lo < hi {
			f = lo + m - hi
		}
		if f != h%m {
			t.Errorf("fold(%#x) = %d, mod = %d", h, f, h%m)
		}
	}
	x := uint32(2463534242)
	for range 100000 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		lo, hi := x&0xffff, x>>16
		f := lo - hi
		if lo < hi {
			f = lo + m - hi
		}
		if f != x%m {
			t.Fatalf("fold(%#x) = %d, mod = %d", x, f, x%m)
		}
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(m.Run())
}
