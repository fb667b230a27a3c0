package bgp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"xdpgw/control/bgp"
)

// The BIRD interop topology (all names start with xbgp-, all addresses are
// private to the two namespaces):
//
//	netns xbgp-r: bird (AS 64500)          netns xbgp-a: access Speaker (AS 64512)
//	  xbgp-r0 10.211.0.1/30  <--- veth --->  xbgp-a0 10.211.0.2/30
//	          fd00:211::1/64                         fd00:211::2/64
//
// The access Speaker runs in a child process (this test binary re-executed
// by `ip netns exec xbgp-a` with XBGP_HELPER=access), because gobgp's
// goroutines open sockets from arbitrary OS threads and a thread-local
// netns.Set would not cover them. The test drives the child with one-line
// commands on its stdin.
const (
	birdNSR    = "xbgp-r"
	birdNSA    = "xbgp-a"
	birdVethR  = "xbgp-r0"
	birdVethA  = "xbgp-a0"
	birdAddrR4 = "10.211.0.1"
	birdAddrA4 = "10.211.0.2"
	birdAddrR6 = "fd00:211::1"
	birdAddrA6 = "fd00:211::2"
	birdASR    = 64500
	birdASA    = 64512
)

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	accessV4    = netip.MustParsePrefix("198.51.100.0/28")
)

