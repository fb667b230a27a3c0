package p4

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A parser for as much of access.p4 as the tests need. There is no P4
// compiler here, so this reads the declarations the P4Info is derived
// from: #defines, header and struct types, controls with their parameters,
// actions with their parameters, tables with keys, actions, size and
// direct resources, counters, meters, and the field list of flow_hash.
// It accepts the subset of P4_16 that access.p4 is written in and fails
// loudly on anything in a table it does not understand.

type p4Source struct {
	defines  map[string]string
	types    map[string][]p4Field // header and struct types
	controls map[string]*p4Control
}

type p4Field struct{ Name, Type string }

type p4Control struct {
	Name           string
	Params         map[string]string // name -> type
	Actions        map[string][]p4Field
	Tables         []*p4Table
	DirectCounters map[string]string // name -> CounterType_t
	DirectMeters   map[string]string // name -> MeterType_t
	Counters       map[string]p4Counter
	Hashes         map[string]string   // name -> HashAlgorithm_t
	HashFields     map[string][]string // name -> the get({...}) list
}

type p4Counter struct {
	Size int
	Type string
}

type p4Table struct {
	Name          string
	Keys          []p4Key
	Actions       []string // as written
	DefaultOnly   map[string]bool
	DefaultAction string
	Size          string
	Counters      string
	Meters        string
}

type p4Key struct {
	Expr, Kind, Name string
}

// Types the architecture (tna.p4) declares that access.p4 uses in keys and
// action parameters, with their widths on Tofino.
var builtinWidths = map[string]int{"PortId_t": 9}

var builtinTypes = map[string][]p4Field{
	"ingress_intrinsic_metadata_t":        {{"ingress_port", "PortId_t"}},
	"egress_intrinsic_metadata_t":         {{"egress_port", "PortId_t"}},
	"ingress_intrinsic_metadata_for_tm_t": {{"ucast_egress_port", "PortId_t"}},
}

var (
	reBlockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	reLineComment  = regexp.MustCompile(`//[^\n]*`)
	reDefine       = regexp.MustCompile(`(?m)^#define\s+(\w+)\s+(\S+)`)
	reType         = regexp.MustCompile(`(?s)\b(header|struct)\s+(\w+)\s*\{([^}]*)\}`)
	reTypeField    = regexp.MustCompile(`(\w+(?:<\w+>)?)\s+(\w+)\s*;`)
	reControl      = regexp.MustCompile(`(?s)\bcontrol\s+(\w+)\s*\(([^)]*)\)\s*\{`)
	reAction       = regexp.MustCompile(`(?s)\baction\s+(\w+)\s*\(([^)]*)\)\s*\{`)
	reTable        = regexp.MustCompile(`\btable\s+(\w+)\s*\{`)
	reDirectCtr    = regexp.MustCompile(`\bDirectCounter<[^(]*>\s*\(\s*CounterType_t\.(\w+)\s*\)\s+(\w+)\s*;`)
	reDirectMeter  = regexp.MustCompile(`\bDirectMeter\s*\(\s*MeterType_t\.(\w+)\s*\)\s+(\w+)\s*;`)
	reCounter      = regexp.MustCompile(`\bCounter<[^(]*>\s*\(\s*(\w+)\s*,\s*CounterType_t\.(\w+)\s*\)\s+(\w+)\s*;`)
	reHash         = regexp.MustCompile(`\bHash<[^(]*>\s*\(\s*HashAlgorithm_t\.(\w+)\s*\)\s+(\w+)\s*;`)
	reHashGet      = regexp.MustCompile(`(?s)\b(\w+)\.get\(\s*\{([^}]*)\}\s*\)`)
	reKeyBlock     = regexp.MustCompile(`(?s)\bkey\s*=\s*\{([^}]*)\}`)
	reKey          = regexp.MustCompile(`^(\S+)\s*:\s*(\w+)(?:\s+@name\("([^"]+)"\))?$`)
	reActionsBlock = regexp.MustCompile(`(?s)\bactions\s*=\s*\{([^}]*)\}`)
	reSize         = regexp.MustCompile(`\bsize\s*=\s*(\w+)\s*;`)
	reDefault      = regexp.MustCompile(`\bdefault_action\s*=\s*(\w+)`)
	reCounters     = regexp.MustCompile(`\bcounters\s*=\s*(\w+)\s*;`)
	reMeters       = regexp.MustCompile(`\bmeters\s*=\s*(\w+)\s*;`)
)

