// The kernels of hmm_small_k.h, compiled once per instruction set into the namespace HPC_SMALL_K_NAMESPACE, each row's
// K values held in vectors of the target's register width (vmath_f64_lanes.h: 8 doubles with AVX-512, 4 with AVX2,
// 2 with SSE2). hmm_small_k.cpp picks one build at run time (CMakeLists.txt: on x86-64 with GCC three builds,
// HPC_SMALL_K_ISA 1 (AVX-512), 2 (AVX2 and FMA) and 3 (SSE2); elsewhere, or with HPC_NO_TARGET_CLONES, one build for
// the compiler's target, HPC_SMALL_K_ISA 0). One source for every instruction set: GCC vector extensions. The
// instruction set is set by '#pragma GCC target' after the standard headers, not by -m flags: code the build emits
// from those headers (a template instantiated here and emitted out of line) keeps the default target, so the linker
// cannot keep an AVX-512 copy of a function that the rest of the library calls.
#include "hmm_small_k.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#ifndef HPC_SMALL_K_ISA
#error "HPC_SMALL_K_ISA: 0 (the compiler's target), 1 (AVX-512), 2 (AVX2 and FMA) or 3 (SSE2)"
#endif
#if HPC_SMALL_K_ISA == 1
#pragma GCC target("avx512f")
#define HPC_SIMD_LANES 8
#define HPC_SMALL_K_NAMESPACE small_k_avx512
#elif HPC_SMALL_K_ISA == 2
#pragma GCC target("avx2,fma")
#define HPC_SIMD_LANES 4
#define HPC_SMALL_K_NAMESPACE small_k_avx2
#elif HPC_SMALL_K_ISA == 3
#define HPC_SIMD_LANES 2
#define HPC_SMALL_K_NAMESPACE small_k_sse2
#else
#define HPC_SMALL_K_NAMESPACE small_k_native
#endif

#include "vmath_f64_lanes.h"

namespace hpc::cpu::HPC_SMALL_K_NAMESPACE {

namespace {

using namespace simd;

// n zeroed vectors, 64-byte aligned (a new-expression honours the vectors' alignment; std::vector<V> did not).
std::unique_ptr<V[]> zeroed(int64_t n) { return std::unique_ptr<V[]>(new V[(size_t)std::max<int64_t>(n, 1)]()); }

// *x in every lane as one broadcast load (vbroadcastsd or vpbroadcastq from memory), where splat (V{} + x) is a scalar
// add and a broadcast. Written as an OR of the bits into zeros, which GCC folds away (it cannot fold 0.0 + x: not x for
// x = -0.0); GCC 12 made the vector constructor V{x, ..., x} eight masked broadcasts in the AVX-512 target_clones
// functions. Used by the Viterbi score pass above 16 states (splat was two operations for every NV candidate sums,
// the add on the pipes the maxima need) and by the products of vec_mat, xi_rows and the transition statistics. The
// results are splat's: x + y and (0.0 + x) + y differ only for x = y = -0.0 (log A has no -0.0), and x * m + y only
// by the sign of a zero product, which the nonzero or +0 sums it is added to absorb.
HPC_INLINE V broadcast_from_memory(const double* x) {
    int64_t bits;
    std::memcpy(&bits, x, sizeof bits);
    return (V)(VI{} | bits);
}

// Row j of an [.., K] array as NV vectors, lanes from K on set to fill. Full: K == NV * 8 (one unaligned load each).
template <int NV, bool Full>
HPC_INLINE void load_row(const double* src, int64_t K, double fill, V (&out)[NV]) {
    if constexpr (Full) {
        // One load a vector (one memcpy of the row went through 16-byte moves and a stack copy, and the row's
        // vectors then waited on a store forwarding that fails: AVX2, K 8).
        for (int v = 0; v < NV; ++v) std::memcpy(&out[v], src + v * kLanes, sizeof out[v]);
    } else {
        // Two lanes at a time (one 16-byte load where both lie in the row), joined by shuffles. Filling a buffer lane
        // by lane and loading it as a vector made every such load wait for eight scalar stores (no store-to-load
        // forwarding into a wider load): the scaled forward-backward at K 7 took 2.3x its time at K 8.
        V2 q[NV * kLanes / 2];
        for (int i = 0; i < NV * kLanes / 2; ++i) {
            const int64_t j = 2 * i;
            if (j + 2 <= K)
                std::memcpy(&q[i], src + j, sizeof q[i]);
            else if (j < K)
                q[i] = V2{src[j], fill};
            else
                q[i] = V2{fill, fill};
        }
        for (int v = 0; v < NV; ++v) {
#if HPC_SIMD_LANES == 8
            const V4 lo = __builtin_shufflevector(q[4 * v], q[4 * v + 1], 0, 1, 2, 3);
            const V4 hi = __builtin_shufflevector(q[4 * v + 2], q[4 * v + 3], 0, 1, 2, 3);
            out[v] = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7);
#elif HPC_SIMD_LANES == 4
            out[v] = __builtin_shufflevector(q[2 * v], q[2 * v + 1], 0, 1, 2, 3);
#else
            out[v] = q[v];
#endif
        }
    }
}

// load_row for the scaled forward-backward: a Full row's loads unrolled, each into a vector. From 8 vectors a row
// (K 32 with AVX2) GCC made load_row's loop a copy through the stack in 16-byte moves, which the row's vectors then
// read back (a store forwarding that fails); this form made one thread's forward and backward 0.87x the time at K 16
// (D 4), 0.97x at K 32, 1.00x at K 8 and 64 (hmm_small_k_ab.cpp). Viterbi keeps load_row: with this form there too,
// the K 32 Gaussian decode measured 1.05-1.14x through the CLI, but so did a later build whose Viterbi code was the
// same instructions as the base's (this VM's noise between processes); not measured in one process.
template <int NV, bool Full>
HPC_INLINE void load_row_unrolled(const double* src, int64_t K, double fill, V (&out)[NV]) {
    if constexpr (Full) {
#pragma GCC unroll 32
        for (int v = 0; v < NV; ++v) {
            V x;
            std::memcpy(&x, src + v * kLanes, sizeof x);
            out[v] = x;
        }
    } else {
        load_row<NV, Full>(src, K, fill, out);
    }
}

template <int NV, bool Full>
HPC_INLINE void store_row(const V (&in)[NV], int64_t K, double* dst) {
    if constexpr (Full) {
        for (int v = 0; v < NV; ++v) std::memcpy(dst + v * kLanes, &in[v], sizeof in[v]);
    } else {
        double buf[NV * kLanes];
        std::memcpy(buf, in, sizeof in);
        // A fixed trip count with a test, not j < K: GCC made that loop a call to libc's memcpy, a call a row with
        // a vzeroupper and the row's vectors spilled around it. (vmath.cpp avoids the same conversion with
        // -fno-tree-loop-distribute-patterns; this loop does not depend on a build flag.)
        for (int j = 0; j < NV * kLanes; ++j)
            if (j < K) dst[j] = buf[j];
    }
}

// m[k] = row k of the K x K matrix M padded to NV vectors with zeros.
template <int NV>
std::unique_ptr<V[]> padded_rows(const double* M, int64_t K, bool transpose) {
    std::unique_ptr<V[]> m = zeroed(K * NV);
    double* d = reinterpret_cast<double*>(m.get());
    for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < K; ++j) d[k * NV * kLanes + j] = transpose ? M[j * K + k] : M[k * K + j];
    return m;
}

// Rows this far ahead of the one being computed are prefetched (each sequence walks its own rows, several sequences
// interleaved: more streams than the hardware prefetcher follows well, backwards above all).
constexpr int64_t kPrefetchRows = 16;

// Doubles in a 64-byte cache line (the step of the prefetches).
constexpr int kLineDoubles = 8;

template <int NV>
HPC_INLINE void prefetch_row(const double* row) {
    for (int j = 0; j < NV * kLanes; j += kLineDoubles) __builtin_prefetch(row + j);
}

// out = sum_k x[k] M[k] (x a K-vector, M K padded rows). Above 14 vectors a row the columns are done in two halves,
// each over every k: with 16 accumulators (K 64, AVX2: 16 registers) two lived on the stack, and their sums became a
// chain through memory, a load, an FMA and a store for every k. The same sums in the same order: the same bits. One
// thread's scaled forward and backward (hmm_small_k_ab.cpp): K 64 0.92x; halves at K 56 (14 vectors, which fit)
// 1.02x, so not there.
template <int NV, bool Full>
HPC_INLINE void vec_mat(const double* x, const V* M, int64_t K, V (&out)[NV]) {
    constexpr int64_t kFull = NV * kLanes;
    const int64_t n = Full ? kFull : K;
    constexpr int kPart = NV > 14 ? (NV + 1) / 2 : NV;
#pragma GCC unroll 2
    for (int v0 = 0; v0 < NV; v0 += kPart) {
        V acc[kPart];
        for (int v = 0; v < kPart; ++v) acc[v] = splat(0.0);
        for (int64_t k = 0; k < n; ++k) {
            const V xk = broadcast_from_memory(x + k);
            for (int v = 0; v < kPart; ++v)
                if (v0 + v < NV) acc[v] += xk * M[k * NV + v0 + v];
        }
        for (int v = 0; v < kPart; ++v)
            if (v0 + v < NV) out[v0 + v] = acc[v];
    }
}

// xi[k] += sum_t a[t, k] w[t] over rows t < rows (a [rows, K], w rows of K values w_stride apart, xi K padded rows):
// four rows of xi at a time, in registers, over chunks of 128 rows (a chunk of a and w stays in L1/L2 while the
// blocks of xi pass over it). (Two rows at a time above 4 vectors, to avoid spilling the 4 x NV accumulators,
// measured 10-20 % slower.)
template <int NV, bool Full>
HPC_INLINE void xi_rows(int64_t rows, int64_t K, const double* a, const double* w, int64_t w_stride, V* xi) {
    constexpr int64_t kChunk = 128;
    constexpr int QB = 4;
    for (int64_t t0 = 0; t0 < rows; t0 += kChunk) {
        const int64_t t1 = std::min(rows, t0 + kChunk);
        int64_t k0 = 0;
        for (; k0 + QB <= K; k0 += QB) {
            V acc[QB][NV];
            for (int q = 0; q < QB; ++q)
                for (int v = 0; v < NV; ++v) acc[q][v] = xi[(k0 + q) * NV + v];
            for (int64_t t = t0; t < t1; ++t) {
                const double* ar = a + t * K + k0;
                if constexpr (Full) {
                    // Each vector of w loaded where it is used (a row copied to a local array went through the
                    // stack in 16-byte moves at 8 vectors a row, the accumulators having taken the registers).
                    const double* wt = w + t * w_stride;
                    for (int q = 0; q < QB; ++q) {
                        const V x = broadcast_from_memory(ar + q);
                        for (int v = 0; v < NV; ++v) {
                            V wv;
                            std::memcpy(&wv, wt + v * kLanes, sizeof wv);
                            acc[q][v] += x * wv;
                        }
                    }
                } else {
                    V wr[NV];
                    load_row<NV, Full>(w + t * w_stride, K, 0.0, wr);
                    for (int q = 0; q < QB; ++q) {
                        const V x = broadcast_from_memory(ar + q);
                        for (int v = 0; v < NV; ++v) acc[q][v] += x * wr[v];
                    }
                }
            }
            for (int q = 0; q < QB; ++q)
                for (int v = 0; v < NV; ++v) xi[(k0 + q) * NV + v] = acc[q][v];
        }
        for (; k0 < K; ++k0) {
            V acc[NV];
            for (int v = 0; v < NV; ++v) acc[v] = xi[k0 * NV + v];
            for (int64_t t = t0; t < t1; ++t) {
                V wr[NV];
                load_row<NV, Full>(w + t * w_stride, K, 0.0, wr);
                const V x = broadcast_from_memory(a + t * K + k0);
                for (int v = 0; v < NV; ++v) acc[v] += x * wr[v];
            }
            for (int v = 0; v < NV; ++v) xi[k0 * NV + v] = acc[v];
        }
    }
}

