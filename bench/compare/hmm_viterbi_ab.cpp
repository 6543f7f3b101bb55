// Two builds of libhpc_native in one process (dlopen, RTLD_LOCAL), hpc_hmm_viterbi called on the same data
// alternately A B A B ..., so that both see the same machine state (on this 2-vCPU VM, separate processes started
// seconds apart differ by up to 2x). Diagonal-Gaussian-like log densities, K states, N rows as 10 sequences; prints
// each build's median and best over ROUNDS alternations of BATCH calls, and checks that both give the same paths.
// With THREADS > 1 each build has its own thread team, and an idle team's worker polls for 2 ms after its last call:
// the first call of each batch is therefore not timed (use BATCH >= 3).
//   g++ -O2 -std=c++17 -I native/include bench/compare/hmm_viterbi_ab.cpp -o /tmp/hmm_viterbi_ab -ldl
//   taskset -c 0,1 /tmp/hmm_viterbi_ab /tmp/base/libhpc_native.so build/native/libhpc_native.so K N ROUNDS BATCH THREADS
#include <hpc/hpc.h>

#include "hmm_bench_data.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

using Viterbi = decltype(&hpc_hmm_viterbi);
using SetThreads = decltype(&hpc_set_num_threads);

struct Lib {
    Viterbi viterbi;
    SetThreads set_threads;
};

Lib load(const char* path) {
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        std::fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        std::exit(2);
    }
    const Lib lib{reinterpret_cast<Viterbi>(dlsym(h, "hpc_hmm_viterbi")), reinterpret_cast<SetThreads>(dlsym(h, "hpc_set_num_threads"))};
    if (!lib.viterbi || !lib.set_threads) {
        std::fprintf(stderr, "%s: hpc_hmm_viterbi or hpc_set_num_threads not found\n", path);
        std::exit(2);
    }
    return lib;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 8) {
        std::fprintf(stderr, "usage: %s LIB_A LIB_B K N ROUNDS BATCH THREADS\n", argv[0]);
        return 2;
    }
    const Lib libs[2] = {load(argv[1]), load(argv[2])};
    const int64_t K = std::atol(argv[3]), N = std::atol(argv[4]), S = 10;
    const int rounds = std::atoi(argv[5]), batch = std::atoi(argv[6]);
    for (const Lib& l : libs) l.set_threads(std::atoi(argv[7]));
    std::mt19937_64 g(1);
    std::normal_distribution<double> nd;
    std::vector<double> logB((size_t)(N * K)), pi((size_t)K, 1.0 / (double)K), lp((size_t)S);
    for (auto& v : logB) v = -0.5 * nd(g) * nd(g) * 9 - 1;
    const std::vector<double> A = diagonal_heavy_transmat(K, g, nd);
    std::vector<int64_t> len((size_t)S, N / S), path[2] = {std::vector<int64_t>((size_t)N), std::vector<int64_t>((size_t)N)};
    std::vector<double> ts[2];
    for (int r = 0; r < rounds; ++r)
        for (int w = 0; w < 2; ++w)
            for (int b = 0; b < batch; ++b) {
                const auto t0 = std::chrono::steady_clock::now();
                if (libs[w].viterbi(K, S, len.data(), N, logB.data(), N * K, pi.data(), K, A.data(), K * K, path[w].data(), N,
                                    lp.data(), S) != HPC_OK) {
                    std::fprintf(stderr, "call failed\n");
                    return 1;
                }
                if (b > 0) ts[w].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3);
            }
    if (path[0] != path[1]) {
        std::fprintf(stderr, "the two builds' paths differ\n");
        return 1;
    }
    for (int w = 0; w < 2; ++w) {
        std::sort(ts[w].begin(), ts[w].end());
        std::printf("%s: K %ld N %ld median %.3f best %.3f ms\n", w ? "B" : "A", (long)K, (long)N, ts[w][ts[w].size() / 2], ts[w][0]);
    }
    return 0;
}
