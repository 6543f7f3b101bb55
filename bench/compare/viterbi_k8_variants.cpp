// K 8 Viterbi variants outside the library, one thread, S sequences of T rows stepped together (as the library's
// back-pointer kernel, hmm_small_k.cpp, steps a group's sequences): "base" the library's forward step (a compare
// and two blends per candidate, int32 back pointers), "masks" the maxima by a tree then one equality mask per
// candidate stored as a byte (8 bytes of back pointers a row, read back with pext); and the backtrack one sequence
// after the other ("one chain") or all S side by side ("all"). Later variants: "base_bcast" (base with each p[k]
// broadcast from memory, not splat's 0.0 + p[k] then a broadcast), "mstore" (the maxima by a tree, each row's maxima
// before the emission kept instead of back pointers, the backtrack finding the first k whose candidate equals the
// kept maximum), "mstore_reg" (mstore's forward with the previous rows in registers, lanes taken by permutes) and
// "planes" (a compare into a mask and a max per candidate, the back pointers built from the seven masks with integer
// operations as three bit planes, 4 bytes a row: 3.35-3.38 ns a row against 4.6-4.9 for a copy of the library's
// step of 32a7603; no faster in the library, bench/results/2026-11-23-decode-k8-serial-parts.md).
// Checks that the variants agree; prints ns a row. Results: bench/results/2026-11-23-hmm-not-kept-2.md and
// bench/results/2026-11-23-viterbi-back-pointer-rows.md. Needs AVX-512 and BMI2:
//   g++ -O2 -std=c++17 -march=native bench/compare/viterbi_k8_variants.cpp -o /tmp/vk8 && taskset -c 0 /tmp/vk8 5 10000 20

#include <immintrin.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <random>
#include <vector>
#include <algorithm>
typedef double V __attribute__((vector_size(64)));
typedef int64_t VI __attribute__((vector_size(64)));
typedef int32_t VI32 __attribute__((vector_size(32)));
static V splat(double x) { return V{} + x; }

// The eight candidates' maximum by a tree of maxima (max is exact: any order gives the same value).
__attribute__((target("avx512f"), always_inline)) inline __m512d tree_max8(const __m512d (&c)[8]) {
    const __m512d m01 = _mm512_max_pd(c[1], c[0]), m23 = _mm512_max_pd(c[3], c[2]);
    const __m512d m45 = _mm512_max_pd(c[5], c[4]), m67 = _mm512_max_pd(c[7], c[6]);
    return _mm512_max_pd(_mm512_max_pd(m67, m45), _mm512_max_pd(m23, m01));
}

