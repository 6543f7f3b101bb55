// The HMM part of the C ABI: validates every argument, then calls the CPU kernels.
#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "abi_util.h"
#include "checked.h"
#include "cpu/hmm_cpu.h"
#include "cpu/thread_team.h"
#include "cpu/value_scan.h"
#include "errors.h"
#include "hpc/hpc.h"

using namespace hpc;
using namespace hpc::abi;
using hpc::cpu::first_bad_serial;
using namespace hpc::cpu::value_lanes;

namespace {

void require_size(const char* name, int64_t v) {
    require(v > 0, [&] { return std::string(name) + ": expected > 0, got " + std::to_string(v); });
    require(v <= INT_MAX, [&] {
        return std::string(name) + ": expected <= " + std::to_string(INT_MAX) + ", got " + std::to_string(v);
    });
}

// lengths[s] > 0, sum = n_samples.
void check_lengths(int64_t n_seqs, const int64_t* lengths, int64_t n_samples) {
    require_size("n_seqs", n_seqs);
    require_size("n_samples", n_samples);
    require(lengths != nullptr, "lengths is NULL");
    int64_t sum = 0;
    for (int64_t s = 0; s < n_seqs; ++s) {
        if (lengths[s] <= 0) throw InvalidArgument("lengths[" + std::to_string(s) + "]: expected > 0, got " + std::to_string(lengths[s]));
        sum = checked_add(sum, lengths[s], "sum(lengths)");
    }
    require(sum == n_samples, [&] {
        return "lengths: expected to sum to n_samples = " + std::to_string(n_samples) + ", got " + std::to_string(sum);
    });
}

// Non-negative, finite, summing to 1 within 1e-6.
void check_stochastic(const char* name, const double* p, int64_t n, int64_t row) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (!(std::isfinite(p[i]) && p[i] >= 0))
            throw InvalidArgument(std::string(name) + (row >= 0 ? "[" + std::to_string(row) + "]" : "") + "[" + std::to_string(i) +
                                  "]: expected a probability in [0, 1], got " + num(p[i]));
        sum += p[i];
    }
    require(std::fabs(sum - 1.0) <= 1e-6, [&] {
        return std::string(name) + (row >= 0 ? " row " + std::to_string(row) : "") + ": expected to sum to 1, got " +
               num(sum);
    });
}

void check_model(int64_t K, const double* startprob, int64_t startprob_len, const double* transmat, int64_t transmat_len) {
    check_buffer("startprob", startprob, startprob_len, K, false);
    check_buffer("transmat", transmat, transmat_len, checked_mul(K, K, "n_states^2"), false);
    check_stochastic("startprob", startprob, K, -1);
    for (int64_t i = 0; i < K; ++i) check_stochastic("transmat", transmat + i * K, K, i);
}

// first_bad_serial over parts of the array on HPC's thread team (the first bad index overall: the first part's that
// found one). The [N, K] log-densities are 26-51 MB at K 32-64 and 100,000 rows, read from memory on every call: on
// two threads hpc_hmm_viterbi K 32 took 2.80-2.98 ms instead of 3.26-3.31, K 64 8.9-9.5 instead of 9.3-9.6. Parts
// of at least 16,384 values (was 65,536: x of a D 1 decode of 100,000 rows was checked on one thread, part of the
// call's serial time; bench/results/2026-11-23-decode-k8-serial-parts.md).
template <typename Good, typename GoodV>
int64_t first_bad(const double* v, int64_t n, Good good, GoodV good2) {
    constexpr int64_t kPart = 1 << 14;
    const int parts = (int)std::min<int64_t>(cpu::team_size(), n / kPart);
    if (parts <= 1) return first_bad_serial(v, n, good, good2);
    int64_t found[64];
    const int used = std::min(parts, 64);
    cpu::team_for(used, [&](int part, int count) {
        const auto [lo, hi] = cpu::team_share(n, 256, part, count);
        const int64_t i = first_bad_serial(v + lo, hi - lo, good, good2);
        found[part] = i < 0 ? -1 : lo + i;
    });
    for (int p = 0; p < used; ++p)
        if (found[p] >= 0) return found[p];
    return -1;
}

