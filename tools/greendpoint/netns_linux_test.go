package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"xdpgw/tools/greendpoint/gre"
)

// The namespace test's names and addresses. Every name starts with gre-t
// so that it cannot collide with the other testbeds on the machine.
const (
	nsA, nsB     = "gre-t-a", "gre-t-b"
	vethA, vethB = "gre-t-va", "gre-t-vb"
	tunName      = "gre-t-tun"
	underA       = "172.31.250.1"
	underB       = "172.31.250.2"
	tunA, tunB   = "10.99.0.1", "10.99.0.2"
	tun6A, tun6B = "fd99::1", "fd99::2"
)

// requirePrivileged skips unless the test can create namespaces, veth
// pairs and TUN devices.
func requirePrivileged(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("skipping: needs root (network namespaces, TUN, raw sockets)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("skipping: ip(8) not found (install iproute2)")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		tb.Skipf("skipping: TUN unavailable: %v", err)
	}
}

// sh runs a command and fails the test with its output if it fails.
func sh(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// buildBinary builds the command into a directory that every user can
// read, so that the not-root check can run it as nobody.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "gre-t-bin")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, "greendpoint")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// setupNamespaces creates gre-t-a and gre-t-b joined by a veth pair that
// never touches the caller's namespace, and deletes both (and with them the
// veth pair) when the test ends, whatever happened.
func setupNamespaces(tb testing.TB) {
	tb.Helper()
	for _, ns := range []string{nsA, nsB} {
		if _, err := os.Stat(filepath.Join("/var/run/netns", ns)); err == nil {
			tb.Logf("deleting stale namespace %s left by an earlier run", ns)
			exec.Command("ip", "netns", "del", ns).Run()
		}
	}
	for _, ns := range []string{nsA, nsB} {
		sh(tb, "ip", "netns", "add", ns)
		tb.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				tb.Errorf("cleanup: ip netns del %s: %v: %s", ns, err, out)
			}
		})
	}
	sh(tb, "ip", "link", "add", vethA, "netns", nsA, "type", "veth", "peer", "name", vethB, "netns", nsB)
	for _, c := range []struct{ ns, dev, addr string }{{nsA, vethA, underA}, {nsB, vethB, underB}} {
		sh(tb, "ip", "-n", c.ns, "link", "set", "lo", "up")
		sh(tb, "ip", "-n", c.ns, "addr", "add", c.addr+"/24", "dev", c.dev)
		sh(tb, "ip", "-n", c.ns, "link", "set", c.dev, "up")
	}
}

// proc is a greendpoint running in a namespace. Its methods take the
// (sub)test that uses them: one process outlives the subtest that started
// it.
type proc struct {
	cmd   *exec.Cmd
	lines chan string // counters lines from stdout
	done  chan struct{}

	mu     sync.Mutex
	stderr bytes.Buffer
}

// startEndpoint runs greendpoint in ns with `ip netns exec` (which execs,
// so the PID is greendpoint's, as in the testbed) and waits for its ready
// log line; tb reports failures. The process is killed by PID when owner
// ends, if still running, and when this test binary dies (Pdeathsig), so
// that a timeout does not leave it behind.
func startEndpoint(tb, owner testing.TB, bin, ns string, args ...string) *proc {
	tb.Helper()
	p := &proc{lines: make(chan string, 16), done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	pid := p.cmd.Process.Pid
	owner.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(pid, syscall.SIGKILL)
			<-p.done
		}
	})
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if !seen && strings.Contains(sc.Text(), " msg=ready ") {
				seen = true
				close(ready)
			}
		}
	}()
	go func() {
		wg.Wait() // the pipes must be drained before Wait closes them
		p.cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
	case <-p.done:
		tb.Fatalf("greendpoint in %s exited during setup (%v):\n%s", ns, p.cmd.ProcessState, p.logs())
	case <-time.After(10 * time.Second):
		tb.Fatalf("greendpoint in %s not ready after 10s:\n%s", ns, p.logs())
	}
	return p
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// nextCounters waits for the next counters line and parses it.
func (p *proc) nextCounters(tb testing.TB) map[string]uint64 {
	tb.Helper()
	select {
	case line := <-p.lines:
		_, vals, err := gre.ParseCounters(line)
		if err != nil {
			tb.Fatalf("counters line %q: %v", line, err)
		}
		return vals
	case <-time.After(5 * time.Second):
		tb.Fatalf("no counters line within 5s; stderr:\n%s", p.logs())
	}
	return nil
}

