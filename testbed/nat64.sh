#!/bin/bash
# The NAT64 server of background.md (system B) in network namespaces, with
# xdpgw on AF_XDP in the middle and real programs around it; and tayga, the
# Debian userspace NAT64, beside it for the differential test.
#
#   n64-client  2001:db8:6::7/64 (n64-c0)          2001:db8:7::7/64 (n64-c1)
#      | n64-c0 -- n64-n6                              | n64-c1 -- n64-t6
#   n64-nat: xdpgw run, port v6 (n64-n6,            n64-tayga: tayga on TUN n64-tun,
#      2001:db8:6::1) and port v4 (n64-n4,             prefix fd00:64::/96, pool
#      192.0.2.1), pool 198.51.100.0/28                198.51.100.16/28 (diff only)
#      | n64-n4 -- n64-r0                              | n64-t4 -- n64-r2
#   n64-rtr: IPv4 router 192.0.2.2 / 192.0.4.2 / 192.0.3.1 (traceroute hop,
#      pools routed back to their NAT64, 203.0.113.0/24 blackholed for the diff)
#      | n64-r1 -- n64-s0
#   n64-srv: 192.0.3.11, EIP 2.2.2.11 on lo: HTTP (80), UDP echo (7),
#      iperf3 (5201), ICMP
#
# usage: testbed/nat64.sh up|down|test|diff   (root; test and diff bring it
# up and down themselves)
#
#   test: curl, UDP request/response, ping, iperf3, hop-limit expiry at and
#         beyond the NAT64, a SYN flood over a per-EIP limit of 100/s, then
#         the differential test against tayga (skipped without tayga);
#   diff: the differential test alone.
#
# Everything created is named n64-*, removed by exact name (and the programs
# started, by PID) by `down`, which test/diff run on exit even on failure.
# Traffic stays inside these namespaces.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${XDPGW_BIN:-$ROOT/build/xdpgw}
RUN=${N64_RUN:-/tmp/n64-testbed}
DIFF=${NAT64DIFF_BIN:-}
NS="n64-client n64-nat n64-rtr n64-srv n64-tayga"
ME=nat64.sh
# shellcheck source=testbed/lib.sh
. "$ROOT/testbed/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
SYN_RATE=100
SYN_COUNT=2000

# offload_off NS IF...: the kernel must compute every checksum itself (with
# offload on, a veth hands its peer CHECKSUM_PARTIAL segments, which AF_XDP
# in copy mode forwards as they are).
offload_off() {
	local ns=$1; shift
	for i in "$@"; do ip netns exec "$ns" ethtool -K "$i" tx off tso off gso off >/dev/null; done
}

# config PREFIX: xdpgw's configuration for the NAT64 namespace.
config() {
	cat <<YAML
# testbed/nat64.sh: the NAT64 server of background.md, prefix $1.
node: {name: n64-nat, roles: [nat64]}
ports:
  - {name: v6, interface: n64-n6, role: ipv6, addresses: ["2001:db8:6::1/64"], vrf: nat64}
  - {name: v4, interface: n64-n4, role: ipv4, addresses: [192.0.2.1/24], vrf: nat64}
neighbors:
  - {port: v6, ip: "2001:db8:6::7", mac: "02:00:00:00:04:07"}
  - {port: v6, ip: "2001:db8:6::70", mac: "02:00:00:00:04:07"}  # the diff's client (nat64diff)
  - {port: v4, ip: 192.0.2.2, mac: "02:00:00:00:05:02"}
vrfs:
  - name: nat64
    routes:
      - {prefix: "2001:db8:6::/64", port: v6}
      - {prefix: 192.0.2.0/24, port: v4}
      - {prefix: 0.0.0.0/0, via: 192.0.2.2, port: v4}
nat64:
  prefix: $1
  pools:
    - {prefix: 198.51.100.0/28, ports: 1024-65535}
  filtering: endpoint-independent
  hairpinning: true
  syn_limit:
    default: 50000
    per_eip: [{eip: 2.2.2.11, rate: $SYN_RATE}]
sessions: {capacity: 65536}
api: {socket: $RUN/xdpgw.sock}
YAML
}

# start_xdpgw PREFIX: (re)start the daemon with that prefix.
start_xdpgw() {
	stop_pid "$RUN/xdpgw.pid"
	config "$1" >"$RUN/nat64.yaml"
	"$BIN" config check "$RUN/nat64.yaml" >/dev/null
	ip netns exec n64-nat "$BIN" run --config "$RUN/nat64.yaml" --stats-interval 0 >"$RUN/xdpgw.log" 2>&1 &
	echo $! >"$RUN/xdpgw.pid"
	for _ in $(seq 1 50); do
		if grep -q "running" "$RUN/xdpgw.log" 2>/dev/null; then return 0; fi
		if ! kill -0 "$(cat "$RUN/xdpgw.pid")" 2>/dev/null; then
			log "xdpgw exited:"; cat "$RUN/xdpgw.log" >&2; return 1
		fi
		sleep 0.2
	done
	log "xdpgw did not come up:"; cat "$RUN/xdpgw.log" >&2
	return 1
}