void check_log_emission(const double* le, int64_t len, int64_t expected) {
    check_buffer("log_emission", le, len, expected, false);
    // Bad: NaN or +inf (x < inf is false for both).
    const int64_t i = first_bad(le, len, [](double x) { return x < INFINITY; }, [](Lanes x) { return lt(x, INFINITY); });
    if (i >= 0)
        throw InvalidArgument("log_emission[" + std::to_string(i) + "]: expected a log-density (finite or -inf), got " + num(le[i]));
}

void check_finite(const char* name, const double* v, int64_t n) {
    const int64_t i = first_bad(v, n, [](double x) { return std::fabs(x) <= DBL_MAX; }, [](Lanes x) { return le(vabs(x), DBL_MAX); });
    if (i >= 0) throw InvalidArgument(std::string(name) + "[" + std::to_string(i) + "]: expected a finite value, got " + num(v[i]));
}

void check_symbols(const int64_t* symbols, int64_t len, int64_t expected, int64_t M) {
    check_buffer("symbols", symbols, len, expected, false);
    for (int64_t i = 0; i < len; ++i)
        if (symbols[i] < 0 || symbols[i] >= M)
            throw InvalidArgument("symbols[" + std::to_string(i) + "]: expected a symbol in [0, " + std::to_string(M) + "), got " +
                                  std::to_string(symbols[i]));
}

// Categorical emissions: M symbols, symbols [N] in [0, M), emissionprob [K, M] with rows summing to 1.
void check_categorical(int64_t K, int64_t M, int64_t N, const int64_t* symbols, int64_t symbols_len,
                       const double* emissionprob, int64_t emissionprob_len) {
    require_size("n_symbols", M);
    check_symbols(symbols, symbols_len, N, M);
    check_buffer("emissionprob", emissionprob, emissionprob_len, checked_mul(K, M, "n_states*n_symbols"), false);
    for (int64_t k = 0; k < K; ++k) check_stochastic("emissionprob", emissionprob + k * M, M, k);
}

void check_posteriors(const double* p, int64_t len, int64_t expected) {
    check_buffer("posteriors", p, len, expected, false);
    const int64_t i = first_bad(p, len, [](double x) { return x >= 0 && x <= DBL_MAX; }, [](Lanes x) { return both(ge(x, 0.0), le(x, DBL_MAX)); });
    if (i >= 0) throw InvalidArgument("posteriors[" + std::to_string(i) + "]: expected a probability, got " + num(p[i]));
}

// The arguments of the Gaussian emission calls: their covariance type, or InvalidArgument.
cpu::CovarianceType check_gaussian(int32_t covariance_type, int64_t K, int64_t D, int64_t N, const double* x,
                                   int64_t x_len, const double* means, int64_t means_len, const double* covars,
                                   int64_t covars_len, double min_covar) {
    require(covariance_type >= HPC_COVARIANCE_SPHERICAL && covariance_type <= HPC_COVARIANCE_TIED, [&] {
        return "covariance_type: expected 1 (spherical), 2 (diag), 3 (full) or 4 (tied), got " +
               std::to_string(covariance_type);
    });
    require_size("n_states", K);
    require_size("n_features", D);
    require_size("n_samples", N);
    require(std::isfinite(min_covar) && min_covar >= 0,
            [&] { return "min_covar: expected a finite value >= 0, got " + num(min_covar); });
    const auto type = (cpu::CovarianceType)(covariance_type - 1);
    const int64_t ncov = type == cpu::CovarianceType::Spherical ? K
                         : type == cpu::CovarianceType::Diag   ? checked_mul(K, D, "n_states*n_features")
                         : type == cpu::CovarianceType::Full   ? checked_mul(checked_mul(K, D, "K*D"), D, "K*D*D")
                                                               : checked_mul(D, D, "D*D");
    check_buffer("x", x, x_len, checked_mul(N, D, "n_samples*n_features"), false);
    check_buffer("means", means, means_len, checked_mul(K, D, "n_states*n_features"), false);
    check_buffer("covars", covars, covars_len, ncov, false);
    check_finite("x", x, x_len);
    check_finite("means", means, means_len);
    check_finite("covars", covars, covars_len);
    if (type == cpu::CovarianceType::Spherical || type == cpu::CovarianceType::Diag) {
        for (int64_t i = 0; i < ncov; ++i)
            if (!(covars[i] > 0)) throw InvalidArgument("covars[" + std::to_string(i) + "]: expected a variance > 0, got " + num(covars[i]));
    } else {
        const int64_t n = type == cpu::CovarianceType::Tied ? 1 : K;
        for (int64_t c = 0; c < n; ++c)
            for (int64_t i = 0; i < D; ++i)
                for (int64_t j = 0; j < i; ++j) {
                    const double a = covars[(c * D + i) * D + j], b = covars[(c * D + j) * D + i];
                    if (!(std::fabs(a - b) <= 1e-8 * std::max({1.0, std::fabs(a), std::fabs(b)})))
                        throw InvalidArgument("covars" + (type == cpu::CovarianceType::Tied ? std::string() : "[" + std::to_string(c) + "]") +
                                ": expected a symmetric matrix, got [" + std::to_string(i) + "][" + std::to_string(j) +
                                "] = " + num(a) + " and [" + std::to_string(j) + "][" + std::to_string(i) + "] = " + num(b));
                }
    }
    return type;
}