// The accumulation of diag_stats over rows n in [0, rows): row n's posteriors loaded by gamma_row(n, g), its features
// at x_row(n); s [NV] += gamma, o1 [D * NV] += gamma x_d and o2 [D * NV] += gamma x_d^2, four rows per pass over the
// accumulators.
template <int NV, typename GammaRow, typename XRow>
HPC_INLINE void diag_stats_add(int64_t rows, int64_t D, GammaRow gamma_row, XRow x_row, V (&s)[NV], V* o1, V* o2) {
    int64_t n = 0;
    for (; n + 4 <= rows; n += 4) {
        V g[4][NV];
        for (int q = 0; q < 4; ++q) {
            gamma_row(n + q, g[q]);
            for (int v = 0; v < NV; ++v) s[v] += g[q][v];
        }
        const double *x0 = x_row(n), *x1 = x_row(n + 1), *x2 = x_row(n + 2), *x3 = x_row(n + 3);
        for (int64_t d = 0; d < D; ++d) {
            // Each feature broadcast as it is loaded and squared as a vector: one vector multiply where a scalar
            // multiply and two broadcasts from registers took three operations on the FP pipes (the same values).
            const V a0 = broadcast_from_memory(x0 + d), a1 = broadcast_from_memory(x1 + d),
                    a2 = broadcast_from_memory(x2 + d), a3 = broadcast_from_memory(x3 + d);
            const V b0 = a0 * a0, b1 = a1 * a1, b2 = a2 * a2, b3 = a3 * a3;
            for (int v = 0; v < NV; ++v) {
                o1[d * NV + v] += (g[0][v] * a0 + g[1][v] * a1) + (g[2][v] * a2 + g[3][v] * a3);
                o2[d * NV + v] += (g[0][v] * b0 + g[1][v] * b1) + (g[2][v] * b2 + g[3][v] * b3);
            }
        }
    }
    for (; n < rows; ++n) {
        V g[NV];
        gamma_row(n, g);
        for (int v = 0; v < NV; ++v) s[v] += g[v];
        const double* xr = x_row(n);
        for (int64_t d = 0; d < D; ++d) {
            const V a = broadcast_from_memory(xr + d), b = a * a;
            for (int v = 0; v < NV; ++v) {
                o1[d * NV + v] += g[v] * a;
                o2[d * NV + v] += g[v] * b;
            }
        }
    }
}

// ps [K], obs_t [D, K] and (unless nullptr) obs2_t [D, K] += the accumulators of diag_stats_add.
template <int NV>
HPC_INLINE void diag_stats_store(int64_t K, int64_t D, const V (&s)[NV], const V* o1, const V* o2, double* ps,
                                 double* obs_t, double* obs2_t) {
    const double* sd = reinterpret_cast<const double*>(s);
    for (int64_t k = 0; k < K; ++k) ps[k] += sd[k];
    for (int64_t d = 0; d < D; ++d) {
        const double* a = reinterpret_cast<const double*>(o1 + d * NV);
        const double* b = reinterpret_cast<const double*>(o2 + d * NV);
        for (int64_t k = 0; k < K; ++k) {
            obs_t[d * K + k] += a[k];
            if (obs2_t) obs2_t[d * K + k] += b[k];
        }
    }
}

// The posterior rows of a backward pass, staged kRows at a time and added to sink's statistics by diag_stats_add
// (so that the accumulators pass through memory once per four rows, not once per row); rows are the [N, D] rows of
// x they belong to. Does nothing without a sink.
template <int NV, bool Full>
struct StatsStage {
    static constexpr int64_t kRows = 32;
    const GaussianStatsSink* sink;
    int64_t K;
    std::unique_ptr<V[]> gamma, o1, o2;
    V s[NV];
    int64_t rows[kRows];
    int64_t n = 0;

    StatsStage(const GaussianStatsSink* sink_, int64_t K_) : sink(sink_), K(K_) {
        if (!sink) return;
        gamma = zeroed(kRows * NV);
        o1 = zeroed(sink->D * NV);
        o2 = zeroed(sink->D * NV);
        for (int v = 0; v < NV; ++v) s[v] = splat(0.0);
    }
    // Prefetches row r of x (the backward passes walk the rows backwards, several sequences side by side: the
    // hardware prefetcher missed most of them, which made the fused statistics slower than a separate pass).
    HPC_INLINE void prefetch(int64_t r) const {
        if (!sink) return;
        const double* xr = sink->x + r * sink->D;
        for (int64_t d = 0; d < sink->D; d += kLineDoubles) __builtin_prefetch(xr + d);
    }
    HPC_INLINE void add(int64_t r, const V (&p)[NV]) {
        if (!sink) return;
        for (int v = 0; v < NV; ++v) gamma[n * NV + v] = p[v];
        rows[n++] = r;
        if (n == kRows) flush(kRows);
    }
    // Adds the first count staged rows (count: n, a constant where it is known).
    HPC_INLINE void flush(int64_t count) {
        const int64_t D = sink->D;
        const double* x = sink->x;
        diag_stats_add<NV>(
            count, D, [&](int64_t q, V (&g)[NV]) { for (int v = 0; v < NV; ++v) g[v] = gamma[q * NV + v]; },
            [&](int64_t q) { return x + rows[q] * D; }, s, o1.get(), o2.get());
        n = 0;
    }
    // Adds the staged rows and the sums to sink->acc.
    void finish() {
        if (!sink) return;
        flush(n);
        const int64_t D = sink->D;
        diag_stats_store<NV>(K, D, s, o1.get(), o2.get(), sink->acc, sink->acc + K, sink->acc + K + K * D);
    }
};

// The scaled passes' factors b'_t = exp(logB_t - m_t), made for a block of steps of every active sequence before the
// recursion runs over that block (exp_np_inplace: independent chains side by side, a shorter path for normal
// results). Made inside the recursion, row by row, the exponentials and the step's own chain (the product with A,
// the sum, the scale) were one long loop body. The same operations on the same values: the same bits. With the
// backward's passes split the same way (below), one thread's forward and backward at K 8, D 1, 5 sequences of 10,000
// rows took 0.66x the time (0.61-0.92x from K 3 to 64; bench/compare/hmm_small_k_ab.cpp). Since 5444958 only the
// forward makes them; the backward's blocks are copied from the factors rows the forward stored (see forward).
template <int NV>
struct FactorBlock {
    // A block's rows fill up to this many bytes (in L2 while the passes read them back), at most kMaxSteps steps.
    // The backward adds its transition sums a block at a time, loading and storing the K x K sums once a block: at
    // K 64 blocks of 16 KiB (6 steps of 5 sequences) took 1.08x the time of the previous code (sums over whole
    // sequences), blocks of 64 KiB 0.84x; 128 KiB took 0.99-1.01x the time of 64 KiB from K 8 to 64.
    static constexpr int64_t kBytes = 65536;
    static constexpr int64_t kMaxSteps = 64;
    int64_t steps;  // steps a block
    std::unique_ptr<V[]> e;  // [n_seqs, steps, NV]: b' of sequence i at step t0 + dt
    std::vector<double> m;   // [n_seqs, steps]: m_t (forward: the rows' maxima)

    explicit FactorBlock(int64_t n_seqs)
        : steps(std::clamp<int64_t>(kBytes / (std::max<int64_t>(n_seqs, 1) * NV * (int64_t)sizeof(V)), 1, kMaxSteps)),
          e(zeroed(std::max<int64_t>(n_seqs, 1) * steps * NV)),
          m((size_t)(std::max<int64_t>(n_seqs, 1) * steps)) {}
    V* row(int64_t i, int64_t dt) { return e.get() + (i * steps + dt) * NV; }
};

template <int NV, bool Full>
HPC_INLINE bool forward(const SmallKGroup& g, int64_t K, const double* logB, const double* pi, const double* A,
                        double* alpha, double* row_scale, double* factors, double* seq_loglik) {
    const std::unique_ptr<V[]> Ap = padded_rows<NV>(A, K, false);
    V pip[NV];
    load_row<NV, false>(pi, K, 0.0, pip);
    const std::unique_ptr<V[]> prev = zeroed(g.n_seqs * NV);  // alpha_{t-1} of each active sequence
    std::vector<double> msum((size_t)g.n_seqs, 0.0);  // sum of the rows' maxima
    std::vector<int64_t> esum((size_t)g.n_seqs, 0);   // sum of the rows' binary exponents
    FactorBlock<NV> fb(g.n_seqs);
    // Each sequence's first row (g.row's two loads, a few times a row, were 6 % of the passes' instructions).
    std::vector<int64_t> first_row((size_t)g.n_seqs);
    for (int64_t i = 0; i < g.n_seqs; ++i) first_row[(size_t)i] = g.row(i, 0);
    for (int64_t t0 = 0; t0 < g.steps; t0 += fb.steps) {
        const int64_t t1 = std::min(g.steps, t0 + fb.steps);
        // The block's factors, each sequence's rows in order (one stream at a time).
        for (int64_t i = 0; i < g.active[t0]; ++i) {
            int64_t t = t0;
            for (; t < t1 && i < g.active[t]; ++t) {
                const int64_t r = first_row[(size_t)i] + t;
                if (i < g.active_at(t + kPrefetchRows)) prefetch_row<NV>(logB + (r + kPrefetchRows) * K);
                V lb[NV];
                load_row_unrolled<NV, Full>(logB + r * K, K, -kInf, lb);
                V mv = lb[0];
                for (int v = 1; v < NV; ++v) mv = vmax(mv, lb[v]);
                const double m = hmax(mv);
                if (!std::isfinite(m)) return false;
                V* e = fb.row(i, t - t0);
                for (int v = 0; v < NV; ++v) e[v] = lb[v] - m;
                fb.m[(size_t)(i * fb.steps + t - t0)] = m;
            }
            exp_np_inplace(fb.row(i, 0), (t - t0) * NV);
            // The factors kept for the backward pass (factors [N, K], unless nullptr), which made them again from logB
            // and the rows' maxima before: the same values, read back instead of a second round of exponentials.
            // bench/compare/hmm_small_k_ab.cpp (one thread's group of 5 sequences of 10,000 rows, forward and
            // backward with the statistics), the time against dc14de6: K 3 D 1 0.77x, K 5 D 4 0.80x, K 8 D 1 0.90x,
            // K 8 D 16 0.93x and 0.97x (T 1,000: 0.88x), K 16 D 4 0.96x, K 32 D 16 0.99x, K 64 D 4 1.00x; the same
            // bits (alpha, log-likelihoods, transition, start and Gaussian sums).
            if (factors)
                for (int64_t u = t0; u < t; ++u) {
                    const V* e = fb.row(i, u - t0);
                    V f[NV];
                    for (int v = 0; v < NV; ++v) f[v] = e[v];
                    store_row<NV, Full>(f, K, factors + (first_row[(size_t)i] + u) * K);
                }
        }
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t a = g.active[t];
            const int64_t a_next = g.active_at(t + 1);
            for (int64_t i = 0; i < a; ++i) {
                const int64_t r = first_row[(size_t)i] + t;
                V* pv = prev.get() + i * NV;
                V cur[NV];
                if (t == 0)
                    for (int v = 0; v < NV; ++v) cur[v] = pip[v];
                else
                    vec_mat<NV, Full>(reinterpret_cast<const double*>(pv), Ap.get(), K, cur);
                const V* e = fb.row(i, t - t0);
                const double m = fb.m[(size_t)(i * fb.steps + t - t0)];
                V cs = splat(0.0);
                for (int v = 0; v < NV; ++v) {
                    cur[v] *= e[v];
                    cs += cur[v];
                }
                const double c = hsum(cs);
                if (!(c >= kUnderflowLimit) || !std::isfinite(c)) return false;
                // Scaled by 2^-E, E the binary exponent of c, so that the row sums to [1, 2): exact, and no division or
                // log per step (they were most of this loop). c < 2 (the previous row sums to < 2, A's rows to 1, and
                // exp(logB - m) <= 1), so E <= 0.
                int64_t bits;
                std::memcpy(&bits, &c, sizeof bits);
                const int64_t E = ((bits >> 52) & 0x7ff) - 1023;
                const int64_t scale_bits = (1023 - E) << 52;
                double scale;
                std::memcpy(&scale, &scale_bits, sizeof scale);
                // The row stored from registers, not read back from pv: that copy went through 16-byte moves whose
                // upper-half loads waited on a failed store forwarding (AVX2, K 8: about a seventh of the pass).
                V scaled[NV];
                for (int v = 0; v < NV; ++v) pv[v] = scaled[v] = cur[v] * scale;
                if (alpha) store_row<NV, Full>(scaled, K, alpha + r * K);
                if (row_scale) row_scale[r] = scale;
                msum[(size_t)i] += m;
                esum[(size_t)i] += E;
                if (i >= a_next) {
                    // Last row of the sequence: log P(O) = sum m_t + ln 2 sum E_t + log(sum of the last scaled row).
                    V ps = pv[0];
                    for (int v = 1; v < NV; ++v) ps += pv[v];
                    seq_loglik[g.seqs[i]] =
                        msum[(size_t)i] + 0.69314718055994530942 * (double)esum[(size_t)i] + std::log(hsum(ps));
                }
            }
        }
    }
    return true;
}

