// Two builds of packed_gemm.cpp in one process, their calls interleaved (A B B A ...), for differences that this VM's
// noise hides between processes (two processes of the same build differ by up to 1.10x in medians; the machine's
// speed drifts over seconds, so calls a few milliseconds apart see the same machine). Each variant's source is
// compiled in its own namespace (hpc_a::cpu, hpc_b::cpu) over one thread team (thread_team.cpp, hpc::cpu).
// Build (from the repository root; A and B are paths to two versions of packed_gemm.cpp):
//   for v in a b; do g++ -O3 -std=c++17 -c -DVARIANT=hpc_$v -DSRC="\"$PWD/path/to/$v.cpp\"" -Inative/src/cpu \
//       bench/compare/gemm_interleaved_ab.cpp -o /tmp/gab_$v.o; done
//   g++ -O3 -std=c++17 -DMAIN -Inative/src/cpu bench/compare/gemm_interleaved_ab.cpp /tmp/gab_a.o /tmp/gab_b.o \
//       native/src/cpu/thread_team.cpp -o /tmp/gab -lpthread
// A version whose packed_gemm.h differs (e.g. the previous commit's) goes in a folder of its own beside its header:
// the source includes "packed_gemm.h" from its own folder first.
// Run: /tmp/gab TRANS_A(0|1|2|3) M N K THREADS SECONDS   C[M,N] = op(A) B, B row-major [K, N] packed by gemm_f32 on
//   every call (TRANS_A 1: the weight gradients dG^T X, A stored [K, M]); or TRANS_A 2: gemm_packed on a B packed once
//   from a transposed W (a layer's step product or input projection, A row-major); TRANS_A 3: as 2, walking the
//   columns last first every other call, as a layer's steps do. Prints each variant's median
//   GFLOP/s, the median of the per-pair ratios B / A (time), its quartiles, and whether the two outputs agree bit
//   for bit.
#include <cstdint>
#include <vector>

#include "thread_team.h"

#ifndef MAIN
namespace VARIANT::cpu {
using namespace ::hpc::cpu;
}
#define hpc VARIANT
#include SRC
#undef hpc
namespace VARIANT {
// The variant's entry: one call of the product the harness times.
void run(int mode, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, std::vector<float>& pack,
         const float*& packed) {
    if (mode == 2 || mode == 3) {
        static bool reverse = false;
        if (!packed) packed = cpu::pack_b(b, k, true, k, n, pack);  // b is W [N, K]
        cpu::gemm_packed(m, k, n, a, k, 1, packed, c, n, false, nullptr, mode == 3 && (reverse = !reverse));
        return;
    }
    const bool ta = mode == 1;
    cpu::gemm_f32(ta, false, m, n, k, a, ta ? m : k, b, n, false, c, n, pack);
}
}  // namespace VARIANT
#else
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

namespace hpc_a {
void run(int, int64_t, int64_t, int64_t, const float*, const float*, float*, std::vector<float>&, const float*&);
}
namespace hpc_b {
void run(int, int64_t, int64_t, int64_t, const float*, const float*, float*, std::vector<float>&, const float*&);
}

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: gab TRANS_A(0|1|2|3) M N K THREADS SECONDS\n");
        return 2;
    }
    const int mode = std::atoi(argv[1]);
    const int64_t m = std::atol(argv[2]), n = std::atol(argv[3]), k = std::atol(argv[4]);
    const int threads = std::atoi(argv[5]);
    const double seconds = std::atof(argv[6]);
    hpc::cpu::team_set_size(threads);
    std::vector<float> a(m * k), b(k * n), ca(m * n), cb(m * n), pa, pb;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& v : a) v = u(rng);
    for (auto& v : b) v = u(rng);
    const float *qa = nullptr, *qb = nullptr;
    using Clock = std::chrono::steady_clock;
    auto time_a = [&] {
        const auto t0 = Clock::now();
        hpc_a::run(mode, m, n, k, a.data(), b.data(), ca.data(), pa, qa);
        return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    auto time_b = [&] {
        const auto t0 = Clock::now();
        hpc_b::run(mode, m, n, k, a.data(), b.data(), cb.data(), pb, qb);
        return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    for (int w = 0; w < 3; ++w) time_a(), time_b();
    std::vector<double> ta, tb, ratio;
    const auto start = Clock::now();
    for (int i = 0; std::chrono::duration<double>(Clock::now() - start).count() < seconds || i < 10; ++i) {
        double x, y;
        if (i % 2 == 0) x = time_a(), y = time_b();
        else y = time_b(), x = time_a();
        ta.push_back(x), tb.push_back(y), ratio.push_back(y / x);
    }
    auto median = [](std::vector<double> v, double q = 0.5) {
        std::sort(v.begin(), v.end());
        return v[(size_t)(q * (v.size() - 1))];
    };
    const double flops = 2.0 * m * n * k;
    const bool same = std::memcmp(ca.data(), cb.data(), ca.size() * sizeof(float)) == 0;
    std::printf("mode %d m %ld n %ld k %ld threads %d pairs %zu: A %.1f GF/s, B %.1f GF/s, B/A time %.3f (quartiles %.3f %.3f), %s\n",
                mode, (long)m, (long)n, (long)k, threads, ratio.size(), flops / median(ta) * 1e-9, flops / median(tb) * 1e-9,
                median(ratio), median(ratio, 0.25), median(ratio, 0.75), same ? "same bits" : "bits differ");
}
#endif
