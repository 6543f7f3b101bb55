#!/usr/bin/env bash
# The main job: builds the hpc CLI and runs `hpc demo` (vanishing and exploding gradients, LSTM regression,
# optimizers, HMMs, a character-level LSTM) with its HTML report; then runs the bundled two-layer bidirectional LSTM
# (PyTorch-exported weights) and checks it against PyTorch's own output, and fits and decodes the bundled HMM data.
# Arguments are passed to `hpc demo` (e.g. ./scripts/demo.sh --quick, or ./scripts/demo.sh gradients).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

scripts/setup.sh
echo "demo: building the hpc CLI (dotnet build -c Release; this builds the native core with CMake)"
dotnet build src/Managed/Hpc.Cli -c Release -v quiet -nologo -o out/hpc | grep -vE "^\s*$" || true
hpc=out/hpc/hpc
mkdir -p out/demo
echo "demo: $hpc demo --report out/demo/report.html $*"
"$hpc" demo --report out/demo/report.html "$@"
ex=examples/lstm
echo "demo: $hpc rnn forward --cell lstm --layers 2 --bidirectional --weights $ex/weights.safetensors --input $ex/input.npy --h0 $ex/h0.npy --c0 $ex/c0.npy --output out/demo/output.npy --hn out/demo/hn.npy --cn out/demo/cn.npy"
"$hpc" rnn forward --cell lstm --layers 2 --bidirectional --weights "$ex/weights.safetensors" --input "$ex/input.npy" \
  --h0 "$ex/h0.npy" --c0 "$ex/c0.npy" --output out/demo/output.npy --hn out/demo/hn.npy --cn out/demo/cn.npy
echo "demo: comparing with PyTorch's outputs for the same weights and input"
"$hpc" npy diff out/demo/output.npy "$ex/expected_output.npy" --rtol 1e-5
"$hpc" npy diff out/demo/hn.npy "$ex/expected_hn.npy" --rtol 1e-5
"$hpc" npy diff out/demo/cn.npy "$ex/expected_cn.npy" --rtol 1e-5
h=examples/hmm
echo "demo: $hpc hmm fit --emission gaussian --covariance-type diag --states 3 --input $h/observations.npy --lengths $h/lengths.npy --iterations 50 --seed 1 --model-out out/demo/hmm.json"
"$hpc" hmm fit --emission gaussian --covariance-type diag --states 3 --input "$h/observations.npy" --lengths "$h/lengths.npy" \
  --iterations 50 --seed 1 --model-out out/demo/hmm.json
echo "demo: Viterbi log-probability of the most likely state paths:"
"$hpc" hmm decode --model out/demo/hmm.json --input "$h/observations.npy" --lengths "$h/lengths.npy" --output out/demo/hmm_states.npy
echo "demo: done; outputs are in out/demo/"