template <int NV, bool Full>
HPC_INLINE void add_stats(const SmallKGroup& g, int64_t K, bool xi_after, const double* a_rows, const double* w_rows, V* xi,
                          const V (&st)[NV], double* xi_part, double* start_part);

// The backward passes' posterior row: p (summing to ps) scaled to sum 1 (against rounding), stored at out unless
// nullptr, and added to st at a sequence's first step.
template <int NV, bool Full>
HPC_INLINE void posterior_row(V (&p)[NV], V ps, int64_t K, double* out, bool first, V (&st)[NV]) {
    const double sum = hsum(ps);
    const double inv = sum > 0 ? 1.0 / sum : 0.0;
    for (int v = 0; v < NV; ++v) p[v] *= inv;
    if (out) store_row<NV, Full>(p, K, out);
    if (first)
        for (int v = 0; v < NV; ++v) st[v] += p[v];
}

template <int NV, bool Full>
HPC_INLINE void backward(const SmallKGroup& g, int64_t K, const double* A, const double* alpha, const double* row_scale,
                         const double* factors, double* posteriors, double* xi_part, double* start_part,
                         const GaussianStatsSink* stats) {
    const std::unique_ptr<V[]> Atp = padded_rows<NV>(A, K, true);
    StatsStage<NV, Full> stage(stats, K);
    // The transition statistics are added a block at a time, from the block's rows of w (below).
    const std::unique_ptr<V[]> next = zeroed(g.n_seqs * NV);  // b'_{t+1} beta_{t+1} s_{t+1} of each sequence
    const std::unique_ptr<V[]> xi = zeroed(K * NV);
    V st[NV];
    for (int v = 0; v < NV; ++v) st[v] = splat(0.0);
    FactorBlock<NV> fb(g.n_seqs), bb(g.n_seqs);  // a block's b' (then w) and beta (then posterior) rows
    // Each sequence's first row (g.row's two loads, a few times a row, were 6 % of the passes' instructions).
    std::vector<int64_t> first_row((size_t)g.n_seqs);
    for (int64_t i = 0; i < g.n_seqs; ++i) first_row[(size_t)i] = g.row(i, 0);
    std::vector<double> inv((size_t)(std::max<int64_t>(g.n_seqs, 1) * fb.steps + kLanes), 1.0);  // the rows' sums
    for (int64_t t1 = g.steps; t1 > 0; t1 -= fb.steps) {
        const int64_t t0 = std::max<int64_t>(0, t1 - fb.steps);
        // The block's factors b'_t (t >= 1: the first step has none, the forward pass made them), each sequence's
        // rows in order.
        for (int64_t i = 0; i < g.active[t0]; ++i) {
            const int64_t first = std::max<int64_t>(t0, 1);
            int64_t t = first;
            for (; t < t1 && i < g.active[t]; ++t) {
                const int64_t r = first_row[(size_t)i] + t;
                if (t >= fb.steps) prefetch_row<NV>(factors + (r - fb.steps) * K);  // the next block's row
                V f[NV];
                load_row_unrolled<NV, Full>(factors + r * K, K, 0.0, f);
                V* e = fb.row(i, t - t0);
                for (int v = 0; v < NV; ++v) e[v] = f[v];
            }
        }
        // The recursion alone: beta_t from the next row's w, then w_t = b'_t beta_t s_t (in place of b'_t).
        for (int64_t t = t1 - 1; t >= t0; --t) {
            const int64_t a = g.active[t];
            const int64_t a_next = g.active_at(t + 1);
            for (int64_t i = 0; i < a; ++i) {
                const int64_t r = first_row[(size_t)i] + t;
                V* nx = next.get() + i * NV;
                V beta[NV];
                if (i < a_next) {
                    vec_mat<NV, Full>(reinterpret_cast<const double*>(nx), Atp.get(), K, beta);
                } else {
                    // Last row: beta = 1 / (sum of the scaled forward row), which makes alpha_t beta_t the posteriors
                    // at every t whatever the scale factors.
                    V al[NV];
                    load_row_unrolled<NV, Full>(alpha + r * K, K, 0.0, al);
                    V s = al[0];
                    for (int v = 1; v < NV; ++v) s += al[v];
                    const double b = 1.0 / hsum(s);
                    for (int v = 0; v < NV; ++v) beta[v] = splat(b);
                }
                V* bt = bb.row(i, t - t0);
                for (int v = 0; v < NV; ++v) bt[v] = beta[v];
                if (t == 0) continue;
                V* e = fb.row(i, t - t0);
                const double sc = row_scale[r];
                for (int v = 0; v < NV; ++v) nx[v] = e[v] = e[v] * beta[v] * sc;
            }
        }
        // The block's posteriors alpha_t beta_t (in place of beta) and their sums, in the recursion's order.
        int64_t n = 0;
        for (int64_t t = t1 - 1; t >= t0; --t) {
            const int64_t a = g.active[t];
            for (int64_t i = 0; i < a; ++i) {
                const int64_t r = first_row[(size_t)i] + t;
                if (t >= kPrefetchRows) prefetch_row<NV>(alpha + (r - kPrefetchRows) * K);
                V* p = bb.row(i, t - t0);
                V al[NV];
                load_row_unrolled<NV, Full>(alpha + r * K, K, 0.0, al);
                V ps = splat(0.0);
                for (int v = 0; v < NV; ++v) {
                    p[v] = al[v] * p[v];
                    ps += p[v];
                }
                inv[(size_t)n++] = hsum(ps);
            }
        }
        // Their reciprocals, a vector at a time (perf put about a tenth of the pass on a division a row).
        for (int64_t q = 0; q < n; q += kLanes) {
            V sum;
            std::memcpy(&sum, &inv[(size_t)q], sizeof sum);
            const V r = sum > splat(0.0) ? splat(1.0) / sum : splat(0.0);
            std::memcpy(&inv[(size_t)q], &r, sizeof r);
        }
        // The rows scaled to sum 1 (against rounding), stored, and added to the statistics, in the same order.
        n = 0;
        for (int64_t t = t1 - 1; t >= t0; --t) {
            const int64_t a = g.active[t];
            for (int64_t i = 0; i < a; ++i) {
                const int64_t r = first_row[(size_t)i] + t;
                if (t >= kPrefetchRows) stage.prefetch(r - kPrefetchRows);
                const V* pb = bb.row(i, t - t0);
                const double s = inv[(size_t)n++];
                V p[NV];
                for (int v = 0; v < NV; ++v) p[v] = pb[v] * s;
                if (posteriors) store_row<NV, Full>(p, K, posteriors + r * K);
                if (t == 0)
                    for (int v = 0; v < NV; ++v) st[v] += p[v];
                stage.add(r, p);
            }
        }
        // The block's transition statistics: alpha_{t-1}^T w_t over each sequence's rows t >= 1 of the block, in
        // register blocks. (Up to 8 states they were added row by row in the pass above, the K x NV sums through
        // memory from each row to the next; taken out, the backward pass took about 0.85x the time at K 8, perf
        // samples. Above 8 states the rows of w were stored in w_rows [N, K] and summed after the pass: at K 32 the
        // stores and reads of those rows, from and to memory, were a fifth of the pass.)
        if (xi_part)
            for (int64_t i = 0; i < g.active[t0]; ++i) {
                const int64_t first = std::max<int64_t>(t0, 1);
                int64_t t = first;
                while (t < t1 && i < g.active[t]) ++t;
                if (t > first)
                    xi_rows<NV, Full>(t - first, K, alpha + (first_row[(size_t)i] + first - 1) * K,
                                      reinterpret_cast<const double*>(fb.row(i, first - t0)), NV * kLanes, xi.get());
            }
    }
    stage.finish();
    add_stats<NV, Full>(g, K, false, alpha, nullptr, xi.get(), st, xi_part, start_part);
}

// The backward passes' last part: with xi_after, xi += sum_t a_t^T w_{t+1} over each sequence's stored rows
// (xi_rows); then xi_part [K, K] += xi and start_part [K] += st (each nullptr: not asked for).
template <int NV, bool Full>
HPC_INLINE void add_stats(const SmallKGroup& g, int64_t K, bool xi_after, const double* a_rows, const double* w_rows, V* xi,
                          const V (&st)[NV], double* xi_part, double* start_part) {
    if (xi_after)
        for (int64_t i = 0; i < g.n_seqs; ++i) {
            const int64_t s = g.seqs[i], r0 = g.start[s];
            int64_t T = 0;
            while (T < g.steps && g.active[T] > i) ++T;
            xi_rows<NV, Full>(T - 1, K, a_rows + r0 * K, w_rows + (r0 + 1) * K, K, xi);
        }
    if (xi_part) {
        const double* x = reinterpret_cast<const double*>(xi);
        for (int64_t k = 0; k < K; ++k)
            for (int64_t j = 0; j < K; ++j) xi_part[k * K + j] += x[k * NV * kLanes + j];
    }
    if (start_part) {
        const double* s = reinterpret_cast<const double*>(st);
        for (int64_t j = 0; j < K; ++j) start_part[j] += s[j];
    }
}

// Whether a log-space pass's product row (prod, its lanes from K on 0) lost a term to underflow: a cheap test of the
// row's smallest product against kUnderflowLimit (true products of 0 pass it only where some state is unreachable),
// then product_underflowed (hmm_small_k.h) on the lanes below it. prev: the row the product came from, before its
// shift (forward: la_{t-1}; backward: logB_{t+1} + log beta_{t+1}).
template <int NV>
HPC_INLINE bool row_underflowed(const V (&prod)[NV], const V (&pad)[NV], const V* prev, const double* A, int64_t K,
                                bool forward) {
    V mn = prod[0] + pad[0];
    for (int v = 1; v < NV; ++v) {
        const V x = prod[v] + pad[v];
        mn = x < mn ? x : mn;
    }
    if (!(-hmax(-mn) < kUnderflowLimit)) return false;
    const double* pv = reinterpret_cast<const double*>(prev);
    return product_underflowed(K, reinterpret_cast<const double*>(prod), [&](int64_t k) { return pv[k]; }, A, forward);
}

// 0 in lanes below K, 1 from K on (added to a product row before row_underflowed's test).
template <int NV>
HPC_INLINE void padding_ones(int64_t K, V (&pad)[NV]) {
    double buf[NV * kLanes];
    for (int j = 0; j < NV * kLanes; ++j) buf[j] = j < K ? 0.0 : 1.0;
    std::memcpy(pad, buf, sizeof pad);
}

