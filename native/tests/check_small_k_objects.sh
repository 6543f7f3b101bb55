#!/bin/sh
# Fails if a function outside the small-K kernels' instruction-set namespaces (small_k_avx512::, small_k_avx2::) in
# the given objects uses AVX registers (ymm/zmm): such a function (a template or inline function from a header,
# emitted out of line) could be the copy the linker keeps for the whole library, and would then run AVX2 or AVX-512
# instructions on a CPU without them. hmm_small_k_kernels.cpp avoids it by setting its instruction set with
# '#pragma GCC target' after the standard headers. Arguments: object files (';'-separated lists too).
set -eu
objects=$(printf '%s ' "$@" | tr ';' ' ')
[ -n "$objects" ] || { echo "no objects given" >&2; exit 2; }
# shellcheck disable=SC2086
objdump -d --no-show-raw-insn -C $objects | awk '
  /^[0-9a-f]+ <.*>:$/ { name = $0; next }
  /[yz]mm[0-9]/ && name !~ /small_k_avx(512|2)::/ { if (!(name in seen)) print "outside the ISA namespaces: " name; seen[name] = 1; bad = 1 }
  END { if (!bad) print "every AVX instruction is inside small_k_avx512:: or small_k_avx2::"; exit bad }'
