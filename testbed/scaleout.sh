#!/bin/bash
# System B of background.md scaled out in network namespaces: an IPv6
# client behind an upstream router running BIRD, an access tier (xdpgw,
# roles access + manager) and NAT64 servers (xdpgw, role nat64) that
# announce their VIP and pools to it by BGP, an IPv4 server with the EIP.
#
#   so-cli  2001:db8:c::7 (so-c0)
#     | so-c0 -- so-r0
#   so-rtr  BIRD (AS 64500): learns 64:ff9b::/96 from the access over BGP
#     | so-r1 fd00:1::1 -- so-aup fd00:1::2
#   so-acc  xdpgw run, roles access + manager (AS 64512): ports up (so-aup)
#           and down (so-adn, 10.20.0.1 / fd00:2::1), both role access;
#           the manager writes 100.64.0.1's Maglev table into the
#           software target over P4Runtime (loopback, in process)
#     | so-adn -- so-b6a
#   so-sw   Linux bridges: so-br6 (access + NAT64 IPv6 sides),
#           so-br4 (NAT64 IPv4 sides + IPv4 server)
#     | so-b6nN -- so-nNv6 10.20.0.1N / fd00:2::1N
#   so-natN xdpgw run, role nat64 (AS 65001), N = 1..4: VIP 100.64.0.1,
#           pool 198.51.100.16N/28, announced to the access
#     | so-nNv4 10.40.0.1N -- so-b4nN
#   so-srv  10.40.0.2 (so-s0), EIP 2.2.2.11 on lo, each pool routed back
#           to its NAT64 server
#
# usage: testbed/scaleout.sh up|down|test   (root; test brings it up and
# down itself)
#
#   test: 300 long-lived TCP connections from the client to
#         [64:ff9b::202:20b]:9000 exchanging a line every 300 ms; stop NAT64
#         server 3: exactly the connections it carried break (about 1/3);
#         start it again and open 300 new connections; add server 4: the
#         connections whose Maglev entries move to it break (about 1/4),
#         the others keep exchanging data. Prints the measured fractions
#         and the time from the BGP change to the tables written.
#
# Everything created is named so-*, removed by exact name (and the programs
# started, by PID) by `down`, which test runs on exit even on failure.
# Traffic stays inside these namespaces.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${XDPGW_BIN:-$ROOT/build/xdpgw}
RUN=${SO_RUN:-/tmp/so-testbed}
CONNS=${SO_CONNS:-300}
NS="so-cli so-rtr so-acc so-sw so-nat1 so-nat2 so-nat3 so-nat4 so-srv"
ME=scaleout.sh
STOP_STEPS=30 # xdpgw withdraws its BGP routes before it exits
# shellcheck source=testbed/lib.sh
. "$ROOT/testbed/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
VIP=100.64.0.1
DST=64:ff9b::202:20b

# offload_off NS IF...: end hosts must send complete checksums (xdpgw
# forwards frames as they are; see docs/operations.md).
offload_off() {
	local ns=$1; shift
	for i in "$@"; do ip netns exec "$ns" ethtool -K "$i" tx off tso off gso off gro off >/dev/null 2>&1 || true; done
}

mac_up=02:00:00:50:01:02
mac_dn=02:00:00:50:02:01
mac_r1=02:00:00:50:01:01
mac_s0=02:00:00:50:04:02
mac6() { echo "02:00:00:50:02:1$1"; }
mac4() { echo "02:00:00:50:04:1$1"; }

access_config() {
	cat <<YAML
# testbed/scaleout.sh: the access tier with its manager.
node: {name: so-acc, roles: [access, manager]}
ports:
  - {name: up, interface: so-aup, role: access, mac: "$mac_up", addresses: ["fd00:1::2/64", 10.1.0.2/30], vrf: so}
  - {name: down, interface: so-adn, role: access, mac: "$mac_dn", addresses: [10.20.0.1/24, "fd00:2::1/64"], vrf: so}
neighbors:
  - {port: up, ip: "fd00:1::1", mac: "$mac_r1"}
vrfs:
  - name: so
    routes:
      - {prefix: "2001:db8:c::/64", via: "fd00:1::1", port: up}
access:
  prefix: 64:ff9b::/96
  server_port: down
  vips:
    - {vip: $VIP, eips: [2.2.2.11]}
bgp:
  asn: 64512
  router_id: 10.1.0.2
  listen: 0.0.0.0:179
  peers:
    - {address: "fd00:1::1", asn: 64500}
    - {address: 10.20.0.11, asn: 65001}
    - {address: 10.20.0.12, asn: 65001}
    - {address: 10.20.0.13, asn: 65001}
    - {address: 10.20.0.14, asn: 65001}
sessions: {capacity: 4096}
api: {socket: $RUN/acc.sock}
YAML
}