// The log-space forward of a group, as forward_log in hmm_cpu.cpp: la_t = shift + log(exp(la_{t-1} - shift) A) +
// logB_t, the shift being the previous row's maximum; la [N, K] stored unless nullptr; seq_loglik [S] (-inf for an
// impossible sequence). Returns false if a product underflowed (row_underflowed).
template <int NV, bool Full>
HPC_INLINE bool forward_log(const SmallKGroup& g, int64_t K, const double* logB, const double* pi, const double* A,
                            double* la_out, double* seq_loglik) {
    const std::unique_ptr<V[]> Ap = padded_rows<NV>(A, K, false);
    V pad[NV];
    padding_ones<NV>(K, pad);
    const std::unique_ptr<V[]> prev_la = zeroed(g.n_seqs * NV);  // la_{t-1} of each active sequence
    double lpi_buf[NV * kLanes];
    for (int j = 0; j < NV * kLanes; ++j) lpi_buf[j] = j < K ? std::log(pi[j]) : -kInf;
    V lpi[NV];
    std::memcpy(lpi, lpi_buf, sizeof lpi);
    const std::unique_ptr<V[]> prev = zeroed(g.n_seqs * NV);  // exp(la_{t-1} - shift) of each active sequence
    std::vector<double> shift((size_t)g.n_seqs, 0.0);
    for (int64_t t = 0; t < g.steps; ++t) {
        const int64_t a = g.active[t];
        const int64_t a_next = g.active_at(t + 1);
        for (int64_t i = 0; i < a; ++i) {
            const int64_t r = g.row(i, t);
            if (i < g.active_at(t + kPrefetchRows)) prefetch_row<NV>(logB + (r + kPrefetchRows) * K);
            V* pv = prev.get() + i * NV;
            V lb[NV], la[NV];
            load_row<NV, Full>(logB + r * K, K, -kInf, lb);
            if (t == 0) {
                for (int v = 0; v < NV; ++v) la[v] = lpi[v] + lb[v];
            } else {
                V prod[NV];
                vec_mat<NV, Full>(reinterpret_cast<const double*>(pv), Ap.get(), K, prod);
                if (row_underflowed<NV>(prod, pad, prev_la.get() + i * NV, A, K, true)) return false;
                const V sh = splat(shift[(size_t)i]);
                for (int v = 0; v < NV; ++v) la[v] = (sh + log_nn(prod[v])) + lb[v];
            }
            for (int v = 0; v < NV; ++v) prev_la[i * NV + v] = la[v];
            if (la_out) store_row<NV, Full>(la, K, la_out + r * K);
            V mv = la[0];
            for (int v = 1; v < NV; ++v) mv = vmax(mv, la[v]);
            const double m = hmax(mv);
            shift[(size_t)i] = m;
            const bool finite = std::isfinite(m);
            V es = splat(0.0);
            for (int v = 0; v < NV; ++v) {
                pv[v] = finite ? exp_np(la[v] - m) : splat(0.0);
                es += pv[v];
            }
            if (i >= a_next) seq_loglik[g.seqs[i]] = finite ? m + std::log(hsum(es)) : -kInf;
        }
    }
    return true;
}

// The log-space backward of a group after forward_log stored la, as backward_log and the posterior and statistics
// passes in hmm_cpu.cpp: log beta_t = v_{t+1} + log(A q_{t+1}) with q_t = exp(logB_t + log beta_t - v_t), v_t that
// row's maximum; posteriors exp(la + log beta - max) normalised; xi_part [K, K] += sum_t exp(la_{t-1} + v_t - ll)^T q_t
// (before the product with A). a_rows and w_rows [N, K]: scratch (used when xi_part is asked for and K > 8). Returns
// false if a product underflowed (row_underflowed) or M + v_t - ll passed kXiShiftLimit.
template <int NV, bool Full>
HPC_INLINE bool backward_log(const SmallKGroup& g, int64_t K, const double* logB, const double* A, const double* la,
                             const double* seq_loglik, double* posteriors, double* xi_part, double* start_part,
                             double* a_rows, double* w_rows, const GaussianStatsSink* stats) {
    const std::unique_ptr<V[]> Atp = padded_rows<NV>(A, K, true);
    V pad[NV];
    padding_ones<NV>(K, pad);
    const std::unique_ptr<V[]> prev_y = zeroed(g.n_seqs * NV);  // logB_{t+1} + log beta_{t+1} of each sequence
    StatsStage<NV, Full> stage(stats, K);
    const bool xi_in_loop = xi_part && NV * kLanes <= 8;  // as in backward
    const bool xi_after = xi_part && NV * kLanes > 8;
    const std::unique_ptr<V[]> next = zeroed(g.n_seqs * NV);  // q_{t+1} of each sequence
    std::vector<double> vt((size_t)g.n_seqs, 0.0);             // v_{t+1}
    const std::unique_ptr<V[]> xi = zeroed(K * NV);
    V st[NV];
    for (int v = 0; v < NV; ++v) st[v] = splat(0.0);
    for (int64_t t = g.steps - 1; t >= 0; --t) {
        const int64_t a = g.active[t];
        const int64_t a_next = g.active_at(t + 1);
        for (int64_t i = 0; i < a; ++i) {
            const int64_t s = g.seqs[i];
            const int64_t r = g.start[s] + t;
            if (t >= kPrefetchRows) {
                prefetch_row<NV>(logB + (r - kPrefetchRows) * K);
                prefetch_row<NV>(la + (r - kPrefetchRows) * K);
                stage.prefetch(r - kPrefetchRows);
            }
            V* nx = next.get() + i * NV;
            V br[NV], lr[NV], x[NV], p[NV];
            if (i < a_next) {
                V prod[NV];
                vec_mat<NV, Full>(reinterpret_cast<const double*>(nx), Atp.get(), K, prod);
                if (row_underflowed<NV>(prod, pad, prev_y.get() + i * NV, A, K, false)) return false;
                const V sh = splat(vt[(size_t)i]);
                for (int v = 0; v < NV; ++v) br[v] = sh + log_nn(prod[v]);
            } else {
                for (int v = 0; v < NV; ++v) br[v] = splat(0.0);
            }
            load_row<NV, Full>(la + r * K, K, -kInf, lr);
            V xm = x[0] = lr[0] + br[0];
            for (int v = 1; v < NV; ++v) xm = vmax(xm, x[v] = lr[v] + br[v]);
            const double mx = hmax(xm);
            V ps = splat(0.0);
            for (int v = 0; v < NV; ++v) {
                p[v] = std::isfinite(mx) ? exp_np(x[v] - mx) : splat(0.0);
                ps += p[v];
            }
            posterior_row<NV, Full>(p, ps, K, posteriors ? posteriors + r * K : nullptr, t == 0, st);
            stage.add(r, p);
            if (t == 0) continue;
            V lb[NV], y[NV];
            load_row<NV, Full>(logB + r * K, K, -kInf, lb);
            V ym = y[0] = lb[0] + br[0];
            for (int v = 1; v < NV; ++v) ym = vmax(ym, y[v] = lb[v] + br[v]);
            const double m = hmax(ym);
            vt[(size_t)i] = m;
            V w[NV];
            for (int v = 0; v < NV; ++v) {
                nx[v] = w[v] = std::isfinite(m) ? exp_np(y[v] - m) : splat(0.0);
                prev_y[i * NV + v] = y[v];
            }
            if (!xi_part) continue;
            // exp(la_{t-1} + v_t - ll) = exp(la_{t-1} - M) exp(M + v_t - ll), M the row's maximum (exp_np takes
            // arguments <= 0 only).
            V lp[NV], ap[NV];
            load_row<NV, Full>(la + (r - 1) * K, K, -kInf, lp);
            V pm = lp[0];
            for (int v = 1; v < NV; ++v) pm = vmax(pm, lp[v]);
            const double M = hmax(pm);
            if (M + m - seq_loglik[s] > kXiShiftLimit) return false;
            const double f = std::isfinite(M) && std::isfinite(m) ? std::exp(M + m - seq_loglik[s]) : 0.0;
            for (int v = 0; v < NV; ++v) ap[v] = f != 0.0 ? exp_np(lp[v] - M) * f : splat(0.0);
            if (xi_after) {
                store_row<NV, Full>(ap, K, a_rows + (r - 1) * K);
                store_row<NV, Full>(w, K, w_rows + r * K);
            }
            if (xi_in_loop) {
                const double* ad = reinterpret_cast<const double*>(ap);
                for (int64_t k = 0; k < K; ++k) {
                    const V c = broadcast_from_memory(ad + k);
                    for (int v = 0; v < NV; ++v) xi[k * NV + v] += c * nx[v];
                }
            }
        }
    }
    stage.finish();
    add_stats<NV, Full>(g, K, xi_after, a_rows, w_rows, xi.get(), st, xi_part, start_part);
    return true;
}

// The diagonal Gaussian terms as padded vectors, scaled so that a row's log-density is a sum of FMAs:
// mu[d * NV + v] = muinv_t[d, k], iv[d * NV + v] = -0.5 inv_t[d, k], cp = -0.5 c (lanes from K on zero).
template <int NV>
struct DiagTerms {
    std::unique_ptr<V[]> mu, iv;
    V cp[NV];
    DiagTerms(int64_t K, int64_t D, const double* c, const double* muinv_t, const double* inv_t)
        : mu(zeroed(D * NV)), iv(zeroed(D * NV)) {
        for (int64_t d = 0; d < D; ++d) {
            double* m = reinterpret_cast<double*>(mu.get() + d * NV);
            double* s = reinterpret_cast<double*>(iv.get() + d * NV);
            for (int64_t k = 0; k < K; ++k) {
                m[k] = muinv_t[d * K + k];
                s[k] = -0.5 * inv_t[d * K + k];
            }
        }
        load_row<NV, false>(c, K, 0.0, cp);
        for (int v = 0; v < NV; ++v) cp[v] *= -0.5;
    }
};

// One row's diagonal Gaussian log-densities, -0.5 (c - 2 x . muinv + x^2 . inv) = cp + x . mu + x^2 . iv with the
// terms above, as two chains of FMAs (x . mu and x^2 . iv, the features in order) added at the end: two vector
// operations per feature where the unscaled form took three. The one sequence of operations of diag_loglik and the
// fused Viterbi below, so both give the same bits. Each feature is broadcast as it is loaded and squared as a vector
// (splat(x) and splat(x * x) were four operations on the FP pipes, a scalar add, a scalar multiply and two
// broadcasts from registers, beside the four FMAs at K 8). The same values: x * x is the same product in a vector,
// and splat's 0.0 + x differs from x only for x = -0.0, where a * mu is a zero of either sign added into o: the
// chains' results then differ at most in the sign of a zero o, and o + q does not depend on that (q starts at +0 and
// adds terms b * iv <= 0, so it is +0 or nonzero). hmm_small_k_ab.cpp fused, K 8, one thread: D 16 0.90-0.96x the
// time, D 4 0.94x, D 1 0.96x; the diagonal statistics (diag_stats_add, the same change) with the forward and
// backward at K 8 D 16 0.96x; the same paths, log-probabilities and sums, bit for bit (on that harness's data, which
// has no -0.0).
template <int NV>
HPC_INLINE void diag_loglik_row(const double* xr, int64_t D, const DiagTerms<NV>& t, V (&o)[NV]) {
    V q[NV];
    for (int v = 0; v < NV; ++v) {
        o[v] = t.cp[v];
        q[v] = V{};
    }
    for (int64_t d = 0; d < D; ++d) {
        const V a = broadcast_from_memory(xr + d), b = a * a;
        for (int v = 0; v < NV; ++v) {
            o[v] = a * t.mu[d * NV + v] + o[v];
            q[v] = b * t.iv[d * NV + v] + q[v];
        }
    }
    for (int v = 0; v < NV; ++v) o[v] += q[v];
}

// Diagonal Gaussian log-densities of rows [0, rows), as diag_loglik_rows in hmm_cpu.cpp (the same formula, rounded
// differently: diag_loglik_row's FMAs; up to 2.3e-15 relative apart), with each row's K values in registers (the
// general loop added into the output row once per feature: a load and a store per feature, and those stores missed
// the cache on a fresh output buffer).
template <int NV, bool Full>
HPC_INLINE void diag_loglik(int64_t rows, int64_t K, int64_t D, const double* x, const double* c, const double* muinv_t,
                            const double* inv_t, double* out) {
    const DiagTerms<NV> t(K, D, c, muinv_t, inv_t);
    for (int64_t n = 0; n < rows; ++n) {
        V o[NV];
        diag_loglik_row<NV>(x + n * D, D, t, o);
        store_row<NV, Full>(o, K, out + n * K);
    }
}

// Sufficient statistics of rows [0, rows), as diag_stats_rows in hmm_cpu.cpp (ps [K], obs_t and obs2_t [D, K] added
// to), with the rows' posteriors in registers, four rows per pass over the accumulators.
template <int NV, bool Full>
HPC_INLINE void diag_stats(int64_t rows, int64_t K, int64_t D, const double* x, const double* gamma, double* ps,
                           double* obs_t, double* obs2_t) {
    const std::unique_ptr<V[]> o1 = zeroed(D * NV), o2 = zeroed(D * NV);
    V s[NV];
    for (int v = 0; v < NV; ++v) s[v] = splat(0.0);
    diag_stats_add<NV>(
        rows, D, [&](int64_t n, V (&g)[NV]) { load_row<NV, Full>(gamma + n * K, K, 0.0, g); },
        [&](int64_t n) { return x + n * D; }, s, o1.get(), o2.get());
    diag_stats_store<NV>(K, D, s, o1.get(), o2.get(), ps, obs_t, obs2_t);
}

