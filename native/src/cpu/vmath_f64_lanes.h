// Lane-wise double-precision helpers for the HMM kernels: a vector V of kLanes doubles (GCC vector extensions), its
// horizontal sum and maximum, and exp / log over the ranges the kernels need. kLanes is the width of the target's
// vector registers (HPC_SIMD_LANES, or from the target's macros: 8 with AVX-512, 4 with AVX, 2 otherwise), so that
// every operation on a V is one instruction: GCC 12 made comparisons and selects of vectors wider than the target's
// registers scalar code with spills (bench/results/2026-11-24-avx2-hmm-kernels.md). Everything here is always inlined
// into the kernels of hmm_small_k_kernels.cpp (built once per instruction set) and vmath_f64.cpp; include it only
// there (passing these vectors to a function compiled for another target changes the ABI).
#pragma once

#include <cstdint>
#include <limits>

#define HPC_INLINE __attribute__((always_inline)) inline

#ifndef HPC_SIMD_LANES
#if defined(__AVX512F__)
#define HPC_SIMD_LANES 8
#elif defined(__AVX__)
#define HPC_SIMD_LANES 4
#else
#define HPC_SIMD_LANES 2
#endif
#endif
#if HPC_SIMD_LANES != 8 && HPC_SIMD_LANES != 4 && HPC_SIMD_LANES != 2
#error "HPC_SIMD_LANES must be 8, 4 or 2"
#endif

