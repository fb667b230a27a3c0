#!/bin/bash
# The gateway prototype of background.md in network namespaces, with xdpgw
# on AF_XDP in the middle and real programs around it.
#
#   xg-client (1.1.1.7)
#      | xg-c0 -- xg-gi
#   xg-gw: xdpgw run, ports internet (xg-gi, 1.1.1.1) and underlay (xg-gu, 172.168.0.1)
#      | xg-gu -- xg-u0
#   xg-under: bridge xg-br (the provider's underlay)
#      | xg-u1 -- xg-t1u             | xg-u2 -- xg-t2u
#   xg-t1: 172.168.0.11, greendpoint   xg-t2: 172.168.0.12, greendpoint
#          key 1000, 10.0.0.7              key 2000, 10.0.0.7 (the same)
#
# usage: testbed/gateway.sh up|down|test      (root; test brings it up and down)
#
# Everything created is named xg-*, removed by exact name (and the programs
# started, by PID) by `down`, which `test` runs on exit even on failure.
# Traffic stays inside these namespaces.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${XDPGW_BIN:-$ROOT/build/xdpgw}
GRE=${GREENDPOINT_BIN:-$ROOT/build/greendpoint}
RUN=${XG_RUN:-/tmp/xg-testbed}
NS="xg-client xg-gw xg-under xg-t1 xg-t2"
ME=gateway.sh
# shellcheck source=testbed/lib.sh
. "$ROOT/testbed/lib.sh"