// max(c, cand): the value is the larger candidate whichever of two equal ones is kept (no NaN reaches here: scores
// are finite or -inf), so the maxima below may be taken in any order and still give the same bits.
HPC_INLINE V vmax(V c, V cand) { return cand > c ? cand : c; }

// Stores a row of scores with non-temporal stores where there are (SSE2's, in every x86-64 clone): the rows are
// read again only by the backtrack, long after, so they need not be read into the cache before being written (at
// K 64 that read was a third of the memory traffic; the standalone loop, one thread: 120-123 -> 108.5-111 ns a row).
template <int NV>
HPC_INLINE void stream_row(const V (&row)[NV], double* dst) {
#if defined(__SSE2__)
    const double* src = reinterpret_cast<const double*>(row);
    for (int j = 0; j < NV * kLanes; j += 2) _mm_stream_pd(dst + j, _mm_loadu_pd(src + j));
#else
    std::memcpy(dst, row, sizeof row);
#endif
}

// Where the Viterbi kernels get row r's K emission log-densities (lanes from K on -inf): read from the [N, K] array
// log_emission ...
template <int NV, bool Full>
struct StoredRows {
    const double* logB;
    int64_t K;
    HPC_INLINE void operator()(int64_t r, V (&out)[NV]) const {
        load_row_unrolled<NV, Full>(logB + r * K, K, -kInf, out);
    }
    HPC_INLINE void prefetch(int64_t r) const { prefetch_row<NV>(logB + r * K); }
};

// ... or computed from the observations x [N, D] as they are needed (diagonal Gaussian emissions): no [N, K] array is
// written, validated and read back (at K 64, 100,000 rows: 51 MB each way). The values are diag_loglik's, bit for bit.
// ok: lanes cleared by a density that is NaN or +inf (hpc_hmm_viterbi refuses those; the caller checks all_ok()).
template <int NV, bool Full>
struct DiagGaussianRows {
    const double* x;
    int64_t D, K;
    const DiagTerms<NV>& t;
    VI ok = VI{} - 1;
    HPC_INLINE void operator()(int64_t r, V (&out)[NV]) {
        diag_loglik_row<NV>(x + r * D, D, t, out);
        if constexpr (!Full) {  // lanes from K on -inf, as load_row fills them
            double buf[NV * kLanes];
            std::memcpy(buf, out, sizeof out);
            for (int j = (int)K; j < NV * kLanes; ++j) buf[j] = -kInf;
            std::memcpy(out, buf, sizeof out);
        }
        for (int v = 0; v < NV; ++v) ok &= out[v] < kInf;
    }
    HPC_INLINE void prefetch(int64_t r) const {
        for (int64_t d = 0; d < D; d += kLineDoubles) __builtin_prefetch(x + r * D + d);
    }
    bool all_ok() const {
        for (int j = 0; j < kLanes; ++j)
            if (!ok[j]) return false;
        return true;
    }
};

// ... or looked up (categorical emissions): row r's log-probabilities are row symbols[r] of a table [M, W] of
// log(emissionprob) transposed, W = 8 ceil(K / 8) (one row a full set of vectors), the lanes from K on -inf as
// load_row fills them: no [N, K] array is written and read back (at K 64, 100,000 rows: 51 MB each way). The values
// are hpc_hmm_categorical_loglik's, so the paths and log-probabilities are those of the two calls, bit for bit.
template <int NV, bool Full>
struct CategoricalRows {
    const int64_t* symbols;
    const double* table;
    HPC_INLINE void operator()(int64_t r, V (&out)[NV]) const {
        load_row<NV, true>(table + symbols[r] * (NV * kLanes), NV * kLanes, -kInf, out);
    }
    HPC_INLINE void prefetch(int64_t) const {}  // the table (M x W doubles) stays in L1 / L2
};

// One Viterbi step of a sequence whose previous scores are p [K]: out = max_k (p[k] + log A[k, .]) + lb, for one or
// two sequences at once (each row of log A loaded once for both). Fma: the sums are written x * 1 + y (exact: the
// same bits as x + y) so that, contracted to an FMA, they run on the FMA pipes beside the maxima (bench/compare/
// viterbi_step_loop.cpp, K 64, one thread: 156-158 ns a row with adds, 131-132 with FMAs, 120-123 with two sequences).
template <int NV, bool Full, bool Fma, int Seqs, typename Rows>
HPC_INLINE void viterbi_step(const double* const (&p)[Seqs], const V* LA, int64_t K, V one, Rows& rows,
                             const int64_t (&r)[Seqs], double* const (&keep)[Seqs], double* const (&out)[Seqs]) {
    V c[Seqs][NV];
    for (int s = 0; s < Seqs; ++s) {
        const V p0 = splat(p[s][0]);
        for (int v = 0; v < NV; ++v) c[s][v] = p0 + LA[v];
    }
    const int64_t kn = Full ? NV * kLanes : K;
    for (int64_t k = 1; k < kn; ++k) {
        V pk[Seqs];
        for (int s = 0; s < Seqs; ++s) pk[s] = broadcast_from_memory(p[s] + k);
        for (int v = 0; v < NV; ++v) {
            const V la = LA[k * NV + v];
            for (int s = 0; s < Seqs; ++s) c[s][v] = vmax(c[s][v], Fma ? la * one + pk[s] : la + pk[s]);
        }
    }
    for (int s = 0; s < Seqs; ++s) {
        V l[NV];
        rows(r[s], l);
        for (int v = 0; v < NV; ++v) c[s][v] += l[v];
        for (int v = 0; v < NV; ++v) std::memcpy(keep[s] + v * kLanes, &c[s][v], sizeof c[s][v]);
        stream_row<NV>(c[s], out[s]);
    }
}

HPC_INLINE VI vmin(VI a, VI b) { return b < a ? b : a; }

// op (a maximum or a minimum) of all of m's lanes, in every lane.
template <typename T, typename Op>
HPC_INLINE T across_lanes(T m, Op op) {
#if HPC_SIMD_LANES == 8
    m = op(m, __builtin_shufflevector(m, m, 1, 0, 3, 2, 5, 4, 7, 6));
    m = op(m, __builtin_shufflevector(m, m, 2, 3, 0, 1, 6, 7, 4, 5));
    return op(m, __builtin_shufflevector(m, m, 4, 5, 6, 7, 0, 1, 2, 3));
#elif HPC_SIMD_LANES == 4
    m = op(m, __builtin_shufflevector(m, m, 1, 0, 3, 2));
    return op(m, __builtin_shufflevector(m, m, 2, 3, 0, 1));
#else
    return op(m, __builtin_shufflevector(m, m, 1, 0));
#endif
}

// 0, 1, ..., kLanes - 1.
HPC_INLINE VI lane_indices() {
    VI l = VI{};
    for (int j = 0; j < kLanes; ++j) l[j] = j;
    return l;
}

// The first k attaining max_k (d[k] + col[k]) over the NV vectors of d and col (padded lanes -inf in d).
template <int NV>
HPC_INLINE int64_t first_argmax_of_sum(const double* d, const V* col) {
    V cand[NV];
    V m = splat(-kInf);
    for (int v = 0; v < NV; ++v) {
        V dv;
        std::memcpy(&dv, d + v * kLanes, sizeof dv);
        cand[v] = dv + col[v];
        m = vmax(m, cand[v]);
    }
    m = across_lanes(m, [](V a, V b) { return vmax(a, b); });
    // the smallest index of a lane equal to it, without a branch per lane (mispredicted: the argmax moves)
    const VI lanes = lane_indices();
    VI idx = VI{} + NV * kLanes;
    for (int v = 0; v < NV; ++v) {
        const VI at = lanes + v * kLanes;
        const VI k = cand[v] == m ? at : VI{} + NV * kLanes;
        idx = k < idx ? k : idx;
    }
    return across_lanes(idx, [](VI a, VI b) { return vmin(a, b); })[0];
}

// *x in every lane, for the back-pointer Viterbi step. With AVX-512 (as measured there): at exactly one vector of
// states (8) a vector constructor, which GCC makes one permute of the row just computed (the loop over the candidates
// unrolled): splat's V{} + x is a scalar add then a broadcast, two operations a candidate where the step has about
// six. Elsewhere splat: with a run-time count of candidates (K 1-7) the constructor measured 2x slower, and above one
// vector GCC 12 made it a load and a permute per lane, K 16-64 1.2-1.9x slower
// (bench/results/2026-11-23-viterbi-back-pointer-rows.md). With narrower vectors a broadcast load
// (broadcast_from_memory). The same sums every way: x + y and (0.0 + x) + y differ only for x = y = -0.0, and log A
// has no -0.0.
template <int NV, bool Full>
HPC_INLINE V broadcast(const double* x) {
#if HPC_SIMD_LANES == 8
    if constexpr (NV == 1 && Full) {
        const double y = *x;
        return V{y, y, y, y, y, y, y, y};
    } else {
        return splat(*x);
    }
#else
    return broadcast_from_memory(x);
#endif
}

// Up to this many states Viterbi keeps back pointers; above, the scores (see viterbi) up to kViterbiScoreStates, and
// above that pruned steps with back pointers again. Also with AVX2: at 8 there,
// K 12 and 16 took 1.04-1.05x the time (hpc_hmm_viterbi, 100,000 rows, two threads).
constexpr int kViterbiBackPointerStates = kSmallKViterbiBackPointerStates;
static_assert(kViterbiBackPointerStates <= 256, "back pointers are stored as bytes");
// Up to this many states (above kViterbiBackPointerStates) the score pass (viterbi_pass); above, the pruned steps with
// back pointers (viterbi_pruned). With AVX2 (Zen 3; hmm_small_k_ab.cpp viterbi, one thread, hpc bench hmm's decode
// model, D 1 and 4, time of pruned / the score pass): K 64 0.43-0.64, 48 0.56-0.88, 40 0.63-0.93, 33 0.75-1.01, 32
// 0.75-0.89, but K 24 1.00-1.37 and 20 1.14-1.42 (there the bounds cost about as much as every candidate).
// AVX-512 and SSE2: not measured, the same rule.
constexpr int kViterbiScoreStates = kSmallKViterbiScoreStates;

// Whether the score pass writes its sums as FMAs (viterbi_step): with AVX-512, where x * 1 + y is one FMA. Without
// FMA it would be two operations.
#if HPC_SMALL_K_ISA == 1 || (HPC_SMALL_K_ISA == 0 && defined(__AVX512F__))
constexpr bool kViterbiScoresWithFma = true;
#else
constexpr bool kViterbiScoresWithFma = false;
#endif

// Emission rows prefetched this many steps ahead of the one or two sequences' steps.
constexpr int64_t kViterbiPrefetchRows = 4;

// op over x[0 .. N), pairwise (a tree: log2 N operations deep, not N - 1).
template <int N, typename T, typename Op>
HPC_INLINE T tree(const T (&x)[N], Op op) {
    if constexpr (N == 1) {
        return x[0];
    } else {
        T y[(N + 1) / 2];
        for (int i = 0; i < N / 2; ++i) y[i] = op(x[2 * i], x[2 * i + 1]);
        if constexpr (N % 2 == 1) y[N / 2] = x[N - 1];
        return tree<(N + 1) / 2>(y, op);
    }
}

// Bit j set where lane j of the comparison m is true (all ones).
HPC_INLINE unsigned lane_bits(VI m) {
#if (defined(__x86_64__) || defined(__i386__)) && HPC_SIMD_LANES == 8
    return _mm512_test_epi64_mask((__m512i)m, (__m512i)m);
#elif (defined(__x86_64__) || defined(__i386__)) && HPC_SIMD_LANES == 4
    return (unsigned)_mm256_movemask_pd((__m256d)m);
#elif defined(__SSE2__)
    return (unsigned)_mm_movemask_pd((__m128d)m);
#else
    unsigned b = 0;
    for (int j = 0; j < kLanes; ++j) b |= (m[j] != 0 ? 1u : 0u) << j;
    return b;
#endif
}

