#!/usr/bin/env bash
# Runs every test: the native GoogleTest suite (Release, then again under AddressSanitizer + UBSan, the HMM and
# recurrent-layer tests with the non-AVX-512 kernel versions, the GEMM and thread team under ThreadSanitizer, and a
# cross build for 64-bit Arm run under qemu) and the managed xunit/FsCheck suite (on the Release library built first).
# Ends with one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
# The stages below narrow what they build and run with these; one inherited from the caller's environment would
# silently narrow every stage.
unset BUILD_TARGET CTEST_REGEX CTEST_EXCLUDE
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

scripts/setup.sh || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
passed=0 failed=0 skipped=0 status=0
log=$(mktemp -d)

count_ctest() {  # "100% tests passed, 0 tests failed out of 61"
  local line; line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$1" | tail -n1)
  if [ -z "$line" ]; then failed=$((failed + 1)); status=1; return; fi
  local total fail; total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line"); fail=$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"$line")
  passed=$((passed + total - fail)); failed=$((failed + fail))
}

run_ctest() {  # name, build dir: the tests CTEST_REGEX / CTEST_EXCLUDE select (all if unset), $jobs at once (each
               # test its own process) unless CTEST_JOBS says otherwise
  local name=$1 dir=$2
  (cd "$dir" && ctest --output-on-failure --timeout 300 -j "${CTEST_JOBS:-$jobs}" ${CTEST_REGEX:+-R "$CTEST_REGEX"} ${CTEST_EXCLUDE:+-E "$CTEST_EXCLUDE"}) 2>&1 | tee "$log/$name-ctest.txt" | grep -E "tests passed|Failed|\*\*\*" || true
  count_ctest "$log/$name-ctest.txt"
}

native() {  # name, build dir, extra cmake flags...: configures, builds (BUILD_TARGET alone if set) and runs run_ctest
  local name=$1 dir=$2; shift 2
  echo "== native tests ($name): cmake -S . -B $dir $*${BUILD_TARGET:+; cmake --build --target $BUILD_TARGET}${CTEST_REGEX:+; ctest -R '$CTEST_REGEX'}${CTEST_EXCLUDE:+; ctest -E '$CTEST_EXCLUDE'}"
  local t0=$SECONDS
  if cmake -S . -B "$dir" "$@" >"$log/$name-configure.txt" 2>&1 && cmake --build "$dir" --parallel "$jobs" ${BUILD_TARGET:+--target "$BUILD_TARGET"} >"$log/$name-build.txt" 2>&1; then
    local built=$((SECONDS - t0))
    run_ctest "$name" "$dir"
    echo "== native ($name): configure and build ${built} s, tests $((SECONDS - t0 - built)) s"
  else
    cat "$log/$name-configure.txt" "$log/$name-build.txt" | tail -n 40
    echo "== native build ($name) FAILED"; failed=$((failed + 1)); status=1
  fi
}

# The Release build also builds the library and the test binary with the AVX2 and with the x86-64 versions of the
# multi-versioned kernels (HMM, float32 activations), which a machine with AVX-512 never picks, each compiled alone
# for its target (HPC_KERNEL_VARIANT_TESTS: the other objects are shared); their HMM and recurrent-layer tests run as
# stages of their own.
CTEST_EXCLUDE='^(avx2|x86-64)[.]' native release build/native -DCMAKE_BUILD_TYPE=Release -DHPC_KERNEL_VARIANT_TESTS=ON
if [ "$(uname -m)" != x86_64 ]; then
  echo "== native tests (avx2, x86-64): SKIPPED: the host is $(uname -m), not x86-64"; skipped=$((skipped + 1))
elif [ -x build/native/hpc_native_tests_avx2 ] && [ -x build/native/hpc_native_tests_x86-64 ]; then
  for v in avx2 x86-64; do
    echo "== native tests ($v): build/native/hpc_native_tests_$v; ctest -R '^$v[.](Hmm|Rnn)'"
    t0=$SECONDS
    CTEST_REGEX="^$v[.](Hmm|Rnn)" run_ctest "$v" build/native
    echo "== native ($v): tests $((SECONDS - t0)) s"
  done
else
  echo "== native tests (avx2, x86-64): FAILED: the Release build made no kernel-variant test binaries"; failed=$((failed + 1)); status=1
