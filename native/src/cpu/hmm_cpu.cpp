#include "hmm_cpu.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <cblas.h>

#include "blas.h"
#include "hmm_small_k.h"
#include "thread_team.h"
#include "value_scan.h"

// The small per-step loops are built for AVX-512, AVX2 and a portable default, picked at load time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(HPC_NO_TARGET_CLONES)
#define HPC_HMM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HPC_HMM_CLONES
#endif

namespace hpc::cpu {


// The per-step loops below have external linkage: GCC's target_clones resolvers of functions local to this file ran
// before ThreadSanitizer's runtime was initialised and crashed the TSan build.
constexpr int64_t kSmallStepK = 32;
constexpr int64_t kLoglikRows = 4096;  // rows per chunk of the Gaussian log-likelihood
constexpr int64_t kCheckValues = 16384;  // densities (128 KB) per piece that gaussian_loglik checks as it writes them

// out[a, K] = in[a, K] M for one step of all active sequences, M a K x K row-major matrix (A, or A^T for the
// backward recursions). Up to kSmallStepK states it is a plain loop: a BLAS call costs more than the K^2
// multiply-adds of a few rows (K 8, 10 sequences of 10,000 steps: about 2 us a step in OpenBLAS, most of it call,
// copy and thread overhead). Each row sums k in order.
HPC_HMM_CLONES void step_product(int64_t a, int64_t K, const double* __restrict in, const double* __restrict M,
                                 double* __restrict out) {
    if (a <= 0) return;
    if (K > kSmallStepK) return gemm(false, false, a, K, K, 1.0, in, K, M, K, 0.0, out, K);
    for (int64_t i = 0; i < a; ++i) {
        const double* x = in + i * K;
        double* o = out + i * K;
        for (int64_t j = 0; j < K; ++j) o[j] = 0.0;
        for (int64_t k = 0; k < K; ++k) {
            const double xk = x[k];
            const double* m = M + k * K;
            for (int64_t j = 0; j < K; ++j) o[j] += xk * m[j];
        }
    }
}

// One Viterbi step of one sequence: c[j] = max_k (p[k] + logA[k, j]) + lb[j], bk[j] = the first k that attains it
// (a strictly greater candidate replaces the best, as numpy's argmax). k outer, so that the loop over j runs along
// rows of log A and vectorises (was a strided walk down each column).
HPC_HMM_CLONES void max_plus_step(const double* __restrict p, const double* __restrict logA, const double* __restrict lb,
                                  int64_t K, double* __restrict c, int32_t* __restrict bk) {
    for (int64_t j = 0; j < K; ++j) {
        c[j] = p[0] + logA[j];
        bk[j] = 0;
    }
    for (int64_t k = 1; k < K; ++k) {
        const double pk = p[k];
        const double* la = logA + k * K;
        for (int64_t j = 0; j < K; ++j) {
            const double cand = pk + la[j];
            const bool better = cand > c[j];
            c[j] = better ? cand : c[j];
            bk[j] = better ? (int32_t)k : bk[j];
        }
    }
    for (int64_t j = 0; j < K; ++j) c[j] += lb[j];
}


// Diagonal Gaussian log-densities of rows [0, rows): out[n, k] = -0.5 (c[k] - 2 x_n . muinv[., k] + x_n^2 . inv[., k]),
// hmmlearn's expanded form, with the parameters transposed ([D, K]) so that the loops over k run along rows.
HPC_HMM_CLONES void diag_loglik_rows(int64_t rows, int64_t K, int64_t D, const double* __restrict x,
                                     const double* __restrict c, const double* __restrict muinv_t,
                                     const double* __restrict inv_t, double* __restrict out) {
    for (int64_t n = 0; n < rows; ++n) {
        const double* xr = x + n * D;
        double* o = out + n * K;
        for (int64_t k = 0; k < K; ++k) o[k] = c[k];
        for (int64_t d = 0; d < D; ++d) {
            const double a = -2.0 * xr[d], b = xr[d] * xr[d];
            const double* mu = muinv_t + d * K;
            const double* iv = inv_t + d * K;
            for (int64_t k = 0; k < K; ++k) o[k] += a * mu[k] + b * iv[k];
        }
        for (int64_t k = 0; k < K; ++k) o[k] *= -0.5;
    }
}

// Sufficient statistics of rows [0, rows), added to ps [K], obs_t [D, K] (gamma^T x, transposed) and, if obs2_t,
// obs2_t [D, K] (gamma^T x^2): four rows per pass over the accumulators (one load and store per four products).
HPC_HMM_CLONES void diag_stats_rows(int64_t rows, int64_t K, int64_t D, const double* __restrict x,
                                    const double* __restrict gamma, double* __restrict ps, double* __restrict obs_t,
                                    double* __restrict obs2_t) {
    int64_t n = 0;
    for (; n + 4 <= rows; n += 4) {
        const double* g0 = gamma + n * K;
        const double *g1 = g0 + K, *g2 = g1 + K, *g3 = g2 + K;
        const double* x0 = x + n * D;
        const double *x1 = x0 + D, *x2 = x1 + D, *x3 = x2 + D;
        for (int64_t k = 0; k < K; ++k) ps[k] += (g0[k] + g1[k]) + (g2[k] + g3[k]);
        for (int64_t d = 0; d < D; ++d) {
            const double a0 = x0[d], a1 = x1[d], a2 = x2[d], a3 = x3[d];
            double* o = obs_t + d * K;
            for (int64_t k = 0; k < K; ++k) o[k] += (g0[k] * a0 + g1[k] * a1) + (g2[k] * a2 + g3[k] * a3);
            if (obs2_t) {
                const double b0 = a0 * a0, b1 = a1 * a1, b2 = a2 * a2, b3 = a3 * a3;
                double* o2 = obs2_t + d * K;
                for (int64_t k = 0; k < K; ++k) o2[k] += (g0[k] * b0 + g1[k] * b1) + (g2[k] * b2 + g3[k] * b3);
            }
        }
    }
    for (; n < rows; ++n) {
        const double* g = gamma + n * K;
        const double* xr = x + n * D;
        for (int64_t k = 0; k < K; ++k) ps[k] += g[k];
        for (int64_t d = 0; d < D; ++d) {
            double* o = obs_t + d * K;
            for (int64_t k = 0; k < K; ++k) o[k] += g[k] * xr[d];
            if (obs2_t) {
                double* o2 = obs2_t + d * K;
                const double b = xr[d] * xr[d];
                for (int64_t k = 0; k < K; ++k) o2[k] += g[k] * b;
            }
        }
    }
}

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Sequences of one thread's group, sorted by decreasing length so that the active ones at step t are a prefix.
struct Group {
    std::vector<int64_t> seqs;  // sequence ids
    std::vector<int64_t> active;  // active[t] = number of sequences with length > t
};

struct Layout {
    std::vector<int64_t> start;
    std::vector<Group> groups;
};

Layout make_layout(int64_t S, const int64_t* lengths, int64_t N, int64_t K) {
    Layout l;
    l.start.resize((size_t)S);
    int64_t off = 0;
    for (int64_t s = 0; s < S; ++s) {
        l.start[(size_t)s] = off;
        off += lengths[s];
    }
    std::vector<int64_t> order((size_t)S);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
    // Threads only pay off when there is enough work per thread.
    const int64_t hw = std::max<int64_t>(1, team_size());
    const int64_t by_work = std::max<int64_t>(1, (N * K * K) / 200000);
    const int64_t G = std::max<int64_t>(1, std::min({hw, S, by_work}));
    l.groups.resize((size_t)G);
    // Deal sequences longest first, each to the group with the least work so far.
    std::vector<int64_t> work((size_t)G, 0);
    for (int64_t s : order) {
        size_t g = (size_t)(std::min_element(work.begin(), work.end()) - work.begin());
        l.groups[g].seqs.push_back(s);
        work[g] += lengths[s];
    }
    // A group's sequences are in decreasing length (dealt in that order), so active[t] = i + 1 from the length of
    // sequence i + 1 to that of sequence i: one fill a sequence (a count a row measured 2 % of a K 8 decode).
    for (auto& g : l.groups) {
        const size_t n = g.seqs.size();
        const int64_t maxT = n == 0 ? 0 : lengths[g.seqs.front()];
        g.active.resize((size_t)maxT);
        for (size_t i = 0; i < n; ++i) {
            const int64_t hi = lengths[g.seqs[i]], lo = i + 1 < n ? lengths[g.seqs[i + 1]] : 0;
            std::fill(g.active.begin() + lo, g.active.begin() + hi, (int64_t)(i + 1));
        }
    }
    return l;
}

// Each group on HPC's thread team (which sleeps 2 ms after a section; a thread per group and call cost more).
template <typename F>
void for_each_group(const Layout& l, F&& f) {
    team_for((int)l.groups.size(), [&](int g, int) { f(l.groups[(size_t)g], (size_t)g); });
}

// The logs of the start and transition probabilities, as every Viterbi pass reads them.
struct LogModel {
    std::vector<double> pi, A;
    LogModel(const double* startprob, const double* transmat, int64_t K) : pi((size_t)K), A((size_t)(K * K)) {
        for (int64_t i = 0; i < K; ++i) pi[(size_t)i] = std::log(startprob[i]);
        for (int64_t i = 0; i < K * K; ++i) A[(size_t)i] = std::log(transmat[i]);
    }
};

// log(emissionprob[k, m]) at [m * width + k] (transposed, so that a symbol's K values are one contiguous row),
// `fill` past K: categorical_loglik (width K) and categorical_viterbi (width 8 ceil(K / 8), -inf) read the same values.
std::vector<double> log_emission_table(const double* emissionprob, int64_t K, int64_t M, int64_t width, double fill) {
    std::vector<double> t((size_t)(M * width), fill);
    for (int64_t k = 0; k < K; ++k)
        for (int64_t m = 0; m < M; ++m) t[(size_t)(m * width + k)] = std::log(emissionprob[k * M + m]);
    return t;
}

std::vector<double> transposed(const double* A, int64_t K) {
    std::vector<double> t((size_t)(K * K));
    for (int64_t i = 0; i < K; ++i)
        for (int64_t j = 0; j < K; ++j) t[(size_t)(j * K + i)] = A[i * K + j];
    return t;
}

double row_max(const double* v, int64_t K) {
    double m = kNegInf;
    for (int64_t j = 0; j < K; ++j) m = std::max(m, v[j]);
    return m;
}

// ---- scaled path -------------------------------------------------------------------------------------------
// alpha [N,K] (normalised forward variables), bprime [N,K] = exp(logB - m_t), scale [N] = c'_t,
// logc [N] = log c'_t + m_t. Returns false if some step cannot be scaled (c' below kUnderflowLimit: the caller falls
// back to logs).
bool forward_scaled(const Group& g, const Layout& l, int64_t K, const double* logB,
                    const double* pi, const double* A, double* alpha, double* bprime, double* scale, double* logc) {
    const int64_t S = (int64_t)g.seqs.size();
    std::vector<double> prev((size_t)(S * K)), cur((size_t)(S * K));
    for (size_t t = 0; t < g.active.size(); ++t) {
        const int64_t a = g.active[t];
        if (t == 0)
            for (int64_t i = 0; i < a; ++i) std::copy(pi, pi + K, cur.data() + i * K);
        else
            step_product(a, K, prev.data(), A, cur.data());
        for (int64_t i = 0; i < a; ++i) {
            const int64_t s = g.seqs[(size_t)i];
            const int64_t r = l.start[(size_t)s] + (int64_t)t;
            const double* lb = logB + r * K;
            const double m = row_max(lb, K);
            if (!std::isfinite(m)) return false;
            double c = 0;
            double* bp = bprime + r * K;
            double* cr = cur.data() + i * K;
            for (int64_t j = 0; j < K; ++j) {
                bp[j] = std::exp(lb[j] - m);
                cr[j] *= bp[j];
                c += cr[j];
            }
            if (!(c >= kUnderflowLimit) || !std::isfinite(c)) return false;
            const double inv = 1.0 / c;
            double* al = alpha + r * K;
            for (int64_t j = 0; j < K; ++j) al[j] = prev[(size_t)(i * K + j)] = cr[j] * inv;
            scale[r] = c;
            logc[r] = std::log(c) + m;
        }
    }
    return true;
}

// beta [N,K]; w [N,K] rows t >= 1: b'_t * beta_t / c'_t (the factor that xi and the recursion share).
void backward_scaled(const Group& g, const Layout& l, int64_t K, const double* A,
                     const double* bprime, const double* scale, double* beta, double* w) {
    const int64_t S = (int64_t)g.seqs.size();
    std::vector<double> wt((size_t)(S * K)), bt((size_t)(S * K));
    const std::vector<double> At = transposed(A, K);
    const int64_t maxT = (int64_t)g.active.size();
    for (int64_t t = maxT - 1; t >= 0; --t) {
        const int64_t a = g.active[(size_t)t];
        const int64_t a_next = t + 1 < maxT ? g.active[(size_t)t + 1] : 0;
        // Sequences 0..a_next-1 continue past t: beta_t = A (b'_{t+1} beta_{t+1} / c'_{t+1}).
        step_product(a_next, K, wt.data(), At.data(), bt.data());
        for (int64_t i = 0; i < a; ++i) {
            const int64_t s = g.seqs[(size_t)i];
            const int64_t r = l.start[(size_t)s] + t;
            double* be = beta + r * K;
            if (i < a_next) std::copy(bt.data() + i * K, bt.data() + (i + 1) * K, be);
            else std::fill(be, be + K, 1.0);
            if (t > 0) {
                const double inv = 1.0 / scale[r];
                const double* bp = bprime + r * K;
                double* wr = w + r * K;
                for (int64_t j = 0; j < K; ++j) wt[(size_t)(i * K + j)] = wr[j] = bp[j] * be[j] * inv;
            }
        }
    }
}

// ---- log path ----------------------------------------------------------------------------------------------
// la [N,K] log forward variables; seq_ll per sequence. Returns false if a product underflowed (product_underflowed in
// hmm_small_k.h): the caller then redoes the group with forward_log_exact.
bool forward_log(const Group& g, const Layout& l, const int64_t* lengths, int64_t K, const double* logB,
                 const double* pi, const double* A, double* la, double* seq_ll) {
    const int64_t S = (int64_t)g.seqs.size();
    std::vector<double> e((size_t)(S * K)), prod((size_t)(S * K)), shift((size_t)S);
    for (size_t t = 0; t < g.active.size(); ++t) {
        const int64_t a = g.active[t];
        if (t > 0) step_product(a, K, e.data(), A, prod.data());
        for (int64_t i = 0; i < a; ++i) {
            const int64_t s = g.seqs[(size_t)i];
            const int64_t r = l.start[(size_t)s] + (int64_t)t;
            const double* lb = logB + r * K;
            double* lr = la + r * K;
            if (t > 0 && product_underflowed(K, prod.data() + i * K, [&](int64_t k) { return lr[k - K]; }, A, true))
                return false;
            for (int64_t j = 0; j < K; ++j) {
                const double pred = t == 0 ? std::log(pi[j]) : shift[(size_t)i] + std::log(prod[(size_t)(i * K + j)]);
                lr[j] = pred + lb[j];
            }
            const double m = row_max(lr, K);
            shift[(size_t)i] = m;
            for (int64_t j = 0; j < K; ++j) e[(size_t)(i * K + j)] = std::isfinite(m) ? std::exp(lr[j] - m) : 0.0;
            if (t + 1 == (size_t)lengths[s]) {
                double sum = 0;
                for (int64_t j = 0; j < K; ++j) sum += e[(size_t)(i * K + j)];
                seq_ll[s] = std::isfinite(m) ? m + std::log(sum) : kNegInf;
            }
        }
    }
    return true;
}

// lb [N,K] log backward variables; q [N,K] rows t >= 1 hold exp(logB_t + lb_t - v_t), v [N] the shifts. Returns false
// if a product underflowed: the caller then redoes the group's backward pass with backward_log_exact.
bool backward_log(const Group& g, const Layout& l, int64_t K, const double* logB, const double* A, double* lbw,
                  double* q, double* v) {
    const int64_t S = (int64_t)g.seqs.size();
    std::vector<double> qt((size_t)(S * K)), prod((size_t)(S * K)), vt((size_t)S);
    const std::vector<double> At = transposed(A, K);
    const int64_t maxT = (int64_t)g.active.size();
    for (int64_t t = maxT - 1; t >= 0; --t) {
        const int64_t a = g.active[(size_t)t];
        const int64_t a_next = t + 1 < maxT ? g.active[(size_t)t + 1] : 0;
        step_product(a_next, K, qt.data(), At.data(), prod.data());
        for (int64_t i = 0; i < a; ++i) {
            const int64_t s = g.seqs[(size_t)i];
            const int64_t r = l.start[(size_t)s] + t;
            double* br = lbw + r * K;
            if (i < a_next && product_underflowed(
                                  K, prod.data() + i * K, [&](int64_t k) { return logB[(r + 1) * K + k] + br[K + k]; }, A, false))
                return false;
            for (int64_t j = 0; j < K; ++j)
                br[j] = i < a_next ? vt[(size_t)i] + std::log(prod[(size_t)(i * K + j)]) : 0.0;
            if (t > 0) {
                const double* lb = logB + r * K;
                double m = kNegInf;
                for (int64_t j = 0; j < K; ++j) m = std::max(m, lb[j] + br[j]);
                vt[(size_t)i] = v[r] = m;
                double* qr = q + r * K;
                for (int64_t j = 0; j < K; ++j)
                    qt[(size_t)(i * K + j)] = qr[j] = std::isfinite(m) ? std::exp(lb[j] + br[j] - m) : 0.0;
            }
        }
    }
    return true;
}

// log of the sum of exp(v(i)) over i < K, exactly as hmmlearn's logsumexp: the largest term taken out first, -inf if
// every term is -inf.
template <typename F>
double log_sum_exp(int64_t K, F v) {
    double m = kNegInf;
    for (int64_t i = 0; i < K; ++i) m = std::max(m, v(i));
    if (!std::isfinite(m)) return m;
    double sum = 0;
    for (int64_t i = 0; i < K; ++i) sum += std::exp(v(i) - m);
    return m + std::log(sum);
}

// The fallbacks of forward_log and backward_log when a product underflows: hmmlearn's recursions, each term a
// log-sum-exp over the states it comes from (K^2 exp per row: no product of shifted rows that can lose a term).
// logA [K, K] = log A.
void forward_log_exact(const Group& g, const Layout& l, const int64_t* lengths, int64_t K, const double* logB,
                       const double* pi, const double* logA, double* la, double* seq_ll) {
    for (int64_t s : g.seqs) {
        const int64_t r0 = l.start[(size_t)s], T = lengths[s];
        for (int64_t j = 0; j < K; ++j) la[r0 * K + j] = std::log(pi[j]) + logB[r0 * K + j];
        for (int64_t r = r0 + 1; r < r0 + T; ++r) {
            const double* prev = la + (r - 1) * K;
            for (int64_t j = 0; j < K; ++j)
                la[r * K + j] = log_sum_exp(K, [&](int64_t i) { return prev[i] + logA[i * K + j]; }) + logB[r * K + j];
        }
        const double* last = la + (r0 + T - 1) * K;
        seq_ll[s] = log_sum_exp(K, [&](int64_t j) { return last[j]; });
    }
}

void backward_log_exact(const Group& g, const Layout& l, const int64_t* lengths, int64_t K, const double* logB,
                        const double* logA, double* lbw) {
    for (int64_t s : g.seqs) {
        const int64_t r0 = l.start[(size_t)s], T = lengths[s];
        std::fill(lbw + (r0 + T - 1) * K, lbw + (r0 + T) * K, 0.0);
        for (int64_t r = r0 + T - 2; r >= r0; --r) {
            const double* nb = lbw + (r + 1) * K;
            const double* nl = logB + (r + 1) * K;
            for (int64_t i = 0; i < K; ++i)
                lbw[r * K + i] = log_sum_exp(K, [&](int64_t j) { return logA[i * K + j] + nl[j] + nb[j]; });
        }
    }
}

// xi [K, K] += the expected transition counts of sequence s, sum_t exp(la_t[i] + log A[i, j] + logB_{t+1}[j] +
// lbw_{t+1}[j] - ll), each term on its own (the fallback of the shifted product in the xi pass).
void xi_log_exact(int64_t s, const Layout& l, const int64_t* lengths, int64_t K, const double* logB, const double* logA,
                  const double* la, const double* lbw, double ll, double* xi) {
    const int64_t r0 = l.start[(size_t)s], T = lengths[s];
    for (int64_t r = r0; r + 1 < r0 + T; ++r)
        for (int64_t i = 0; i < K; ++i)
            for (int64_t j = 0; j < K; ++j) {
                const double e = la[r * K + i] + logA[i * K + j] + logB[(r + 1) * K + j] + lbw[(r + 1) * K + j] - ll;
                if (e > kNegInf) xi[i * K + j] += std::exp(e);
            }
}

}  // namespace

