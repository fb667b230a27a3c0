#!/bin/sh
# Installs what xdpgw's build, tests and testbeds need on a fresh Debian
# machine: Debian packages (only those missing, only as root) and the Go
# modules pinned in go.mod.
set -eu
cd "$(dirname "$0")/.."

# Packages, one per line in testbed/packages.txt (comments with #).
missing=""
for p in $(sed 's/#.*//' testbed/packages.txt); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "deps: installing Debian packages:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q $missing >/dev/null 2>&1 || {
			apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null
		}
	else
		echo "deps: not root, not installing Debian packages:$missing (root-only tests will skip)"
	fi
fi

go mod download