# stop_xdpgw: SIGTERM, and wait for the summary it logs at exit.
stop_xdpgw() {
	local pid
	[ -e "$RUN/xdpgw.pid" ] || return 0
	pid=$(cat "$RUN/xdpgw.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	stop_pid "$RUN/xdpgw.pid"
}

up() {
	need_root
	down
	mkdir -p "$RUN"
	for ns in $NS; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	veth n64-c0 n64-client n64-n6 n64-nat 02:00:00:00:04:07 02:00:00:00:01:03
	veth n64-n4 n64-nat n64-r0 n64-rtr 02:00:00:00:01:04 02:00:00:00:05:02
	veth n64-r1 n64-rtr n64-s0 n64-srv 02:00:00:00:05:03 02:00:00:00:06:0b
	veth n64-c1 n64-client n64-t6 n64-tayga 02:00:00:00:04:17 02:00:00:00:07:03
	veth n64-t4 n64-tayga n64-r2 n64-rtr 02:00:00:00:07:04 02:00:00:00:05:04

	# IPv6 client: 64:ff9b::/96 through xdpgw; fd00:64::/96 through tayga.
	ip -n n64-client addr add 2001:db8:6::7/64 dev n64-c0 nodad
	ip -n n64-client addr add 2001:db8:7::7/64 dev n64-c1 nodad
	ip -n n64-client route add 64:ff9b::/96 via 2001:db8:6::1
	ip -n n64-client route add fd00:64::/96 via 2001:db8:7::1
	# The NAT64 namespace: the kernel holds the port addresses (it answers
	# ND, ARP and pings to them); forwarding is xdpgw's, not the kernel's.
	ip -n n64-nat addr add 2001:db8:6::1/64 dev n64-n6 nodad
	ip -n n64-nat addr add 192.0.2.1/24 dev n64-n4
	ip netns exec n64-nat sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	for i in n64-n6 n64-n4; do
		ip netns exec n64-nat sh -c "echo 1 > /sys/class/net/$i/threaded" 2>/dev/null || true
	done
	# The IPv4 router: one hop between the NAT64s and the server.
	ip -n n64-rtr addr add 192.0.2.2/24 dev n64-r0
	ip -n n64-rtr addr add 192.0.3.1/24 dev n64-r1
	ip -n n64-rtr addr add 192.0.4.2/24 dev n64-r2
	ip netns exec n64-rtr sysctl -qw net.ipv4.ip_forward=1
	ip -n n64-rtr route add 198.51.100.0/28 via 192.0.2.1
	ip -n n64-rtr route add 198.51.100.16/28 via 192.0.4.1
	ip -n n64-rtr route add 2.2.2.11/32 via 192.0.3.11
	ip -n n64-rtr route add blackhole 203.0.113.0/24
	# The server: EIP 2.2.2.11 on its loopback, everything back via the router.
	ip -n n64-srv addr add 192.0.3.11/24 dev n64-s0
	ip -n n64-srv addr add 2.2.2.11/32 dev lo
	ip -n n64-srv route add default via 192.0.3.1
	# tayga's namespace (the diff): its v6 and v4 links; the TUN comes later.
	ip -n n64-tayga addr add 2001:db8:7::1/64 dev n64-t6 nodad
	ip -n n64-tayga addr add 192.0.4.1/24 dev n64-t4
	ip -n n64-tayga route add default via 192.0.4.2
	ip netns exec n64-tayga sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	offload_off n64-client n64-c0 n64-c1
	offload_off n64-rtr n64-r0 n64-r1 n64-r2
	offload_off n64-srv n64-s0
	offload_off n64-tayga n64-t6 n64-t4
	# Static neighbours towards xdpgw's ports (xdpgw has its own, static,
	# in its configuration).
	ip -n n64-client neigh replace 2001:db8:6::1 lladdr 02:00:00:00:01:03 dev n64-c0 nud permanent
	ip -n n64-rtr neigh replace 192.0.2.1 lladdr 02:00:00:00:01:04 dev n64-r0 nud permanent
	# The diff's corpus comes from 2001:db8:{6,7}::70, which no host owns
	# (nothing answers what the NATs deliver there): its MAC is the client's.
	ip -n n64-tayga neigh replace 2001:db8:7::70 lladdr 02:00:00:00:04:17 dev n64-t6 nud permanent

	# Services on the server.
	mkdir -p "$RUN/www"
	echo "hello from 2.2.2.11 over NAT64" >"$RUN/www/index.html"
	ip netns exec n64-srv "$PY" -m http.server 80 --bind 2.2.2.11 --directory "$RUN/www" >"$RUN/http.log" 2>&1 &
	echo $! >"$RUN/http.pid"
	ip netns exec n64-srv socat UDP4-RECVFROM:7,bind=2.2.2.11,fork EXEC:'sed -u s/^/echo-/' >/dev/null 2>&1 &
	echo $! >"$RUN/udpecho.pid"
	start_xdpgw 64:ff9b::/96
	for _ in $(seq 1 30); do
		ip netns exec n64-srv bash -c 'exec 3<>/dev/tcp/2.2.2.11/80' 2>/dev/null && return 0
		sleep 0.2
	done
	log "HTTP server did not come up"; cat "$RUN/http.log" >&2
	return 1
}

in_client() { ip netns exec n64-client "$@"; }

http_get() {
	out=$(in_client curl -6 -sS --max-time 5 "http://[64:ff9b::202:20b]/") || return 1
	echo "$out"
	[ "$out" = "hello from 2.2.2.11 over NAT64" ]
}

udp_echo() {
	out=$(echo "ping over udp" | in_client timeout 5 socat -T 2 - "UDP6:[64:ff9b::202:20b]:7") || return 1
	echo "$out"
	[ "$out" = "echo-ping over udp" ]
}

# hop limit 1: the NAT64 itself answers time exceeded from its v6 address.
hop_at_nat64() {
	out=$(in_client ping -6 -n -c 1 -W 2 -t 1 64:ff9b::202:20b 2>&1 || true)
	echo "$out"
	echo "$out" | grep -qi "From 2001:db8:6::1.*Time exceeded"
}

# hop limit 2: TTL 1 on the IPv4 side, expiring at the router 192.0.2.2,
# whose ICMPv4 time exceeded xdpgw translates back (source 64:ff9b::c000:202).
hop_beyond_nat64() {
	out=$(in_client ping -6 -n -c 1 -W 2 -t 2 64:ff9b::202:20b 2>&1 || true)
	echo "$out"
	echo "$out" | grep -qi "From 64:ff9b::c000:202.*Time exceeded"
}

iperf() {
	ip netns exec n64-srv iperf3 -s -1 -B 2.2.2.11 >/dev/null 2>&1 &
	echo $! >"$RUN/iperf3.pid"
	sleep 0.5
	if ! in_client iperf3 -6 -c 64:ff9b::202:20b -t 3 -J >"$RUN/iperf3.json" 2>&1; then
		fail "iperf3 -6 TCP client -> [64:ff9b::202:20b]:5201"; tail -3 "$RUN/iperf3.json"
		return
	fi
	bps=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$RUN/iperf3.json" 2>/dev/null || echo 0)
	if [ "$bps" -gt 0 ]; then
		pass "iperf3 -6 TCP client -> [64:ff9b::202:20b]:5201 through the NAT64: $((bps / 1000000)) Mbit/s"
	else
		fail "iperf3 -6: no throughput reported"; tail -3 "$RUN/iperf3.json"
	fi
	stop_pid "$RUN/iperf3.pid"
}

# xdpgw ctl sessions lists what the checks above left: the client's TCP
# session to 2.2.2.11:80 (curl) and its UDP one to port 7 (socat).
sessions_listed() {
	out=$("$BIN" ctl --socket "$RUN/xdpgw.sock" sessions --kind nat64 --addr 2001:db8:6::7 2>&1) || { echo "$out"; return 1; }
	echo "$out" | grep -q "tcp .*\[2001:db8:6::7\]:[0-9]* -> 2.2.2.11:80 as 198.51.100" &&
		echo "$out" | grep -q "udp .*\[2001:db8:6::7\]:[0-9]* -> 2.2.2.11:7 as 198.51.100" || { echo "$out"; return 1; }
}

# The SYN flood: SYN_COUNT SYNs to 2.2.2.11 (limit SYN_RATE/s, a bucket of
# one second's worth that starts full) in D seconds: about
# SYN_COUNT - SYN_RATE*(1+D) are dropped.
syn_flood() {
	sleep 1.2 # let the bucket fill after the connections above
	if ! out=$("$DIFF" flood -netns n64-client -dev n64-c0 -dst-mac 02:00:00:00:01:03 \
		-src 2001:db8:6::7 -dst 64:ff9b::202:20b -count "$SYN_COUNT" 2>&1); then
		fail "SYN flood: sending failed"; echo "$out"
		return
	fi
	echo "        $out"
	secs=$(echo "$out" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
	stop_xdpgw
	drops=$(sed -n 's/.*summary drops.* syn_limit=\([0-9]*\).*/\1/p' "$RUN/xdpgw.log" | tail -1)
	drops=${drops:-0}
	# Passed: at most the full bucket plus the refill during the flood (a
	# little slack for the ms clock); at least the full bucket.
	lo=$("$PY" -c "import math,sys; print($SYN_COUNT - $SYN_RATE - math.ceil($SYN_RATE*$secs) - 2)")
	hi=$((SYN_COUNT - SYN_RATE))
	if [ "$drops" -ge "$lo" ] && [ "$drops" -le "$hi" ]; then
		pass "SYN flood: $SYN_COUNT SYNs in ${secs}s over a limit of $SYN_RATE/s: syn_limit=$drops dropped (expected $lo..$hi)"
	else
		fail "SYN flood: syn_limit=$drops dropped, expected $lo..$hi"
		grep "summary" "$RUN/xdpgw.log" | sed 's/^/        /'
	fi
}

# tayga on its TUN in n64-tayga: prefix fd00:64::/96, pool 198.51.100.16/28.
start_tayga() {
	mkdir -p "$RUN/tayga"
	cat >"$RUN/tayga.conf" <<CONF
tun-device n64-tun
ipv4-addr 192.0.5.1
prefix fd00:64::/96
dynamic-pool 198.51.100.16/28
data-dir $RUN/tayga
CONF
	ip netns exec n64-tayga tayga -c "$RUN/tayga.conf" --mktun >/dev/null
	ip -n n64-tayga link set n64-tun up
	ip -n n64-tayga route add fd00:64::/96 dev n64-tun
	ip -n n64-tayga route add 198.51.100.16/28 dev n64-tun
	ip -n n64-tayga route add 192.0.5.1/32 dev n64-tun
	ip netns exec n64-tayga tayga -c "$RUN/tayga.conf" --nodetach >"$RUN/tayga.log" 2>&1 &
	echo $! >"$RUN/tayga.pid"
	sleep 0.3
	kill -0 "$(cat "$RUN/tayga.pid")" 2>/dev/null || { log "tayga exited:"; cat "$RUN/tayga.log" >&2; return 1; }
}

build_diff() {
	if [ -z "$DIFF" ]; then
		DIFF=$RUN/nat64diff
		(cd "$ROOT" && go build -o "$DIFF" ./tools/nat64diff)
	fi
}

run_diff() {
	if ! command -v tayga >/dev/null; then
		echo "SKIP  differential test against tayga: tayga not installed (testbed/deps.sh installs it)"
		return
	fi
	start_tayga
	start_xdpgw fd00:64::/96
	if "$DIFF" diff ${NAT64DIFF_FLAGS:-} >"$RUN/diff.out" 2>&1; then
		sed 's/^/        /' "$RUN/diff.out"
		pass "differential test against tayga: $(tail -1 "$RUN/diff.out")"
	else
		sed 's/^/        /' "$RUN/diff.out"
		fail "differential test against tayga: $(tail -1 "$RUN/diff.out")"
	fi
	stop_xdpgw
	grep "summary drops\|summary events" "$RUN/xdpgw.log" | sed 's/^/        /' || true
}

test_all() {
	echo "NAT64 (background.md B): IPv6 client -> xdpgw on AF_XDP -> IPv4 server 2.2.2.11"
	check "curl -6 http://[64:ff9b::202:20b]/ (TCP 80 on 2.2.2.11)" http_get
	check "UDP request/response: socat UDP6 [64:ff9b::202:20b]:7" udp_echo
	check "ping -6 64:ff9b::202:20b (ICMPv6 echo <-> ICMP echo)" in_client ping -6 -n -c 3 -i 0.2 -W 2 64:ff9b::202:20b
	check "hop limit 1: time exceeded from the NAT64 (2001:db8:6::1)" hop_at_nat64
	check "hop limit 2: router 192.0.2.2's time exceeded translated (from 64:ff9b::c000:202)" hop_beyond_nat64
	check "xdpgw ctl sessions: the client's TCP and UDP sessions with their pool address" sessions_listed
	iperf
	syn_flood
	run_diff
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

case "${1:-}" in
up) up ;;
down) need_root; down ;;
test)
	need_root
	trap down EXIT
	build_diff
	up
	test_all
	;;
diff)
	need_root
	trap down EXIT
	build_diff
	up
	run_diff
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	;;
*) echo "usage: $0 up|down|test|diff" >&2; exit 2 ;;
esac