bool hmm_forward_backward(HmmMode mode, int64_t K, int64_t S, const int64_t* lengths, int64_t N,
                          const double* logB, const double* pi, const double* A, double* seq_loglik,
                          double* posteriors, double* xi_sum, double* start_sum, double* seq_loglik_backward,
                          const PosteriorGaussianStats* stats, int64_t* impossible_seq) {
    const BlasSingleThreaded one_blas_thread;
    if (mode == HmmMode::Scaling && *std::min_element(A, A + K * K) < kScaledMinTransition) mode = HmmMode::Log;
    const Layout l = make_layout(S, lengths, N, K);
    const bool need_backward = posteriors || xi_sum || start_sum || seq_loglik_backward || stats;
    // Every buffer is allocated here, before the threads start: groups write disjoint rows of them.
    const size_t NK = (size_t)(N * K);
    // The [N, K] and [N] rows are scratch kept by the calling thread for its later calls (grown, never shrunk,
    // freed when the thread exits): new vectors cost a page fault and a zero fill per 4 KiB on every call, about
    // 15 % of a fit iteration at K 8 (perf). No pass reads a row that an earlier pass of the same call has not
    // written.
    thread_local std::vector<double> sc_fwd, sc_bwd, sc_w, sc_v, sc_bprime, sc_scale, sc_logc, sc_post, sc_factors;
    auto grow = [](std::vector<double>& b, size_t n) -> std::vector<double>& {
        if (b.size() < n) b.resize(n);
        return b;
    };
    std::vector<double>& fwd = grow(sc_fwd, NK);
    std::vector<double>& bwd = grow(sc_bwd, need_backward ? NK : 0);
    std::vector<double>& w = grow(sc_w, need_backward ? NK : 0);
    std::vector<double>& v = grow(sc_v, (size_t)N);
    // Up to kSmallKMaxStates states both implementations run fused (hmm_small_k.h); the consistency check
    // seq_loglik_backward is computed by the general paths only.
    const bool small_k = mode == HmmMode::Scaling && K <= kSmallKMaxStates && !seq_loglik_backward;
    const bool small_k_log = mode == HmmMode::Log && K <= kSmallKMaxStates && !seq_loglik_backward;
    const bool general_scaled = mode == HmmMode::Scaling && !small_k;
    std::vector<double>& bprime = grow(sc_bprime, general_scaled ? NK : 0);
    std::vector<double>& scale = grow(sc_scale, mode == HmmMode::Scaling ? (size_t)N : 0);
    std::vector<double>& logc = grow(sc_logc, general_scaled ? (size_t)N : 0);
    // The small-K forward's factors b'_t = exp(logB_t - m_t), read back by its backward (hmm_small_k.h).
    std::vector<double>& factors = grow(sc_factors, small_k && need_backward ? NK : 0);
    std::vector<std::vector<double>> xi_part(l.groups.size());
    std::vector<std::vector<double>> start_part(l.groups.size());
    // The Gaussian statistics: each small-K group's sums (small_k_backward's sink: ps [K], obs_t [D, K], obs2_t
    // [D, K]); on the general paths from the posteriors, kept in scratch rows unless the caller asked for them.
    const int64_t D = stats ? stats->D : 0;
    const bool stats_in_pass = stats && (small_k || small_k_log);
    std::vector<std::vector<double>> stats_part(stats_in_pass ? l.groups.size() : 0,
                                                std::vector<double>((size_t)(K + 2 * K * D), 0.0));
    if (stats && !stats_in_pass && !posteriors) posteriors = grow(sc_post, NK).data();

    for_each_group(l, [&](const Group& g, size_t gi) {
        // The scaled path falls back to log space for a group in which some step cannot be scaled (an
        // observation so unlikely under every reachable state that the shifted densities underflow).
        // After the forward pass: whether a backward pass runs (asked for, and every sequence of the group possible:
        // an impossible one is reported below), with the group's partial sums zeroed.
        auto start_backward = [&] {
            if (!need_backward) return false;
            for (int64_t s : g.seqs)
                if (!std::isfinite(seq_loglik[s])) return false;
            // xi_part: [K, K] sums multiplied by A at the end, then [K, K] terms that already include it (the exact
            // log-space fallback's).
            if (xi_sum) xi_part[gi].assign((size_t)(2 * K * K), 0.0);
            if (start_sum) start_part[gi].assign((size_t)K, 0.0);
            if (stats_in_pass) std::fill(stats_part[gi].begin(), stats_part[gi].end(), 0.0);
            return true;
        };
        std::vector<double> logA;  // log A, for the exact log-space fallbacks
        auto log_transmat = [&]() -> const double* {
            if (logA.empty()) {
                logA.resize((size_t)(K * K));
                for (int64_t i = 0; i < K * K; ++i) logA[(size_t)i] = std::log(A[i]);
            }
            return logA.data();
        };
        const GaussianStatsSink sink{D, stats ? stats->x : nullptr, stats_in_pass ? stats_part[gi].data() : nullptr};
        const GaussianStatsSink* group_sink = stats_in_pass ? &sink : nullptr;
        const SmallKGroup sg{(int64_t)g.seqs.size(), g.seqs.data(), g.active.data(), (int64_t)g.active.size(),
                             l.start.data()};
        bool use_log = mode == HmmMode::Log;
        // Log space: whether the forward pass is done (la in fwd, seq_loglik written) and whether the backward pass
        // and the transition statistics are redone term by term (a product underflowed: kUnderflowLimit).
        bool forward_done = false, exact_backward = false;
        if (small_k_log) {
            if (small_k_forward_log(sg, K, logB, pi, A, need_backward ? fwd.data() : nullptr, seq_loglik)) {
                if (!start_backward()) return;
                if (small_k_backward_log(sg, K, logB, A, fwd.data(), seq_loglik, posteriors,
                                         xi_sum ? xi_part[gi].data() : nullptr, start_sum ? start_part[gi].data() : nullptr,
                                         bwd.data(), w.data(), group_sink))
                    return;
                forward_done = exact_backward = true;
            }
        } else if (small_k) {
            double* alpha = need_backward ? fwd.data() : nullptr;
            double* row_scale = need_backward ? scale.data() : nullptr;
            double* const fac = need_backward ? factors.data() : nullptr;
            if (small_k_forward(sg, K, logB, pi, A, alpha, row_scale, fac, seq_loglik)) {
                if (start_backward())
                    small_k_backward(sg, K, A, alpha, row_scale, fac, posteriors,
                                     xi_sum ? xi_part[gi].data() : nullptr, start_sum ? start_part[gi].data() : nullptr,
                                     group_sink);
                return;
            }
            use_log = true;
        } else if (!use_log) {
            use_log = !forward_scaled(g, l, K, logB, pi, A, fwd.data(), bprime.data(), scale.data(), logc.data());
        }
        if (use_log) {
            if (!forward_done && !forward_log(g, l, lengths, K, logB, pi, A, fwd.data(), seq_loglik))
                forward_log_exact(g, l, lengths, K, logB, pi, log_transmat(), fwd.data(), seq_loglik);
        } else {
            for (int64_t s : g.seqs) {
                double sum = 0;
                for (int64_t t = 0; t < lengths[s]; ++t) sum += logc[(size_t)(l.start[(size_t)s] + t)];
                seq_loglik[s] = sum;
            }
        }
        if (!start_backward()) return;
        if (use_log) {
            if (exact_backward || !backward_log(g, l, K, logB, A, bwd.data(), w.data(), v.data())) {
                backward_log_exact(g, l, lengths, K, logB, log_transmat(), bwd.data());
                exact_backward = true;
            }
        } else {
            backward_scaled(g, l, K, A, bprime.data(), scale.data(), bwd.data(), w.data());
        }

        // gamma_t = alpha_t * beta_t (scaled) or exp(la + lb - ll) (log), renormalised against rounding.
        auto gamma = [&](int64_t s, int64_t r, double* p) {
            const double* f = fwd.data() + r * K;
            const double* b = bwd.data() + r * K;
            double sum = 0;
            for (int64_t j = 0; j < K; ++j) {
                p[j] = use_log ? std::exp(f[j] + b[j] - seq_loglik[s]) : f[j] * b[j];
                sum += p[j];
            }
            const double inv = sum > 0 ? 1.0 / sum : 0.0;
            for (int64_t j = 0; j < K; ++j) p[j] *= inv;
        };
        if (seq_loglik_backward) {
            // log P(O) = log sum_j pi_j b_0(j) beta_0(j), from the backward variables alone (log path) or from the
            // scaled ones and the scale factors of steps >= 1 (scaled path).
            for (int64_t s : g.seqs) {
                const int64_t r0 = l.start[(size_t)s];
                const double* b = bwd.data() + r0 * K;
                if (use_log) {
                    seq_loglik_backward[s] =
                        log_sum_exp(K, [&](int64_t j) { return std::log(pi[j]) + logB[r0 * K + j] + b[j]; });
                } else {
                    const double m0 = logc[(size_t)r0] - std::log(scale[(size_t)r0]);
                    double sum = 0, rest = 0;
                    for (int64_t j = 0; j < K; ++j) sum += pi[j] * bprime[(size_t)(r0 * K + j)] * b[j];
                    for (int64_t t = 1; t < lengths[s]; ++t) rest += logc[(size_t)(r0 + t)];
                    seq_loglik_backward[s] = m0 + std::log(sum) + rest;
                }
            }
        }
        if (posteriors)
            for (int64_t s : g.seqs)
                for (int64_t t = 0; t < lengths[s]; ++t) gamma(s, l.start[(size_t)s] + t, posteriors + (l.start[(size_t)s] + t) * K);
        if (stats_in_pass) {
            // A small-K group redone in log space (a step could not be scaled, or a log-space product underflowed):
            // its posterior rows added one by one.
            double* part = stats_part[gi].data();
            std::vector<double> p((size_t)K);
            for (int64_t s : g.seqs)
                for (int64_t t = 0; t < lengths[s]; ++t) {
                    const int64_t r = l.start[(size_t)s] + t;
                    gamma(s, r, p.data());
                    diag_stats_rows(1, K, D, stats->x + r * D, p.data(), part, part + K, part + K + K * D);
                }
        }
        if (start_sum) {
            auto& part = start_part[gi];
            std::vector<double> p((size_t)K);
            for (int64_t s : g.seqs) {
                gamma(s, l.start[(size_t)s], p.data());
                for (int64_t j = 0; j < K; ++j) part[(size_t)j] += p[(size_t)j];
            }
        }
        if (xi_sum) {
            // sum_t alpha_t^T w_{t+1}: one GEMM per sequence. The log path folds exp(u + v_{t+1} - ll) into alpha;
            // where that exponent passes kXiShiftLimit, or the backward pass was redone, the sequence's terms are
            // added one by one (xi_log_exact).
            auto& part = xi_part[gi];
            std::vector<double> arow;
            for (int64_t s : g.seqs) {
                const int64_t T = lengths[s], r0 = l.start[(size_t)s];
                if (T < 2) continue;
                const double* a = fwd.data() + r0 * K;
                if (use_log) {
                    bool shifted = !exact_backward;
                    if (shifted) arow.resize((size_t)((T - 1) * K));
                    for (int64_t t = 0; shifted && t + 1 < T; ++t)
                        for (int64_t j = 0; j < K; ++j) {
                            const double e = a[t * K + j] + v[(size_t)(r0 + t + 1)] - seq_loglik[s];
                            shifted = shifted && !(e > kXiShiftLimit);
                            arow[(size_t)(t * K + j)] = std::exp(e);
                        }
                    if (!shifted) {
                        xi_log_exact(s, l, lengths, K, logB, log_transmat(), fwd.data(), bwd.data(), seq_loglik[s],
                                     part.data() + K * K);
                        continue;
                    }
                    a = arow.data();
                }
                gemm(true, false, K, K, T - 1, 1.0, a, K, w.data() + (r0 + 1) * K, K, 1.0, part.data(), K);
            }
        }
    });
    if (impossible_seq) *impossible_seq = -1;
    for (int64_t s = 0; s < S; ++s)
        if (!std::isfinite(seq_loglik[s])) {
            if (impossible_seq) *impossible_seq = s;
            if (need_backward) return false;
            break;
        }
    // Partial sums are added in group order, so results do not depend on thread timing.
    if (xi_sum) {
        std::fill(xi_sum, xi_sum + K * K, 0.0);
        for (auto& p : xi_part)
            for (size_t i = 0; i < p.size() / 2; ++i) xi_sum[i] += p[i];
        for (int64_t i = 0; i < K * K; ++i) xi_sum[i] *= A[i];
        for (auto& p : xi_part)
            for (size_t i = 0; i < p.size() / 2; ++i) xi_sum[i] += p[p.size() / 2 + i];
    }
    if (start_sum) {
        std::fill(start_sum, start_sum + K, 0.0);
        for (auto& p : start_part)
            for (size_t i = 0; i < p.size(); ++i) start_sum[i] += p[i];
    }
    if (stats_in_pass) {
        std::fill(stats->post_sum, stats->post_sum + K, 0.0);
        std::fill(stats->obs, stats->obs + K * D, 0.0);
        if (stats->obs2) std::fill(stats->obs2, stats->obs2 + K * D, 0.0);
        for (const auto& part : stats_part) {
            const double* p = part.data();
            for (int64_t k = 0; k < K; ++k) stats->post_sum[k] += p[k];
            for (int64_t d = 0; d < D; ++d)
                for (int64_t k = 0; k < K; ++k) {
                    stats->obs[k * D + d] += p[K + d * K + k];
                    if (stats->obs2) stats->obs2[k * D + d] += p[K + K * D + d * K + k];
                }
        }
    } else if (stats) {
        gaussian_stats(K, D, N, stats->x, posteriors, stats->post_sum, stats->obs, stats->obs2, nullptr);
    }
    return true;
}

