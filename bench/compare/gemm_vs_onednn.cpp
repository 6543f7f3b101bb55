// One float32 product shape timed with HPC's GEMM (gemm_f32, the path the recurrent layers' large products take) and
// oneDNN's dnnl_sgemm, in one process; prints one JSON line. For a shape of a layer's product measured apart from the
// layer (bench/results/2026-11-22-small-weight-gradients.md), where `hpc bench gemm` times square products only.
// Build (from the repository root; Debian's libdnnl-dev):
//   g++ -O2 -std=c++17 -pthread bench/compare/gemm_vs_onednn.cpp native/src/cpu/packed_gemm.cpp
//       native/src/cpu/thread_team.cpp -ldnnl -o out/bench/gemm_vs_onednn
// Usage: gemm_vs_onednn TRANS_A(0|1) M N K REPEATS [cold]
//   C[M,N] = op(A) B with B row-major [K,N] (the weight gradients dG^T X: TRANS_A 1, A stored [K,M]). Each side warms
//   up for 200 ms, then the median of REPEATS calls; `cold` writes a 128 MB buffer before every timed call, so that
//   the operands come from memory as they do in a layer. HPC_COPY_A_MIN_OUTPUT (environment) sets the size of C from
//   which a transposed A's k blocks are copied into rows first (packed_gemm_copy_a_min_output; 0 = always).
//   HPC_GEMM_AVX2=1 (environment) makes HPC use its AVX2 kernel on an AVX-512 machine (packed_gemm_use_best(false));
//   with ONEDNN_MAX_CPU_ISA=AVX2 oneDNN does the same, which compares the two AVX2 kernels on such a machine. The
//   kernel HPC ran is in the JSON line.
#include <dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "../../native/src/cpu/packed_gemm.h"

using hpc::cpu::gemm_f32;
using hpc::cpu::packed_gemm_copy_a_min_output;

static double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
    if (argc != 6 && !(argc == 7 && std::string(argv[6]) == "cold")) {
        std::fprintf(stderr, "usage: gemm_vs_onednn TRANS_A(0|1) M N K REPEATS [cold]\n");
        return 2;
    }
    if (const char* e = std::getenv("HPC_COPY_A_MIN_OUTPUT")) packed_gemm_copy_a_min_output(std::atof(e));
    if (const char* e = std::getenv("HPC_GEMM_AVX2"); e && std::atoi(e) != 0) hpc::cpu::packed_gemm_use_best(false);
    const bool ta = std::atoi(argv[1]) != 0, cold = argc == 7;
    const long m = std::atol(argv[2]), n = std::atol(argv[3]), k = std::atol(argv[4]);
    const int repeats = std::atoi(argv[5]);
    if (m <= 0 || n <= 0 || k <= 0 || repeats <= 0) {
        std::fprintf(stderr, "gemm_vs_onednn: M, N, K and REPEATS must be > 0\n");
        return 2;
    }
    std::vector<float> a((size_t)(m * k)), b((size_t)(k * n)), c((size_t)(m * n)), pack, junk(cold ? 32u << 20 : 0);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (auto& v : a) v = u(rng);
    for (auto& v : b) v = u(rng);
    const long lda = ta ? m : k;
    auto median = [&](auto&& run) {
        for (const double t0 = now_ms(); now_ms() - t0 < 200;) run();
        std::vector<double> ms;
        for (int i = 0; i < repeats; ++i) {
            for (auto& v : junk) v += 1.0f;
            const double t0 = now_ms();
            run();
            ms.push_back(now_ms() - t0);
        }
        std::sort(ms.begin(), ms.end());
        return ms[ms.size() / 2];
    };
    const double hpc = median([&] { gemm_f32(ta, false, m, n, k, a.data(), lda, b.data(), n, false, c.data(), n, pack); });
    const double dnnl = median([&] {
        dnnl_sgemm(ta ? 'T' : 'N', 'N', m, n, k, 1.0f, a.data(), lda, b.data(), n, 0.0f, c.data(), n);
    });
    const double mflop = 2.0 * m * n * k / 1e6;
    std::printf("{\"bench\":\"gemm_vs_onednn\",\"trans_a\":%d,\"m\":%ld,\"n\":%ld,\"k\":%ld,\"cold\":%s,\"hpc_kernel\":\"%s\",\"hpc_ms\":%.4f,"
                "\"onednn_ms\":%.4f,\"hpc_gflops\":%.1f,\"onednn_gflops\":%.1f,\"hpc_over_onednn\":%.3f}\n",
                ta ? 1 : 0, m, n, k, cold ? "true" : "false", hpc::cpu::packed_gemm_kernel_name(), hpc, dnnl, mflop / hpc, mflop / dnnl, hpc / dnnl);
    return 0;
}
