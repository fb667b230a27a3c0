package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	o, err := parseArgs(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "greendpoint:", err)
		os.Exit(2)
	}
	os.Exit(run(o))
}
