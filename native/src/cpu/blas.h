// Thin typed wrapper over CBLAS GEMM (row-major). Dimensions are validated to fit BLAS's int by the ABI layer.
#pragma once

#include <cblas.h>  // OpenBLAS's: also declares openblas_get/set_num_threads
#include <cstdint>

namespace hpc::cpu {

// OpenBLAS on one thread for the lifetime of this object (the HMM kernels, which run their own threads). After a
// multi-threaded call OpenBLAS's workers spin with sched_yield for a long while (2^28 cycles by default) before they
// sleep; an HMM fit calls BLAS between its own threaded passes, so they never slept and took a third of the two
// cores (measured with perf: K 8, T 100,000). Waking none of them avoids that. Not thread-safe against a concurrent
// hpc_set_num_threads; a concurrent caller may see either thread count, which changes speed, not results.
class BlasSingleThreaded {
public:
    BlasSingleThreaded() : saved_(openblas_get_num_threads()) {
        if (saved_ > 1) openblas_set_num_threads(1);
    }
    ~BlasSingleThreaded() {
        if (saved_ > 1) openblas_set_num_threads(saved_);
    }
    BlasSingleThreaded(const BlasSingleThreaded&) = delete;
    BlasSingleThreaded& operator=(const BlasSingleThreaded&) = delete;

private:
    int saved_;
};

// C[M,N] = alpha * op(A) * op(B) + beta * C, all row-major.
inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                 int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

}  // namespace hpc::cpu
