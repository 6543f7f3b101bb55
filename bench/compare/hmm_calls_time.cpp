// Times each HMM call of the C ABI alone on one data set: diagonal Gaussian densities (hpc_hmm_gaussian_loglik),
// forward only, forward-backward with posteriors and statistics, forward-backward with posteriors (both
// implementations), the Gaussian statistics, Viterbi, and densities then Viterbi as two calls and as one
// (hpc_hmm_gaussian_viterbi; these two alternated), and an E-step (densities, forward-backward, statistics) as three
// calls and as hpc_hmm_gaussian_e_step (alternated); K states, D features, N rows as 10 sequences of N/10, on
// THREADS threads; prints the median and the best of REPS calls. With FTZ=1 the calling thread flushes subnormal
// numbers to zero (x86-64 MXCSR; with THREADS 1 all work runs on it). Two builds compare through LD_LIBRARY_PATH:
//   g++ -O2 -std=c++17 -I native/include bench/compare/hmm_calls_time.cpp -o /tmp/hmm_calls_time -L build/native -lhpc_native
//   LD_LIBRARY_PATH=build/native taskset -c 0 /tmp/hmm_calls_time K D N REPS THREADS
#include <hpc/hpc.h>

#include "hmm_bench_data.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

void time_call(const char* name, int64_t reps, const std::function<int32_t()>& call) {
    std::vector<double> ts;
    for (int64_t r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        if (call() != HPC_OK) {
            char e[512];
            hpc_last_error(e, sizeof e);
            std::fprintf(stderr, "%s failed: %s\n", name, e);
            std::exit(1);
        }
        ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3);
    }
    std::sort(ts.begin(), ts.end());
    std::printf("%-14s median %.3f best %.3f ms\n", name, ts[ts.size() / 2], ts[0]);
}

// Two calls alternated (a b a b ...), so that both see the same phases of a noisy machine.
void time_pair(const char* name_a, const char* name_b, int64_t reps, const std::function<int32_t()>& a,
               const std::function<int32_t()>& b) {
    std::vector<double> ts[2];
    for (int64_t r = 0; r < reps; ++r)
        for (int w = 0; w < 2; ++w) {
            const auto t0 = std::chrono::steady_clock::now();
            if ((w == 0 ? a : b)() != HPC_OK) {
                char e[512];
                hpc_last_error(e, sizeof e);
                std::fprintf(stderr, "%s failed: %s\n", w == 0 ? name_a : name_b, e);
                std::exit(1);
            }
            ts[w].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3);
        }
    for (int w = 0; w < 2; ++w) {
        std::sort(ts[w].begin(), ts[w].end());
        std::printf("%-14s median %.3f best %.3f ms\n", w == 0 ? name_a : name_b, ts[w][ts[w].size() / 2], ts[w][0]);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s K D N REPS THREADS\n", argv[0]);
        return 2;
    }
    const int64_t K = std::atol(argv[1]), D = std::atol(argv[2]), N = std::atol(argv[3]), S = 10, reps = std::atol(argv[4]);
    hpc_set_num_threads(std::atoi(argv[5]));
