// The training part of the C ABI: optimizer steps, gradient clipping, GEMM. Validates, then calls the kernels.
#include <climits>
#include <cmath>
#include <string>
#include <vector>

#include "abi_util.h"
#include "checked.h"
#include "cpu/blas.h"
#include "cpu/optim_cpu.h"
#include "cpu/packed_gemm.h"
#include "errors.h"
#include "hpc/hpc.h"

using namespace hpc;
using namespace hpc::abi;

namespace {

void require_dtype(int32_t dtype) {
    require(dtype == HPC_DTYPE_FLOAT32 || dtype == HPC_DTYPE_FLOAT64, [&] {
        return "dtype: expected HPC_DTYPE_FLOAT32 (1) or HPC_DTYPE_FLOAT64 (2), got " + std::to_string(dtype);
    });
}

// n tensors: a pointer array whose entries are all non-null, and lengths > 0.
void check_set(const char* name, void* const* ptrs, int64_t n, bool required) {
    if (!required && ptrs == nullptr) return;
    require(ptrs != nullptr,
            [&] { return std::string(name) + " is NULL (an array of " + std::to_string(n) + " tensor pointers)"; });
    for (int64_t i = 0; i < n; ++i)
        require(ptrs[i] != nullptr, [&] { return std::string(name) + "[" + std::to_string(i) + "] is NULL"; });
}

void check_lengths(const int64_t* lengths, int64_t n) {
    require(n > 0, [&] { return "n_tensors: expected > 0, got " + std::to_string(n); });
    require(lengths != nullptr, "lengths is NULL");
    for (int64_t i = 0; i < n; ++i)
        require(lengths[i] > 0,
                [&] { return "lengths[" + std::to_string(i) + "]: expected > 0, got " + std::to_string(lengths[i]); });
}

void check_range(const char* name, double v, double lo, double hi, bool hi_open) {
    require(std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi), [&] {
        return std::string("hparams->") + name + ": expected a value in [" + num(lo) + ", " +
               (std::isinf(hi) ? "inf" : num(hi)) + (hi_open ? ")" : "]") + ", got " + num(v);
    });
}

}  // namespace

