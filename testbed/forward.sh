#!/bin/sh
# Plain IPv4/IPv6 forwarding through xdpgw on AF_XDP, three namespaces:
#
#   axdp-a (10.10.1.2/24, 2001:db8:a::2/64) axdp-a0
#        |  veth
#   axdp-ga  axdp-gw: xdpgw run, ports "a" and "b"  axdp-gb
#        |  veth
#   axdp-b (10.10.2.2/24, 2001:db8:b::2/64) axdp-b0
#
# The kernel in axdp-gw holds the port addresses (10.10.1.1, 10.10.2.1 and
# their IPv6) and answers ARP/ND, pings to them and BGP: the XDP program
# passes that traffic to it. It does not forward (ip_forward=0): every
# forwarded packet goes through xdpgw. Next-hop MACs come from the kernel's
# neighbour table through netlink; the configuration has no static ones.
#
# usage: testbed/forward.sh up|down|test [XDPGW_BINARY]
#   up    create the topology and start xdpgw (log: $WORK/xdpgw.log)
#   down  stop xdpgw and remove everything (by exact names)
#   test  up, run the checks (PASS/FAIL per line), down; exit 1 on any FAIL
#
# Needs root, iproute2, iputils-ping, iperf3 or netcat-openbsd, ethtool.
set -eu
cd "$(dirname "$0")/.."

NS_A=axdp-a NS_GW=axdp-gw NS_B=axdp-b
WORK=${WORK:-/tmp/axdp-forward}
BIN=${2:-${XDPGW:-build/xdpgw}}
PIDFILE=$WORK/xdpgw.pid

gw() { ip netns exec $NS_GW "$@"; }
in_a() { ip netns exec $NS_A "$@"; }
in_b() { ip netns exec $NS_B "$@"; }

down() {
	if [ -f "$PIDFILE" ]; then
		pid=$(cat "$PIDFILE")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$PIDFILE"
	fi
	for ns in $NS_A $NS_GW $NS_B; do
		ip netns del $ns 2>/dev/null || true
	done
}