// counters asks for a dump with SIGUSR1.
func (p *proc) counters(tb testing.TB) map[string]uint64 {
	tb.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		tb.Fatal(err)
	}
	return p.nextCounters(tb)
}

// stop ends the endpoint with SIGTERM and returns its exit dump.
func (p *proc) stop(tb testing.TB) map[string]uint64 {
	tb.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	c := p.nextCounters(tb)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		tb.Fatal("greendpoint did not exit within 5s of SIGTERM")
	}
	if !p.cmd.ProcessState.Success() {
		tb.Errorf("greendpoint exit: %v\n%s", p.cmd.ProcessState, p.logs())
	}
	return c
}

// ping runs ping in ns and returns how many replies it received (ping
// succeeds with at least one: under load a reply may miss its -W wait, so
// counters are checked against the replies, not the requests).
func ping(ns string, args ...string) (int, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, "ping"}, args...)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("ping %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	// "3 packets transmitted, 3 received, ..."
	for _, f := range strings.Split(string(out), ", ") {
		if n, ok := strings.CutSuffix(f, " received"); ok {
			return strconv.Atoi(n)
		}
	}
	return 0, fmt.Errorf("ping %s: no reply count in\n%s", strings.Join(args, " "), out)
}

func endpointArgs(local, remote, addr, addr6 string, extra ...string) []string {
	return append([]string{"--name", tunName, "--local", local, "--remote", remote,
		"--addr", addr + "/24", "--addr6", addr6 + "/64"}, extra...)
}

