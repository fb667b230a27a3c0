#!/bin/bash
# On-veth benchmarks: xdpgw against the machine's XDP ceiling, the Linux
# kernel, kernel + nftables and tayga, all through one topology:
#
#   xb-gen                    xb-dut                          xb-sink
#   xb-g0 ----------------- xb-di    (the device under test)  xb-do ------------ xb-s0
#   198.18.0.7/24           198.18.0.1/24, fd00:a::1/64  198.19.0.1/24            198.19.0.2/24
#   fd00:a::2/64            xdpgw run | kernel | nft | tayga
#   `xdpgw gen` sends                                                  an XDP counter drops
#
# CPU placement (2 cores): the DUT owns CPU $DUT_CPU (1): the NAPI thread
# of xb-di (threaded NAPI, GRO on so that the NAPI instance always exists)
# and whatever forwards (xdpgw's worker with --cpus, the kernel in that NAPI
# thread, tayga with taskset). The generator's thread and the sink's NAPI
# thread (xb-s0) share CPU $GEN_CPU (0). Every case runs $RUNS times for
# $DURATION; a run's figure is the median of its 1-s samples at the sink.
#
# usage: testbed/bench.sh [all|up|down|ceiling|null|forward|gateway|nat64|kernel-loss]
#   all (default): up, every case, write the table to docs/performance.md, down
# Needs root, iproute2, ethtool, nftables, tayga (testbed/packages.txt);
# perf for the profile (skipped without it). Everything created is named
# xb-* and removed by exact name (programs by PID) on exit, even on failure.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${XDPGW_BIN:-$ROOT/build/xdpgw}
RUN=${XB_RUN:-/tmp/xb-bench}
DURATION=${DURATION:-6s}
RUNS=${RUNS:-3}
FLOWS=${FLOWS:-256}
GEN_CPU=${GEN_CPU:-0}
DUT_CPU=${DUT_CPU:-1}
DOC=${DOC:-$ROOT/docs/performance.md}
# The rate search (SEARCH=0 skips it): probes of PROBE each, a probe
# passes with at most MAX_LOSS (a fraction) of its frames lost.
SEARCH=${SEARCH:-1}
PROBE=${PROBE:-3s}
MAX_LOSS=${MAX_LOSS:-0.01}
# The benchmark's own threads (the DUT's NAPI threads, xdpgw, tayga, the
# generator) run at this nice level, so that other jobs on the machine
# (builds, CPU benchmarks) take little from a run: with equal weights a
# competing job on the DUT's CPU halved what the DUT got and the losses
# came from the scheduler, not from the DUT. With autogroup scheduling
# (sched_autogroup_enabled) nice only counts inside a session, so the
# session's autogroup gets it too for the script's lifetime (restored by
# down).
NICE=${NICE:--20}
NS="xb-gen xb-dut xb-sink"
MAC_G0=02:00:00:00:0b:01 MAC_DI=02:00:00:00:0b:02 MAC_DO=02:00:00:00:0b:03 MAC_S0=02:00:00:00:0b:04
RESULTS=$RUN/results.tsv

log() { printf '%s\n' "$*" >&2; }
dut() { ip netns exec xb-dut "$@"; }

stop_pids() {
	for f in "$RUN"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		rm -f "$f"
	done
}

down() {
	stop_pids
	if [ -f "$RUN/autogroup-nice" ]; then
		echo "$(cat "$RUN/autogroup-nice")" >/proc/$$/autogroup 2>/dev/null || true
		rm -f "$RUN/autogroup-nice"
	fi
	for ns in $NS; do ip netns del "$ns" 2>/dev/null || true; done
}

