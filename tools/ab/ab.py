#!/usr/bin/env python3
"""Interleaved A/B runs of one benchmark in two test binaries.

usage: ab.py BENCH_REGEX ROUNDS BINARY_A BINARY_B [BENCHTIME]

This VM's speed drifts 2-3x within minutes, so two builds are compared by
alternating them (A B, then B A, ...) in the same minutes, never by figures
taken at different times. Build the binaries with `go test -c -o a.test
./control/replay/` at each commit. Each run is `-test.run '^$' -test.bench
BENCH_REGEX -test.benchtime BENCHTIME -test.cpu 1` (default 1s; a fixed
count such as 20000x keeps benchmarks that fill a table comparable: with a
time, the faster build runs more iterations into a fuller table). Prints,
per binary and benchmark, the minimum and the median of each metric the
benchmark reports (ns/op, ns/pkt, Mpps, ...).
"""
import re
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    bench, rounds, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    benchtime = sys.argv[5] if len(sys.argv) > 5 else "1s"
    res = {a: {}, b: {}}
    start = time.strftime("%H:%M:%S", time.gmtime())
    for r in range(rounds):
        for binary in (a, b) if r % 2 == 0 else (b, a):
            out = subprocess.run(
                [binary, "-test.run", "^$", "-test.bench", bench, "-test.benchtime", benchtime, "-test.cpu", "1"],
                capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                f = line.split()
                if not f or not f[0].startswith("Benchmark") or len(f) < 4:
                    continue
                for i in range(2, len(f) - 1, 2):
                    if re.fullmatch(r"[\d.]+", f[i]):
                        res[binary].setdefault((f[0], f[i + 1]), []).append(float(f[i]))
    end = time.strftime("%H:%M:%S", time.gmtime())
    print(f"{start}-{end} UTC, {rounds} rounds, -test.benchtime {benchtime}")
    for binary in (a, b):
        for (name, unit), v in sorted(res[binary].items()):
            print(f"{binary}  {name}  {unit}: min {min(v):.4g} median {statistics.median(v):.4g} (n={len(v)})")


if __name__ == "__main__":
    main()