fi
# At -O1, as AddressSanitizer's documentation advises for reasonable speed (assertions kept: a Debug build), and for
# the compiler's target only (HPC_NO_TARGET_CLONES: one build of the multi-versioned kernels, not three; the small-K
# HMM kernels address memory in doubles, rows padded to 8 NB whatever the vector width, so their accesses are the same
# in every build). Two tests of arithmetic, not of memory, run in the stages above only: the float32 results' thread
# count independence and the bias gradients of many rows against finite differences (48 and 43 s here; the same
# code runs under ASan at smaller sizes in the other tests). On a 2-core AVX2 machine this stage took 413 s at -O0
# with every build (its tests 328 s, the HMM every-width comparison 145 s alone), 478 s at -O1 with every build
# (compiling 340 s) and 322 s with the compiler's target alone (before these two exclusions). The small-K kernels
# are compiled without UBSan's pointer-overflow check (CMakeLists.txt: 199 s to compile with it, 135 without).
CTEST_EXCLUDE='Float32ResultsDoNotDependOnTheThreadCount|BiasGradientsOfManyRowsMatchCentralDifferences' \
  native asan build/asan -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" -DHPC_SANITIZE=ON \
  -DHPC_NO_TARGET_CLONES=ON
# ThreadSanitizer on the thread team and HPC's own GEMM (the parts that share memory between threads; OpenBLAS's
# uninstrumented threads would only add false reports elsewhere): their tests alone, built from their sources
# (hpc_threading_tests; the whole library and suite built under TSan took 97 s on 2 cores, for these 13 tests).
TSAN_OPTIONS="halt_on_error=1" BUILD_TARGET=hpc_threading_tests native tsan build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHPC_SANITIZE_THREAD=ON -DHPC_NO_TARGET_CLONES=ON
# The code as built without __x86_64__ (the portable GEMM loops and packing, the thread team's wait without _mm_pause,
# the vector math and HMM kernels without target_clones), cross-built for 64-bit Arm and run under qemu-aarch64: every
# native test but five large-shape RNN ones, one GEMM one, the every-width comparison of the fused HMM kernels and
# the log paths' underflow cases (37-160 s each under emulation; the same logic runs in the x86 stages above, and the
# other HMM tests still run the fused kernels here, at fewer widths, against brute force and a log-sum-exp reference). Needs the cross tools
# (scripts/setup-aarch64.sh); where they cannot be installed, or the host is not x86-64, the stage is reported as
# skipped, with the reason, and counted.
aarch64_slow='Float32ResultsDoNotDependOnTheThreadCount|Float32CheckpointedBackwardIsBitIdentical|Float32OwnGemmMatchesFloat64AtLargeShapes|BiasGradientsOfManyRowsMatchCentralDifferences|TwoPartPackingEqualsOnePiece|FusedSmallStateKernelsEqualTheGeneralPathsForEveryWidth|Float32InferenceEqualsTheTrainingForwardBitForBit|LogPathsMatchLogSumExpWhereShiftedProductsUnderflow'
if [ "$(uname -m)" != x86_64 ]; then
  echo "== native tests (aarch64): SKIPPED: the host is $(uname -m), not x86-64 (the stages above build for it natively)"
  skipped=$((skipped + 1))
elif scripts/setup-aarch64.sh >"$log/aarch64-setup.txt" 2>&1; then
  grep '^setup-aarch64:' "$log/aarch64-setup.txt"
  CTEST_EXCLUDE=$aarch64_slow native aarch64 build/aarch64 -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
else
  tail -n 20 "$log/aarch64-setup.txt"
  echo "== native tests (aarch64): SKIPPED: scripts/setup-aarch64.sh could not install the cross tools (above)"
  skipped=$((skipped + 1))
fi

# The managed build takes the Release library built above (the same library: that build only adds test targets;
# Hpc.Core's BuildNative target skips it while it is newer than every native source) instead of building it again in
# build/managed-native.
echo "== managed tests: dotnet test HPC.sln -c Release -p:NativeBuildDir=$PWD/build/native/"
t0=$SECONDS
dotnet test HPC.sln -c Release -p:NativeBuildDir="$PWD/build/native/" --logger "console;verbosity=normal" 2>&1 | tee "$log/dotnet.txt"
if grep -qE "^\s*Total tests:" "$log/dotnet.txt"; then
  for k in Passed Failed Skipped; do
    n=$(grep -E "^\s+$k:\s+[0-9]+" "$log/dotnet.txt" | sed -E 's/[^0-9]*([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
    case $k in Passed) passed=$((passed + n));; Failed) failed=$((failed + n));; Skipped) skipped=$((skipped + n));; esac
  done
  grep -qE "Test Run Successful" "$log/dotnet.txt" || status=1
else
  tail -n 40 "$log/dotnet.txt"; echo "== managed build or test run FAILED"; failed=$((failed + 1)); status=1
fi
echo "== managed: build and tests $((SECONDS - t0)) s"
[ "$failed" -gt 0 ] && status=1

echo "== all: $SECONDS s (setup included)"
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