namespace hpc::cpu {

namespace simd {

constexpr int kLanes = HPC_SIMD_LANES;
typedef double V __attribute__((vector_size(8 * kLanes)));
typedef int64_t VI __attribute__((vector_size(8 * kLanes)));
typedef uint64_t VU __attribute__((vector_size(8 * kLanes)));
typedef double V4 __attribute__((vector_size(32)));
typedef double V2 __attribute__((vector_size(16)));
constexpr double kInf = std::numeric_limits<double>::infinity();

HPC_INLINE V splat(double x) { return V{} + x; }

// The lanes' sum, in halves: (lower half + upper half), down to two lanes.
HPC_INLINE double hsum(V v) {
#if HPC_SIMD_LANES == 8
    const V4 a = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
#elif HPC_SIMD_LANES == 4
    const V4 a = v;
#endif
#if HPC_SIMD_LANES >= 4
    const V2 b = __builtin_shufflevector(a, a, 0, 1) + __builtin_shufflevector(a, a, 2, 3);
#else
    const V2 b = v;
#endif
    return b[0] + b[1];
}

HPC_INLINE V vmax(V a, V b) { return a > b ? a : b; }

HPC_INLINE double hmax(V v) {
#if HPC_SIMD_LANES == 8
    const V4 lo = __builtin_shufflevector(v, v, 0, 1, 2, 3), hi = __builtin_shufflevector(v, v, 4, 5, 6, 7);
    const V4 a = lo > hi ? lo : hi;
#elif HPC_SIMD_LANES == 4
    const V4 a = v;
#endif
#if HPC_SIMD_LANES >= 4
    const V2 c = __builtin_shufflevector(a, a, 0, 1), d = __builtin_shufflevector(a, a, 2, 3);
    const V2 b = c > d ? c : d;
#else
    const V2 b = v;
#endif
    return b[0] > b[1] ? b[0] : b[1];
}

HPC_INLINE double hmin(V v) {
#if HPC_SIMD_LANES == 8
    const V4 lo = __builtin_shufflevector(v, v, 0, 1, 2, 3), hi = __builtin_shufflevector(v, v, 4, 5, 6, 7);
    const V4 a = lo < hi ? lo : hi;
#elif HPC_SIMD_LANES == 4
    const V4 a = v;
#endif
#if HPC_SIMD_LANES >= 4
    const V2 c = __builtin_shufflevector(a, a, 0, 1), d = __builtin_shufflevector(a, a, 2, 3);
    const V2 b = c < d ? c : d;
#else
    const V2 b = v;
#endif
    return b[0] < b[1] ? b[0] : b[1];
}

// exp(x) for x <= 0 of N vectors in place: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), e^r by its
// Taylor polynomial of degree 13 (truncation below 1e-17 relative), times 2^n as two powers of two (so that subnormal
// results are rounded once, by the last product). Each step runs over all N vectors before the next (independent
// chains side by side: one vector's is about twenty dependent operations, the polynomial alone 14 FMAs). normal: the
// caller knows every lane is at least kExpNormal, so the results are normal and the clamps, the split of 2^n in two
// factors and the final test change nothing: they are left out (callgrind, the K 8 scaled passes, exp_np_inplace's
// test of each group included: 35.5 instructions a vector instead of 44.6). The same operations on each lane either
// way: the same bits (tested).
// exp(x) >= 2^-1021 above it (n = round(x / ln 2) >= -1021 and the polynomial's value is at least 1/sqrt 2).
constexpr double kExpNormal = -708.0;
template <int N>
HPC_INLINE void exp_np_chains(V* x, bool normal) {
    V xc[N], kd[N], r[N], p[N];
    VI e[N];
    const double shifter = 0x1.8p52;
    for (int q = 0; q < N; ++q) {
        const V xq = x[q];
        xc[q] = normal ? xq : (xq < splat(-746.0) ? splat(-746.0) : (xq > splat(0.0) ? splat(0.0) : xq));
        kd[q] = xc[q] * 1.4426950408889634 + shifter;
        e[q] = (VI)kd[q] - (VI)splat(shifter);
        kd[q] -= shifter;
        r[q] = xc[q] - kd[q] * 6.93147180369123816490e-01;
        r[q] = r[q] - kd[q] * 1.90821492927058770002e-10;
        p[q] = splat(1.0 / 6227020800.0);
    }
    static constexpr double kCoef[] = {1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
                                       1.0 / 40320.0,     1.0 / 5040.0,     1.0 / 720.0,     1.0 / 120.0,
                                       1.0 / 24.0,        1.0 / 6.0,        0.5,             1.0,
                                       1.0};
#pragma GCC unroll 13
    for (int c = 0; c < 13; ++c)
        for (int q = 0; q < N; ++q) p[q] = p[q] * r[q] + kCoef[c];
    if (normal) {
        for (int q = 0; q < N; ++q) x[q] = p[q] * (V)((e[q] + 1023) << 52);
        return;
    }
    for (int q = 0; q < N; ++q) {
        // n >> 1 for n in [-1077, 0], as a logical shift of n + 2048 (AVX2 has no 64-bit arithmetic shift: GCC made
        // it four instructions)
        const VI n1 = (VI)((VU)(e[q] + 2048) >> 1) - 1024, n2 = e[q] - n1;
        const V s1 = (V)((n1 + 1023) << 52), s2 = (V)((n2 + 1023) << 52);
        const V y = p[q] * s1 * s2;
        x[q] = x[q] < splat(-745.14) ? splat(0.0) : y;
    }
}

// exp(x) for x <= 0, one vector (exp_np_chains' general path).
HPC_INLINE V exp_np(V x) {
    exp_np_chains<1>(&x, false);
    return x;
}

// exp_np of x[0..n) (each x <= 0) in place, kExpChains vectors at a time, each group by the normal path where its
// smallest lane allows it (the rows' usual case).
constexpr int kExpChains = 4;
HPC_INLINE void exp_np_inplace(V* x, int64_t n) {
    int64_t i = 0;
    for (; i + kExpChains <= n; i += kExpChains) {
        V lo = x[i];
        for (int q = 1; q < kExpChains; ++q) lo = x[i + q] < lo ? x[i + q] : lo;
        exp_np_chains<kExpChains>(x + i, hmin(lo) >= kExpNormal);
    }
    for (; i < n; ++i) x[i] = exp_np(x[i]);
}

// log(x) for x >= 0 (0 gives -inf; subnormals are scaled by 2^54 first): musl's log, lane-wise: x = 2^k m with m in
// [sqrt(2)/2, sqrt(2)), f = m - 1, log(1 + f) from fdlibm's polynomial in s = f / (2 + f). Within 1 ulp of libm for
// normal inputs (tested).
HPC_INLINE V log_nn(V x) {
    const VI sub = (x < splat(2.2250738585072014e-308)) & (x > splat(0.0));
    const V xs = sub ? x * 0x1p54 : x;
    VI ix = (VI)xs;
    // logical shifts (the sign bits are 0 for x >= 0; AVX2 has no 64-bit arithmetic shift)
    VI hx = (VI)((VU)ix >> 32) + (0x3ff00000 - 0x3fe6a09e);
    const VI k = (VI)((VU)hx >> 20) - 0x3ff - (sub & 54);
    hx = (hx & 0x000fffff) + 0x3fe6a09e;
    ix = (hx << 32) | (ix & 0xffffffff);
    const V f = (V)ix - 1.0;
    const V hfsq = 0.5 * f * f;
    const V sv = f / (2.0 + f);
    const V z = sv * sv, w = z * z;
    const V t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    const V t2 = z * (6.666666666666735130e-01 +
                      w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    // k as a double, exactly (|k| < 2^51): the bits of 1.5 2^52 plus k, minus 1.5 2^52 (AVX2 has no 64-bit integer
    // conversion: GCC converted lane by lane)
    const V dk = (V)(k + (VI)splat(0x1.8p52)) - 0x1.8p52;
    const V y = sv * (hfsq + (t2 + t1)) + dk * 1.90821492927058770002e-10 - hfsq + f + dk * 6.93147180369123816490e-01;
    return x == splat(0.0) ? splat(-kInf) : y;
}

}  // namespace simd

}  // namespace hpc::cpu
