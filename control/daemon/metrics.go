package daemon

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"xdpgw/dataplane/firewall"
	"xdpgw/dataplane/pipeline"
	"xdpgw/dataplane/session"
)

// The Prometheus endpoint (api.metrics): GET /metrics in the text
// exposition format (version 0.0.4), written here rather than through a
// client library: every figure is a counter the data plane already keeps
// (read atomically), so the endpoint only formats them. docs/operations.md
// lists the metrics.

// metricsInput is what one scrape reports; gathered by the daemon,
// rendered by writeMetrics (which tests drive without a daemon).
type metricsInput struct {
	node     string
	ports    []string
	stats    pipeline.Stats
	engine   []portStats // by port; nil without an AF_XDP engine
	sessions *session.Stats
	capacity int
	env      *pipeline.Env
}

// startMetrics serves GET /metrics on addr (host:port). Failing to listen
// is logged, not fatal: forwarding does not depend on it.
func (d *daemon) startMetrics(addr string) {
	if addr == "" {
		return
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		d.log.Warn("metrics: cannot listen; metrics off", "addr", addr, "err", err)
		return
	}
	names := append([]string(nil), d.rt.PortNames...)
	node := d.rt.Config.Node.Name
	eng := d.engine // set before the roles start; shutdown clears d.engine after they stop
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		in := metricsInput{node: node, ports: names, stats: d.dp.Stats(), env: d.dp.Env()}
		if eng != nil {
			in.engine = collectPorts(eng, len(names))
		}
		if t := d.dp.Sessions(); t != nil {
			st := t.Stats()
			in.sessions, in.capacity = &st, t.Capacity()
		}
		var b bytes.Buffer
		writeMetrics(&b, &in)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(b.Bytes())
	})
	d.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := d.metrics.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Warn("metrics: server stopped", "err", err)
		}
	}()
	d.log.Info("metrics: serving", "addr", lis.Addr().String())
}

func (d *daemon) stopMetrics() {
	if d.metrics == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = d.metrics.Shutdown(ctx)
	cancel()
	d.metrics = nil
}

// promWriter writes metric families: a HELP and TYPE line once per name,
// then samples.
type promWriter struct {
	b    *bytes.Buffer
	node string
}