namespace {

// The small-K Viterbi's scratch rows (every value written before it is read), kept for the thread's later calls as
// the forward-backward scratch is: the scores (above 16 states), the back pointers (up to 16 and above 24), or both.
struct ViterbiScratch {
    std::vector<double> delta;
    std::vector<uint8_t> back;
};

// The calling thread's (one for every instance of the template below: hpc_hmm_viterbi and the fused Gaussian one
// share it).
ViterbiScratch& viterbi_scratch() {
    thread_local ViterbiScratch s;
    return s;
}

// Runs f(group, its index, delta rows, back pointers) for each group of l on the team, with the calling thread's
// scratch.
template <typename F>
void small_k_viterbi_groups(const Layout& l, int64_t K, int64_t N, F&& f) {
    std::vector<double>& delta = viterbi_scratch().delta;
    std::vector<uint8_t>& back = viterbi_scratch().back;
    const int64_t W = small_k_viterbi_width(K), B = small_k_viterbi_back_row_bytes(K);
    if (W > 0 && delta.size() < (size_t)(N * W)) delta.resize((size_t)(N * W));
    if (B > 0 && back.size() < (size_t)(N * B)) back.resize((size_t)(N * B));
    // this thread's blocks, passed to the team's threads
    double* const rows = W > 0 ? delta.data() : nullptr;
    uint8_t* const pointers = B > 0 ? back.data() : nullptr;
    for_each_group(l, [&](const Group& g, size_t gi) {
        const SmallKGroup sg{(int64_t)g.seqs.size(), g.seqs.data(), g.active.data(), (int64_t)g.active.size(),
                             l.start.data()};
        f(sg, gi, rows, pointers);
    });
}

}  // namespace