up() {
	[ "$(id -u)" -eq 0 ] || { log "bench.sh: needs root (namespaces, XDP, BPF_PROG_RUN)"; exit 2; }
	[ -x "$BIN" ] || { log "bench.sh: $BIN not built (make build)"; exit 2; }
	down
	mkdir -p "$RUN"
	if [ -w /proc/$$/autogroup ]; then
		sed -n 's/.* nice //p' /proc/$$/autogroup >"$RUN/autogroup-nice"
		echo "$NICE" >/proc/$$/autogroup 2>/dev/null || true
	fi
	for ns in $NS; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
	ip -n xb-gen link add xb-g0 address $MAC_G0 type veth peer name xb-di address $MAC_DI netns xb-dut
	ip -n xb-dut link add xb-do address $MAC_DO type veth peer name xb-s0 address $MAC_S0 netns xb-sink
	ip -n xb-gen addr add 198.18.0.7/24 dev xb-g0
	ip -n xb-gen addr add fd00:a::2/64 dev xb-g0 nodad
	ip -n xb-dut addr add 198.18.0.1/24 dev xb-di
	ip -n xb-dut addr add fd00:a::1/64 dev xb-di nodad
	ip -n xb-dut addr add 198.19.0.1/24 dev xb-do
	ip -n xb-sink addr add 198.19.0.2/24 dev xb-s0
	for l in "xb-gen xb-g0" "xb-dut xb-di" "xb-dut xb-do" "xb-sink xb-s0"; do
		set -- $l
		ip -n "$1" link set "$2" up
		# Real checksums, no segmentation (xdpgw forwards frames as they
		# are); GRO on: the veth's NAPI instance exists whether or not an
		# XDP program is attached, so its thread can be pinned once.
		ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro on >/dev/null
		ip netns exec "$1" sh -c "echo 1 > /sys/class/net/$2/threaded"
	done
	# Static neighbours: nothing in a run waits for ARP.
	ip -n xb-dut neigh replace 198.19.0.2 lladdr $MAC_S0 dev xb-do nud permanent
	ip -n xb-dut neigh replace 198.18.0.7 lladdr $MAC_G0 dev xb-di nud permanent
	ip -n xb-dut neigh replace fd00:a::2 lladdr $MAC_G0 dev xb-di nud permanent
	ip -n xb-sink route add default via 198.19.0.1
	pin_napi
	: >"$RESULTS"
	uptime >"$RUN/uptime-start"
}

# napi/IF-N threads: the DUT's inbound veth on the DUT's CPU, the rest
# (the generator's and the sink's receive paths) on the generator's, with
# SCHED_FIFO priority 10.
pin_napi() {
	ps -e -o pid=,comm= | while read -r pid comm; do
		case "$comm" in
		napi/xb-di-* | napi/xb-do-*)
			taskset -pc "$DUT_CPU" "$pid" >/dev/null
			renice -n "$NICE" -p "$pid" >/dev/null
			;;
		napi/xb-g0-* | napi/xb-s0-*)
			# Real-time priority: woken, the counter preempts the generator
			# at once. With fair scheduling it waits for the generator's
			# slice (milliseconds) and its 256-frame veth ring overflows:
			# losses at the sink that are not the DUT's (kfree_skb at
			# veth_xmit).
			taskset -pc "$GEN_CPU" "$pid" >/dev/null
			chrt -f -p 10 "$pid"
			;;
		esac
	done
}

# The DUT back to nothing: no program, no forwarding, no rules.
dut_reset() {
	stop_pids
	dut sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	dut nft delete table ip xb_bench 2>/dev/null || true
	dut ip link del xb-nat64 2>/dev/null || true
	dut ip route del 10.0.0.0/24 2>/dev/null || true
	ip -n xb-dut link set xb-di xdp off 2>/dev/null || true
	ip -n xb-dut link set xb-do xdp off 2>/dev/null || true
}

# start_xdpgw CONFIG-TEXT: xdpgw run in xb-dut, its worker on DUT_CPU.
start_xdpgw() {
	printf '%s\n' "$1" >"$RUN/xdpgw.yaml"
	"$BIN" config check "$RUN/xdpgw.yaml" >/dev/null
	nice -n "$NICE" ip netns exec xb-dut "$BIN" run --config "$RUN/xdpgw.yaml" --stats-interval 0 --cpus "$DUT_CPU" ${XDPGW_FLAGS:-} >"$RUN/xdpgw.log" 2>&1 &
	echo $! >"$RUN/xdpgw.pid"
	for _ in $(seq 1 100); do
		grep -q "xdpgw running" "$RUN/xdpgw.log" && { pin_napi; return 0; }
		kill -0 "$(cat "$RUN/xdpgw.pid")" 2>/dev/null || break
		sleep 0.1
	done
	log "bench.sh: xdpgw did not start:"; cat "$RUN/xdpgw.log" >&2
	return 1
}