// kLaneLists.list[b]: the indices of b's set bits, lowest first, one a byte (the rest 0).
struct LaneLists {
    uint64_t list[1 << kLanes];
    constexpr LaneLists() : list() {
        for (unsigned b = 0; b < (1u << kLanes); ++b) {
            int n = 0;
            for (int j = 0; j < kLanes; ++j)
                if (b >> j & 1) list[b] |= (uint64_t)j << (8 * n++);
        }
    }
};
constexpr LaneLists kLaneLists;

// What the pruned Viterbi step (viterbi_step_pruned) needs of log A beside its rows: the diagonal, and for each
// column j the largest entry off the diagonal, max_{i != j} log A[i, j], with the lanes j where that is finite.
template <int NV>
struct ViterbiBounds {
    V diag[NV];     // log A[j, j]; lanes from K on -inf
    V off_max[NV];  // max over i != j of log A[i, j]
    VI reach[NV];   // lanes j < K where off_max is finite (some other state leads to j)
    uint64_t states;  // bits 0 .. K - 1
    double scale;     // the largest |off_max| of a finite one (for the bound's allowance for rounding)
};

template <int NV>
std::unique_ptr<ViterbiBounds<NV>> viterbi_bounds(const double* logA, int64_t K) {
    std::unique_ptr<ViterbiBounds<NV>> b(new ViterbiBounds<NV>);
    double diag[NV * kLanes], off[NV * kLanes];
    int64_t reach[NV * kLanes];
    for (int64_t j = 0; j < NV * kLanes; ++j) {
        diag[j] = j < K ? logA[j * K + j] : -kInf;
        off[j] = -kInf;
        for (int64_t i = 0; j < K && i < K; ++i)
            if (i != j) off[j] = std::max(off[j], logA[i * K + j]);
        reach[j] = j < K && off[j] > -kInf ? -1 : 0;
    }
    std::memcpy(b->diag, diag, sizeof diag);
    std::memcpy(b->off_max, off, sizeof off);
    std::memcpy(b->reach, reach, sizeof reach);
    b->states = K >= 64 ? ~0ull : (1ull << K) - 1;
    b->scale = 0;
    for (int64_t j = 0; j < K; ++j)
        if (off[j] > -kInf) b->scale = std::max(b->scale, std::fabs(off[j]));
    return b;
}

// The lengths and first rows of the group's sequences i and i + 1 (the group's order: decreasing length); returns
// how many there are (1 or 2). The Viterbi passes above 16 states run two sequences at a time.
HPC_INLINE int64_t sequence_pair(const SmallKGroup& g, int64_t i, int64_t (&len)[2], int64_t (&r0)[2]) {
    const int64_t n = std::min<int64_t>(2, g.n_seqs - i);
    for (int64_t q = 0; q < n; ++q) {
        while (len[q] < g.steps && g.active[len[q]] > i + q) ++len[q];
        r0[q] = g.start[g.seqs[i + q]];
    }
    return n;
}

// The first maximum of each of the pair's last rows (in ring, by the parity of the step): the sequence's
// log-probability and its last state on the path.
template <int64_t W>
HPC_INLINE void last_states(const SmallKGroup& g, int64_t K, int64_t i, int64_t n, const int64_t (&len)[2],
                            const int64_t (&r0)[2], const double (&ring)[2][2][W], int64_t (&state)[2], int64_t* path,
                            double* seq_logprob) {
    for (int64_t q = 0; q < n; ++q) {
        const double* f = ring[(len[q] - 1) & 1][q];
        for (int64_t j = 1; j < K; ++j)
            if (f[j] > f[state[q]]) state[q] = j;
        seq_logprob[g.seqs[i + q]] = f[state[q]];
        path[r0[q] + len[q] - 1] = state[q];
    }
}

// The first row of a sequence's scores, log pi + the densities of its row r0, into first.
template <int NV, typename Rows>
HPC_INLINE void first_scores(Rows& rows, int64_t r0, const V (&lpi)[NV], double* first) {
    V c[NV];
    rows(r0, c);
    for (int v = 0; v < NV; ++v) c[v] += lpi[v];
    std::memcpy(first, c, sizeof c);
}

// c[v], bk[v] = the maximum and its first candidate (a strictly greater one replaces the best) of c[v] and, for the
// first trips candidates k of list in order, p[k] + LA[k][v], for the vectors v from V0 on, 4 at a time (8
// accumulators in registers beside the operands: with all 16 of K 64's, GCC kept them on the stack).
template <int V0, int NV>
HPC_INLINE void argmax_over_candidates(V (&c)[NV], VI (&bk)[NV], const uint8_t* list, int64_t trips, const double* p,
                                       const V* LA) {
    constexpr int kEnd = V0 + 4 < NV ? V0 + 4 : NV;
    auto candidate = [&](int64_t i) {
        const int64_t k = list[i];
        const V pk = broadcast_from_memory(p + k);
        const VI kv = VI{} + k;
#pragma GCC unroll 4
        for (int v = V0; v < kEnd; ++v) {
            const V cand = LA[k * NV + v] + pk;
            const VI better = cand > c[v];
            c[v] = better ? cand : c[v];
            bk[v] = better ? kv : bk[v];
        }
    };
    for (int64_t i = 0; i < trips; ++i) candidate(i);
    if constexpr (kEnd < NV) argmax_over_candidates<kEnd, NV>(c, bk, list, trips, p, LA);
}

// One Viterbi step of one sequence above kViterbiScoreStates, with back pointers: c = max_k (p[k] + log A[k, .]) + lb
// and the first k attaining each maximum (as the general loop: a strictly greater candidate replaces the best), from
// fewer candidates, the same bits. Two candidates of every column first, k = j (the diagonal, d_j) and k = top (a state
// of the largest score, M): lb_j = max(d_j, M + log A[top, j]) is at most the column's maximum. Another k can reach
// column j's maximum only if p[k] + max_{i != j} log A[i, j] >= lb_j; so a k whose p[k] is below tau = min_j (lb_j -
// max_{i != j} log A[i, j]) does not, by a margin: tau is lowered by 2^-48 (|M| + |tau| + the largest |off_max|)
// + 2^-1000, more than the rounding of tau's own operations and half a unit in the last place of any lb_j (each
// |lb_j| is at most |M| + |tau| + |off_max_j|; every lb_j is a candidate's sum, so a float), so such a k's sums,
// rounded, are strictly below lb_j (rounding is monotone) and neither reach the maximum nor tie it. The step runs
// over the other k (p[k] >= the lowered tau) in increasing order, from -inf and pointer 0, then merges the diagonal
// (d_j wins if greater, or equal with j below the pointer): the maximum over every candidate and its first k. A
// column whose every candidate is -inf keeps pointer 0, as the general loop. Which k are left depends on the data:
// where the scores are spread (separated emissions, a diagonal-heavy A) most are not (issue 5's grid, K 64: about a
// quarter at D 1, 2 % at D 4); at worst every k is (a left-right A, whose zeros give no bound), and the step costs
// the bounds more than a full one.
template <int NV, bool Full, typename Rows>
HPC_INLINE int64_t viterbi_step_pruned(const double* p, const ViterbiBounds<NV>& b, const V* LA, Rows& rows, int64_t r,
                                       double* keep, uint8_t* back_row) {
    static_assert(NV * kLanes <= 64, "one bit a state in a uint64_t; byte pointers");
    // (trees of operations, not chains: the bounds lie on the path from one step's scores to the next's)
    V pv[NV];
    load_row_unrolled<NV, true>(p, NV * kLanes, 0.0, pv);
    const V m = across_lanes(tree<NV>(pv, [](V x, V y) { return vmax(x, y); }), [](V x, V y) { return vmax(x, y); });
    uint64_t at_m[NV];
    for (int v = 0; v < NV; ++v) at_m[v] = (uint64_t)lane_bits(pv[v] == m) << (v * kLanes);
    const uint64_t tops = tree<NV>(at_m, [](uint64_t x, uint64_t y) { return x | y; }) & b.states;
    const int64_t top = tops ? __builtin_ctzll(tops) : 0;  // no lane equal: a NaN, whose row the caller discards
    V d[NV], room[NV];
    const V* at = LA + top * NV;
    for (int v = 0; v < NV; ++v) {
        d[v] = pv[v] + b.diag[v];
        room[v] = b.reach[v] ? vmax(d[v], m + at[v]) - b.off_max[v] : splat(kInf);
    }
    const double t = hmin(tree<NV>(room, [](V x, V y) { return y < x ? y : x; }));
    // NaN where t = +inf (no column reachable but from itself: no other k counts) or M = +inf
    const double lowered = t - ((std::fabs(m[0]) + std::fabs(t) + b.scale) * 0x1p-48 + 0x1p-1000);
    const V bound = splat(lowered == lowered ? lowered : kInf);
    // The candidates' indices, increasing, one a byte, written 8 bytes at a time from a table (no branch per
    // candidate; the bytes past the last one are not read). A loop of exactly 8 candidates where there were fewer,
    // to spare the loop's exit a misprediction, took 1.35x the time at K 40 and 64, D 4 (hmm_small_k_ab.cpp).
    uint8_t list[NV * kLanes + 16];
    int64_t n = 0;
    for (int v = 0; v < NV; ++v) {
        // (states: not the padding lanes from K on, whose rows of log A do not exist; a k with p[k] = -inf, left
        // only where the bound is -inf, is harmless: its sums are -inf, never greater)
        const unsigned bits = lane_bits(pv[v] >= bound) & (unsigned)(b.states >> (v * kLanes));
        const uint64_t idx = kLaneLists.list[bits] + (uint64_t)(v * kLanes) * 0x0101010101010101ull;
        std::memcpy(list + n, &idx, sizeof idx);
        n += __builtin_popcount(bits);
    }
    V c[NV];
    VI bk[NV];
    for (int v = 0; v < NV; ++v) {
        c[v] = splat(-kInf);
        bk[v] = VI{};
    }
    argmax_over_candidates<0, NV>(c, bk, list, n, p, LA);
    const VI lanes = lane_indices();
    V l[NV];
    rows(r, l);
    typedef uint8_t Bytes __attribute__((vector_size(kLanes)));
#pragma GCC unroll 32
    for (int v = 0; v < NV; ++v) {
        const VI j = lanes + v * kLanes;
        const VI take = (d[v] > c[v]) | ((d[v] == c[v]) & (j < bk[v]));
        c[v] = (take ? d[v] : c[v]) + l[v];
        bk[v] = take ? j : bk[v];
        std::memcpy(keep + v * kLanes, &c[v], sizeof c[v]);
        const Bytes bytes = __builtin_convertvector(bk[v], Bytes);
        std::memcpy(back_row + v * kLanes, &bytes, sizeof bytes);
    }
    return n;  // the candidates the step ran over
}

// Viterbi of a group above kViterbiScoreStates, the same path and log-probability, bit for bit, as hmm_viterbi's
// general loop in hmm_cpu.cpp: each step pruned (viterbi_step_pruned), one byte a back pointer (rows of NV kLanes
// bytes in back).
// Two sequences at a time over their whole length (the group's order: decreasing length), each step of one then of
// the other (independent: their chains of dependent operations overlap), then both paths back through the pointers.
// Not inlined: inlined beside the score pass and the probe (viterbi), it took 1.25x the time (K 64, D 1,
// hmm_small_k_ab.cpp viterbi).
// Returns the candidates its steps ran over (pruning_pays weighs them).
template <int NV, bool Full, typename Rows>
__attribute__((noinline)) int64_t viterbi_pruned(const SmallKGroup& g, int64_t K, Rows& rows, const double* logpi,
                                                 const V* LA, const ViterbiBounds<NV>& bounds, uint8_t* back,
                                                 int64_t* path, double* seq_logprob) {
    constexpr int64_t W = NV * kLanes;
    static_assert(W <= kSmallKBackPointerRowBytes, "rows as the scratch is sized");
    V lpi[NV];
    load_row<NV, false>(logpi, K, -kInf, lpi);
    int64_t candidates = 0;
    for (int64_t i = 0; i < g.n_seqs; i += 2) {
        int64_t len[2] = {0, 0}, r0[2] = {0, 0};
        const int64_t n = sequence_pair(g, i, len, r0);
        // the previous rows (cache-resident; parity of the step)
        alignas(64) double ring[2][2][W];
        for (int64_t q = 0; q < n; ++q) first_scores<NV>(rows, r0[q], lpi, ring[0][q]);
        // Each step of one sequence then of the other (the second ends first), from one call site: the step is large,
        // and each copy of it inlined cost compile time (two call sites for both, one for the first alone: the
        // kernels' file took 1.7x as long to compile as before the pruned pass).
        for (int64_t t = 1; t < len[0]; ++t) {
            for (int64_t q = 0; q < n; ++q) {
                if (t >= len[q]) break;
                const int64_t r = r0[q] + t;
                if (t + kViterbiPrefetchRows < len[q]) rows.prefetch(r + kViterbiPrefetchRows);
                candidates += viterbi_step_pruned<NV, Full>(ring[(t - 1) & 1][q], bounds, LA, rows, r, ring[t & 1][q],
                                                            back + r * W);
            }
        }
        // The first maximum of each last row, then the paths back through the pointers (the two side by side).
        int64_t state[2] = {0, 0};
        last_states(g, K, i, n, len, r0, ring, state, path, seq_logprob);
        for (int64_t u = len[0] - 1; u > 0; --u) {
            for (int64_t q = 0; q < n; ++q) {
                if (u >= len[q]) continue;
                const int64_t r = r0[q] + u;
                state[q] = back[r * W + state[q]];
                path[r - 1] = state[q];
            }
        }
    }
    return candidates;
}

