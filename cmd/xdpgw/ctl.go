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
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"xdpgw/control/config"
)

// ctlVerbs maps `xdpgw ctl VERB` to the daemon's local API.
var ctlVerbs = map[string]struct{ method, path, help string }{
	"stats":  {"GET", "/v1/stats", "frames per port, drops by reason, events, session table, traffic per EIP"},
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
		fmt.Fprintln(stderr, "       xdpgw ctl [--socket PATH] capture [--port NAME] [-c N] [--seconds S] [--snaplen L] -w FILE")
		fmt.Fprintln(stderr, "       xdpgw ctl [--socket PATH] sessions [--kind K] [--addr IP] [--limit N] [--json]")
		fmt.Fprintln(stderr, "\nTalks to a running `xdpgw run` over its local API socket. Verbs:")
		for _, v := range []string{"stats", "bgp", "tables", "drain", "resume"} {
			fmt.Fprintf(stderr, "  %-7s %s\n", v, ctlVerbs[v].help)
		}
		fmt.Fprintf(stderr, "  %-7s %s\n", "capture", "write the frames the daemon receives (as they arrived) to a pcapng file for xdpgw replay")
		fmt.Fprintf(stderr, "  %-7s %s\n", "sessions", "list sessions: NAT64 sessions and bindings, gateway flows (ctl sessions -h)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() >= 1 && fs.Arg(0) == "capture" {
		return ctlCapture(*socket, fs.Args()[1:], stderr)
	}
	if fs.NArg() >= 1 && fs.Arg(0) == "sessions" {
		return ctlSessions(*socket, fs.Args()[1:], stdout, stderr)
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
	client := apiClient(*socket, 5*time.Second)
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

// apiClient talks HTTP to the daemon's unix socket.
func apiClient(socket string, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}
}

// ctlCapture runs `xdpgw ctl capture`: the daemon streams a pcapng file of
// what it receives (control/daemon/capture.go), written to -w.
func ctlCapture(socket string, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ctl capture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.String("port", "all", "the port to capture (a configured port name), or all")
	count := fs.Int("c", 0, "stop after this many frames (0: at --seconds)")
	secs := fs.Int("seconds", 10, "stop after this many seconds (at most 3600)")
	snap := fs.Int("snaplen", 2048, "bytes kept of each frame (64-9216)")
	out := fs.String("w", "", "the pcapng file to write (- for standard output)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: xdpgw ctl capture [--port NAME] [-c N] [--seconds S] [--snaplen L] -w FILE")
		fs.PrintDefaults()
		return 2
	}
	q := url.Values{"port": {*port}, "count": {strconv.Itoa(*count)}, "seconds": {strconv.Itoa(*secs)}, "snaplen": {strconv.Itoa(*snap)}}
	resp, err := apiClient(socket, time.Duration(*secs+10)*time.Second).Get("http://xdpgw/v1/capture?" + q.Encode())
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw ctl capture: %v (is xdpgw running, and is its api.socket %s?)\n", err, socket)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(stderr, "xdpgw ctl capture: %s: %s", resp.Status, body)
		return 1
	}
	var w io.Writer
	var f *os.File
	if *out == "-" {
		w = os.Stdout
	} else {
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintf(stderr, "xdpgw ctl capture: %v\n", err)
			return 1
		}
		w = f
	}
	_, err = io.Copy(w, resp.Body)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "xdpgw ctl capture: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "xdpgw ctl capture: %s frames written, %s not copied (capture ring full)\n",
		resp.Trailer.Get("Xdpgw-Capture-Frames"), resp.Trailer.Get("Xdpgw-Capture-Dropped"))
	return 0
}

// ctlSessions runs `xdpgw ctl sessions`: the daemon's GET /v1/sessions,
// followed from page to page until --limit sessions or the table's end.
func ctlSessions(socket string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ctl sessions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "", "only this kind: flow (gateway), nat64 (NAT64 sessions), bib (NAT64 bindings), fragment")
	addr := fs.String("addr", "", "only sessions with this IPv4 or IPv6 address in either direction")
	limit := fs.Int("limit", 100, "at most this many sessions")
	asJSON := fs.Bool("json", false, "print the daemon's JSON (pipeline.SessionInfo) instead of a table")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || *limit < 1 {
		fmt.Fprintln(stderr, "usage: xdpgw ctl sessions [--kind flow|nat64|bib|fragment] [--addr IP] [--limit N] [--json]")
		fs.PrintDefaults()
		return 2
	}
	client := apiClient(socket, 60*time.Second)
	type info struct {
		Kind       string `json:"kind"`
		Proto      string `json:"proto"`
		State      string `json:"state"`
		IdleS      int64  `json:"idle_s"`
		ExpiresInS int64  `json:"expires_in_s"`
		Client     string `json:"client"`
		Remote     string `json:"remote"`
		Pool       string `json:"pool"`
		Tenant     string `json:"tenant"`
		EIP        string `json:"eip"`
		OpenedBy   string `json:"opened_by"`
		Forward    string `json:"forward"`
		Reply      string `json:"reply"`
	}
	var all []json.RawMessage
	var rows []info
	from := 0
	for len(rows) < *limit {
		q := url.Values{"limit": {strconv.Itoa(min(*limit-len(rows), 100000))}, "from": {strconv.Itoa(from)}}
		if *kind != "" {
			q.Set("kind", *kind)
		}
		if *addr != "" {
			q.Set("addr", *addr)
		}
		resp, err := client.Get("http://xdpgw/v1/sessions?" + q.Encode())
		if err != nil {
			fmt.Fprintf(stderr, "xdpgw ctl sessions: %v (is xdpgw running, and is its api.socket %s?)\n", err, socket)
			return 1
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			fmt.Fprintf(stderr, "xdpgw ctl sessions: read answer: %v\n", err)
			return 1
		}
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintf(stderr, "xdpgw ctl sessions: %s: %s", resp.Status, body)
			return 1
		}
		var page struct {
			Sessions []json.RawMessage `json:"sessions"`
			Next     int               `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			fmt.Fprintf(stderr, "xdpgw ctl sessions: %v\n", err)
			return 1
		}
		for _, raw := range page.Sessions {
			var in info
			if err := json.Unmarshal(raw, &in); err != nil {
				fmt.Fprintf(stderr, "xdpgw ctl sessions: %v\n", err)
				return 1
			}
			all, rows = append(all, raw), append(rows, in)
		}
		if page.Next == 0 {
			break
		}
		from = page.Next
	}
	if *asJSON {
		out, _ := json.MarshalIndent(all, "", "  ")
		stdout.Write(out)
		fmt.Fprintln(stdout)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tPROTO\tSTATE\tIDLE\tEXPIRES IN\tSESSION")
	for _, r := range rows {
		var what string
		switch r.Kind {
		case "nat64":
			what = r.Client + " -> " + r.Remote + " as " + r.Pool
		case "bib":
			what = r.Client + " = " + r.Pool
		case "flow":
			what = r.Forward + " / reply " + r.Reply
			if r.EIP != "" {
				what = r.Tenant + " EIP " + r.EIP + " (opened by " + r.OpenedBy + "): " + what
			}
		default:
			what = r.Forward + " / " + r.Reply
		}
		state := r.State
		if state == "" {
			state = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%s\n", r.Kind, r.Proto, state,
			time.Duration(r.IdleS)*time.Second, time.Duration(r.ExpiresInS)*time.Second, what)
	}
	tw.Flush()
	fmt.Fprintf(stderr, "%d sessions\n", len(rows))
	return 0
}
