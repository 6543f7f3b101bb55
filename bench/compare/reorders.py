#!/usr/bin/env python3
"""HPC against oneDNN in training with oneDNN's weight reorders outside and inside the timing.

Issue 5's rule (compare.py) reorders oneDNN's weights once, outside the timed region; compare.py times HPC the same
way (frozen weights, packed before the timing). A training loop whose optimizer updates the weights in the user's
layout after every step pays those preparations on every step, with either library. This script measures, side by
side in one run (A B C D alternation, rounds as passes over the configurations, each time the median over the
rounds), both ways for both: HPC on frozen weights and HPC packing on every call, oneDNN as compare.py times it and
oneDNN with its four weight reorders (ldigo into the forward's and the backward's layouts) inside every timed step.

Usage: /usr/bin/python3 bench/compare/reorders.py [--rounds 3] [--repeats 7]
Writes bench/results/<date>-onednn-reorders.{json,md}.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (sets OPENBLAS_NUM_THREADS, paths and the timing helpers)


def configs():
    cfg = []
    for cell in ("lstm", "gru", "rnn_tanh"):
        for b in (16, 64):
            for h in (512, 1024):
                cfg.append(dict(cell=cell, batch=b, seq=25, input=h, hidden=h, layers=1, bidirectional=False))
    return cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    compare.build(use_onednn=True)
    cfg = configs()
    times = {i: ([], [], [], []) for i in range(len(cfg))}
    for rnd in range(a.rounds):
        for i, c in enumerate(cfg):
            hf, h, o, r = times[i]
            hf.append(compare.hpc_time(c, "training", a.warmup, a.repeats)["median_ms"])
            h.append(compare.hpc_time(c, "training", a.warmup, a.repeats, frozen=False)["median_ms"])
            o.append(compare.onednn_time(c, "training", a.warmup, a.repeats))
            r.append(compare.onednn_time(c, "training", a.warmup, a.repeats, reorders=True))
            assert o[-1] is not None and r[-1] is not None, c  # every configuration here is one the harness runs
        print(f"round {rnd + 1} of {a.rounds} done", file=sys.stderr, flush=True)
    rows = []
    for i, c in enumerate(cfg):
        hf, h, o, r = (statistics.median(v) for v in times[i])
        rows.append(dict(c, mode="training", hpc_frozen_ms=round(hf, 4), hpc_ms=round(h, 4), onednn_ms=round(o, 4), onednn_reorders_ms=round(r, 4),
                         hpc_difference_ms=round(h - hf, 4), difference_ms=round(r - o, 4), onednn_over_hpc_frozen=round(o / hf, 3),
                         onednn_reorders_over_hpc=round(r / h, 3)))
        print(f"{c['cell']:8} B{c['batch']:<3} T{c['seq']:<4} H{c['hidden']:<5} training  hpc frozen {hf:9.3f}  hpc {h:9.3f}  "
              f"onednn {o:9.3f}  onednn+reorders {r:9.3f} ms", flush=True)
    date = datetime.date.today().isoformat()
    meta = dict(date=date, command=" ".join(["/usr/bin/python3", "bench/compare/reorders.py"] + sys.argv[1:]),
                cpu=open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t") if os.path.exists("/proc/cpuinfo") else "",
                machine=platform.machine(), cores=os.cpu_count(),
                onednn=subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libdnnl-dev"], capture_output=True, text=True).stdout,
                rounds=a.rounds, repeats=a.repeats)
    base = os.path.join(compare.ROOT, "bench", "results", f"{date}-onednn-reorders")
    with open(base + ".json", "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(f"# HPC vs oneDNN training, weight reorders outside and inside the timing, {date}\n\n")
        f.write(f"Machine: {meta['cpu']} ({meta['cores']} cores); oneDNN {meta['onednn']}. Command: `{meta['command']}` "
                f"({a.rounds} rounds, each a pass over the configurations, A B C D alternation; median over the rounds of "
                f"each call's median of {a.repeats}). Weights prepared outside the timing (issue 5's rule, as in compare.py): "
                "\"HPC frozen\" packs them once (`--frozen-weights`), \"oneDNN\" reorders them once. Inside every timed "
                "training step, as a loop that updates the weights in the user's layout after each step must: \"HPC\" "
                "packs them on every call, \"oneDNN + reorders\" reorders them from ldigo into the forward's and the "
                "backward's layouts. Differences are of two medians, noise included.\n\n")
        f.write("| cell | B | T | H | HPC frozen ms | oneDNN ms | oneDNN / HPC frozen | HPC ms | oneDNN + reorders ms | (oneDNN + reorders) / HPC | HPC difference ms | oneDNN difference ms |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        for x in rows:
            f.write(f"| {x['cell']} | {x['batch']} | {x['seq']} | {x['hidden']} | {x['hpc_frozen_ms']} | {x['onednn_ms']} | {x['onednn_over_hpc_frozen']} | "
                    f"{x['hpc_ms']} | {x['onednn_reorders_ms']} | {x['onednn_reorders_over_hpc']} | {x['hpc_difference_ms']} | {x['difference_ms']} |\n")
    print(f"wrote {os.path.relpath(base, compare.ROOT)}.{{json,md}}", file=sys.stderr)


if __name__ == "__main__":
    main()