extern "C" {

HPC_API int32_t hpc_optim_step(int32_t algorithm, int32_t dtype, const hpc_optim_hparams* h, int64_t step, int64_t n,
                               void* const* params, void* const* grads, void* const* state1, void* const* state2,
                               const int64_t* lengths) {
    return guarded(__func__, [&] {
        require(algorithm >= HPC_OPTIM_SGD && algorithm <= HPC_OPTIM_ADAGRAD,
                [&] { return "algorithm: expected HPC_OPTIM_* (1..5), got " + std::to_string(algorithm); });
        require_dtype(dtype);
        require(h != nullptr, "hparams is NULL");
        require(step >= 1, [&] { return "step: expected >= 1 (1-based), got " + std::to_string(step); });
        check_lengths(lengths, n);
        const double inf = INFINITY;
        check_range("lr", h->lr, 0, inf, false);
        check_range("weight_decay", h->weight_decay, 0, inf, false);
        check_range("l1", h->l1, 0, inf, false);
        check_range("eps", h->eps, 0, inf, false);
        bool need1 = false, need2 = false;
        switch (algorithm) {
            case HPC_OPTIM_SGD:
                check_range("momentum", h->momentum, 0, inf, false);
                check_range("dampening", h->dampening, 0, 1, false);
                require(!h->nesterov || (h->momentum > 0 && h->dampening == 0),
                        "hparams->nesterov: Nesterov momentum requires momentum > 0 and dampening = 0");
                need1 = h->momentum != 0;
                break;
            case HPC_OPTIM_RMSPROP:
                check_range("alpha", h->alpha, 0, 1, false);
                check_range("momentum", h->momentum, 0, inf, false);
                need1 = true;
                need2 = h->momentum > 0;
                break;
            case HPC_OPTIM_ADAM:
            case HPC_OPTIM_ADAMW:
                check_range("beta1", h->beta1, 0, 1, true);
                check_range("beta2", h->beta2, 0, 1, true);
                need1 = need2 = true;
                break;
            case HPC_OPTIM_ADAGRAD:
                check_range("lr_decay", h->lr_decay, 0, inf, false);
                check_range("initial_accumulator_value", h->initial_accumulator_value, 0, inf, false);
                need1 = true;
                break;
        }
        check_set("params", params, n, true);
        check_set("grads", grads, n, true);
        check_set("state1", state1, n, need1);
        check_set("state2", state2, n, need2);
        // Per tensor, parameters and state are written while the gradient is read: no two may overlap.
        const size_t e = dtype == HPC_DTYPE_FLOAT32 ? 4 : 8;
        for (int64_t i = 0; i < n; ++i) {
            const std::string k = "[" + std::to_string(i) + "]";
            const std::string pn = "params" + k, gn = "grads" + k, s1 = "state1" + k, s2 = "state2" + k;
            require_no_overlap({{gn.c_str(), grads[i], lengths[i]}},
                               {{pn.c_str(), params[i], lengths[i]},
                                {s1.c_str(), need1 ? state1[i] : nullptr, need1 ? lengths[i] : 0},
                                {s2.c_str(), need2 ? state2[i] : nullptr, need2 ? lengths[i] : 0}},
                               e);
        }
        if (dtype == HPC_DTYPE_FLOAT32)
            cpu::optim_step<float>(algorithm, *h, step, n, (float* const*)params, (const float* const*)grads,
                                   need1 ? (float* const*)state1 : nullptr, need2 ? (float* const*)state2 : nullptr, lengths);
        else
            cpu::optim_step<double>(algorithm, *h, step, n, (double* const*)params, (const double* const*)grads,
                                    need1 ? (double* const*)state1 : nullptr, need2 ? (double* const*)state2 : nullptr, lengths);
    });
}

HPC_API int32_t hpc_clip_grad_norm(int32_t dtype, int64_t n, void* const* grads, const int64_t* lengths, double max_norm,
                                   double norm_type, double* total_norm) {
    return guarded(__func__, [&] {
        require_dtype(dtype);
        check_lengths(lengths, n);
        check_set("grads", grads, n, true);
        require(std::isfinite(max_norm) && max_norm > 0,
                [&] { return "max_norm: expected a finite value > 0, got " + num(max_norm); });
        require(norm_type == 2.0 || norm_type == INFINITY,
                [&] { return "norm_type: expected 2 or INFINITY, got " + num(norm_type); });
        require(total_norm != nullptr, "total_norm is NULL");
        const bool inf = norm_type == INFINITY;
        const double norm = dtype == HPC_DTYPE_FLOAT32 ? cpu::grad_norm<float>(n, (const float* const*)grads, lengths, inf)
                                                       : cpu::grad_norm<double>(n, (const double* const*)grads, lengths, inf);
        *total_norm = norm;
        const double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0) {  // a NaN norm leaves the gradients as they are; the caller sees the NaN
            if (dtype == HPC_DTYPE_FLOAT32) cpu::scale_grads<float>(n, (float* const*)grads, lengths, coef);
            else cpu::scale_grads<double>(n, (double* const*)grads, lengths, coef);
        }
    });
}

HPC_API int32_t hpc_clip_grad_value(int32_t dtype, int64_t n, void* const* grads, const int64_t* lengths, double clip_value) {
    return guarded(__func__, [&] {
        require_dtype(dtype);
        check_lengths(lengths, n);
        check_set("grads", grads, n, true);
        require(std::isfinite(clip_value) && clip_value >= 0,
                [&] { return "clip_value: expected a finite value >= 0, got " + num(clip_value); });
        if (dtype == HPC_DTYPE_FLOAT32) cpu::clamp_grads<float>(n, (float* const*)grads, lengths, clip_value);
        else cpu::clamp_grads<double>(n, (double* const*)grads, lengths, clip_value);
    });
}

}  // extern "C"

