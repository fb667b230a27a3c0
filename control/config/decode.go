package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// pos is a position in the file (1-based; 0: unknown).
type pos struct{ line, col int }

// meta is what Parse remembers about the file so that Validate can cite
// lines: the position of every value, by field path.
type meta struct {
	file string
	pos  map[string]pos
	// null holds the paths whose value was written as null (same as
	// absent, but the line is still worth citing).
	null map[string]bool
}

// Load reads and parses the config file at path. A read error is returned
// as is (wrapped); problems in the file come back as *Error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes one YAML document strictly into a Config, applies the
// defaults (SetDefaults) and validates it (Validate). filename is used in
// messages only. On any problem it returns a nil Config and an *Error that
// lists every problem found, decoding and validation alike.
func Parse(data []byte, filename string) (*Config, error) {
	c := &Config{meta: &meta{file: filename, pos: map[string]pos{}, null: map[string]bool{}}}
	d := decoder{meta: c.meta}
	root, ok := d.document(data)
	if ok && isNull(root) {
		d.probs.add("", root.Line, root.Column, "parse yaml: want a mapping, got null")
		ok = false
	}
	if ok {
		d.value(root, reflect.ValueOf(c).Elem(), "")
	}
	if !ok {
		return nil, &Error{File: filename, Problems: d.probs.list}
	}
	c.SetDefaults()
	var all []Problem
	all = append(all, d.probs.list...)
	if err := c.Validate(); err != nil {
		var ve *Error
		if !errors.As(err, &ve) {
			return nil, err
		}
		for _, p := range ve.Problems {
			// A field that failed to decode holds its zero value;
			// do not report that zero value a second time.
			if !d.covered(p.Path) {
				all = append(all, p)
			}
		}
	}
	if len(all) > 0 {
		sortProblems(all)
		return nil, &Error{File: filename, Problems: all}
	}
	return c, nil
}

// decoder walks a yaml.Node tree against the Go types of the schema.
type decoder struct {
	meta  *meta
	probs problems
	// failed holds the paths whose values did not decode.
	failed map[string]bool
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data into its one document's root node.
func (d *decoder) document(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		// yaml.v3 has panicked on malformed input in the past; a config
		// file must never crash the daemon on reload.
		if r := recover(); r != nil {
			d.probs.add("", 0, 0, "parse yaml: internal error: %v", r)
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			d.probs.add("", 0, 0, "parse yaml: no document (the file is empty or only comments)")
			return nil, false
		}
		d.yamlError(err)
		return nil, false
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		line := next.Line
		if err != nil {
			line = 0
			if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
		}
		d.probs.add("", line, 0, "parse yaml: more than one document (only one is allowed)")
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.probs.add("", doc.Line, doc.Column, "parse yaml: no document")
		return nil, false
	}
	return doc.Content[0], true
}

func (d *decoder) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.probs.add("", line, 0, "parse yaml: %s", m[2])
		return
	}
	d.probs.add("", 0, 0, "parse yaml: %s", strings.TrimPrefix(msg, "yaml: "))
}

func (d *decoder) fail(path string, n *yaml.Node, format string, args ...any) {
	if d.failed == nil {
		d.failed = map[string]bool{}
	}
	d.failed[path] = true
	d.probs.add(path, n.Line, n.Column, format, args...)
}

// covered reports whether path is at or under a path that failed to decode.
func (d *decoder) covered(path string) bool {
	for {
		if d.failed[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "nothing"
}

// value decodes n into v (addressable), recording the position of path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if _, ok := d.meta.pos[path]; !ok {
		d.meta.pos[path] = pos{n.Line, n.Column}
	}
	if n.Kind == yaml.AliasNode {
		d.fail(path, n, "use alias *%s: aliases are not supported", n.Value)
		return
	}
	if isNull(n) {
		d.meta.null[path] = true
		return // same as absent
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(path, n, "want a mapping, got %s", nodeKind(n))
			return
		}
		d.mapping(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n, "want a list, got %s", nodeKind(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(item, s.Index(i), indexPath(path, i))
		}
		v.Set(s)
	default:
		d.scalar(n, v, path)
	}
}

// field is one yaml-tagged field of a struct.
type field struct {
	index int
	name  string
}

func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fs = append(fs, field{i, name})
	}
	return fs
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	fs := fieldsOf(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(path, k, "want a plain key, got %s", nodeKind(k))
			continue
		}
		kp := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.fail(kp, k, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		idx := -1
		for _, f := range fs {
			if f.name == k.Value {
				idx = f.index
				break
			}
		}
		if idx < 0 {
			d.fail(kp, k, "unknown key %q%s", k.Value, suggest(k.Value, fs))
			continue
		}
		d.value(val, v.Field(idx), kp)
	}
}

// suggest returns `; did you mean "x"` for the closest field name within
// edit distance 2, or "".
func suggest(key string, fs []field) string {
	best, bestD := "", 3
	for _, f := range fs {
		if dist := editDistance(key, f.name); dist < bestD {
			best, bestD = f.name, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n, "want %s, got %s", typeName(v.Type()), nodeKind(n))
		return
	}
	if v.Kind() == reflect.String {
		// Any scalar is a string: `name: 123` is the name "123". Tags
		// like !!binary are not interpreted.
		v.SetString(n.Value)
		return
	}
	// yaml.v3 truncates floats into integers and reads yes/on as true;
	// take only what YAML 1.2 resolves to the field's type.
	tag := n.ShortTag()
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if tag != "!!int" {
			d.fail(path, n, "%q: want %s", n.Value, typeName(v.Type()))
			return
		}
	case reflect.Bool:
		if tag != "!!bool" {
			d.fail(path, n, "%q: want %s", n.Value, typeName(v.Type()))
			return
		}
	}
	if err := d.decodeScalar(n, v); err != nil {
		d.fail(path, n, "%q: want %s", n.Value, typeName(v.Type()))
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decode scalar: %v", r)
		}
	}()
	return n.Decode(v.Addr().Interface())
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return fmt.Sprintf("an integer that fits %s", t.Kind())
	case reflect.Uint32:
		return "an integer in 0..4294967295"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint64:
		return fmt.Sprintf("a non-negative integer that fits %s", t.Kind())
	case reflect.String:
		return "a string"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}
