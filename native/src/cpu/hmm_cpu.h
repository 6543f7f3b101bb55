// CPU kernels for hidden Markov models over a batch of sequences of different lengths (float64).
// Plain functions on raw pointers; the ABI layer validates. Sequences are concatenated row-wise: sequence s
// occupies rows [start_s, start_s + len_s) of every [N, K] or [N, D] array.
//
// Structure: sequences are sorted by length and stepped together, so that each time step of a batch is one
// [active, K] x [K, K] matrix product; sequences are split into groups that run on separate threads.
// The scaled path shifts each step's emission log-densities by their maximum before exponentiating; the log path
// shifts by the running maximum and uses the same matrix product (K exp and K log per row, no K^2 exp/log).
#pragma once

#include <cstdint>

namespace hpc::cpu {

enum class HmmMode { Scaling, Log };

enum class CovarianceType { Spherical, Diag, Full, Tied };

// seq_loglik [S]; posteriors [N,K], xi_sum [K,K], start_sum [K], seq_loglik_backward [S] (the likelihood
// computed from the backward variables, a consistency check) may be nullptr (then only what is asked is done).
// Returns false when some sequence is impossible under the model (log-likelihood -inf) and posteriors or
// statistics were requested; seq_loglik is still written (with -inf for such sequences).
// stats (or nullptr): the diagonal Gaussian statistics of the posteriors of x [N, D], as gaussian_stats computes them
// (post_sum [K], obs [K, D], obs2 [K, D] or nullptr), without storing the posteriors where the backward pass makes
// them row by row (up to 64 states: each group's rows summed in the pass's order, the groups' sums
// added in group order, so the last bits depend on the thread count as xi_sum's do); elsewhere from posteriors kept
// in scratch rows (or the caller's) by gaussian_stats.
struct PosteriorGaussianStats {
    int64_t D;
    const double* x;
    double* post_sum;
    double* obs;
    double* obs2;
};
bool hmm_forward_backward(HmmMode mode, int64_t K, int64_t S, const int64_t* lengths, int64_t N,
                          const double* log_emission, const double* startprob, const double* transmat,
                          double* seq_loglik, double* posteriors, double* xi_sum, double* start_sum,
                          double* seq_loglik_backward, const PosteriorGaussianStats* stats, int64_t* impossible_seq);

// Viterbi in log space: path [N] (state per row), seq_logprob [S].
void hmm_viterbi(int64_t K, int64_t S, const int64_t* lengths, int64_t N, const double* log_emission,
                 const double* startprob, const double* transmat, int64_t* path, double* seq_logprob);

// Emission log-densities out [N,K]. covars in the compact per-type shape: spherical [K], diag [K,D], full [K,D,D],
// tied [D,D]. A full/tied covariance whose Cholesky factorisation fails is retried with min_covar added to its
// diagonal (as hmmlearn does); returns the first state (or 0 for tied) that is still not positive definite, or -1.
// first_bad_density (optional): set to the first index of out that is NaN or +inf (terms that overflow), or -1; the
// spherical / diagonal rows are checked chunk by chunk as they are written, while in cache (a separate pass read the
// [N, K] array back from memory: 26 MB at K 32 and 100,000 rows, 9 % of a decode there).
int64_t gaussian_loglik(CovarianceType type, int64_t K, int64_t D, int64_t N, const double* x, const double* means,
                        const double* covars, double min_covar, double* out, int64_t* first_bad_density = nullptr);

// Viterbi of spherical or diagonal Gaussian emissions with each row's log-densities computed as the pass needs them
// (no [N, K] array) where gaussian_viterbi_fuses (up to 16 states; from 17 to 32 with the AVX2 kernels; from 33 to 64
// with N K >= 1,000,000), the same path [N] and seq_logprob [S], bit for bit, as gaussian_loglik then hmm_viterbi.
// NotFused: nothing done (other state counts, full or tied covariances). BadDensity: some log-density was NaN or +inf,
// which hmm_viterbi's callers refuse (path and seq_logprob then hold no result).
enum class GaussianViterbi { Done, NotFused, BadDensity };
constexpr int64_t kFusedViterbiMinValues = 1'000'000;  // N K from which 33-64 states fuse
bool gaussian_viterbi_fuses(CovarianceType type, int64_t K, int64_t N);
GaussianViterbi gaussian_viterbi(CovarianceType type, int64_t K, int64_t D, int64_t S, const int64_t* lengths,
                                 int64_t N, const double* x, const double* means, const double* covars,
                                 const double* startprob, const double* transmat, int64_t* path, double* seq_logprob);

// Viterbi of categorical emissions (symbols [N] in [0, M), emissionprob [K, M]), up to kSmallKMaxStates with each
// row's log-probabilities looked up in the pass (no [N, K] array): the same path [N] and seq_logprob [S], bit for
// bit, as categorical_loglik then hmm_viterbi (which it runs above that).
void categorical_viterbi(int64_t K, int64_t M, int64_t S, const int64_t* lengths, int64_t N, const int64_t* symbols,
                         const double* emissionprob, const double* startprob, const double* transmat, int64_t* path,
                         double* seq_logprob);

void categorical_loglik(int64_t K, int64_t M, int64_t N, const int64_t* symbols, const double* emissionprob,
                        double* out);

// post_sum [K] = sum_n gamma; obs [K,D] = gamma^T x; obs2 [K,D] = gamma^T x^2 (or nullptr);
// obs_outer [K,D,D] = sum_n gamma_nk x_n x_n^T (or nullptr).
void gaussian_stats(int64_t K, int64_t D, int64_t N, const double* x, const double* posteriors, double* post_sum,
                    double* obs, double* obs2, double* obs_outer);

// counts [K,M] = sum_n gamma_nk [x_n == m].
void categorical_stats(int64_t K, int64_t M, int64_t N, const int64_t* symbols, const double* posteriors,
                       double* counts);

}  // namespace hpc::cpu
