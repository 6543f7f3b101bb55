#!/usr/bin/python3
"""Prints the README's benchmark section from the recorded comparison results.

Usage: /usr/bin/python3 bench/compare/summarize.py [DATE [MACHINE [SEEDS_SUFFIX [DEEPBENCH_SUFFIX]]]]   (default: the
newest seeds result; MACHINE describes the CPU beyond the results' "cpu" field, e.g. "Zen 3, AVX2, no AVX-512"; the
suffixes name renamed result files, DATE-compare-seeds{SEEDS_SUFFIX}.json and DATE-compare-deepbench{DEEPBENCH_SUFFIX}.json,
e.g. "-zen4-4286882"; the second defaults to the first)
"""
import glob
import json
import os
import statistics
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load(name, date, suffix=""):
    return json.load(open(os.path.join(ROOT, "bench", "results", f"{date}-compare-{name}{suffix}.json")))


def g(rows, key):
    return round(statistics.geometric_mean([r[key] for r in rows]), 2)


def main():
    date = sys.argv[1] if len(sys.argv) > 1 else sorted(glob.glob(os.path.join(ROOT, "bench", "results", "*-compare-seeds.json")))[-1].split(os.sep)[-1][:10]
    seeds_suffix = sys.argv[3] if len(sys.argv) > 3 else ""
    s, d = load("seeds", date, seeds_suffix), load("deepbench", date, sys.argv[4] if len(sys.argv) > 4 else seeds_suffix)
    sr, dr = s["rows"], d["rows"]
    m = s["meta"]
    core = m["blas"].split(" core=")[1].split(" ")[0]
    def rates(meta):
        by_kernel = meta.get("sgemm_2048_by_kernel", {})
        return ", ".join(f"{name} {by_kernel[k]}" for k, name in (("hpc", "HPC's own"), ("blas", f"OpenBLAS ({core} kernels)"), ("onednn", "oneDNN's")) if k in by_kernel)
    dm = d["meta"]
    cmd = lambda meta: meta["command"].replace("/usr/bin/python3 bench/compare/compare.py ", "")
    rows50 = [r for r in sr if r["seq"] == 50 and r["hidden"] == 50]
    sel = [r for r in dr if r["cell"] == "lstm" and r["hidden"] == 1024 and r["seq"] == 100]
    by_h = {h: [r for r in sr if r["hidden"] == h] for h in (10, 20, 50)}
    by_b = {b: [r for r in dr if r["batch"] == b] for b in (1, 16, 64)}
    yes = lambda r: "yes" if r["meets_target"] else "no"
    tr = [r for r in sr + dr if r["mode"] == "training"]
    weights = ("HPC runs on frozen weights (`--frozen-weights`: packed once before the timing, as the oneDNN harness reorders its "
               "weights outside it); training is also timed packing its weights on every call, as a loop that updates them "
               f"after every step must (oneDNN would then reorder on every step too): {sum(r['packing_meets_target'] for r in tr)} "
               f"of those {len(tr)} training times meet the target. ")
    machine = f"{m['cpu']}, {sys.argv[2]}" if len(sys.argv) > 2 else m['cpu']
    out = [f"Measured {date} on this project's machine kind ({machine}, {m['cores']} cores), side by side in one run with A B C",
           f"alternation: HPC, PyTorch {m['torch']} (one intra-op thread, OpenBLAS with two) and oneDNN {m['onednn']}'s RNN primitive.",
           f"HPC runs its float32 layers on its own GEMM kernel and thread team; PyTorch uses the machine's OpenBLAS as configured",
           f"there ({core} kernels); oneDNN its own JIT kernels for the CPU. " + weights + f"SGEMM 2048³ in each run, GFLOP/s: {rates(m)} (seeds);",
           f"{rates(dm)} (DeepBench); each run's GEMM limit uses its fastest ({m['sgemm_2048_gflops']}, {dm['sgemm_2048_gflops']}). Commands:",
           f"`/usr/bin/python3 bench/compare/compare.py {cmd(m)}` and `{cmd(dm)}`",
           "(each round a pass over the whole grid, each measurement after at least 200 ms of warm-up); the extra grid",
           "(stacked, bidirectional) is in `bench/results/`;",
           "this section is printed by `bench/compare/summarize.py`. Target (issue 5): HPC at most max(min(oneDNN, PyTorch / 2),",
           "GEMM FLOPs at 90 % of the SGEMM rate). Full tables and method: `bench/results/`, `bench/README.md`.", "",
           "Seeds' sizes, batch 32, input 10, T = 50, H = 50, float32:", "",
           "| cell | mode | HPC ms | PyTorch ms | oneDNN ms | target ms | met |", "|---|---|---|---|---|---|---|"]
    out += [f"| {r['cell']} | {r['mode']} | {r['hpc_ms']} | {r['torch_ms']} | {r['onednn_ms']} | {r['target_ms']} | {yes(r)} |" for r in rows50]
    out += ["", f"All 54 seed configurations: {sum(r['meets_target'] for r in sr)} meet the target; HPC is {g(sr, 'speedup_vs_torch')}x faster than PyTorch and runs at",
            f"{g(sr, 'speedup_vs_onednn')}x oneDNN's speed (geometric means): {g(by_h[10], 'speedup_vs_onednn')}x at H = 10, {g(by_h[20], 'speedup_vs_onednn')}x at H = 20,",
            f"{g(by_h[50], 'speedup_vs_onednn')}x at H = 50. DeepBench-style sizes (144 configurations): {sum(r['meets_target'] for r in dr)} meet it; HPC runs at",
            f"{g(dr, 'speedup_vs_torch')}x PyTorch's speed and {g(dr, 'speedup_vs_onednn')}x oneDNN's ({g(by_b[1], 'speedup_vs_onednn')}x at batch 1,",
            f"{g(by_b[16], 'speedup_vs_onednn')}x at batch 16, {g(by_b[64], 'speedup_vs_onednn')}x at batch 64). LSTM, T = 100, H = I = 1024:", "",
            "| B | mode | HPC ms | PyTorch ms | oneDNN ms | GEMM limit ms | met |", "|---|---|---|---|---|---|---|"]
    out += [f"| {r['batch']} | {r['mode']} | {r['hpc_ms']} | {r['torch_ms']} | {r['onednn_ms']} | {r['gemm_limit_ms']} | {yes(r)} |" for r in sel]
    print("\n".join(out))


if __name__ == "__main__":
    main()