# gen CASE TEMPLATE-FLAGS...: $RUNS runs of the generator flat out, the sink
# counting on xb-s0; one line per run appended to $RESULTS.
gen() {
	local name=$1; shift
	for r in $(seq 1 "$RUNS"); do
		out=$(nice -n "$NICE" "$BIN" gen -netns xb-gen -dev xb-g0 -dst-mac $MAC_DI -cpu "$GEN_CPU" -duration "$DURATION" \
			-flows "$FLOWS" -sink-netns xb-sink -sink-dev xb-s0 -json "$@")
		printf '%s\t%s\t%s\n' "$name" "$r" "$out" >>"$RESULTS"
		printf '  %-14s run %s: %s\n' "$name" "$r" "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("sent %.3f Mpps, received %.3f Mpps, loss %.1f%%" % (d["sent_pps"]/1e6, d.get("rx_pps",0)/1e6, 100*d.get("loss_fraction",0)))')" >&2
	done
}

# search CASE TEMPLATE-FLAGS...: the highest offered rate the DUT carries
# with at most $MAX_LOSS loss (xdpgw gen -search-loss: bracket from the
# case's flat-out median, then bisect; probes of $PROBE each, a failed
# probe run twice). One line "CASE-search" appended to $RESULTS.
search() {
	local name=$1; shift
	[ "$SEARCH" = 1 ] || return 0
	local hint
	hint=$(python3 - "$RESULTS" "$name" <<'EOF2'
import json, statistics, sys
v = [json.loads(l.split("\t", 2)[2]).get("rx_pps", 0) for l in open(sys.argv[1]) if l.split("\t", 1)[0] == sys.argv[2]]
print(int(max(statistics.median(v), 20000)) if v else 200000)
EOF2
)
	out=$(nice -n "$NICE" "$BIN" gen -netns xb-gen -dev xb-g0 -dst-mac $MAC_DI -cpu "$GEN_CPU" -duration "$PROBE" \
		-flows "$FLOWS" -sink-netns xb-sink -sink-dev xb-s0 -json -search-loss "$MAX_LOSS" -search-start "$hint" "$@")
	printf '%s-search\t0\t%s\n' "$name" "$out" >>"$RESULTS"
	printf '  %-14s <= %s loss: %s\n' "$name" "$MAX_LOSS" "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); b=d["best"]; print("carried %.3f Mpps (asked %.3f, sent %.3f, loss %.2f%%), %d probes" % (b["rx_pps"]/1e6, b["rate"]/1e6, b["sent_pps"]/1e6, 100*b["loss_fraction"], len(d["probes"])))')" >&2
}

UDP4="-template udp -src 198.18.0.7 -dst 198.19.0.2 -dport 9"
EIP4="-template udp -src 198.18.0.7 -dst 198.18.100.11 -dport 5001"
NAT64="-template nat64 -src fd00:a::2 -dst fd00:64::198.19.0.2 -dport 9"

case_ceiling() {
	log "== ceiling: xdpgw bench ceiling (XDP_DROP, XDP_TX) on xb-dut/xb-di"
	dut_reset
	nice -n "$NICE" "$BIN" bench ceiling -gen-netns xb-gen -gen-dev xb-g0 -dut-netns xb-dut -dut-dev xb-di \
		-cpu "$GEN_CPU" -runs "$RUNS" -duration "$DURATION" -flows "$FLOWS" -json \
		$( [ "$SEARCH" = 1 ] && echo "-search-loss $MAX_LOSS -search-duration $PROBE") >"$RUN/ceiling.json"
	python3 - "$RUN/ceiling.json" "$RESULTS" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
with open(sys.argv[2], "a") as f:
    for r in rows:
        for i, p in enumerate(r["pps"]):
            f.write("ceiling-%s\t%d\t%s\n" % (r["what"], i + 1, json.dumps({"rx_pps": p})))
        if r.get("search"):
            f.write("ceiling-%s-search\t0\t%s\n" % (r["what"], json.dumps(r["search"])))
EOF
}

FWD_CONFIG="node: {name: xb-dut, roles: [gateway]}
ports:
  - {name: a, interface: xb-di, role: external, addresses: [198.18.0.1/24]}
  - {name: b, interface: xb-do, role: external, addresses: [198.19.0.1/24]}