// TestNamespaces runs two endpoints in two namespaces joined by a veth
// pair and checks that IPv4 and IPv6 traffic crosses the tunnel, that TCP
// works at full MTU, and that a key mismatch stops the traffic and is
// counted.
func TestNamespaces(t *testing.T) {
	requirePrivileged(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("skipping: ping not found (install iputils-ping)")
	}
	bin := buildBinary(t)
	setupNamespaces(t)
	a := startEndpoint(t, t, bin, nsA, endpointArgs(underA, underB, tunA, tun6A, "--key", "1000")...)
	b := startEndpoint(t, t, bin, nsB, endpointArgs(underB, underA, tunB, tun6B, "--key", "1000", "-v")...)
	top := t // owns the endpoints that subtests restart

	t.Run("ping", func(t *testing.T) {
		n, err := ping(nsA, "-c", "3", "-W", "1", tunB)
		if err != nil {
			t.Fatalf("%v\nendpoint a:\n%s\nendpoint b:\n%s", err, a.logs(), b.logs())
		}
		if c := b.counters(t); c["rx_packets"] < uint64(n) || c["tx_packets"] < uint64(n) {
			t.Errorf("endpoint b counters after ping: %v", c)
		}
		if !strings.Contains(b.logs(), "msg=rx") {
			t.Errorf("-v logged no received packet:\n%s", b.logs())
		}
	})
	t.Run("ping6", func(t *testing.T) {
		if _, err := ping(nsA, "-6", "-c", "2", "-W", "1", tun6B); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("full mtu", func(t *testing.T) {
		// 1444 bytes of ICMP data make a 1472-byte inner packet, the keyed
		// tunnel's MTU, and a 1500-byte outer packet: the veth's MTU.
		if _, err := ping(nsA, "-c", "2", "-W", "1", "-M", "do", "-s", "1444", tunB); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("tcp", func(t *testing.T) {
		tcpTransfer(t, 4<<20)
	})
	t.Run("checksum", func(t *testing.T) {
		// b now sends checksummed GRE; a, which sends none, verifies them.
		b.stop(t)
		b = startEndpoint(t, top, bin, nsB, endpointArgs(underB, underA, tunB, tun6B, "--key", "1000", "--csum")...)
		before := a.counters(t)
		n, err := ping(nsA, "-c", "3", "-W", "1", tunB)
		if err != nil {
			t.Fatal(err)
		}
		after := a.counters(t)
		if after["rx_packets"]-before["rx_packets"] < uint64(n) || after["bad_checksum"] != 0 {
			t.Errorf("endpoint a counters: before %v, after %v", before, after)
		}
	})
	t.Run("key mismatch", func(t *testing.T) {
		b.stop(t)
		b = startEndpoint(t, top, bin, nsB, endpointArgs(underB, underA, tunB, tun6B, "--key", "2000")...)
		if _, err := ping(nsA, "-c", "3", "-W", "1", tunB); err == nil {
			t.Fatal("ping crossed a tunnel whose ends have keys 1000 and 2000")
		}
		c := b.counters(t)
		if c["key_mismatch"] < 3 || c["rx_packets"] != 0 {
			t.Errorf("endpoint b (key 2000) counters: %v", c)
		}
		if final := b.stop(t); final["key_mismatch"] < c["key_mismatch"] {
			t.Errorf("exit dump %v lost counts of the SIGUSR1 dump %v", final, c)
		}
	})
	if c := a.stop(t); c["tx_packets"] == 0 || c["tx_errors"] != 0 {
		t.Errorf("endpoint a exit counters: %v", c)
	}
}

// tcpTransfer sends size pseudo-random bytes from gre-t-a to a listener in
// gre-t-b through the tunnel and compares SHA-256 digests. Both ends run
// as this test binary re-executed in the namespace (TestHelperProcess).
func tcpTransfer(t *testing.T, size int) {
	t.Helper()
	addr := net.JoinHostPort(tunB, "5022")
	srv := exec.Command("ip", "netns", "exec", nsB, os.Args[0], "-test.run=^TestHelperProcess$")
	srv.Env = append(os.Environ(), "GRE_T_HELPER=listen", "GRE_T_ADDR="+addr)
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var srvErr bytes.Buffer
	srv.Stderr = &srvErr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	srvDone := make(chan struct{}) // closed once srv.Wait returned
	var waitErr error
	go func() {
		sc := bufio.NewScanner(out)
		sc.Scan()
		first <- sc.Text()
		io.Copy(io.Discard, out) // Wait closes the pipe: read it all first
		waitErr = srv.Wait()
		close(srvDone)
	}()
	t.Cleanup(func() {
		select {
		case <-srvDone:
		default:
			srv.Process.Kill()
			<-srvDone
		}
	})
	select {
	case line := <-first:
		if line != "listening" {
			t.Fatalf("helper listener did not start: %q\n%s", line, srvErr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("helper listener did not start within 10s")
	}

	cli := exec.Command("ip", "netns", "exec", nsA, os.Args[0], "-test.run=^TestHelperProcess$")
	cli.Env = append(os.Environ(), "GRE_T_HELPER=dial", "GRE_T_ADDR="+addr, "GRE_T_SIZE="+strconv.Itoa(size))
	start := time.Now()
	res, err := cli.CombinedOutput()
	if err != nil || !strings.Contains(string(res), "transfer ok") {
		t.Fatalf("TCP transfer through the tunnel: %v\n%s", err, res)
	}
	t.Logf("%d bytes in %v", size, time.Since(start).Round(time.Millisecond))
	select {
	case <-srvDone:
		if waitErr != nil {
			t.Errorf("helper listener: %v\n%s", waitErr, srvErr.String())
		}
	case <-time.After(5 * time.Second):
		t.Error("helper listener did not exit")
	}
}

// TestHelperProcess is the two ends of tcpTransfer when GRE_T_HELPER is
// set; otherwise it does nothing.
func TestHelperProcess(t *testing.T) {
	addr := os.Getenv("GRE_T_ADDR")
	switch os.Getenv("GRE_T_HELPER") {
	case "listen":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("listening")
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, hex.EncodeToString(h.Sum(nil))+"\n"); err != nil {
			t.Fatal(err)
		}
		c.Close()
	case "dial":
		size, _ := strconv.Atoi(os.Getenv("GRE_T_SIZE"))
		data := make([]byte, size)
		r := rand.NewChaCha8([32]byte{'g', 'r', 'e'})
		r.Read(data)
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if want := hex.EncodeToString(sum[:]); strings.TrimSpace(string(got)) != want {
			t.Fatalf("listener's digest %q, want %q", got, want)
		}
		fmt.Println("transfer ok")
	}
}

// TestNotRoot checks the error a user without privileges gets.
func TestNotRoot(t *testing.T) {
	requirePrivileged(t) // needs root to switch to nobody
	bin := buildBinary(t)
	cmd := exec.Command(bin, "--name", "gre-t-nobody", "--local", "127.0.0.1", "--remote", "127.0.0.2", "--addr", "10.99.1.1/24")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("greendpoint ran as nobody:\n%s", out)
	}
	if !strings.Contains(string(out), "run as root") {
		t.Errorf("error for nobody does not say to run as root:\n%s", out)
	}
}