void hmm_viterbi(int64_t K, int64_t S, const int64_t* lengths, int64_t N, const double* logB, const double* pi,
                 const double* A, int64_t* path, double* seq_logprob) {
    const Layout l = make_layout(S, lengths, N, K);
    const LogModel lm(pi, A, K);
    if (K <= kSmallKMaxStates) {
        small_k_viterbi_groups(l, K, N, [&](const SmallKGroup& sg, size_t, double* rows, uint8_t* pointers) {
            small_k_viterbi(sg, K, logB, lm.pi.data(), lm.A.data(), rows, pointers, path, seq_logprob);
        });
        return;
    }
    std::vector<int32_t> back((size_t)(N * K));
    for_each_group(l, [&](const Group& g, size_t) {
        const int64_t Sg = (int64_t)g.seqs.size();
        std::vector<double> prev((size_t)(Sg * K)), cur((size_t)(Sg * K));
        for (size_t t = 0; t < g.active.size(); ++t) {
            for (int64_t i = 0; i < g.active[t]; ++i) {
                const int64_t s = g.seqs[(size_t)i];
                const int64_t r = l.start[(size_t)s] + (int64_t)t;
                const double* lb = logB + r * K;
                double* c = cur.data() + i * K;
                int32_t* bk = back.data() + r * K;
                if (t == 0) {
                    for (int64_t j = 0; j < K; ++j) {
                        c[j] = lm.pi[(size_t)j] + lb[j];
                        bk[j] = 0;
                    }
                    continue;
                }
                // max over k of p[k] + log A[k, j] for every j at once, k outer so that the loop over j runs along
                // rows of log A (vectorised; was a strided walk down each column: K 64, 100,000 steps 166 -> ms).
                // A strictly greater candidate replaces the best, so the first maximum wins, as numpy's argmax.
                max_plus_step(prev.data() + i * K, lm.A.data(), lb, K, c, bk);
            }
            std::swap(prev, cur);
            // rows of sequences that ended at t keep their final scores in prev until backtracking below
            for (int64_t i = 0; i < g.active[t]; ++i) {
                const int64_t s = g.seqs[(size_t)i];
                if (t + 1 == (size_t)lengths[s]) {
                    const double* p = prev.data() + i * K;
                    int64_t arg = 0;
                    for (int64_t j = 1; j < K; ++j)
                        if (p[j] > p[arg]) arg = j;
                    seq_logprob[s] = p[arg];
                    const int64_t r0 = l.start[(size_t)s];
                    int64_t state = arg;
                    for (int64_t u = lengths[s] - 1; u >= 0; --u) {
                        path[r0 + u] = state;
                        state = back[(size_t)((r0 + u) * K + state)];
                    }
                }
            }
            // the next step overwrites cur (= the old prev); active sequences keep their rows in prev
        }
    });
}