up() {
	[ "$(id -u)" -eq 0 ] || { echo "forward.sh: needs root" >&2; exit 1; }
	[ -x "$BIN" ] || { echo "forward.sh: $BIN not built (make build)" >&2; exit 1; }
	down
	mkdir -p "$WORK"
	for ns in $NS_A $NS_GW $NS_B; do ip netns add $ns; done
	ip -n $NS_A link add axdp-a0 type veth peer name axdp-ga netns $NS_GW
	ip -n $NS_B link add axdp-b0 type veth peer name axdp-gb netns $NS_GW
	for ns in $NS_A $NS_GW $NS_B; do ip -n $ns link set lo up; done
	gw sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0

	ip -n $NS_A addr add 10.10.1.2/24 dev axdp-a0
	ip -n $NS_A addr add 2001:db8:a::2/64 dev axdp-a0 nodad
	ip -n $NS_GW addr add 10.10.1.1/24 dev axdp-ga
	ip -n $NS_GW addr add 2001:db8:a::1/64 dev axdp-ga nodad
	ip -n $NS_GW addr add 10.10.2.1/24 dev axdp-gb
	ip -n $NS_GW addr add 2001:db8:b::1/64 dev axdp-gb nodad
	ip -n $NS_B addr add 10.10.2.2/24 dev axdp-b0
	ip -n $NS_B addr add 2001:db8:b::2/64 dev axdp-b0 nodad
	for l in "$NS_A axdp-a0" "$NS_GW axdp-ga" "$NS_GW axdp-gb" "$NS_B axdp-b0"; do
		set -- $l
		ip -n $1 link set $2 up
		# xdpgw forwards frames as they are: the senders must compute
		# their checksums and segment (no TSO/GSO/checksum offload on veth).
		ip netns exec $1 ethtool -K $2 tx off tso off gso off gro off >/dev/null 2>&1 || true
	done
	ip -n $NS_A route add default via 10.10.1.1
	ip -n $NS_A -6 route add default via 2001:db8:a::1
	ip -n $NS_B route add default via 10.10.2.1
	ip -n $NS_B -6 route add default via 2001:db8:b::1

	cat >"$WORK/xdpgw.yaml" <<YAML
node:
  name: axdp-forward
  roles: [gateway]
ports:
  - name: a
    interface: axdp-ga
    role: external
    addresses: [10.10.1.1/24, "2001:db8:a::1/64"]
  - name: b
    interface: axdp-gb
    role: external
    addresses: [10.10.2.1/24, "2001:db8:b::1/64"]
api: {socket: $WORK/xdpgw.sock, metrics: "127.0.0.1:9464"}
vrfs:
  - name: main
YAML
	# Not through gw(): $! must be xdpgw itself (ip netns exec execs it),
	# not a subshell, so that down() can signal it.
	ip netns exec $NS_GW "$BIN" run --config "$WORK/xdpgw.yaml" --stats-interval "${STATS:-10s}" ${XDPGW_FLAGS:-} >"$WORK/xdpgw.log" 2>&1 &
	echo $! >"$PIDFILE"
	i=0
	until grep -q "xdpgw running" "$WORK/xdpgw.log"; do
		if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null || [ $i -ge 100 ]; then
			echo "forward.sh: xdpgw did not start:" >&2
			cat "$WORK/xdpgw.log" >&2
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

FAILS=0
check() {
	name=$1
	shift
	if "$@" >"$WORK/check.out" 2>&1; then
		echo "PASS $name"
	else
		echo "FAIL $name"
		sed 's/^/    /' "$WORK/check.out"
		FAILS=$((FAILS + 1))
	fi
}

# warm: the first packets towards a next hop the kernel has not resolved
# yet are dropped while xdpgw asks the kernel to resolve it.
warm() { "$@" >/dev/null 2>&1 || true; }

tcp_transfer() {
	if command -v iperf3 >/dev/null; then
		in_b iperf3 -s -1 -D -p 5201 -I "$WORK/iperf3.pid"
		sleep 0.3
		in_a iperf3 -c 10.10.2.2 -p 5201 -t "${IPERF_TIME:-3}" -f m >"$WORK/iperf3.out" 2>&1 || { cat "$WORK/iperf3.out"; return 1; }
		cat "$WORK/iperf3.out"
		grep -q receiver "$WORK/iperf3.out"
	else
		head -c 1000000 /dev/urandom >"$WORK/blob"
		# The listener gives up after 10 s; wait for it by PID (a bare
		# wait would also wait for xdpgw, started from this shell).
		in_b timeout 10 sh -c "nc -l -N 10.10.2.2 5201 >'$WORK/blob.out'" &
		lpid=$!
		sleep 0.3
		in_a nc -N -w 5 10.10.2.2 5201 <"$WORK/blob" || true
		wait $lpid || true
		cmp "$WORK/blob" "$WORK/blob.out"
	fi
}

ttl_expiry() {
	# ping -t 1: the echo's TTL expires at xdpgw, which answers with a time
	# exceeded from its address on the incoming port.
	out=$(in_a ping -n -c 1 -W 2 -t 1 10.10.2.2 2>&1 || true)
	echo "$out"
	echo "$out" | grep -q "From 10.10.1.1.*Time to live exceeded"
}

ttl_expiry6() {
	out=$(in_a ping -6 -n -c 1 -W 2 -t 1 2001:db8:b::2 2>&1 || true)
	echo "$out"
	echo "$out" | grep -qi "From 2001:db8:a::1.*Time exceeded"
}

forwarded() {
	# xdpgw's stats must show the frames (not the kernel forwarding).
	kill -0 "$(cat "$PIDFILE")"
}

reload_bad() {
	cp "$WORK/xdpgw.yaml" "$WORK/good.yaml"
	printf '  - name: c\n    interface: axdp-gc\n    bogus: 1\n' >>"$WORK/xdpgw.yaml"
	kill -HUP "$(cat "$PIDFILE")"
	sleep 0.5
	cp "$WORK/good.yaml" "$WORK/xdpgw.yaml"
	grep "reload refused" "$WORK/xdpgw.log" && in_a ping -n -c 2 -i 0.2 -W 1 10.10.2.2
}

reload_good() {
	# Same ports, one more route: published without dropping traffic.
	printf '    routes:\n      - {prefix: 192.0.2.0/24, via: 10.10.2.2, port: b}\n' >>"$WORK/xdpgw.yaml"
	in_a ping -n -c 10 -i 0.1 -W 1 10.10.2.2 >"$WORK/reload-ping.out" 2>&1 &
	ping_pid=$!
	sleep 0.3
	kill -HUP "$(cat "$PIDFILE")"
	wait $ping_pid || { cat "$WORK/reload-ping.out"; return 1; }
	grep "configuration reloaded" "$WORK/xdpgw.log" && grep " 0% packet loss" "$WORK/reload-ping.out"
}

xdp_reattach() {
	# Someone removes xdpgw's program: the daemon notices within its 2-s
	# health check and puts it back (logged and counted).
	ip -n "$NS_GW" link set dev axdp-ga xdpdrv off 2>/dev/null || ip -n "$NS_GW" link set dev axdp-ga xdp off
	for _ in $(seq 1 40); do
		if grep -q "XDP program re-attached" "$WORK/xdpgw.log" && ip -n "$NS_GW" link show axdp-ga | grep -q "prog/xdp"; then
			in_a ping -n -c 2 -i 0.2 -W 1 10.10.2.2
			return
		fi
		sleep 0.2
	done
	grep -i "xdp" "$WORK/xdpgw.log" | tail -5
	return 1
}

link_flap() {
	# The port's interface goes down and up under traffic: forwarding
	# resumes without a restart.
	in_a ping -n -c 30 -i 0.1 -W 1 10.10.2.2 >"$WORK/flap-ping.out" 2>&1 &
	ping_pid=$!
	sleep 0.5
	ip -n "$NS_GW" link set dev axdp-gb down
	sleep 0.5
	ip -n "$NS_GW" link set dev axdp-gb up
	wait $ping_pid || true
	kill -0 "$(cat "$PIDFILE")" || return 1
	sleep 1
	in_a ping -n -c 3 -i 0.2 -W 1 10.10.2.2
}

ctl_stats() {
	# The local API: xdpgw ctl stats shows the frames the pings above
	# sent through the daemon.
	"$BIN" ctl --socket "$WORK/xdpgw.sock" stats >"$WORK/ctl.out" || return 1
	cat "$WORK/ctl.out"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if sum(p["out"] for p in d["ports"]) > 0 else 1)' "$WORK/ctl.out"
}

