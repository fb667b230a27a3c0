package packet_test

import (
	"fmt"
	"reflect"
	"strings"

	"xdpgw/dataplane/packet"
)

// diffParsed returns one "-want/+got" pair per differing field of Parsed,
// or "" when they are equal. It is a small stand-in for go-cmp, which the
// module does not depend on.
func diffParsed(want, got packet.Parsed) string {
	var sb strings.Builder
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := 0; i < wv.NumField(); i++ {
		w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
		if !reflect.DeepEqual(w, g) {
			name := wv.Type().Field(i).Name
			fmt.Fprintf(&sb, "  %s:\n    -%v\n    +%v\n", name, fmtField(w), fmtField(g))
		}
	}
	return sb.String()
}

func fmtField(v any) string {
	switch v := v.(type) {
	case [16]byte:
		return fmt.Sprintf("% x", v[:])
	case packet.DecodeStatus:
		return v.String()
	}
	return fmt.Sprintf("%v", v)
}