neighbors:
  - {port: b, ip: 198.19.0.2, mac: \"$MAC_S0\"}
  - {port: a, ip: 198.18.0.7, mac: \"$MAC_G0\"}
vrfs:
  - name: main"

# The AF_XDP ceiling: xdpgw's engine (the same sockets, shared UMEM, rings,
# worker loop and XDP program) with the null forwarder instead of the
# pipeline: rx on xb-di, MACs rewritten, tx on xb-do.
case_null() {
	log "== null: AF_XDP copy-mode forward with the null pipeline (xdpgw run --null-forward)"
	dut_reset
	XDPGW_FLAGS="${XDPGW_FLAGS:-} --null-forward" start_xdpgw "$FWD_CONFIG"
	gen fwd-null $UDP4
	search fwd-null $UDP4
	profile null
	dut_reset
}

case_forward() {
	log "== forward: xdpgw (two ports) vs the kernel (ip_forward=1)"
	dut_reset
	start_xdpgw "$FWD_CONFIG"
	gen fwd-xdpgw $UDP4
	search fwd-xdpgw $UDP4
	profile fwd
	dut_reset
	dut sysctl -qw net.ipv4.ip_forward=1
	gen fwd-kernel $UDP4
	search fwd-kernel $UDP4
}

case_gateway() {
	log "== gateway: xdpgw DNAT + GRE encap vs kernel + nftables DNAT (no GRE in this kernel)"
	dut_reset
	start_xdpgw "node: {name: xb-dut, roles: [gateway]}
ports:
  - {name: internet, interface: xb-di, role: external, addresses: [198.18.0.1/24]}
  - {name: underlay, interface: xb-do, role: overlay, addresses: [198.19.0.1/24]}
neighbors:
  - {port: internet, ip: 198.18.0.7, mac: \"$MAC_G0\"}
  - {port: underlay, ip: 198.19.0.2, mac: \"$MAC_S0\"}
vrfs:
  - name: main
  - name: user1
    routes:
      - {prefix: 10.0.0.0/24, port: underlay, encap: {type: gre, key: 1000, dst: 198.19.0.2}}
      - {prefix: 0.0.0.0/0, vrf: main}
tenants:
  - name: user1
    gre_key: 1000
    remote: 198.19.0.2
    addresses: [10.0.0.1/24]
    eips: [{eip: 198.18.100.11, private: 10.0.0.7}]"
	gen gw-xdpgw $EIP4
	search gw-xdpgw $EIP4
	profile gw
	dut_reset
	dut sysctl -qw net.ipv4.ip_forward=1
	dut ip route add 10.0.0.0/24 via 198.19.0.2 dev xb-do
	dut nft -f - <<'EOF'
table ip xb_bench {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 198.18.100.11 dnat to 10.0.0.7
	}
}
EOF
	gen gw-nft $EIP4
	search gw-nft $EIP4
	dut nft list table ip xb_bench >"$RUN/nft.txt" 2>&1 || true
}

case_nat64() {
	log "== nat64: xdpgw vs tayga (prefix fd00:64::/96)"
	dut_reset
	if command -v tayga >/dev/null; then
		mkdir -p "$RUN/tayga"
		cat >"$RUN/tayga.conf" <<EOF
tun-device xb-nat64
ipv4-addr 198.19.64.1
prefix fd00:64::/96
dynamic-pool 198.19.64.0/24
data-dir $RUN/tayga
EOF
		dut tayga -c "$RUN/tayga.conf" --mktun >/dev/null
		dut ip link set xb-nat64 up
		dut ip route add 198.19.64.0/24 dev xb-nat64
		dut ip -6 route add fd00:64::/96 dev xb-nat64
		dut sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		nice -n "$NICE" ip netns exec xb-dut taskset -c "$DUT_CPU" tayga -c "$RUN/tayga.conf" --nodetach >"$RUN/tayga.log" 2>&1 &
		echo $! >"$RUN/tayga.pid"
		sleep 0.5
		gen nat64-tayga $NAT64
		search nat64-tayga $NAT64
	else
		log "  tayga not installed: skipped"
	fi
	dut_reset
	if start_xdpgw "node: {name: xb-dut, roles: [nat64]}
ports:
  - {name: v6, interface: xb-di, role: ipv6, addresses: [\"fd00:a::1/64\"]}
  - {name: v4, interface: xb-do, role: ipv4, addresses: [198.19.0.1/24]}
neighbors:
  - {port: v4, ip: 198.19.0.2, mac: \"$MAC_S0\"}
  - {port: v6, ip: \"fd00:a::2\", mac: \"$MAC_G0\"}
vrfs:
  - name: main
nat64: {prefix: \"fd00:64::/96\", pools: [{prefix: 198.19.64.0/28}]}" 2>"$RUN/nat64-start.err"; then
		gen nat64-xdpgw $NAT64
		search nat64-xdpgw $NAT64
	else
		log "  xdpgw did not start with the NAT64 configuration (see $RUN/nat64-start.err)"
		printf 'nat64-xdpgw\t0\t{"error": "xdpgw did not start with the nat64 configuration"}\n' >>"$RESULTS"
	fi
	dut_reset
}

# profile NAME: perf of the DUT's CPU during one more generator run.
profile() {
	command -v perf >/dev/null || { log "  perf not installed: no profile"; return 0; }
	nice -n "$NICE" "$BIN" gen -netns xb-gen -dev xb-g0 -dst-mac $MAC_DI -cpu "$GEN_CPU" -duration 5s -flows "$FLOWS" \
		-sink-netns xb-sink -sink-dev xb-s0 $( [ "$1" = gw ] && echo "$EIP4" || echo "$UDP4") >"$RUN/profile-$1.gen" 2>&1 &
	local g=$!
	sleep 1
	perf record -q -g -C "$DUT_CPU" -o "$RUN/perf-$1.data" -- sleep 3 >/dev/null 2>&1 || true
	wait $g || true
	perf report -q -g none -i "$RUN/perf-$1.data" --no-children --sort comm,dso,sym --percent-limit 1.5 --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -40 >"$RUN/perf-$1.txt" || true
	perf report -q -g none -i "$RUN/perf-$1.data" --no-children --sort comm,dso --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -12 >"$RUN/perf-$1-dso.txt" || true
	log "  profile of CPU $DUT_CPU: $RUN/perf-$1.txt"
}

# kernel-loss: where the kernel router loses frames from this generator,
# with the counters that show it: the inbound veth's and the generator
# veth's counters, softnet_stat, and the kernel's drop reasons
# (skb:kfree_skb, with perf) during each run.
case_kernel_loss() {
	log "== kernel-loss: kernel forwarding fed flat out"
	local o=$RUN/kernel-loss.txt
	: >"$o"
	dut_reset
	dut sysctl -qw net.ipv4.ip_forward=1
	for setup in gro-off minimal-program restoring-program; do
		local extra=""
		case $setup in
		gro-off) dut ethtool -K xb-di gro off >/dev/null; extra="-flows 1" ;;
		minimal-program) dut ethtool -K xb-di gro on >/dev/null; pin_napi; extra="-flows 1 -minimal" ;;
		restoring-program) extra="-flows 1" ;;
		esac
		{
			echo "### $setup (gen $extra; xb-di gro $(dut ethtool -k xb-di | sed -n 's/^generic-receive-offload: //p'), threaded $(dut cat /sys/class/net/xb-di/threaded), netdev_max_backlog $(sysctl -n net.core.netdev_max_backlog))"
			ip netns exec xb-gen ethtool -S xb-g0 | grep -E 'xdp_xmit' | sed 's/^ */before xb-g0 /'
			dut ip -s link show xb-di | sed -n '4p' | sed 's/^ */before xb-di RX bytes packets errors dropped: /'
			awk '{print "before softnet cpu" NR-1 " processed=0x" $1 " dropped=0x" $2 " squeezed=0x" $3}' /proc/net/softnet_stat
		} >>"$o"
		nice -n "$NICE" "$BIN" gen -netns xb-gen -dev xb-g0 -dst-mac $MAC_DI -cpu "$GEN_CPU" -duration 3s \
			-sink-netns xb-sink -sink-dev xb-s0 $UDP4 $extra >"$RUN/kl.out" 2>&1 &
		local g=$!
		if command -v perf >/dev/null; then
			sleep 1
			perf record -q -e skb:kfree_skb -a -o "$RUN/kfree.data" -- sleep 1 >/dev/null 2>&1 || true
		fi
		wait $g || true
		{
			echo "gen: $(cat "$RUN/kl.out")"
			ip netns exec xb-gen ethtool -S xb-g0 | grep -E 'xdp_xmit' | sed 's/^ */after xb-g0 /'
			dut ip -s link show xb-di | sed -n '4p' | sed 's/^ */after xb-di RX bytes packets errors dropped: /'
			awk '{print "after softnet cpu" NR-1 " processed=0x" $1 " dropped=0x" $2 " squeezed=0x" $3}' /proc/net/softnet_stat
			if [ -f "$RUN/kfree.data" ]; then
				echo "drop reasons over 1 s (skb:kfree_skb, whole machine):"
				perf script -i "$RUN/kfree.data" 2>/dev/null | sed -n 's/.*location=\([^ ]*\).*reason: \([A-Z_]*\).*/\2 at \1/p' | sort | uniq -c | sort -rn | head -6
				rm -f "$RUN/kfree.data"
			fi
			echo
		} >>"$o"
		log "  $setup: $(cat "$RUN/kl.out")"
	done
	dut_reset
	log "  counters: $o"
}

write_table() {
	python3 - "$RESULTS" "$DOC" "$RUN" <<'EOF'
import json, os, statistics, subprocess, sys, datetime
res, doc, run = sys.argv[1], sys.argv[2], sys.argv[3]
env = os.environ
rows = {}
for line in open(res):
    name, _, js = line.rstrip("\n").split("\t", 2)
    d = json.loads(js)
    rows.setdefault(name, []).append(d)

def fig(name):
    ds = rows.get(name) or []
    v = [d["rx_pps"] for d in ds if "rx_pps" in d]
    if not v:
        return None
    return min(v), statistics.median(v), max(v), ds

def mpps(t):
    return "%.2f / %.2f / %.2f" % (t[0] / 1e6, t[1] / 1e6, t[2] / 1e6) if t else "-"

def loss(t):
    if not t or "loss_fraction" not in t[3][0] and "sent" not in t[3][0]:
        return "-"
    ls = [d.get("loss_fraction", 0) for d in t[3]]
    return "%.0f%%" % (100 * statistics.median(ls))

def ratio(a, b):
    return "%.2f" % (a[1] / b[1]) if a and b and b[1] > 0 else "-"

def srch(name):
    ds = rows.get(name + "-search") or []
    return ds[0] if ds and "best" in ds[0] else None

def best(name):
    d = srch(name)
    if d is None:
        return None
    return d["best"]["rx_pps"] if d["best"]["rate"] > 0 else 0.0

def bestcell(name):
    d = srch(name)
    if d is None:
        return "-"
    b = d["best"]
    if b["rate"] <= 0:
        return "none passed (lowest tried %.3f)" % (min(x["rate"] for x in d["probes"]) / 1e6) if d["probes"] else "-"
    c = "%.2f" % (b["rx_pps"] / 1e6)
    if d.get("gen_limited"):
        c += " (generator-limited: asked %.2f)" % (b["rate"] / 1e6)
    return c

def ratio2(name, ref):
    a, r = fig(name), fig(ref)
    f = ratio(a, r)
    ba, br = best(name), best(ref)
    g = "%.2f" % (ba / br) if ba is not None and br else "-"
    return "%s / %s" % (f, g)

drop, tx = fig("ceiling-XDP_DROP"), fig("ceiling-XDP_TX")
lines = []
p = lines.append
sh = lambda c: subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
start_load = open(os.path.join(run, "uptime-start")).read().strip() if os.path.exists(os.path.join(run, "uptime-start")) else "?"
p("<!-- on-veth:begin (written by testbed/bench.sh; edit the script, not this section) -->")
p("### Latest run")
p("")
p("Command: `make bench` (the on-veth part alone: `sudo testbed/bench.sh`), run %s." % sh("date -u '+%Y-%m-%d %H:%M UTC'"))
p("Machine: %s, %s cores (KVM guest), kernel %s, shared with other work. Load (`uptime`) at the start:"
  % (sh("lscpu | sed -n 's/^Model name: *//p'"), sh("nproc"), sh("uname -r")))
p("`%s`; at the end: `%s`. The benchmark's threads ran at nice %s (and its session's autogroup too)."
  % (start_load, sh("uptime").strip(), env.get("NICE", "-20")))
p("")
p("Flat out: each case ran %s times for %s, frames sent as fast as the generator can (2-6 Mpps); a run's figure is"
  % (env.get("RUNS", "3"), env.get("DURATION", "6s")))
p("the median of its 1-s samples of frames arriving at the sink; min / median / max over the runs, in Mpps.")
p("At <= %.0f%% loss: the highest offered rate (evenly spaced frames) that lost at most %.0f%% of its frames, found by"
  % (100 * float(env.get("MAX_LOSS", "0.01")), 100 * float(env.get("MAX_LOSS", "0.01"))))
p("`xdpgw gen -search-loss` (probes of %s, bracketing from the flat-out median and bisecting to 4%%); the figure is" % env.get("PROBE", "3s"))
p("what the sink received per second in that probe. Ratios are flat out / at <= %.0f%% loss." % (100 * float(env.get("MAX_LOSS", "0.01"))))
p("64-byte frames (60 without FCS), %s flows (source ports)." % env.get("FLOWS", "256"))
p("")
p("| case | flat out: min / median / max | loss at median | at <= 1% loss | / XDP_TX | / AF_XDP null forward | / peer | goal |")
p("|---|---:|---:|---:|---:|---:|---:|---|")
p("| ceiling: XDP_DROP on xb-di (counted there) | %s | - | %s | %s | - | - | - |" % (mpps(drop), bestcell("ceiling-XDP_DROP"), ratio2("ceiling-XDP_DROP", "ceiling-XDP_TX")))
p("| ceiling: XDP_TX on xb-di (counted back at xb-g0) | %s | - | %s | 1.00 / 1.00 | - | - | - |" % (mpps(tx), bestcell("ceiling-XDP_TX")))
cases = [
    ("fwd-null", "ceiling: AF_XDP copy-mode forward, null pipeline (xdpgw's engine, MACs only)", None, ""),
    ("fwd-xdpgw", "IPv4 forwarding: xdpgw", "fwd-kernel", ">= 0.80 of XDP_TX"),
    ("fwd-kernel", "IPv4 forwarding: Linux kernel", None, ""),
    ("gw-xdpgw", "gateway: xdpgw EIP DNAT + GRE encap", "gw-nft", ">= 3x kernel + nftables"),
    ("gw-nft", "gateway peer: kernel + nftables DNAT (no GRE: less work)", None, ""),
    ("nat64-xdpgw", "NAT64: xdpgw", "nat64-tayga", ">= 5x tayga"),
    ("nat64-tayga", "NAT64: tayga", None, ""),
]
for name, label, peer, goal in cases:
    t = fig(name)
    if t is None or (name == "nat64-xdpgw" and t[1] < 1000):
        why = "not yet: xdpgw's NAT64 data path did not translate (no frames at the sink)" if name == "nat64-xdpgw" else "not run"
        p("| %s | %s | - | - | - | - | - | %s |" % (label, why, goal))
        continue
    pr = ratio2(name, peer) if peer else "-"
    nul = ratio2(name, "fwd-null") if "xdpgw" in name or name == "fwd-null" else "-"
    p("| %s | %s | %s | %s | %s | %s | %s | %s |" % (label, mpps(t), loss(t), bestcell(name), ratio2(name, "ceiling-XDP_TX"), nul, pr, goal))
p("")
for name in ("null", "fwd", "gw"):
    f = os.path.join(run, "perf-%s-dso.txt" % name)
    if os.path.exists(f) and os.path.getsize(f) > 0:
        p("Profile of CPU %s during the %s case, flat out (`perf record -g -C %s`), by command and object, then the"
          % (env.get("DUT_CPU", "1"), name, env.get("DUT_CPU", "1")))
        p("symbols above 1.5%:")
        p("")
        p("```")
        for l in open(f).read().splitlines()[:6]:
            p(l.rstrip())
        fs = os.path.join(run, "perf-%s.txt" % name)
        if os.path.exists(fs):
            p("")
            for l in open(fs).read().splitlines()[:16]:
                p(l.rstrip())
        p("```")
        p("")
p("<!-- on-veth:end -->")
section = "\n".join(lines) + "\n"
old = open(doc).read() if os.path.exists(doc) else "# Performance\n\n"
b, e = old.find("<!-- on-veth:begin"), old.find("<!-- on-veth:end -->")
if b >= 0 and e >= 0:
    new = old[:b] + section + old[e + len("<!-- on-veth:end -->\n"):]
else:
    new = old.rstrip("\n") + "\n\n## On-veth benchmarks\n\n" + section
open(doc, "w").write(new)
print(section)
EOF
}

cmd=${1:-all}
case "$cmd" in
up) up ;;
down) down ;;
ceiling | null | forward | gateway | nat64 | kernel-loss)
	trap down EXIT
	up
	"case_${cmd//-/_}"
	;;
all)
	trap down EXIT
	up
	case_ceiling
	case_null
	case_forward
	case_gateway
	case_nat64
	case_kernel_loss
	write_table
	;;
table) write_table ;;
*) echo "usage: $0 [all|up|down|ceiling|null|forward|gateway|nat64|kernel-loss|table]" >&2; exit 2 ;;
esac