void throw_not_positive_definite(cpu::CovarianceType type, int64_t bad, double min_covar) {
    throw InvalidArgument("covars" + (type == cpu::CovarianceType::Tied ? std::string() : "[" + std::to_string(bad) + "]") +
                          ": expected a positive-definite matrix (Cholesky factorisation failed even with "
                          "min_covar = " + num(min_covar) + " added to the diagonal)");
}

// The Gaussian log-densities out [N, K] of checked arguments, refused as hpc_hmm_forward_backward and hpc_hmm_viterbi
// refuse densities (NaN or +inf), naming the row and state.
void checked_gaussian_densities(cpu::CovarianceType type, int64_t K, int64_t D, int64_t N, const double* x,
                                const double* means, const double* covars, double min_covar, double* out) {
    int64_t i = -1;  // the first density that is NaN or +inf, checked as it is written
    const int64_t bad = cpu::gaussian_loglik(type, K, D, N, x, means, covars, min_covar, out, &i);
    if (bad >= 0) throw_not_positive_definite(type, bad, min_covar);
    if (i >= 0)
        throw InvalidArgument("x[" + std::to_string(i / K) + "]: its Gaussian log-density under state " + std::to_string(i % K) +
                              " is " + num(out[i]) + " (the terms overflow); expected a finite value or -inf");
}

void throw_impossible_sequence(int64_t s) {
    throw InvalidArgument("sequence " + std::to_string(s) +
                          " has zero probability under the model (log-likelihood -inf): its observations cannot be "
                          "produced through the non-zero start, transition and emission probabilities, so it has no "
                          "posteriors");
}

}  // namespace

