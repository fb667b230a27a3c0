# testbed/lib.sh: what the namespace testbeds (gateway.sh, nat64.sh,
# scaleout.sh) share. Source it after setting ME (the script's name, for
# messages), RUN (the run directory: *.pid files of the programs started)
# and NS (the namespaces created, removed by exact name).

log() { printf '%s\n' "$*" >&2; }

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		log "$ME: needs root (network namespaces, XDP)"
		exit 2
	fi
}

# stop_pid FILE: stop the program whose PID FILE holds (SIGTERM, then
# SIGKILL after STOP_STEPS x 0.2 s), then remove FILE.
stop_pid() {
	local f=$1 pid
	[ -e "$f" ] || return 0
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 "${STOP_STEPS:-10}"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$f"
}

# down: every program started (by its PID file), then every namespace.
down() {
	for f in "$RUN"/*.pid; do
		[ -e "$f" ] || continue
		stop_pid "$f"
	done
	for ns in $NS; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

# veth NAME1 NS1 NAME2 NS2 [MAC1 [MAC2]]: a pair between two namespaces, up.
veth() {
	ip link add "$1" netns "$2" type veth peer name "$3" netns "$4"
	if [ -n "${5:-}" ]; then ip -n "$2" link set "$1" address "$5"; fi
	if [ -n "${6:-}" ]; then ip -n "$4" link set "$3" address "$6"; fi
	ip -n "$2" link set "$1" up
	ip -n "$4" link set "$3" up
}

PASS=0
FAIL=0
pass() { printf 'PASS  %s\n' "$1"; PASS=$((PASS + 1)); }
fail() { printf 'FAIL  %s\n' "$1"; FAIL=$((FAIL + 1)); }
check() { # check DESCRIPTION COMMAND...: the command must succeed
	local d=$1; shift
	if "$@" >"$RUN/last.out" 2>&1; then
		pass "$d"
	else
		fail "$d"; sed 's/^/        /' "$RUN/last.out" | tail -8
	fi
}