namespace {

// lpr = -0.5 (D log 2pi + sum log s2 + sum mu^2/s2 - 2 x.(mu/s2) + x^2.(1/s2)), hmmlearn's expanded form, computed in
// one pass over the rows from these terms (was two BLAS products and a pass for x^2: OpenBLAS's copies of the
// [rows, D] operands cost more than the K x D products per row; K 8, D 4, 100k rows 0.6 -> ms): c [K] the constant,
// mu_inv_t and inv_t [D, K] (transposed) mu/s2 and 1/s2. Spherical or diagonal covariances.
struct DiagGaussianTerms {
    std::vector<double> c, mu_inv_t, inv_t;
    DiagGaussianTerms(CovarianceType type, int64_t K, int64_t D, const double* means, const double* covars)
        : c((size_t)K), mu_inv_t((size_t)(K * D)), inv_t((size_t)(K * D)) {
        const double log2pi = std::log(2.0 * M_PI);
        for (int64_t k = 0; k < K; ++k) {
            double sum = D * log2pi;
            for (int64_t d = 0; d < D; ++d) {
                const double s2 = type == CovarianceType::Spherical ? covars[k] : covars[k * D + d];
                const double mu = means[k * D + d];
                inv_t[(size_t)(d * K + k)] = 1.0 / s2;
                mu_inv_t[(size_t)(d * K + k)] = mu / s2;
                sum += std::log(s2) + mu * mu / s2;
            }
            c[(size_t)k] = sum;
        }
    }
};

}  // namespace

