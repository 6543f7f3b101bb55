#!/bin/bash
# Alternates two builds of the CLI (A B A B ...) on `hpc bench hmm` (diagonal Gaussian, 10 sequences, 21 repeats, two
# cores) and prints each run's median and best in ms. usage:
#   BASE=/path/to/base/hpc NEW=out/bench/hpc OPS="posteriors decode" bench/compare/hmm_cli_ab.sh ROUNDS "K D T" ...
# (a base build: git worktree add /tmp/basewt <commit>; cd /tmp/basewt; dotnet publish src/Managed/Hpc.Cli -c Release
# -o /tmp/basecli)
set -euo pipefail
BASE=${BASE:-/tmp/basecli/hpc}
NEW=${NEW:-out/bench/hpc}
OPS=${OPS:-posteriors decode}
R=$1; shift
for cfg in "$@"; do set -- $cfg; K=$1; D=$2; T=$3
  for op in $OPS; do
    for r in $(seq $R); do
      for v in base new; do
        if [ $v = base ]; then cli=$BASE; else cli=$NEW; fi
        taskset -c 0,1 $cli bench hmm --emission gaussian --states $K --dims $D --length $T --sequences 10 --op $op --repeats 21 | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('$v K$K D$D T$T', d['op'], d['median_ms'], d['min_ms'])"
      done
    done
  done
done