func (p *promWriter) family(name, typ, help string) {
	p.b.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

// sample writes name{node="...",k1="v1",...} v; labels are pairs.
func (p *promWriter) sample(name string, v uint64, labels ...string) {
	p.b.WriteString(name)
	p.b.WriteString(`{node="` + escapeLabel(p.node) + `"`)
	for i := 0; i+1 < len(labels); i += 2 {
		p.b.WriteString("," + labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
	}
	p.b.WriteString("} " + strconv.FormatUint(v, 10) + "\n")
}

// escapeLabel escapes a label value as the exposition format asks.
func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func writeMetrics(b *bytes.Buffer, in *metricsInput) {
	p := &promWriter{b: b, node: in.node}
	st := &in.stats

	p.family("xdpgw_port_rx_frames_total", "counter", "Frames received on a port and processed by the pipeline.")
	for i, n := range in.ports {
		p.sample("xdpgw_port_rx_frames_total", st.RxFrames[i], "port", n)
	}
	p.family("xdpgw_port_tx_frames_total", "counter", "Frames transmitted on a port.")
	for i, n := range in.ports {
		p.sample("xdpgw_port_tx_frames_total", st.TxFrames[i], "port", n)
	}
	p.family("xdpgw_port_local_frames_total", "counter", "Frames for the host (not forwarded), by input port.")
	for i, n := range in.ports {
		p.sample("xdpgw_port_local_frames_total", st.Local[i], "port", n)
	}
	p.family("xdpgw_drops_total", "counter", "Frames dropped, by reason (docs/replay.md lists the reasons).")
	for r := pipeline.DropReason(1); r < pipeline.NumDropReasons; r++ {
		p.sample("xdpgw_drops_total", st.Drops[r], "reason", r.String())
	}
	p.family("xdpgw_events_total", "counter", "Things that happened to frames that were not drops (docs/replay.md).")
	for e := pipeline.Event(0); e < pipeline.NumEvents; e++ {
		p.sample("xdpgw_events_total", st.Events[e], "event", e.String())
	}

	if in.engine != nil {
		for _, c := range []struct {
			name, help string
			get        func(*portStats) uint64
		}{
			{"xdpgw_afxdp_fill_ring_empty_total", "Times a worker found no free frame to give the fill ring.", func(s *portStats) uint64 { return s.fillEmpty }},
			{"xdpgw_afxdp_tx_ring_full_total", "Frames dropped because the TX ring was full.", func(s *portStats) uint64 { return s.txRingFull }},
			{"xdpgw_afxdp_wakeups_total", "Wake-up system calls (need-wakeup).", func(s *portStats) uint64 { return s.wakeups }},
			{"xdpgw_afxdp_wakeup_errors_total", "Wake-up system calls that failed.", func(s *portStats) uint64 { return s.wakeupErrs }},
			{"xdpgw_afxdp_bad_descriptors_total", "RX or TX descriptors with a bad address or length, dropped.", func(s *portStats) uint64 { return s.badDesc }},
			{"xdpgw_afxdp_kernel_rx_dropped_total", "Kernel XDP socket statistics: rx_dropped.", func(s *portStats) uint64 { return s.kRxDropped }},
			{"xdpgw_afxdp_kernel_rx_ring_full_total", "Kernel XDP socket statistics: rx_ring_full.", func(s *portStats) uint64 { return s.kRxRingFull }},
			{"xdpgw_afxdp_kernel_fill_ring_empty_total", "Kernel XDP socket statistics: rx_fill_ring_empty_descs.", func(s *portStats) uint64 { return s.kFillEmpty }},
			{"xdpgw_afxdp_kernel_rx_invalid_total", "Kernel XDP socket statistics: rx_invalid_descs.", func(s *portStats) uint64 { return s.kRxInvalid }},
			{"xdpgw_afxdp_kernel_tx_invalid_total", "Kernel XDP socket statistics: tx_invalid_descs.", func(s *portStats) uint64 { return s.kTxInvalid }},
			{"xdpgw_afxdp_kernel_tx_ring_empty_total", "Kernel XDP socket statistics: tx_ring_empty_descs.", func(s *portStats) uint64 { return s.kTxEmpty }},
		} {
			p.family(c.name, "counter", c.help)
			for i, n := range in.ports {
				if i < len(in.engine) {
					p.sample(c.name, c.get(&in.engine[i]), "port", n)
				}
			}
		}
	}

	if s := in.sessions; s != nil {
		p.family("xdpgw_sessions_capacity", "gauge", "Sessions the shared session table holds at most.")
		p.sample("xdpgw_sessions_capacity", uint64(in.capacity))
		p.family("xdpgw_sessions_live", "gauge", "Sessions in the table (inserted minus deleted, expired and evicted).")
		gone := s.Deleted + s.Expired + s.Evicted
		live := uint64(0)
		if s.Inserted > gone {
			live = s.Inserted - gone
		}
		p.sample("xdpgw_sessions_live", live)
		p.family("xdpgw_sessions_total", "counter", "Session table operations, by outcome.")
		for _, o := range []struct {
			what string
			v    uint64
		}{
			{"inserted", s.Inserted}, {"deleted", s.Deleted}, {"expired", s.Expired}, {"evicted", s.Evicted},
			{"insert_exists", s.InsertExists}, {"insert_conflict", s.InsertConflict},
			{"insert_failed_full", s.InsertFailedFull}, {"insert_invalid", s.InsertInvalid},
			{"lookup_hit", s.LookupHit}, {"lookup_miss", s.LookupMiss},
		} {
			p.sample("xdpgw_sessions_total", o.v, "outcome", o.what)
		}
	}

	env := in.env
	if env == nil {
		return
	}
	if gw := env.Gateway; gw != nil {
		// Traffic per EIP and, summed over its EIPs, per tenant (a tenant
		// reaches the Internet only through them).
		type dirCount struct{ pkts, bytes [2]uint64 }
		tenants := make([]dirCount, len(gw.Tenants))
		eips := make([]pipeline.EIPTraffic, len(gw.EIPs))
		for i, e := range gw.EIPs {
			eips[i] = gw.EIPTraffic(i)
			if int(e.Tenant) < len(tenants) { // NewGateway checked it
				tc := &tenants[e.Tenant]
				tc.pkts[0] += eips[i].InPackets
				tc.bytes[0] += eips[i].InBytes
				tc.pkts[1] += eips[i].OutPackets
				tc.bytes[1] += eips[i].OutBytes
			}
		}
		p.family("xdpgw_eip_packets_total", "counter", "Packets forwarded through an EIP, towards its tenant (in) or from it (out), since the configuration was last loaded.")
		for i, e := range gw.EIPs {
			a, tn := netip.AddrFrom4(e.Addr).String(), gw.Tenants[e.Tenant].Name
			p.sample("xdpgw_eip_packets_total", eips[i].InPackets, "eip", a, "tenant", tn, "direction", "in")
			p.sample("xdpgw_eip_packets_total", eips[i].OutPackets, "eip", a, "tenant", tn, "direction", "out")
		}
		p.family("xdpgw_eip_bytes_total", "counter", "IP bytes forwarded through an EIP (as xdpgw_eip_packets_total).")
		for i, e := range gw.EIPs {
			a, tn := netip.AddrFrom4(e.Addr).String(), gw.Tenants[e.Tenant].Name
			p.sample("xdpgw_eip_bytes_total", eips[i].InBytes, "eip", a, "tenant", tn, "direction", "in")
			p.sample("xdpgw_eip_bytes_total", eips[i].OutBytes, "eip", a, "tenant", tn, "direction", "out")
		}
		p.family("xdpgw_tenant_packets_total", "counter", "Packets forwarded to and from a tenant (the sum over its EIPs).")
		for i := range gw.Tenants {
			p.sample("xdpgw_tenant_packets_total", tenants[i].pkts[0], "tenant", gw.Tenants[i].Name, "direction", "in")
			p.sample("xdpgw_tenant_packets_total", tenants[i].pkts[1], "tenant", gw.Tenants[i].Name, "direction", "out")
		}
		p.family("xdpgw_tenant_bytes_total", "counter", "IP bytes forwarded to and from a tenant (the sum over its EIPs).")
		for i := range gw.Tenants {
			p.sample("xdpgw_tenant_bytes_total", tenants[i].bytes[0], "tenant", gw.Tenants[i].Name, "direction", "in")
			p.sample("xdpgw_tenant_bytes_total", tenants[i].bytes[1], "tenant", gw.Tenants[i].Name, "direction", "out")
		}
		p.family("xdpgw_firewall_rule_hits_total", "counter", "Packets a tenant's rule decided (rule=\"default\": the default policy), since the rules were last loaded.")
		for i := range gw.Tenants {
			t := &gw.Tenants[i]
			ruleHits(p, t.Name, "ingress", t.Ingress)
			ruleHits(p, t.Name, "egress", t.Egress)
		}
	}
	if n := env.NAT64; n != nil && n.SYN != nil {
		p.family("xdpgw_syn_limit_dropped_total", "counter", "TCP SYNs dropped by the per-EIP SYN limit (eip=\"other\": EIPs without a limit of their own, sharing hashed buckets).")
		for _, a := range n.SYN.EIPs() {
			p.sample("xdpgw_syn_limit_dropped_total", n.SYN.Drops(a), "eip", netip.AddrFrom4(a).String())
		}
		p.sample("xdpgw_syn_limit_dropped_total", n.SYN.SharedDrops(), "eip", "other")
	}
}

func ruleHits(p *promWriter, tenant, dir string, rs *firewall.RuleSet) {
	if rs == nil {
		return
	}
	// index (the rule's position, 1-based; 0 for the default) keeps
	// series apart when names repeat or are empty.
	per, def := rs.Counters()
	for i, v := range per {
		p.sample("xdpgw_firewall_rule_hits_total", v, "tenant", tenant, "direction", dir, "rule", rs.Name(int32(i)), "index", strconv.Itoa(i+1))
	}
	p.sample("xdpgw_firewall_rule_hits_total", def, "tenant", tenant, "direction", dir, "rule", "default", "index", "0")
}
