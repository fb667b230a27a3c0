package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"xdpgw/control/config"
)

// ctlVerbs maps `xdpgw ctl VERB` to the daemon's local API.
var ctlVerbs = map[string]struct{ method, path, help string }{
	"stats":  {"GET", "/v1/stats", "frames per port, drops by reason, events, session table"},
	"bgp":    {"GET", "/v1/bgp", "BGP: what is announced, draining, session counters"},
	"tables": {"GET", "/v1/manager/tables", "the manager's Maglev tables per VIP and the pools"},
	"drain":  {"POST", "/v1/bgp/drain", "withdraw this NAT64 server's VIP and pools (sessions stay up)"},
	"resume": {"POST", "/v1/bgp/resume", "announce them again"},
}

func cmdCtl(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", config.DefaultAPISocket, "the daemon's API socket (api.socket in its configuration)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: xdpgw ctl [--socket PATH] VERB")
		fmt.Fprintln(stderr, "\nTalks to a running `xdpgw run` over its local API socket. Verbs:")
		for _, v := range []string{"stats", "bgp", "tables", "drain", "resume"} {
			fmt.Fprintf(stderr, "  %-7s %s\n", v, ctlVerbs[v].help)
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	verb, ok := ctlVerbs[fs.Arg(0)]
	if !ok {
		fmt.Fprintf(stderr, "xdpgw ctl: unknown verb %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", *socket)
		}},
	}
	req, err := http.NewRequest(verb.method, "http://xdpgw"+verb.path, nil)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw ctl: %v\n", err)
		return 1
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw ctl: %v (is xdpgw running, and is its api.socket %s?)\n", err, *socket)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw ctl: read answer: %v\n", err)
		return 1
	}
	if resp.StatusCode == http.StatusNotFound {
		fmt.Fprintf(stderr, "xdpgw ctl: %s: this daemon does not run the role that serves it\n", fs.Arg(0))
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "xdpgw ctl: %s: %s: %s", fs.Arg(0), resp.Status, body)
		return 1
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") == nil {
		body = pretty.Bytes()
	}
	stdout.Write(bytes.TrimRight(body, "\n"))
	fmt.Fprintln(stdout)
	return 0
}