// Measured (bench/results/2026-11-23-gaussian-viterbi.md, hmm_calls_time, 100,000 rows, one thread): fused is faster
// up to 16 states (K 8 D 1, 4, 16; K 16 D 4: the back-pointer step is latency-bound, the density's operations fit
// beside it) and above 32 where the [N, K] array is large (K 40 D 2, 48 D 1, 64 D 1, 2, 4; even at 64 D 16), slower
// from 17 to 32 states (K 20 D 1, 24 D 4, 32 D 4) and at K 64 with 10,000 rows (640,000 values, 5 MB: 0.84 -> 0.88
// ms on two threads): the score pass keeps the FMA and max pipes busy, so the density's FMAs add their full cost,
// which only the memory traffic of a large array (written, validated, read back) outweighs. 30,000 rows at K 64
// (1.9 million values) were faster fused (6.29 -> 5.73 ms, one thread); the cut is between.
// With AVX2 (Zen 3) also from 17 to 32 states at any row count (small_k_fuses_17_to_32_states).
bool gaussian_viterbi_fuses(CovarianceType type, int64_t K, int64_t N) {
    if ((type != CovarianceType::Diag && type != CovarianceType::Spherical) || K < 1 || K > kSmallKMaxStates) return false;
    if (K <= 16) return true;
    if (K <= 32) return small_k_fuses_17_to_32_states();
    return N >= (kFusedViterbiMinValues + K - 1) / K;  // N K >= kFusedViterbiMinValues, no overflow
}