extern "C" {

HPC_API int32_t hpc_hmm_forward_backward(int32_t mode, int64_t K, int64_t S, const int64_t* lengths, int64_t N,
                                         const double* log_emission, int64_t log_emission_len,
                                         const double* startprob, int64_t startprob_len, const double* transmat,
                                         int64_t transmat_len, double* seq_loglik, int64_t seq_loglik_len,
                                         double* posteriors, int64_t posteriors_len, double* xi_sum,
                                         int64_t xi_sum_len, double* start_sum, int64_t start_sum_len,
                                         double* seq_loglik_backward, int64_t seq_loglik_backward_len) {
    return guarded(__func__, [&] {
        require(mode == HPC_HMM_SCALING || mode == HPC_HMM_LOG,
                [&] { return "mode: expected HPC_HMM_SCALING (0) or HPC_HMM_LOG (1), got " + std::to_string(mode); });
        require_size("n_states", K);
        check_lengths(S, lengths, N);
        const int64_t NK = checked_mul(N, K, "n_samples*n_states");
        check_log_emission(log_emission, log_emission_len, NK);
        check_model(K, startprob, startprob_len, transmat, transmat_len);
        check_buffer("seq_loglik", seq_loglik, seq_loglik_len, S, false);
        check_buffer("posteriors", posteriors, posteriors_len, NK, true);
        check_buffer("xi_sum", xi_sum, xi_sum_len, K * K, true);
        check_buffer("start_sum", start_sum, start_sum_len, K, true);
        check_buffer("seq_loglik_backward", seq_loglik_backward, seq_loglik_backward_len, S, true);
        require_no_overlap({{"log_emission", log_emission, log_emission_len}, {"startprob", startprob, startprob_len},
                            {"transmat", transmat, transmat_len}, {"lengths", lengths, S}},
                           {{"seq_loglik", seq_loglik, seq_loglik_len}, {"posteriors", posteriors, posteriors_len},
                            {"xi_sum", xi_sum, xi_sum_len}, {"start_sum", start_sum, start_sum_len},
                            {"seq_loglik_backward", seq_loglik_backward, seq_loglik_backward_len}},
                           8);
        int64_t impossible = -1;
        const bool ok = cpu::hmm_forward_backward(mode == HPC_HMM_LOG ? cpu::HmmMode::Log : cpu::HmmMode::Scaling, K,
                                                  S, lengths, N, log_emission, startprob, transmat, seq_loglik,
                                                  posteriors, xi_sum, start_sum, seq_loglik_backward, nullptr,
                                                  &impossible);
        if (!ok) throw_impossible_sequence(impossible);
    });
}

HPC_API int32_t hpc_hmm_viterbi(int64_t K, int64_t S, const int64_t* lengths, int64_t N, const double* log_emission,
                                int64_t log_emission_len, const double* startprob, int64_t startprob_len,
                                const double* transmat, int64_t transmat_len, int64_t* path, int64_t path_len,
                                double* seq_logprob, int64_t seq_logprob_len) {
    return guarded(__func__, [&] {
        require_size("n_states", K);
        require(K <= INT32_MAX, "n_states: too large");
        check_lengths(S, lengths, N);
        const int64_t NK = checked_mul(N, K, "n_samples*n_states");
        check_log_emission(log_emission, log_emission_len, NK);
        check_model(K, startprob, startprob_len, transmat, transmat_len);
        check_buffer("path", path, path_len, N, false);
        check_buffer("seq_logprob", seq_logprob, seq_logprob_len, S, false);
        require_no_overlap({{"log_emission", log_emission, log_emission_len}, {"lengths", lengths, S}},
                           {{"path", path, path_len}, {"seq_logprob", seq_logprob, seq_logprob_len}}, 8);
        cpu::hmm_viterbi(K, S, lengths, N, log_emission, startprob, transmat, path, seq_logprob);
    });
}

HPC_API int32_t hpc_hmm_gaussian_loglik(int32_t covariance_type, int64_t K, int64_t D, int64_t N, const double* x,
                                        int64_t x_len, const double* means, int64_t means_len, const double* covars,
                                        int64_t covars_len, double min_covar, double* out, int64_t out_len) {
    return guarded(__func__, [&] {
        const auto type = check_gaussian(covariance_type, K, D, N, x, x_len, means, means_len, covars, covars_len, min_covar);
        check_buffer("out", out, out_len, checked_mul(N, K, "n_samples*n_states"), false);
        require_no_overlap({{"x", x, x_len}, {"means", means, means_len}, {"covars", covars, covars_len}},
                           {{"out", out, out_len}}, 8);
        const int64_t bad = cpu::gaussian_loglik(type, K, D, N, x, means, covars, min_covar, out);
        if (bad >= 0) throw_not_positive_definite(type, bad, min_covar);
    });
}

HPC_API int32_t hpc_hmm_gaussian_viterbi_fuses(int32_t covariance_type, int64_t K, int64_t N) {
    // 0 also for what hpc_hmm_gaussian_viterbi refuses (require_size: n_samples in [1, INT_MAX]).
    return covariance_type >= HPC_COVARIANCE_SPHERICAL && covariance_type <= HPC_COVARIANCE_TIED && N >= 1 &&
                   N <= INT_MAX && cpu::gaussian_viterbi_fuses((cpu::CovarianceType)(covariance_type - 1), K, N)
               ? 1
               : 0;
}

}  // extern "C"