up() {
	need_root
	down
	mkdir -p "$RUN"
	for ns in $NS; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	veth xg-c0 xg-client xg-gi xg-gw 02:00:00:00:02:07
	ip -n xg-gw link set xg-gi address 02:00:00:00:01:01
	veth xg-gu xg-gw xg-u0 xg-under 02:00:00:00:01:02
	veth xg-t1u xg-t1 xg-u1 xg-under 02:00:00:00:03:0b
	veth xg-t2u xg-t2 xg-u2 xg-under 02:00:00:00:03:0c
	ip -n xg-under link add xg-br type bridge
	ip -n xg-under link set xg-br up
	for p in xg-u0 xg-u1 xg-u2; do ip -n xg-under link set "$p" master xg-br; done

	ip -n xg-client addr add 1.1.1.7/24 dev xg-c0
	ip -n xg-client route add 2.2.2.0/24 via 1.1.1.1
	# The gateway's kernel holds the port addresses so that it answers ARP
	# (the XDP program passes ARP and traffic for these addresses to it).
	ip -n xg-gw addr add 1.1.1.1/24 dev xg-gi
	ip -n xg-gw addr add 172.168.0.1/24 dev xg-gu
	ip -n xg-t1 addr add 172.168.0.11/24 dev xg-t1u
	ip -n xg-t2 addr add 172.168.0.12/24 dev xg-t2u
	# The end hosts compute their checksums themselves: with offload on, a
	# veth hands the peer a TCP segment whose checksum is only the
	# pseudo-header part, which AF_XDP in copy mode forwards as is.
	ip netns exec xg-client ethtool -K xg-c0 tx off tso off gso off >/dev/null
	ip netns exec xg-t1 ethtool -K xg-t1u tx off tso off gso off >/dev/null
	ip netns exec xg-t2 ethtool -K xg-t2u tx off tso off gso off >/dev/null
	# Threaded NAPI for the gateway's veths (xdp-on-veth.md).
	for i in xg-gi xg-gu; do
		ip netns exec xg-gw sh -c "echo 1 > /sys/class/net/$i/threaded" 2>/dev/null || true
	done

	cat >"$RUN/gateway.yaml" <<YAML
# testbed/gateway.sh: the gateway prototype of background.md.
node: {name: xg-gw, roles: [gateway]}
ports:
  - {name: internet, interface: xg-gi, role: external, addresses: [1.1.1.1/24]}
  - {name: underlay, interface: xg-gu, role: overlay, addresses: [172.168.0.1/24]}
neighbors:
  - {port: internet, ip: 1.1.1.7, mac: "02:00:00:00:02:07"}
  - {port: underlay, ip: 172.168.0.11, mac: "02:00:00:00:03:0b"}
  - {port: underlay, ip: 172.168.0.12, mac: "02:00:00:00:03:0c"}
vrfs:
  - name: main
  - name: user1
    routes:
      - {prefix: 10.0.0.0/24, port: underlay, encap: {type: gre, key: 1000, dst: 172.168.0.11}}
      - {prefix: 0.0.0.0/0, vrf: main}
  - name: user2
    routes:
      - {prefix: 10.0.0.0/24, port: underlay, encap: {type: gre, key: 2000, dst: 172.168.0.12}}
      - {prefix: 0.0.0.0/0, vrf: main}
tenants:
  - name: user1
    gre_key: 1000
    remote: 172.168.0.11
    addresses: [10.0.0.1/24]
    eips: [{eip: 2.2.2.11, private: 10.0.0.7}]
    firewall:
      ingress:
        default: drop
        rules:
          - {name: ssh, action: accept, proto: tcp, dport: ["22"]}
          - {name: ping, action: accept, proto: icmp}
      egress:
        default: accept
        rules:
          - {name: no-ssh-out, action: drop, proto: tcp, dport: ["22"]}
  - name: user2
    gre_key: 2000
    remote: 172.168.0.12
    addresses: [10.0.0.1/24]
    eips: [{eip: 2.2.2.12, private: 10.0.0.7}]
    firewall:
      ingress:
        default: drop
        rules:
          - {name: telnet, action: accept, proto: tcp, dport: ["23"]}
          - {name: ping, action: accept, proto: icmp}
      egress:
        default: accept
        rules:
          - {name: no-telnet-out, action: drop, proto: tcp, dport: ["23"]}
api: {socket: $RUN/xdpgw.sock}
YAML
	"$BIN" config check "$RUN/gateway.yaml" >/dev/null

	ip netns exec xg-gw "$BIN" run --config "$RUN/gateway.yaml" --stats-interval 0 >"$RUN/xdpgw.log" 2>&1 &
	echo $! >"$RUN/xdpgw.pid"
	# Tenant hosts: GRE endpoints in userspace (this kernel has no GRE).
	ip netns exec xg-t1 "$GRE" --name xg-gre --local 172.168.0.11 --remote 172.168.0.1 --key 1000 \
		--addr 10.0.0.7/24 --route 1.1.1.0/24 --route 2.2.2.0/24 >"$RUN/gre1.log" 2>&1 &
	echo $! >"$RUN/gre1.pid"
	ip netns exec xg-t2 "$GRE" --name xg-gre --local 172.168.0.12 --remote 172.168.0.1 --key 2000 \
		--addr 10.0.0.7/24 --route 1.1.1.0/24 --route 2.2.2.0/24 >"$RUN/gre2.log" 2>&1 &
	echo $! >"$RUN/gre2.pid"
	# Wait for xdpgw to have its sockets up and the tunnels to exist.
	for _ in $(seq 1 50); do
		if grep -q "running" "$RUN/xdpgw.log" 2>/dev/null && grep -q "msg=ready" "$RUN/gre1.log" 2>/dev/null && grep -q "msg=ready" "$RUN/gre2.log" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$(cat "$RUN/xdpgw.pid")" 2>/dev/null; then
			log "xdpgw exited:"; cat "$RUN/xdpgw.log" >&2; return 1
		fi
		sleep 0.2
	done
	log "testbed did not come up; xdpgw log:"; cat "$RUN/xdpgw.log" >&2
	return 1
}

refuse() { # refuse DESCRIPTION COMMAND...: the command must fail
	local d=$1; shift
	if "$@" >"$RUN/last.out" 2>&1; then
		printf 'FAIL  %s (it succeeded)\n' "$d"; FAIL=$((FAIL + 1))
	else
		printf 'PASS  %s\n' "$d"; PASS=$((PASS + 1))
	fi
}

# listen NS PORT NAME: a TCP listener answering "hello from NAME", by PID.
listen() {
	ip netns exec "$1" socat -T 5 TCP-LISTEN:"$2",reuseaddr,fork SYSTEM:"echo hello from $3" >/dev/null 2>&1 &
	echo $! >"$RUN/listen-$1-$2.pid"
}

# connect NS ADDR PORT WANT: connects and expects the listener's greeting.
connect() {
	out=$(ip netns exec "$1" timeout 5 socat -T 3 - TCP:"$2":"$3",connect-timeout=2 </dev/null 2>&1) || return 1
	[ "$out" = "hello from $4" ] || { echo "got: $out"; return 1; }
}

