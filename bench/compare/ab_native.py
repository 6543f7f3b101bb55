#!/usr/bin/env python3
"""Two builds of HPC's native library side by side: every configuration timed through the C ABI by one harness
(rnn_abi_time.cpp, weights frozen before the timing) linked to the base build, then to the new build, then oneDNN's
RNN primitive (onednn_rnn.cpp), A B C in every round; a round is one pass over all configurations, and each time is
the median over the rounds. For a kernel change measured before it lands: new / base is the change's effect, new /
oneDNN where it leaves HPC against the anchor.

Usage (from the repository root, both libraries built, e.g. base from a worktree of the previous commit):
  /usr/bin/python3 bench/compare/ab_native.py --base /tmp/base/build/native --new build/native --rounds 5 \\
      --out bench/results/DATE-NAME "lstm 64 100 128 128 inference" ...
Writes NAME.md and NAME.json (date, machine, commits, command, per-round times).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HARNESS = os.path.join(ROOT, "out", "bench", "rnn_abi_time")
ONEDNN = os.path.join(ROOT, "out", "bench", "onednn_rnn")


def build(new_lib):
    os.makedirs(os.path.dirname(HARNESS), exist_ok=True)
    subprocess.run(["g++", "-O2", "-std=c++17", os.path.join(ROOT, "bench", "compare", "rnn_abi_time.cpp"), "-I" + os.path.join(ROOT, "native", "include"),
                    "-L" + new_lib, "-lhpc_native", "-o", HARNESS], check=True)
    if not os.path.exists(ONEDNN):
        subprocess.run(["g++", "-O2", "-std=c++17", os.path.join(ROOT, "bench", "compare", "onednn_rnn.cpp"), "-ldnnl", "-o", ONEDNN], check=True)


def hpc_ms(lib, cfg, repeats):
    env = dict(os.environ, LD_LIBRARY_PATH=lib)
    out = subprocess.run([HARNESS] + cfg.split() + [str(repeats)], check=True, capture_output=True, text=True, env=env).stdout
    return float(out.strip().splitlines()[-1])


def onednn_ms(cfg, repeats):
    cell, b, t, i, h, mode = cfg.split()
    mode = mode.split("-")[0]  # oneDNN's run is time-major (x [T, B, I]) for a -batch-first mode too
    out = subprocess.run([ONEDNN, cell, b, t, i, h, "1", "0", mode, "2", str(repeats), "200"], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["median_ms"]


def commit_of(lib):
    """The git commit of the checkout a build directory belongs to (its CMakeCache's source directory)."""
    try:
        src = next(l.split("=", 1)[1].strip() for l in open(os.path.join(lib, "CMakeCache.txt")) if l.startswith("CMAKE_HOME_DIRECTORY"))
        return subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() + \
            (" (with uncommitted changes)" if subprocess.run(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip() else "")
    except (OSError, StopIteration):
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="build directory of the base libhpc_native.so")
    ap.add_argument("--new", required=True, help="build directory of the new libhpc_native.so")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--out", help="results path without extension (writes .md and .json)")
    ap.add_argument("configs", nargs="+", help='"CELL B T I H inference|training[-batch-first]" (batch-first: x and y [B, T, .] for HPC; oneDNN runs time-major)')
    a = ap.parse_args()
    base, new = os.path.abspath(a.base), os.path.abspath(a.new)
    build(new)
    times = {c: ([], [], []) for c in a.configs}
    for rnd in range(a.rounds):
        for c in a.configs:
            tb, tn, to = times[c]
            tb.append(hpc_ms(base, c, a.repeats))
            tn.append(hpc_ms(new, c, a.repeats))
            to.append(onednn_ms(c, a.repeats))
        print(f"round {rnd + 1} of {a.rounds} done", file=sys.stderr, flush=True)
    rows = []
    for c in a.configs:
        tb, tn, to = (statistics.median(v) for v in times[c])
        rows.append(dict(config=c, base_ms=round(tb, 4), new_ms=round(tn, 4), onednn_ms=round(to, 4), new_over_base=round(tn / tb, 3),
                         new_over_onednn=round(tn / to, 3), rounds=dict(zip(("base", "new", "onednn"), times[c]))))
        print(f"{c:34} base {tb:9.4f}  new {tn:9.4f}  oneDNN {to:9.4f} ms  new/base {tn / tb:5.3f}  new/oneDNN {tn / to:5.3f}", flush=True)
    if not a.out:
        return
    meta = dict(date=datetime.date.today().isoformat(), command=" ".join(["/usr/bin/python3", "bench/compare/ab_native.py"] + [x if " " not in x else f'"{x}"' for x in sys.argv[1:]]),
                cpu=open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t"), cores=os.cpu_count(), machine=platform.machine(),
                base=dict(lib=base, commit=commit_of(base)), new=dict(lib=new, commit=commit_of(new)), rounds=a.rounds, repeats=a.repeats,
                onednn=subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libdnnl-dev"], capture_output=True, text=True).stdout)
    with open(a.out + ".json", "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    with open(a.out + ".md", "w") as f:
        f.write(f"# Two builds of HPC side by side, {meta['date']}\n\nMachine: {meta['cpu']} ({meta['cores']} cores); oneDNN {meta['onednn']}. "
                f"Base: {meta['base']['commit']}; new: {meta['new']['commit']}. Command: `{meta['command']}`. Weights frozen before the timing; "
                f"each time the median over {a.rounds} rounds (A B C per configuration, a round a pass over all), each round the median of {a.repeats} calls.\n\n")
        f.write("| configuration | base ms | new ms | oneDNN ms | new / base | new / oneDNN |\n|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['config']} | {r['base_ms']} | {r['new_ms']} | {r['onednn_ms']} | {r['new_over_base']} | {r['new_over_onednn']} |\n")


if __name__ == "__main__":
    main()
