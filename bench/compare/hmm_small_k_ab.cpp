// Two builds of hmm_small_k_kernels.cpp (the small-K HMM kernels, AVX2 build) in one process, their calls
// interleaved (A B B A ...), for differences that this VM's noise hides between processes (the K 8 fit iteration
// moves by 1.5x between runs minutes apart). Each variant is compiled in its own namespace (hpc_a::cpu, hpc_b::cpu).
// Times one thread's group: S sequences of T rows side by side, the scaled forward then the backward with the
// transition, start and diagonal Gaussian statistics (D features), as a fit iteration runs them.
// Build (from the repository root; A and B are paths to two versions of hmm_small_k_kernels.cpp, each beside its own
// hmm_small_k.h and vmath_f64_lanes.h: a version from another commit goes in a folder with its headers):
//   for v in a b; do g++ -O3 -std=gnu++17 -c -DHPC_SMALL_K_ISA=2 -DVARIANT=hpc_$v -DSRC="\"$PWD/path/to/$v.cpp\"" \
//       bench/compare/hmm_small_k_ab.cpp -o /tmp/hab_$v.o; done
//   g++ -O3 -std=gnu++17 -DMAIN bench/compare/hmm_small_k_ab.cpp /tmp/hab_a.o /tmp/hab_b.o -o /tmp/hab
// A version whose small_k_backward still takes w_rows (up to e413956) is compiled with -DHAB_BACKWARD_W_ROWS, one
// whose forward and backward take no factors rows (up to dc14de6) with -DHAB_NO_FACTORS.
// Run: /tmp/hab K D S T SECONDS [viterbi [leftright] | fused]. With viterbi: small_k_viterbi on hpc bench hmm's decode
// model instead (leftright: its A without the entries below the diagonal), and whether both give the same paths and
// log-probabilities; fused: small_k_diag_gaussian_viterbi on that model (the densities computed in the pass, as
// hpc bench hmm's Gaussian decode runs). Prints each variant's median ms (forward + backward), the median of the per-pair
// ratios B / A (time) with its quartiles, and the largest differences between the two variants' outputs (alpha, the
// log-likelihoods, the transition, start and Gaussian sums), 0 where they agree bit for bit.
#include <cstdint>
#include <vector>

struct HabData {
    int64_t K, D, S, T;
    bool viterbi, fused;
    std::vector<double> logB, x, pi, A, logpi, logA;
    std::vector<double> c, mu_inv_t, inv_t;  // fused: the decode model's diagonal Gaussian terms (variances 1)
};
struct HabOut {
    std::vector<double> alpha, row_max, row_scale, loglik, xi, start, stats, w_rows;
    std::vector<int64_t> path;
    std::vector<double> delta;
    std::vector<uint8_t> back;
};

#ifndef MAIN
#define hpc VARIANT
#include SRC
#undef hpc
namespace VARIANT {
bool run(const HabData& d, HabOut& o) {
    const int64_t N = d.S * d.T, K = d.K;
    std::vector<int64_t> seqs((size_t)d.S), active((size_t)d.T, d.S), start((size_t)d.S);
    for (int64_t s = 0; s < d.S; ++s) {
        seqs[(size_t)s] = s;
        start[(size_t)s] = s * d.T;
    }
    const cpu::SmallKGroup g{d.S, seqs.data(), active.data(), d.T, start.data()};
    if (d.viterbi) {
        o.path.resize((size_t)N);
        o.loglik.assign((size_t)d.S, 0.0);
        o.delta.resize((size_t)(N * std::max<int64_t>(cpu::small_k_avx2::small_k_viterbi_width(K), 1)));
        o.back.resize((size_t)(N * cpu::kSmallKBackPointerRowBytes));
        if (d.fused) {
            bool ok = true;
            return cpu::small_k_avx2::small_k_diag_gaussian_viterbi(
                       g, K, d.D, d.x.data(), d.c.data(), d.mu_inv_t.data(), d.inv_t.data(), d.logpi.data(),
                       d.logA.data(), o.delta.data(), o.back.data(), o.path.data(), o.loglik.data(), &ok) &&
                   ok;
        }
        return cpu::small_k_avx2::small_k_viterbi(g, K, d.logB.data(), d.logpi.data(), d.logA.data(), o.delta.data(),
                                                  o.back.data(), o.path.data(), o.loglik.data());
    }
    o.alpha.resize((size_t)(N * K));
    o.row_max.resize((size_t)N);
    o.row_scale.resize((size_t)N);
    o.loglik.assign((size_t)d.S, 0.0);
    o.xi.assign((size_t)(K * K), 0.0);
    o.start.assign((size_t)K, 0.0);
    o.stats.assign((size_t)(K + 2 * K * d.D), 0.0);
    o.w_rows.resize((size_t)(N * K));
#ifndef HAB_NO_FACTORS  // the forward keeps its factors b' [N, K] for the backward (a version up to dc14de6 does
                        // not take them: compile it with -DHAB_NO_FACTORS)
    thread_local std::vector<double> factors;
    factors.resize((size_t)(N * K));
    double* const fac = factors.data();
#define HAB_FORWARD_FACTORS fac,
#define HAB_ROW_MAX  // (the forward no longer stores the rows' maxima: the backward does not read them)
#else
#define HAB_FORWARD_FACTORS
#define HAB_ROW_MAX o.row_max.data(),
#endif
    if (!cpu::small_k_avx2::small_k_forward(g, K, d.logB.data(), d.pi.data(), d.A.data(), o.alpha.data(), HAB_ROW_MAX
                              o.row_scale.data(), HAB_FORWARD_FACTORS o.loglik.data()))
        return false;
    const cpu::GaussianStatsSink sink{d.D, d.x.data(), o.stats.data()};
#ifndef HAB_NO_FACTORS
    return cpu::small_k_avx2::small_k_backward(g, K, d.A.data(), o.alpha.data(), o.row_scale.data(), fac, nullptr,
                                               o.xi.data(), o.start.data(), &sink);
#else
    return cpu::small_k_avx2::small_k_backward(g, K, d.logB.data(), d.A.data(), o.alpha.data(), o.row_max.data(),
                                 o.row_scale.data(), nullptr, o.xi.data(), o.start.data(),
#ifdef HAB_BACKWARD_W_ROWS  // the backward before e413956's successor took a scratch w_rows [N, K]
                                 o.w_rows.data(),
#endif
                                 &sink);
#endif
}
}  // namespace VARIANT
#else
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace hpc_a {
bool run(const HabData&, HabOut&);
}
namespace hpc_b {
bool run(const HabData&, HabOut&);
}

static double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

int main(int argc, char** argv) {
    if (argc < 6 || argc > 8) {
        std::fprintf(stderr, "usage: %s K D S T SECONDS [viterbi [leftright] | fused]\n", argv[0]);
        return 2;
    }
    HabData d;
    d.K = std::atoll(argv[1]);
    d.D = std::atoll(argv[2]);
    d.S = std::atoll(argv[3]);
    d.T = std::atoll(argv[4]);
    const double seconds = std::atof(argv[5]);
    const int64_t N = d.S * d.T, K = d.K, D = d.D;
    d.fused = argc == 7 && std::string(argv[6]) == "fused";
    d.viterbi = argc >= 7 && (std::string(argv[6]) == "viterbi" || d.fused);
    const bool left_right = argc == 8 && std::string(argv[7]) == "leftright";
    // A random diagonal Gaussian model (means spread over [-2, 2], variances in [0.5, 1.5]) and data drawn near its
    // means; logB its log-densities.
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::normal_distribution<double> z(0.0, 1.0);
    std::vector<double> mu((size_t)(K * D)), var((size_t)(K * D));
    for (auto& m : mu) m = 4 * u(rng) - 2;
    for (auto& v : var) v = 0.5 + u(rng);
    d.x.resize((size_t)(N * D));
    for (int64_t n = 0; n < N; ++n) {
        const int64_t k = (int64_t)(u(rng) * K) % K;
        for (int64_t j = 0; j < D; ++j) d.x[(size_t)(n * D + j)] = mu[(size_t)(k * D + j)] + z(rng);
    }
    d.logB.resize((size_t)(N * K));
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            double s = 0;
            for (int64_t j = 0; j < D; ++j) {
                const double v = var[(size_t)(k * D + j)], e = d.x[(size_t)(n * D + j)] - mu[(size_t)(k * D + j)];
                s += -0.5 * (std::log(2 * M_PI * v) + e * e / v);
            }
            d.logB[(size_t)(n * K + k)] = s;
        }
    d.pi.assign((size_t)K, 1.0 / (double)K);
    d.A.resize((size_t)(K * K));
    for (int64_t i = 0; i < K; ++i) {
        double s = 0;
        for (int64_t j = 0; j < K; ++j) s += d.A[(size_t)(i * K + j)] = 0.05 + u(rng) + (i == j ? 2.0 : 0.0);
        for (int64_t j = 0; j < K; ++j) d.A[(size_t)(i * K + j)] /= s;
    }
    if (d.viterbi) {
        // hpc bench hmm's decode model (BenchCommands.cs): means in [-5, 5], data drawn from the chain with variances
        // in [0.5, 1.5], decoded with variances 1; start and transition rows 0.1 + U(0, 1), K more on the diagonal.
        auto stochastic = [&](int64_t rows, int64_t cols) {
            std::vector<double> a((size_t)(rows * cols));
            for (int64_t i = 0; i < rows; ++i) {
                double s = 0;
                for (int64_t j = 0; j < cols; ++j) s += a[(size_t)(i * cols + j)] = 0.1 + u(rng) + (i == j ? (double)cols : 0.0);
                for (int64_t j = 0; j < cols; ++j) a[(size_t)(i * cols + j)] /= s;
            }
            return a;
        };
        d.pi = stochastic(1, K);
        d.A = stochastic(K, K);
        if (left_right) {  // no way back: A[i, j] = 0 below the diagonal, rows renormalised
            for (int64_t i = 0; i < K; ++i) {
                double s = 0;
                for (int64_t j = 0; j < K; ++j) s += j < i ? (d.A[(size_t)(i * K + j)] = 0) : d.A[(size_t)(i * K + j)];
                for (int64_t j = 0; j < K; ++j) d.A[(size_t)(i * K + j)] /= s;
            }
        }
        for (auto& m : mu) m = 10 * u(rng) - 5;
        int64_t k = 0;
        for (int64_t n = 0; n < N; ++n) {
            double r = u(rng), c = 0;
            const double* row = n % d.T == 0 ? d.pi.data() : d.A.data() + k * K;
            for (k = 0; k < K - 1 && (c += row[k]) < r;) ++k;
            for (int64_t j = 0; j < D; ++j)
                d.x[(size_t)(n * D + j)] = mu[(size_t)(k * D + j)] + std::sqrt(var[(size_t)(k * D + j)]) * z(rng);
        }
        for (int64_t n = 0; n < N; ++n)
            for (int64_t j = 0; j < K; ++j) {
                double s = 0;
                for (int64_t q = 0; q < D; ++q) {
                    const double e = d.x[(size_t)(n * D + q)] - mu[(size_t)(j * D + q)];
                    s += -0.5 * (std::log(2 * M_PI) + e * e);
                }
                d.logB[(size_t)(n * K + j)] = s;
            }
        if (d.fused) {  // hmm_cpu.cpp's DiagGaussianTerms for these means and variances 1
            d.c.assign((size_t)K, 0.0);
            d.mu_inv_t.resize((size_t)(K * D));
            d.inv_t.assign((size_t)(K * D), 1.0);
            for (int64_t j = 0; j < K; ++j) {
                double sum = (double)D * std::log(2.0 * M_PI);
                for (int64_t q = 0; q < D; ++q) {
                    const double m = mu[(size_t)(j * D + q)];
                    d.mu_inv_t[(size_t)(q * K + j)] = m;
                    sum += m * m;
                }
                d.c[(size_t)j] = sum;
            }
        }
        for (double p : d.pi) d.logpi.push_back(std::log(p));
        for (double p : d.A) d.logA.push_back(std::log(p));
    }
    HabOut oa, ob;
    if (!hpc_a::run(d, oa) || !hpc_b::run(d, ob)) {
        std::fprintf(stderr, "a pass refused the data\n");
        return 1;
    }
    using clock = std::chrono::steady_clock;
    auto time_one = [&](bool b) {
        const auto t0 = clock::now();
        if (b)
            hpc_b::run(d, ob);
        else
            hpc_a::run(d, oa);
        return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    };
    std::vector<double> ta, tb, ratio;
    const auto start = clock::now();
    for (int it = 0; std::chrono::duration<double>(clock::now() - start).count() < seconds || it < 8; ++it) {
        double a, b;
        if (it % 2) {
            a = time_one(false);
            b = time_one(true);
        } else {
            b = time_one(true);
            a = time_one(false);
        }
        ta.push_back(a);
        tb.push_back(b);
        ratio.push_back(b / a);
    }
    auto q = [](std::vector<double> v, double f) {
        std::sort(v.begin(), v.end());
        return v[(size_t)(f * (double)(v.size() - 1))];
    };
    std::printf("K %lld D %lld S %lld T %lld pairs %zu: A %.3f ms, B %.3f ms, B/A %.3f (quartiles %.3f %.3f)\n",
                (long long)K, (long long)D, (long long)d.S, (long long)d.T, ratio.size(), q(ta, 0.5), q(tb, 0.5),
                q(ratio, 0.5), q(ratio, 0.25), q(ratio, 0.75));
    if (d.viterbi) {
        std::printf("  paths %s, log-probabilities %s\n", oa.path == ob.path ? "equal" : "DIFFER",
                    oa.loglik == ob.loglik ? "equal" : "DIFFER");
        return oa.path == ob.path && oa.loglik == ob.loglik ? 0 : 1;
    }
    std::printf("  max |B - A|: alpha %.3g, loglik %.3g, xi %.3g, start %.3g, stats %.3g\n",
                max_diff(oa.alpha, ob.alpha), max_diff(oa.loglik, ob.loglik), max_diff(oa.xi, ob.xi),
                max_diff(oa.start, ob.start), max_diff(oa.stats, ob.stats));
    return 0;
}
#endif