namespace {

// hpc_hmm_gaussian_viterbi and its _with_scratch form (errors named after `function`).
int32_t gaussian_viterbi_call(const char* function, int32_t covariance_type, int64_t K, int64_t D, int64_t S,
                              const int64_t* lengths, int64_t N, const double* x, int64_t x_len, const double* means,
                              int64_t means_len, const double* covars, int64_t covars_len, double min_covar,
                              const double* startprob, int64_t startprob_len, const double* transmat,
                              int64_t transmat_len, int64_t* path, int64_t path_len, double* seq_logprob,
                              int64_t seq_logprob_len, double* scratch, int64_t scratch_len) {
    return guarded(function, [&] {
        const auto type = check_gaussian(covariance_type, K, D, N, x, x_len, means, means_len, covars, covars_len, min_covar);
        require(K <= INT32_MAX, "n_states: too large");
        check_lengths(S, lengths, N);
        const int64_t NK = checked_mul(N, K, "n_samples*n_states");
        check_model(K, startprob, startprob_len, transmat, transmat_len);
        check_buffer("path", path, path_len, N, false);
        check_buffer("seq_logprob", seq_logprob, seq_logprob_len, S, false);
        check_buffer("scratch", scratch, scratch_len, NK, true);
        require_no_overlap({{"x", x, x_len}, {"means", means, means_len}, {"covars", covars, covars_len},
                            {"startprob", startprob, startprob_len}, {"transmat", transmat, transmat_len},
                            {"lengths", lengths, S}},
                           {{"path", path, path_len},
                            {"seq_logprob", seq_logprob, seq_logprob_len},
                            {"scratch", scratch, scratch_len}},
                           8);
        if (cpu::gaussian_viterbi(type, K, D, S, lengths, N, x, means, covars, startprob, transmat, path,
                                  seq_logprob) == cpu::GaussianViterbi::Done)
            return;
        // Not fused (see hpc_hmm_gaussian_viterbi_fuses), or a density NaN or +inf: the densities into
        // an [N, K] array (the caller's scratch or one allocated here), checked as they are written (naming the row
        // and state, as hpc_hmm_viterbi does), then Viterbi.
        std::vector<double> own;
        if (!scratch) own.resize((size_t)NK);
        double* logB = scratch ? scratch : own.data();
        checked_gaussian_densities(type, K, D, N, x, means, covars, min_covar, logB);
        cpu::hmm_viterbi(K, S, lengths, N, logB, startprob, transmat, path, seq_logprob);
    });
}

}  // namespace

