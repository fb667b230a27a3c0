#!/usr/bin/env python3
"""Instructions per packet of a replay benchmark, under cachegrind.

usage: cgcount.py TEST_BINARY BENCH_REGEX [N1 N2 [TOP]]

Runs the benchmark (`go test -c -o replay.test ./control/replay/`) twice
under valgrind's cachegrind, with -test.benchtime N1x and N2x (default 300
and 900 iterations of a 64-packet batch, -test.cpu 1), and divides the
difference of the two runs' counts by the extra packets: the set-up
cancels out, and the figure does not depend on the machine's speed (it
does not see stalls, only instructions and simulated cache misses). Anchor
the regex to one benchmark ('^BenchmarkGatewayNewFlows$'): a benchmark
whose name merely contains it would run too and spoil the difference.
Prints instructions per packet in xdpgw/dataplane/ and in all, L1 and
last-level misses per packet, and the TOP functions by instructions.
Needs valgrind (apt-get install valgrind).
"""
import collections
import os
import re
import subprocess
import sys
import tempfile


def run(binary, bench, n, tmp):
    out = os.path.join(tmp, f"cg.{n}")
    subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--cachegrind-out-file={out}",
         binary, "-test.run", "^$", "-test.bench", bench, "-test.benchtime", f"{n}x",
         "-test.count", "1", "-test.cpu", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    counts, events, fn = collections.Counter(), None, None
    for line in open(out):
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("fn="):
            fn = line[3:].strip()
        elif line[:1].isdigit():
            for e, x in zip(events, line.split()[1:]):
                counts[(fn, e)] += int(x)
    return counts


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, bench = os.path.abspath(sys.argv[1]), sys.argv[2]
    n1 = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    n2 = int(sys.argv[4]) if len(sys.argv) > 4 else 900
    top = int(sys.argv[5]) if len(sys.argv) > 5 else 15
    with tempfile.TemporaryDirectory() as tmp:
        a, b = run(binary, bench, n1, tmp), run(binary, bench, n2, tmp)
    packets = (n2 - n1) * 64
    total, by_fn = collections.Counter(), collections.Counter()
    for k in set(a) | set(b):
        d = b[k] - a[k]
        total[k[1]] += d
        if k[1] == "Ir":
            by_fn[k[0]] += d
    dp = sum(v for f, v in by_fn.items() if f.startswith("xdpgw/dataplane/"))
    print(f"{bench}: per packet: {dp / packets:.1f} instructions in dataplane/, "
          + ", ".join(f"{e} {total[e] / packets:.2f}" for e in ["Ir", "D1mr", "D1mw", "DLmr", "DLmw"]))
    for f, v in by_fn.most_common(top):
        print(f"  {v / packets:8.1f}  {f}")


if __name__ == "__main__":
    main()
