//go:build !linux

package main

import (
	"fmt"
	"os"
)

// run fails everywhere but Linux: the endpoint needs /dev/net/tun and raw
// IPv4 sockets as Linux provides them.
func run(options) int {
	fmt.Fprintln(os.Stderr, "greendpoint: only Linux is supported")
	return 1
}
