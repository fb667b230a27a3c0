package main

import (
	"fmt"
	"io"

	"xdpgw/control/config"
)

func cmdConfig(args []string, stdout, stderr io.Writer) int {
	const use = "usage: xdpgw config default | xdpgw config check FILE..."
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return 2
	}
	switch args[0] {
	case "default":
		if len(args) != 1 {
			fmt.Fprintln(stderr, use)
			return 2
		}
		stdout.Write(config.DefaultYAML())
		return 0
	case "check":
		if len(args) < 2 {
			fmt.Fprintln(stderr, use)
			return 2
		}
		rc := 0
		for _, path := range args[1:] {
			if _, err := loadAndCompile(path, nil); err != nil {
				fmt.Fprintln(stderr, err)
				rc = 1
				continue
			}
			fmt.Fprintf(stdout, "%s: ok\n", path)
		}
		return rc
	case "-h", "--help":
		fmt.Fprintln(stdout, use)
		return 0
	}
	fmt.Fprintln(stderr, use)
	return 2
}
