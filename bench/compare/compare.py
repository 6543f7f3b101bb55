#!/usr/bin/python3
"""Side-by-side timing of HPC (`hpc bench`) and PyTorch on the same machine, in one run.

Usage:  /usr/bin/python3 bench/compare/compare.py [--grid seeds|deepbench|extra|all] [--quick] [--rounds 2]
        [--only CELL:B:T:H,...]   (a rerun of some rows of the grid; results named -only)
Method: for every configuration, HPC, PyTorch and oneDNN alternate (A B C A B C, --rounds times each); each
measurement is the median of --repeats timed calls after --warmup untimed ones and at least WARMUP_MS (200 ms) of
warm-up; the reported time is the median over rounds. PyTorch
runs with one intra-op thread and its BLAS with two (the issue's fastest setting here); HPC with its default of one
thread per core (its own float32 GEMM and thread team). Training = forward + backward of a fixed random upstream
gradient, weight gradients included. HPC runs on frozen parameters (`--frozen-weights`: W_ih and W_hh packed once
before the timing, and in training W_hh for the backward steps at the first backward), as oneDNN's harness reorders
its weights into its own layouts outside the timing; the targets are judged on these times. Training is also timed
packing on every call (HPC's live parameters, what a loop that updates the weights after every step pays; oneDNN
would then pay its reorders too, bench/compare/reorders.py), shown beside them. PyTorch reads its weights as they are. The SGEMM rate of a 2048^3 product is measured in the same run: the fastest of
HPC's own GEMM, OpenBLAS and oneDNN's dnnl_sgemm (the GEMM limit uses it). Results go to
bench/results/<date>-compare-<grid>.{json,md} with the machine, versions and this command.
oneDNN's RNN primitive runs through bench/compare/onednn_rnn.cpp (built here against Debian's libdnnl-dev); the
target per configuration is issue 5's: HPC <= max(min(oneDNN, PyTorch / 2), GEMM limit). Without libdnnl-dev
(--no-onednn) only the PyTorch half is checked.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
# HPC and PyTorch share the machine's OpenBLAS and its configuration (OPENBLAS_CORETYPE, if set, applies to both);
# oneDNN brings its own JIT kernels. The BLAS core in use is recorded with the results.
import torch  # noqa: E402

# Every measurement warms up for its --warmup calls and at least this long: HPC and oneDNN run in fresh processes (the
# .NET runtime compiles in the background for its first tenth of a second, and worker threads settle), PyTorch in
# this one; each gets the same minimum.
WARMUP_MS = 200

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HPC = os.path.join(ROOT, "out", "bench", "hpc")
ONEDNN = os.path.join(ROOT, "out", "bench", "onednn_rnn")


def grid(name):
    cfg = []
    if name in ("seeds", "all"):
        for cell in ("lstm", "gru", "rnn_tanh"):
            for t in (5, 15, 50):
                for h in (10, 20, 50):
                    cfg.append(dict(cell=cell, batch=32, seq=t, input=10, hidden=h, layers=1, bidirectional=False))
    if name in ("deepbench", "all"):
        for cell in ("lstm", "gru", "rnn_tanh"):
            for b in (1, 16, 64):
                for t in (25, 100):
                    for h in (128, 256, 512, 1024):
                        cfg.append(dict(cell=cell, batch=b, seq=t, input=h, hidden=h, layers=1, bidirectional=False))
    if name in ("extra", "all"):
        for cell in ("lstm", "gru", "rnn_tanh"):
            for layers, bi in ((2, False), (1, True), (2, True)):
                cfg.append(dict(cell=cell, batch=32, seq=50, input=32, hidden=128, layers=layers, bidirectional=bi))
    return cfg


def torch_time(c, mode, warmup, repeats):
    torch.manual_seed(0)
    kw = dict(input_size=c["input"], hidden_size=c["hidden"], num_layers=c["layers"], bidirectional=c["bidirectional"])
    m = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(c["cell"], None)
    m = m(**kw) if m else torch.nn.RNN(nonlinearity="tanh", **kw)
    d = 2 if c["bidirectional"] else 1
    x = torch.randn(c["seq"], c["batch"], c["input"])  # time-major: PyTorch's native layout
    dy = torch.randn(c["seq"], c["batch"], d * c["hidden"])

    def run():
        if mode == "training":
            for p in m.parameters():
                p.grad = None
            y, _ = m(x)
            y.backward(dy)
        else:
            with torch.no_grad():
                m(x)

    w0 = time.perf_counter()
    for _ in range(warmup):
        run()
    while (time.perf_counter() - w0) * 1e3 < WARMUP_MS:
        run()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def hpc_time(c, mode, warmup, repeats, frozen=True):
    """`hpc bench rnn`'s JSON line; `frozen`: on parameters frozen (packed) before the timing."""
    args = [HPC, "bench", "rnn", "--cell", c["cell"], "--batch", str(c["batch"]), "--seq", str(c["seq"]), "--input", str(c["input"]),
            "--hidden", str(c["hidden"]), "--layers", str(c["layers"]), "--mode", mode, "--time-major",
            "--warmup", str(warmup), "--warmup-ms", str(WARMUP_MS), "--repeats", str(repeats)]
    if frozen:
        args.append("--frozen-weights")
    if c["bidirectional"]:
        args.append("--bidirectional")
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def onednn_time(c, mode, warmup, repeats, reorders=False):
    """oneDNN's median ms, or None for a shape the harness does not run. `reorders` (training): the weight reorders
    inside every timed step (bench/compare/reorders.py)."""
    args = [ONEDNN, c["cell"], str(c["batch"]), str(c["seq"]), str(c["input"]), str(c["hidden"]), str(c["layers"]),
            "1" if c["bidirectional"] else "0", mode, str(warmup), str(repeats), str(WARMUP_MS)] + (["reorders"] if reorders else [])
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        return None  # a shape this harness does not run (stacked layers with input != D*hidden)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["reorders_timed"] == reorders, out
    return out["median_ms"]