func loadP4Source(tb testing.TB, path string) *p4Source {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	src := reBlockComment.ReplaceAllString(string(raw), "")
	src = reLineComment.ReplaceAllString(src, "")
	s := &p4Source{defines: map[string]string{}, types: map[string][]p4Field{}, controls: map[string]*p4Control{}}
	for _, m := range reDefine.FindAllStringSubmatch(src, -1) {
		s.defines[m[1]] = m[2]
	}
	for name, fs := range builtinTypes {
		s.types[name] = fs
	}
	for _, m := range reType.FindAllStringSubmatch(src, -1) {
		var fs []p4Field
		for _, f := range reTypeField.FindAllStringSubmatch(m[3], -1) {
			fs = append(fs, p4Field{Name: f[2], Type: f[1]})
		}
		s.types[m[2]] = fs
	}
	for _, loc := range reControl.FindAllStringSubmatchIndex(src, -1) {
		name := src[loc[2]:loc[3]]
		body := braceBody(tb, src, loc[1]-1)
		c := &p4Control{
			Name: name, Params: map[string]string{}, Actions: map[string][]p4Field{},
			DirectCounters: map[string]string{}, DirectMeters: map[string]string{},
			Counters: map[string]p4Counter{}, Hashes: map[string]string{}, HashFields: map[string][]string{},
		}
		for _, p := range strings.Split(src[loc[4]:loc[5]], ",") {
			f := strings.Fields(p)
			if len(f) >= 2 {
				c.Params[f[len(f)-1]] = f[len(f)-2]
			}
		}
		for _, m := range reAction.FindAllStringSubmatch(body, -1) {
			var ps []p4Field
			for _, p := range strings.Split(m[2], ",") {
				if f := strings.Fields(p); len(f) == 2 {
					ps = append(ps, p4Field{Name: f[1], Type: f[0]})
				} else if len(f) != 0 {
					tb.Fatalf("control %s action %s: cannot parse parameter %q", name, m[1], p)
				}
			}
			c.Actions[m[1]] = ps
		}
		for _, tl := range reTable.FindAllStringSubmatchIndex(body, -1) {
			c.Tables = append(c.Tables, parseTable(tb, body[tl[2]:tl[3]], braceBody(tb, body, tl[1]-1)))
		}
		for _, m := range reDirectCtr.FindAllStringSubmatch(body, -1) {
			c.DirectCounters[m[2]] = m[1]
		}
		for _, m := range reDirectMeter.FindAllStringSubmatch(body, -1) {
			c.DirectMeters[m[2]] = m[1]
		}
		for _, m := range reCounter.FindAllStringSubmatch(body, -1) {
			c.Counters[m[3]] = p4Counter{Size: s.intValue(tb, m[1]), Type: m[2]}
		}
		for _, m := range reHash.FindAllStringSubmatch(body, -1) {
			c.Hashes[m[2]] = m[1]
		}
		for _, m := range reHashGet.FindAllStringSubmatch(body, -1) {
			var fs []string
			for _, f := range strings.Split(m[2], ",") {
				if f = strings.TrimSpace(f); f != "" {
					fs = append(fs, f)
				}
			}
			c.HashFields[m[1]] = fs
		}
		s.controls[name] = c
	}
	return s
}

// braceBody returns the text between the brace at open and its match.
func braceBody(tb testing.TB, s string, open int) string {
	tb.Helper()
	if s[open] != '{' {
		tb.Fatalf("braceBody: no brace at %d", open)
	}
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return s[open+1 : i]
			}
		}
	}
	tb.Fatalf("braceBody: unbalanced braces from %d", open)
	return ""
}