extern "C" {

HPC_API int32_t hpc_hmm_gaussian_viterbi(int32_t covariance_type, int64_t K, int64_t D, int64_t S,
                                         const int64_t* lengths, int64_t N, const double* x, int64_t x_len,
                                         const double* means, int64_t means_len, const double* covars,
                                         int64_t covars_len, double min_covar, const double* startprob,
                                         int64_t startprob_len, const double* transmat, int64_t transmat_len,
                                         int64_t* path, int64_t path_len, double* seq_logprob,
                                         int64_t seq_logprob_len) {
    return gaussian_viterbi_call(__func__, covariance_type, K, D, S, lengths, N, x, x_len, means, means_len, covars,
                                 covars_len, min_covar, startprob, startprob_len, transmat, transmat_len, path, path_len,
                                 seq_logprob, seq_logprob_len, nullptr, 0);
}

HPC_API int32_t hpc_hmm_gaussian_viterbi_with_scratch(int32_t covariance_type, int64_t K, int64_t D, int64_t S,
                                                      const int64_t* lengths, int64_t N, const double* x, int64_t x_len,
                                                      const double* means, int64_t means_len, const double* covars,
                                                      int64_t covars_len, double min_covar, const double* startprob,
                                                      int64_t startprob_len, const double* transmat,
                                                      int64_t transmat_len, int64_t* path, int64_t path_len,
                                                      double* seq_logprob, int64_t seq_logprob_len, double* scratch,
                                                      int64_t scratch_len) {
    return gaussian_viterbi_call(__func__, covariance_type, K, D, S, lengths, N, x, x_len, means, means_len, covars,
                                 covars_len, min_covar, startprob, startprob_len, transmat, transmat_len, path, path_len,
                                 seq_logprob, seq_logprob_len, scratch, scratch_len);
}

HPC_API int32_t hpc_hmm_gaussian_e_step(int32_t mode, int32_t covariance_type, int64_t K, int64_t D, int64_t S,
                                        const int64_t* lengths, int64_t N, const double* x, int64_t x_len,
                                        const double* means, int64_t means_len, const double* covars,
                                        int64_t covars_len, const double* startprob, int64_t startprob_len,
                                        const double* transmat, int64_t transmat_len, double* seq_loglik,
                                        int64_t seq_loglik_len, double* xi_sum, int64_t xi_sum_len, double* start_sum,
                                        int64_t start_sum_len, double* post_sum, int64_t post_sum_len, double* obs,
                                        int64_t obs_len, double* obs2, int64_t obs2_len) {
    return guarded(__func__, [&] {
        require(mode == HPC_HMM_SCALING || mode == HPC_HMM_LOG,
                [&] { return "mode: expected HPC_HMM_SCALING (0) or HPC_HMM_LOG (1), got " + std::to_string(mode); });
        require(covariance_type == HPC_COVARIANCE_SPHERICAL || covariance_type == HPC_COVARIANCE_DIAG, [&] {
            return "covariance_type: expected 1 (spherical) or 2 (diag), got " + std::to_string(covariance_type);
        });
        const auto type = check_gaussian(covariance_type, K, D, N, x, x_len, means, means_len, covars, covars_len, 0.0);
        check_lengths(S, lengths, N);
        const int64_t NK = checked_mul(N, K, "n_samples*n_states");
        check_model(K, startprob, startprob_len, transmat, transmat_len);
        check_buffer("seq_loglik", seq_loglik, seq_loglik_len, S, false);
        check_buffer("xi_sum", xi_sum, xi_sum_len, K * K, true);
        check_buffer("start_sum", start_sum, start_sum_len, K, true);
        check_buffer("post_sum", post_sum, post_sum_len, K, false);
        check_buffer("obs", obs, obs_len, K * D, false);
        check_buffer("obs2", obs2, obs2_len, K * D, true);
        require_no_overlap({{"x", x, x_len}, {"means", means, means_len}, {"covars", covars, covars_len},
                            {"startprob", startprob, startprob_len}, {"transmat", transmat, transmat_len},
                            {"lengths", lengths, S}},
                           {{"seq_loglik", seq_loglik, seq_loglik_len}, {"xi_sum", xi_sum, xi_sum_len},
                            {"start_sum", start_sum, start_sum_len}, {"post_sum", post_sum, post_sum_len},
                            {"obs", obs, obs_len}, {"obs2", obs2, obs2_len}},
                           8);
        // The densities into the calling thread's scratch rows (kept for its later calls: a fit calls this once
        // per iteration), checked as hpc_hmm_forward_backward checks them (naming the row and state), then the
        // forward-backward with the statistics taken from its posterior rows.
        thread_local std::vector<double> logB;
        if (logB.size() < (size_t)NK) logB.resize((size_t)NK);
        checked_gaussian_densities(type, K, D, N, x, means, covars, 0.0, logB.data());
        const cpu::PosteriorGaussianStats stats{D, x, post_sum, obs, obs2};
        int64_t impossible = -1;
        const bool ok = cpu::hmm_forward_backward(mode == HPC_HMM_LOG ? cpu::HmmMode::Log : cpu::HmmMode::Scaling, K,
                                                  S, lengths, N, logB.data(), startprob, transmat, seq_loglik, nullptr,
                                                  xi_sum, start_sum, nullptr, &stats, &impossible);
        if (!ok) throw_impossible_sequence(impossible);
    });
}

HPC_API int32_t hpc_hmm_categorical_viterbi(int64_t K, int64_t M, int64_t S, const int64_t* lengths, int64_t N,
                                            const int64_t* symbols, int64_t symbols_len, const double* emissionprob,
                                            int64_t emissionprob_len, const double* startprob, int64_t startprob_len,
                                            const double* transmat, int64_t transmat_len, int64_t* path,
                                            int64_t path_len, double* seq_logprob, int64_t seq_logprob_len) {
    return guarded(__func__, [&] {
        require_size("n_states", K);
        require(K <= INT32_MAX, "n_states: too large");
        check_lengths(S, lengths, N);
        checked_mul(N, K, "n_samples*n_states");
        check_categorical(K, M, N, symbols, symbols_len, emissionprob, emissionprob_len);
        check_model(K, startprob, startprob_len, transmat, transmat_len);
        check_buffer("path", path, path_len, N, false);
        check_buffer("seq_logprob", seq_logprob, seq_logprob_len, S, false);
        require_no_overlap({{"symbols", symbols, symbols_len}, {"emissionprob", emissionprob, emissionprob_len},
                            {"startprob", startprob, startprob_len}, {"transmat", transmat, transmat_len},
                            {"lengths", lengths, S}},
                           {{"path", path, path_len}, {"seq_logprob", seq_logprob, seq_logprob_len}}, 8);
        cpu::categorical_viterbi(K, M, S, lengths, N, symbols, emissionprob, startprob, transmat, path, seq_logprob);
    });
}

HPC_API int32_t hpc_hmm_categorical_loglik(int64_t K, int64_t M, int64_t N, const int64_t* symbols,
                                           int64_t symbols_len, const double* emissionprob, int64_t emissionprob_len,
                                           double* out, int64_t out_len) {
    return guarded(__func__, [&] {
        require_size("n_states", K);
        require_size("n_samples", N);
        check_categorical(K, M, N, symbols, symbols_len, emissionprob, emissionprob_len);
        check_buffer("out", out, out_len, checked_mul(N, K, "n_samples*n_states"), false);
        require_no_overlap({{"symbols", symbols, symbols_len}, {"emissionprob", emissionprob, emissionprob_len}}, {{"out", out, out_len}}, 8);
        cpu::categorical_loglik(K, M, N, symbols, emissionprob, out);
    });
}

HPC_API int32_t hpc_hmm_gaussian_stats(int64_t K, int64_t D, int64_t N, const double* x, int64_t x_len,
                                       const double* posteriors, int64_t posteriors_len, double* post_sum,
                                       int64_t post_sum_len, double* obs, int64_t obs_len, double* obs2,
                                       int64_t obs2_len, double* obs_outer, int64_t obs_outer_len) {
    return guarded(__func__, [&] {
        require_size("n_states", K);
        require_size("n_features", D);
        require_size("n_samples", N);
        check_buffer("x", x, x_len, checked_mul(N, D, "n_samples*n_features"), false);
        check_finite("x", x, x_len);
        check_posteriors(posteriors, posteriors_len, checked_mul(N, K, "n_samples*n_states"));
        check_buffer("post_sum", post_sum, post_sum_len, K, false);
        check_buffer("obs", obs, obs_len, K * D, false);
        check_buffer("obs2", obs2, obs2_len, K * D, true);
        check_buffer("obs_outer", obs_outer, obs_outer_len, checked_mul(K * D, D, "K*D*D"), true);
        require_no_overlap({{"x", x, x_len}, {"posteriors", posteriors, posteriors_len}},
                           {{"post_sum", post_sum, post_sum_len}, {"obs", obs, obs_len}, {"obs2", obs2, obs2_len},
                            {"obs_outer", obs_outer, obs_outer_len}},
                           8);
        cpu::gaussian_stats(K, D, N, x, posteriors, post_sum, obs, obs2, obs_outer);
    });
}

HPC_API int32_t hpc_hmm_categorical_stats(int64_t K, int64_t M, int64_t N, const int64_t* symbols,
                                          int64_t symbols_len, const double* posteriors, int64_t posteriors_len,
                                          double* counts, int64_t counts_len) {
    return guarded(__func__, [&] {
        require_size("n_states", K);
        require_size("n_symbols", M);
        require_size("n_samples", N);
        check_symbols(symbols, symbols_len, N, M);
        check_posteriors(posteriors, posteriors_len, checked_mul(N, K, "n_samples*n_states"));
        check_buffer("counts", counts, counts_len, checked_mul(K, M, "n_states*n_symbols"), false);
        require_no_overlap({{"symbols", symbols, symbols_len}, {"posteriors", posteriors, posteriors_len}}, {{"counts", counts, counts_len}}, 8);
        cpu::categorical_stats(K, M, N, symbols, posteriors, counts);
    });
}

}  // extern "C"
