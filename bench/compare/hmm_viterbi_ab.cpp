// Two builds of libhpc_native in one process (dlopen, RTLD_LOCAL), hpc_hmm_viterbi (or, with OP, the forward-backward)
// called on the same data alternately A B A B ..., so that both see the same machine state (on this 2-vCPU VM,
// separate processes started seconds apart differ by up to 2x). Diagonal-Gaussian-like log densities, K states, N rows
// as 10 sequences; prints each build's median and best over ROUNDS alternations of BATCH calls, and checks that both
// give the same paths (Viterbi) or how far apart their results are (forward-backward).
// OP: viterbi (default), scaling or log (hpc_hmm_forward_backward with posteriors, xi_sum and start_sum: a fit
// iteration's pass), or loglikD (hpc_hmm_gaussian_loglik, diagonal, D features: how far apart the densities are).
// With THREADS > 1 each build has its own thread team, and an idle team's worker polls for 2 ms after its last call:
// the first call of each batch is therefore not timed (use BATCH >= 3).
//   g++ -O2 -std=c++17 -I native/include bench/compare/hmm_viterbi_ab.cpp -o /tmp/hmm_viterbi_ab -ldl
//   taskset -c 0,1 /tmp/hmm_viterbi_ab /tmp/base/libhpc_native.so build/native/libhpc_native.so K N ROUNDS BATCH THREADS [OP]
#include <hpc/hpc.h>

#include "hmm_bench_data.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

using Viterbi = decltype(&hpc_hmm_viterbi);
using ForwardBackward = decltype(&hpc_hmm_forward_backward);
using GaussianLoglik = decltype(&hpc_hmm_gaussian_loglik);
using SetThreads = decltype(&hpc_set_num_threads);

struct Lib {
    Viterbi viterbi;
    ForwardBackward forward_backward;
    GaussianLoglik gaussian_loglik;
    SetThreads set_threads;
};

Lib load(const char* path) {
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        std::fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        std::exit(2);
    }
    const Lib lib{reinterpret_cast<Viterbi>(dlsym(h, "hpc_hmm_viterbi")),
                  reinterpret_cast<ForwardBackward>(dlsym(h, "hpc_hmm_forward_backward")),
                  reinterpret_cast<GaussianLoglik>(dlsym(h, "hpc_hmm_gaussian_loglik")),
                  reinterpret_cast<SetThreads>(dlsym(h, "hpc_set_num_threads"))};
    if (!lib.viterbi || !lib.forward_backward || !lib.gaussian_loglik || !lib.set_threads) {
        std::fprintf(stderr, "%s: an HMM call or hpc_set_num_threads not found\n", path);
        std::exit(2);
    }
    return lib;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 8 && argc != 9) {
        std::fprintf(stderr, "usage: %s LIB_A LIB_B K N ROUNDS BATCH THREADS [viterbi|scaling|log|loglikD]\n", argv[0]);
        return 2;
    }
    const std::string op = argc == 9 ? argv[8] : "viterbi";
    const bool loglik = op.rfind("loglik", 0) == 0;
    const int64_t D = loglik ? std::atol(op.c_str() + 6) : 0;
    if (op != "viterbi" && op != "scaling" && op != "log" && !(loglik && D > 0)) {
        std::fprintf(stderr, "OP: expected viterbi, scaling, log or loglikD (D > 0), got %s\n", op.c_str());
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
    const bool fb = op == "scaling" || op == "log";
    std::vector<double> post[2], xi[2], st[2], ll[2];
    for (int w = 0; fb && w < 2; ++w) {
        post[w].resize((size_t)(N * K));
        xi[w].resize((size_t)(K * K));
        st[w].resize((size_t)K);
        ll[w].resize((size_t)S);
    }
    const int32_t mode = op == "log" ? HPC_HMM_LOG : HPC_HMM_SCALING;
    std::vector<double> x((size_t)(N * D)), means((size_t)(K * D)), cov((size_t)(K * D)), dens[2];
    for (auto& v : x) v = nd(g) * 3;
    for (auto& v : means) v = nd(g) * 3;
    for (auto& v : cov) v = 1 + std::abs(nd(g));
    if (loglik)
        for (auto& d : dens) d.resize((size_t)(N * K));
    std::vector<double> ts[2];
    for (int r = 0; r < rounds; ++r)
        for (int w = 0; w < 2; ++w)
            for (int b = 0; b < batch; ++b) {
                const auto t0 = std::chrono::steady_clock::now();
                const int32_t status =
                    loglik ? libs[w].gaussian_loglik(HPC_COVARIANCE_DIAG, K, D, N, x.data(), N * D, means.data(),
                                                     K * D, cov.data(), K * D, 1e-3, dens[w].data(), N * K)
                    : op == "viterbi"
                        ? libs[w].viterbi(K, S, len.data(), N, logB.data(), N * K, pi.data(), K, A.data(), K * K,
                                          path[w].data(), N, lp.data(), S)
                        : libs[w].forward_backward(mode, K, S, len.data(), N, logB.data(), N * K, pi.data(), K,
                                                   A.data(), K * K, ll[w].data(), S, post[w].data(), N * K,
                                                   xi[w].data(), K * K, st[w].data(), K, nullptr, 0);
                if (status != HPC_OK) {
                    std::fprintf(stderr, "call failed\n");
                    return 1;
                }
                if (b > 0) ts[w].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3);
            }
    if (path[0] != path[1]) {
        std::fprintf(stderr, "the two builds' paths differ\n");
        return 1;
    }
    if (loglik) {
        double d = 0;
        for (int64_t i = 0; i < N * K; ++i)
            d = std::max(d, std::abs(dens[0][(size_t)i] - dens[1][(size_t)i]) / std::max(1.0, std::abs(dens[0][(size_t)i])));
        std::printf("A against B: densities max rel (to max(1, |A|)) %.2e\n", d);
    } else if (fb) {
        double d = 0;
        for (int64_t i = 0; i < N * K; ++i) d = std::max(d, std::abs(post[0][(size_t)i] - post[1][(size_t)i]));
        double dx = 0;
        for (int64_t i = 0; i < K * K; ++i) dx = std::max(dx, std::abs(xi[0][(size_t)i] - xi[1][(size_t)i]) / std::abs(xi[0][(size_t)i]));
        double dl = 0;
        for (int64_t s = 0; s < S; ++s) dl = std::max(dl, std::abs(ll[0][(size_t)s] - ll[1][(size_t)s]) / std::abs(ll[0][(size_t)s]));
        std::printf("A against B: posteriors max abs %.2e, xi_sum max rel %.2e, loglik max rel %.2e\n", d, dx, dl);
    }
    for (int w = 0; w < 2; ++w) {
        std::sort(ts[w].begin(), ts[w].end());
        std::printf("%s: K %ld N %ld median %.3f best %.3f ms\n", w ? "B" : "A", (long)K, (long)N, ts[w][ts[w].size() / 2], ts[w][0]);
    }
    return 0;
}