metrics() {
	# The Prometheus endpoint (api.metrics), inside the daemon's
	# namespace: the pings above left frames on both ports.
	gw curl -sf http://127.0.0.1:9464/metrics >"$WORK/metrics.out" || return 1
	grep -E '^xdpgw_port_tx_frames_total\{node="axdp-forward",port="(a|b)"\} [1-9]' "$WORK/metrics.out" &&
		grep -q '^xdpgw_afxdp_kernel_rx_ring_full_total{' "$WORK/metrics.out"
}

capture_replay() {
	# Operators debug by replay: a live capture of port a during a ping,
	# run through `xdpgw replay` with the same configuration (the file
	# carries the daemon's MACs and neighbours), leaves on port b as the
	# frames did live.
	"$BIN" ctl --socket "$WORK/xdpgw.sock" capture --port a -c 3 --seconds 10 -w "$WORK/cap.pcapng" 2>"$WORK/capture.err" &
	local cpid=$!
	sleep 0.5
	in_a ping -n -c 5 -i 0.2 -W 1 10.10.2.2 >/dev/null || true
	wait $cpid || { cat "$WORK/capture.err"; return 1; }
	cat "$WORK/capture.err"
	"$BIN" replay --config "$WORK/xdpgw.yaml" --in "$WORK/cap.pcapng" >"$WORK/replay.out" 2>&1 || { cat "$WORK/replay.out"; return 1; }
	cat "$WORK/replay.out"
	awk '$1 == "a" { ina = $2 } $1 == "b" { outb = $3 } END { exit !(ina >= 3 && outb == ina) }' "$WORK/replay.out"
}