func TestMain(m *testing.M) {
	if os.Getenv("XBGP_HELPER") == "access" {
		os.Exit(accessHelper(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// accessHelper runs the access role's Speaker and obeys commands:
// announce, withdraw4, stats, stop. EOF on stdin stops it too.
func accessHelper(in io.Reader, out io.Writer) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	s, err := bgp.Start(ctx, bgp.Config{
		ASN: birdASA, RouterID: netip.MustParseAddr(birdAddrA4),
		Listen: netip.MustParseAddrPort("[::]:179"),
		Peers: []bgp.Peer{
			{Address: netip.MustParseAddr(birdAddrR4), ASN: birdASR},
			{Address: netip.MustParseAddr(birdAddrR6), ASN: birdASR},
		},
		ConnectRetry: time.Second,
		HoldTime:     9 * time.Second,
		Logger:       log,
	})
	if err != nil {
		fmt.Fprintf(out, "error: %v\n", err)
		return 1
	}
	reply := func(err error, extra string) {
		if err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			return
		}
		fmt.Fprintf(out, "ok %s\n", extra)
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch cmd := strings.TrimSpace(sc.Text()); cmd {
		case "announce":
			// Next hop self: the session's local address (fd00:211::2 on
			// the IPv6 session, 10.211.0.2 on the IPv4 one).
			err := s.Announce(nat64Prefix, netip.Addr{})
			if err == nil {
				err = s.Announce(accessV4, netip.Addr{})
			}
			reply(err, "")
		case "resolve":
			// The kernel learned the router's MAC for the BGP session.
			mac, err := bgp.NetlinkResolver{}.Resolve(ctx, netip.MustParseAddr(birdAddrR4))
			reply(err, mac.String())
		case "withdraw4":
			reply(s.Withdraw(accessV4), "")
		case "stats":
			b, _ := json.Marshal(s.Stats(ctx))
			reply(nil, string(b))
		case "stop":
			reply(s.Stop(ctx), "")
			return 0
		default:
			reply(fmt.Errorf("unknown command %q", cmd), "")
		}
	}
	s.Stop(ctx)
	return 0
}

// syncBuffer collects a child's stderr for failure reports.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// kill ends a child this test started, by its PID, and reaps it.
func kill(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

const birdConf = `# BIRD 2 as the upstream router of an xdpgw access (test config).
router id %[1]s;
log stderr all;

protocol device { scan time 2; }

protocol bgp xdpgw4 {
	local %[1]s as %[3]d;
	neighbor %[2]s as %[4]d;
	hold time 9;
	connect retry time 2;
	ipv4 { import all; export none; };
}

protocol bgp xdpgw6 {
	local %[5]s as %[3]d;
	neighbor %[6]s as %[4]d;
	hold time 9;
	connect retry time 2;
	ipv6 { import all; export none; };
}
`

// TestBIRDInterop: BIRD learns the access's /96 (MP_REACH over an IPv6
// session) and an IPv4 prefix, loses the IPv4 prefix on Withdraw and the
// /96 when the access stops.
func TestBIRDInterop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("BIRD interop needs root (network namespaces xbgp-r, xbgp-a); run `go test ./control/bgp/` as root")
	}
	for _, bin := range []string{"bird", "birdc", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("BIRD interop: %s not found (Debian: apt-get install bird2 iproute2; see testbed/packages.txt)", bin)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	// Namespaces and veth, removed by exact name even if a step fails (a
	// leftover of an interrupted run is removed first).
	for _, ns := range []string{birdNSR, birdNSA} {
		exec.Command("ip", "netns", "del", ns).Run()
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "netns", "add", ns)
	}
	run(t, "ip", "link", "add", birdVethR, "netns", birdNSR, "type", "veth", "peer", "name", birdVethA, "netns", birdNSA)
	for _, c := range [][]string{
		{birdNSR, "addr", "add", birdAddrR4 + "/30", "dev", birdVethR},
		{birdNSR, "-6", "addr", "add", birdAddrR6 + "/64", "dev", birdVethR, "nodad"},
		{birdNSR, "link", "set", birdVethR, "up"},
		{birdNSR, "link", "set", "lo", "up"},
		{birdNSA, "addr", "add", birdAddrA4 + "/30", "dev", birdVethA},
		{birdNSA, "-6", "addr", "add", birdAddrA6 + "/64", "dev", birdVethA, "nodad"},
		{birdNSA, "link", "set", birdVethA, "up"},
		{birdNSA, "link", "set", "lo", "up"},
	} {
		run(t, "ip", append([]string{"-n"}, c...)...)
	}

	// BIRD in xbgp-r.
	dir := t.TempDir()
	conf := filepath.Join(dir, "bird.conf")
	sock := filepath.Join(dir, "bird.ctl")
	if err := os.WriteFile(conf, fmt.Appendf(nil, birdConf, birdAddrR4, birdAddrA4, birdASR, birdASA, birdAddrR6, birdAddrA6), 0o644); err != nil {
		t.Fatal(err)
	}
	birdLog := &syncBuffer{}
	bird := exec.Command("ip", "netns", "exec", birdNSR, "bird", "-f", "-c", conf, "-s", sock, "-P", filepath.Join(dir, "bird.pid"))
	bird.Stdout, bird.Stderr = birdLog, birdLog
	if err := bird.Start(); err != nil {
		t.Fatalf("start bird: %v", err)
	}
	t.Cleanup(func() { kill(bird) })
	birdc := func(args ...string) (string, error) {
		out, err := exec.Command("birdc", append([]string{"-s", sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	waitBird := func(what string, cond func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		var out string
		for time.Now().Before(deadline) {
			var err error
			if out, err = birdc("show", "route"); err == nil && cond(out) {
				return out
			}
			time.Sleep(200 * time.Millisecond)
		}
		proto, _ := birdc("show", "protocols", "all")
		t.Fatalf("BIRD: timed out waiting for %s\nshow route:\n%s\nshow protocols all:\n%s\nbird log:\n%s", what, out, proto, birdLog.String())
		return ""
	}
	waitBird("control socket", func(string) bool { return true })

	// The access Speaker in xbgp-a.
	helperLog := &syncBuffer{}
	helper := exec.Command("ip", "netns", "exec", birdNSA, self)
	helper.Env = append(os.Environ(), "XBGP_HELPER=access")
	helper.Stderr = helperLog
	stdin, err := helper.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatalf("start access helper: %v", err)
	}
	t.Cleanup(func() { stdin.Close(); kill(helper) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("access speaker log:\n%s", helperLog.String())
			t.Logf("bird log:\n%s", birdLog.String())
		}
	})
	replies := bufio.NewScanner(stdout)
	command := func(cmd string) string {
		t.Helper()
		if _, err := fmt.Fprintln(stdin, cmd); err != nil {
			t.Fatalf("helper %s: %v", cmd, err)
		}
		line := make(chan string, 1)
		go func() {
			if replies.Scan() {
				line <- replies.Text()
			}
			close(line)
		}()
		select {
		case l, ok := <-line:
			if !ok || !strings.HasPrefix(l, "ok") {
				t.Fatalf("helper %s: %q (exited: %v)", cmd, l, !ok)
			}
			return strings.TrimSpace(strings.TrimPrefix(l, "ok"))
		case <-time.After(15 * time.Second):
			t.Fatalf("helper %s: no reply", cmd)
		}
		return ""
	}

	command("announce")
	out := waitBird("the /96 and the IPv4 prefix", func(s string) bool {
		return strings.Contains(s, nat64Prefix.String()) && strings.Contains(s, accessV4.String())
	})
	t.Logf("BIRD learned:\n%s", out)
	for _, want := range []string{"via " + birdAddrA6, "via " + birdAddrA4, fmt.Sprintf("AS%d", birdASA)} {
		if !strings.Contains(out, want) {
			t.Errorf("BIRD's routes lack %q", want)
		}
	}
	var st bgp.Stats
	if err := json.Unmarshal([]byte(command("stats")), &st); err != nil {
		t.Fatal(err)
	}
	t.Logf("access stats: %+v", st)
	if st.PeersEstablished != 2 || st.UpdatesSent < 2 || st.Announced != 2 {
		t.Errorf("access stats: %+v, want 2 sessions, >= 2 updates sent, 2 prefixes", st)
	}

	// The real resolver, inside xbgp-a, finds BIRD's veth MAC in the
	// kernel neighbour table (the BGP session made the kernel resolve it).
	linkOut := run(t, "ip", "-n", birdNSR, "-o", "link", "show", birdVethR)
	if got := command("resolve"); !strings.Contains(linkOut, "link/ether "+got+" ") {
		t.Errorf("NetlinkResolver(%s) = %q, want the MAC of %s: %s", birdAddrR4, got, birdVethR, linkOut)
	}

	command("withdraw4")
	waitBird("the IPv4 prefix withdrawn", func(s string) bool {
		return !strings.Contains(s, accessV4.String()) && strings.Contains(s, nat64Prefix.String())
	})

	// The access goes down: BIRD drops the /96.
	command("stop")
	out = waitBird("the /96 gone", func(s string) bool { return !strings.Contains(s, nat64Prefix.String()) })
	t.Logf("after the access stopped:\n%s", out)
}
