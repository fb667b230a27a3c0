// Command xdpgw is the one binary of the appliance. Each subcommand lives in
// its own file; this file only dispatches.
package main

import (
	"fmt"
	"io"
	"os"
)

type command struct {
	name  string
	usage string
	run   func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"run", "run the appliance on AF_XDP (root)", cmdRun},
	{"replay", "run a capture through the pipeline offline (no root)", cmdReplay},
	{"config", "print the embedded default configuration or check a file", cmdConfig},
	{"ctl", "ask a running daemon for its counters, tables and BGP state; drain/resume", cmdCtl},
	{"gen", "send test traffic with BPF_PROG_RUN live frames, count it at a sink (root)", cmdGen},
	{"bench", "run a study and print its tables (bench maglev | ceiling)", cmdBench},
	{"version", "print the version", cmdVersion},
}

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "xdpgw: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: xdpgw COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\n`xdpgw COMMAND -h` describes a command's flags.")
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout, "xdpgw", version)
	return 0
}
