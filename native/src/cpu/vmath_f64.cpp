#include "vmath_f64.h"
#include "vmath_f64_lanes.h"

#include <cstring>
#include <vector>

// Built for AVX-512, AVX2 and a portable default, picked at load time (external linkage: see hmm_cpu.cpp). All three
// clones share the file's macros, so their vectors have the baseline target's width (vmath_f64_lanes.h: 2 lanes on
// x86-64); the lane-wise arithmetic tested here is the same at every width.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(HPC_NO_TARGET_CLONES)
#define HPC_VMATH_F64_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HPC_VMATH_F64_CLONES
#endif

namespace hpc::cpu {

using namespace simd;

namespace {

// out[i] = log(in[i]) (Log) or exp(in[i]), eight lanes at a time; the last, partial group padded with a value in the
// function's range.
template <bool Log>
HPC_INLINE void map_lanes(const double* in, double* out, int64_t n) {
    for (int64_t i = 0; i < n; i += kLanes) {
        double buf[kLanes];
        for (int j = 0; j < kLanes; ++j) buf[j] = i + j < n ? in[i + j] : (Log ? 1.0 : 0.0);
        V x;
        std::memcpy(&x, buf, sizeof x);
        const V y = Log ? log_nn(x) : exp_np(x);
        std::memcpy(buf, &y, sizeof y);
        for (int64_t j = 0; j < kLanes && i + j < n; ++j) out[i + j] = buf[j];
    }
}

}  // namespace

HPC_VMATH_F64_CLONES void log_nonnegative(const double* in, double* out, int64_t n) { map_lanes<true>(in, out, n); }

HPC_VMATH_F64_CLONES void exp_nonpositive(const double* in, double* out, int64_t n) { map_lanes<false>(in, out, n); }

HPC_VMATH_F64_CLONES void exp_nonpositive_grouped(const double* in, double* out, int64_t n) {
    // The values in whole vectors (the last padded with 0), in place, back out.
    const int64_t nv = (n + kLanes - 1) / kLanes;
    std::vector<V> v((size_t)nv);
    double* d = reinterpret_cast<double*>(v.data());
    for (int64_t i = 0; i < nv * kLanes; ++i) d[i] = i < n ? in[i] : 0.0;
    exp_np_inplace(v.data(), nv);
    for (int64_t i = 0; i < n; ++i) out[i] = d[i];
}

}  // namespace hpc::cpu
