// The scan behind the C ABI's checks of large value arrays (finite, non-negative, log-densities): the first index
// whose value fails a test, in blocks tested two values at a time with SSE2. Shared by abi_hmm.cpp and by the kernels
// that check what they have just written while it is still in cache (gaussian_loglik's densities).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hpc::cpu {

// The tests on two lanes at once (all-ones lanes where the test holds).
namespace value_lanes {
#if defined(__SSE2__)
using Lanes = __m128d;
inline Lanes lt(Lanes x, double c) { return _mm_cmplt_pd(x, _mm_set1_pd(c)); }
inline Lanes le(Lanes x, double c) { return _mm_cmple_pd(x, _mm_set1_pd(c)); }
inline Lanes ge(Lanes x, double c) { return _mm_cmpge_pd(x, _mm_set1_pd(c)); }
inline Lanes both(Lanes a, Lanes b) { return _mm_and_pd(a, b); }
inline Lanes vabs(Lanes x) { return _mm_and_pd(x, _mm_castsi128_pd(_mm_set1_epi64x(INT64_MAX))); }
#else
using Lanes = int;  // the scalar test alone; these are never called
inline Lanes lt(Lanes, double) { return 0; }
inline Lanes le(Lanes, double) { return 0; }
inline Lanes ge(Lanes, double) { return 0; }
inline Lanes both(Lanes, Lanes) { return 0; }
inline Lanes vabs(Lanes) { return 0; }
#endif
}  // namespace value_lanes

// The first i with !good(v[i]), or -1. Blocks of 256 values are tested two at a time with the SSE2 form of the
// test (good2 gives all-ones lanes for good values; the lanes are AND-ed, no branch per value), and only a block with
// a bad value is searched: the [N, K] inputs are checked on every call, and the scalar loop with an exit per value
// took 3-5 % of a K 8 fit iteration. (GCC's vector extensions turned the masks into scalar selects here.)
template <typename Good, typename GoodV>
int64_t first_bad_serial(const double* v, int64_t n, Good good, [[maybe_unused]] GoodV good2) {
    constexpr int64_t kBlock = 256;
    for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
        const int64_t e = std::min(n, i0 + kBlock);
        int64_t i = i0;
        bool found = false;
#if defined(__SSE2__)
        // Four masks, so that the ANDs do not wait on one another (one chain ran a pair of values per cycle).
        __m128d all0 = _mm_castsi128_pd(_mm_set1_epi32(-1)), all1 = all0, all2 = all0, all3 = all0;
        for (; i + 8 <= e; i += 8) {
            all0 = _mm_and_pd(all0, good2(_mm_loadu_pd(v + i)));
            all1 = _mm_and_pd(all1, good2(_mm_loadu_pd(v + i + 2)));
            all2 = _mm_and_pd(all2, good2(_mm_loadu_pd(v + i + 4)));
            all3 = _mm_and_pd(all3, good2(_mm_loadu_pd(v + i + 6)));
        }
        for (; i + 2 <= e; i += 2) all0 = _mm_and_pd(all0, good2(_mm_loadu_pd(v + i)));
        found = _mm_movemask_pd(_mm_and_pd(_mm_and_pd(all0, all1), _mm_and_pd(all2, all3))) != 3;
#endif
        for (; i < e; ++i) found |= !good(v[i]);
        if (found)
            for (int64_t j = i0; j < e; ++j)
                if (!good(v[j])) return j;
    }
    return -1;
}

// The first index of a log-density that is NaN or +inf (x < inf fails for both; -inf is a valid log-density), or -1.
inline int64_t first_bad_log_density(const double* v, int64_t n) {
    return first_bad_serial(v, n, [](double x) { return x < INFINITY; }, [](value_lanes::Lanes x) { return value_lanes::lt(x, INFINITY); });
}

}  // namespace hpc::cpu
