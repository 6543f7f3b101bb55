// Times hpc_hmm_viterbi alone: K states, N rows as 10 sequences of N/10, random emission log-densities and a
// diagonal-heavy transition matrix, two threads; prints the best and the median of REPS calls. Two builds compare
// through LD_LIBRARY_PATH (built without an rpath):
//   g++ -O2 -std=c++17 -I native/include bench/compare/hmm_viterbi_time.cpp -o /tmp/hmm_viterbi_time -L build/native -lhpc_native
//   LD_LIBRARY_PATH=build/native taskset -c 0,1 /tmp/hmm_viterbi_time K N REPS
#include <hpc/hpc.h>

#include "hmm_bench_data.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s K N REPS\n", argv[0]);
        return 2;
    }
    const int64_t K = std::atol(argv[1]), N = std::atol(argv[2]), S = 10, reps = std::atol(argv[3]);
    hpc_set_num_threads(2);
    std::mt19937_64 g(1);
    std::normal_distribution<double> nd;
    std::vector<double> logB((size_t)(N * K)), pi((size_t)K, 1.0 / (double)K);
    for (auto& x : logB) x = nd(g) * 3;
    const std::vector<double> A = diagonal_heavy_transmat(K, g, nd);
    std::vector<int64_t> len((size_t)S, N / S), path((size_t)N);
    std::vector<double> lp((size_t)S), ts;
    for (int64_t r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        if (hpc_hmm_viterbi(K, S, len.data(), N, logB.data(), N * K, pi.data(), K, A.data(), K * K, path.data(), N,
                            lp.data(), S) != HPC_OK)
            return 1;
        ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3);
    }
    std::sort(ts.begin(), ts.end());
    std::printf("K %ld N %ld: best %.3f median %.3f ms\n", (long)K, (long)N, ts[0], ts[ts.size() / 2]);
    return 0;
}
