package config_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"xdpgw/control/config"
)

// schemaPaths returns the dotted path of every field of t: a list of
// structs adds "[]" ("ports[].name"), a pointer is transparent.
func schemaPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		out = append(out, path)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, schemaPaths(ft, path)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, schemaPaths(ft.Elem(), path+"[]")...)
		}
	}
	return out
}

func TestDocsCoverEverySchemaField(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	paths := schemaPaths(reflect.TypeOf(config.Config{}), "")
	if len(paths) < 100 {
		t.Fatalf("found only %d schema paths; is the walk broken?", len(paths))
	}
	for _, p := range paths {
		if !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("docs/config.md does not document `%s`", p)
		}
	}
}

// The annotated example of docs/config.md is a valid config.
func TestDocsExampleParses(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Annotated example")
	if !ok {
		t.Fatal("docs/config.md has no annotated example")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("annotated example has no yaml block")
	}
	if _, err := config.Parse([]byte(example), "docs/config.md example"); err != nil {
		t.Errorf("annotated example:\n%v", err)
	}
}