def build(use_onednn):
    """Publishes the hpc CLI (Release) into out/bench and, with use_onednn, builds the oneDNN harness there."""
    print("building hpc (Release) ...", file=sys.stderr)
    subprocess.run(["dotnet", "publish", os.path.join(ROOT, "src", "Managed", "Hpc.Cli"), "-c", "Release", "-o", os.path.dirname(HPC), "-v", "quiet", "-nologo"], check=True)
    if use_onednn:
        print("building the oneDNN harness ...", file=sys.stderr)
        subprocess.run(["g++", "-O2", "-std=c++17", os.path.join(ROOT, "bench", "compare", "onednn_rnn.cpp"), "-ldnnl", "-o", ONEDNN], check=True)


def gemm_flops(c, mode):
    g = {"lstm": 4, "gru": 3}.get(c["cell"], 1)
    d = 2 if c["bidirectional"] else 1
    f = sum(d * 2.0 * c["batch"] * c["seq"] * g * c["hidden"] * ((c["input"] if k == 0 else d * c["hidden"]) + c["hidden"]) for k in range(c["layers"]))
    return f * (3 if mode == "training" else 1)


def sgemm_rate(use_onednn):
    """The machine's SGEMM rate: the fastest 2048^3 float32 product among HPC's own GEMM (`hpc bench gemm`), the
    linked OpenBLAS (`--kernel blas`, also PyTorch's BLAS here) and oneDNN's dnnl_sgemm. Returns (rate, per-kernel
    rates, BLAS description)."""
    rates = {}
    backend = ""
    for kernel in ("hpc", "blas"):
        out = subprocess.run([HPC, "bench", "gemm", "--size", "2048", "--kernel", kernel, "--repeats", "5", "--warmup", "2"], check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        rates[kernel] = r["gflops"]
        backend = r["backend"]
    if use_onednn:
        out = subprocess.run([ONEDNN, "sgemm", "2048", "2", "5"], check=True, capture_output=True, text=True).stdout
        rates["onednn"] = json.loads(out.strip().splitlines()[-1])["gflops"]
    return max(rates.values()), rates, backend


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", default="seeds", choices=["seeds", "deepbench", "extra", "all"])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and the first configurations only")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--no-onednn", action="store_true", help="skip oneDNN (no libdnnl-dev)")
    ap.add_argument("--only", default="", help="CELL:B:T:H,... : these configurations of the grid only (a rerun of some rows; "
                                                 "the results file is named -only)")
    a = ap.parse_args()
    use_onednn = not a.no_onednn
    # The configurations first, so that a bad --only fails before the builds.
    configs = grid(a.grid)
    if a.quick:
        configs = configs[:6]
    if a.only:
        wanted = {tuple(w.split(":")) for w in a.only.split(",")}
        configs = [c for c in configs if (c["cell"], str(c["batch"]), str(c["seq"]), str(c["hidden"])) in wanted]
        found = {(c["cell"], str(c["batch"]), str(c["seq"]), str(c["hidden"])) for c in configs}
        if found != wanted:
            missing = ", ".join(":".join(w) for w in sorted(wanted - found))
            sys.exit(f"--only: expected CELL:B:T:H of the {a.grid} grid, got {missing} (not in it)")
    build(use_onednn)
    torch.set_num_threads(1)
    rate, rates, backend = sgemm_rate(use_onednn)
    # Each round is a pass over the whole grid (A B C for every configuration, then the next pass), so that a
    # configuration's rounds lie minutes apart and a burst of noise on this shared VM (seconds long; seen to double
    # one configuration's times in all of its rounds when they ran back to back) moves at most one of them; each
    # time is the median over the rounds.
    times = {}
    for rnd in range(a.rounds):
        for c in configs:
            for mode in ("inference", "training"):
                ht, tt, ot, pt = times.setdefault((id(c), mode), ([], [], [], []))
                ht.append(hpc_time(c, mode, a.warmup, a.repeats)["median_ms"])
                if mode == "training":
                    pt.append(hpc_time(c, mode, a.warmup, a.repeats, frozen=False)["median_ms"])
                tt.append(torch_time(c, mode, a.warmup, a.repeats))
                if use_onednn:
                    o = onednn_time(c, mode, a.warmup, a.repeats)
                    if o is not None:
                        ot.append(o)
        print(f"round {rnd + 1} of {a.rounds} done", file=sys.stderr, flush=True)
    rows = []
    for c in configs:
        for mode in ("inference", "training"):
            ht, tt, ot, pt = times[(id(c), mode)]
            h, t = statistics.median(ht), statistics.median(tt)
            o = statistics.median(ot) if ot else None
            p = statistics.median(pt) if pt else None
            flops = gemm_flops(c, mode)
            limit_ms = flops / (0.9 * rate * 1e9) * 1e3
            anchor = min(o, t / 2) if o is not None else t / 2
            target = max(anchor, limit_ms)
            row = dict(c, mode=mode, hpc_ms=round(h, 4), torch_ms=round(t, 4), onednn_ms=round(o, 4) if o is not None else None,
                       speedup_vs_torch=round(t / h, 2), speedup_vs_onednn=round(o / h, 2) if o is not None else None,
                       gemm_limit_ms=round(limit_ms, 4), target_ms=round(target, 4), hpc_gflops=round(flops / h / 1e6, 2), meets_target=h <= target,
                       hpc_packing_ms=round(p, 4) if p is not None else None, packing_meets_target=p <= target if p is not None else None)
            rows.append(row)
            print(f"{c['cell']:8} B{c['batch']:<3} T{c['seq']:<4} I{c['input']:<5} H{c['hidden']:<5} L{c['layers']} {'bi' if c['bidirectional'] else 'uni'} "
                  f"{mode:9}  hpc {h:9.3f}  torch {t:9.3f}  onednn {o if o is not None else float('nan'):9.3f} ms  target {target:8.3f}  {'ok' if row['meets_target'] else 'MISS'}"
                  + (f"  (packing per call {p:9.3f}, {'ok' if row['packing_meets_target'] else 'over'})" if p is not None else ""), flush=True)
    date = datetime.date.today().isoformat()
    meta = dict(date=date, command=" ".join(["/usr/bin/python3", "bench/compare/compare.py"] + sys.argv[1:]), machine=platform.processor() or platform.machine(),
                cpu=open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t") if os.path.exists("/proc/cpuinfo") else "",
                cores=os.cpu_count(), torch=torch.__version__, python=platform.python_version(), sgemm_2048_gflops=round(rate, 1), sgemm_2048_by_kernel={k: round(v, 1) for k, v in rates.items()},
                torch_threads=1, openblas_threads=os.environ.get("OPENBLAS_NUM_THREADS"), openblas_coretype=os.environ.get("OPENBLAS_CORETYPE", "detected"),
                blas=backend, hpc_weights="frozen (packed once before the timing, like oneDNN's reordered weights); training also packing per call (hpc_packing_ms)",
                onednn=subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libdnnl-dev"], capture_output=True, text=True).stdout if use_onednn else "not measured")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    base = os.path.join(ROOT, "bench", "results", f"{date}-compare-{a.grid}{'-quick' if a.quick else ''}{'-only' if a.only else ''}")
    with open(base + ".json", "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(f"# HPC vs PyTorch, {date}\n\nMachine: {meta['cpu']} ({meta['cores']} cores); PyTorch {meta['torch']} (1 thread, OpenBLAS {meta['openblas_threads']}); "
                f"SGEMM 2048^3 (the fastest of HPC's GEMM, OpenBLAS and oneDNN's): {meta['sgemm_2048_gflops']} GFLOP/s "
                f"({', '.join(f'{k} {v}' for k, v in meta['sgemm_2048_by_kernel'].items())}; {meta['blas']}); oneDNN {meta['onednn']}. Command: `{meta['command']}`. "
                "HPC on frozen weights (packed once before the timing, as oneDNN's weights are reordered outside it); training also "
                "packing its weights on every call (the last two columns). "
                "Target: HPC <= max(min(oneDNN, PyTorch / 2), GEMM limit).\n\n"
                "| cell | B | T | I | H | L | dir | mode | HPC ms | PyTorch ms | oneDNN ms | PyTorch / HPC | oneDNN / HPC | GEMM limit ms | target ms | met | HPC packing per call ms | met |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['cell']} | {r['batch']} | {r['seq']} | {r['input']} | {r['hidden']} | {r['layers']} | {'bi' if r['bidirectional'] else 'uni'} | {r['mode']} | "
                    f"{r['hpc_ms']} | {r['torch_ms']} | {r['onednn_ms'] if r['onednn_ms'] is not None else '-'} | {r['speedup_vs_torch']} | "
                    f"{r['speedup_vs_onednn'] if r['speedup_vs_onednn'] is not None else '-'} | {r['gemm_limit_ms']} | {r['target_ms']} | {'yes' if r['meets_target'] else 'no'} | "
                    f"{r['hpc_packing_ms'] if r['hpc_packing_ms'] is not None else '-'} | {'-' if r['packing_meets_target'] is None else 'yes' if r['packing_meets_target'] else 'no'} |\n")
    print(f"wrote {os.path.relpath(base, ROOT)}.{{json,md}}", file=sys.stderr)


if __name__ == "__main__":
    main()