// Whether viterbi_pruned is the faster pass for this group: its steps over the first kViterbiProbeSteps rows of the
// group's first (longest) sequence leave at most half of the K candidates on average. Where the bound leaves most
// (a left-right A: its zeros give no bound), the pruned pass measured 1.40-1.53x the score pass's time (K 33 and 64,
// D 1 and 4, hmm_small_k_ab.cpp viterbi leftright); where it leaves a quarter (hpc bench hmm's decode model at K 64,
// D 1) 0.64x. The probe is viterbi_pruned itself over those rows (one copy of the large step, not two: compile
// time); it writes those rows' back pointers, that sequence's first path entries and its log-probability, which the
// pass chosen then writes again over the whole sequence.
constexpr int64_t kViterbiProbeSteps = 64;

template <int NV, bool Full, typename Rows>
bool pruning_pays(const SmallKGroup& g, int64_t K, Rows& rows, const double* logpi, const V* LA,
                  const ViterbiBounds<NV>& bounds, uint8_t* back, int64_t* path, double* seq_logprob) {
    if (g.n_seqs == 0 || g.steps < 2) return true;
    const int64_t steps = std::min<int64_t>(g.steps, kViterbiProbeSteps + 1);
    int64_t running[kViterbiProbeSteps + 1];
    std::fill(running, running + steps, int64_t{1});
    const SmallKGroup first{1, g.seqs, running, steps, g.start};
    const int64_t left = viterbi_pruned<NV, Full>(first, K, rows, logpi, LA, bounds, back, path, seq_logprob);
    return 2 * left <= (steps - 1) * K;
}

// Viterbi of a group, the same path and log-probability, bit for bit, as hmm_viterbi's general loop in hmm_cpu.cpp.
// The forward pass keeps each row's scores delta_t (rows of delta [N, NV * 8], padded lanes -inf) and no back
// pointers: the scores alone are a max and an add per candidate, where tracking the argmax costs a compare and two
// blends more (the standalone loop: 231-234 ns a row with them). The backtrack then finds, for the one state j on
// the path at each step, the first k attaining max_k delta_{t-1}[k] + log A[k, j]: the same candidates (the same
// sums) and the same rule as the back pointers (a strictly greater candidate replaces the best), so the same state.

template <int NV, bool Full, bool Fma, typename Rows>
HPC_INLINE void viterbi_pass(const SmallKGroup& g, int64_t K, Rows& rows, const double* logpi, const double* logA,
                             const V* LA, double* delta, int64_t* path, double* seq_logprob) {
    constexpr int64_t W = NV * kLanes;
    const std::unique_ptr<V[]> LAT = padded_rows<NV>(logA, K, true);  // LAT[j]: column j of log A
    static volatile double one_unknown_to_the_compiler = 1.0;  // not folded away: x * one + y stays an FMA
    const V one = splat(one_unknown_to_the_compiler);
    V lpi[NV];
    load_row<NV, false>(logpi, K, -kInf, lpi);
    // Two sequences at a time over their whole length (the group's order: decreasing length), not all of the
    // group's sequences at each step as the other passes (K 64, 10 sequences of 10,000 rows, two threads: 12.8-13.4 ms
    // that way, 10.5 this way; fewer rows beside log A's 32 KB in L1 and two backtracks side by side, not five).
    for (int64_t i = 0; i < g.n_seqs; i += 2) {
        int64_t len[2] = {0, 0}, r0[2] = {0, 0};
        const int64_t n = sequence_pair(g, i, len, r0);
        // The previous rows are read from ring (cache-resident; parity of the step), the rows of delta written with
        // non-temporal stores for the backtrack.
        alignas(64) double ring[2][2][W];
        for (int64_t q = 0; q < n; ++q) {
            first_scores<NV>(rows, r0[q], lpi, ring[0][q]);
            std::memcpy(delta + r0[q] * W, ring[0][q], sizeof ring[0][q]);
        }
        const int64_t both = n == 2 ? len[1] : 0;  // steps the two share (the second is not longer)
        for (int64_t t = 1; t < both; ++t) {
            const int64_t ra = r0[0] + t, rb = r0[1] + t;
            if (t + kViterbiPrefetchRows < both) {
                rows.prefetch(ra + kViterbiPrefetchRows);
                rows.prefetch(rb + kViterbiPrefetchRows);
            }
            double(&prev)[2][W] = ring[(t - 1) & 1];
            double(&cur)[2][W] = ring[t & 1];
            viterbi_step<NV, Full, Fma, 2>({prev[0], prev[1]}, LA, K, one, rows, {ra, rb}, {cur[0], cur[1]},
                                           {delta + ra * W, delta + rb * W});
        }
        for (int64_t t = std::max<int64_t>(both, 1); t < len[0]; ++t) {
            const int64_t r = r0[0] + t;
            if (t + kViterbiPrefetchRows < len[0]) rows.prefetch(r + kViterbiPrefetchRows);
            viterbi_step<NV, Full, Fma, 1>({ring[(t - 1) & 1][0]}, LA, K, one, rows, {r}, {ring[t & 1][0]},
                                           {delta + r * W});
        }
#if defined(__SSE2__)
        _mm_sfence();  // the streamed rows before the backtrack reads them
#endif
        // The first maximum of each last row, then the paths back (the two chains side by side).
        int64_t state[2] = {0, 0};
        last_states(g, K, i, n, len, r0, ring, state, path, seq_logprob);
        for (int64_t u = len[0] - 1; u > 0; --u) {
            for (int64_t q = 0; q < n; ++q) {
                if (u >= len[q]) continue;
                const int64_t r = r0[q] + u - 1;
                if (u > kPrefetchRows) prefetch_row<NV>(delta + (r - kPrefetchRows) * W);
                state[q] = first_argmax_of_sum<NV>(delta + r * W, LAT.get() + state[q] * NV);
                path[r] = state[q];
            }
        }
    }
}

// Viterbi of a group up to 16 states, as hmm_viterbi in hmm_cpu.cpp (the same operations in the same order, so the
// same bits), with each row's K scores and back pointers in registers.
template <int NV, bool Full, typename Rows>
HPC_INLINE void viterbi_with_back_pointers(const SmallKGroup& g, int64_t K, Rows& rows, const double* logpi,
                                           const double* logA, uint8_t* back_bytes, int64_t* path,
                                           double* seq_logprob) {
    // Above 8 states one byte a pointer: a quarter of the memory to write and walk back (K 12 and 16, 100,000 rows,
    // two threads: 1.15-1.3x faster than int32), while at 8 states int32 measured 0.90-0.99x the time of bytes
    // (converting to bytes takes more operations a row).
    using BackPointer = std::conditional_t<NV * kLanes <= 8, int32_t, uint8_t>;
    typedef BackPointer BackPointers __attribute__((vector_size(kLanes * sizeof(BackPointer))));
    constexpr int64_t kBackStride = NV * kLanes;
    static_assert(kBackStride * sizeof(BackPointer) <= kSmallKBackPointerRowBytes, "rows as the scratch is sized");
    const std::unique_ptr<V[]> LA = padded_rows<NV>(logA, K, false);
    V lpi[NV];
    load_row<NV, false>(logpi, K, -kInf, lpi);
    const std::unique_ptr<V[]> prev = zeroed(g.n_seqs * NV);
    // Each sequence's last state (its first maximum), then its state at the step being walked back.
    const std::unique_ptr<int64_t[]> state(new int64_t[(size_t)std::max<int64_t>(g.n_seqs, 1)]);
    for (int64_t t = 0; t < g.steps; ++t) {
        const int64_t a = g.active[t];
        const int64_t a_next = g.active_at(t + 1);
        for (int64_t i = 0; i < a; ++i) {
            const int64_t s = g.seqs[i];
            const int64_t r = g.start[s] + t;
            V* pv = prev.get() + i * NV;
            V lb[NV], c[NV];
            VI bk[NV];
            rows(r, lb);
            if (t == 0) {
                for (int v = 0; v < NV; ++v) {
                    c[v] = lpi[v] + lb[v];
                    bk[v] = VI{};
                }
            } else {
                // max over k of p[k] + log A[k, j], the first k attaining it (a strictly greater candidate wins).
                const double* p = reinterpret_cast<const double*>(pv);
                for (int v = 0; v < NV; ++v) {
                    c[v] = broadcast<NV, Full>(p) + LA[v];
                    bk[v] = VI{};
                }
                const int64_t kn = Full ? NV * kLanes : K;
                for (int64_t k = 1; k < kn; ++k) {
                    const V pk = broadcast<NV, Full>(p + k);
                    for (int v = 0; v < NV; ++v) {
                        const V cand = pk + LA[k * NV + v];
                        const VI better = cand > c[v];
                        c[v] = better ? cand : c[v];
                        bk[v] = better ? (VI{} + k) : bk[v];
                    }
                }
                for (int v = 0; v < NV; ++v) c[v] += lb[v];
            }
            // Rows of NV * 8 pointers (padded lanes too), one fixed-size copy: a K-element memcpy was a libc call a
            // row, with vzeroupper and the scores spilled around it (K 8, two threads 0.76 -> 0.57 ms).
            BackPointer bp[NV * kLanes];
            for (int v = 0; v < NV; ++v) {
                const auto n = __builtin_convertvector(bk[v], BackPointers);
                std::memcpy(bp + v * kLanes, &n, sizeof n);
            }
            std::memcpy(back_bytes + r * sizeof bp, bp, sizeof bp);
            for (int v = 0; v < NV; ++v) pv[v] = c[v];
            if (i >= a_next) {
                // Last row of the sequence: the first maximum.
                const double* f = reinterpret_cast<const double*>(pv);
                int64_t arg = 0;
                for (int64_t j = 1; j < K; ++j)
                    if (f[j] > f[arg]) arg = j;
                seq_logprob[s] = f[arg];
                state[i] = arg;
            }
        }
    }
    // The paths back through the pointers, all of the group's sequences side by side. Each path is a chain of
    // dependent loads (a row's pointer picks the next one read), so one sequence at a time waited on every load:
    // K 8, a quarter of the kernel's time.
    for (int64_t u = g.steps - 1; u >= 0; --u) {
        const int64_t a = g.active[u];
        for (int64_t i = 0; i < a; ++i) {
            const int64_t r = g.row(i, u);
            path[r] = state[i];
            BackPointer b;
            std::memcpy(&b, back_bytes + (r * kBackStride + state[i]) * sizeof b, sizeof b);
            state[i] = b;
        }
    }
}