#if defined(__x86_64__)
    if (const char* f = std::getenv("FTZ"); f && *f == '1') _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
    std::mt19937_64 g(1);
    std::normal_distribution<double> nd;
    std::vector<double> x((size_t)(N * D)), means((size_t)(K * D)), cov((size_t)(K * D)), logB((size_t)(N * K));
    std::vector<double> pi((size_t)K, 1.0 / (double)K);
    for (auto& v : x) v = nd(g) * 3;
    for (auto& v : means) v = nd(g) * 3;
    for (auto& v : cov) v = 1 + std::abs(nd(g));
    const std::vector<double> A = diagonal_heavy_transmat(K, g, nd);
    std::vector<int64_t> len((size_t)S, N / S), path((size_t)N);
    std::vector<double> lp((size_t)S), post((size_t)(N * K)), xi((size_t)(K * K)), st((size_t)K), ps((size_t)K);
    std::vector<double> obs((size_t)(K * D)), obs2((size_t)(K * D));
    time_call("loglik", reps, [&] {
        return hpc_hmm_gaussian_loglik(HPC_COVARIANCE_DIAG, K, D, N, x.data(), N * D, means.data(), K * D, cov.data(),
                                       K * D, 1e-3, logB.data(), N * K);
    });
    for (int mode : {HPC_HMM_SCALING, HPC_HMM_LOG}) {
        const char* m = mode == HPC_HMM_SCALING ? "scaling" : "log";
        std::printf("%s:\n", m);
        time_call("  forward", reps, [&] {
            return hpc_hmm_forward_backward(mode, K, S, len.data(), N, logB.data(), N * K, pi.data(), K, A.data(), K * K,
                                            lp.data(), S, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0);
        });
        time_call("  fb+stats", reps, [&] {
            return hpc_hmm_forward_backward(mode, K, S, len.data(), N, logB.data(), N * K, pi.data(), K, A.data(), K * K,
                                            lp.data(), S, post.data(), N * K, xi.data(), K * K, st.data(), K, nullptr, 0);
        });
        time_call("  posteriors", reps, [&] {
            return hpc_hmm_forward_backward(mode, K, S, len.data(), N, logB.data(), N * K, pi.data(), K, A.data(), K * K,
                                            lp.data(), S, post.data(), N * K, nullptr, 0, nullptr, 0, nullptr, 0);
        });
    }
    time_call("stats", reps, [&] {
        return hpc_hmm_gaussian_stats(K, D, N, x.data(), N * D, post.data(), N * K, ps.data(), K, obs.data(), K * D,
                                      obs2.data(), K * D, nullptr, 0);
    });
    time_call("viterbi", reps, [&] {
        return hpc_hmm_viterbi(K, S, len.data(), N, logB.data(), N * K, pi.data(), K, A.data(), K * K, path.data(), N,
                               lp.data(), S);
    });
    // loglik then viterbi, as two calls and as the one fused call (its path and log-probabilities checked equal)
    std::vector<int64_t> path2((size_t)N);
    std::vector<double> lp2((size_t)S);
    time_pair("loglik+vit", "gauss_viterbi", reps, [&] {
        const int32_t rc = hpc_hmm_gaussian_loglik(HPC_COVARIANCE_DIAG, K, D, N, x.data(), N * D, means.data(), K * D,
                                                   cov.data(), K * D, 1e-3, logB.data(), N * K);
        if (rc != HPC_OK) return rc;
        return hpc_hmm_viterbi(K, S, len.data(), N, logB.data(), N * K, pi.data(), K, A.data(), K * K, path.data(), N,
                               lp.data(), S);
    }, [&] {
        return hpc_hmm_gaussian_viterbi(HPC_COVARIANCE_DIAG, K, D, S, len.data(), N, x.data(), N * D, means.data(),
                                        K * D, cov.data(), K * D, 1e-3, pi.data(), K, A.data(), K * K, path2.data(), N,
                                        lp2.data(), S);
    });
    if (path2 != path || lp2 != lp) {
        std::fprintf(stderr, "hpc_hmm_gaussian_viterbi differs from loglik then viterbi\n");
        return 1;
    }
    // An EM iteration's E-step in both implementations: the densities, forward-backward with the posteriors, then the
    // Gaussian statistics (three calls) against hpc_hmm_gaussian_e_step (one call, no posteriors stored), alternated;
    // the results are checked to agree to 1e-12 (relative above 1).
    std::vector<double> ps2((size_t)K), obs_2((size_t)(K * D)), obs2_2((size_t)(K * D)), xi2((size_t)(K * K)), st2((size_t)K);
    for (int mode : {HPC_HMM_SCALING, HPC_HMM_LOG}) {
        std::printf("%s:\n", mode == HPC_HMM_SCALING ? "scaling" : "log");
        time_pair("  3 calls", "  e_step", reps, [&] {
            int32_t rc = hpc_hmm_gaussian_loglik(HPC_COVARIANCE_DIAG, K, D, N, x.data(), N * D, means.data(), K * D,
                                                 cov.data(), K * D, 1e-3, logB.data(), N * K);
            if (rc != HPC_OK) return rc;
            rc = hpc_hmm_forward_backward(mode, K, S, len.data(), N, logB.data(), N * K, pi.data(), K, A.data(), K * K,
                                          lp.data(), S, post.data(), N * K, xi.data(), K * K, st.data(), K, nullptr, 0);
            if (rc != HPC_OK) return rc;
            return hpc_hmm_gaussian_stats(K, D, N, x.data(), N * D, post.data(), N * K, ps.data(), K, obs.data(), K * D,
                                          obs2.data(), K * D, nullptr, 0);
        }, [&] {
            return hpc_hmm_gaussian_e_step(mode, HPC_COVARIANCE_DIAG, K, D, S, len.data(), N, x.data(), N * D,
                                           means.data(), K * D, cov.data(), K * D, pi.data(), K, A.data(), K * K,
                                           lp2.data(), S, xi2.data(), K * K, st2.data(), K, ps2.data(), K, obs_2.data(),
                                           K * D, obs2_2.data(), K * D);
        });
        double worst = 0;
        auto cmp = [&](const std::vector<double>& a, const std::vector<double>& b) {
            for (size_t i = 0; i < a.size(); ++i)
                worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(a[i])));
        };
        cmp(ps, ps2), cmp(obs, obs_2), cmp(obs2, obs2_2), cmp(xi, xi2), cmp(st, st2), cmp(lp, lp2);
        std::printf("  largest difference (relative to max(1, |value|)): %.3g\n", worst);
        if (!(worst <= 1e-12)) {
            std::fprintf(stderr, "hpc_hmm_gaussian_e_step differs from the three calls\n");
            return 1;
        }
    }
    return 0;
}
