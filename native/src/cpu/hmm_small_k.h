// The HMM kernels for up to 64 states (kSmallKMaxStates), each row's K values held in vector registers (vectors of the
// target's width: hmm_small_k_kernels.cpp is built for AVX-512, AVX2 and SSE2 and hmm_small_k.cpp picks one): the
// scaled and the log-space forward-backward, fused; Viterbi; diagonal Gaussian densities and statistics.
//
// Scaled: per row the forward pass reads the emission log-densities and writes the scaled forward variables alpha_t
// and two numbers (the row's maximum log-density m_t and the power of two s_t that brought the row's sum into
// [1, 2): exact, and no division or log per step); the backward pass reads them again, recomputes
// b'_t = exp(logB_t - m_t) instead of storing it, starts each sequence from beta_T = 1 / sum(alpha_T) (so that
// alpha_t beta_t are the posteriors for any scale factors), and adds each step's posteriors and transition statistics
// as it goes. Log space: the same structure, each step shifted by the previous row's maximum, exponentiated,
// multiplied by A and taken back by a lane-wise log. The general paths (hmm_cpu.cpp) write more [N, K] arrays and read
// them back in separate passes; at K 8 that memory traffic, libm's exp and log and the per-pass loops over rows made
// most of a fit iteration.
#pragma once

#include <cstdint>
#include <limits>