GaussianViterbi gaussian_viterbi(CovarianceType type, int64_t K, int64_t D, int64_t S, const int64_t* lengths,
                                 int64_t N, const double* x, const double* means, const double* covars,
                                 const double* pi, const double* A, int64_t* path, double* seq_logprob) {
    if (!gaussian_viterbi_fuses(type, K, N)) return GaussianViterbi::NotFused;
    const DiagGaussianTerms terms(type, K, D, means, covars);
    const Layout l = make_layout(S, lengths, N, K);
    const LogModel lm(pi, A, K);
    std::vector<char> ok(l.groups.size(), 1);
    small_k_viterbi_groups(l, K, N, [&](const SmallKGroup& sg, size_t gi, double* rows, uint8_t* pointers) {
        bool densities_ok = true;
        small_k_diag_gaussian_viterbi(sg, K, D, x, terms.c.data(), terms.mu_inv_t.data(), terms.inv_t.data(),
                                      lm.pi.data(), lm.A.data(), rows, pointers, path, seq_logprob, &densities_ok);
        ok[gi] = densities_ok;  // each group its own slot: the groups run on different threads
    });
    for (char o : ok)
        if (!o) return GaussianViterbi::BadDensity;
    return GaussianViterbi::Done;
}

int64_t gaussian_loglik(CovarianceType type, int64_t K, int64_t D, int64_t N, const double* x, const double* means,
                        const double* covars, double min_covar, double* out, int64_t* first_bad_density) {
    const BlasSingleThreaded one_blas_thread;
    const double log2pi = std::log(2.0 * M_PI);
    if (first_bad_density) *first_bad_density = -1;
    if (type == CovarianceType::Diag || type == CovarianceType::Spherical) {
        const DiagGaussianTerms terms(type, K, D, means, covars);
        const std::vector<double>&c = terms.c, &mu_inv_t = terms.mu_inv_t, &inv_t = terms.inv_t;
        // Rows in fixed chunks of kLoglikRows on the team (each row's result does not depend on the chunks anyway).
        const int64_t chunks = (N + kLoglikRows - 1) / kLoglikRows;
        std::atomic<int64_t> first_bad{INT64_MAX};  // the lowest bad index over the chunks
        team_for((int)std::min<int64_t>(chunks, 1 << 15), [&](int ci, int nc) {
            for (int64_t q = ci; q < chunks; q += nc) {
                const int64_t q0 = q * kLoglikRows, q1 = std::min(N, q0 + kLoglikRows);
                // Checked in pieces of about kCheckValues as they are written, from L2 (a 4096-row chunk is 1 MB at
                // K 32); without the check, the chunk in one piece.
                const int64_t piece = first_bad_density ? std::max<int64_t>(1, kCheckValues / K) : kLoglikRows;
                for (int64_t n0 = q0; n0 < q1; n0 += piece) {
                    const int64_t rows = std::min(piece, q1 - n0);
                    if (!small_k_diag_loglik(rows, K, D, x + n0 * D, c.data(), mu_inv_t.data(), inv_t.data(), out + n0 * K))
                        diag_loglik_rows(rows, K, D, x + n0 * D, c.data(), mu_inv_t.data(), inv_t.data(), out + n0 * K);
                    if (!first_bad_density) continue;
                    const int64_t i = first_bad_log_density(out + n0 * K, rows * K);
                    if (i < 0) continue;
                    int64_t seen = first_bad.load(std::memory_order_relaxed);
                    while (n0 * K + i < seen && !first_bad.compare_exchange_weak(seen, n0 * K + i, std::memory_order_relaxed)) {}
                }
            }
        });
        if (first_bad_density) {
            const int64_t i = first_bad.load();
            *first_bad_density = i == INT64_MAX ? -1 : i;
        }
        return -1;
    }
    // Full / tied: Cholesky L of each covariance; z = L^{-1}(x - mu) by a triangular solve of all rows at once.
    const int64_t n_cov = type == CovarianceType::Tied ? 1 : K;
    std::vector<double> L((size_t)(n_cov * D * D)), logdet((size_t)n_cov);
    for (int64_t c = 0; c < n_cov; ++c) {
        const double* S = covars + c * D * D;
        double* Lc = L.data() + c * D * D;
        bool ok = false;
        for (int attempt = 0; attempt < 2 && !ok; ++attempt) {
            ok = true;
            for (int64_t i = 0; i < D && ok; ++i)
                for (int64_t j = 0; j <= i && ok; ++j) {
                    double sum = S[i * D + j] + (attempt == 1 && i == j ? min_covar : 0.0);
                    for (int64_t k = 0; k < j; ++k) sum -= Lc[i * D + k] * Lc[j * D + k];
                    if (i == j) {
                        if (!(sum > 0)) ok = false;
                        else Lc[i * D + i] = std::sqrt(sum);
                    } else {
                        Lc[i * D + j] = sum / Lc[j * D + j];
                    }
                }
        }
        if (!ok) return c;
        for (int64_t i = 0; i < D; ++i)
            for (int64_t j = i + 1; j < D; ++j) Lc[i * D + j] = 0.0;
        double ld = 0;
        for (int64_t i = 0; i < D; ++i) ld += 2.0 * std::log(Lc[i * D + i]);
        logdet[(size_t)c] = ld;
    }
    std::vector<double> z((size_t)(N * D));
    for (int64_t k = 0; k < K; ++k) {
        const int64_t c = type == CovarianceType::Tied ? 0 : k;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t d = 0; d < D; ++d) z[(size_t)(n * D + d)] = x[n * D + d] - means[k * D + d];
        // Solve z L^T = (x - mu) for z (rows): right side, lower, transposed.
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)N, (int)D, 1.0,
                    L.data() + c * D * D, (int)D, z.data(), (int)D);
        for (int64_t n = 0; n < N; ++n) {
            double q = 0;
            for (int64_t d = 0; d < D; ++d) q += z[(size_t)(n * D + d)] * z[(size_t)(n * D + d)];
            out[n * K + k] = -0.5 * (D * log2pi + logdet[(size_t)c] + q);
        }
    }
    if (first_bad_density) *first_bad_density = first_bad_log_density(out, N * K);
    return -1;
}

