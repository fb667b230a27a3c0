package config

import (
	_ "embed"
	"fmt"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultFile is the file name that problems in the embedded default cite.
const DefaultFile = "default.yaml"

// DefaultYAML returns the embedded default configuration (a copy), which
// reproduces both prototypes of docs/background.md.
func DefaultYAML() []byte {
	return append([]byte(nil), defaultYAML...)
}

// Default returns the embedded default configuration, parsed, defaulted and
// validated; each call returns a new Config. It panics if the embedded file
// is invalid, which a test rules out.
func Default() *Config {
	c, err := Parse(defaultYAML, DefaultFile)
	if err != nil {
		panic(fmt.Sprintf("config: embedded default is invalid:\n%v", err))
	}
	return c
}