namespace {

// hpc_gemm and hpc_gemm_blas: the same validation, then HPC's own float32 kernel (alpha = 1, beta = 0 or 1) or BLAS.
int32_t gemm_call(const char* fn, bool own_kernel, int32_t dtype, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                  int64_t k, double alpha, const void* a, int64_t a_len, int64_t lda, const void* b, int64_t b_len,
                  int64_t ldb, double beta, void* c, int64_t c_len, int64_t ldc) {
    return guarded(fn, [&] {
        require_dtype(dtype);
        for (auto [name, v] : {std::pair{"m", m}, {"n", n}, {"k", k}})
            require(v > 0 && v <= INT_MAX, [&] {
                return std::string(name) + ": expected 1.." + std::to_string(INT_MAX) + ", got " + std::to_string(v);
            });
        // A matrix of rows x cols stored with leading dimension ld needs (rows - 1) * ld + cols elements.
        auto check = [&](const char* name, const void* p, int64_t len, int64_t rows, int64_t cols, int64_t ld) {
            require(p != nullptr, [&] { return std::string(name) + " is NULL"; });
            require(ld >= cols && ld <= INT_MAX, [&] {
                return std::string("ld") + name + ": expected >= " + std::to_string(cols) + ", got " +
                       std::to_string(ld);
            });
            const int64_t need = checked_add(checked_mul(rows - 1, ld, "rows*ld"), cols, "matrix extent");
            require(len >= need, [&] {
                return std::string(name) + "_len: expected >= " + std::to_string(need) + " elements for a " +
                       std::to_string(rows) + "x" + std::to_string(cols) + " matrix with ld " + std::to_string(ld) +
                       ", got " + std::to_string(len);
            });
        };
        check("a", a, a_len, trans_a ? k : m, trans_a ? m : k, lda);
        check("b", b, b_len, trans_b ? n : k, trans_b ? k : n, ldb);
        check("c", c, c_len, m, n, ldc);
        require(std::isfinite(alpha) && std::isfinite(beta), "alpha and beta must be finite");
        const size_t e = dtype == HPC_DTYPE_FLOAT32 ? 4 : 8;
        require_no_overlap({{"a", a, a_len}, {"b", b, b_len}}, {{"c", c, c_len}}, e);
        if (dtype == HPC_DTYPE_FLOAT32 && own_kernel && alpha == 1.0 && (beta == 0.0 || beta == 1.0)) {
            thread_local std::vector<float> pack;  // B's panels; grows to the largest B seen on this thread
            cpu::gemm_f32(trans_a != 0, trans_b != 0, m, n, k, (const float*)a, lda, (const float*)b, ldb, beta == 1.0,
                          (float*)c, ldc, pack);
        } else if (dtype == HPC_DTYPE_FLOAT32) {
            cpu::gemm(trans_a != 0, trans_b != 0, m, n, k, (float)alpha, (const float*)a, lda, (const float*)b, ldb,
                      (float)beta, (float*)c, ldc);
        } else {
            cpu::gemm(trans_a != 0, trans_b != 0, m, n, k, alpha, (const double*)a, lda, (const double*)b, ldb, beta,
                      (double*)c, ldc);
        }
    });
}

}  // namespace

extern "C" {

HPC_API int32_t hpc_gemm(int32_t dtype, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                         const void* a, int64_t a_len, int64_t lda, const void* b, int64_t b_len, int64_t ldb, double beta,
                         void* c, int64_t c_len, int64_t ldc) {
    return gemm_call(__func__, true, dtype, trans_a, trans_b, m, n, k, alpha, a, a_len, lda, b, b_len, ldb, beta, c,
                     c_len, ldc);
}

HPC_API int32_t hpc_gemm_blas(int32_t dtype, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                              double alpha, const void* a, int64_t a_len, int64_t lda, const void* b, int64_t b_len,
                              int64_t ldb, double beta, void* c, int64_t c_len, int64_t ldc) {
    return gemm_call(__func__, false, dtype, trans_a, trans_b, m, n, k, alpha, a, a_len, lda, b, b_len, ldb, beta, c,
                     c_len, ldc);
}

}  // extern "C"
