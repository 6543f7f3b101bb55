// hmm_small_k.h's entry points: each calls the build of hmm_small_k_kernels.cpp for the instruction set this CPU has
// (HPC_SMALL_K_PER_ISA, set by CMakeLists.txt on x86-64 with GCC: AVX-512, else AVX2 with FMA, else SSE2), or the one
// build for the compiler's target.
#include "hmm_small_k.h"

namespace hpc::cpu {

// The kernels of one build of hmm_small_k_kernels.cpp, in its namespace: the same signatures as hmm_small_k.h's.
#define HPC_SMALL_K_DECLARE_KERNELS(NS)                                                                             \
    namespace NS {                                                                                                  \
    bool small_k_forward(const SmallKGroup& g, int64_t K, const double* log_emission, const double* startprob,      \
                         const double* transmat, double* alpha, double* row_scale, double* factors,                 \
                         double* seq_loglik);                                                                       \
    bool small_k_backward(const SmallKGroup& g, int64_t K, const double* transmat, const double* alpha,             \
                          const double* row_scale, const double* factors, double* posteriors, double* xi_part,      \
                          double* start_part, const GaussianStatsSink* stats);                                      \
    bool small_k_forward_log(const SmallKGroup& g, int64_t K, const double* log_emission, const double* startprob,  \
                             const double* transmat, double* la, double* seq_loglik);                               \
    bool small_k_backward_log(const SmallKGroup& g, int64_t K, const double* log_emission, const double* transmat,  \
                              const double* la, const double* seq_loglik, double* posteriors, double* xi_part,      \
                              double* start_part, double* a_rows, double* w_rows, const GaussianStatsSink* stats);  \
    bool small_k_categorical_viterbi(const SmallKGroup& g, int64_t K, const int64_t* symbols, const double* table,  \
                                     const double* logpi, const double* logA, double* delta, uint8_t* back,         \
                                     int64_t* path, double* seq_logprob);                                           \
    bool small_k_diag_loglik(int64_t rows, int64_t K, int64_t D, const double* x, const double* c,                  \
                             const double* muinv_t, const double* inv_t, double* out);                              \
    bool small_k_diag_stats(int64_t rows, int64_t K, int64_t D, const double* x, const double* gamma, double* ps,   \
                            double* obs_t, double* obs2_t);                                                         \
    int64_t small_k_viterbi_width(int64_t K);                                                                       \
    bool small_k_viterbi(const SmallKGroup& g, int64_t K, const double* log_emission, const double* logpi,          \
                         const double* logA, double* delta, uint8_t* back, int64_t* path, double* seq_logprob);     \
    bool small_k_diag_gaussian_viterbi(const SmallKGroup& g, int64_t K, int64_t D, const double* x, const double* c, \
                                       const double* muinv_t, const double* inv_t, const double* logpi,             \
                                       const double* logA, double* delta, uint8_t* back, int64_t* path,             \
                                       double* seq_logprob, bool* densities_ok);                                    \
    }

#if HPC_SMALL_K_PER_ISA
HPC_SMALL_K_DECLARE_KERNELS(small_k_avx512)
HPC_SMALL_K_DECLARE_KERNELS(small_k_avx2)
HPC_SMALL_K_DECLARE_KERNELS(small_k_sse2)

namespace {

enum class SmallKIsa { avx512, avx2, sse2 };

// Read once (the CPU does not change); __builtin_cpu_supports initialises GCC's CPU model on first use. The test
// copies of the library built with HPC_SMALL_K_FORCE_ISA (2: AVX2, 3: SSE2; CMakeLists.txt) always run that build.
SmallKIsa small_k_isa() {
#if defined(HPC_SMALL_K_FORCE_ISA)
    static_assert(HPC_SMALL_K_FORCE_ISA == 2 || HPC_SMALL_K_FORCE_ISA == 3, "HPC_SMALL_K_FORCE_ISA: 2 or 3");
    return HPC_SMALL_K_FORCE_ISA == 2 ? SmallKIsa::avx2 : SmallKIsa::sse2;
#else
    static const SmallKIsa isa = __builtin_cpu_supports("avx512f")                                    ? SmallKIsa::avx512
                                 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? SmallKIsa::avx2
                                                                                                     : SmallKIsa::sse2;
    return isa;
#endif
}

}  // namespace

#define HPC_SMALL_K_CALL(KERNEL, ARGS)                                   \
    switch (small_k_isa()) {                                             \
        case SmallKIsa::avx512: return small_k_avx512::KERNEL ARGS;      \
        case SmallKIsa::avx2: return small_k_avx2::KERNEL ARGS;          \
        default: return small_k_sse2::KERNEL ARGS;                       \
    }

const char* small_k_kernel_name() {
    switch (small_k_isa()) {
        case SmallKIsa::avx512: return "avx512";
        case SmallKIsa::avx2: return "avx2";
        default: return "sse2";
    }
}
bool small_k_fuses_17_to_32_states() { return small_k_isa() == SmallKIsa::avx2; }
#else
HPC_SMALL_K_DECLARE_KERNELS(small_k_native)
#define HPC_SMALL_K_CALL(KERNEL, ARGS) return small_k_native::KERNEL ARGS;
const char* small_k_kernel_name() { return "native"; }
#if defined(__AVX2__) && !defined(__AVX512F__)
bool small_k_fuses_17_to_32_states() { return true; }
#else
bool small_k_fuses_17_to_32_states() { return false; }
#endif
#endif

int64_t small_k_viterbi_width(int64_t K) { HPC_SMALL_K_CALL(small_k_viterbi_width, (K)) }

bool small_k_forward(const SmallKGroup& g, int64_t K, const double* logB, const double* pi, const double* A,
                     double* alpha, double* row_scale, double* factors, double* seq_loglik) {
    HPC_SMALL_K_CALL(small_k_forward, (g, K, logB, pi, A, alpha, row_scale, factors, seq_loglik))
}

bool small_k_backward(const SmallKGroup& g, int64_t K, const double* A, const double* alpha, const double* row_scale,
                      const double* factors, double* posteriors, double* xi_part, double* start_part,
                      const GaussianStatsSink* stats) {
    HPC_SMALL_K_CALL(small_k_backward, (g, K, A, alpha, row_scale, factors, posteriors, xi_part, start_part, stats))
}

bool small_k_forward_log(const SmallKGroup& g, int64_t K, const double* logB, const double* pi, const double* A,
                         double* la, double* seq_loglik) {
    HPC_SMALL_K_CALL(small_k_forward_log, (g, K, logB, pi, A, la, seq_loglik))
}

bool small_k_backward_log(const SmallKGroup& g, int64_t K, const double* logB, const double* A, const double* la,
                          const double* seq_loglik, double* posteriors, double* xi_part, double* start_part,
                          double* a_rows, double* w_rows, const GaussianStatsSink* stats) {
    HPC_SMALL_K_CALL(small_k_backward_log,
                     (g, K, logB, A, la, seq_loglik, posteriors, xi_part, start_part, a_rows, w_rows, stats))
}

bool small_k_viterbi(const SmallKGroup& g, int64_t K, const double* logB, const double* logpi, const double* logA,
                     double* delta, uint8_t* back, int64_t* path, double* seq_logprob) {
    HPC_SMALL_K_CALL(small_k_viterbi, (g, K, logB, logpi, logA, delta, back, path, seq_logprob))
}

bool small_k_diag_gaussian_viterbi(const SmallKGroup& g, int64_t K, int64_t D, const double* x, const double* c,
                                   const double* muinv_t, const double* inv_t, const double* logpi, const double* logA,
                                   double* delta, uint8_t* back, int64_t* path, double* seq_logprob,
                                   bool* densities_ok) {
    HPC_SMALL_K_CALL(small_k_diag_gaussian_viterbi,
                     (g, K, D, x, c, muinv_t, inv_t, logpi, logA, delta, back, path, seq_logprob, densities_ok))
}

bool small_k_categorical_viterbi(const SmallKGroup& g, int64_t K, const int64_t* symbols, const double* table,
                                 const double* logpi, const double* logA, double* delta, uint8_t* back, int64_t* path,
                                 double* seq_logprob) {
    HPC_SMALL_K_CALL(small_k_categorical_viterbi, (g, K, symbols, table, logpi, logA, delta, back, path, seq_logprob))
}

bool small_k_diag_loglik(int64_t rows, int64_t K, int64_t D, const double* x, const double* c, const double* muinv_t,
                         const double* inv_t, double* out) {
    HPC_SMALL_K_CALL(small_k_diag_loglik, (rows, K, D, x, c, muinv_t, inv_t, out))
}

bool small_k_diag_stats(int64_t rows, int64_t K, int64_t D, const double* x, const double* gamma, double* ps,
                        double* obs_t, double* obs2_t) {
    HPC_SMALL_K_CALL(small_k_diag_stats, (rows, K, D, x, gamma, ps, obs_t, obs2_t))
}

}  // namespace hpc::cpu