test_all() {
	listen xg-t1 22 tenant1
	listen xg-t2 23 tenant2
	listen xg-t2 22 tenant2
	listen xg-client 22 client
	listen xg-client 23 client
	sleep 0.5
	echo "gateway prototype (background.md): xdpgw on AF_XDP, tenants behind userspace GRE"
	check  "client -> 2.2.2.11 TCP 22 reaches tenant 1 (10.0.0.7, key 1000)" connect xg-client 2.2.2.11 22 tenant1
	check  "client -> 2.2.2.12 TCP 23 reaches tenant 2 (10.0.0.7, key 2000)" connect xg-client 2.2.2.12 23 tenant2
	refuse "client -> 2.2.2.12 TCP 22 is refused by tenant 2's ingress rules" connect xg-client 2.2.2.12 22 tenant2
	refuse "tenant 1 -> client TCP 22 is blocked (egress rule)" connect xg-t1 1.1.1.7 22 client
	refuse "tenant 2 -> client TCP 23 is blocked (egress rule)" connect xg-t2 1.1.1.7 23 client
	check  "tenant 1 -> client TCP 23 is allowed (from EIP 2.2.2.11)" connect xg-t1 1.1.1.7 23 client
	check  "client pings 2.2.2.11" ip netns exec xg-client ping -c 2 -W 2 -i 0.2 2.2.2.11
	check  "client pings 2.2.2.12" ip netns exec xg-client ping -c 2 -W 2 -i 0.2 2.2.2.12
	check  "tenant 1 pings the client" ip netns exec xg-t1 ping -c 2 -W 2 -i 0.2 1.1.1.7
	check  "tenant 2 pings the gateway's overlay address 10.0.0.1" ip netns exec xg-t2 ping -c 2 -W 2 -i 0.2 10.0.0.1
	refuse "tenant 1 cannot reach tenant 2 by its EIP (ping 2.2.2.12)" ip netns exec xg-t1 ping -c 2 -W 1 -i 0.2 2.2.2.12
	refuse "tenant 1 cannot reach tenant 2 by its EIP (TCP 23)" connect xg-t1 2.2.2.12 23 tenant2
	if command -v iperf3 >/dev/null; then
		# Port 22 is the one tenant 1 admits: free it for iperf3.
		kill "$(cat "$RUN/listen-xg-t1-22.pid")" 2>/dev/null || true
		rm -f "$RUN/listen-xg-t1-22.pid"
		sleep 0.2
		ip netns exec xg-t1 iperf3 -s -p 22 -1 >/dev/null 2>&1 &
		echo $! >"$RUN/iperf3.pid"
		sleep 0.5
		if ip netns exec xg-client iperf3 -c 2.2.2.11 -p 22 -t 3 -J >"$RUN/iperf3.json" 2>&1; then
			bps=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$RUN/iperf3.json" 2>/dev/null || echo 0)
			if [ "$bps" -gt 0 ]; then
				printf 'PASS  iperf3 TCP client -> 2.2.2.11:22 through the gateway: %s Mbit/s\n' "$((bps / 1000000))"
				PASS=$((PASS + 1))
			else
				printf 'FAIL  iperf3 TCP client -> 2.2.2.11:22: no throughput reported\n'; FAIL=$((FAIL + 1)); tail -3 "$RUN/iperf3.json"
			fi
		else
			printf 'FAIL  iperf3 TCP client -> 2.2.2.11:22\n'; FAIL=$((FAIL + 1)); tail -3 "$RUN/iperf3.json"
		fi
	else
		printf 'FAIL  iperf3 not installed (testbed/deps.sh installs it)\n'; FAIL=$((FAIL + 1))
	fi
	echo "$PASS passed, $FAIL failed"
	echo "--- xdpgw counters at the end"
	kill -TERM "$(cat "$RUN/xdpgw.pid")" 2>/dev/null || true
	sleep 1
	tail -30 "$RUN/xdpgw.log"
	[ "$FAIL" -eq 0 ]
}

case "${1:-}" in
up) up ;;
down) need_root; down ;;
test)
	need_root
	trap down EXIT
	up
	test_all
	;;
*) echo "usage: $0 up|down|test" >&2; exit 2 ;;
esac