func parseTable(tb testing.TB, name, body string) *p4Table {
	tb.Helper()
	t := &p4Table{Name: name, DefaultOnly: map[string]bool{}}
	km := reKeyBlock.FindStringSubmatch(body)
	if km == nil {
		tb.Fatalf("table %s: no key", name)
	}
	for _, k := range strings.Split(km[1], ";") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		m := reKey.FindStringSubmatch(k)
		if m == nil {
			tb.Fatalf("table %s: cannot parse key %q", name, k)
		}
		key := p4Key{Expr: m[1], Kind: m[2], Name: m[3]}
		if key.Name == "" {
			key.Name = key.Expr // p4c names an unannotated key by its expression
		}
		t.Keys = append(t.Keys, key)
	}
	am := reActionsBlock.FindStringSubmatch(body)
	if am == nil {
		tb.Fatalf("table %s: no actions", name)
	}
	for _, a := range strings.Split(am[1], ";") {
		f := strings.Fields(a)
		switch {
		case len(f) == 0:
		case len(f) == 1:
			t.Actions = append(t.Actions, f[0])
		case len(f) == 2 && f[0] == "@defaultonly":
			t.Actions = append(t.Actions, f[1])
			t.DefaultOnly[f[1]] = true
		default:
			tb.Fatalf("table %s: cannot parse action %q", name, a)
		}
	}
	if m := reSize.FindStringSubmatch(body); m != nil {
		t.Size = m[1]
	}
	if m := reDefault.FindStringSubmatch(body); m != nil {
		t.DefaultAction = m[1]
	}
	if m := reCounters.FindStringSubmatch(body); m != nil {
		t.Counters = m[1]
	}
	if m := reMeters.FindStringSubmatch(body); m != nil {
		t.Meters = m[1]
	}
	return t
}

// intValue evaluates a literal or a #define.
func (s *p4Source) intValue(tb testing.TB, v string) int {
	tb.Helper()
	if d, ok := s.defines[v]; ok {
		v = d
	}
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		tb.Fatalf("not an integer: %q", v)
	}
	return int(n)
}

// typeWidth returns the width of a bit<W> or builtin type, or 0.
func (s *p4Source) typeWidth(tb testing.TB, typ string) int {
	tb.Helper()
	if w, ok := builtinWidths[typ]; ok {
		return w
	}
	if strings.HasPrefix(typ, "bit<") && strings.HasSuffix(typ, ">") {
		return s.intValue(tb, typ[4:len(typ)-1])
	}
	return 0
}

var reSlice = regexp.MustCompile(`^(.*)\[(\d+):(\d+)\]$`)

// exprWidth resolves the width of a key or hash expression: a path
// through a control parameter's type (hdr.ipv6.dst_addr), optionally
// sliced ([127:32]).
func (s *p4Source) exprWidth(c *p4Control, expr string) (int, error) {
	if m := reSlice.FindStringSubmatch(expr); m != nil {
		hi, _ := strconv.Atoi(m[2])
		lo, _ := strconv.Atoi(m[3])
		w, err := s.exprWidth(c, m[1])
		if err != nil {
			return 0, err
		}
		if hi >= w || lo > hi {
			return 0, fmt.Errorf("%s: slice out of range of bit<%d>", expr, w)
		}
		return hi - lo + 1, nil
	}
	parts := strings.Split(expr, ".")
	typ, ok := c.Params[parts[0]]
	if !ok {
		return 0, fmt.Errorf("%s: %s is not a parameter of %s", expr, parts[0], c.Name)
	}
	for _, p := range parts[1:] {
		fs, ok := s.types[typ]
		if !ok {
			return 0, fmt.Errorf("%s: unknown type %s", expr, typ)
		}
		found := false
		for _, f := range fs {
			if f.Name == p {
				typ, found = f.Type, true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("%s: type has no field %s", expr, p)
		}
	}
	var tb fakeTB
	if w := s.typeWidth(&tb, typ); w > 0 && !tb.failed {
		return w, nil
	}
	return 0, fmt.Errorf("%s: type %s is not a bit<W>", expr, typ)
}

// fakeTB lets typeWidth report failure without a test context.
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }
