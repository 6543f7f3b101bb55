// HMM kernels through the ABI: brute force over all state paths on tiny models, scaled vs log, batch vs single,
// Gaussian densities against direct formulas, and argument validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <functional>

#include "../src/cpu/thread_team.h"
#include "../src/cpu/vmath_f64.h"

#include "test_util.h"

namespace {

struct Model {
    int64_t K;
    std::vector<double> pi, A;
};

// Whether the HMM kernels this CPU runs (named in hpc_backend_info) fuse the Gaussian densities into Viterbi from 17
// to 32 states: the AVX2 build does (hmm_small_k.h, small_k_fuses_17_to_32_states).
bool hmm_kernels_fuse_17_to_32() {
    std::string info(hpc_backend_info(nullptr, 0) + 1, '\0');
    hpc_backend_info(info.data(), info.size());
    return info.find("HMM kernels=avx2") != std::string::npos;
}

Model random_model(int64_t K, std::mt19937_64& rng, bool with_zeros = false) {
    std::uniform_real_distribution<double> u(0.05, 1.0);
    Model m{K, std::vector<double>((size_t)K), std::vector<double>((size_t)(K * K))};
    double s = 0;
    for (auto& p : m.pi) s += (p = u(rng));
    for (auto& p : m.pi) p /= s;
    for (int64_t i = 0; i < K; ++i) {
        double r = 0;
        for (int64_t j = 0; j < K; ++j) {
            double v = u(rng);
            if (with_zeros && j < i) v = 0;  // left-right
            r += (m.A[(size_t)(i * K + j)] = v);
        }
        for (int64_t j = 0; j < K; ++j) m.A[(size_t)(i * K + j)] /= r;
    }
    if (with_zeros) {
        std::fill(m.pi.begin(), m.pi.end(), 0.0);
        m.pi[0] = 1.0;
    }
    return m;
}

// Enumerates every state path of one sequence: likelihood, posteriors, expected transition counts xi [K, K]
// (summed over t) and the best path.
void brute_force(const Model& m, const double* logB, int64_t T, double& loglik, std::vector<double>& post,
                 std::vector<double>& xi, double& best_lp, std::vector<int64_t>& best) {
    const int64_t K = m.K;
    std::vector<int64_t> path((size_t)T, 0);
    double total = 0;
    best_lp = -INFINITY;
    post.assign((size_t)(T * K), 0.0);
    xi.assign((size_t)(K * K), 0.0);
    for (;;) {
        double lp = std::log(m.pi[(size_t)path[0]]) + logB[path[0]];
        for (int64_t t = 1; t < T; ++t) lp += std::log(m.A[(size_t)(path[t - 1] * K + path[t])]) + logB[t * K + path[t]];
        const double p = std::exp(lp);
        total += p;
        for (int64_t t = 0; t < T; ++t) post[(size_t)(t * K + path[t])] += p;
        for (int64_t t = 1; t < T; ++t) xi[(size_t)(path[t - 1] * K + path[t])] += p;
        if (lp > best_lp) {
            best_lp = lp;
            best = path;
        }
        int64_t t = T - 1;
        while (t >= 0 && ++path[(size_t)t] == K) path[(size_t)t--] = 0;
        if (t < 0) break;
    }
    loglik = std::log(total);
    for (auto& v : post) v /= total;
    for (auto& v : xi) v /= total;
}

TEST(Hmm, ForwardBackwardAndViterbiEqualBruteForce) {
    std::mt19937_64 rng(11);
    std::normal_distribution<double> g(0, 1.5);
    for (int trial = 0; trial < 40; ++trial) {
        const int64_t K = 1 + trial % 3, S = 1 + trial % 3;
        Model m = random_model(K, rng, trial % 5 == 4);
        std::vector<int64_t> lengths;
        int64_t N = 0;
        for (int64_t s = 0; s < S; ++s) {
            lengths.push_back(1 + (trial + s) % 6);
            N += lengths.back();
        }
        std::vector<double> logB((size_t)(N * K));
        for (auto& v : logB) v = g(rng);
        // Without the backward likelihood both modes run the fused small-K kernels (hmm_small_k.h), with it the
        // general paths.
        for (auto [mode, with_llb] : {std::pair{HPC_HMM_SCALING, true}, std::pair{HPC_HMM_SCALING, false}, std::pair{HPC_HMM_LOG, true},
                                      std::pair{HPC_HMM_LOG, false}}) {
            SCOPED_TRACE("trial " + std::to_string(trial) + " mode " + std::to_string(mode) + " llb " + std::to_string(with_llb));
            std::vector<double> ll((size_t)S), post((size_t)(N * K)), xi((size_t)(K * K)), st((size_t)K), lp((size_t)S), llb((size_t)S);
            std::vector<int64_t> path((size_t)N);
            ASSERT_EQ(hpc_hmm_forward_backward(mode, K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K,
                                               m.A.data(), K * K, ll.data(), S, post.data(), N * K, xi.data(), K * K,
                                               st.data(), K, with_llb ? llb.data() : nullptr, with_llb ? S : 0), HPC_OK) << last_error();
            if (with_llb)
                for (int64_t s = 0; s < S; ++s) EXPECT_NEAR(llb[(size_t)s], ll[(size_t)s], 1e-10 * std::max(1.0, std::fabs(ll[(size_t)s])));
            std::vector<double> xi_all((size_t)(K * K), 0.0), st_all((size_t)K, 0.0);
            ASSERT_EQ(hpc_hmm_viterbi(K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K,
                                      path.data(), N, lp.data(), S), HPC_OK) << last_error();
            int64_t r0 = 0;
            for (int64_t s = 0; s < S; ++s) {
                double bl, blp;
                std::vector<double> bp, bxi;
                std::vector<int64_t> bpath;
                brute_force(m, logB.data() + r0 * K, lengths[(size_t)s], bl, bp, bxi, blp, bpath);
                for (int64_t i = 0; i < K * K; ++i) xi_all[(size_t)i] += bxi[(size_t)i];
                for (int64_t j = 0; j < K; ++j) st_all[(size_t)j] += bp[(size_t)j];
                EXPECT_NEAR(ll[(size_t)s], bl, 1e-10 * std::max(1.0, std::fabs(bl)));
                EXPECT_NEAR(lp[(size_t)s], blp, 1e-10 * std::max(1.0, std::fabs(blp)));
                for (int64_t i = 0; i < lengths[(size_t)s] * K; ++i) EXPECT_NEAR(post[(size_t)(r0 * K + i)], bp[(size_t)i], 1e-10);
                for (int64_t t = 0; t < lengths[(size_t)s]; ++t) EXPECT_EQ(path[(size_t)(r0 + t)], bpath[(size_t)t]);
                r0 += lengths[(size_t)s];
            }
            for (int64_t i = 0; i < K * K; ++i) EXPECT_NEAR(xi[(size_t)i], xi_all[(size_t)i], 1e-10 * std::max(1.0, xi_all[(size_t)i]));
            for (int64_t j = 0; j < K; ++j) EXPECT_NEAR(st[(size_t)j], st_all[(size_t)j], 1e-10);
        }
    }
}

TEST(Hmm, ScaledAndLogPathsAgreeAndBatchEqualsSingles) {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> g(0, 3);
    const int64_t K = 7, S = 9;
    Model m = random_model(K, rng);
    std::vector<int64_t> lengths;
    int64_t N = 0;
    for (int64_t s = 0; s < S; ++s) N += (lengths.push_back(1 + (s * 37) % 60), lengths.back());
    std::vector<double> logB((size_t)(N * K));
    for (auto& v : logB) v = g(rng);
    std::vector<double> ll1((size_t)S), ll2((size_t)S), p1((size_t)(N * K)), p2((size_t)(N * K)), x1((size_t)(K * K)),
        x2((size_t)(K * K));
    ASSERT_EQ(hpc_hmm_forward_backward(HPC_HMM_SCALING, K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K,
                                       ll1.data(), S, p1.data(), N * K, x1.data(), K * K, nullptr, 0, nullptr, 0), HPC_OK);
    ASSERT_EQ(hpc_hmm_forward_backward(HPC_HMM_LOG, K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K,
                                       ll2.data(), S, p2.data(), N * K, x2.data(), K * K, nullptr, 0, nullptr, 0), HPC_OK);
    for (int64_t s = 0; s < S; ++s) EXPECT_NEAR(ll1[(size_t)s], ll2[(size_t)s], 1e-9 * std::fabs(ll1[(size_t)s]));
    for (int64_t i = 0; i < N * K; ++i) EXPECT_NEAR(p1[(size_t)i], p2[(size_t)i], 1e-9);
    for (int64_t i = 0; i < K * K; ++i) EXPECT_NEAR(x1[(size_t)i], x2[(size_t)i], 1e-9 * std::max(1.0, x1[(size_t)i]));
    int64_t r0 = 0;
    for (int64_t s = 0; s < S; ++s) {
        double ll;
        std::vector<double> p((size_t)(lengths[(size_t)s] * K));
        ASSERT_EQ(hpc_hmm_forward_backward(HPC_HMM_SCALING, K, 1, &lengths[(size_t)s], lengths[(size_t)s], logB.data() + r0 * K,
                                           lengths[(size_t)s] * K, m.pi.data(), K, m.A.data(), K * K, &ll, 1, p.data(),
                                           (int64_t)p.size(), nullptr, 0, nullptr, 0, nullptr, 0), HPC_OK);
        EXPECT_NEAR(ll, ll1[(size_t)s], 1e-12 * std::fabs(ll));
        for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(p[i], p1[(size_t)(r0 * K) + i], 1e-12);
        r0 += lengths[(size_t)s];
    }
}

// hmmlearn's log-space forward-backward of the sequences, each term a log-sum-exp over the states it comes from (no
// product that can underflow): log-likelihoods, posteriors, summed transition counts and first-row posteriors.
struct ExactFB {
    std::vector<double> ll, post, xi, start;
};
ExactFB log_sum_exp_forward_backward(const Model& m, const std::vector<int64_t>& lengths, const std::vector<double>& logB) {
    const int64_t K = m.K;
    auto lse = [&](auto v) {
        double mx = -INFINITY;
        for (int64_t i = 0; i < K; ++i) mx = std::max(mx, v(i));
        if (!std::isfinite(mx)) return mx;
        double s = 0;
        for (int64_t i = 0; i < K; ++i) s += std::exp(v(i) - mx);
        return mx + std::log(s);
    };
    std::vector<double> lA((size_t)(K * K));
    for (size_t i = 0; i < lA.size(); ++i) lA[i] = std::log(m.A[i]);
    ExactFB e;
    e.post.resize(logB.size());
    e.xi.assign((size_t)(K * K), 0.0);
    e.start.assign((size_t)K, 0.0);
    int64_t r0 = 0;
    for (int64_t T : lengths) {
        std::vector<double> a((size_t)(T * K)), b((size_t)(T * K), 0.0);
        const double* lb = logB.data() + r0 * K;
        for (int64_t j = 0; j < K; ++j) a[(size_t)j] = std::log(m.pi[(size_t)j]) + lb[j];
        for (int64_t t = 1; t < T; ++t)
            for (int64_t j = 0; j < K; ++j)
                a[(size_t)(t * K + j)] = lse([&](int64_t i) { return a[(size_t)((t - 1) * K + i)] + lA[(size_t)(i * K + j)]; }) + lb[t * K + j];
        for (int64_t t = T - 2; t >= 0; --t)
            for (int64_t i = 0; i < K; ++i)
                b[(size_t)(t * K + i)] = lse([&](int64_t j) { return lA[(size_t)(i * K + j)] + lb[(t + 1) * K + j] + b[(size_t)((t + 1) * K + j)]; });
        const double ll = lse([&](int64_t j) { return a[(size_t)((T - 1) * K + j)]; });
        e.ll.push_back(ll);
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < K; ++j) e.post[(size_t)((r0 + t) * K + j)] = std::exp(a[(size_t)(t * K + j)] + b[(size_t)(t * K + j)] - ll);
        for (int64_t j = 0; j < K; ++j) e.start[(size_t)j] += e.post[(size_t)(r0 * K + j)];
        for (int64_t t = 0; t + 1 < T; ++t)
            for (int64_t i = 0; i < K; ++i)
                for (int64_t j = 0; j < K; ++j)
                    e.xi[(size_t)(i * K + j)] += std::exp(a[(size_t)(t * K + i)] + lA[(size_t)(i * K + j)] + lb[(t + 1) * K + j] +
                                                          b[(size_t)((t + 1) * K + j)] - ll);
        r0 += T;
    }
    return e;
}

// Transitions with zeros and log-densities spread over thousands of nats within a row: the shifted products of the log
// passes underflow for states whose every predecessor (or successor) lies more than 745 nats below a state they are not
// connected to. Both implementations (the scaled one gives such groups to the log one), the small-K kernels (without
// the backward likelihood; K 2-64) and the general paths (with it; and K 67), one and two threads: against the
// log-sum-exp of each term. (Before kUnderflowLimit, rows of posteriors came out 0 or NaN here.) The log-likelihoods
// are sums of up to 200 rows of about -300 nats, whose rounding the posteriors inherit: hence 1e-7.
TEST(Hmm, LogPathsMatchLogSumExpWhereShiftedProductsUnderflow) {
    std::mt19937_64 rng(41);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    // Spreads of up to 2,000 nats underflow the products; of up to 500 (rows of states 300-645 nats apart, not
    // connected) they reach the transition statistics' limit first (kXiShiftLimit).
    // Dense transitions (K 3 and 8 with "dense"): the scaled implementation runs (and loses states to underflow
    // harmlessly); with zeros it hands the call to the log one (kScaledMinTransition).
    struct Case {
        int64_t K;
        double spread;
        bool dense;
    };
    for (auto [K, spread, dense] : {Case{2, 2000, false}, {5, 2000, false}, {8, 2000, false}, {9, 2000, false}, {67, 2000, false},
                                    {2, 500, false}, {8, 500, false}, {9, 500, false}, {67, 500, false}, {3, 2000, true},
                                    {8, 2000, true}, {8, 500, true}}) {
        Model m = random_model(K, rng, K % 2 == 1 && !dense);  // odd K left-right
        if (K % 2 == 0 && !dense)
            for (int64_t i = 0; i < K; ++i) {  // random zeros off the diagonal
                double r = 0;
                for (int64_t j = 0; j < K; ++j) {
                    double& a = m.A[(size_t)(i * K + j)];
                    if (j != i && u(rng) < 0.5) a = 0;
                    r += a;
                }
                for (int64_t j = 0; j < K; ++j) m.A[(size_t)(i * K + j)] /= r;
            }
        std::vector<int64_t> lengths;
        int64_t N = 0;
        const int64_t want_rows = K <= 16 ? 7000 : 400;  // two groups on two threads (N K^2 >= 400,000)
        while (N < want_rows) N += (lengths.push_back(1 + (int64_t)(u(rng) * 200)), lengths.back());
        const int64_t S = (int64_t)lengths.size();
        std::vector<double> logB((size_t)(N * K));
        for (auto& v : logB) v = -spread * u(rng) * u(rng);
        const ExactFB want = log_sum_exp_forward_backward(m, lengths, logB);
        for (int32_t mode : {HPC_HMM_SCALING, HPC_HMM_LOG})
            for (bool with_llb : {false, true})
                for (int threads : {1, 2}) {
                    SCOPED_TRACE("K " + std::to_string(K) + " spread " + std::to_string(spread) + " dense " + std::to_string(dense) + " mode " + std::to_string(mode) + " llb " + std::to_string(with_llb) +
                                 " threads " + std::to_string(threads));
                    ASSERT_EQ(hpc_set_num_threads(threads), HPC_OK);
                    std::vector<double> ll((size_t)S), llb((size_t)S), post((size_t)(N * K)), xi((size_t)(K * K)), st((size_t)K);
                    ASSERT_EQ(hpc_hmm_forward_backward(mode, K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(),
                                                       K * K, ll.data(), S, post.data(), N * K, xi.data(), K * K, st.data(), K,
                                                       with_llb ? llb.data() : nullptr, with_llb ? S : 0),
                              HPC_OK)
                        << last_error();
                    std::vector<double> score((size_t)S);
                    ASSERT_EQ(hpc_hmm_forward_backward(mode, K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(),
                                                       K * K, score.data(), S, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0),
                              HPC_OK);
                    for (int64_t s = 0; s < S; ++s) {
                        const double tol = 1e-12 * std::fabs(want.ll[(size_t)s]);
                        ASSERT_NEAR(ll[(size_t)s], want.ll[(size_t)s], tol) << "sequence " << s;
                        ASSERT_NEAR(score[(size_t)s], want.ll[(size_t)s], tol) << "sequence " << s;
                        if (with_llb) ASSERT_NEAR(llb[(size_t)s], want.ll[(size_t)s], tol) << "sequence " << s;
                    }
                    for (int64_t i = 0; i < N * K; ++i) ASSERT_NEAR(post[(size_t)i], want.post[(size_t)i], 1e-7) << "row " << i / K;
                    for (int64_t i = 0; i < K * K; ++i)
                        ASSERT_NEAR(xi[(size_t)i], want.xi[(size_t)i], 1e-7 * std::max(1.0, want.xi[(size_t)i])) << "xi " << i;
                    for (int64_t j = 0; j < K; ++j) ASSERT_NEAR(st[(size_t)j], want.start[(size_t)j], 1e-7) << "start " << j;
                }
    }
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

// The transition statistics' shift: at t = 1 the largest log forward variable of row 0 is state 0's, which dies there
// (log-density -inf), and the largest log-density plus log beta of row 1 is state 2's, which cannot be reached; the live
// state 1 lies 400 nats below both, so exp(M + v - ll) = e^800 overflows (0 times inf: NaN statistics) unless the pass
// hands the group to the term-by-term fallback (kXiShiftLimit). Every path runs through state 1. Small-K kernels
// (without the backward likelihood) and the general path (with it), both modes (the zeros send the scaled one to log).
TEST(Hmm, TransitionStatisticsOfUnconnectedMaximaAreExact) {
    const int64_t K = 3, T = 2;
    const std::vector<double> pi{0.5, 0.5, 0.0}, A{1, 0, 0, 0, 1, 0, 0, 0, 1};
    const std::vector<double> logB{0, -400, 0, -INFINITY, -400, 0};
    for (int32_t mode : {HPC_HMM_SCALING, HPC_HMM_LOG})
        for (bool with_llb : {false, true}) {
            SCOPED_TRACE("mode " + std::to_string(mode) + " llb " + std::to_string(with_llb));
            double ll = 0, llb = 0;
            std::vector<double> post(6), xi(9), st(3);
            ASSERT_EQ(hpc_hmm_forward_backward(mode, K, 1, &T, T, logB.data(), 6, pi.data(), 3, A.data(), 9, &ll, 1, post.data(), 6,
                                               xi.data(), 9, st.data(), 3, with_llb ? &llb : nullptr, with_llb ? 1 : 0),
                      HPC_OK)
                << last_error();
            EXPECT_NEAR(ll, std::log(0.5) - 800, 1e-12 * 800);
            for (int64_t t = 0; t < T; ++t)
                for (int64_t j = 0; j < K; ++j) EXPECT_NEAR(post[(size_t)(t * K + j)], j == 1 ? 1.0 : 0.0, 1e-12) << t << " " << j;
            for (int64_t i = 0; i < K * K; ++i) EXPECT_NEAR(xi[(size_t)i], i == 4 ? 1.0 : 0.0, 1e-12) << "xi " << i;
            for (int64_t j = 0; j < K; ++j) EXPECT_NEAR(st[(size_t)j], j == 1 ? 1.0 : 0.0, 1e-12);
        }
}

TEST(Hmm, AFarTailObservationDoesNotUnderflowTheScaledPath) {
    // One step where every state's log-density is about -1e5: exp() of it underflows to 0 without the shift.
    const int64_t K = 2, T = 4;
    std::vector<double> pi{0.5, 0.5}, A{0.9, 0.1, 0.2, 0.8}, logB{-1, -2, -1e5, -1e5 - 3, -1, -1.5, -2, -1};
    double ll1, ll2;
    std::vector<double> p1(8), p2(8);
    const int64_t len = T;
    ASSERT_EQ(hpc_hmm_forward_backward(HPC_HMM_SCALING, K, 1, &len, T, logB.data(), 8, pi.data(), 2, A.data(), 4, &ll1, 1, p1.data(), 8, nullptr, 0, nullptr, 0, nullptr, 0), HPC_OK);
    ASSERT_EQ(hpc_hmm_forward_backward(HPC_HMM_LOG, K, 1, &len, T, logB.data(), 8, pi.data(), 2, A.data(), 4, &ll2, 1, p2.data(), 8, nullptr, 0, nullptr, 0, nullptr, 0), HPC_OK);
    EXPECT_TRUE(std::isfinite(ll1));
    EXPECT_NEAR(ll1, ll2, 1e-9 * std::fabs(ll2));
    // The log path carries absolute rounding of about 1e-16 * 1e5 in its exponents here, hence 1e-9.
    for (int i = 0; i < 8; ++i) EXPECT_NEAR(p1[(size_t)i], p2[(size_t)i], 1e-9);
}

TEST(Hmm, ImpossibleSequenceGivesMinusInfinityAndNoPosteriors) {
    const int64_t K = 2, len = 2;
    std::vector<double> pi{1, 0}, A{1, 0, 0, 1}, logB{0, 0, -INFINITY, 0};  // state 0 cannot emit at t = 1
    double ll;
    std::vector<double> p(4);
    ASSERT_EQ(hpc_hmm_forward_backward(HPC_HMM_SCALING, K, 1, &len, 2, logB.data(), 4, pi.data(), 2, A.data(), 4, &ll, 1, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0), HPC_OK);
    EXPECT_EQ(ll, -INFINITY);
    EXPECT_EQ(hpc_hmm_forward_backward(HPC_HMM_SCALING, K, 1, &len, 2, logB.data(), 4, pi.data(), 2, A.data(), 4, &ll, 1, p.data(), 4, nullptr, 0, nullptr, 0, nullptr, 0),
              HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("sequence 0 has zero probability"), std::string::npos);
}

// log N(x; mu, diag(var(d))) of one row, by the direct formula.
template <typename Var>
double diag_log_density(const double* x, const double* mu, int64_t D, Var var) {
    double e = -D * 0.5 * std::log(2 * M_PI);
    for (int64_t d = 0; d < D; ++d) {
        const double v = var(d), r = x[d] - mu[d];
        e += -0.5 * std::log(v) - 0.5 * r * r / v;
    }
    return e;
}

TEST(Hmm, GaussianLogDensitiesMatchDirectFormulas) {
    const int64_t K = 2, D = 2, N = 3;
    std::vector<double> x{0.5, -1, 2, 0.3, -0.7, 1.1}, means{0, 0, 1, -1};
    std::vector<double> diag{1.0, 0.5, 2.0, 0.3}, full{2.0, 0.3, 0.3, 1.0, 0.5, -0.1, -0.1, 0.8};
    std::vector<double> out((size_t)(N * K));
    ASSERT_EQ(hpc_hmm_gaussian_loglik(HPC_COVARIANCE_DIAG, K, D, N, x.data(), 6, means.data(), 4, diag.data(), 4, 1e-3, out.data(), 6), HPC_OK);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k)
            EXPECT_NEAR(out[(size_t)(n * K + k)],
                        diag_log_density(&x[(size_t)(n * D)], &means[(size_t)(k * D)], D, [&](int64_t d) { return diag[(size_t)(k * D + d)]; }),
                        1e-12);
    ASSERT_EQ(hpc_hmm_gaussian_loglik(HPC_COVARIANCE_FULL, K, D, N, x.data(), 6, means.data(), 4, full.data(), 8, 1e-3, out.data(), 6), HPC_OK);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            const double* S = full.data() + k * 4;
            const double det = S[0] * S[3] - S[1] * S[2];
            const double r0 = x[(size_t)(n * D)] - means[(size_t)(k * D)], r1 = x[(size_t)(n * D + 1)] - means[(size_t)(k * D + 1)];
            const double q = (S[3] * r0 * r0 - 2 * S[1] * r0 * r1 + S[0] * r1 * r1) / det;
            EXPECT_NEAR(out[(size_t)(n * K + k)], -std::log(2 * M_PI) - 0.5 * std::log(det) - 0.5 * q, 1e-12);
        }
}

TEST(Hmm, ValidationNamesTheBadArgument) {
    const int64_t K = 2;
    std::vector<double> pi{0.5, 0.5}, A{0.9, 0.1, 0.2, 0.8}, logB(8, -1.0), ll(2);
    std::vector<int64_t> lengths{2, 2};
    auto fb = [&](const int64_t* len, int64_t S, int64_t N) {
        return hpc_hmm_forward_backward(HPC_HMM_SCALING, K, S, len, N, logB.data(), N * K, pi.data(), 2, A.data(), 4, ll.data(), S, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0);
    };
    EXPECT_EQ(fb(lengths.data(), 2, 4), HPC_OK) << last_error();
    EXPECT_EQ(fb(lengths.data(), 2, 3), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("lengths: expected to sum to n_samples = 3, got 4"), std::string::npos);
    std::vector<int64_t> bad{2, 0};
    EXPECT_EQ(fb(bad.data(), 2, 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("lengths[1]: expected > 0, got 0"), std::string::npos);
    EXPECT_EQ(fb(nullptr, 2, 4), HPC_ERR_INVALID_ARGUMENT);
    A[1] = 0.2;
    EXPECT_EQ(fb(lengths.data(), 2, 4), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("transmat row 0: expected to sum to 1, got 1.1"), std::string::npos);
    A[1] = 0.1;
    logB[3] = NAN;
    EXPECT_EQ(fb(lengths.data(), 2, 4), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("log_emission[3]"), std::string::npos);
    std::vector<int64_t> sym{0, 3, 1};
    std::vector<double> ep{0.5, 0.5, 0.1, 0.9}, out(6);
    EXPECT_EQ(hpc_hmm_categorical_loglik(2, 2, 3, sym.data(), 3, ep.data(), 4, out.data(), 6), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("symbols[1]: expected a symbol in [0, 2), got 3"), std::string::npos);
    std::vector<double> x{1, 2}, mu{0, 0}, cov{1, 2, 0, 1};
    EXPECT_EQ(hpc_hmm_gaussian_loglik(HPC_COVARIANCE_TIED, 1, 2, 1, x.data(), 2, mu.data(), 2, cov.data(), 4, 1e-3, out.data(), 1), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("expected a symmetric matrix"), std::string::npos);
    std::vector<double> notpd{1, 2, 2, 1};
    EXPECT_EQ(hpc_hmm_gaussian_loglik(HPC_COVARIANCE_TIED, 1, 2, 1, x.data(), 2, mu.data(), 2, notpd.data(), 4, 1e-3, out.data(), 1), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("positive-definite"), std::string::npos);
    std::vector<double> negvar{-1, 1};
    EXPECT_EQ(hpc_hmm_gaussian_loglik(HPC_COVARIANCE_DIAG, 1, 2, 1, x.data(), 2, mu.data(), 2, negvar.data(), 2, 1e-3, out.data(), 1), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("covars[0]: expected a variance > 0"), std::string::npos);
}

}  // namespace

namespace {

// Large enough (N*K*K well above the threshold) that sequences are split into groups on separate threads; every
// result must equal running each sequence alone, and the summed statistics the sum of the per-sequence ones.
// Many rows: the diagonal / spherical densities run in chunks of rows on the thread team. Every row against the
// direct formula, and the same bits for 1 and 2 threads.
TEST(Hmm, GaussianLogDensitiesOfManyRowsMatchDirectFormulas) {
    std::mt19937_64 rng(23);
    std::normal_distribution<double> g(0, 1.5);
    // Up to 64 states the rows run in registers (hmm_small_k.h: K 3, 13 and 63 leave lanes empty, 8 and 64 fill
    // them), above in the general loop (65).
    for (auto [K, D] : {std::pair<int64_t, int64_t>{3, 2}, {8, 4}, {13, 5}, {63, 2}, {64, 3}, {65, 3}}) {
        SCOPED_TRACE("K " + std::to_string(K) + " D " + std::to_string(D));
        const int64_t N = 10001;
        std::vector<double> x((size_t)(N * D)), means((size_t)(K * D)), diag((size_t)(K * D));
        for (auto& v : x) v = g(rng);
        for (auto& v : means) v = g(rng);
        for (auto& v : diag) v = 0.2 + std::fabs(g(rng));
        std::vector<double> out((size_t)(N * K)), out1(out.size());
        ASSERT_EQ(hpc_set_num_threads(1), HPC_OK);
        ASSERT_EQ(hpc_hmm_gaussian_loglik(HPC_COVARIANCE_DIAG, K, D, N, x.data(), N * D, means.data(), K * D, diag.data(), K * D, 1e-3,
                                          out1.data(), N * K), HPC_OK);
        ASSERT_EQ(hpc_set_num_threads(2), HPC_OK);
        ASSERT_EQ(hpc_hmm_gaussian_loglik(HPC_COVARIANCE_DIAG, K, D, N, x.data(), N * D, means.data(), K * D, diag.data(), K * D, 1e-3,
                                          out.data(), N * K), HPC_OK);
        ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
        EXPECT_EQ(out, out1);
        for (int64_t n = 0; n < N; ++n)
            for (int64_t k = 0; k < K; ++k) {
                const double e = diag_log_density(&x[(size_t)(n * D)], &means[(size_t)(k * D)], D, [&](int64_t d) { return diag[(size_t)(k * D + d)]; });
                ASSERT_NEAR(out[(size_t)(n * K + k)], e, 1e-11 * std::max(1.0, std::fabs(e))) << "row " << n;
            }
        std::vector<double> sph((size_t)K);
        for (auto& v : sph) v = 0.2 + std::fabs(g(rng));
        ASSERT_EQ(hpc_hmm_gaussian_loglik(HPC_COVARIANCE_SPHERICAL, K, D, N, x.data(), N * D, means.data(), K * D, sph.data(), K, 1e-3,
                                          out.data(), N * K), HPC_OK);
        for (int64_t n = 0; n < N; ++n)
            for (int64_t k = 0; k < K; ++k) {
                const double e = diag_log_density(&x[(size_t)(n * D)], &means[(size_t)(k * D)], D, [&](int64_t) { return sph[(size_t)k]; });
                ASSERT_NEAR(out[(size_t)(n * K + k)], e, 1e-11 * std::max(1.0, std::fabs(e))) << "row " << n;
            }
    }
}

// A column-by-column Viterbi of one sequence (the first maximum wins, as numpy's argmax): its path and log-probability.
std::pair<std::vector<int64_t>, double> plain_viterbi(int64_t K, int64_t T, const double* logB, const Model& m) {
    std::vector<double> d((size_t)(T * K));
    std::vector<int64_t> back((size_t)(T * K)), path((size_t)T);
    for (int64_t j = 0; j < K; ++j) d[(size_t)j] = std::log(m.pi[(size_t)j]) + logB[j];
    for (int64_t t = 1; t < T; ++t)
        for (int64_t j = 0; j < K; ++j) {
            double best = -INFINITY;
            int64_t arg = 0;
            for (int64_t k = 0; k < K; ++k) {
                const double c = d[(size_t)((t - 1) * K + k)] + std::log(m.A[(size_t)(k * K + j)]);
                if (c > best) best = c, arg = k;
            }
            d[(size_t)(t * K + j)] = best + logB[t * K + j];
            back[(size_t)(t * K + j)] = arg;
        }
    int64_t state = 0;
    for (int64_t j = 1; j < K; ++j)
        if (d[(size_t)((T - 1) * K + j)] > d[(size_t)((T - 1) * K + state)]) state = j;
    const double lp = d[(size_t)((T - 1) * K + state)];
    for (int64_t t = T - 1; t >= 0; --t) {
        path[(size_t)t] = state;
        state = back[(size_t)(t * K + state)];
    }
    return {path, lp};
}

// hpc_hmm_viterbi over the sequences of lengths (log densities logB [N, K]) against plain_viterbi of each alone: the
// same paths and log-probabilities, bit for bit.
void expect_viterbi_equals_plain(const std::vector<int64_t>& lengths, const std::vector<double>& logB, const Model& m) {
    const int64_t K = m.K, S = (int64_t)lengths.size(), N = (int64_t)logB.size() / K;
    std::vector<int64_t> path((size_t)N, -1);
    std::vector<double> lp((size_t)S);
    ASSERT_EQ(hpc_hmm_viterbi(K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K, path.data(), N,
                              lp.data(), S),
              HPC_OK);
    int64_t r0 = 0;
    for (int64_t s = 0; s < S; ++s) {
        const int64_t T = lengths[(size_t)s];
        const auto [want, want_lp] = plain_viterbi(K, T, logB.data() + r0 * K, m);
        EXPECT_EQ(lp[(size_t)s], want_lp) << "s " << s;
        EXPECT_EQ(std::vector<int64_t>(path.begin() + r0, path.begin() + r0 + T), want) << "s " << s;
        r0 += T;
    }
}

// Viterbi at K where the step runs vectorised over states (with left-right zeros, so that ties at -inf occur):
// path and log-probability equal a plain column-by-column implementation bit for bit.
TEST(Hmm, ViterbiEqualsAPlainImplementationAtLargerK) {
    std::mt19937_64 rng(29);
    std::normal_distribution<double> g(0, 3);
    const int64_t T = 60;
    // Up to 64 states the step runs in registers (hmm_small_k.h; 5, 29 and 37 leave lanes empty, 8 and 16 fill
    // them; up to 16 with back pointers, above with the scores alone and a backtrack that recomputes the choices),
    // above in the general loop (67).
    // Ties: uniform transitions and whole-number log densities make equal finite candidates common (the first
    // maximum must win, as numpy's argmax).
    for (auto [K, zeros, ties] : {std::tuple<int64_t, bool, bool>{37, false, false}, {37, true, false}, {37, false, true}, {5, false, false},
                                  {5, true, false}, {8, true, false}, {8, false, true}, {16, false, false}, {29, true, false}, {29, false, true},
                                  {64, false, true}, {64, true, false}, {67, false, false}, {67, true, false}, {67, false, true}}) {
        Model m = random_model(K, rng, zeros);
        std::vector<double> logB((size_t)(T * K));
        for (auto& v : logB) v = ties ? std::round(g(rng)) : g(rng);
        if (ties) std::fill(m.A.begin(), m.A.end(), 1.0 / (double)K);
        std::vector<int64_t> path((size_t)T);
        double lp = 0;
        ASSERT_EQ(hpc_hmm_viterbi(K, 1, &T, T, logB.data(), T * K, m.pi.data(), K, m.A.data(), K * K, path.data(), T, &lp, 1), HPC_OK);
        const auto [want, want_lp] = plain_viterbi(K, T, logB.data(), m);
        EXPECT_EQ(lp, want_lp) << "K=" << K;
        EXPECT_EQ(path, want) << "zeros=" << zeros << " K=" << K;
    }
}

// Many sequences in one call, of unequal lengths (1 included; the kernels above 16 states run two sequences side by
// side, the second's steps ending first, then the rest alone), on one and two threads: each sequence's path and
// log-probability equal the plain implementation's, bit for bit.
TEST(Hmm, ViterbiOfManySequencesEqualsEachAlone) {
    std::mt19937_64 rng(31);
    std::normal_distribution<double> g(0, 3);
    const std::vector<int64_t> lengths = {40, 1, 23, 40, 7, 61, 2, 23, 15};
    int64_t N = 0;
    for (int64_t n : lengths) N += n;
    for (auto [K, zeros, ties] : {std::tuple<int64_t, bool, bool>{5, false, false}, {8, true, true}, {16, false, false},
                                  {24, false, false}, {29, true, false}, {37, false, true}, {64, false, false}, {64, true, true}}) {
        Model m = random_model(K, rng, zeros);
        std::vector<double> logB((size_t)(N * K));
        for (auto& v : logB) v = ties ? std::round(g(rng)) : g(rng);
        if (ties) std::fill(m.A.begin(), m.A.end(), 1.0 / (double)K);
        for (int threads : {1, 2}) {
            SCOPED_TRACE("K " + std::to_string(K) + " threads " + std::to_string(threads));
            ASSERT_EQ(hpc_set_num_threads(threads), HPC_OK);
            expect_viterbi_equals_plain(lengths, logB, m);
        }
    }
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

// Above 24 states (hmm_small_k_kernels.cpp, viterbi_step_pruned) each step skips the candidates that a bound shows
// cannot reach a column's maximum. Where most are skipped (a diagonal-heavy A and well separated log densities, as
// hpc bench hmm's decode model), where none are (uniform A: every candidate ties), where some columns are reachable
// only from themselves (their off-diagonal entries 0: no bound from them) and with left-right zeros: the paths and
// log-probabilities equal the plain implementation's, bit for bit, on one and two threads, at widths that fill the
// vectors and that do not.
TEST(Hmm, PrunedViterbiEqualsAPlainImplementation) {
    std::mt19937_64 rng(43);
    std::normal_distribution<double> g(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    const std::vector<int64_t> lengths = {300, 1, 170, 2, 300};
    int64_t N = 0;
    for (int64_t n : lengths) N += n;
    enum Kind { DiagonalHeavy, Uniform, SelfOnly, LeftRight };
    for (const int64_t K : {25, 33, 40, 64}) {
        for (const Kind kind : {DiagonalHeavy, Uniform, SelfOnly, LeftRight}) {
            Model m = random_model(K, rng, kind == LeftRight);
            if (kind == DiagonalHeavy || kind == SelfOnly) {
                for (int64_t i = 0; i < K; ++i) {
                    double r = 0;
                    for (int64_t j = 0; j < K; ++j) {
                        double& a = m.A[(size_t)(i * K + j)];
                        a = 0.1 + u(rng) + (i == j ? (double)K : 0.0);
                        if (kind == SelfOnly && i != j && j % 3 == 1) a = 0;  // j only from itself (or the start)
                        r += a;
                    }
                    for (int64_t j = 0; j < K; ++j) m.A[(size_t)(i * K + j)] /= r;
                }
            }
            if (kind == Uniform) std::fill(m.A.begin(), m.A.end(), 1.0 / (double)K);
            // log densities of data drawn near one state's mean a row (1-D, means spread over [-5, 5], unit variance);
            // uniform: whole numbers, so that candidates tie
            std::vector<double> mu((size_t)K), logB((size_t)(N * K));
            for (auto& v : mu) v = 10 * u(rng) - 5;
            for (int64_t r = 0; r < N; ++r) {
                const double x = mu[(size_t)(rng() % (uint64_t)K)] + g(rng);
                for (int64_t k = 0; k < K; ++k) {
                    const double e = x - mu[(size_t)k];
                    logB[(size_t)(r * K + k)] = kind == Uniform ? std::round(-0.5 * e * e) : -0.5 * e * e - 0.9189385332046727;
                }
            }
            for (int threads : {1, 2}) {
                SCOPED_TRACE("K " + std::to_string(K) + " kind " + std::to_string(kind) + " threads " + std::to_string(threads));
                ASSERT_EQ(hpc_set_num_threads(threads), HPC_OK);
                expect_viterbi_equals_plain(lengths, logB, m);
            }
        }
    }
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

// The pruned step's bound at its edge: at K 33, column j's maximum at step 1 is reached by two candidates exactly,
// its own (p_j + log A[j, j]) and another state k's (p_k + log A[k, j]) whose score lies just at the bound, tau =
// lb_j - max_{i != j} log A[i, j] with lb_j = p_j + log A[j, j]; the plain implementation's pointer is the smaller
// of j and k (the first maximum). k < j: p_k is searched among the doubles near its value for an exact tie where
// tau, as computed, rounds above p_k (a bound without its margin skips k there and points at j). k > j: j itself is
// below the bound, so its candidate comes in last (the diagonal merged after the others) and must still win the tie.
TEST(Hmm, PrunedViterbiBreaksTiesAtTheBoundAsThePlainLoop) {
    const int64_t K = 33, top = 5, j = 20, T = 2;
    for (const int64_t k : {3, 25}) {
        SCOPED_TRACE("k " + std::to_string(k));
        Model m{K, std::vector<double>((size_t)K, 1.0 / (double)K), std::vector<double>((size_t)(K * K))};
        // off the diagonal: 0.005, except row top (0.02, 0.001 in column j: the bound of every column but j is at
        // least M) and row k (0.01, 0.2 in column j: column j's largest); the rest on the diagonal, 0.5 at j
        for (int64_t r = 0; r < K; ++r) {
            double off = 0;
            for (int64_t c = 0; c < K; ++c) {
                if (c == r) continue;
                double a = r == top ? (c == j ? 0.001 : 0.02) : r == k ? (c == j ? 0.2 : 0.01) : 0.005;
                if (r == j) a = 0.5 / (double)(K - 1);
                off += (m.A[(size_t)(r * K + c)] = a);
            }
            m.A[(size_t)(r * K + r)] = 1.0 - off;
        }
        const double lpi = std::log(1.0 / (double)K), ljj = std::log(m.A[(size_t)(j * K + j)]),
                     lkj = std::log(m.A[(size_t)(k * K + j)]);
        std::vector<double> logB((size_t)(T * K), -30.0);
        logB[(size_t)top] = 0.0;
        logB[(size_t)j] = -1.0;
        for (int64_t c = 0; c < K; ++c) logB[(size_t)(K + c)] = c == j ? 0.0 : -1000.0;  // step 1: state j
        // p_k + log A[k, j] == p_j + log A[j, j], as the pass computes them (p = log pi + logB at step 0)
        const double lb = (lpi + logB[(size_t)j]) + ljj;
        double x = 0;
        bool tie = false, above = false;
        for (int i = 0; i < 4000 && !(tie && (above || k > j)); ++i) {
            x = lb - lkj - lpi + (double)((i % 2 ? 1 : -1) * (i / 2)) * 0x1p-52;
            const double pk = lpi + x;
            tie = pk + lkj == lb;
            above = lb - lkj > pk;  // tau (column j's is the least) rounds above p_k
        }
        ASSERT_TRUE(tie && (above || k > j)) << "no double with an exact tie (whose bound rounds above it)";
        logB[(size_t)k] = x;
        std::vector<int64_t> path((size_t)T, -1);
        double lp = 0;
        ASSERT_EQ(hpc_hmm_viterbi(K, 1, &T, T, logB.data(), T * K, m.pi.data(), K, m.A.data(), K * K, path.data(), T, &lp, 1),
                  HPC_OK);
        const auto [want, want_lp] = plain_viterbi(K, T, logB.data(), m);
        ASSERT_EQ(want, (std::vector<int64_t>{std::min(k, j), j}));
        EXPECT_EQ(path, want);
        EXPECT_EQ(lp, want_lp);
    }
}

// The random covariances of a type in its compact shape: variances, or symmetric positive-definite matrices.
std::vector<double> random_covars(int32_t type, int64_t K, int64_t D, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(0.3, 2.0), off(-0.3, 0.3);
    if (type == HPC_COVARIANCE_SPHERICAL || type == HPC_COVARIANCE_DIAG) {
        std::vector<double> c((size_t)(type == HPC_COVARIANCE_SPHERICAL ? K : K * D));
        for (auto& v : c) v = u(rng);
        return c;
    }
    const int64_t n = type == HPC_COVARIANCE_TIED ? 1 : K;
    std::vector<double> c((size_t)(n * D * D), 0.0);
    for (int64_t m = 0; m < n; ++m) {
        double* S = c.data() + m * D * D;
        for (int64_t i = 0; i < D; ++i) {
            S[i * D + i] = u(rng) + 0.3 * (double)D;  // diagonally dominant: positive definite
            for (int64_t j = 0; j < i; ++j) S[i * D + j] = S[j * D + i] = off(rng);
        }
    }
    return c;
}

// hpc_hmm_gaussian_viterbi against hpc_hmm_gaussian_loglik then hpc_hmm_viterbi on the same data: the same paths and
// log-probabilities, bit for bit, for every covariance type (the densities inside the pass for spherical and diagonal
// up to 16 states and from 33 to 64: K 1, 5, 8, 9 and 16 with back pointers, 37 and 64 with the scores; 17, 29, 65,
// full and tied through the [N, K] array), unequal lengths (1 included), one and two threads (N K^2 large enough for two groups
// from K 17 on). Ties: every state with the same mean and variance, uniform start and transitions (every candidate equal:
// the first state must win everywhere).
TEST(Hmm, GaussianViterbiEqualsDensitiesThenViterbi) {
    std::mt19937_64 rng(37);
    std::normal_distribution<double> g(0, 1.5);
    // above 32 states the densities are computed in the pass only from 1,000,000 values (N K): more rows there
    const std::vector<int64_t> short_lengths = {400, 1, 230, 400, 7, 610, 2, 23, 150},
                               long_lengths = {12000, 1, 9000, 7000, 2, 23, 150};
    struct Case {
        int64_t K, D;
        int32_t type;
        bool ties;
    };
    for (const Case c : {Case{1, 2, HPC_COVARIANCE_DIAG, false}, {5, 1, HPC_COVARIANCE_DIAG, false}, {8, 3, HPC_COVARIANCE_SPHERICAL, false},
                         {8, 16, HPC_COVARIANCE_DIAG, false}, {9, 2, HPC_COVARIANCE_DIAG, true}, {16, 4, HPC_COVARIANCE_DIAG, false},
                         {17, 1, HPC_COVARIANCE_DIAG, false}, {29, 3, HPC_COVARIANCE_SPHERICAL, false}, {37, 2, HPC_COVARIANCE_DIAG, true},
                         {64, 1, HPC_COVARIANCE_DIAG, false}, {64, 5, HPC_COVARIANCE_SPHERICAL, true}, {65, 2, HPC_COVARIANCE_DIAG, false},
                         {6, 3, HPC_COVARIANCE_FULL, false}, {20, 2, HPC_COVARIANCE_TIED, false}}) {
        const int64_t K = c.K, D = c.D;
        const std::vector<int64_t>& lengths = K > 32 ? long_lengths : short_lengths;
        int64_t N = 0;
        for (int64_t n : lengths) N += n;
        const int64_t S = (int64_t)lengths.size();
        SCOPED_TRACE("K " + std::to_string(K) + " D " + std::to_string(D) + " type " + std::to_string(c.type) +
                     (c.ties ? " ties" : ""));
        const bool diagonal = c.type == HPC_COVARIANCE_SPHERICAL || c.type == HPC_COVARIANCE_DIAG;
        EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(c.type, K, N),
                  diagonal && (K <= 16 || (K <= 32 && hmm_kernels_fuse_17_to_32()) || (K > 32 && K <= 64)) ? 1 : 0);
        Model m = random_model(K, rng, false);
        std::vector<double> x((size_t)(N * D)), means((size_t)(K * D));
        for (auto& v : x) v = g(rng);
        for (auto& v : means) v = g(rng);
        std::vector<double> cov = random_covars(c.type, K, D, rng);
        if (c.ties) {
            for (int64_t k = 1; k < K; ++k)
                for (int64_t d = 0; d < D; ++d) means[(size_t)(k * D + d)] = means[(size_t)d];
            const int64_t per = (int64_t)cov.size() / K;
            for (int64_t k = 1; k < K; ++k)
                for (int64_t i = 0; i < per; ++i) cov[(size_t)(k * per + i)] = cov[(size_t)i];
            std::fill(m.A.begin(), m.A.end(), 1.0 / (double)K);
            std::fill(m.pi.begin(), m.pi.end(), 1.0 / (double)K);
        }
        std::vector<double> logB((size_t)(N * K));
        ASSERT_EQ(hpc_hmm_gaussian_loglik(c.type, K, D, N, x.data(), N * D, means.data(), K * D, cov.data(), (int64_t)cov.size(), 1e-3,
                                          logB.data(), N * K), HPC_OK) << last_error();
        std::vector<int64_t> want((size_t)N);
        std::vector<double> want_lp((size_t)S);
        ASSERT_EQ(hpc_hmm_viterbi(K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K, want.data(), N,
                                  want_lp.data(), S), HPC_OK) << last_error();
        if (c.ties) {
            for (int64_t r = 0; r < N; ++r) ASSERT_EQ(want[(size_t)r], 0) << "row " << r;
        }
        for (int threads : {1, 2}) {
            ASSERT_EQ(hpc_set_num_threads(threads), HPC_OK);
            std::vector<int64_t> path((size_t)N, -1);
            std::vector<double> lp((size_t)S, NAN);
            ASSERT_EQ(hpc_hmm_gaussian_viterbi(c.type, K, D, S, lengths.data(), N, x.data(), N * D, means.data(), K * D, cov.data(),
                                               (int64_t)cov.size(), 1e-3, m.pi.data(), K, m.A.data(), K * K, path.data(), N,
                                               lp.data(), S), HPC_OK) << last_error();
            EXPECT_EQ(path, want) << "threads " << threads;
            for (int64_t s = 0; s < S; ++s) EXPECT_EQ(lp[(size_t)s], want_lp[(size_t)s]) << "s " << s << " threads " << threads;
            // with the caller's scratch for the densities (used where the call does not fuse): the same results
            std::vector<double> scratch((size_t)(N * K), NAN);
            std::fill(path.begin(), path.end(), -1);
            std::fill(lp.begin(), lp.end(), NAN);
            ASSERT_EQ(hpc_hmm_gaussian_viterbi_with_scratch(c.type, K, D, S, lengths.data(), N, x.data(), N * D, means.data(), K * D,
                                                            cov.data(), (int64_t)cov.size(), 1e-3, m.pi.data(), K, m.A.data(), K * K,
                                                            path.data(), N, lp.data(), S, scratch.data(), N * K), HPC_OK)
                << last_error();
            EXPECT_EQ(path, want) << "with scratch, threads " << threads;
            for (int64_t s = 0; s < S; ++s) EXPECT_EQ(lp[(size_t)s], want_lp[(size_t)s]) << "with scratch, s " << s;
        }
    }
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

// hpc_hmm_categorical_viterbi (the log-probabilities looked up inside the pass up to 64 states, the [N, K] array
// above) gives the path and log-probabilities of hpc_hmm_categorical_loglik then hpc_hmm_viterbi, bit for bit, on
// one and two threads: every width of the kernels (K 3 to 64, partial and full blocks, back pointers up to 16 and
// scores above), zeros in emissionprob (log 0 = -inf) and the general loop (K 70).
TEST(Hmm, CategoricalViterbiMatchesTheTwoCalls) {
    std::mt19937_64 rng(77);
    for (int64_t K : {3, 8, 9, 16, 17, 24, 33, 40, 64, 70}) {
        SCOPED_TRACE("K " + std::to_string(K));
        const int64_t M = 6;
        const std::vector<int64_t> lengths{300, 1, 170, 229};
        const int64_t N = 700, S = (int64_t)lengths.size();
        Model m = random_model(K, rng, K == 17);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        std::vector<double> e((size_t)(K * M));
        for (int64_t k = 0; k < K; ++k) {
            double sum = 0;
            for (int64_t j = 0; j < M; ++j) sum += (e[(size_t)(k * M + j)] = (k + j) % 5 == 0 ? 0.0 : u(rng));
            for (int64_t j = 0; j < M; ++j) e[(size_t)(k * M + j)] /= sum;
        }
        std::vector<int64_t> symbols((size_t)N);
        for (auto& v : symbols) v = (int64_t)(u(rng) * M) % M;
        std::vector<double> logB((size_t)(N * K));
        ASSERT_EQ(hpc_hmm_categorical_loglik(K, M, N, symbols.data(), N, e.data(), K * M, logB.data(), N * K), HPC_OK) << last_error();
        std::vector<int64_t> want((size_t)N);
        std::vector<double> want_lp((size_t)S);
        ASSERT_EQ(hpc_hmm_viterbi(K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K, want.data(), N,
                                  want_lp.data(), S), HPC_OK) << last_error();
        for (int threads : {1, 2}) {
            ASSERT_EQ(hpc_set_num_threads(threads), HPC_OK);
            std::vector<int64_t> path((size_t)N, -1);
            std::vector<double> lp((size_t)S, NAN);
            ASSERT_EQ(hpc_hmm_categorical_viterbi(K, M, S, lengths.data(), N, symbols.data(), N, e.data(), K * M, m.pi.data(), K,
                                                  m.A.data(), K * K, path.data(), N, lp.data(), S), HPC_OK) << last_error();
            EXPECT_EQ(path, want) << "threads " << threads;
            for (int64_t q = 0; q < S; ++q) EXPECT_EQ(lp[(size_t)q], want_lp[(size_t)q]) << "s " << q << " threads " << threads;
        }
    }
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
    // the arguments, checked before any work
    const int64_t K = 2, M = 3, N = 4;
    std::vector<double> pi{0.5, 0.5}, A{0.9, 0.1, 0.2, 0.8}, e{0.2, 0.3, 0.5, 0.6, 0.4, 0.0}, lp(2);
    std::vector<int64_t> lengths{2, 2}, symbols{0, 2, 1, 1}, path(4);
    auto call = [&](const int64_t* sym, const double* em, int64_t path_len, double* lp_out) {
        return hpc_hmm_categorical_viterbi(K, M, 2, lengths.data(), N, sym, N, em, K * M, pi.data(), K, A.data(), K * K, path.data(),
                                           path_len, lp_out, 2);
    };
    EXPECT_EQ(call(symbols.data(), e.data(), 4, lp.data()), HPC_OK) << last_error();
    std::vector<int64_t> bad_symbols{0, 3, 1, 1};
    EXPECT_EQ(call(bad_symbols.data(), e.data(), 4, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("symbols[1]: expected a symbol in [0, 3), got 3"), std::string::npos) << last_error();
    std::vector<double> bad_e{0.2, 0.3, 0.6, 0.6, 0.4, 0.0};
    EXPECT_EQ(call(symbols.data(), bad_e.data(), 4, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("emissionprob row 0: expected to sum to 1"), std::string::npos) << last_error();
    EXPECT_EQ(call(symbols.data(), e.data(), 3, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("path_len: expected 4 elements, got 3"), std::string::npos) << last_error();
    EXPECT_EQ(call(symbols.data(), e.data(), 4, e.data()), HPC_ERR_INVALID_ARGUMENT);  // output over an input
    EXPECT_NE(last_error().find("seq_logprob"), std::string::npos) << last_error();
    A[1] = 0.2;
    EXPECT_EQ(call(symbols.data(), e.data(), 4, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("transmat row 0: expected to sum to 1, got 1.1"), std::string::npos) << last_error();
}

// A log-density that overflows to NaN (mean / variance beyond the largest double makes the constant +inf and the
// cross term -inf) is refused, naming the row and the state, on every path (fused with back pointers, with the
// scores (K 40), and through the [N, K] array (K 24, 70)); as are the arguments hpc_hmm_gaussian_loglik and hpc_hmm_viterbi check.
TEST(Hmm, GaussianViterbiNamesBadDensitiesAndArguments) {
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(0, 8, 10), 0);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 0, 10), 0);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 16, 1), 1);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_SPHERICAL, 32, 1'000'000), hmm_kernels_fuse_17_to_32() ? 1 : 0);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 17, 10), hmm_kernels_fuse_17_to_32() ? 1 : 0);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 40, 24'999), 0);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 40, 25'000), 1);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 48, 20'833), 0);  // N K = 999,984
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 48, 20'834), 1);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 8, 0), 0);  // the call refuses these
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 8, -1), 0);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 64, INT64_MAX), 0);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_DIAG, 65, 1'000'000), 0);
    EXPECT_EQ(hpc_hmm_gaussian_viterbi_fuses(HPC_COVARIANCE_FULL, 8, 1'000'000), 0);
    for (int64_t K : {3, 24, 40, 70}) {
        SCOPED_TRACE("K " + std::to_string(K));
        const int64_t D = 2, N = K == 40 ? 25000 : 50;  // 40 states fuse from 25,000 rows
        std::mt19937_64 rng(41);
        Model m = random_model(K, rng, false);
        std::vector<double> x((size_t)(N * D), 1.0), means((size_t)(K * D), 0.5), cov((size_t)(K * D), 1.0), lp(1);
        std::vector<int64_t> path((size_t)N);
        means[(size_t)((K - 1) * D + 1)] = 1e300;
        cov[(size_t)((K - 1) * D + 1)] = 1e-10;
        // rows from 17 on: -2 x mu / s2 = -inf beside the constant +inf, NaN; before: +inf, a density of -inf (allowed)
        for (int64_t r = 0; r < N; ++r) x[(size_t)(r * D + 1)] = r < 17 ? -1.0 : 1.0;
        EXPECT_EQ(hpc_hmm_gaussian_viterbi(HPC_COVARIANCE_DIAG, K, D, 1, &N, N, x.data(), N * D, means.data(), K * D, cov.data(), K * D,
                                           1e-3, m.pi.data(), K, m.A.data(), K * K, path.data(), N, lp.data(), 1),
                  HPC_ERR_INVALID_ARGUMENT);
        EXPECT_NE(last_error().find("x[17]: its Gaussian log-density under state " + std::to_string(K - 1) + " is "), std::string::npos)
            << last_error();
        EXPECT_NE(last_error().find("nan (the terms overflow)"), std::string::npos) << last_error();
        // the same with the caller's scratch (where the call does not fuse the densities are checked as written)
        std::vector<double> scratch((size_t)(N * K));
        EXPECT_EQ(hpc_hmm_gaussian_viterbi_with_scratch(HPC_COVARIANCE_DIAG, K, D, 1, &N, N, x.data(), N * D, means.data(), K * D,
                                                        cov.data(), K * D, 1e-3, m.pi.data(), K, m.A.data(), K * K, path.data(), N,
                                                        lp.data(), 1, scratch.data(), N * K),
                  HPC_ERR_INVALID_ARGUMENT);
        EXPECT_NE(last_error().find("x[17]: its Gaussian log-density under state " + std::to_string(K - 1) + " is "), std::string::npos)
            << last_error();
        EXPECT_NE(last_error().find("nan (the terms overflow)"), std::string::npos) << last_error();
        // the same data through the two calls: the densities are computed, hpc_hmm_viterbi refuses them
        std::vector<double> logB((size_t)(N * K));
        ASSERT_EQ(hpc_hmm_gaussian_loglik(HPC_COVARIANCE_DIAG, K, D, N, x.data(), N * D, means.data(), K * D, cov.data(), K * D, 1e-3,
                                          logB.data(), N * K), HPC_OK);
        EXPECT_EQ(hpc_hmm_viterbi(K, 1, &N, N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K, path.data(), N, lp.data(), 1),
                  HPC_ERR_INVALID_ARGUMENT);
        EXPECT_NE(last_error().find("log_emission[" + std::to_string(17 * K + K - 1) + "]"), std::string::npos) << last_error();
    }
    const int64_t K = 2, D = 1;
    std::vector<double> pi{0.5, 0.5}, A{0.9, 0.1, 0.2, 0.8}, x{0.1, 0.2, 0.3, 0.4}, means{0, 1}, cov{1, 1}, lp(2);
    std::vector<int64_t> lengths{2, 2}, path(4);
    auto call = [&](int32_t type, const int64_t* len, int64_t S, int64_t N, int64_t path_len, double* lp_out) {
        return hpc_hmm_gaussian_viterbi(type, K, D, S, len, N, x.data(), N * D, means.data(), K * D, cov.data(), 2, 1e-3, pi.data(), K,
                                        A.data(), K * K, path.data(), path_len, lp_out, S);
    };
    EXPECT_EQ(call(HPC_COVARIANCE_DIAG, lengths.data(), 2, 4, 4, lp.data()), HPC_OK) << last_error();
    EXPECT_EQ(call(7, lengths.data(), 2, 4, 4, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("covariance_type: expected 1 (spherical), 2 (diag), 3 (full) or 4 (tied), got 7"), std::string::npos);
    EXPECT_EQ(call(HPC_COVARIANCE_DIAG, lengths.data(), 2, 3, 3, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("lengths: expected to sum to n_samples = 3, got 4"), std::string::npos) << last_error();
    EXPECT_EQ(call(HPC_COVARIANCE_DIAG, lengths.data(), 2, 4, 3, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("path"), std::string::npos) << last_error();
    EXPECT_EQ(call(HPC_COVARIANCE_DIAG, lengths.data(), 2, 4, 4, x.data()), HPC_ERR_INVALID_ARGUMENT);  // output over an input
    EXPECT_NE(last_error().find("seq_logprob"), std::string::npos) << last_error();
    // the scratch: N K values, or NULL with length 0; never over another argument
    std::vector<double> scratch(8);
    auto call_scratch = [&](double* sc, int64_t sc_len) {
        return hpc_hmm_gaussian_viterbi_with_scratch(HPC_COVARIANCE_DIAG, K, D, 2, lengths.data(), 4, x.data(), 4, means.data(), K * D,
                                                     cov.data(), 2, 1e-3, pi.data(), K, A.data(), K * K, path.data(), 4, lp.data(),
                                                     2, sc, sc_len);
    };
    EXPECT_EQ(call_scratch(scratch.data(), 8), HPC_OK) << last_error();
    EXPECT_EQ(call_scratch(nullptr, 0), HPC_OK) << last_error();
    EXPECT_EQ(call_scratch(scratch.data(), 7), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("scratch_len: expected 8 elements, got 7"), std::string::npos) << last_error();
    EXPECT_NE(last_error().find("hpc_hmm_gaussian_viterbi_with_scratch"), std::string::npos) << last_error();
    EXPECT_EQ(call_scratch(nullptr, 8), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(call_scratch(lp.data(), 8), HPC_ERR_INVALID_ARGUMENT);  // over seq_logprob
    EXPECT_NE(last_error().find("scratch"), std::string::npos) << last_error();
    EXPECT_EQ(call_scratch(x.data(), 8), HPC_ERR_INVALID_ARGUMENT);  // over an input
    EXPECT_NE(last_error().find("scratch"), std::string::npos) << last_error();
    A[1] = 0.2;
    EXPECT_EQ(call(HPC_COVARIANCE_DIAG, lengths.data(), 2, 4, 4, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("transmat row 0: expected to sum to 1, got 1.1"), std::string::npos);
    A[1] = 0.1;
    x[2] = INFINITY;
    EXPECT_EQ(call(HPC_COVARIANCE_DIAG, lengths.data(), 2, 4, 4, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("x[2]: expected a finite value"), std::string::npos) << last_error();
    x[2] = 0.3;
    cov[1] = 0;
    EXPECT_EQ(call(HPC_COVARIANCE_DIAG, lengths.data(), 2, 4, 4, lp.data()), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("covars[1]: expected a variance > 0"), std::string::npos) << last_error();
}

TEST(Hmm, ThreadedGroupsEqualSequencesRunAlone) {
    std::mt19937_64 rng(17);
    std::normal_distribution<double> g(0, 2);
    const int64_t K = 8, S = 8;
    Model m = random_model(K, rng);
    std::vector<int64_t> lengths;
    int64_t N = 0;
    for (int64_t s = 0; s < S; ++s) N += (lengths.push_back(3000 + 700 * s), lengths.back());
    std::vector<double> logB((size_t)(N * K));
    for (auto& v : logB) v = g(rng);
    for (int32_t mode : {HPC_HMM_SCALING, HPC_HMM_LOG}) {
        std::vector<double> ll((size_t)S), post((size_t)(N * K)), xi((size_t)(K * K)), st((size_t)K), lp((size_t)S);
        std::vector<int64_t> path((size_t)N);
        ASSERT_EQ(hpc_hmm_forward_backward(mode, K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K,
                                           ll.data(), S, post.data(), N * K, xi.data(), K * K, st.data(), K, nullptr, 0), HPC_OK);
        ASSERT_EQ(hpc_hmm_viterbi(K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K, path.data(), N,
                                  lp.data(), S), HPC_OK);
        std::vector<double> xi_sum((size_t)(K * K), 0.0), st_sum((size_t)K, 0.0);
        int64_t r0 = 0;
        for (int64_t s = 0; s < S; ++s) {
            const int64_t T = lengths[(size_t)s];
            double l1, v1;
            std::vector<double> p((size_t)(T * K)), x1((size_t)(K * K)), s1((size_t)K);
            std::vector<int64_t> q((size_t)T);
            ASSERT_EQ(hpc_hmm_forward_backward(mode, K, 1, &T, T, logB.data() + r0 * K, T * K, m.pi.data(), K, m.A.data(), K * K, &l1, 1,
                                               p.data(), T * K, x1.data(), K * K, s1.data(), K, nullptr, 0), HPC_OK);
            ASSERT_EQ(hpc_hmm_viterbi(K, 1, &T, T, logB.data() + r0 * K, T * K, m.pi.data(), K, m.A.data(), K * K, q.data(), T, &v1, 1), HPC_OK);
            EXPECT_NEAR(ll[(size_t)s], l1, 1e-12 * std::fabs(l1));
            EXPECT_NEAR(lp[(size_t)s], v1, 1e-12 * std::fabs(v1));
            for (int64_t i = 0; i < T * K; ++i) ASSERT_NEAR(post[(size_t)(r0 * K + i)], p[(size_t)i], 1e-12);
            for (int64_t t = 0; t < T; ++t) ASSERT_EQ(path[(size_t)(r0 + t)], q[(size_t)t]);
            for (int64_t i = 0; i < K * K; ++i) xi_sum[(size_t)i] += x1[(size_t)i];
            for (int64_t i = 0; i < K; ++i) st_sum[(size_t)i] += s1[(size_t)i];
            r0 += T;
        }
        for (int64_t i = 0; i < K * K; ++i) EXPECT_NEAR(xi[(size_t)i], xi_sum[(size_t)i], 1e-9 * std::max(1.0, xi_sum[(size_t)i]));
        for (int64_t i = 0; i < K; ++i) EXPECT_NEAR(st[(size_t)i], st_sum[(size_t)i], 1e-12);
    }
}

}  // namespace

namespace {

TEST(Hmm, StatisticsRejectOutputsOverlappingInputs) {
    std::vector<int64_t> sym{0, 1, 1};
    std::vector<double> post{0.5, 0.5, 0.2, 0.8, 0.9, 0.1}, counts(4);
    EXPECT_EQ(hpc_hmm_categorical_stats(2, 2, 3, sym.data(), 3, post.data(), 6, counts.data(), 4), HPC_OK) << last_error();
    EXPECT_EQ(hpc_hmm_categorical_stats(2, 2, 3, sym.data(), 3, post.data(), 6, post.data() + 2, 4), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("counts overlaps posteriors"), std::string::npos);
    std::vector<double> x{1, 2, 3}, ps(2), obs(2);
    EXPECT_EQ(hpc_hmm_gaussian_stats(2, 1, 3, x.data(), 3, post.data(), 6, ps.data(), 2, obs.data(), 2, nullptr, 0, nullptr, 0), HPC_OK);
    EXPECT_EQ(hpc_hmm_gaussian_stats(2, 1, 3, x.data(), 3, post.data(), 6, x.data(), 2, obs.data(), 2, nullptr, 0, nullptr, 0), HPC_ERR_INVALID_ARGUMENT);
}


// The fused kernels for up to 64 states come in sixteen versions (1-8 vectors of 8 states, K filling them or not);
// for each K from 1 to 65 the fused scaled and fused log-space results against the general scaled and log paths
// (separate code, run when the backward likelihood is asked for), with sequences of different lengths in groups on two
// threads, and left-right models with zeros.
TEST(Hmm, FusedSmallStateKernelsEqualTheGeneralPathsForEveryWidth) {
    std::mt19937_64 rng(23);
    std::normal_distribution<double> g(0, 2);
    for (int64_t K = 1; K <= 65; ++K) {
        SCOPED_TRACE("K " + std::to_string(K));
        Model m = random_model(K, rng, K % 4 == 3);
        const int64_t S = 5;
        std::vector<int64_t> lengths;
        int64_t N = 0;
        for (int64_t s = 0; s < S; ++s) N += (lengths.push_back(1 + (K * 131 + s * 977) % 1400), lengths.back());
        std::vector<double> logB((size_t)(N * K));
        for (auto& v : logB) v = g(rng);
        struct Out {
            std::vector<double> ll, post, xi, st;
        };
        auto run = [&](int32_t mode, bool with_llb) {
            Out o{std::vector<double>((size_t)S), std::vector<double>((size_t)(N * K)), std::vector<double>((size_t)(K * K)),
                  std::vector<double>((size_t)K)};
            std::vector<double> llb((size_t)S);
            EXPECT_EQ(hpc_hmm_forward_backward(mode, K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K,
                                               o.ll.data(), S, o.post.data(), N * K, o.xi.data(), K * K, o.st.data(), K,
                                               with_llb ? llb.data() : nullptr, with_llb ? S : 0), HPC_OK) << last_error();
            return o;
        };
        for (int32_t fused_mode : {HPC_HMM_SCALING, HPC_HMM_LOG})
        for (const Out& ref : {run(HPC_HMM_LOG, true), run(HPC_HMM_SCALING, true)}) {
            const Out fused = run(fused_mode, false);
            SCOPED_TRACE("fused mode " + std::to_string(fused_mode));
            for (int64_t s = 0; s < S; ++s) EXPECT_NEAR(fused.ll[(size_t)s], ref.ll[(size_t)s], 1e-11 * std::fabs(ref.ll[(size_t)s]));
            double worst = 0;
            for (int64_t i = 0; i < N * K; ++i) worst = std::max(worst, std::fabs(fused.post[(size_t)i] - ref.post[(size_t)i]));
            EXPECT_LE(worst, 1e-10);
            for (int64_t i = 0; i < K * K; ++i) EXPECT_NEAR(fused.xi[(size_t)i], ref.xi[(size_t)i], 1e-10 * std::max(1.0, ref.xi[(size_t)i]));
            for (int64_t j = 0; j < K; ++j) EXPECT_NEAR(fused.st[(size_t)j], ref.st[(size_t)j], 1e-12);
        }
        // Likelihood only (no stored rows): the same numbers.
        for (int32_t mode : {HPC_HMM_SCALING, HPC_HMM_LOG}) {
            const Out fused = run(mode, false);
            std::vector<double> ll((size_t)S);
            ASSERT_EQ(hpc_hmm_forward_backward(mode, K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(),
                                               K * K, ll.data(), S, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0), HPC_OK);
            for (int64_t s = 0; s < S; ++s) EXPECT_EQ(ll[(size_t)s], fused.ll[(size_t)s]);
        }
    }
}

// The vectorised exp of the fused kernels against libm: within 2 ulp for normal results, within 1 unit of the last
// place of a subnormal, exact at 0 (1) and below -745.14 (0), every lane position and tail length.
TEST(Hmm, VectorisedExpMatchesLibm) {
    std::vector<double> x;
    for (double v = -750.0; v <= 0.0; v += 0.00731) x.push_back(v);
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> u(-1.0, 0.0);
    for (int i = 0; i < 20000; ++i) x.push_back(u(rng) * (i % 2 ? 1.0 : 1e-6));
    for (double v : {0.0, -0.0, -HUGE_VAL, -745.13, -745.15, -708.39, -708.40, -1e-300, -5e-324, -0.34657359027997264,
                     -0.34657359027997270, -0.6931471805599453})
        x.push_back(v);
    for (size_t n : {x.size(), x.size() - 1, x.size() - 5, (size_t)3}) {
        std::vector<double> y(n);
        hpc::cpu::exp_nonpositive(x.data(), y.data(), (int64_t)n);
        for (size_t i = 0; i < n; ++i) {
            const double e = std::exp(x[i]);
            if (x[i] < -745.14) {
                ASSERT_EQ(y[i], 0.0) << x[i];
            } else if (e < DBL_MIN) {
                ASSERT_LE(std::fabs(y[i] - e), 4.9406564584124654e-324) << x[i];
            } else {
                ASSERT_LE(std::fabs(y[i] - e), 2 * (std::nextafter(e, INFINITY) - e)) << x[i];
            }
        }
    }
    double one;
    const double zero = 0.0;
    hpc::cpu::exp_nonpositive(&zero, &one, 1);
    EXPECT_EQ(one, 1.0);
}

// The fused kernels' grouped exp (a faster path for groups whose results are all normal) against the lane-wise one,
// bit for bit: groups wholly above -708, wholly below, straddling it, with -inf, 0 and -0, and tails of every length.
TEST(Hmm, GroupedExpEqualsTheLaneWiseExpBitForBit) {
    std::vector<double> x;
    for (double v = -750.0; v <= 0.0; v += 0.173) x.push_back(v);
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(-720.0, 0.0);
    for (int i = 0; i < 20000; ++i) x.push_back(i % 3 ? u(rng) : u(rng) / 100.0);
    for (double v : {0.0, -0.0, -HUGE_VAL, -745.13, -745.15, -708.0, -707.9999999999999, -708.0000000000001, -708.39,
                     -1e-300, -5e-324, -0.34657359027997264, -0.6931471805599453})
        for (int rep = 0; rep < 9; ++rep) x.push_back(rep % 2 ? v : -1.5 * rep);
    size_t fast_groups = 0;
    for (size_t i = 0; i + 8 <= x.size(); i += 8) fast_groups += *std::min_element(x.begin() + (long)i, x.begin() + (long)i + 8) >= -708.0;
    ASSERT_GT(fast_groups, 100u);
    ASSERT_LT(fast_groups, x.size() / 8 - 100);
    for (size_t n : {x.size(), x.size() - 1, x.size() - 3, x.size() - 7, (size_t)5, (size_t)1}) {
        std::vector<double> a(n), b(n);
        hpc::cpu::exp_nonpositive(x.data(), a.data(), (int64_t)n);
        hpc::cpu::exp_nonpositive_grouped(x.data(), b.data(), (int64_t)n);
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(std::memcmp(&a[i], &b[i], sizeof a[i]), 0) << x[i] << " at " << i;
    }
}

// The vectorised log of the fused log-space kernels against libm: within 1 ulp for normal inputs, subnormal inputs,
// exactly -inf at 0 and 0 at 1, every lane position and tail length.
TEST(Hmm, VectorisedLogMatchesLibm) {
    std::vector<double> x;
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int i = 0; i < 40000; ++i) x.push_back(std::ldexp(0.5 + u(rng), (int)(rng() % 2000) - 1000));
    for (double v = 0.5; v < 2.0; v += 1.0 / 4096) x.push_back(v);
    for (double v : {0.0, 1.0, 2.0, 0.5, 5e-324, 1e-310, 2.2250738585072014e-308, 1.7976931348623157e308, 0.7071067811865476,
                     1.4142135623730951, 1e-300})
        x.push_back(v);
    for (size_t n : {x.size(), x.size() - 1, x.size() - 6, (size_t)2}) {
        std::vector<double> y(n);
        hpc::cpu::log_nonnegative(x.data(), y.data(), (int64_t)n);
        for (size_t i = 0; i < n; ++i) {
            const double e = std::log(x[i]);
            if (x[i] == 0.0) {
                ASSERT_EQ(y[i], -HUGE_VAL);
            } else {
                const double ulp = std::fabs(std::nextafter(e, 0.0) - e);
                ASSERT_LE(std::fabs(y[i] - e), e == 0.0 ? 0.0 : ulp) << x[i];
            }
        }
    }
}

}  // namespace

namespace {

// The statistics run in fixed chunks of rows on the thread team, four rows at a time with a tail (up to 64 states
// with the posteriors in registers, above in the general loop): every sum against
// a direct loop (rows not a multiple of 4 or of the chunk), and the same bits for 1 and 2 threads.
TEST(Hmm, GaussianStatisticsOfManyRowsMatchDirectSums) {
    std::mt19937_64 rng(29);
    std::normal_distribution<double> g(0, 1.5);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (auto [K, D, N] : {std::tuple<int64_t, int64_t, int64_t>{5, 3, 10003}, {8, 4, 4099}, {1, 1, 3}, {13, 2, 1027}, {32, 3, 515}, {37, 2, 9}, {64, 2, 130}, {70, 2, 11}}) {
        SCOPED_TRACE("K " + std::to_string(K) + " D " + std::to_string(D) + " N " + std::to_string(N));
        std::vector<double> x((size_t)(N * D)), post((size_t)(N * K));
        for (auto& v : x) v = g(rng);
        for (int64_t n = 0; n < N; ++n) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) s += post[(size_t)(n * K + k)] = u(rng);
            for (int64_t k = 0; k < K; ++k) post[(size_t)(n * K + k)] /= s;
        }
        std::vector<double> ps((size_t)K), obs((size_t)(K * D)), obs2((size_t)(K * D)), outer((size_t)(K * D * D));
        std::vector<double> ps1(ps), obs1(obs), obs21(obs2), outer1(outer);
        ASSERT_EQ(hpc_set_num_threads(1), HPC_OK);
        ASSERT_EQ(hpc_hmm_gaussian_stats(K, D, N, x.data(), N * D, post.data(), N * K, ps1.data(), K, obs1.data(), K * D, obs21.data(),
                                         K * D, outer1.data(), K * D * D), HPC_OK) << last_error();
        ASSERT_EQ(hpc_set_num_threads(2), HPC_OK);
        ASSERT_EQ(hpc_hmm_gaussian_stats(K, D, N, x.data(), N * D, post.data(), N * K, ps.data(), K, obs.data(), K * D, obs2.data(),
                                         K * D, outer.data(), K * D * D), HPC_OK) << last_error();
        ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
        EXPECT_EQ(ps, ps1);
        EXPECT_EQ(obs, obs1);
        EXPECT_EQ(obs2, obs21);
        for (int64_t k = 0; k < K; ++k) {
            double es = 0;
            for (int64_t n = 0; n < N; ++n) es += post[(size_t)(n * K + k)];
            EXPECT_NEAR(ps[(size_t)k], es, 1e-12 * es);
            for (int64_t d = 0; d < D; ++d) {
                double e1 = 0, e2 = 0, a1 = 0, a2 = 0;
                for (int64_t n = 0; n < N; ++n) {
                    const double w = post[(size_t)(n * K + k)], v = x[(size_t)(n * D + d)];
                    e1 += w * v;
                    e2 += w * v * v;
                    a1 += std::fabs(w * v);
                }
                a2 = e2;
                EXPECT_NEAR(obs[(size_t)(k * D + d)], e1, 1e-12 * a1);
                EXPECT_NEAR(obs2[(size_t)(k * D + d)], e2, 1e-12 * a2);
                for (int64_t d2 = 0; d2 < D; ++d2) {
                    double eo = 0, ao = 0;
                    for (int64_t n = 0; n < N; ++n) {
                        const double t = post[(size_t)(n * K + k)] * x[(size_t)(n * D + d)] * x[(size_t)(n * D + d2)];
                        eo += t;
                        ao += std::fabs(t);
                    }
                    EXPECT_NEAR(outer[(size_t)((k * D + d) * D + d2)], eo, 1e-12 * ao);
                }
            }
        }
    }
}

}  // namespace

namespace {

// The [N, K] inputs are validated in blocks of 256 values, two at a time: a bad value anywhere (first value, inside
// a block, a block's last value, an odd tail) is found, and the message names the first one.
TEST(Hmm, BlockedValidationFindsTheFirstBadValueAnywhere) {
    const int64_t K = 3, N = 345, S = 1;  // 1035 values: four blocks, the last one 11 long
    const std::vector<int64_t> len{N};
    const std::vector<double> pi{0.2, 0.3, 0.5}, A{0.5, 0.25, 0.25, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4};
    std::vector<double> ll(1), ps((size_t)K), obs((size_t)K);
    for (int64_t pos : {int64_t{0}, int64_t{1}, int64_t{255}, int64_t{256}, int64_t{600}, int64_t{1033}, int64_t{1034}}) {
        for (double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL, -1e-300}) {
            SCOPED_TRACE("pos " + std::to_string(pos) + " value " + std::to_string(bad));
            std::vector<double> le((size_t)(N * K), -1.0), post((size_t)(N * K), 1.0 / 3), x((size_t)N, 0.5);
            le[(size_t)pos] = bad;
            post[(size_t)pos] = bad;
            const bool le_bad = std::isnan(bad) || bad == HUGE_VAL, post_bad = !(bad >= 0 && std::isfinite(bad));
            EXPECT_EQ(hpc_hmm_forward_backward(HPC_HMM_SCALING, K, S, len.data(), N, le.data(), N * K, pi.data(), K, A.data(), K * K,
                                               ll.data(), S, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0),
                      le_bad ? HPC_ERR_INVALID_ARGUMENT : HPC_OK);
            if (le_bad) EXPECT_NE(last_error().find("log_emission[" + std::to_string(pos) + "]"), std::string::npos) << last_error();
            EXPECT_EQ(hpc_hmm_gaussian_stats(K, 1, N, x.data(), N, post.data(), N * K, ps.data(), K, obs.data(), K, nullptr, 0, nullptr, 0),
                      post_bad ? HPC_ERR_INVALID_ARGUMENT : HPC_OK);
            if (post_bad) EXPECT_NE(last_error().find("posteriors[" + std::to_string(pos) + "]"), std::string::npos) << last_error();
            if (pos < N) {
                x[(size_t)pos] = bad;
                const bool x_bad = !std::isfinite(bad);
                EXPECT_EQ(hpc_hmm_gaussian_stats(K, 1, N, x.data(), N, std::vector<double>((size_t)(N * K), 1.0 / 3).data(), N * K,
                                                 ps.data(), K, obs.data(), K, nullptr, 0, nullptr, 0),
                          x_bad ? HPC_ERR_INVALID_ARGUMENT : HPC_OK);
                if (x_bad) EXPECT_NE(last_error().find("x[" + std::to_string(pos) + "]"), std::string::npos) << last_error();
            }
        }
    }
}

// Large [N, K] inputs are validated in parts on the thread team: a bad value in any part (the first value, the first
// part's last, the second part's first, the last value), or in two parts at once, is reported at the first position,
// on one and on two threads.
TEST(Hmm, ValidationInPartsFindsTheFirstBadValue) {
    // 280,004 values (parts of at least 65,536): on two threads two parts, cut at a multiple of 256 blocks,
    // [0, 140032) and [140032, 280004) (team_share(280004, 256, 1, 2)).
    const int64_t K = 4, N = 70001, S = 1;
    ASSERT_EQ(hpc::cpu::team_share(N * K, 256, 1, 2).first, 140032);
    const std::vector<int64_t> len{N};
    const std::vector<double> pi{0.25, 0.25, 0.25, 0.25};
    std::vector<double> A((size_t)(K * K), 0.25), ll(1);
    for (int threads : {2, 1}) {
        ASSERT_EQ(hpc_set_num_threads(threads), HPC_OK);
        for (auto [first, second] : {std::pair<int64_t, int64_t>{0, -1}, {140031, -1}, {140032, -1}, {280003, -1},
                                     {140031, 280000}, {5, 200000}, {200000, 250000}}) {
            SCOPED_TRACE("threads " + std::to_string(threads) + " bad at " + std::to_string(first) + ", " + std::to_string(second));
            std::vector<double> le((size_t)(N * K), -1.0);
            le[(size_t)first] = std::nan("");
            if (second >= 0) le[(size_t)second] = HUGE_VAL;
            ASSERT_EQ(hpc_hmm_forward_backward(HPC_HMM_SCALING, K, S, len.data(), N, le.data(), N * K, pi.data(), K, A.data(), K * K,
                                               ll.data(), S, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0),
                      HPC_ERR_INVALID_ARGUMENT);
            EXPECT_NE(last_error().find("log_emission[" + std::to_string(first) + "]"), std::string::npos) << last_error();
        }
    }
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

}  // namespace

namespace {

// Categorical log-probabilities and expected counts against direct loops (the kernels work on transposed [M, K]
// tables; the counts add in row order, so they are equal bit for bit).
TEST(Hmm, CategoricalDensitiesAndCountsMatchDirectLoops) {
    std::mt19937_64 rng(31);
    std::uniform_real_distribution<double> u(0.01, 1.0);
    for (auto [K, M, N] : {std::tuple<int64_t, int64_t, int64_t>{3, 5, 101}, {8, 32, 1000}, {64, 3, 257}}) {
        SCOPED_TRACE("K " + std::to_string(K) + " M " + std::to_string(M));
        std::vector<double> ep((size_t)(K * M)), post((size_t)(N * K));
        for (int64_t k = 0; k < K; ++k) {
            double s = 0;
            for (int64_t m = 0; m < M; ++m) s += ep[(size_t)(k * M + m)] = u(rng);
            for (int64_t m = 0; m < M; ++m) ep[(size_t)(k * M + m)] /= s;
        }
        for (auto& v : post) v = u(rng);
        std::vector<int64_t> sym((size_t)N);
        for (auto& v : sym) v = (int64_t)(rng() % (uint64_t)M);
        std::vector<double> out((size_t)(N * K)), counts((size_t)(K * M));
        ASSERT_EQ(hpc_hmm_categorical_loglik(K, M, N, sym.data(), N, ep.data(), K * M, out.data(), N * K), HPC_OK) << last_error();
        ASSERT_EQ(hpc_hmm_categorical_stats(K, M, N, sym.data(), N, post.data(), N * K, counts.data(), K * M), HPC_OK) << last_error();
        std::vector<double> expect((size_t)(K * M), 0.0);
        for (int64_t n = 0; n < N; ++n)
            for (int64_t k = 0; k < K; ++k) {
                ASSERT_EQ(out[(size_t)(n * K + k)], std::log(ep[(size_t)(k * M + sym[(size_t)n])])) << n << " " << k;
                expect[(size_t)(k * M + sym[(size_t)n])] += post[(size_t)(n * K + k)];
            }
        EXPECT_EQ(counts, expect);
    }
}

}  // namespace

namespace {

// The three calls hpc_hmm_gaussian_e_step stands for: densities, forward-backward with the posteriors, statistics.
struct EStepResult {
    std::vector<double> ll, xi, start, post_sum, obs, obs2;
};
EStepResult e_step_by_three_calls(int32_t mode, int32_t type, int64_t K, int64_t D, const std::vector<int64_t>& lengths,
                                  const std::vector<double>& x, const std::vector<double>& means,
                                  const std::vector<double>& cov, const Model& m) {
    const int64_t S = (int64_t)lengths.size(), N = (int64_t)x.size() / D;
    std::vector<double> logB((size_t)(N * K)), post((size_t)(N * K));
    EStepResult r{std::vector<double>((size_t)S), std::vector<double>((size_t)(K * K)), std::vector<double>((size_t)K),
                  std::vector<double>((size_t)K), std::vector<double>((size_t)(K * D)), std::vector<double>((size_t)(K * D))};
    EXPECT_EQ(hpc_hmm_gaussian_loglik(type, K, D, N, x.data(), N * D, means.data(), K * D, cov.data(), (int64_t)cov.size(), 1e-3,
                                      logB.data(), N * K), HPC_OK) << last_error();
    EXPECT_EQ(hpc_hmm_forward_backward(mode, K, S, lengths.data(), N, logB.data(), N * K, m.pi.data(), K, m.A.data(), K * K,
                                       r.ll.data(), S, post.data(), N * K, r.xi.data(), K * K, r.start.data(), K, nullptr, 0),
              HPC_OK) << last_error();
    EXPECT_EQ(hpc_hmm_gaussian_stats(K, D, N, x.data(), N * D, post.data(), N * K, r.post_sum.data(), K, r.obs.data(), K * D,
                                     r.obs2.data(), K * D, nullptr, 0), HPC_OK) << last_error();
    return r;
}

EStepResult e_step(int32_t mode, int32_t type, int64_t K, int64_t D, const std::vector<int64_t>& lengths,
                   const std::vector<double>& x, const std::vector<double>& means, const std::vector<double>& cov,
                   const Model& m, bool with_obs2 = true) {
    const int64_t S = (int64_t)lengths.size(), N = (int64_t)x.size() / D;
    EStepResult r{std::vector<double>((size_t)S, NAN), std::vector<double>((size_t)(K * K), NAN), std::vector<double>((size_t)K, NAN),
                  std::vector<double>((size_t)K, NAN), std::vector<double>((size_t)(K * D), NAN),
                  std::vector<double>(with_obs2 ? (size_t)(K * D) : 0)};
    EXPECT_EQ(hpc_hmm_gaussian_e_step(mode, type, K, D, S, lengths.data(), N, x.data(), N * D, means.data(), K * D, cov.data(),
                                      (int64_t)cov.size(), m.pi.data(), K, m.A.data(), K * K, r.ll.data(), S, r.xi.data(), K * K,
                                      r.start.data(), K, r.post_sum.data(), K, r.obs.data(), K * D,
                                      with_obs2 ? r.obs2.data() : nullptr, with_obs2 ? K * D : 0),
              HPC_OK) << last_error();
    return r;
}

// The statistics summed in another order: equal to 1e-12 of max(1, |value|) (they are sums of up to 10,000 rows).
void expect_same_e_step(const EStepResult& got, const EStepResult& want) {
    EXPECT_EQ(got.ll, want.ll);  // the same densities and forward pass
    EXPECT_EQ(got.xi, want.xi);
    EXPECT_EQ(got.start, want.start);
    auto near = [](const std::vector<double>& a, const std::vector<double>& b, const char* name) {
        ASSERT_EQ(a.size(), b.size()) << name;
        for (size_t i = 0; i < a.size(); ++i)
            EXPECT_NEAR(a[i], b[i], 1e-12 * std::max(1.0, std::fabs(b[i]))) << name << "[" << i << "]";
    };
    near(got.post_sum, want.post_sum, "post_sum");
    near(got.obs, want.obs, "obs");
    if (!got.obs2.empty()) near(got.obs2, want.obs2, "obs2");
}

}  // namespace

// hpc_hmm_gaussian_e_step against the densities, forward-backward and statistics as three calls: both
// implementations, spherical and diagonal, every kind of small-K kernel (K 1-16 with the transition statistics in the
// loop or after it, 33 and 64) and the general path (K 65), unequal lengths (1 included), one and two threads, with
// and without obs2.
TEST(Hmm, GaussianEStepEqualsTheThreeCalls) {
    std::mt19937_64 rng(43);
    std::normal_distribution<double> g(0, 1.5);
    const std::vector<int64_t> lengths = {400, 1, 230, 401, 7, 610, 2, 23, 150};
    int64_t N = 0;
    for (int64_t n : lengths) N += n;
    struct Case {
        int64_t K, D;
        int32_t type;
    };
    for (const Case c : {Case{1, 2, HPC_COVARIANCE_DIAG}, {3, 1, HPC_COVARIANCE_DIAG}, {8, 5, HPC_COVARIANCE_SPHERICAL},
                         {8, 16, HPC_COVARIANCE_DIAG}, {9, 2, HPC_COVARIANCE_DIAG}, {16, 3, HPC_COVARIANCE_DIAG},
                         {33, 2, HPC_COVARIANCE_SPHERICAL}, {64, 1, HPC_COVARIANCE_DIAG}, {65, 2, HPC_COVARIANCE_DIAG}}) {
        const int64_t K = c.K, D = c.D;
        const Model m = random_model(K, rng, false);
        std::vector<double> x((size_t)(N * D)), means((size_t)(K * D));
        for (auto& v : x) v = g(rng);
        for (auto& v : means) v = g(rng);
        const std::vector<double> cov = random_covars(c.type, K, D, rng);
        for (int32_t mode : {HPC_HMM_SCALING, HPC_HMM_LOG})
            for (int threads : {1, 2}) {
                SCOPED_TRACE("K " + std::to_string(K) + " D " + std::to_string(D) + " type " + std::to_string(c.type) + " mode " +
                             std::to_string(mode) + " threads " + std::to_string(threads));
                ASSERT_EQ(hpc_set_num_threads(threads), HPC_OK);
                const EStepResult want = e_step_by_three_calls(mode, c.type, K, D, lengths, x, means, cov, m);
                expect_same_e_step(e_step(mode, c.type, K, D, lengths, x, means, cov, m), want);
                EXPECT_TRUE(e_step(mode, c.type, K, D, lengths, x, means, cov, m, false).obs2.empty());
            }
    }
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

// A group in which the only reachable state (0) has, at some row, a density exp(-5e5) below the other's is redone: at
// t = 0 (sequence 1) no product is involved, later (sequence 2, t = 1) the log-space backward pass's product for
// state 0 underflows (kUnderflowLimit). The group is redone term by term and its posterior rows reach the statistics
// one by one. Both modes (the zero transitions send the scaled one to log space), against the three calls (which take
// the same detour), and the posteriors all in state 0. (Before kUnderflowLimit the rows of sequence 2 before its far
// row came out with posteriors of 0.)
TEST(Hmm, GaussianEStepOfAGroupRedoneInLogSpace) {
    const int64_t K = 2, D = 1;
    const Model m{K, {1.0, 0.0}, {1.0, 0.0, 0.5, 0.5}};  // state 0 never leaves, state 1 never reached
    const std::vector<double> means{0.0, 1000.0}, cov{1.0, 1.0};
    const std::vector<int64_t> lengths{3, 4, 2};
    const std::vector<double> x{0.1, -0.2, 0.3, 1000.0, 0.0, 0.5, -0.1, 0.2, 1000.0};
    for (int32_t mode : {HPC_HMM_SCALING, HPC_HMM_LOG})
        for (int threads : {1, 2}) {
            SCOPED_TRACE("mode " + std::to_string(mode) + " threads " + std::to_string(threads));
            ASSERT_EQ(hpc_set_num_threads(threads), HPC_OK);
            const EStepResult want = e_step_by_three_calls(mode, HPC_COVARIANCE_DIAG, K, D, lengths, x, means, cov, m);
            const EStepResult got = e_step(mode, HPC_COVARIANCE_DIAG, K, D, lengths, x, means, cov, m);
            expect_same_e_step(got, want);
            EXPECT_NEAR(got.post_sum[0], 9.0, 1e-12);
            EXPECT_EQ(got.post_sum[1], 0.0);
            double sum = 0;
            for (double v : x) sum += v;
            EXPECT_NEAR(got.obs[0], sum, 1e-9);
            EXPECT_TRUE(std::isfinite(got.ll[1]) && std::isfinite(got.ll[2]));
        }
    ASSERT_EQ(hpc_set_num_threads(0), HPC_OK);
}

// Refusals of hpc_hmm_gaussian_e_step, each naming the argument: full and tied covariances, the arguments of the
// calls it stands for, outputs over inputs, a density that overflows to NaN (row and state), a sequence of zero
// probability (a density of -inf: x far out under a variance of 1e-300).
TEST(Hmm, GaussianEStepNamesBadArguments) {
    const int64_t K = 2, D = 1, N = 4;
    std::vector<double> pi{0.5, 0.5}, A{0.9, 0.1, 0.2, 0.8}, x{0.1, 0.2, 0.3, 0.4}, means{0, 1}, cov{1, 1};
    std::vector<double> ll(2), xi(4), st(2), ps(2), obs(2), obs2(2);
    std::vector<int64_t> lengths{2, 2};
    auto call = [&](int32_t mode, int32_t type, int64_t n, double* obs_out, int64_t cov_len) {
        return hpc_hmm_gaussian_e_step(mode, type, K, D, 2, lengths.data(), n, x.data(), n * D, means.data(), K * D, cov.data(),
                                       cov_len, pi.data(), K, A.data(), K * K, ll.data(), 2, xi.data(), K * K, st.data(), K,
                                       ps.data(), K, obs_out, obs_out ? K * D : 0, obs2.data(), K * D);
    };
    EXPECT_EQ(call(HPC_HMM_SCALING, HPC_COVARIANCE_DIAG, N, obs.data(), 2), HPC_OK) << last_error();
    EXPECT_EQ(call(2, HPC_COVARIANCE_DIAG, N, obs.data(), 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("mode: expected HPC_HMM_SCALING (0) or HPC_HMM_LOG (1), got 2"), std::string::npos) << last_error();
    EXPECT_EQ(call(HPC_HMM_SCALING, HPC_COVARIANCE_FULL, N, obs.data(), 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("covariance_type: expected 1 (spherical) or 2 (diag), got 3"), std::string::npos) << last_error();
    EXPECT_EQ(call(HPC_HMM_SCALING, HPC_COVARIANCE_DIAG, N, obs.data(), 1), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("covars"), std::string::npos) << last_error();
    EXPECT_EQ(call(HPC_HMM_SCALING, HPC_COVARIANCE_DIAG, N, nullptr, 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("obs"), std::string::npos) << last_error();
    EXPECT_EQ(call(HPC_HMM_SCALING, HPC_COVARIANCE_DIAG, 3, obs.data(), 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("lengths: expected to sum to n_samples = 3, got 4"), std::string::npos) << last_error();
    EXPECT_EQ(call(HPC_HMM_SCALING, HPC_COVARIANCE_DIAG, N, x.data() + 1, 2), HPC_ERR_INVALID_ARGUMENT);  // obs over x
    EXPECT_NE(last_error().find("obs"), std::string::npos) << last_error();
    A[1] = 0.2;
    EXPECT_EQ(call(HPC_HMM_LOG, HPC_COVARIANCE_DIAG, N, obs.data(), 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("transmat row 0: expected to sum to 1, got 1.1"), std::string::npos) << last_error();
    A[1] = 0.1;
    x[2] = NAN;
    EXPECT_EQ(call(HPC_HMM_SCALING, HPC_COVARIANCE_DIAG, N, obs.data(), 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("x[2]: expected a finite value"), std::string::npos) << last_error();
    x[2] = 0.3;
    cov[1] = -1;
    EXPECT_EQ(call(HPC_HMM_SCALING, HPC_COVARIANCE_DIAG, N, obs.data(), 2), HPC_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("covars[1]: expected a variance > 0"), std::string::npos) << last_error();
    // -2 x mu / s2 = -inf beside a constant of +inf in row 2, state 1: NaN (elsewhere +inf: a density of -inf)
    means[1] = 1e300;
    cov[1] = 1e-10;
    x = {-1.0, -1.0, 1.0, -1.0};
    for (int32_t mode : {HPC_HMM_SCALING, HPC_HMM_LOG}) {
        EXPECT_EQ(call(mode, HPC_COVARIANCE_DIAG, N, obs.data(), 2), HPC_ERR_INVALID_ARGUMENT);
        EXPECT_NE(last_error().find("x[2]: its Gaussian log-density under state 1 is "), std::string::npos) << last_error();
        EXPECT_NE(last_error().find("nan (the terms overflow)"), std::string::npos) << last_error();  // NaN's sign varies
    }
    // both states' densities -inf at row 3 (x far out, variances of 1e-300): sequence 1 has zero probability
    means = {0, 0};
    cov = {1e-300, 1e-300};
    x = {0.0, 1.0, 1.0, 1e10};
    for (int32_t mode : {HPC_HMM_SCALING, HPC_HMM_LOG}) {
        EXPECT_EQ(call(mode, HPC_COVARIANCE_DIAG, N, obs.data(), 2), HPC_ERR_INVALID_ARGUMENT);
        EXPECT_NE(last_error().find("sequence 1 has zero probability"), std::string::npos) << last_error();
    }
}