nat64_config() { # nat64_config N
	local n=$1
	cat <<YAML
# testbed/scaleout.sh: NAT64 server $n.
node: {name: so-nat$n, roles: [nat64]}
ports:
  - {name: v6, interface: so-n${n}v6, role: ipv6, mac: "$(mac6 "$n")", addresses: ["fd00:2::1$n/64", 10.20.0.1$n/24], vrf: so}
  - {name: v4, interface: so-n${n}v4, role: ipv4, mac: "$(mac4 "$n")", addresses: [10.40.0.1$n/24], vrf: so}
neighbors:
  - {port: v6, ip: "fd00:2::1", mac: "$mac_dn"}
  - {port: v4, ip: 10.40.0.2, mac: "$mac_s0"}
vrfs:
  - name: so
    routes:
      - {prefix: "fd00:2::/64", port: v6}
      - {prefix: "::/0", via: "fd00:2::1", port: v6}
      - {prefix: 10.40.0.0/24, port: v4}
      - {prefix: 0.0.0.0/0, via: 10.40.0.2, port: v4}
nat64:
  prefix: 64:ff9b::/96
  vip: $VIP
  pools:
    - {prefix: 198.51.100.$((16 * n))/28, ports: 1024-65535}
bgp:
  asn: 65001
  router_id: 10.20.0.1$n
  listen: 0.0.0.0:179
  peers:
    - {address: 10.20.0.1, asn: 64512}
sessions: {capacity: 4096}
api: {socket: $RUN/nat$n.sock}
YAML
}

# start_xdpgw NAME NS CONFIG: run xdpgw in NS, wait for "xdpgw running".
start_xdpgw() {
	local name=$1 ns=$2 cfg=$3
	stop_pid "$RUN/$name.pid"
	"$BIN" config check "$cfg" >/dev/null
	ip netns exec "$ns" "$BIN" run --config "$cfg" --stats-interval 0 >"$RUN/$name.log" 2>&1 &
	echo $! >"$RUN/$name.pid"
	for _ in $(seq 1 100); do
		if grep -q "xdpgw running" "$RUN/$name.log" 2>/dev/null; then return 0; fi
		if ! kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
			log "xdpgw $name exited:"; cat "$RUN/$name.log" >&2; return 1
		fi
		sleep 0.1
	done
	log "xdpgw $name did not come up:"; cat "$RUN/$name.log" >&2
	return 1
}

