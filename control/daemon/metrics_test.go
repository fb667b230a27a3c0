package daemon

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"xdpgw/control/compile"
	"xdpgw/control/config"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// testDataplane compiles cfg into a data plane with a 1024-entry session
// table, for tests that drive its workers directly.
func testDataplane(t *testing.T, cfg *config.Config) (*compile.Runtime, *pipeline.Dataplane) {
	t.Helper()
	rt, err := compile.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := compile.NewDataplane(rt, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return rt, dp
}

// The metrics of a data plane that has seen a few frames: every line is
// well formed, no series repeats, and the figures are the data plane's.
func TestMetrics(t *testing.T) {
	cfg := config.Default()
	cfg.NAT64.SYNLimit.PerEIP = []config.EIPSYNLimit{{EIP: "2.2.2.11", Rate: 1}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rt, dp := testDataplane(t, cfg)
	tab := dp.Sessions()
	w := dp.NewWorker()
	send := func(port uint16, frame []byte) {
		buf := make([]byte, 4096)
		n := copy(buf[256:], frame)
		w.Process([]pipeline.Frame{{Buf: buf, Off: 256, Len: n, InPort: port}}, 1e9)
		w.Flush()
	}
	client := func(dst string) *fixture.Builder {
		return fixture.New().Eth("02:00:00:00:02:07", "02:00:00:00:01:01").IPv4("1.1.1.7", dst)
	}
	send(0, client("2.2.2.11").TCP(40000, 22, "S").Bytes()) // accepted by user1's "ssh"
	send(0, client("2.2.2.11").TCP(40000, 23, "S").Bytes()) // user1's default: drop
	// NAT64: two SYNs to 2.2.2.11 over its limit of 1 SYN/s: one dropped.
	for _, sp := range []uint16{50000, 50001} {
		send(2, fixture.New().Eth("02:00:00:00:04:07", "02:00:00:00:01:03").IPv6("2001:db8:6::7", "64:ff9b::202:20b").TCP(sp, 80, "S").Bytes())
	}

	in := metricsInput{node: "gw1", ports: rt.PortNames, stats: dp.Stats(), env: dp.Env(), engine: make([]portStats, len(rt.PortNames))}
	in.engine[1].txRingFull = 7
	st := tab.Stats()
	in.sessions, in.capacity = &st, tab.Capacity()
	var b bytes.Buffer
	writeMetrics(&b, &in)
	text := b.String()

	line := regexp.MustCompile(`^([a-z_]+)\{((?:[a-z_]+="(?:[^"\\]|\\.)*",?)*)\} ([0-9]+)$`)
	seen := map[string]bool{}
	families := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(l, "# TYPE ") {
			f := strings.Fields(l)[2]
			if families[f] {
				t.Errorf("family %s declared twice", f)
			}
			families[f] = true
			continue
		}
		if strings.HasPrefix(l, "# HELP ") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("malformed line %q", l)
			continue
		}
		if !families[m[1]] {
			t.Errorf("sample before its TYPE line: %q", l)
		}
		series := m[1] + "{" + m[2] + "}"
		if seen[series] {
			t.Errorf("series repeated: %s", series)
		}
		seen[series] = true
	}
	for _, want := range []string{
		`xdpgw_port_rx_frames_total{node="gw1",port="internet"} 2`,
		`xdpgw_port_tx_frames_total{node="gw1",port="underlay"} 0`, // counted by the Loop, not by Process
		`xdpgw_drops_total{node="gw1",reason="firewall_ingress"} 1`,
		`xdpgw_drops_total{node="gw1",reason="syn_limit"} 1`,
		`xdpgw_events_total{node="gw1",event="dnat"} 1`,
		`xdpgw_firewall_rule_hits_total{node="gw1",tenant="user1",direction="ingress",rule="ssh",index="1"} 1`,
		`xdpgw_firewall_rule_hits_total{node="gw1",tenant="user1",direction="ingress",rule="default",index="0"} 1`,
		`xdpgw_syn_limit_dropped_total{node="gw1",eip="2.2.2.11"} 1`,
		`xdpgw_syn_limit_dropped_total{node="gw1",eip="other"} 0`,
		`xdpgw_afxdp_tx_ring_full_total{node="gw1",port="underlay"} 7`,
		`xdpgw_sessions_capacity{node="gw1"} 1024`,
		`xdpgw_eip_packets_total{node="gw1",eip="2.2.2.11",tenant="user1",direction="in"} 1`,
		`xdpgw_eip_packets_total{node="gw1",eip="2.2.2.11",tenant="user1",direction="out"} 0`,
		`xdpgw_tenant_packets_total{node="gw1",tenant="user1",direction="in"} 1`,
		`xdpgw_tenant_packets_total{node="gw1",tenant="user2",direction="in"} 0`,
		`xdpgw_sessions_live{node="gw1"} 3`, // the gateway flow, a NAT64 binding and its session
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestEscapeLabel(t *testing.T) {
	if got := escapeLabel("a\"b\\c\nd"); got != `a\"b\\c\nd` {
		t.Errorf("escapeLabel = %q", got)
	}
}

// xdpgw ctl stats shows the traffic per EIP.
func TestAPIStatsEIPs(t *testing.T) {
	rt, dp := testDataplane(t, config.Default())
	w := dp.NewWorker()
	buf := make([]byte, 4096)
	f := fixture.New().Eth("02:00:00:00:02:07", "02:00:00:00:01:01").IPv4("1.1.1.7", "2.2.2.12").TCP(40000, 23, "S").Bytes()
	n := copy(buf[256:], f)
	w.Process([]pipeline.Frame{{Buf: buf, Off: 256, Len: n, InPort: 0}}, 1e9)
	w.Flush()
	rec := httptest.NewRecorder()
	(&daemon{dp: dp}).apiStats(rec, rt.PortNames)
	var out struct {
		EIPs []struct {
			EIP       string `json:"eip"`
			Tenant    string `json:"tenant"`
			InPackets uint64 `json:"in_packets"`
		} `json:"eips"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range out.EIPs {
		if e.EIP == "2.2.2.12" {
			found = true
			if e.Tenant != "user2" || e.InPackets != 1 {
				t.Errorf("2.2.2.12: %+v, want user2 with 1 packet in", e)
			}
		}
	}
	if !found {
		t.Errorf("no 2.2.2.12 in %s", rec.Body.String())
	}
}
