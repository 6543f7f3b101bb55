// K 8 Viterbi candidates outside the library, one thread, S sequences of T rows stepped together: "base" the
// library's step as of 32a7603 (generic vectors, each previous score taken by a vector constructor, the argmax by a
// compare and two blends per candidate, int32 back pointers) against "planes" (AVX-512: a compare into a mask and a
// max per candidate; the back pointers built from the masks with integer operations as three bit planes, 4 bytes a
// row). Checks that both give the same scores and pointers; prints ns a row. Standalone: base 4.6-4.9, planes
// 3.35-3.38. In the library it gave no gain (bench/results/2026-11-23-decode-k8-serial-parts.md), not kept.
//   g++ -O2 -std=c++17 -march=native bench/compare/viterbi_k8_mask_planes.cpp -o /tmp/vbp && taskset -c 0 /tmp/vbp 5 10000 20
#include <immintrin.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <cmath>
#include <random>
#include <vector>
#include <algorithm>
typedef double V __attribute__((vector_size(64)));
typedef int64_t VI __attribute__((vector_size(64)));
typedef int32_t VI32 __attribute__((vector_size(32)));

// library-like: generic vectors, constructor broadcast, int32 rows of back pointers
__attribute__((noinline)) void base(int S, int64_t T, const double* logB, const V* LA, V* prev, int32_t* back) {
    for (int64_t t = 1; t < T; ++t)
        for (int i = 0; i < S; ++i) {
            const int64_t r = (int64_t)i * T + t;
            const double* p = (const double*)(prev + i);
            V c = V{p[0],p[0],p[0],p[0],p[0],p[0],p[0],p[0]} + LA[0];
            VI bk = VI{};
            for (int k = 1; k < 8; ++k) {
                const V cand = V{p[k],p[k],p[k],p[k],p[k],p[k],p[k],p[k]} + LA[k];
                const VI better = cand > c;
                c = better ? cand : c;
                bk = better ? (VI{} + k) : bk;
            }
            V lb; memcpy(&lb, logB + r * 8, 64);
            c += lb;
            VI32 n = __builtin_convertvector(bk, VI32);
            memcpy(back + r * 8, &n, 32);
            prev[i] = c;
        }
}
// bit planes: masks of "strictly better" per candidate; the last better k per lane as 3 bit planes (bytes) in a uint32
__attribute__((noinline)) void planes(int S, int64_t T, const double* logB, const V* LA, V* prev, uint32_t* back) {
    __m512d la[8];
    for (int k = 0; k < 8; ++k) la[k] = _mm512_loadu_pd((const double*)(LA + k));
    for (int64_t t = 1; t < T; ++t)
        for (int i = 0; i < S; ++i) {
            const int64_t r = (int64_t)i * T + t;
            const double* p = (const double*)(prev + i);
            __m512d c = _mm512_add_pd(_mm512_set1_pd(p[0]), la[0]);
            uint32_t m[8];
#pragma GCC unroll 8
            for (int k = 1; k < 8; ++k) {
                const __m512d cand = _mm512_add_pd(_mm512_set1_pd(p[k]), la[k]);
                m[k] = _cvtmask8_u32(_mm512_cmp_pd_mask(cand, c, _CMP_GT_OQ));
                c = _mm512_max_pd(cand, c);
            }
            c = _mm512_add_pd(c, _mm512_loadu_pd(logB + r * 8));
            _mm512_store_pd((double*)(prev + i), c);
            uint32_t s = m[7], L[8];
            L[7] = m[7];
#pragma GCC unroll 8
            for (int k = 6; k >= 1; --k) { L[k] = m[k] & ~s; s |= m[k]; }
            const uint32_t b0 = L[1] | L[3] | L[5] | L[7], b1 = L[2] | L[3] | L[6] | L[7], b2 = L[4] | L[5] | L[6] | L[7];
            back[r] = b0 | b1 << 8 | b2 << 16;
        }
}
int main(int argc, char** argv) {
    const int S = atoi(argv[1]); const int64_t T = atol(argv[2]); const int reps = atoi(argv[3]);
    std::mt19937_64 g(1); std::normal_distribution<double> nd;
    std::vector<double> logB(S * T * 8);
    for (auto& v : logB) v = -0.5 * nd(g) * nd(g) * 9 - 1;
    V LA[8]; for (int k = 0; k < 8; ++k) for (int j = 0; j < 8; ++j) LA[k][j] = std::log(0.02 + (k == j ? 0.84 : 0.0));
    std::vector<V> prev(S), prev2(S); std::vector<int32_t> back(S * T * 8); std::vector<uint32_t> bp(S * T);
    for (int rr = 0; rr < 5; ++rr) {
        double tb = 1e9, tp = 1e9;
        for (int q = 0; q < reps; ++q) {
            for (int i = 0; i < S; ++i) prev[i] = V{}, prev2[i] = V{};
            auto t0 = std::chrono::steady_clock::now();
            base(S, T, logB.data(), LA, prev.data(), back.data());
            auto t1 = std::chrono::steady_clock::now();
            planes(S, T, logB.data(), LA, prev2.data(), bp.data());
            auto t2 = std::chrono::steady_clock::now();
            tb = std::min(tb, std::chrono::duration<double>(t1 - t0).count());
            tp = std::min(tp, std::chrono::duration<double>(t2 - t1).count());
        }
        if (memcmp(prev.data(), prev2.data(), S * 64)) { printf("score mismatch\n"); return 1; }
        for (int64_t r = 0; r < S * T; ++r) if (r % T) for (int j = 0; j < 8; ++j) {
            uint32_t w = bp[r]; int st = ((w >> j) & 1) | ((w >> (8 + j)) & 1) << 1 | ((w >> (16 + j)) & 1) << 2;
            if (st != back[r * 8 + j]) { printf("bp mismatch r %ld j %d %d %d\n", (long)r, j, st, back[r*8+j]); return 1; }
        }
        printf("ns/row forward: base %.2f planes %.2f\n", tb * 1e9 / (S * T), tp * 1e9 / (S * T));
    }
}