// Up to 16 states the back pointers cost less than the backtrack that recomputes them (hpc_hmm_viterbi, 10 sequences
// of 10,000 rows, two threads, best of 30: K 8 0.69-0.94 ms with them, 1.76-1.77 without; K 16 1.43-2.01 and
// 1.64-1.65; K 32 5.7-6.5 and 3.2-3.4; K 64 25.9-27.4 and 9.4-9.8).
template <int NV, bool Full, typename Rows>
HPC_INLINE void viterbi(const SmallKGroup& g, int64_t K, Rows& rows, const double* logpi, const double* logA,
                        double* delta, uint8_t* back, int64_t* path, double* seq_logprob) {
    if constexpr (NV * kLanes <= kViterbiBackPointerStates)
        viterbi_with_back_pointers<NV, Full>(g, K, rows, logpi, logA, back, path, seq_logprob);
    else {
        const std::unique_ptr<V[]> LA = padded_rows<NV>(logA, K, false);
        if constexpr (NV * kLanes > kViterbiScoreStates) {
            const std::unique_ptr<ViterbiBounds<NV>> bounds = viterbi_bounds<NV>(logA, K);
            if (pruning_pays<NV, Full>(g, K, rows, logpi, LA.get(), *bounds, back, path, seq_logprob)) {
                viterbi_pruned<NV, Full>(g, K, rows, logpi, LA.get(), *bounds, back, path, seq_logprob);
                return;
            }
        }
        viterbi_pass<NV, Full, kViterbiScoresWithFma>(g, K, rows, logpi, logA, LA.get(), delta, path, seq_logprob);
    }
}

}  // namespace

// The kernel sets: blocks of 8 states NB (NB * kBlockVectors vectors), whether K fills them (K = 8 NB), and the name
// suffix (the K they serve). The same sets for every lane width: an AVX2 or SSE2 build pads K to a multiple of 8 as
// the AVX-512 one does (K 4 uses two AVX2 vectors, one of them padding), and the rows of scores the Viterbi pass
// writes have the same width, 8 NB, in every build (small_k_viterbi_width).
#define HPC_SMALL_K_SETS(X, KERNEL, ARGS)                                                                          \
    X(1, 0, 1_7, KERNEL, ARGS) X(1, 1, 8, KERNEL, ARGS) X(2, 0, 9_15, KERNEL, ARGS) X(2, 1, 16, KERNEL, ARGS)     \
    X(3, 0, 17_23, KERNEL, ARGS) X(3, 1, 24, KERNEL, ARGS) X(4, 0, 25_31, KERNEL, ARGS) X(4, 1, 32, KERNEL, ARGS) \
    X(5, 0, 33_39, KERNEL, ARGS) X(5, 1, 40, KERNEL, ARGS) X(6, 0, 41_47, KERNEL, ARGS) X(6, 1, 48, KERNEL, ARGS) \
    X(7, 0, 49_55, KERNEL, ARGS) X(7, 1, 56, KERNEL, ARGS) X(8, 0, 57_63, KERNEL, ARGS) X(8, 1, 64, KERNEL, ARGS)

constexpr int kBlockVectors = 8 / kLanes;

// Every kernel per set.
#define HPC_SMALL_K_DEFINE(NB, FULL, SUFFIX, KERNEL, ARGS)                                                             \
    static bool small_k_forward_##SUFFIX(const SmallKGroup& g, int64_t K, const double* logB,                          \
                                                     const double* pi, const double* A, double* alpha,                 \
                                                     double* row_scale, double* factors,                               \
                                                     double* seq_loglik) {                                             \
        return forward<(NB) * kBlockVectors, FULL>(g, K, logB, pi, A, alpha, row_scale, factors, seq_loglik);          \
    }                                                                                                                  \
    static bool small_k_backward_##SUFFIX(const SmallKGroup& g, int64_t K, const double* A, const double* alpha,       \
                                                      const double* row_scale, const double* factors,                  \
                                                      double* posteriors, double* xi_part, double* start_part,         \
                                                      const GaussianStatsSink* stats) {                                \
        backward<(NB) * kBlockVectors, FULL>(g, K, A, alpha, row_scale, factors, posteriors, xi_part, start_part,       \
                                             stats);                                                                   \
        return true;                                                                                                   \
    }                                                                                                                  \
    static bool small_k_forward_log_##SUFFIX(const SmallKGroup& g, int64_t K, const double* logB,                      \
                                                         const double* pi, const double* A, double* la,                \
                                                         double* seq_loglik) {                                         \
        return forward_log<(NB) * kBlockVectors, FULL>(g, K, logB, pi, A, la, seq_loglik);                             \
    }                                                                                                                  \
    static bool small_k_backward_log_##SUFFIX(                                                                         \
        const SmallKGroup& g, int64_t K, const double* logB, const double* A, const double* la,                        \
        const double* seq_loglik, double* posteriors, double* xi_part, double* start_part, double* a_rows,             \
        double* w_rows, const GaussianStatsSink* stats) {                                                              \
        return backward_log<(NB) * kBlockVectors, FULL>(g, K, logB, A, la, seq_loglik, posteriors, xi_part, start_part, a_rows,      \
                                      w_rows, stats);                                                                  \
    }                                                                                                                  \
    static bool small_k_viterbi_##SUFFIX(const SmallKGroup& g, int64_t K, const double* logB,                          \
                                                     const double* logpi, const double* logA, double* delta,           \
                                                     uint8_t* back, int64_t* path, double* seq_logprob) {              \
        StoredRows<(NB) * kBlockVectors, FULL> rows{logB, K};                                                          \
        viterbi<(NB) * kBlockVectors, FULL>(g, K, rows, logpi, logA, delta, back, path, seq_logprob);                  \
        return true;                                                                                                   \
    }                                                                                                                  \
    static bool small_k_diag_gaussian_viterbi_##SUFFIX(                                                                \
        const SmallKGroup& g, int64_t K, int64_t D, const double* x, const double* c, const double* muinv_t,           \
        const double* inv_t, const double* logpi, const double* logA, double* delta, uint8_t* back, int64_t* path,     \
        double* seq_logprob, bool* densities_ok) {                                                                     \
        const DiagTerms<(NB) * kBlockVectors> t(K, D, c, muinv_t, inv_t);                                              \
        DiagGaussianRows<(NB) * kBlockVectors, FULL> rows{x, D, K, t};                                                 \
        viterbi<(NB) * kBlockVectors, FULL>(g, K, rows, logpi, logA, delta, back, path, seq_logprob);                  \
        *densities_ok = rows.all_ok();                                                                                 \
        return true;                                                                                                   \
    }                                                                                                                  \
    static bool small_k_categorical_viterbi_##SUFFIX(                                                                  \
        const SmallKGroup& g, int64_t K, const int64_t* symbols, const double* table, const double* logpi,             \
        const double* logA, double* delta, uint8_t* back, int64_t* path, double* seq_logprob) {                        \
        CategoricalRows<(NB) * kBlockVectors, FULL> rows{symbols, table};                                              \
        viterbi<(NB) * kBlockVectors, FULL>(g, K, rows, logpi, logA, delta, back, path, seq_logprob);                  \
        return true;                                                                                                   \
    }                                                                                                                  \
    static bool small_k_diag_loglik_##SUFFIX(int64_t rows, int64_t K, int64_t D, const double* x,                      \
                                                         const double* c, const double* muinv_t,                       \
                                                         const double* inv_t, double* out) {                           \
        diag_loglik<(NB) * kBlockVectors, FULL>(rows, K, D, x, c, muinv_t, inv_t, out);                                \
        return true;                                                                                                   \
    }                                                                                                                  \
    static bool small_k_diag_stats_##SUFFIX(int64_t rows, int64_t K, int64_t D, const double* x,                       \
                                                        const double* gamma, double* ps, double* obs_t,                \
                                                        double* obs2_t) {                                              \
        diag_stats<(NB) * kBlockVectors, FULL>(rows, K, D, x, gamma, ps, obs_t, obs2_t);                               \
        return true;                                                                                                   \
    }

HPC_SMALL_K_SETS(HPC_SMALL_K_DEFINE, , )

// Width of the rows of scores small_k_viterbi reads as scratch (0: back pointers instead).
int64_t small_k_viterbi_width(int64_t K) {
    return K <= kViterbiBackPointerStates ? 0 : (K + 7) / 8 * 8;
}

namespace {

// 2 (NB - 1) + (K fills the blocks), or -1 beyond kSmallKMaxStates.
int set_index(int64_t K) {
    return K >= 1 && K <= kSmallKMaxStates ? (int)(2 * ((K + 7) / 8 - 1) + (K % 8 == 0)) : -1;
}

}  // namespace

// Returns KERNEL's result for K's set; falls through (to the caller's "not handled") beyond kSmallKMaxStates.
#define HPC_SMALL_K_CASE(NB, FULL, SUFFIX, KERNEL, ARGS) \
    case 2 * ((NB) - 1) + (FULL):                         \
        return small_k_##KERNEL##_##SUFFIX ARGS;
#define HPC_SMALL_K_DISPATCH(KERNEL, ARGS)                          \
    switch (set_index(K)) {                                         \
        HPC_SMALL_K_SETS(HPC_SMALL_K_CASE, KERNEL, ARGS) default: break; \
    }

bool small_k_forward(const SmallKGroup& g, int64_t K, const double* logB, const double* pi, const double* A,
                     double* alpha, double* row_scale, double* factors, double* seq_loglik) {
    HPC_SMALL_K_DISPATCH(forward, (g, K, logB, pi, A, alpha, row_scale, factors, seq_loglik))
    return false;
}

bool small_k_backward(const SmallKGroup& g, int64_t K, const double* A, const double* alpha, const double* row_scale,
                      const double* factors, double* posteriors, double* xi_part, double* start_part,
                      const GaussianStatsSink* stats) {
    HPC_SMALL_K_DISPATCH(backward, (g, K, A, alpha, row_scale, factors, posteriors, xi_part, start_part, stats))
    return false;
}

bool small_k_forward_log(const SmallKGroup& g, int64_t K, const double* logB, const double* pi, const double* A,
                         double* la, double* seq_loglik) {
    HPC_SMALL_K_DISPATCH(forward_log, (g, K, logB, pi, A, la, seq_loglik))
    return false;
}

bool small_k_backward_log(const SmallKGroup& g, int64_t K, const double* logB, const double* A, const double* la,
                          const double* seq_loglik, double* posteriors, double* xi_part, double* start_part,
                          double* a_rows, double* w_rows, const GaussianStatsSink* stats) {
    HPC_SMALL_K_DISPATCH(backward_log,
                         (g, K, logB, A, la, seq_loglik, posteriors, xi_part, start_part, a_rows, w_rows, stats))
    return false;
}

bool small_k_viterbi(const SmallKGroup& g, int64_t K, const double* logB, const double* logpi, const double* logA,
                     double* delta, uint8_t* back, int64_t* path, double* seq_logprob) {
    HPC_SMALL_K_DISPATCH(viterbi, (g, K, logB, logpi, logA, delta, back, path, seq_logprob))
    return false;
}

bool small_k_diag_gaussian_viterbi(const SmallKGroup& g, int64_t K, int64_t D, const double* x, const double* c,
                                   const double* muinv_t, const double* inv_t, const double* logpi, const double* logA,
                                   double* delta, uint8_t* back, int64_t* path, double* seq_logprob,
                                   bool* densities_ok) {
    HPC_SMALL_K_DISPATCH(diag_gaussian_viterbi,
                         (g, K, D, x, c, muinv_t, inv_t, logpi, logA, delta, back, path, seq_logprob, densities_ok))
    return false;
}

bool small_k_categorical_viterbi(const SmallKGroup& g, int64_t K, const int64_t* symbols, const double* table,
                                 const double* logpi, const double* logA, double* delta, uint8_t* back, int64_t* path,
                                 double* seq_logprob) {
    HPC_SMALL_K_DISPATCH(categorical_viterbi, (g, K, symbols, table, logpi, logA, delta, back, path, seq_logprob))
    return false;
}

bool small_k_diag_loglik(int64_t rows, int64_t K, int64_t D, const double* x, const double* c, const double* muinv_t,
                         const double* inv_t, double* out) {
    HPC_SMALL_K_DISPATCH(diag_loglik, (rows, K, D, x, c, muinv_t, inv_t, out))
    return false;
}

bool small_k_diag_stats(int64_t rows, int64_t K, int64_t D, const double* x, const double* gamma, double* ps,
                        double* obs_t, double* obs2_t) {
    HPC_SMALL_K_DISPATCH(diag_stats, (rows, K, D, x, gamma, ps, obs_t, obs2_t))
    return false;
}

}  // namespace hpc::cpu::HPC_SMALL_K_NAMESPACE
