#!/usr/bin/env python3
"""Alternates builds of bench/compare/packed_gemm_probe.cpp (A B A B, the order reversed every other round) at one
shape and prints each one's median time and the median of its per-round ratio to the first.
Usage: packed_gemm_ab.py ROUNDS THREADS "M N K" /tmp/probe_A /tmp/probe_B ..."""
import re
import statistics
import subprocess
import sys

rounds, threads, shape, probes = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(), sys.argv[4:]
times = {p: [] for p in probes}
cpus = "0" if threads == "1" else "0,1"
for r in range(rounds):
    for p in probes if r % 2 == 0 else probes[::-1]:
        out = subprocess.run(["taskset", "-c", cpus, p, *shape, "3", threads, "0.25"], capture_output=True, text=True, check=True).stdout
        times[p].append(float(re.search(r"med ([0-9.]+)", out).group(1)))
for p in probes:
    ratios = [x / y for x, y in zip(times[p], times[probes[0]])]
    print(f"{' '.join(shape)} threads {threads} {p}: median {statistics.median(times[p]):.4f} ms, fastest {min(times[p]):.4f}, "
          f"ratio to {probes[0]} {statistics.median(ratios):.3f}")