# stop_xdpgw NAME: SIGTERM (the daemon withdraws its routes first), wait.
stop_xdpgw() {
	local pid
	[ -e "$RUN/$1.pid" ] || return 0
	pid=$(cat "$RUN/$1.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	stop_pid "$RUN/$1.pid"
}

nat_links() { # nat_links N: the NAT64 server's namespace and links
	local n=$1
	ip netns add "so-nat$n"
	ip -n "so-nat$n" link set lo up
	veth "so-n${n}v6" "so-nat$n" "so-b6n$n" so-sw "$(mac6 "$n")"
	veth "so-n${n}v4" "so-nat$n" "so-b4n$n" so-sw "$(mac4 "$n")"
	ip -n so-sw link set "so-b6n$n" master so-br6
	ip -n so-sw link set "so-b4n$n" master so-br4
	ip -n "so-nat$n" addr add "fd00:2::1$n/64" dev "so-n${n}v6" nodad
	ip -n "so-nat$n" addr add "10.20.0.1$n/24" dev "so-n${n}v6"
	ip -n "so-nat$n" addr add "10.40.0.1$n/24" dev "so-n${n}v4"
	ip netns exec "so-nat$n" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	# The access's MAC for the BGP session's address (static, as in the
	# configuration's neighbours).
	ip -n "so-nat$n" neigh replace 10.20.0.1 lladdr "$mac_dn" dev "so-n${n}v6" nud permanent
	offload_off "so-nat$n" "so-n${n}v6" "so-n${n}v4"
	nat64_config "$n" >"$RUN/nat$n.yaml"
}

start_nat() { start_xdpgw "nat$1" "so-nat$1" "$RUN/nat$1.yaml"; }

bird_config() {
	cat <<CONF
router id 10.1.0.1;
log "$RUN/bird.log" all;
protocol device { scan time 10; }
filter from_access6 {
	if net = 64:ff9b::/96 then accept;
	reject;
}
protocol bgp so_access6 {
	local fd00:1::1 as 64500;
	neighbor fd00:1::2 as 64512;
	hold time 9;
	connect retry time 1;
	ipv6 { import filter from_access6; export none; };
}
protocol kernel { ipv6 { export all; }; }
CONF
}

up() {
	need_root
	down
	mkdir -p "$RUN"
	rm -f "$RUN"/*.log "$RUN"/*.json
	for ns in so-cli so-rtr so-acc so-sw so-srv; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip -n so-sw link add so-br6 type bridge
	ip -n so-sw link add so-br4 type bridge
	ip -n so-sw link set so-br6 up
	ip -n so-sw link set so-br4 up
	veth so-c0 so-cli so-r0 so-rtr 02:00:00:50:00:07
	ip -n so-rtr link set so-r0 address 02:00:00:50:00:01
	veth so-r1 so-rtr so-aup so-acc "$mac_r1"
	ip -n so-acc link set so-aup address "$mac_up"
	veth so-adn so-acc so-b6a so-sw "$mac_dn"
	ip -n so-sw link set so-b6a master so-br6
	veth so-s0 so-srv so-b4s so-sw "$mac_s0"
	ip -n so-sw link set so-b4s master so-br4

	ip -n so-cli addr add 2001:db8:c::7/64 dev so-c0 nodad
	ip -n so-cli route add default via 2001:db8:c::1
	ip -n so-rtr addr add 2001:db8:c::1/64 dev so-r0 nodad
	ip -n so-rtr addr add fd00:1::1/64 dev so-r1 nodad
	ip netns exec so-rtr sysctl -qw net.ipv6.conf.all.forwarding=1
	# The access: the kernel holds the port addresses (ND, ARP, BGP);
	# forwarding is xdpgw's.
	ip -n so-acc addr add fd00:1::2/64 dev so-aup nodad
	ip -n so-acc addr add 10.1.0.2/30 dev so-aup
	ip -n so-acc addr add 10.20.0.1/24 dev so-adn
	ip -n so-acc addr add fd00:2::1/64 dev so-adn nodad
	ip netns exec so-acc sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	ip -n so-rtr neigh replace fd00:1::2 lladdr "$mac_up" dev so-r1 nud permanent
	ip -n so-srv addr add 10.40.0.2/24 dev so-s0
	ip -n so-srv addr add 2.2.2.11/32 dev lo
	ip netns exec so-srv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.so-s0.rp_filter=0
	for n in 1 2 3 4; do
		ip -n so-srv route add "198.51.100.$((16 * n))/28" via "10.40.0.1$n"
		ip -n so-srv neigh replace "10.40.0.1$n" lladdr "$(mac4 "$n")" dev so-s0 nud permanent
		nat_links "$n"
	done
	offload_off so-cli so-c0
	offload_off so-rtr so-r0 so-r1
	offload_off so-srv so-s0
	for i in so-b6a so-b4s so-b6n1 so-b6n2 so-b6n3 so-b6n4 so-b4n1 so-b4n2 so-b4n3 so-b4n4; do offload_off so-sw "$i"; done

	bird_config >"$RUN/bird.conf"
	ip netns exec so-rtr bird -f -c "$RUN/bird.conf" -s "$RUN/bird.ctl" -P "$RUN/bird.pidfile" >"$RUN/bird.out" 2>&1 &
	echo $! >"$RUN/bird.pid"
	access_config >"$RUN/acc.yaml"
	start_xdpgw acc so-acc "$RUN/acc.yaml"
	for n in 1 2 3; do start_nat "$n"; done
	wait_backends 3 30 || { log "the manager did not learn three servers"; tables >&2; return 1; }
	wait_bird || { log "BIRD did not learn 64:ff9b::/96"; ip netns exec so-rtr birdc -s "$RUN/bird.ctl" show protocols all >&2 || true; return 1; }
}

# tables: the manager's tables (GET /v1/manager/tables on the access's API).
tables() { curl -sS --max-time 2 --unix-socket "$RUN/acc.sock" http://so-acc/v1/manager/tables; }

backends() {
	tables 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["vips"][0]["backends"] or []))' 2>/dev/null || echo -1
}

pool_withdrawn() { # pool_withdrawn PREFIX: True, False or -
	tables 2>/dev/null | "$PY" -c 'import json,sys; print(([p["withdrawn"] for p in json.load(sys.stdin)["pools"] if p["prefix"] == sys.argv[1]] or ["-"])[0])' "$1" 2>/dev/null || echo -
}

wait_backends() { # wait_backends N SECONDS
	for _ in $(seq 1 $(($2 * 10))); do
		[ "$(backends)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

wait_bird() {
	for _ in $(seq 1 200); do
		ip -n so-rtr -6 route show 64:ff9b::/96 2>/dev/null | grep -q via && return 0
		sleep 0.1
	done
	return 1
}

# The connection helper: "server" echoes, for every line received, the
# peer's address (the NAT64 pool address the connection came from);
# "client" keeps N connections open, sends a line on each every interval
# and writes, twice a second, each connection's last answer time and pool
# address to a JSON status file.
write_helper() {
	cat >"$RUN/soconn.py" <<'PY'
import json, os, selectors, signal, socket, sys, time

def server(addr, port):
    sel = selectors.DefaultSelector()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port)); ls.listen(4096); ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is ls:
                c, peer = ls.accept(); c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, (peer[0] + "\n").encode())
                continue
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                sel.unregister(s); s.close(); continue
            try:
                s.send(key.data * d.count(b"\n"))
            except OSError:
                pass

def client(dst, port, n, status, interval):
    sel = selectors.DefaultSelector()
    socks, last, pool, closed, buf = [], [0.0] * n, [""] * n, [False] * n, [b""] * n
    for i in range(n):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((dst, port))
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    nxt_send = nxt_stat = time.monotonic()
    while not stop:
        now = time.monotonic()
        if now >= nxt_send:
            for i, s in enumerate(socks):
                if not closed[i]:
                    try:
                        s.send(b"x\n")
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        closed[i] = True
            nxt_send = now + interval
        if now >= nxt_stat:
            tmp = status + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"now": time.monotonic(), "last": last, "pool": pool, "closed": closed}, f)
            os.replace(tmp, status)
            nxt_stat = now + 0.5
        for key, _ in sel.select(timeout=0.05):
            i = key.data
            try:
                d = key.fileobj.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                closed[i] = True
                sel.unregister(key.fileobj)
                continue
            buf[i] += d
            while b"\n" in buf[i]:
                line, buf[i] = buf[i].split(b"\n", 1)
                pool[i] = line.decode()
                last[i] = time.monotonic()

if sys.argv[1] == "server":
    server(sys.argv[2], int(sys.argv[3]))
else:
    client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
PY
}

# stat FILE: "alive total by-server": connections answered within the
# last 1.5 s, and for each NAT64 server the alive/carried counts.
# CLASS=alive|dead prints the connection indexes of that class instead.
conn_report() {
	"$PY" - "$1" "${2:-}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
now = s["now"]
def server(p):
    try:
        return int(p.split(".")[3]) // 16
    except (IndexError, ValueError):
        return 0
alive = [i for i, t in enumerate(s["last"]) if t and now - t < 1.5 and not s["closed"][i]]
if sys.argv[2] == "pools":
    print(" ".join(str(server(p)) for p in s["pool"]))
elif sys.argv[2] == "alive":
    print(" ".join(map(str, alive)))
else:
    print(len(alive), len(s["last"]))
PY
}

start_clients() { # start_clients NAME: CONNS connections, wait until all answer
	local name=$1
	ip netns exec so-cli "$PY" "$RUN/soconn.py" client "$DST" 9000 "$CONNS" "$RUN/$name.json" 0.3 >"$RUN/$name.out" 2>&1 &
	echo $! >"$RUN/$name.pid"
	for _ in $(seq 1 300); do
		if [ -e "$RUN/$name.json" ] && [ "$(conn_report "$RUN/$name.json" | cut -d' ' -f1)" = "$CONNS" ]; then return 0; fi
		sleep 0.1
	done
	return 1
}

# snapshot FILE OUT: copy the status (alive set, pools) at this moment.
snapshot() {
	conn_report "$1" alive >"$2.alive"
	conn_report "$1" pools >"$2.pools"
}

# table_delay LOGLINE_PATTERN T0: milliseconds from T0 (epoch seconds) to
# the time of the last access log line matching the pattern, and the
# manager's own delivery-to-written time from that line.
table_delay() {
	"$PY" - "$RUN/acc.log" "$1" "$2" <<'PY'
import re, sys, datetime
pat, t0 = sys.argv[2], float(sys.argv[3])
line = None
for l in open(sys.argv[1]):
    if "manager: vip table written" in l and pat in l:
        line = l
if not line:
    print("- -"); sys.exit()
t = re.search(r"time=(\S+)", line).group(1)
ts = datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
d = re.search(r"delivery_to_written_ms=([0-9.]+)", line)
print("%.0f %s" % ((ts - t0) * 1000, d.group(1) if d else "-"))
PY
}

# compare SNAP_BEFORE STATUS: after a change, which connections still
# answer: prints "broken total carried_by_N broken_not_by_N" for server N
# (N = 0: no server is expected to take them all).
compare() {
	"$PY" - "$1" "$2" "$3" <<'PY'
import json, sys
before, status, gone = sys.argv[1], sys.argv[2], int(sys.argv[3])
pools = open(before + ".pools").read().split()
s = json.load(open(status))
now = s["now"]
alive = {i for i, t in enumerate(s["last"]) if t and now - t < 1.5 and not s["closed"][i]}
broken = [i for i in range(len(pools)) if i not in alive]
carried = [i for i, p in enumerate(pools) if int(p) == gone]
print(len(broken), len(pools), len(carried), len([i for i in broken if int(pools[i]) != gone]),
      len([i for i in carried if i in alive]))
PY
}

test_all() {
	echo "NAT64 scale-out (background.md B): client -> BIRD -> access (xdpgw access+manager) -> 3-4 NAT64 servers -> 2.2.2.11"
	write_helper
	ip netns exec so-srv "$PY" "$RUN/soconn.py" server 2.2.2.11 9000 >"$RUN/server.out" 2>&1 &
	echo $! >"$RUN/server.pid"
	sleep 0.3
	pass "BGP: the manager learned 3 NAT64 servers for $VIP; BIRD learned 64:ff9b::/96 via the access"

	# Phase 1: three servers, stop server 3.
	if ! start_clients phase1; then
		fail "$CONNS connections through 3 servers: only $(conn_report "$RUN/phase1.json" | cut -d' ' -f1) answer"
		tail -5 "$RUN/acc.log" | sed 's/^/        /'
		return
	fi
	sleep 1
	snapshot "$RUN/phase1.json" "$RUN/p1"
	read -r -a per <<<"$(tr ' ' '\n' <"$RUN/p1.pools" | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')"
	pass "$CONNS TCP connections to [$DST]:9000 open and exchanging data (per server ${per[*]})"
	t0=$(date +%s.%N)
	stop_xdpgw nat3
	if ! wait_backends 2 5; then fail "server 3 stopped: the manager still has $(backends) backends"; fi
	sleep 2.5
	read -r broken total carried other still <<<"$(compare "$RUN/p1" "$RUN/phase1.json" 3)"
	read -r wall mgr <<<"$(table_delay "backends=2" "$t0")"
	frac=$("$PY" -c "print('%.3f' % ($broken / $total))")
	if [ "$broken" -eq "$carried" ] && [ "$other" -eq 0 ] && [ "$still" -eq 0 ]; then
		pass "server 3 stopped: $broken/$total connections broke ($frac, expected ~1/3 = 0.333): exactly the $carried it carried; the others keep exchanging data"
	else
		fail "server 3 stopped: $broken/$total broke ($frac); it carried $carried; $other broke on other servers; $still of its own still answer"
	fi
	# The delays are measurements (docs/performance.md: goal within 1 s),
	# not pass/fail: a loaded machine stretches them without anything
	# being wrong. What is checked is that the tables were updated.
	if [ "$wall" != "-" ]; then
		pass "server 3 stopped: tables updated (measured: ${wall} ms after its SIGTERM, which withdraws by BGP first; manager: delivery to written ${mgr} ms)"
	else
		fail "server 3 stopped: the tables were not updated after the stop"
	fi
	sleep 1.5
	read -r alive2 _ <<<"$(conn_report "$RUN/phase1.json")"
	if [ "$alive2" -eq $((total - broken)) ]; then
		pass "server 3 stopped: the $alive2 surviving connections still exchange data 4 s later"
	else
		fail "server 3 stopped: $alive2 connections answer 4 s later, want $((total - broken))"
	fi
	stop_pid "$RUN/phase1.pid"

	# Phase 2: three servers again, new connections, add server 4.
	start_nat 3
	if ! wait_backends 3 15; then fail "server 3 restarted: the manager has $(backends) backends"; return; fi
	if ! start_clients phase2; then
		fail "$CONNS new connections through 3 servers: only $(conn_report "$RUN/phase2.json" | cut -d' ' -f1) answer"
		return
	fi
	sleep 1
	snapshot "$RUN/phase2.json" "$RUN/p2"
	read -r -a per <<<"$(tr ' ' '\n' <"$RUN/p2.pools" | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')"
	pass "server 3 back: $CONNS new connections open (per server ${per[*]})"
	t0=$(date +%s.%N)
	start_nat 4
	if ! wait_backends 4 15; then fail "server 4 added: the manager has $(backends) backends"; return; fi
	sleep 2.5
	read -r broken total _ _ _ <<<"$(compare "$RUN/p2" "$RUN/phase2.json" 0)"
	read -r wall mgr <<<"$(table_delay "backends=4" "$t0")"
	frac=$("$PY" -c "print('%.3f' % ($broken / $total))")
	ok=$("$PY" -c "print(int(abs($broken / $total - 0.25) <= 0.08))")
	if [ "$ok" = 1 ]; then
		pass "server 4 added: $broken/$total connections moved and broke ($frac, expected ~1/4 = 0.250); the other $((total - broken)) stay up"
	else
		fail "server 4 added: $broken/$total broke ($frac), expected 0.25 +- 0.08"
	fi
	echo "        server 4 added: tables updated ${wall} ms after its start (includes its BGP session coming up; manager: delivery to written ${mgr} ms)"
	if [ "$mgr" != "-" ]; then
		pass "server 4 added: manager wrote the tables (measured: ${mgr} ms after the BGP update)"
	else
		fail "server 4 added: the manager did not write the tables"
	fi
	sleep 1.5
	read -r alive2 _ <<<"$(conn_report "$RUN/phase2.json")"
	if [ "$alive2" -eq $((total - broken)) ]; then
		pass "server 4 added: the $alive2 unmoved connections still exchange data 4 s later"
	else
		fail "server 4 added: $alive2 connections answer 4 s later, want $((total - broken))"
	fi
	stop_pid "$RUN/phase2.pid"

	# Drain server 1 (SIGUSR1): its VIP and pool are withdrawn, sessions
	# stay; resume it through the API.
	kill -USR1 "$(cat "$RUN/nat1.pid")"
	if wait_backends 3 5 && [ "$(pool_withdrawn 198.51.100.16/28)" = True ]; then
		pass "server 1 drained (SIGUSR1): the manager dropped it from $VIP and saw its pool 198.51.100.16/28 withdrawn"
	else
		fail "server 1 drained (SIGUSR1): manager has $(backends) backends, pool withdrawn: $(pool_withdrawn 198.51.100.16/28)"
	fi
	if curl -sS --max-time 2 -X POST --unix-socket "$RUN/nat1.sock" http://so-nat1/v1/bgp/resume >"$RUN/resume.out" && wait_backends 4 5; then
		pass "server 1 resumed (POST /v1/bgp/resume): back in $VIP's table"
	else
		fail "server 1 resumed: manager has $(backends) backends"; sed 's/^/        /' "$RUN/resume.out"
	fi
	echo "        manager: $(tables | "$PY" -c 'import json,sys; s=json.load(sys.stdin); v=s["vips"][0]; print("vip", v["vip"], "entries", v["entries"], " ".join("%s=%d" % (b["mac"], b["entries"]) for b in v["backends"]), "stats", json.dumps(s["stats"]))')"

	# The access goes down: BIRD withdraws the /96 from the kernel.
	stop_xdpgw acc
	for _ in $(seq 1 30); do
		ip -n so-rtr -6 route show 64:ff9b::/96 | grep -q . || break
		sleep 0.1
	done
	if ip -n so-rtr -6 route show 64:ff9b::/96 | grep -q .; then
		fail "access stopped: BIRD still routes 64:ff9b::/96"
	else
		pass "access stopped: BIRD withdrew 64:ff9b::/96 (CEASE on shutdown)"
	fi
}

case "${1:-}" in
up) up ;;
down) need_root; down ;;
test)
	need_root
	trap down EXIT
	up
	test_all
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	;;
*) echo "usage: $0 up|down|test" >&2; exit 2 ;;
esac