namespace hpc::cpu {

constexpr int64_t kSmallKMaxStates = 64;
// The log-space passes multiply exp(row - its maximum) by A: a state's term underflows to 0 when every state it can
// come from (forward) or go to (backward) lies more than about 745 nats below the row's maximum, which another state,
// not connected to it, holds. A product below kUnderflowLimit that has a finite predecessor (or successor) with a
// non-zero transition is such an underflow (or too close to one to keep its precision: the terms lost are below 1e-308,
// and 1e-308 / kUnderflowLimit is far below rounding), and the pass gives up: the group is redone with hmmlearn's
// log-sum-exp of each term (hmm_cpu.cpp), which has no such products. A product of 0 with no finite predecessor is a
// true 0 (left-right models, unreachable states) and costs nothing. The scaled passes treat a row sum below it as a
// row that cannot be scaled.
constexpr double kUnderflowLimit = 1e-280;
// The log-space transition statistics add exp(la_{t-1}[i] - M) exp(M + v_t - ll) q_t[j] (M, v_t the two rows'
// maxima): when M + v_t - ll exceeds this (the two maxima belong to states that are not connected), the second factor
// may overflow and the first lose terms that matter, and the pass gives up as above. Below it the terms lost are
// under exp(300 - 745).
constexpr double kXiShiftLimit = 300.0;
// The scaled passes lose a state whose forward variable falls below about 1e-308 of its row's sum (subnormal, then
// 0). With every transition at least kScaledMinTransition, what that state would have added later is below
// 1e-308 / 1e-100 of what the row's other states add (any state reaches any other in one step), so nothing that
// matters is lost; with smaller transitions (zeros: left-right models) a lost state can be the only way to states
// that later explain the data far better, and hmm_forward_backward runs the log-space implementation instead.
constexpr double kScaledMinTransition = 1e-100;
// Whether a log-space pass's product row lost a term to underflow (kUnderflowLimit): some state j whose product is
// below the limit although a state i with a finite prev(i) is connected to it (forward: A[i, j] > 0, prev the previous
// row of log forward variables; backward: A[j, i] > 0, prev the next row's log-density plus log beta).
template <typename Prev>
inline bool product_underflowed(int64_t K, const double* prod, Prev prev, const double* A, bool forward) {
    for (int64_t j = 0; j < K; ++j) {
        if (!(prod[j] < kUnderflowLimit)) continue;
        for (int64_t i = 0; i < K; ++i)
            if ((forward ? A[i * K + j] : A[j * K + i]) > 0 && prev(i) > -std::numeric_limits<double>::infinity())
                return true;
    }
    return false;
}

// The sequences of one thread's group, sorted by decreasing length: at step t, sequences 0..active[t]-1 are active.
struct SmallKGroup {
    int64_t n_seqs;
    const int64_t* seqs;    // [n_seqs] sequence ids
    const int64_t* active;  // [steps]
    int64_t steps;          // length of the longest sequence
    const int64_t* start;   // [S] first row of each sequence
    // Sequences still running at step t (0 past the last step), and the row of the i-th of them at step t.
    int64_t active_at(int64_t t) const { return t < steps ? active[t] : 0; }
    int64_t row(int64_t i, int64_t t) const { return start[seqs[i]] + t; }
};

// Diagonal Gaussian statistics of a group's posterior rows, added by the backward passes below as each row is made
// (whether or not the rows are also stored): x [N, D]; acc [K + 2 K D] added to, laid out as small_k_diag_stats'
// ps [K], obs_t [D, K] and obs2_t [D, K]. The rows are summed in the pass's order (steps backwards, the group's
// sequences side by side), four at a time as small_k_diag_stats sums them.
struct GaussianStatsSink {
    int64_t D;
    const double* x;
    double* acc;
};

// Forward pass of a group. alpha [N, K] (rows of the group; nullptr: not stored), row_scale [N] (s_t; nullptr: not
// stored), factors [N, K] (b'_t = exp(logB_t - m_t), m_t the row's maximum, for the backward pass; nullptr: not stored),
// seq_loglik [S] (the group's entries). Returns false if some step cannot be scaled (all of a row's
// densities -inf, or a row sum below kUnderflowLimit or infinite): the caller then redoes the group in log space. Also false (doing
// nothing) beyond kSmallKMaxStates states, as the functions below.
bool small_k_forward(const SmallKGroup& g, int64_t K, const double* log_emission, const double* startprob,
                     const double* transmat, double* alpha, double* row_scale, double* factors, double* seq_loglik);

// Backward pass of a group after small_k_forward stored alpha, row_scale and factors (all three required).
// posteriors [N, K] (nullptr: not
// written); xi_part [K, K] += sum_t alpha_t^T (b'_{t+1} beta_{t+1} s_{t+1}) (before the product with A; nullptr:
// not computed); start_part [K] += posteriors at t = 0 (nullptr: not computed). stats: nullptr, or where the
// posterior rows' Gaussian statistics are added.
bool small_k_backward(const SmallKGroup& g, int64_t K, const double* transmat, const double* alpha,
                      const double* row_scale, const double* factors, double* posteriors, double* xi_part,
                      double* start_part, const GaussianStatsSink* stats);

// The log-space forward-backward of a group (the log implementation), fused in the same way: the forward stores
// la [N, K] (nullptr: not stored) and writes seq_loglik (-inf for an impossible sequence: the caller then asks for no
// backward); the backward, after it, writes posteriors and adds xi_part / start_part as small_k_backward does. a_rows
// and w_rows [N, K]: scratch for the group's rows (used when xi_part is asked for and K > 8). The lane-wise log of
// the products is musl's algorithm (vmath_f64_lanes.h). Both return false when a product underflows or the transition
// statistics would overflow (kUnderflowLimit, kXiShiftLimit), having written part of the group's outputs and sums:
// the caller redoes the group (and zeroes its partial sums and statistics first).
bool small_k_forward_log(const SmallKGroup& g, int64_t K, const double* log_emission, const double* startprob,
                         const double* transmat, double* la, double* seq_loglik);
bool small_k_backward_log(const SmallKGroup& g, int64_t K, const double* log_emission, const double* transmat,
                          const double* la, const double* seq_loglik, double* posteriors, double* xi_part,
                          double* start_part, double* a_rows, double* w_rows, const GaussianStatsSink* stats);

// Diagonal Gaussian log-densities of rows [0, rows) for up to kSmallKMaxStates states, each row's values in registers:
// out[n, k] = -0.5 (c[k] - 2 x_n . muinv_t[., k] + x_n^2 . inv_t[., k]) (muinv_t, inv_t [D, K]). Returns false (and
// does nothing) for more states.
bool small_k_diag_loglik(int64_t rows, int64_t K, int64_t D, const double* x, const double* c, const double* muinv_t,
                         const double* inv_t, double* out);

// Statistics of rows [0, rows) for up to kSmallKMaxStates states, added to ps [K] (sum of gamma), obs_t [D, K]
// (gamma^T x, transposed) and, if not nullptr, obs2_t [D, K] (gamma^T x^2). Returns false (and does nothing) for more
// states.
bool small_k_diag_stats(int64_t rows, int64_t K, int64_t D, const double* x, const double* gamma, double* ps,
                        double* obs_t, double* obs2_t);

// Viterbi of a group (logpi [K], logA [K, K]): path [N] and seq_logprob [S] (the group's entries), the same results,
// bit for bit, as the general loop. Scratch for the group's rows, written before it is read: back pointers back, N
// rows of small_k_viterbi_back_row_bytes(K) (8 int32 up to 8 states, 16 bytes up to 16, 8 ceil(K / 8) bytes above
// 24 states, 0 from 17 to 24), and above 16 states the rows' scores delta [N, W], W = small_k_viterbi_width(K) (0 up
// to 16).
constexpr int64_t kSmallKBackPointerRowBytes = 64;
// Viterbi's passes by 8 ceil(K / 8) (hmm_small_k_kernels.cpp, viterbi): back pointers up to
// kSmallKViterbiBackPointerStates, the score pass (delta) up to kSmallKViterbiScoreStates, above either the pruned
// steps with back pointers or the score pass (chosen for each group by a probe of its first rows).
constexpr int kSmallKViterbiBackPointerStates = 16;
constexpr int kSmallKViterbiScoreStates = 24;
// The bytes a row of back pointers takes in small_k_viterbi's scratch: 0 where the pass keeps only scores.
inline int64_t small_k_viterbi_back_row_bytes(int64_t K) {
    const int64_t w = (K + 7) / 8 * 8;
    return w > kSmallKViterbiBackPointerStates && w <= kSmallKViterbiScoreStates ? 0 : kSmallKBackPointerRowBytes;
}
int64_t small_k_viterbi_width(int64_t K);
bool small_k_viterbi(const SmallKGroup& g, int64_t K, const double* log_emission, const double* logpi,
                     const double* logA, double* delta, uint8_t* back, int64_t* path, double* seq_logprob);

// small_k_viterbi for categorical emissions, each row's log-probabilities looked up: row symbols[n] (in [0, M)) of
// table [M, 8 ceil(K / 8)], log(emissionprob[k, m]) at [m, k] and -inf past K. The same path and log-probabilities,
// bit for bit, as small_k_viterbi over the [N, K] array of those values. Returns false (doing nothing) above
// kSmallKMaxStates.
bool small_k_categorical_viterbi(const SmallKGroup& g, int64_t K, const int64_t* symbols, const double* table,
                                 const double* logpi, const double* logA, double* delta, uint8_t* back, int64_t* path,
                                 double* seq_logprob);

// The build of the kernels this CPU runs: "avx512", "avx2" or "sse2" (or "native": the one build for the compiler's
// target), for hpc_backend_info.
const char* small_k_kernel_name();
// Whether small_k_diag_gaussian_viterbi is the faster way for 17 to 32 states with the kernels this CPU runs
// (gaussian_viterbi_fuses in hmm_cpu.cpp): with AVX2 (Zen 3) fused took 0.80-0.88x the time of the densities then
// Viterbi at K 24 and 32, D 1-16, 10,000 and 100,000 rows; with AVX-512 (Zen 5) it was slower (the score pass keeps
// the FMA and max pipes busy, and the memory traffic it saves costs less there). SSE2: not measured, not fused.
bool small_k_fuses_17_to_32_states();

// small_k_viterbi for diagonal Gaussian emissions with each row's densities computed as the pass needs them (the
// terms of small_k_diag_loglik; the same densities, bit for bit, so the same path and log-probabilities as
// small_k_diag_loglik then small_k_viterbi). densities_ok: false if some density was NaN or +inf (the results are
// then not meaningful; small_k_viterbi's callers refuse such densities). Returns false (doing nothing) for state
// counts above kSmallKMaxStates.
bool small_k_diag_gaussian_viterbi(const SmallKGroup& g, int64_t K, int64_t D, const double* x, const double* c,
                                   const double* muinv_t, const double* inv_t, const double* logpi, const double* logA,
                                   double* delta, uint8_t* back, int64_t* path, double* seq_logprob,
                                   bool* densities_ok);

}  // namespace hpc::cpu