test_all() {
	up
	trap 'down' EXIT INT TERM
	warm in_a ping -n -c 2 -i 0.2 -W 1 10.10.2.2
	warm in_b ping -n -c 2 -i 0.2 -W 1 10.10.1.2
	warm in_a ping -6 -n -c 2 -i 0.2 -W 1 2001:db8:b::2
	warm in_b ping -6 -n -c 2 -i 0.2 -W 1 2001:db8:a::2
	check "ping gateway address 10.10.1.1 (kernel)" in_a ping -n -c 2 -i 0.2 -W 1 10.10.1.1
	check "ping a->b IPv4" in_a ping -n -c 3 -i 0.2 -W 1 10.10.2.2
	check "ping b->a IPv4" in_b ping -n -c 3 -i 0.2 -W 1 10.10.1.2
	check "ping a->b IPv6" in_a ping -6 -n -c 3 -i 0.2 -W 1 2001:db8:b::2
	check "ping b->a IPv6" in_b ping -6 -n -c 3 -i 0.2 -W 1 2001:db8:a::2
	check "ping a->b 1400 bytes" in_a ping -n -c 3 -i 0.2 -W 1 -s 1400 10.10.2.2
	check "TCP transfer a->b" tcp_transfer
	check "TTL expiry: time exceeded from 10.10.1.1" ttl_expiry
	check "hop limit expiry: time exceeded from 2001:db8:a::1" ttl_expiry6
	check "xdpgw still running" forwarded
	check "xdpgw ctl stats reads the daemon's counters" ctl_stats
	check "Prometheus metrics served on api.metrics" metrics
	check "xdpgw ctl capture, replayed: the frames forward as they did live" capture_replay
	check "SIGHUP with a bad config is refused, forwarding continues" reload_bad
	check "SIGHUP with a good config is applied" reload_good
	check "XDP program removed by someone else is re-attached" xdp_reattach
	check "interface down and up under traffic: forwarding resumes" link_flap
	# The summary at exit shows frames in/out per port and drops.
	pid=$(cat "$PIDFILE")
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	check "clean shutdown (XDP detached)" sh -c "! kill -0 $pid 2>/dev/null && grep -q 'XDP detached' '$WORK/xdpgw.log' && ! ip -n $NS_GW link show axdp-ga | grep -q prog/xdp"
	check "no UMEM frame leaked" sh -c "! grep -q 'UMEM frames unaccounted' '$WORK/xdpgw.log'"
	grep -E 'summary' "$WORK/xdpgw.log" || true
	if [ -f "$WORK/iperf3.out" ]; then grep -E 'sender|receiver' "$WORK/iperf3.out" || true; fi
	echo "$FAILS failure(s)"
	[ "$FAILS" -eq 0 ]
}

case "${1:-}" in
up)
	trap 'rc=$?; [ $rc -eq 0 ] || down' EXIT
	up
	echo "xdpgw running in $NS_GW (pid $(cat "$PIDFILE")), log $WORK/xdpgw.log; 'forward.sh down' removes everything"
	;;
down) down ;;
test) test_all ;;
*)
	echo "usage: $0 up|down|test [XDPGW_BINARY]" >&2
	exit 2
	;;
esac
