// Two builds of the native library (libhpc_native.so) in one process: hpc_hmm_gaussian_e_step (a fit iteration's
// densities, forward-backward and statistics through the C ABI, on the library's own thread team), blocks of calls
// of each build alternated (A B, then B A, ...), for changes outside the small-K kernels that hmm_small_k_ab.cpp
// times (the passes' team sections, the checks) and for whole-call effects of changes inside them. This VM's speed
// drifts by up to 2x over minutes, so separate processes (the CLI, the side-by-side script) cannot show a 5 % change.
// Each build is loaded with RTLD_LOCAL: its own statics and its own team. A team's workers poll for 2 ms after a
// section, so each block of calls is followed by a 4 ms pause (the other build's workers then sleep and do not take
// its cores); the first two calls of a block are not counted. Model: K states with means spread over [-5, 5] (plus
// 0.1 d), unit variances, 0.9 on A's diagonal, 10 sequences of T / 10 rows drawn from it.
// Build: g++ -O2 -std=c++17 bench/compare/hmm_lib_ab.cpp -o /tmp/hmm_lib_ab -ldl -lpthread
// Run:   /tmp/hmm_lib_ab A.so B.so K D T SECONDS   (A.so and B.so: copies of libhpc_native.so from two commits)
// Prints each build's median (over blocks) of the blocks' median call time, the median of the per-block ratios B / A
// with quartiles, and the largest difference between the two builds' outputs (log-likelihoods, transition sums and
// Gaussian statistics; 0 where they agree bit for bit).
#include <dlfcn.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>
typedef int32_t (*EStep)(int32_t, int32_t, int64_t, int64_t, int64_t, const int64_t*, int64_t, const double*, int64_t,
                         const double*, int64_t, const double*, int64_t, const double*, int64_t, const double*, int64_t,
                         double*, int64_t, double*, int64_t, double*, int64_t, double*, int64_t, double*, int64_t, double*, int64_t);
typedef int32_t (*SetThreads)(int32_t);
int main(int argc, char** argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: hmm_lib_ab A.so B.so K D T SECONDS\n");
        return 2;
    }
    const int64_t K = atol(argv[3]), D = atol(argv[4]), T = atol(argv[5]), S = 10;
    const double seconds = atof(argv[6]);
    // The model spreads K means over [-5, 5] (K >= 2) and cuts T rows into S equal sequences.
    if (K < 2 || D < 1 || T < S || T % S != 0) {
        fprintf(stderr, "expected K >= 2, D >= 1 and T a positive multiple of %ld\n", (long)S);
        return 2;
    }
    const int64_t N = T;
    void* la = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    void* lb = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (!la || !lb) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    EStep ea = (EStep)dlsym(la, "hpc_hmm_gaussian_e_step"), eb = (EStep)dlsym(lb, "hpc_hmm_gaussian_e_step");
    if (!ea || !eb) { fprintf(stderr, "hpc_hmm_gaussian_e_step: %s\n", dlerror()); return 1; }
    std::mt19937 rng(3);
    std::normal_distribution<double> z;
    std::vector<double> means(K * D), cov(K * D, 1.0), pi(K, 1.0 / K), A(K * K), x(N * D);
    for (int64_t k = 0; k < K; ++k) for (int64_t d = 0; d < D; ++d) means[k * D + d] = -5 + 10.0 * k / (K - 1) + 0.1 * d;
    for (int64_t i = 0; i < K; ++i) for (int64_t j = 0; j < K; ++j) A[i * K + j] = i == j ? 0.9 : 0.1 / (K - 1);
    int64_t state = 0;
    for (int64_t n = 0; n < N; ++n) {
        if (std::uniform_real_distribution<double>(0, 1)(rng) > 0.9) state = rng() % K;
        for (int64_t d = 0; d < D; ++d) x[n * D + d] = means[state * D + d] + z(rng);
    }
    std::vector<int64_t> lengths(S, N / S);
    std::vector<double> ll(S), xi(K * K), st(K), ps(K), obs(K * D), obs2(K * D);
    std::vector<double> llb = ll, xib = xi, obsb = obs, obs2b = obs2;
    auto run = [&](EStep e, std::vector<double>& l, std::vector<double>& xs, std::vector<double>& o, std::vector<double>& o2) {
        auto t0 = std::chrono::steady_clock::now();
        int32_t rc = e(0, 2, K, D, S, lengths.data(), N, x.data(), N * D, means.data(), K * D, cov.data(), K * D, pi.data(), K,
                       A.data(), K * K, l.data(), S, xs.data(), K * K, st.data(), K, ps.data(), K, o.data(), K * D, o2.data(), K * D);
        if (rc) { fprintf(stderr, "rc %d\n", rc); exit(1); }
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    std::vector<double> ta, tb, ratio;
    const int block = 15;
    auto start = std::chrono::steady_clock::now();
    for (int it = 0; std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds; ++it) {
        std::vector<double> a, b;
        auto blk = [&](bool isA) {
            std::vector<double>& v = isA ? a : b;
            for (int i = 0; i < block; ++i) {
                double t = isA ? run(ea, ll, xi, obs, obs2) : run(eb, llb, xib, obsb, obs2b);
                if (i >= 2) v.push_back(t);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(4));
        };
        if (it % 2 == 0) { blk(true); blk(false); } else { blk(false); blk(true); }
        std::sort(a.begin(), a.end()); std::sort(b.begin(), b.end());
        ta.push_back(a[a.size() / 2]); tb.push_back(b[b.size() / 2]); ratio.push_back(b[b.size() / 2] / a[a.size() / 2]);
    }
    auto med = [](std::vector<double> v, double q = 0.5) { std::sort(v.begin(), v.end()); return v[(size_t)(q * (v.size() - 1))]; };
    double md = 0;
    for (size_t i = 0; i < ll.size(); ++i) md = std::max(md, std::fabs(ll[i] - llb[i]));
    for (size_t i = 0; i < obs.size(); ++i) md = std::max(md, std::fabs(obs[i] - obsb[i]) + std::fabs(obs2[i] - obs2b[i]));
    for (size_t i = 0; i < xi.size(); ++i) md = std::max(md, std::fabs(xi[i] - xib[i]));
    printf("K %ld D %ld T %ld blocks %zu: A %.3f ms, B %.3f ms, B/A %.3f (quartiles %.3f %.3f), max |B - A| %g\n", (long)K, (long)D,
           (long)T, ratio.size(), med(ta) * 1e3, med(tb) * 1e3, med(ratio), med(ratio, 0.25), med(ratio, 0.75), md);
}