// MemoryBroadcast: each p[k] broadcast from memory (_mm512_set1_pd, "base_bcast") instead of splat's 0.0 + p[k]
// (a scalar add, then a broadcast from a register: the library's "base").
template <bool MemoryBroadcast>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
void base_step(int S, int64_t T, const double* logB, const V* LA, V* prev, int32_t* back) {
    for (int64_t t = 1; t < T; ++t)
        for (int i = 0; i < S; ++i) {
            const int64_t r = (int64_t)i * T + t;
            const double* p = (const double*)(prev + i);
            V c = (MemoryBroadcast ? (V)_mm512_set1_pd(p[0]) : splat(p[0])) + LA[0];
            VI bk = VI{};
            for (int k = 1; k < 8; ++k) {
                const V cand = (MemoryBroadcast ? (V)_mm512_set1_pd(p[k]) : splat(p[k])) + LA[k];
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
void base(int S, int64_t T, const double* logB, const V* LA, V* prev, int32_t* back) {
    base_step<false>(S, T, logB, LA, prev, back);
}
void base_bcast(int S, int64_t T, const double* logB, const V* LA, V* prev, int32_t* back) {
    base_step<true>(S, T, logB, LA, prev, back);
}

// step(r, p, la) for steps t >= 1 of the S sequences in turn (row r = i T + t, p its sequence's previous scores, la
// the rows of log A).
template <typename Step>
inline void each_step(int S, int64_t T, const V* LA, V* prev, Step step) {
    __m512d la[8];
    for (int k = 0; k < 8; ++k) la[k] = _mm512_loadu_pd((const double*)(LA + k));
    for (int64_t t = 1; t < T; ++t)
        for (int i = 0; i < S; ++i) step((int64_t)i * T + t, (double*)(prev + i), la);
}

// The forward pass with the maxima by a tree (no back pointers tracked), keep(r, c, m) given each row's candidates c
// and maxima m before the emission is added. (The file is compiled with -march=native, so the lambdas may use
// AVX-512 intrinsics.)
template <typename Keep>
inline void tree_pass(int S, int64_t T, const double* logB, const V* LA, V* prev, Keep keep) {
    each_step(S, T, LA, prev, [&](int64_t r, double* p, const __m512d (&la)[8]) {
        __m512d c[8];
        for (int k = 0; k < 8; ++k) c[k] = _mm512_add_pd(_mm512_set1_pd(p[k]), la[k]);
        const __m512d m = tree_max8(c);
        keep(r, c, m);
        _mm512_storeu_pd(p, _mm512_add_pd(m, _mm512_loadu_pd(logB + r * 8)));
    });
}

void masks(int S, int64_t T, const double* logB, const V* LA, V* prev, uint64_t* back) {
    tree_pass(S, T, logB, LA, prev, [&](int64_t r, const __m512d (&c)[8], __m512d m) {
        uint8_t* bb = (uint8_t*)(back + r);  // byte k: the lanes j where candidate k attains the maximum
        for (int k = 0; k < 8; ++k) _store_mask8((__mmask8*)(bb + k), _mm512_cmp_pd_mask(c[k], m, _CMP_EQ_OQ));
    });
}

// "mstore": the row's maxima m (before the emission) kept instead of back pointers; the backtrack finds the first k
// with delta_{t-1}[k] + log A[k, j] == m_t[j], delta_{t-1} = m_{t-1} + logB_{t-1} recomputed off the chain (the same
// bits as the forward pass's).
void mstore(int S, int64_t T, const double* logB, const V* LA, V* prev, double* mrow) {
    tree_pass(S, T, logB, LA, prev,
              [&](int64_t r, const __m512d (&)[8], __m512d m) { _mm512_storeu_pd(mrow + r * 8, m); });
}
// "mstore, registers": the same with the S previous rows held in registers, each candidate's p[k] taken by a lane
// permute (no store and reload of the previous row).
template <int S>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
void mstore_reg(int64_t T, const double* logB, const V* LA, V* prev, double* mrow) {
    __m512d la[8], pv[S];
    __m512i ix[8];
    for (int k = 0; k < 8; ++k) { la[k] = _mm512_loadu_pd((const double*)(LA + k)); ix[k] = _mm512_set1_epi64(k); }
    for (int i = 0; i < S; ++i) pv[i] = _mm512_loadu_pd((const double*)(prev + i));
    for (int64_t t = 1; t < T; ++t)
        for (int i = 0; i < S; ++i) {
            const int64_t r = (int64_t)i * T + t;
            __m512d c[8];
            for (int k = 0; k < 8; ++k) c[k] = _mm512_add_pd(_mm512_permutexvar_pd(ix[k], pv[i]), la[k]);
            const __m512d m = tree_max8(c);
            _mm512_storeu_pd(mrow + r * 8, m);
            pv[i] = _mm512_add_pd(m, _mm512_loadu_pd(logB + r * 8));
        }
    for (int i = 0; i < S; ++i) _mm512_storeu_pd((double*)(prev + i), pv[i]);
}
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,bmi")))
void bt_mstore(int S, int64_t T, const double* logB, const double* mrow, const V* LAT, int64_t* path) {
    int64_t st[16] = {0};
    for (int64_t u = T - 1; u >= 1; --u)
        for (int i = 0; i < S; ++i) {
            const int64_t r = (int64_t)i * T + u;
            path[r] = st[i];
            const __m512d dprev = u == 1 ? _mm512_setzero_pd()
                                         : _mm512_add_pd(_mm512_loadu_pd(mrow + (r - 1) * 8),
                                                         _mm512_loadu_pd(logB + (r - 1) * 8));
            const __m512d cand = _mm512_add_pd(dprev, _mm512_loadu_pd((const double*)(LAT + st[i])));
            const __mmask8 eq = _mm512_cmp_pd_mask(cand, _mm512_set1_pd(mrow[r * 8 + st[i]]), _CMP_EQ_OQ);
            st[i] = __builtin_ctz(eq);
        }
    for (int i = 0; i < S; ++i) path[(int64_t)i * T] = st[i];
}

// "planes": m[k] the lanes where candidate k beat the best so far, so a lane's pointer is the last k with its bit set;
// last[k] (those lanes) gives the pointer's three bits as bytes 0-2 of a 32-bit word a row.
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,bmi")))
void planes(int S, int64_t T, const double* logB, const V* LA, V* prev, uint32_t* back) {
    each_step(S, T, LA, prev, [&](int64_t r, double* p, const __m512d (&la)[8]) {
        __m512d c = _mm512_add_pd(_mm512_set1_pd(p[0]), la[0]);
        uint32_t m[8];
#pragma GCC unroll 8
        for (int k = 1; k < 8; ++k) {
            const __m512d cand = _mm512_add_pd(_mm512_set1_pd(p[k]), la[k]);
            m[k] = _mm512_cmp_pd_mask(cand, c, _CMP_GT_OQ);
            c = _mm512_max_pd(cand, c);
        }
        c = _mm512_add_pd(c, _mm512_loadu_pd(logB + r * 8));
        _mm512_store_pd(p, c);
        uint32_t later = m[7], last[8];
        last[7] = m[7];
#pragma GCC unroll 8
        for (int k = 6; k >= 1; --k) { last[k] = m[k] & ~later; later |= m[k]; }
        const uint32_t b0 = last[1] | last[3] | last[5] | last[7], b1 = last[2] | last[3] | last[6] | last[7];
        const uint32_t b2 = last[4] | last[5] | last[6] | last[7];
        back[r] = b0 | b1 << 8 | b2 << 16;
    });
}

void bt_one(int S, int64_t T, const int32_t* back, int64_t* path) {
    for (int i = 0; i < S; ++i) {
        int64_t state = 0; const int64_t r0 = (int64_t)i * T;
        for (int64_t u = T - 1; u >= 0; --u) { path[r0 + u] = state; state = back[(r0 + u) * 8 + state]; }
    }
}
void bt_all(int S, int64_t T, const int32_t* back, int64_t* path) {
    int64_t st[16] = {0};
    for (int64_t u = T - 1; u >= 0; --u)
        for (int i = 0; i < S; ++i) { const int64_t r = (int64_t)i * T + u; path[r] = st[i]; st[i] = back[r * 8 + st[i]]; }
}
int main(int argc, char** argv) {
    const int S = atoi(argv[1]); const int64_t T = atol(argv[2]); const int reps = atoi(argv[3]);
    std::mt19937_64 g(1); std::normal_distribution<double> nd;
    std::vector<double> logB(S * T * 8);
    for (auto& v : logB) v = -0.5 * nd(g) * nd(g) * 9 - 1;
    V LA[8]; for (int k = 0; k < 8; ++k) for (int j = 0; j < 8; ++j) LA[k][j] = std::log(0.02 + (k == j ? 0.84 : 0.0));
    std::vector<V> prev(S); std::vector<int32_t> back(S * T * 8); std::vector<uint64_t> bm(S * T);
    for (int rr = 0; rr < 3; ++rr) {
        double tb = 1e9, tm = 1e9;
        for (int q = 0; q < reps; ++q) {
            for (int i = 0; i < S; ++i) prev[i] = splat(0.0);
            auto t0 = std::chrono::steady_clock::now();
            base(S, T, logB.data(), LA, prev.data(), back.data());
            auto t1 = std::chrono::steady_clock::now();
            V pb0 = prev[0];
            for (int i = 0; i < S; ++i) prev[i] = splat(0.0);
            auto t2 = std::chrono::steady_clock::now();
            masks(S, T, logB.data(), LA, prev.data(), bm.data());
            auto t3 = std::chrono::steady_clock::now();
            if (memcmp(&pb0, &prev[0], 64)) { printf("mismatch\n"); return 1; }
            tb = std::min(tb, std::chrono::duration<double>(t1 - t0).count());
            tm = std::min(tm, std::chrono::duration<double>(t3 - t2).count());
        }
        // check back pointers agree
        for (int64_t r = 0; r < S * T; ++r) if (r % T) for (int j = 0; j < 8; ++j) {
            uint64_t col = _pext_u64(bm[r], 0x0101010101010101ull << j);
            if ((int)__builtin_ctzll(col) != back[r * 8 + j]) { printf("bp mismatch r %ld j %d\n", r, j); return 1; }
        }
        std::vector<int64_t> p1(S * T), p2(S * T); double t1b = 1e9, t2b = 1e9;
        for (int q = 0; q < reps; ++q) {
            auto a = std::chrono::steady_clock::now(); bt_one(S, T, back.data(), p1.data());
            auto b = std::chrono::steady_clock::now(); bt_all(S, T, back.data(), p2.data());
            auto c = std::chrono::steady_clock::now();
            t1b = std::min(t1b, std::chrono::duration<double>(b - a).count()); t2b = std::min(t2b, std::chrono::duration<double>(c - b).count());
        }
        if (p1 != p2) { printf("bt mismatch\n"); return 1; }
        printf("backtrack ns/row: one chain %.2f all %.2f\n", t1b * 1e9 / (S * T), t2b * 1e9 / (S * T));
        printf("ns/row: base %.2f masks %.2f\n", tb * 1e9 / (S * T), tm * 1e9 / (S * T));
        {
            std::vector<int32_t> back2(S * T * 8); double tq = 1e9;
            for (int q = 0; q < reps; ++q) {
                for (int i = 0; i < S; ++i) prev[i] = splat(0.0);
                auto a = std::chrono::steady_clock::now(); base_bcast(S, T, logB.data(), LA, prev.data(), back2.data());
                auto b = std::chrono::steady_clock::now();
                tq = std::min(tq, std::chrono::duration<double>(b - a).count());
            }
            for (int64_t r = 0; r < S * T; ++r)
                if (r % T)
                    for (int j = 0; j < 8; ++j)
                        if (back2[r * 8 + j] != back[r * 8 + j]) { printf("base_bcast mismatch\n"); return 1; }
            printf("base_bcast forward %.2f\n", tq * 1e9 / (S * T));
        }
        {
            std::vector<uint32_t> bp(S * T); std::vector<V> prev2(S); double tq = 1e9;
            for (int q = 0; q < reps; ++q) {
                for (int i = 0; i < S; ++i) prev2[i] = splat(0.0);
                auto a = std::chrono::steady_clock::now(); planes(S, T, logB.data(), LA, prev2.data(), bp.data());
                auto b = std::chrono::steady_clock::now();
                tq = std::min(tq, std::chrono::duration<double>(b - a).count());
            }
            for (int i = 0; i < S; ++i) prev[i] = splat(0.0);
            base(S, T, logB.data(), LA, prev.data(), back.data());
            if (memcmp(prev.data(), prev2.data(), S * 64)) { printf("planes score mismatch\n"); return 1; }
            for (int64_t r = 0; r < S * T; ++r)
                if (r % T)
                    for (int j = 0; j < 8; ++j)
                        if ((int)_pext_u32(bp[r], 0x010101u << j) != back[r * 8 + j]) { printf("planes mismatch\n"); return 1; }
            printf("planes forward %.2f\n", tq * 1e9 / (S * T));
        }
        {
            V LAT[8]; for (int k = 0; k < 8; ++k) for (int j = 0; j < 8; ++j) LAT[j][k] = LA[k][j];
            std::vector<double> mr(S * T * 8); std::vector<int64_t> p3(S * T);
            double tf = 1e9, tbk = 1e9;
            for (int q = 0; q < reps; ++q) {
                for (int i = 0; i < S; ++i) prev[i] = splat(0.0);
                auto a = std::chrono::steady_clock::now(); mstore(S, T, logB.data(), LA, prev.data(), mr.data());
                auto b = std::chrono::steady_clock::now(); bt_mstore(S, T, logB.data(), mr.data(), LAT, p3.data());
                auto c = std::chrono::steady_clock::now();
                tf = std::min(tf, std::chrono::duration<double>(b - a).count());
                tbk = std::min(tbk, std::chrono::duration<double>(c - b).count());
            }
            if (p3 != p2) { printf("mstore path mismatch\n"); return 1; }
            if (S == 5) {
                double tr = 1e9;
                for (int q = 0; q < reps; ++q) {
                    for (int i = 0; i < S; ++i) prev[i] = splat(0.0);
                    auto a = std::chrono::steady_clock::now();
                    mstore_reg<5>(T, logB.data(), LA, prev.data(), mr.data());
                    auto b = std::chrono::steady_clock::now();
                    tr = std::min(tr, std::chrono::duration<double>(b - a).count());
                }
                bt_mstore(S, T, logB.data(), mr.data(), LAT, p3.data());
                if (p3 != p2) { printf("mstore_reg path mismatch\n"); return 1; }
                printf("mstore_reg forward %.2f\n", tr * 1e9 / (S * T));
            }
            printf("mstore ns/row: forward %.2f backtrack %.2f; base forward + backtrack(all) %.2f\n",
                   tf * 1e9 / (S * T), tbk * 1e9 / (S * T), (tb + t2b) * 1e9 / (S * T));
        }
    }
}
