#!/usr/bin/python3
"""Runs `hpc bench hmm` over issue 5's HMM grid and writes bench/results/<date>-hmm.{json,md}.

Usage: /usr/bin/python3 bench/compare/hmm_grid.py [--repeats 3] [--implementation scaling|log]
hmmlearn cannot be installed here (no PyPI), so there is no side-by-side run: the two hmmlearn figures quoted in
issue 5 (hmmlearn 0.3.3 on another machine of this kind) are printed next to HPC's only as context, not as a ratio
measured in one run.
"""
import argparse
import datetime
import json
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HPC = os.path.join(ROOT, "out", "bench", "hpc")
QUOTED = {  # issue 5: hmmlearn 0.3.3, seconds, (K, D, T)
    (64, 16, 100000): {"fit-iteration": "19.6 (log), 3.0 (scaling)", "score": "6.0", "decode": "1.45", "posteriors": "13.3"},
    (8, 4, 100000): {"fit-iteration": "0.33 (log), 0.080 (scaling)"},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--implementation", default="scaling", choices=["scaling", "log"])
    a = ap.parse_args()
    subprocess.run(["dotnet", "publish", os.path.join(ROOT, "src", "Managed", "Hpc.Cli"), "-c", "Release", "-o", os.path.dirname(HPC), "-v", "quiet", "-nologo"], check=True)
    rows = []
    configs = [("gaussian", k, d, t) for k in (3, 8, 32, 64) for d in (1, 4, 16) for t in (10000, 100000)]
    configs += [("categorical", k, 32, 100000) for k in (8, 64)]
    for emission, k, d, t in configs:
        for op in ("fit-iteration", "score", "decode", "posteriors"):
            args = [HPC, "bench", "hmm", "--emission", emission, "--states", str(k), "--dims", str(d), "--length", str(t), "--sequences", "10",
                    "--op", op, "--repeats", str(a.repeats), "--warmup", "1", "--implementation", a.implementation]
            r = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            r["hmmlearn_quoted_s"] = QUOTED.get((k, d, t), {}).get(op, "") if emission == "gaussian" else ""
            rows.append(r)
            print(f"{emission:11} K{k:<3} D{d:<3} T{t:<7} {op:14} {r['median_ms']:10.2f} ms  {r['hmmlearn_quoted_s']}", flush=True)
    date = datetime.date.today().isoformat()
    cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t")
    suffix = "" if a.implementation == "scaling" else "-" + a.implementation
    command = "/usr/bin/python3 bench/compare/hmm_grid.py" + ("" if a.implementation == "scaling" else " --implementation " + a.implementation)
    base = os.path.join(ROOT, "bench", "results", f"{date}-hmm{suffix}")
    with open(base + ".json", "w") as f:
        json.dump({"date": date, "cpu": cpu, "cores": os.cpu_count(), "command": command, "rows": rows}, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(f"# hpc bench hmm, {date}\n\nMachine: {cpu} ({os.cpu_count()} cores). Command: `{command}`. "
                f"10 sequences, {a.implementation} implementation, median of the runs. The hmmlearn column is the figure quoted in issue 5 from "
                "another run on another machine of this kind: context, not a measured ratio (hmmlearn cannot be installed here).\n\n"
                "| emission | K | D / symbols | T | op | HPC ms | hmmlearn quoted (s) |\n|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['emission']} | {r['states']} | {r['dims']} | {r['length']} | {r['op']} | {r['median_ms']} | {r['hmmlearn_quoted_s']} |\n")
    print("wrote", os.path.relpath(base, ROOT) + ".{json,md}")


if __name__ == "__main__":
    main()
