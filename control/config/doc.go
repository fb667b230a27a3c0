// Package config owns xdpgw's one YAML configuration file: its schema
// (schema.go), a strict decoder that reports every problem with its field
// path and line (decode.go), the defaults (defaults.go), the validation
// rules (validate.go), parsed accessors for the runtime builder (values.go)
// and the embedded default that reproduces both prototypes of
// docs/background.md (default.yaml).
//
// The package is pure data: it must never import dataplane/ or any
// package that touches the network or the kernel, so that the config can
// be checked anywhere (`xdpgw run -check`, tests, fuzzing).
//
// Decoding rules, in short:
//   - exactly one YAML document; a second document is an error;
//   - every mapping key must be a field of the schema (unknown keys and
//     duplicate keys are errors);
//   - aliases (*name) are refused, anchors alone are harmless; the
//     merge key "<<" is an unknown key. Refusing aliases keeps every value
//     at one place in the file, so a line number always points at it, and
//     removes the exponential alias expansion ("billion laughs") case;
//   - a null value (`key:` or `key: ~`) is the same as an absent key;
//   - all problems are collected, not only the first, into an *Error.
package config
