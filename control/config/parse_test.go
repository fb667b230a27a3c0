package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"xdpgw/control/config"
)

// parseProblems parses src and returns its problems (nil if it parsed).
func parseProblems(tb testing.TB, src string) []config.Problem {
	tb.Helper()
	c, err := config.Parse([]byte(src), "test.yaml")
	if err == nil {
		if c == nil {
			tb.Fatal("Parse returned nil config and nil error")
		}
		return nil
	}
	if c != nil {
		tb.Errorf("Parse returned a config with error %v", err)
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		tb.Fatalf("Parse error %T %v, want *config.Error", err, err)
	}
	if len(ce.Problems) == 0 {
		tb.Fatal("*config.Error without problems")
	}
	return ce.Problems
}

// findProblem returns the problem at path whose message contains msg.
func findProblem(ps []config.Problem, path, msg string) (config.Problem, bool) {
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Msg, msg) {
			return p, true
		}
	}
	return config.Problem{}, false
}

func dump(ps []config.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\n\t" + p.String())
	}
	return b.String()
}

func TestParseDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		path string
		line int // 0: not checked
		msg  string
	}{
		{
			name: "unknown key",
			src:  "ports:\n  - name: a\n    role: external\n    mtuu: 9000\n",
			path: "ports[0].mtuu", line: 4, msg: `unknown key "mtuu"; did you mean "mtu"`,
		},
		{
			name: "unknown top-level key",
			src:  "sessions: {}\nportz: []\n",
			path: "portz", line: 2, msg: `unknown key "portz"`,
		},
		{
			name: "unknown key deep",
			src:  "tenants:\n  - name: t\n    gre_key: 1\n    firewall:\n      ingress:\n        rules:\n          - action: accept\n            port: [22]\n",
			path: "tenants[0].firewall.ingress.rules[0].port", line: 8, msg: `unknown key "port"`,
		},
		{
			name: "duplicate key",
			src:  "sessions:\n  capacity: 1\n  capacity: 2\n",
			path: "sessions.capacity", line: 3, msg: "duplicate key \"capacity\" (first at line 2)",
		},
		{
			name: "string where int",
			src:  "sessions:\n  capacity: lots\n",
			path: "sessions.capacity", line: 2, msg: `"lots": want an integer`,
		},
		{
			name: "float where int",
			src:  "ports:\n  - name: a\n    role: external\n    mtu: 1500.5\n",
			path: "ports[0].mtu", line: 4, msg: `"1500.5": want an integer`,
		},
		{
			name: "mapping where int",
			src:  "sessions: {capacity: {a: 1}}\n",
			path: "sessions.capacity", line: 1, msg: "want an integer, got a mapping",
		},
		{
			name: "bad bool",
			src:  "vrfs: [{name: t}]\ntenants: [{name: t, gre_key: 1, flow_offload: maybe}]\n",
			path: "tenants[0].flow_offload", line: 2, msg: `"maybe": want true or false`,
		},
		{
			name: "uint32 overflow",
			src:  "bgp: {asn: 4294967296, router_id: 1.2.3.4}\n",
			path: "bgp.asn", msg: "want an integer in 0..4294967295",
		},
		{
			name: "negative uint32",
			src:  "bgp: {asn: -1, router_id: 1.2.3.4}\n",
			path: "bgp.asn", msg: "want an integer in 0..4294967295",
		},
		{
			name: "scalar where list",
			src:  "ports: eth0\n",
			path: "ports", line: 1, msg: `want a list, got "eth0"`,
		},
		{
			name: "list where mapping",
			src:  "nat64: [1]\n",
			path: "nat64", line: 1, msg: "want a mapping, got a list",
		},
		{
			name: "list where string",
			src:  "node: {name: [a]}\n",
			path: "node.name", line: 1, msg: "want a string, got a list",
		},
		{
			name: "alias",
			src:  "node: {name: &n box}\nports: [{name: *n, role: external}]\n",
			path: "ports[0].name", line: 2, msg: "aliases are not supported",
		},
		{
			name: "merge key",
			src:  "sessions:\n  <<: {capacity: 5}\n",
			path: "sessions.<<", line: 2, msg: `unknown key "<<"`,
		},
		{
			name: "complex key",
			src:  "? [a]\n: b\n",
			path: "", line: 1, msg: "want a plain key, got a list",
		},
		{
			name: "root not a mapping",
			src:  "- a\n",
			path: "", line: 1, msg: "want a mapping, got a list",
		},
		{
			name: "root null",
			src:  "~\n",
			path: "", line: 1, msg: "want a mapping, got null",
		},
		{
			name: "empty file",
			src:  "",
			path: "", msg: "no document",
		},
		{
			name: "comments only",
			src:  "# nothing\n",
			path: "", msg: "no document",
		},
		{
			name: "two documents",
			src:  "sessions: {}\n---\nsessions: {}\n",
			path: "", msg: "more than one document",
		},
		{
			name: "syntax error",
			src:  "ports:\n  - name: a\n   role: [\n",
			path: "", msg: "parse yaml:",
		},
		{
			name: "tab indentation",
			src:  "ports:\n\t- name: a\n",
			path: "", line: 2, msg: "parse yaml:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := parseProblems(t, tt.src)
			p, ok := findProblem(ps, tt.path, tt.msg)
			if !ok {
				t.Fatalf("no problem at %q containing %q; got:%s", tt.path, tt.msg, dump(ps))
			}
			if tt.line != 0 && p.Line != tt.line {
				t.Errorf("problem %q at line %d, want %d", p.String(), p.Line, tt.line)
			}
		})
	}
}