void categorical_viterbi(int64_t K, int64_t M, int64_t S, const int64_t* lengths, int64_t N, const int64_t* symbols,
                         const double* emissionprob, const double* pi, const double* A, int64_t* path,
                         double* seq_logprob) {
    if (K > kSmallKMaxStates) {  // the general loop over the [N, K] array
        std::vector<double> logB((size_t)(N * K));
        categorical_loglik(K, M, N, symbols, emissionprob, logB.data());
        return hmm_viterbi(K, S, lengths, N, logB.data(), pi, A, path, seq_logprob);
    }
    // The table [M, 8 ceil(K / 8)], -inf past K, as small_k_categorical_viterbi reads it.
    const std::vector<double> table =
        log_emission_table(emissionprob, K, M, (K + 7) / 8 * 8, -std::numeric_limits<double>::infinity());
    const Layout l = make_layout(S, lengths, N, K);
    const LogModel lm(pi, A, K);
    small_k_viterbi_groups(l, K, N, [&](const SmallKGroup& sg, size_t, double* rows, uint8_t* pointers) {
        small_k_categorical_viterbi(sg, K, symbols, table.data(), lm.pi.data(), lm.A.data(), rows, pointers, path,
                                    seq_logprob);
    });
}

void categorical_loglik(int64_t K, int64_t M, int64_t N, const int64_t* symbols, const double* emissionprob,
                        double* out) {
    // log emissionprob transposed to [M, K]: each output row is one contiguous row of it (was K reads M apart).
    const std::vector<double> logp_t = log_emission_table(emissionprob, K, M, K, 0.0);
    for (int64_t n = 0; n < N; ++n) std::copy_n(logp_t.data() + symbols[n] * K, K, out + n * K);
}

void gaussian_stats(int64_t K, int64_t D, int64_t N, const double* x, const double* gamma, double* post_sum,
                    double* obs, double* obs2, double* obs_outer) {
    const BlasSingleThreaded one_blas_thread;
    // post_sum, obs and obs2: one pass over the rows in fixed chunks of kLoglikRows on the team, each chunk's sums
    // added in chunk order (results do not depend on the thread count). Was OpenBLAS products gamma^T x and
    // gamma^T x^2 on one thread: K 8, D 4, 100k rows 1.4 -> ms.
    const int64_t chunks = (N + kLoglikRows - 1) / kLoglikRows;
    const int64_t per = K + 2 * K * D;  // one chunk's ps, obs_t, obs2_t
    std::vector<double> part((size_t)(chunks * per), 0.0);
    team_for((int)std::min<int64_t>(chunks, 1 << 15), [&](int ci, int nc) {
        for (int64_t q = ci; q < chunks; q += nc) {
            const int64_t n0 = q * kLoglikRows, rows = std::min(kLoglikRows, N - n0);
            double* p = part.data() + q * per;
            double* o2 = obs2 ? p + K + K * D : nullptr;
            if (!small_k_diag_stats(rows, K, D, x + n0 * D, gamma + n0 * K, p, p + K, o2))
                diag_stats_rows(rows, K, D, x + n0 * D, gamma + n0 * K, p, p + K, o2);
        }
    });
    std::fill(post_sum, post_sum + K, 0.0);
    std::fill(obs, obs + K * D, 0.0);
    if (obs2) std::fill(obs2, obs2 + K * D, 0.0);
    for (int64_t q = 0; q < chunks; ++q) {
        const double* p = part.data() + q * per;
        for (int64_t k = 0; k < K; ++k) post_sum[k] += p[k];
        for (int64_t d = 0; d < D; ++d)
            for (int64_t k = 0; k < K; ++k) {
                obs[k * D + d] += p[K + d * K + k];
                if (obs2) obs2[k * D + d] += p[K + K * D + d * K + k];
            }
    }
    thread_local std::vector<double> xs;  // scratch rows kept for the thread's later calls, as in hmm_forward_backward
    if (obs_outer) {
        if (xs.size() < (size_t)(N * D)) xs.resize((size_t)(N * D));
        for (int64_t k = 0; k < K; ++k) {
            for (int64_t n = 0; n < N; ++n)
                for (int64_t d = 0; d < D; ++d) xs[(size_t)(n * D + d)] = x[n * D + d] * gamma[n * K + k];
            gemm(true, false, D, D, N, 1.0, xs.data(), D, x, D, 0.0, obs_outer + k * D * D, D);
        }
    }
}

void categorical_stats(int64_t K, int64_t M, int64_t N, const int64_t* symbols, const double* gamma, double* counts) {
    // Summed transposed ([M, K]: each row's posteriors added to one contiguous row), then transposed back.
    std::vector<double> counts_t((size_t)(M * K), 0.0);
    for (int64_t n = 0; n < N; ++n) {
        double* c = counts_t.data() + symbols[n] * K;
        const double* g = gamma + n * K;
        for (int64_t k = 0; k < K; ++k) c[k] += g[k];
    }
    for (int64_t k = 0; k < K; ++k)
        for (int64_t m = 0; m < M; ++m) counts[k * M + m] = counts_t[(size_t)(m * K + k)];
}

}  // namespace hpc::cpu
