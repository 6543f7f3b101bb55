#include "vmath_f64.h"
#include "vmath_f64_lanes.h"

#include <cstring>

// Built for AVX-512, AVX2 and a portable default, picked at load time (external linkage: see hmm_small_k.cpp).
#if defined(__x86_64__) && defined(__GNUC__)
#define HPC_VMATH_F64_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HPC_VMATH_F64_CLONES
#endif

namespace hpc::cpu {

using namespace simd;

HPC_VMATH_F64_CLONES void log_nonnegative(const double* in, double* out, int64_t n) {
    for (int64_t i = 0; i < n; i += kLanes) {
        double buf[kLanes];
        for (int j = 0; j < kLanes; ++j) buf[j] = i + j < n ? in[i + j] : 1.0;
        V x;
        std::memcpy(&x, buf, sizeof x);
        const V y = log_nn(x);
        std::memcpy(buf, &y, sizeof y);
        for (int64_t j = 0; j < kLanes && i + j < n; ++j) out[i + j] = buf[j];
    }
}

HPC_VMATH_F64_CLONES void exp_nonpositive(const double* in, double* out, int64_t n) {
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        V x;
        std::memcpy(&x, in + i, sizeof x);
        const V y = exp_np(x);
        std::memcpy(out + i, &y, sizeof y);
    }
    if (i < n) {
        double buf[kLanes];
        for (int j = 0; j < kLanes; ++j) buf[j] = i + j < n ? in[i + j] : 0.0;
        V x;
        std::memcpy(&x, buf, sizeof x);
        const V y = exp_np(x);
        std::memcpy(buf, &y, sizeof y);
        for (int64_t j = 0; i + j < n; ++j) out[i + j] = buf[j];
    }
}

}  // namespace hpc::cpu