// A field that failed to decode is not reported a second time by Validate
// (as a missing or zero value).
func TestParseDecodeErrorSuppressesValidation(t *testing.T) {
	ps := parseProblems(t, "ports:\n  - name: [a]\n    role: external\n")
	if len(ps) != 1 || ps[0].Path != "ports[0].name" {
		t.Fatalf("want exactly one problem at ports[0].name, got:%s", dump(ps))
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	src := `ports:
  - name: a
    role: bogus
    mtuu: 1
  - name: a
    role: external
sessions:
  capacity: -1
  evict: never
`
	ps := parseProblems(t, src)
	want := []struct {
		path string
		line int
	}{
		{"ports[0].role", 3},
		{"ports[0].mtuu", 4},
		{"ports[1].name", 5},
		{"sessions.capacity", 8},
		{"sessions.evict", 9},
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:%s", len(ps), len(want), dump(ps))
	}
	for i, w := range want {
		if ps[i].Path != w.path || ps[i].Line != w.line {
			t.Errorf("problem %d = %s, want path %s line %d", i, ps[i], w.path, w.line)
		}
	}
	err := &config.Error{File: "test.yaml", Problems: ps}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Error() has %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	if got, wantLine := lines[0], `test.yaml:3: ports[0].role: unknown port role "bogus" (want one of external, overlay, ipv6, ipv4, access)`; got != wantLine {
		t.Errorf("first line:\n got %s\nwant %s", got, wantLine)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  *config.Error
		want string
	}{
		{
			name: "full",
			err:  &config.Error{File: "config.yaml", Problems: []config.Problem{{Path: "tenants[0].firewall.ingress.rules[1].dport[0]", Line: 14, Column: 9, Msg: `"22-x": bad port range`}}},
			want: `config.yaml:14: tenants[0].firewall.ingress.rules[1].dport[0]: "22-x": bad port range`,
		},
		{
			name: "no line",
			err:  &config.Error{File: "config.yaml", Problems: []config.Problem{{Path: "vrfs", Msg: "x"}}},
			want: "config.yaml: vrfs: x",
		},
		{
			name: "no path",
			err:  &config.Error{File: "c.yaml", Problems: []config.Problem{{Line: 2, Msg: "parse yaml: x"}}},
			want: "c.yaml:2: parse yaml: x",
		},
		{
			name: "no file",
			err:  &config.Error{Problems: []config.Problem{{Path: "sessions.capacity", Msg: "x"}, {Path: "api.socket", Msg: "y"}}},
			want: "sessions.capacity: x\napi.socket: y",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error():\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, config.DefaultYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(good); err != nil {
		t.Fatalf("Load(default): %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("sessions:\n  evict: never\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(bad)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.File != bad || !strings.HasPrefix(err.Error(), bad+":2: sessions.evict: ") {
		t.Errorf("Load(bad) = %v, want a *config.Error citing %s:2", err, bad)
	}
	_, err = config.Load(filepath.Join(dir, "missing.yaml"))
	if err == nil || errors.As(err, &ce) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a wrapped os.ErrNotExist", err)
	}
}
