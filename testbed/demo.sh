#!/bin/sh
# make demo: generate a capture of the prototypes' traffic (tools/democap,
# from the embedded default configuration), replay it through xdpgw's
# pipeline and show what came out. Needs no root and creates nothing
# outside build/.
set -eu
cd "$(dirname "$0")/.."
BIN=build/xdpgw
OUT=build/demo
rm -rf "$OUT"
mkdir -p "$OUT"

echo "== the demo capture (tools/democap): what each frame is meant to show"
go run ./tools/democap -o "$OUT/in.pcapng" -list

echo
echo "== xdpgw replay on the embedded default configuration (xdpgw config default)"
"$BIN" replay --in "$OUT/in.pcapng" --out "$OUT/out.pcapng" --out-dir "$OUT/ports" -v

echo
echo "== what each port sent (tcpdump -r $OUT/ports/PORT.pcap)"
for f in "$OUT"/ports/*.pcap; do
	[ -e "$f" ] || continue
	echo "-- $(basename "$f" .pcap)"
	if command -v tcpdump >/dev/null 2>&1; then
		tcpdump -nn -e -r "$f" 2>/dev/null | sed 's/^/   /'
	else
		echo "   (tcpdump not installed)"
	fi
done
echo
echo "Files: $OUT/in.pcapng (input), $OUT/out.pcapng (all output, one interface per port), $OUT/ports/ (one pcap per port)."

echo
if [ "$(id -u)" -eq 0 ]; then
	echo "== the gateway prototype live: xdpgw on AF_XDP in network namespaces (testbed/gateway.sh test)"
	XDPGW_BIN="$PWD/$BIN" GREENDPOINT_BIN="$PWD/build/greendpoint" ./testbed/gateway.sh test
else
	echo "== skipped the live gateway testbed: it needs root (sudo make demo)"
fi
