package config_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"

	"xdpgw/control/config"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzParse from fuzzSeeds")

// fuzzSeeds are FuzzParse's seed corpus; each is committed as
// testdata/fuzz/FuzzParse/<name> (go test -run TestFuzzSeedFiles
// -update-seeds rewrites them). The comment names the edge it targets.
var fuzzSeeds = []struct {
	name, edge, src string
}{
	{"empty", "an empty file: no document", ""},
	{"comment-only", "a file of comments: no document", "# nothing here\n"},
	{"null-root", "a null document", "~\n"},
	{"scalar-root", "a scalar where the root mapping belongs", "hello\n"},
	{"list-root", "a list where the root mapping belongs", "- a\n- b\n"},
	{"two-documents", "a second document", "sessions: {}\n---\nsessions: {}\n"},
	{"document-markers", "explicit start and end markers", "---\nsessions: {}\n...\n"},
	{"bad-second-document", "a second document with a syntax error", "sessions: {}\n---\n[\n"},
	{"syntax-error", "unterminated flow sequence", "ports: [\n"},
	{"tab-indent", "a tab in indentation", "ports:\n\t- name: a\n"},
	{"unknown-key", "a misspelled key with a suggestion", "ports:\n  - name: a\n    role: external\n    mtuu: 9000\n"},
	{"duplicate-key", "the same key twice in one mapping", "sessions:\n  capacity: 1\n  capacity: 2\n"},
	{"alias", "an alias to an anchored scalar", "node: {name: &n box}\nports: [{name: *n, role: external}]\n"},
	{"alias-bomb", "nested aliases that expand exponentially", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nports: [*c, *c, *c]\n"},
	{"merge-key", "the merge key <<", "base: &b {mtu: 9000}\nports:\n  - <<: *b\n    name: a\n"},
	{"complex-key", "a non-scalar mapping key", "? [a, b]\n: c\n"},
	{"null-values", "null section values (same as absent)", "nat64:\nbgp: ~\nports:\n  -\n"},
	{"type-mismatch", "string where an integer belongs, list where a string belongs", "sessions: {capacity: lots}\nnode: {name: [a]}\n"},
	{"float-into-int", "a float where an integer belongs", "sessions: {capacity: 1.5e3}\n"},
	{"int-overflow", "integers beyond int64 and uint32", "sessions: {capacity: 99999999999999999999999}\nbgp: {asn: 4294967296, router_id: 1.2.3.4}\n"},
	{"yaml11-bool", "yes/no booleans of YAML 1.1", "vrfs: [{name: t}]\ntenants: [{name: t, gre_key: 1, flow_offload: yes}]\n"},
	{"binary-tag", "an explicit !!binary tag on a string", "node: {name: !!binary aGVsbG8=}\n"},
	{"custom-tag", "a local tag on an integer", "sessions: {capacity: !foo 12}\n"},
	{"unmasked-prefix", "a route prefix with host bits set", "ports: [{name: p, role: external}]\nvrfs: [{name: main, routes: [{prefix: 10.0.0.1/8, port: p}]}]\n"},
	{"bad-port-range", "a firewall port range with a non-number", "vrfs: [{name: t}]\ntenants: [{name: t, gre_key: 1, firewall: {ingress: {rules: [{action: accept, proto: tcp, dport: ['22-x']}]}}}]\n"},
	{"gre-key-range", "GRE keys at and beyond 32 bits", "vrfs: [{name: t}, {name: u}]\ntenants: [{name: t, gre_key: 4294967295}, {name: u, gre_key: 4294967296}]\n"},
	{"nat64-u-octet", "an RFC 6052 prefix with the u octet set", "nat64: {prefix: '2001:db8:0:0:ff00::/64', pools: [{prefix: 198.51.100.0/28}]}\n"},
	{"pools-overlap", "two overlapping NAT64 pools", "nat64: {prefix: 64:ff9b::/96, pools: [{prefix: 198.51.100.0/28}, {prefix: 198.51.100.0/24}]}\n"},
	{"maglev-not-prime", "a Maglev table size that is not prime", "access: {table_size: 65536, prefix: 64:ff9b::/96}\n"},
	{"static-bib", "static bindings with transport addresses", "nat64: {prefix: 64:ff9b::/96, pools: [{prefix: 198.51.100.0/28}], static_bib: [{proto: tcp, ipv6: '[2001:db8::1]:80', ipv4: '198.51.100.1:8080'}]}\n"},
	{"zone-address", "an IPv6 address with a zone", "ports: [{name: p, role: ipv6}]\nneighbors: [{port: p, ip: 'fe80::1%eth0', mac: '02:00:00:00:00:01'}]\n"},
	{"deep-nesting", "deep nesting under an unknown key", "x: " + nested(200) + "\n"},
	{"unicode-key", "non-ASCII keys and values", "nödé: {name: \"\u00e9\"}\n"},
	{"crlf", "CRLF line ends", "sessions:\r\n  capacity: 5\r\n"},
	{"bom", "a UTF-8 byte order mark", "\ufeffsessions: {capacity: 5}\n"},
	{"default", "the embedded default, every section", string(config.DefaultYAML())},
}

func nested(n int) string {
	s := "1"
	for range n {
		s = "[" + s + "]"
	}
	return s
}

func seedFile(src string) string {
	return "go test fuzz v1\n[]byte(" + strconv.Quote(src) + ")\n"
}

// The committed seed files match fuzzSeeds.
func TestFuzzSeedFiles(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if *updateSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range fuzzSeeds {
		path := filepath.Join(dir, s.name)
		want := seedFile(s.src)
		if *updateSeeds {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is stale or missing (%v); run go test -run TestFuzzSeedFiles -update-seeds", path, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s.src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned both a config and an error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("Parse error %T %v: want a non-empty *config.Error", err, err)
			}
			for _, p := range ce.Problems {
				if p.Msg == "" || p.Line < 0 || p.Column < 0 {
					t.Fatalf("bad problem %#v", p)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate refuses:\n%v", err)
		}
		// A valid config survives printing and parsing again.
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		c2, err := config.Parse(out, "again.yaml")
		if err != nil {
			t.Fatalf("parse marshalled config:\n%v\n%s", err, out)
		}
		out2, err := yaml.Marshal(c2)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if string(out) != string(out2) {
			t.Fatalf("round trip changed the config:\n%s\n---\n%s", out, out2)
		}
	})
}
