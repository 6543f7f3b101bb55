#include "packed_gemm.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <utility>

#include "thread_team.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HPC_X86 1
#endif

// v8 values never cross a call (every helper that takes or returns one is always_inline), so GCC's note about the
// AVX argument-passing ABI does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace hpc::cpu {
namespace {

constexpr int64_t kBlockM = 192;        // rows of A per cache block (kBlockM x kBlockK floats = 192 KiB, in L2)
constexpr int64_t kPackChunk = 256;     // values of k per chunk when packing a transposed B (see pack_b)
constexpr double kCopyAMinOutput = 7e5; // elements of C from which gemm_f32 copies a transposed A's k blocks into rows
std::atomic<double> g_copy_a_min_output{kCopyAMinOutput};  // (a test hook lowers it)
constexpr double kStreamMinBytes = 4e6;  // a row-major B larger than this is packed with non-temporal stores
// A product over a row-major B packed larger than this packs B one k block at a time (see gemm_b_by_block).
std::atomic<double> g_block_b_min_bytes{kStreamMinBytes};  // (a test hook lowers it)

// One cache block: rows [0, m) of A (already offset to the block), kc values of k, panels [p_lo, p_hi) of B
// (bp points at row k0 of panel 0; panel p starts at bp + panel_offset(p, gstride), its row kk at + kk * brs: packed
// B has gstride = K * 16G and brs = 16G for groups of G panels, a row-major B read in place has gstride = 16G and
// brs = its leading dimension). A tile of panels reads them from its first panel's pointer, the next ones
// panel_stride(gstride) floats apart, which holds when the tile starts a group or stays inside one (the blocks cut
// their tiles so).
// span_panels: the panels of B the calling thread reads in the whole product (more than p_hi - p_lo when the product
// is cut into blocks of panels), for the AVX2 tile's choice to prefetch B.
using BlockFn = void (*)(int64_t m, int64_t kc, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* bp,
                         int64_t gstride, int64_t brs, int64_t p_lo, int64_t p_hi, float* c, int64_t ldc, bool accumulate,
                         const float* bias, int64_t span_panels);

// Panels per group of the packed layout (packed_gemm.h): single panels for the AVX2 kernel (x86 with AVX2 and FMA,
// without AVX-512), groups of 4 otherwise (AVX-512; the portable kernel, not measured with single panels).
int64_t default_group_panels() {
#ifdef HPC_X86
    return !__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 4;
#else
    return 4;
#endif
}
int64_t g_group = default_group_panels();
// The team's column splits and a step's walk go by 4 panels whatever the layout (a 1-3 row tile takes 2-4 panels).
constexpr int64_t kSplitPanels = 4;
inline int64_t group_floats() { return g_group * kPanel; }
inline int64_t panel_offset(int64_t p, int64_t gstride) { return (p / g_group) * gstride + (p % g_group) * kPanel; }
// The distance between consecutive panels of one tile (inside one group, or single panels, or linear ones): the
// tiles take it instead of gstride, so that their loops need no division by the group size (computed per k, it cost
// batch-1 layers 1.15-1.2x their time).
inline int64_t panel_stride(int64_t gstride) { return g_group == 1 ? gstride : kPanel; }
// Whether B's panels lie kPanel floats apart (a row-major B read in place, or K = 1), so that a tile may start anywhere.
inline bool panels_linear(int64_t gstride) { return gstride == group_floats(); }
// The most panels (up to np) a tile starting at panel p may take: any number when the panels are linear or single
// (each group one panel, panel_stride apart), else the rest of p's group.
inline int64_t tile_room(int64_t p, int64_t np, int64_t gstride) {
    return panels_linear(gstride) || g_group == 1 ? np : std::min<int64_t>(np, g_group - p % g_group);
}

// ---- portable kernel: MR rows x NP panels in 8-float GCC/Clang vectors (one ymm with AVX2, two xmm without) ----
typedef float v8 __attribute__((vector_size(32)));

__attribute__((always_inline)) inline v8 load8(const float* p) {
    v8 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <int MR, int NP>
__attribute__((always_inline)) inline void tile_portable(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs,
                                                         const float* bp, int64_t pstride, int64_t brs, float* c, int64_t ldc,
                                                         int64_t cols, bool accumulate, const float* bias) {
    v8 s[MR][2 * NP];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (int q = 0; q < 2 * NP; ++q) s[r][q] = v8{};
    for (int64_t kk = 0; kk < kc; ++kk) {
        v8 b[2 * NP];
#pragma GCC unroll 8
        for (int q = 0; q < 2 * NP; ++q) b[q] = load8(bp + (q / 2) * pstride + kk * brs + (q % 2) * 8);
        const float* ak = a + kk * a_cs;
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            const float av = ak[r * a_rs];
#pragma GCC unroll 8
            for (int q = 0; q < 2 * NP; ++q) s[r][q] += av * b[q];
        }
    }
    for (int r = 0; r < MR; ++r) {
        float out[2 * NP * 8];
        std::memcpy(out, s[r], sizeof out);
        float* cr = c + r * ldc;
        if (accumulate)
            for (int64_t v = 0; v < cols; ++v) cr[v] = cr[v] + out[v];
        else if (bias)
            for (int64_t v = 0; v < cols; ++v) cr[v] = out[v] + bias[v];
        else
            for (int64_t v = 0; v < cols; ++v) cr[v] = out[v];
    }
}

template <int MR, int NP>
__attribute__((always_inline)) inline void block_portable_tiles(int64_t m, int64_t kc, int64_t n, const float* a,
                                                                int64_t a_rs, int64_t a_cs, const float* bp,
                                                                int64_t gstride, int64_t brs, int64_t p_lo, int64_t p_hi, float* c,
                                                                int64_t ldc, bool accumulate, const float* bias) {
    const int64_t ps = panel_stride(gstride);
    for (int64_t p = p_lo; p < p_hi;) {
        const float* bpp = bp + panel_offset(p, gstride);
        if (p + NP <= p_hi && tile_room(p, NP, gstride) == NP) {
            const int64_t c0 = p * kPanel, cols = std::min(NP * kPanel, n - c0);
            int64_t r = 0;
            const float* bc = bias ? bias + c0 : nullptr;
            for (; r + MR <= m; r += MR)
                tile_portable<MR, NP>(kc, a + r * a_rs, a_rs, a_cs, bpp, ps, brs, c + r * ldc + c0, ldc, cols, accumulate, bc);
            for (; r < m; ++r)
                tile_portable<1, NP>(kc, a + r * a_rs, a_rs, a_cs, bpp, ps, brs, c + r * ldc + c0, ldc, cols, accumulate, bc);
            p += NP;
            continue;
        }
        const int64_t c0 = p * kPanel, cols = std::min(kPanel, n - c0);
        for (int64_t r = 0; r < m; ++r)
            tile_portable<1, 1>(kc, a + r * a_rs, a_rs, a_cs, bpp, ps, brs, c + r * ldc + c0, ldc, cols, accumulate,
                                bias ? bias + c0 : nullptr);
        ++p;
    }
}

template <int Unused = 0>
__attribute__((always_inline)) inline void block_portable_body(int64_t m, int64_t kc, int64_t n, const float* a,
                                                               int64_t a_rs, int64_t a_cs, const float* bp,
                                                               int64_t gstride, int64_t brs, int64_t p_lo, int64_t p_hi, float* c,
                                                               int64_t ldc, bool accumulate, const float* bias) {
    if (m >= 4) block_portable_tiles<4, 1>(m, kc, n, a, a_rs, a_cs, bp, gstride, brs, p_lo, p_hi, c, ldc, accumulate, bias);
    else if (m >= 2) block_portable_tiles<2, 2>(m, kc, n, a, a_rs, a_cs, bp, gstride, brs, p_lo, p_hi, c, ldc, accumulate, bias);
    else block_portable_tiles<1, 4>(m, kc, n, a, a_rs, a_cs, bp, gstride, brs, p_lo, p_hi, c, ldc, accumulate, bias);
}

void block_portable(int64_t m, int64_t kc, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* bp,
                    int64_t gstride, int64_t brs, int64_t p_lo, int64_t p_hi, float* c, int64_t ldc, bool accumulate,
                    const float* bias, int64_t) {
    block_portable_body(m, kc, n, a, a_rs, a_cs, bp, gstride, brs, p_lo, p_hi, c, ldc, accumulate, bias);
}

#ifdef HPC_X86
// Rows of B that the AVX2 tile prefetches ahead of the row it reads. A 1-panel tile read B 64 bytes in every 256 (one
// panel of a group of 4), 16 rows to a 4 KiB page, which the hardware prefetchers do not follow far enough when B comes
// from L3 (a step's W_hh at H 1024 is 16 MB): M 16, N 4096, K 1024 on a pre-packed B, two threads, Zen 3, 0.61x the
// time with 64 rows, 0.65x with 32, 0.72-0.75x on one thread; products whose B sits in L2 0.95-1.02x, M 400-2048
// 0.93-1.0x (bench/results/2026-11-24-gemm-avx2-prefetch.md). Prefetches never fault, so reading past B's end is
// harmless. With single panels (the AVX2 layout since) it still pays: without it, M 16 N 4096 K 1024 1.14x the time.
constexpr int64_t kPrefetchRowsAvx2 = 64;
// A block prefetches when its part of B is larger than kPrefetchBlockBytes (a B that stays in L2 gains nothing:
// 0.95-1.08x the time), or the thread's part in the whole product (all its chunks) than kPrefetchThreadBytes. The
// second rule is for the step products of a layer, walked in blocks of one group in alternate directions (in_order)
// and in four chunks a thread from 1e8 FLOPs: at M 16, N 4096, K 1024 (8 MB of W_hh a thread, 2 MB chunks) it
// took 0.90x the time of the first rule alone; at 2 MB a thread (N 2048, K 512), prefetching every block took
// 1.05x the time of the first rule alone (which there prefetches the blocks of the steps walked forward only), as
// did prefetching none.
constexpr double kPrefetchBlockBytes = 1024.0 * 1024, kPrefetchThreadBytes = 4.0 * 1024 * 1024;

// ---- AVX2+FMA kernel: MR rows x NP panels, 2*MR*NP ymm accumulators (at most 12: 6 x 16, the BLIS Haswell shape),
// 2*NP panel loads and MR broadcasts per k. Each element is one chain of FMAs over k in order, as in the other kernels.
template <int MR, int NP, bool Prefetch>
__attribute__((target("avx2,fma"))) void tile_avx2(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs,
                                                   const float* bp, int64_t pstride, int64_t brs, float* c, int64_t ldc,
                                                   int64_t cols, bool accumulate, const float* bias) {
    __m256 s[MR][2 * NP];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (int q = 0; q < 2 * NP; ++q) s[r][q] = _mm256_setzero_ps();
    // Four k a loop trip: 0.87-0.98x the time at the step, projection and weight-gradient shapes (Zen 3, two
    // threads, the two builds' calls interleaved in one process by gemm_interleaved_ab.cpp; two a trip 1.02-1.05x
    // the time of four, eight the same as four). Each element's chain of FMAs over k is unchanged: the same bits.
#pragma GCC unroll 4
    for (int64_t kk = 0; kk < kc; ++kk) {
        __m256 b[2 * NP];
#pragma GCC unroll 8
        for (int q = 0; q < 2 * NP; ++q) b[q] = _mm256_loadu_ps(bp + (q / 2) * pstride + kk * brs + (q % 2) * 8);
        // B's row kk + kPrefetchRowsAvx2 of each panel, ahead of the hardware prefetchers (see there).
#pragma GCC unroll 8
        for (int q = 0; q < (Prefetch ? NP : 0); ++q)
            _mm_prefetch((const char*)(bp + q * pstride + (kk + kPrefetchRowsAvx2) * brs), _MM_HINT_T0);
        const float* ak = a + kk * a_cs;
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            const __m256 av = _mm256_broadcast_ss(ak + r * a_rs);
#pragma GCC unroll 8
            for (int q = 0; q < 2 * NP; ++q) s[r][q] = _mm256_fmadd_ps(av, b[q], s[r][q]);
        }
    }
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
#pragma GCC unroll 8
    for (int q = 0; q < 2 * NP; ++q) {
        const int64_t left = cols - q * 8;
        if (left <= 0) break;
        if (left >= 8) {
            const __m256 bq = !accumulate && bias ? _mm256_loadu_ps(bias + q * 8) : _mm256_setzero_ps();
#pragma GCC unroll 8
            for (int r = 0; r < MR; ++r) {
                float* cp = c + r * ldc + q * 8;
                __m256 v = s[r][q];
                if (accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(cp));
                else if (bias) v = _mm256_add_ps(v, bq);
                _mm256_storeu_ps(cp, v);
            }
        } else {
            const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), lane);
            const __m256 bq = !accumulate && bias ? _mm256_maskload_ps(bias + q * 8, mask) : _mm256_setzero_ps();
#pragma GCC unroll 8
            for (int r = 0; r < MR; ++r) {
                float* cp = c + r * ldc + q * 8;
                __m256 v = s[r][q];
                if (accumulate) v = _mm256_add_ps(v, _mm256_maskload_ps(cp, mask));
                else if (bias) v = _mm256_add_ps(v, bq);
                _mm256_maskstore_ps(cp, mask, v);
            }
        }
    }
}

using TileFn = void (*)(int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*, int64_t, int64_t,
                        bool, const float*);
constexpr int kMaxRows = 6, kMaxPanels = 8, kMaxPanelsAvx2 = 4;

// A kernel's table of tiles, table[mr - 1][np - 1] for mr <= kMaxRows and np <= Panels; Kernel::tile<MR, NP>() gives
// the function of one shape.
template <typename Kernel, int MR, int... NPs>
constexpr auto row_of_tiles(std::integer_sequence<int, NPs...>) {
    return std::array<TileFn, sizeof...(NPs)>{Kernel::template tile<MR, NPs + 1>()...};
}
template <typename Kernel, int Panels, int... MRs>
constexpr auto tile_table(std::integer_sequence<int, MRs...>) {
    return std::array<std::array<TileFn, Panels>, sizeof...(MRs)>{
        row_of_tiles<Kernel, MRs + 1>(std::make_integer_sequence<int, Panels>{})...};
}
template <bool Prefetch>
struct Avx2Kernel {
    template <int MR, int NP>
    static constexpr TileFn tile() { return &tile_avx2<MR, NP, Prefetch>; }
};
template <bool Prefetch>
constexpr auto avx2_tiles() {
    return tile_table<Avx2Kernel<Prefetch>, kMaxPanelsAvx2>(std::make_integer_sequence<int, kMaxRows>{});
}
// [prefetching B][mr - 1][np - 1]
const std::array<decltype(avx2_tiles<false>()), 2> kTilesAvx2{avx2_tiles<false>(), avx2_tiles<true>()};

// Rows per tile as in block_avx512 (at most 6, as even as possible); panels per tile so that a tile keeps at most 12
// of the 16 ymm registers as accumulators: one panel (16 columns) from 4 rows up, two for 2-3 rows, four for one row.
inline int panels_per_tile_avx2(int64_t mr) { return mr >= 4 ? 1 : (mr >= 2 ? 2 : 4); }

// ---- AVX-512 kernel: MR rows x NP panels, MR*NP zmm accumulators, NP panel loads and MR broadcasts per k ----
// k steps ahead of the one it reads at which the AVX-512 tile prefetches a transposed A (the weight gradients dG^T X
// read dG in place: a tile's MR values of A at k are consecutive, the next k's lda floats on, e.g. 768 bytes of every
// 2 KiB for a 192-row block at LSTM H 128), in the first panel group's pass over a cache block; the later groups find
// that block in L2. Where A comes from memory the hardware prefetchers did not keep up with that pattern: Zen 4, one
// thread, M 512 N 128 K 6400 (A 13 MB) ran at 77-79 GFLOP/s against 112 at K 1024 (A in L3); with the prefetch
// 0.82x the time at 8 steps ahead, 0.78x at 16, 0.76-0.77x at 32, 0.76x at 64. Two threads, with 32
// (gemm_interleaved_ab.cpp, same bits): M 512 N 128 K 6400 0.78-0.79x, K 1600 0.89x; M 1024 N 256 K 6400 0.90x,
// K 1600 0.90x; M 512 N 512 K 6400 0.905x; M 384, 768 and 256 (K 6400) 0.94-0.96x; M 128 N 128 0.98x; M 1024 N 256
// K 400 (A in cache) 0.98x. The products that copy A into rows first (copies_a) read it in place no more: unchanged.
constexpr int64_t kPrefetchKAvx512 = 32;
template <int MR, int NP, bool PrefetchA>
__attribute__((target("avx512f"))) void tile_avx512(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs,
                                                     const float* bp, int64_t pstride, int64_t brs, float* c, int64_t ldc,
                                                     int64_t cols, bool accumulate, const float* bias) {
    __m512 s[MR][NP];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (int q = 0; q < NP; ++q) s[r][q] = _mm512_setzero_ps();
    for (int64_t kk = 0; kk < kc; ++kk) {
        __m512 b[NP];
#pragma GCC unroll 8
        for (int q = 0; q < NP; ++q) b[q] = _mm512_loadu_ps(bp + q * pstride + kk * brs);
        const float* ak = a + kk * a_cs;
        if (PrefetchA) {  // the first and last of the tile's MR values (a_rs = 1): the lines they fall in
            _mm_prefetch((const char*)(ak + kPrefetchKAvx512 * a_cs), _MM_HINT_T0);
            _mm_prefetch((const char*)(ak + kPrefetchKAvx512 * a_cs + MR - 1), _MM_HINT_T0);
        }
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            const __m512 av = _mm512_set1_ps(ak[r * a_rs]);
#pragma GCC unroll 8
            for (int q = 0; q < NP; ++q) s[r][q] = _mm512_fmadd_ps(av, b[q], s[r][q]);
        }
    }
#pragma GCC unroll 8
    for (int q = 0; q < NP; ++q) {
        const int64_t left = cols - q * kPanel;
        if (left <= 0) break;
        const __mmask16 mask = left >= kPanel ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        const __m512 bq = !accumulate && bias ? _mm512_maskz_loadu_ps(mask, bias + q * kPanel) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            float* cp = c + r * ldc + q * kPanel;
            __m512 v = s[r][q];
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, cp));
            else if (bias) v = _mm512_add_ps(v, bq);
            _mm512_mask_storeu_ps(cp, mask, v);
        }
    }
}

template <bool PrefetchA>
struct Avx512Kernel {
    template <int MR, int NP>
    static constexpr TileFn tile() { return &tile_avx512<MR, NP, PrefetchA>; }
};
template <bool PrefetchA>
constexpr auto avx512_tiles() {
    return tile_table<Avx512Kernel<PrefetchA>, kMaxPanels>(std::make_integer_sequence<int, kMaxRows>{});
}
// [prefetching a transposed A][mr - 1][np - 1]
const std::array<decltype(avx512_tiles<false>()), 2> kTiles{avx512_tiles<false>(), avx512_tiles<true>()};

// Rows per tile: at most 6, as even as possible (16 rows: 6 + 5 + 5; 32: 6 + 6 + 5 + 5 + 5 + 5, not 6 x 5 + 2, whose
// 2-row tile streams the same B for a third of the multiply-adds). Panels per tile: of a packed B, one group of 4
// (the tile reads B as one stream of 256-byte rows; a 1 x 8 tile reading two groups, two streams, took 1.50 us
// against 1.08 for the product of the header's example); of a B read in place, enough independent accumulators to
// hide the FMA latency (>= 8) and at most 24 of them.
struct RowTiles {
    int64_t tiles, base, extra;  // `extra` tiles of base + 1 rows, then tiles of base rows
    int64_t rows(int64_t t) const { return base + (t < extra ? 1 : 0); }
};
inline RowTiles row_tiles(int64_t m) {
    const int64_t tiles = (m + 5) / 6;
    return {tiles, m / tiles, m % tiles};
}
inline int panels_per_tile(int64_t mr, bool linear) { return !linear || mr >= 5 ? 4 : (mr == 4 ? 6 : 8); }

void block_avx512(int64_t m, int64_t kc, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* bp,
                  int64_t gstride, int64_t brs, int64_t p_lo, int64_t p_hi, float* c, int64_t ldc, bool accumulate,
                  const float* bias, int64_t) {
    if (m <= 0) return;
    const RowTiles rt = row_tiles(m);
    const int np = panels_per_tile(rt.rows(0), panels_linear(gstride));
    // Panel groups outer (a group's kc x np*16 block of B stays in L1/L2 for all rows), rows inner. The first group's
    // tiles prefetch a transposed A (see kPrefetchKAvx512).
    const bool transposed_a = a_rs == 1 && a_cs > 1;
    for (int64_t p = p_lo, npp; p < p_hi; p += npp) {
        npp = tile_room(p, std::min<int64_t>(np, p_hi - p), gstride);
        const int64_t c0 = p * kPanel, cols = std::min(npp * kPanel, n - c0);
        const auto& tiles = kTiles[transposed_a && p == p_lo];
        for (int64_t t = 0, r = 0; t < rt.tiles; r += rt.rows(t), ++t) {
            const int64_t mrr = rt.rows(t);
            tiles[mrr - 1][npp - 1](kc, a + r * a_rs, a_rs, a_cs, bp + panel_offset(p, gstride), panel_stride(gstride), brs,
                                    c + r * ldc + c0, ldc, cols, accumulate, bias ? bias + c0 : nullptr);
        }
    }
}

void block_avx2(int64_t m, int64_t kc, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* bp,
                int64_t gstride, int64_t brs, int64_t p_lo, int64_t p_hi, float* c, int64_t ldc, bool accumulate,
                const float* bias, int64_t span_panels) {
    if (m <= 0) return;
    const RowTiles rt = row_tiles(m);
    const int np = panels_per_tile_avx2(rt.rows(0));
    // Prefetch B's rows when the block's or the thread's part of B is larger than an L2 could keep (see
    // kPrefetchRowsAvx2 and kPrefetchBlockBytes).
    const double panel_bytes = (double)kPanel * kc * sizeof(float);
    const auto& tiles =
        kTilesAvx2[(p_hi - p_lo) * panel_bytes > kPrefetchBlockBytes || span_panels * panel_bytes > kPrefetchThreadBytes];
    for (int64_t p = p_lo, npp; p < p_hi; p += npp) {
        npp = tile_room(p, std::min<int64_t>(np, p_hi - p), gstride);
        const int64_t c0 = p * kPanel, cols = std::min(npp * kPanel, n - c0);
        for (int64_t t = 0, r = 0; t < rt.tiles; r += rt.rows(t), ++t)
            tiles[rt.rows(t) - 1][npp - 1](kc, a + r * a_rs, a_rs, a_cs, bp + panel_offset(p, gstride), panel_stride(gstride), brs,
                                           c + r * ldc + c0, ldc, cols, accumulate, bias ? bias + c0 : nullptr);
    }
}

const bool kHasAvx512 = __builtin_cpu_supports("avx512f");
const bool kHasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
BlockFn best_block() { return kHasAvx512 ? block_avx512 : (kHasAvx2 ? block_avx2 : block_portable); }
BlockFn portable_block() { return kHasAvx2 ? block_avx2 : block_portable; }
#else
const bool kHasAvx512 = false;
BlockFn best_block() { return block_portable; }
BlockFn portable_block() { return block_portable; }
#endif

std::atomic<BlockFn> g_block{best_block()};

#ifdef HPC_X86
bool block_is_portable(BlockFn b) { return b != block_avx512; }
#else
bool block_is_portable(BlockFn) { return true; }
#endif
bool block_is_avx512() { return !block_is_portable(g_block.load(std::memory_order_relaxed)); }

// ---- dot-product kernel: C = A W^T with W row-major (n rows of k floats) read in place, for few rows of A ----
// Each element is one accumulator of lanes over k (in order, the last partial vector masked / summed as scalars),
// then one horizontal sum of its lanes: the same operations whatever the tile it falls in or the thread that runs it.
// Rows [j_lo, j_hi) of W (columns of C), all m rows of A (rows contiguous in k, leading dimension lda).
using DotFn = void (*)(int64_t m, int64_t k, const float* a, int64_t lda, const float* w, int64_t ldw, int64_t j_lo,
                       int64_t j_hi, float* c, int64_t ldc, bool accumulate, const float* bias);

__attribute__((always_inline)) inline float store_value(float sum, const float* cp, bool accumulate, const float* bias) {
    return accumulate ? *cp + sum : (bias ? sum + *bias : sum);
}

// Portable: 8-float GCC vectors over k, the k % 8 tail as scalars.
template <int MR, int NR>
__attribute__((always_inline)) inline void dot_tile_portable(int64_t k, const float* a, int64_t lda, const float* w,
                                                             int64_t ldw, float* c, int64_t ldc, bool accumulate,
                                                             const float* bias) {
    v8 s[MR][NR];
    float t[MR][NR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (int q = 0; q < NR; ++q) s[r][q] = v8{}, t[r][q] = 0.0f;
    int64_t kk = 0;
    for (; kk + 8 <= k; kk += 8) {
        v8 av[MR], wv[NR];
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) av[r] = load8(a + r * lda + kk);
#pragma GCC unroll 8
        for (int q = 0; q < NR; ++q) wv[q] = load8(w + q * ldw + kk);
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
            for (int q = 0; q < NR; ++q) s[r][q] += av[r] * wv[q];
    }
    for (; kk < k; ++kk)
        for (int r = 0; r < MR; ++r)
            for (int q = 0; q < NR; ++q) t[r][q] += a[r * lda + kk] * w[q * ldw + kk];
    for (int r = 0; r < MR; ++r)
        for (int q = 0; q < NR; ++q) {
            const v8 v = s[r][q];
            const float sum = (((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]))) + t[r][q];
            float* cp = c + r * ldc + q;
            *cp = store_value(sum, cp, accumulate, bias ? bias + q : nullptr);
        }
}

// Tiles: one row of A against 8 rows of W (a matrix-vector product: 8 chains hide the FMA latency), or 4 x 4.
template <typename Tile1, typename Tile4>
__attribute__((always_inline)) inline void dot_block_body(int64_t m, int64_t j_lo, int64_t j_hi, Tile1 tile1, Tile4 tile4) {
    if (m == 1) {
        for (int64_t j = j_lo; j < j_hi; j += 8) tile1(j, (int)std::min<int64_t>(8, j_hi - j));
        return;
    }
    for (int64_t j = j_lo; j < j_hi; j += 4) {
        const int nr = (int)std::min<int64_t>(4, j_hi - j);
        for (int64_t i = 0; i < m; i += 4) tile4(i, (int)std::min<int64_t>(4, m - i), j, nr);
    }
}

template <int MR>
__attribute__((always_inline)) inline void dot_tile_portable_nr(int nr, int64_t k, const float* a, int64_t lda, const float* w,
                                                                int64_t ldw, float* c, int64_t ldc, bool accumulate,
                                                                const float* bias) {
    switch (nr) {
        case 1: return dot_tile_portable<MR, 1>(k, a, lda, w, ldw, c, ldc, accumulate, bias);
        case 2: return dot_tile_portable<MR, 2>(k, a, lda, w, ldw, c, ldc, accumulate, bias);
        case 3: return dot_tile_portable<MR, 3>(k, a, lda, w, ldw, c, ldc, accumulate, bias);
        case 4: return dot_tile_portable<MR, 4>(k, a, lda, w, ldw, c, ldc, accumulate, bias);
        default: return dot_tile_portable<MR, 8>(k, a, lda, w, ldw, c, ldc, accumulate, bias);
    }
}

template <int Unused = 0>
__attribute__((always_inline)) inline void dot_portable_body(int64_t m, int64_t k, const float* a, int64_t lda, const float* w,
                                                             int64_t ldw, int64_t j_lo, int64_t j_hi, float* c, int64_t ldc,
                                                             bool accumulate, const float* bias) {
    auto bias_at = [&](int64_t j) { return bias ? bias + j : nullptr; };
    dot_block_body(
        m, j_lo, j_hi,
        [&](int64_t j, int nr) {
            if (nr == 8) return dot_tile_portable<1, 8>(k, a, lda, w + j * ldw, ldw, c + j, ldc, accumulate, bias_at(j));
            for (int q = 0; q < nr; ++q)
                dot_tile_portable<1, 1>(k, a, lda, w + (j + q) * ldw, ldw, c + j + q, ldc, accumulate, bias_at(j + q));
        },
        [&](int64_t i, int mr, int64_t j, int nr) {
            const float* ai = a + i * lda;
            const float* wj = w + j * ldw;
            float* cij = c + i * ldc + j;
            switch (mr) {
                case 1: return dot_tile_portable_nr<1>(nr, k, ai, lda, wj, ldw, cij, ldc, accumulate, bias_at(j));
                case 2: return dot_tile_portable_nr<2>(nr, k, ai, lda, wj, ldw, cij, ldc, accumulate, bias_at(j));
                case 3: return dot_tile_portable_nr<3>(nr, k, ai, lda, wj, ldw, cij, ldc, accumulate, bias_at(j));
                default: return dot_tile_portable_nr<4>(nr, k, ai, lda, wj, ldw, cij, ldc, accumulate, bias_at(j));
            }
        });
}

void dot_portable(int64_t m, int64_t k, const float* a, int64_t lda, const float* w, int64_t ldw, int64_t j_lo, int64_t j_hi,
                  float* c, int64_t ldc, bool accumulate, const float* bias) {
    dot_portable_body(m, k, a, lda, w, ldw, j_lo, j_hi, c, ldc, accumulate, bias);
}

#ifdef HPC_X86
__attribute__((target("avx2,fma"))) void dot_avx2(int64_t m, int64_t k, const float* a, int64_t lda, const float* w,
                                                  int64_t ldw, int64_t j_lo, int64_t j_hi, float* c, int64_t ldc,
                                                  bool accumulate, const float* bias) {
    dot_portable_body(m, k, a, lda, w, ldw, j_lo, j_hi, c, ldc, accumulate, bias);
}

// AVX-512: 16 lanes over k, the last partial vector by masked loads (its missing lanes add 0 * 0).
template <int MR, int NR>
__attribute__((target("avx512f"), always_inline)) inline void dot_step_avx512(__m512 (&s)[MR][NR], const float* a, int64_t lda,
                                                                              const float* w, int64_t ldw, __mmask16 mask) {
    __m512 av[MR], wv[NR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) av[r] = _mm512_maskz_loadu_ps(mask, a + r * lda);
#pragma GCC unroll 8
    for (int q = 0; q < NR; ++q) {
        wv[q] = _mm512_maskz_loadu_ps(mask, w + q * ldw);
        // NR rows of W are NR streams 4 lines ahead of the loads (the hardware prefetcher follows fewer): W's step
        // product at batch 1 (k 1024, n 3072, from L3) 76 -> 65 us.
        _mm_prefetch((const char*)(w + q * ldw + 64), _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (int q = 0; q < NR; ++q) s[r][q] = _mm512_fmadd_ps(av[r], wv[q], s[r][q]);
}

// The sum of the 16 lanes, in a fixed order (the maskz shuffles: GCC 12 warns about the unmasked ones' undefined
// pass-through operand).
__attribute__((target("avx512f"), always_inline)) inline float lane_sum(__m512 v) {
    v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(0xFFFF, v, v, _MM_SHUFFLE(1, 0, 3, 2)));  // lane i + lane i+8
    v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(0xFFFF, v, v, _MM_SHUFFLE(2, 3, 0, 1)));  // + lanes i+4 (and i+12)
    __m128 x = _mm512_maskz_extractf32x4_ps(0xF, v, 0);
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

template <int MR, int NR>
__attribute__((target("avx512f"))) void dot_tile_avx512(int64_t k, const float* a, int64_t lda, const float* w, int64_t ldw,
                                                        float* c, int64_t ldc, bool accumulate, const float* bias) {
    __m512 s[MR][NR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (int q = 0; q < NR; ++q) s[r][q] = _mm512_setzero_ps();
    int64_t kk = 0;
    for (; kk + 16 <= k; kk += 16) dot_step_avx512<MR, NR>(s, a + kk, lda, w + kk, ldw, (__mmask16)0xFFFF);
    if (kk < k) dot_step_avx512<MR, NR>(s, a + kk, lda, w + kk, ldw, (__mmask16)((1u << (k - kk)) - 1u));
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (int q = 0; q < NR; ++q) {
            float* cp = c + r * ldc + q;
            *cp = store_value(lane_sum(s[r][q]), cp, accumulate, bias ? bias + q : nullptr);
        }
}

using DotTileFn = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t, bool, const float*);
template <int MR, int... NRs>
constexpr auto dot_row_of_tiles(std::integer_sequence<int, NRs...>) {
    return std::array<DotTileFn, sizeof...(NRs)>{&dot_tile_avx512<MR, NRs + 1>...};
}
template <int... MRs>
constexpr auto dot_tile_table(std::integer_sequence<int, MRs...>) {
    return std::array<std::array<DotTileFn, 8>, sizeof...(MRs)>{dot_row_of_tiles<MRs + 1>(std::make_integer_sequence<int, 8>{})...};
}
const auto kDotTiles = dot_tile_table(std::make_integer_sequence<int, 4>{});  // kDotTiles[mr - 1][nr - 1]

void dot_avx512(int64_t m, int64_t k, const float* a, int64_t lda, const float* w, int64_t ldw, int64_t j_lo, int64_t j_hi,
                float* c, int64_t ldc, bool accumulate, const float* bias) {
    auto bias_at = [&](int64_t j) { return bias ? bias + j : nullptr; };
    dot_block_body(
        m, j_lo, j_hi,
        [&](int64_t j, int nr) { kDotTiles[0][nr - 1](k, a, lda, w + j * ldw, ldw, c + j, ldc, accumulate, bias_at(j)); },
        [&](int64_t i, int mr, int64_t j, int nr) {
            kDotTiles[mr - 1][nr - 1](k, a + i * lda, lda, w + j * ldw, ldw, c + i * ldc + j, ldc, accumulate, bias_at(j));
        });
}
#endif

DotFn dot_for(BlockFn block) {
#ifdef HPC_X86
    if (block == block_avx512) return dot_avx512;
    if (block == block_avx2) return dot_avx2;
#endif
    return dot_portable;
}

// Rows [i_lo, i_hi) and panels [p_lo, p_hi) of C, blocked over k (outermost, so every element sums its k blocks in
// the same order) and over rows.
inline void transpose16(const float* src, int64_t ld, float* dst, int64_t drs);

// Copies the A block (mb x kc) of a transposed A (element (i, q) at a[i + q * lda]) into rows of kc floats with
// 16 x 16 transposes. The portable kernel then reads each row's k values in order instead of one value per row every
// lda floats: dW = dG^T X at 105 -> 187 GFLOP/s with AVX2 (M 2048, N 512, K 6400); the AVX-512 kernel was no
// faster with it (410-424 vs 402-420), so it reads A in place.
void copy_transposed_a(const float* a, int64_t lda, int64_t mb, int64_t kc, float* dst) {
    alignas(64) float t[kPanel * kPanel];
    int64_t i = 0;
    for (; i + kPanel <= mb; i += kPanel) {
        int64_t q = 0;
        for (; q + kPanel <= kc; q += kPanel) {
            transpose16(a + i + q * lda, lda, t, kPanel);
            for (int64_t r = 0; r < kPanel; ++r)
                for (int64_t v = 0; v < kPanel; ++v) dst[(i + r) * kc + q + v] = t[r * kPanel + v];
        }
        for (; q < kc; ++q)
            for (int64_t r = 0; r < kPanel; ++r) dst[(i + r) * kc + q] = a[i + r + q * lda];
    }
    for (; i < mb; ++i)
        for (int64_t q = 0; q < kc; ++q) dst[i * kc + q] = a[i + q * lda];
}
void gemm_range(int64_t i_lo, int64_t i_hi, int64_t p_lo, int64_t p_hi, int64_t k, int64_t n, const float* a,
                int64_t a_rs, int64_t a_cs, const float* b, int64_t gstride, int64_t brs, float* c, int64_t ldc,
                bool accumulate, const float* bias, int64_t span_panels = 0, int64_t k_blk = 0) {
    const BlockFn block = g_block.load(std::memory_order_relaxed);
    if (k == 0) {  // an empty sum: C = 0 or the bias (or unchanged)
        if (!accumulate)
            for (int64_t i = i_lo; i < i_hi; ++i) {
                const int64_t c0 = p_lo * kPanel, c1 = std::min(p_hi * kPanel, n);
                if (c1 <= c0) continue;
                if (bias) std::copy(bias + c0, bias + c1, c + i * ldc + c0);
                else std::fill(c + i * ldc + c0, c + i * ldc + c1, 0.0f);
            }
        return;
    }
    const int64_t kb = k_blk > 0 ? k_blk : k_block(k, a_cs != 1);
    const bool copy_a = a_rs == 1 && a_cs != 1 && p_hi - p_lo >= 4 && block_is_portable(block);
    thread_local std::vector<float> a_rows;
    if (copy_a && (int64_t)a_rows.size() < kBlockM * std::min(kb, k)) a_rows.resize((size_t)(kBlockM * std::min(kb, k)));
    for (int64_t k0 = 0; k0 < k; k0 += kb) {
        const int64_t kc = std::min(kb, k - k0);
        for (int64_t i0 = i_lo; i0 < i_hi; i0 += kBlockM) {
            const int64_t mb = std::min(kBlockM, i_hi - i0);
            if (copy_a) {
                copy_transposed_a(a + i0 + k0 * a_cs, a_cs, mb, kc, a_rows.data());
                block(mb, kc, n, a_rows.data(), kc, 1, b + k0 * brs, gstride, brs, p_lo, p_hi, c + i0 * ldc, ldc, accumulate || k0 > 0,
                      k0 == 0 ? bias : nullptr, span_panels);
                continue;
            }
            block(mb, kc, n, a + i0 * a_rs + k0 * a_cs, a_rs, a_cs, b + k0 * brs, gstride, brs, p_lo, p_hi,
                  c + i0 * ldc, ldc, accumulate || k0 > 0, k0 == 0 ? bias : nullptr, span_panels);
        }
    }
}

// dst[kk * drs + v] = src[v * ld + kk] for a full 16 x 16 block (the packing of a transposed B: drs is the packed
// row stride).
void transpose16_scalar(const float* src, int64_t ld, float* dst, int64_t drs) {
    for (int64_t v = 0; v < kPanel; ++v)
        for (int64_t kk = 0; kk < kPanel; ++kk) dst[kk * drs + v] = src[v * ld + kk];
}

// dst[kk * drs + v] = src[v * ld + kk] for v < 8, kk < kc: 8 rows of a transposed B into half of each packed row.
void transpose_rows8_scalar(const float* src, int64_t ld, int64_t kc, float* dst, int64_t drs) {
    for (int64_t v = 0; v < 8; ++v)
        for (int64_t kk = 0; kk < kc; ++kk) dst[kk * drs + v] = src[v * ld + kk];
}

#ifdef HPC_X86
// One 8 x 8 transpose (unpack, shuffle, lane permute): dst[kk * drs + v] = src[v * ld + kk], v, kk < 8.
__attribute__((target("avx2"), always_inline)) inline void transpose8_avx2(const float* s0, int64_t ld, float* d0, int64_t drs) {
    __m256 r[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s0 + i * ld);
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(d0 + 0 * drs, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d0 + 1 * drs, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d0 + 2 * drs, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d0 + 3 * drs, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d0 + 4 * drs, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d0 + 5 * drs, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d0 + 6 * drs, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d0 + 7 * drs, _mm256_permute2f128_ps(u3, u7, 0x31));
}
// A full 16 x 16 block as four 8 x 8 transposes.
__attribute__((target("avx2"))) void transpose16_avx2(const float* src, int64_t ld, float* dst, int64_t drs) {
    for (int bv = 0; bv < 2; ++bv)
        for (int bk = 0; bk < 2; ++bk) transpose8_avx2(src + bv * 8 * ld + bk * 8, ld, dst + bk * 8 * drs + bv * 8, drs);
}
// kc (a multiple of 8) values of 8 rows.
__attribute__((target("avx2"))) void transpose_rows8_avx2(const float* src, int64_t ld, int64_t kc, float* dst, int64_t drs) {
    for (int64_t kk = 0; kk < kc; kk += 8) transpose8_avx2(src + kk, ld, dst + kk * drs, drs);
}
inline void transpose16(const float* src, int64_t ld, float* dst, int64_t drs) {
    if (kHasAvx2) transpose16_avx2(src, ld, dst, drs);
    else transpose16_scalar(src, ld, dst, drs);
}
// Rows [k0, k1) of `width` floats (whole panels of one group) of a row-major B with non-temporal stores (each a whole
// 64-byte line of the 64-byte aligned group); the caller then fences, so that the team's hand-off publishes them.
__attribute__((target("avx512f"))) void copy_rows_stream(const float* src, int64_t ld, int64_t k0, int64_t k1, int64_t width,
                                                         float* gd) {
    for (int64_t kk = k0; kk < k1; ++kk)
        for (int64_t v = 0; v < width; v += kPanel) _mm512_stream_ps(gd + kk * group_floats() + v, _mm512_loadu_ps(src + kk * ld + v));
}
__attribute__((target("sse2"))) void stream_fence() { _mm_sfence(); }
inline void transpose_rows8(const float* src, int64_t ld, int64_t kc, float* dst, int64_t drs) {
    if (kHasAvx2) transpose_rows8_avx2(src, ld, kc, dst, drs);
    else transpose_rows8_scalar(src, ld, kc, dst, drs);
}
#else
inline void transpose16(const float* src, int64_t ld, float* dst, int64_t drs) { transpose16_scalar(src, ld, dst, drs); }
inline void transpose_rows8(const float* src, int64_t ld, int64_t kc, float* dst, int64_t drs) {
    transpose_rows8_scalar(src, ld, kc, dst, drs);
}
#endif

}  // namespace

namespace {

// Room for a packed B of k x n (grown as needed, never shrunk); returns where the panels start. 16 floats of slack so
// that the groups can start on a 64-byte boundary: every 16-float row of a panel is then one cache line (a misaligned
// zmm load touches two).
float* packed_storage(int64_t k, int64_t n, std::vector<float>& out) {
    const int64_t panels = packed_panels(n), padded = (panels + g_group - 1) / g_group * g_group;
    if ((int64_t)out.size() < padded * k * kPanel + kPanel) out.resize((size_t)(padded * k * kPanel + kPanel));
    return out.data() + ((64 - (reinterpret_cast<uintptr_t>(out.data()) & 63)) & 63) / sizeof(float);
}

// Packs `k` rows of B (of n columns) into rows [row0, row0 + k) of the packed B at dst, which holds k_total rows
// (see pack_b for src, ld and transposed; transposed only with row0 = 0 and k = k_total).
void pack_rows(const float* src, int64_t ld, bool transposed, int64_t row0, int64_t k, int64_t k_total, int64_t n,
               float* dst, bool allow_stream = true) {
    const int64_t panels = packed_panels(n);
    // The last group's missing panels are left unwritten: no tile reads past panel `panels` - 1.
    auto panel = [&](int64_t p) {  // its row kk (of this call's rows) at + kk * group_floats()
        return dst + panel_offset(p, k_total * group_floats()) + row0 * group_floats();
    };
    // On the team from 20k floats (a few microseconds of copying, worth a hand-off): a layer packs its weights on
    // every call, and at batch 1 that copy is a large part of a short sequence's time.
    const double floats = (double)k * n;
    const int chunks = floats > 2e4 ? std::min<int>(team_size() * (floats > 1e6 ? 4 : 1), (int)panels) : 1;
    [[maybe_unused]] const bool stream = allow_stream && kHasAvx512 && !transposed && 4.0 * (double)k_total * n > kStreamMinBytes;
    team_for(chunks, [&](int member, int parts) {
        const auto [p_lo, p_hi] = team_share(panels, 1, member, parts);
        if (!transposed) {
            // B row-major: row kk of a group is 16G consecutive floats of src's row kk. Rows in passes of 16 (each
            // pass reads its rows once, in order), each pass copying 64G-byte pieces of them into the groups of this
            // member's range (or the part of a group in it). A large B (more than kStreamMinBytes, far past L2) is
            // written with non-temporal stores: the copy then writes its lines without first reading them (W_hh of
            // H 1024 LSTM, 16 MB: 1.22 -> 0.45 ms); a small one stays in cache for the product that follows.
            for (int64_t k0 = 0; k0 < k; k0 += kPanel) {
                const int64_t k1 = std::min(k, k0 + kPanel);
                for (int64_t g = p_lo / g_group; g * g_group < p_hi; ++g) {
                    const int64_t q0 = std::max(p_lo, g * g_group), q1 = std::min(p_hi, (g + 1) * g_group);
                    const int64_t c0 = q0 * kPanel, width = (q1 - q0) * kPanel, cols = std::min(q1 * kPanel, n) - c0;
                    float* gd = panel(q0);
#ifdef HPC_X86
                    if (stream && cols == width) {
                        copy_rows_stream(src + c0, ld, k0, k1, width, gd);
                        continue;
                    }
#endif
                    for (int64_t kk = k0; kk < k1; ++kk) {
                        const float* from = src + kk * ld + c0;
                        float* r = gd + kk * group_floats();
                        if (cols == group_floats()) {
                            for (int64_t v = 0; v < group_floats(); ++v) r[v] = from[v];  // a whole row of the group: no call
                        } else {
                            std::memcpy(r, from, sizeof(float) * cols);
                            std::fill(r + cols, r + width, 0.0f);
                        }
                    }
                }
            }
#ifdef HPC_X86
            if (stream) stream_fence();
#endif
            return;
        }
        for (int64_t p = p_lo; p < p_hi; ++p) {
            float* pd = panel(p);
            const int64_t c0 = p * kPanel, cols = std::min(kPanel, n - c0);
            // Transposed: B[kk, c0 + v] = src[(c0 + v) * ld + kk].
            // A full panel reads its 16 rows of src 8 at a time, in chunks of kPackChunk values (half of each
            // packed row, then the other half while the chunk's packed rows, 256 lines, are still in L1; chunks of
            // 128 measured the same within this VM's noise). Reading all 16 at once, 16 x 16 block by block, ran at
            // half the speed when ld is a multiple of 1024 floats (rows 4 KiB apart share one L1 set, and 16 streams'
            // prefetched lines evicted one another): H 1024 GRU W_hh 450 -> 300 us (k 1000: 300 us either way).
            int64_t k0 = 0;
            if (cols == kPanel) {
                const int64_t k8 = k / 8 * 8;
                for (; k0 < k8; k0 += kPackChunk) {
                    const int64_t kc = std::min(kPackChunk, k8 - k0);
                    for (int64_t half = 0; half < 2; ++half)
                        transpose_rows8(src + (c0 + half * 8) * ld + k0, ld, kc, pd + k0 * group_floats() + half * 8, group_floats());
                }
                k0 = k8;
            }
            for (; k0 < k; k0 += kPanel) {  // a partial panel or the last k % 8 values: 16 x 16 blocks
                const int64_t kb = std::min(kPanel, k - k0);
                if (cols == kPanel && kb == kPanel) {
                    transpose16(src + c0 * ld + k0, ld, pd + k0 * group_floats(), group_floats());
                    continue;
                }
                float blk[kPanel][kPanel] = {};
                for (int64_t v = 0; v < cols; ++v) std::memcpy(blk[v], src + (c0 + v) * ld + k0, sizeof(float) * kb);
                for (int64_t kk = 0; kk < kb; ++kk)
                    for (int64_t v = 0; v < kPanel; ++v) pd[(k0 + kk) * group_floats() + v] = blk[v][kk];
            }
        }
    });
}

}  // namespace

const float* pack_b(const float* src, int64_t ld, bool transposed, int64_t k, int64_t n, std::vector<float>& out) {
    float* dst = packed_storage(k, n, out);
    pack_rows(src, ld, transposed, 0, k, k, n, dst);
    return dst;
}

const float* pack_b_two(const float* src0, int64_t ld0, int64_t k0, const float* src1, int64_t ld1, int64_t k1, int64_t n,
                        std::vector<float>& out) {
    float* dst = packed_storage(k0 + k1, n, out);
    pack_rows(src0, ld0, false, 0, k0, k0 + k1, n, dst);
    pack_rows(src1, ld1, false, k0, k1, k0 + k1, n, dst);
    return dst;
}

namespace {

// C = A B on the team, B either packed or read in place (see BlockFn for gstride and brs).
// f(lo, hi) over [begin, end) in pieces of `piece` (the last one shorter), last piece first when `reverse` and the
// range's part of the weights (`bytes`) is more than half an L2: a step's product walks its part in alternate
// directions from step to step, so that what was read last, still in L2, is read first again (batch 1, GRU / LSTM
// H 512-1024 inference 0.92-0.93x the time, measured side by side; parts that fit L2 anyway were 2-4 % slower in
// pieces). The pieces are whole tiles, so every output is the same sum either way.
constexpr double kReverseMinBytes = 512 * 1024;
template <typename F>
void in_order(int64_t begin, int64_t end, int64_t piece, bool reverse, double bytes, F&& f) {
    if (end <= begin) return;
    if (!reverse || bytes <= kReverseMinBytes) return f(begin, end);
    for (int64_t lo = begin + (end - begin - 1) / piece * piece; lo >= begin; lo -= piece) f(lo, std::min(end, lo + piece));
}

// k_blk: the k block of gemm_range (0: k_block's for this k), for a product cut into parts along k that must sum in
// the blocks of the whole (gemm_ta_two_in_place).
void gemm_team(int64_t m, int64_t k, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
               int64_t gstride, int64_t brs, float* c, int64_t ldc, bool accumulate, const float* bias, bool reverse = false,
               int64_t k_blk = 0) {
    if (m <= 0 || n <= 0) return;
    const int64_t panels = packed_panels(n);
    // Chunks of the output for the team: one per thread for a step's product (so that each thread keeps taking the
    // same columns, whose part of B stays in its L2 from step to step), four per thread for the large products.
    const double flops = 2.0 * m * n * k;
    const int chunks = flops < kTeamMinFlops ? 1 : team_size() * (flops < 1e8 ? 1 : 4);
    team_for(chunks, [&](int member, int parts) {
        if (parts == 1) return gemm_range(0, m, 0, panels, k, n, a, a_rs, a_cs, b, gstride, brs, c, ldc, accumulate, bias, 0, k_blk);
        // Each chunk of columns reads all of A, each chunk of rows all of B: split the rows (in whole tiles of 6) when
        // A is the larger operand (m > n) and there are enough of them, otherwise the columns in units of 4 panels
        // where there are enough, otherwise the rows where there are enough (single panels make 1-panel tiles,
        // which read B 64 bytes in 256 of groups of 4: H 128 tanh B64 T100 training 0.90x the time), the columns in
        // panels last.
        const bool by_groups = panels >= kSplitPanels * parts;
        if ((m <= n || m < 12 * parts) && (by_groups || m < 6 * parts)) {
            const int64_t group = by_groups ? kSplitPanels : 1;
            const auto [p_lo, p_hi] = team_share(panels, group, member, parts);
            // The panels a thread reads over the product (its chunks together), for the prefetch (block_avx2).
            const int64_t span = std::max<int64_t>(p_hi - p_lo, panels / team_size());
            in_order(p_lo, p_hi, group, reverse, 4.0 * (p_hi - p_lo) * kPanel * k, [&](int64_t lo, int64_t hi) {
                gemm_range(0, m, lo, hi, k, n, a, a_rs, a_cs, b, gstride, brs, c, ldc, accumulate, bias, span, k_blk);
            });
        } else {
            const auto [i_lo, i_hi] = team_share(m, 6, member, parts);
            gemm_range(i_lo, i_hi, 0, panels, k, n, a, a_rs, a_cs, b, gstride, brs, c, ldc, accumulate, bias, 0, k_blk);
        }
    });
}

}  // namespace

void gemm_packed(int64_t m, int64_t k, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* packed,
                 float* c, int64_t ldc, bool accumulate, const float* bias, bool reverse) {
    gemm_team(m, k, n, a, a_rs, a_cs, packed, k * group_floats(), group_floats(), c, ldc, accumulate, bias, reverse);
}

void gemm_packed_serial(int64_t m, int64_t k, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* packed,
                        float* c, int64_t ldc, bool accumulate, const float* bias) {
    if (m > 0 && n > 0)
        gemm_range(0, m, 0, packed_panels(n), k, n, a, a_rs, a_cs, packed, k * group_floats(), group_floats(), c, ldc,
                   accumulate, accumulate ? nullptr : bias);
}

void gemm_in_place(int64_t m, int64_t k, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                   int64_t ldb, float* c, int64_t ldc, bool accumulate, bool serial, const float* bias, bool reverse) {
    if (m <= 0 || n <= 0) return;
    if (serial) gemm_range(0, m, 0, packed_panels(n), k, n, a, a_rs, a_cs, b, group_floats(), ldb, c, ldc, accumulate, bias);
    else gemm_team(m, k, n, a, a_rs, a_cs, b, group_floats(), ldb, c, ldc, accumulate, bias, reverse);
}

void gemm_dot(int64_t m, int64_t k, int64_t n, const float* a, int64_t lda, const float* w, int64_t ldw, float* c,
              int64_t ldc, bool accumulate, bool serial, const float* bias, bool reverse) {
    if (m <= 0 || n <= 0) return;
    if (accumulate) bias = nullptr;
    const DotFn dot = dot_for(g_block.load(std::memory_order_relaxed));
    const int chunks = serial || 2.0 * m * n * k < kTeamMinFlops ? 1 : team_size();
    // Each member takes a contiguous range of W's rows (in groups of 8, the widest tile), so that from one call to the
    // next (a layer's steps) it reads the same part of W, kept in its cache.
    team_for(chunks, [&](int member, int parts) {
        const auto [j_lo, j_hi] = team_share(n, 8, member, parts);
        in_order(j_lo, j_hi, 64, reverse, 4.0 * (j_hi - j_lo) * k,
                 [&](int64_t lo, int64_t hi) { dot(m, k, a, lda, w, ldw, lo, hi, c, ldc, accumulate, bias); });
    });
}

namespace {

// Whether gemm_copied_a's rule applies (see there; gemm_b_by_block follows it too).
bool copies_a(int64_t m, int64_t n, int64_t k) {
    return k > kMaxSingleBlockK && (double)m * n >= g_copy_a_min_output.load(std::memory_order_relaxed) && block_is_avx512();
}
// The scratch for a transposed A's k blocks copied into rows (m x kb floats), kept per thread like the packing buffer.
float* copied_a_rows(int64_t m, int64_t kb) {
    thread_local std::vector<float> rows;
    if ((int64_t)rows.size() < m * kb) rows.resize((size_t)(m * kb));
    return rows.data();
}
// Copies columns [k0, k0 + kc) of a transposed A into m rows of kc floats at dst, on the team.
void copy_a_block(const float* a, int64_t lda, int64_t m, int64_t k0, int64_t kc, float* dst) {
    const int64_t blocks16 = (m + kPanel - 1) / kPanel;
    team_for(std::min<int64_t>(team_size(), blocks16), [&](int member, int parts) {
        const auto [i0, i1] = team_share(m, kPanel, member, parts);
        if (i1 > i0) copy_transposed_a(a + i0 + k0 * lda, lda, i1 - i0, kc, dst + i0 * kc);
    });
}
// C = A B (+ C) for a transposed A (element (i, q) at a[i + q * lda]) over a long k with a large C (the weight
// gradients dG^T X of H 1024 layers, k = T*B): each k block of A is first copied into rows (on the team), so that k is
// summed in the non-transposed blocks of up to 1024 values instead of 256 (which a transposed A needs to stay in L2),
// and C, too large for the caches, is read and written a quarter as often. Measured, GFLOP/s: M 4096 N 1024 K 6400
// 348 -> 371, K 1600 331 -> 387, M 3072 N 1024 K 6400 347 -> 372. Smaller C, remeasured with today's kernel (time
// copied / not, median of 4 alternations): M 1024 N 1024 K 6400 0.93x, M 1536 N 512 K 6400 0.96x, M 2048 N 512
// 0.98-1.00x; below 7e5 elements the sign is not consistent (M 768 N 256 K 6400 0.92x, M 1024 N 256 1.035x, M 512
// N 128 1.11x), hence kCopyAMinOutput (GRU B64 H512 training: dW_hh 0.965x by phase, the layer 0.985-1.008x over four
// alternations, within this VM's noise). AVX-512 only:
// the portable kernel copies its A blocks into rows anyway (gemm_range). The scratch (m x 1024 floats) is kept per
// thread, like the packing buffer.
void gemm_copied_a(int64_t m, int64_t k, int64_t n, const float* a, int64_t lda, const float* packed, float* c,
                   int64_t ldc, bool accumulate, const float* bias) {
    const int64_t kb = k_block(k, false);
    float* const dst = copied_a_rows(m, kb);
    for (int64_t k0 = 0; k0 < k; k0 += kb) {
        const int64_t kc = std::min(kb, k - k0);
        copy_a_block(a, lda, m, k0, kc, dst);
        gemm_team(m, kc, n, dst, kc, 1, packed + k0 * group_floats(), k * group_floats(), group_floats(), c, ldc, accumulate || k0 > 0,
                  k0 == 0 ? bias : nullptr);
    }
}

// Whether C = A B (+ C) for a transposed A (the weight gradients dG^T X and dG^T h) over a row-major B reads B in
// place instead of packing it (every call packed X or h, T*B rows, 0.4-26 MB): B's width whole panels, A read in place
// too (not copies_a), AVX-512 (its tiles read 4 panels, 256 bytes, of each B row; the AVX2 tile reads one panel, the
// 64-byte pattern its single-panel packing avoids). The same blocks, tiles' sums and bits. Measured on a Zen 4, two
// threads, B packed / in place in one process (gemm_interleaved_ab.cpp mode 1, time in place / packed, median of
// pairs): M 512 N 128, K 100 0.915x, K 400 0.95x, K 1600 0.965x, K 6400 0.98x; M 768 N 256 K 6400 0.97x, M 1024 N 256
// K 1600 0.99x, K 6400 0.97x; M 512 N 512 K 6400 1.00x (in a slower phase of the VM, minutes before: M 512 N 128 K 1600
// 0.82x, K 6400 0.87x, M 1024 N 256 K 6400 0.99x). A row-major A (dX) with B in place: 1.00-1.06x (M 1600 N 1024
// K 4096 1.06x), so it keeps packing. Layers (rnn_lib_ab.cpp, training, same bits): LSTM B64 T25 H128 0.99x, B64 T100
// H256 0.987x, B1 T100 H256 0.976x, B16 T25 H128 0.99x, tanh B64 T100 H256 0.988x, GRU B64 T100 H256 0.995x, the rest
// 0.997-1.002x (LSTM B64 T100 H128 1.002x, where the packing had been 4 % of the profile: the tiles reading B from
// rows 512 bytes apart took that time instead; bench/results/2026-11-25-zen4-b-in-place.md).
bool reads_b_in_place_ta(int64_t m, int64_t n, int64_t k) {
    return n % kPanel == 0 && block_is_avx512() && !copies_a(m, n, k);
}

// Whether C = op(A) B over a row-major B of k x n packs B one k block at a time (gemm_b_by_block).
bool packs_b_by_block(int64_t k, int64_t n) {
    return k > kMaxSingleBlockK && 4.0 * (double)k * n > g_block_b_min_bytes.load(std::memory_order_relaxed);
}

// C = op(A) B (+ C) for a row-major B of k0 + k1 rows, the first k0 from src0 and the rest from src1: the weight
// gradients dG^T X and dG^T h over T*B rows (A transposed, element (i, q) at a[i + q * lda]), whose B of 6-26 MB is
// packed on every call, and dX = dG W_ih (A row-major) with a W_ih of 4-16 MB. B is packed one k block at a time, the
// blocks the product sums anyway (k_block's: 256 values for a transposed A read in place, up to 1024 otherwise), with
// ordinary stores into a buffer that stays in cache, and that block's product follows: packed whole, B was written
// to memory with non-temporal stores (AVX-512) and read back. The same k blocks summed in the same order, so the same
// bits as packing B whole. Measured (time blocked / whole, median of 3 alternations, the pack included): A
// transposed, M 512 N 512 K 6400 0.98x, M 768 N 256 K 6400 0.93x, M 4096 N 1024 K 6400 0.99x; A row-major (dX),
// M 400 N 1024 K 4096 0.95x (LSTM B16 T25 H1024: dX 8.05-8.17 -> 7.75-7.78 ms by phase), M 400 N 1024 K 3072 0.99x,
// M 1600 N 512 K 2048 0.98x, M 6400 N 1024 K 4096 0.99x; a B that stays in cache when packed whole (M 1024 N 256
// K 1600, 1.6 MB) 1.04x, hence packs_b_by_block.
void gemm_b_by_block(bool trans_a, int64_t m, int64_t n, const float* a, int64_t lda, const float* src0, int64_t ld0,
                     int64_t k0, const float* src1, int64_t ld1, int64_t k1, bool accumulate, float* c, int64_t ldc,
                     std::vector<float>& pack, const float* bias) {
    const int64_t k = k0 + k1;
    const bool copied = trans_a && copies_a(m, n, k);
    const int64_t kb = k_block(k, trans_a && !copied);
    float* const bp = packed_storage(std::min(kb, k), n, pack);
    float* const rows = copied ? copied_a_rows(m, kb) : nullptr;
    for (int64_t q0 = 0; q0 < k; q0 += kb) {
        const int64_t kc = std::min(kb, k - q0);
        const int64_t from0 = std::max<int64_t>(0, std::min(k0, q0 + kc) - q0);  // the block's rows from src0
        if (from0 > 0) pack_rows(src0 + q0 * ld0, ld0, false, 0, from0, kc, n, bp, false);
        if (kc > from0) pack_rows(src1 + (q0 + from0 - k0) * ld1, ld1, false, from0, kc - from0, kc, n, bp, false);
        const bool acc = accumulate || q0 > 0;
        const float* bs = q0 == 0 ? bias : nullptr;
        if (copied) {
            copy_a_block(a, lda, m, q0, kc, rows);
            gemm_team(m, kc, n, rows, kc, 1, bp, kc * group_floats(), group_floats(), c, ldc, acc, bs);
        } else {  // A read in place: element (i, q) at a[i * a_rs + q * a_cs]
            const int64_t a_rs = trans_a ? 1 : lda, a_cs = trans_a ? lda : 1;
            gemm_team(m, kc, n, a + q0 * a_cs, a_rs, a_cs, bp, kc * group_floats(), group_floats(), c, ldc, acc, bs);
        }
    }
}

// gemm_f32_ta_two's product where B is read in place (reads_b_in_place_ta; k > kMaxSingleBlockK, so k blocks of
// kBlockK): the k blocks that lie in one source read it in place, the one that holds rows of both (if any) is packed;
// each part sums in the whole product's k blocks, so the same bits as packing all of B.
void gemm_ta_two_in_place(int64_t m, int64_t n, const float* a, int64_t lda, const float* src0, int64_t ld0, int64_t k0,
                          const float* src1, int64_t ld1, int64_t k1, bool accumulate, float* c, int64_t ldc,
                          std::vector<float>& pack) {
    const int64_t k = k0 + k1, kb = k_block(k, true);
    // [0, s0): src0's whole blocks (all of it when src1 is empty); [s0, s1): the block that straddles; [s1, k): src1
    const int64_t s0 = k1 == 0 ? k : k0 / kb * kb, s1 = std::max(s0, std::min(k, (k0 + kb - 1) / kb * kb));
    bool acc = accumulate;
    if (s0 > 0) {
        gemm_team(m, s0, n, a, 1, lda, src0, group_floats(), ld0, c, ldc, acc, nullptr, false, kb);
        acc = true;
    }
    if (s1 > s0) {
        const int64_t kc = s1 - s0, from0 = k0 - s0;
        float* const bp = packed_storage(kc, n, pack);
        pack_rows(src0 + s0 * ld0, ld0, false, 0, from0, kc, n, bp, false);
        pack_rows(src1, ld1, false, from0, kc - from0, kc, n, bp, false);
        gemm_team(m, kc, n, a + s0 * lda, 1, lda, bp, kc * group_floats(), group_floats(), c, ldc, acc, nullptr, false, kb);
        acc = true;
    }
    if (k > s1)
        gemm_team(m, k - s1, n, a + s1 * lda, 1, lda, src1 + (s1 - k0) * ld1, group_floats(), ld1, c, ldc, acc, nullptr,
                  false, kb);
}

}  // namespace

void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
              const float* b, int64_t ldb, bool accumulate, float* c, int64_t ldc, std::vector<float>& pack,
              const float* bias) {
    if (m <= 0 || n <= 0) return;
    if (accumulate) bias = nullptr;
    // Few rows of A against a transposed B (e.g. an input projection X W^T of a short sequence): W is read in place by
    // dot products instead of packed, since its copy would cost more than the product saves.
    if (trans_b && !trans_a && m <= kDotMaxRows && k >= kDotMinK) return gemm_dot(m, k, n, a, lda, b, ldb, c, ldc, accumulate, false, bias);
    // Few rows of A do not pay for a copy of B: a row-major B whose width is whole panels is read in place.
    if (gemm_f32_reads_b_in_place(trans_b, m, n))
        return gemm_in_place(m, k, n, a, trans_a ? 1 : lda, trans_a ? lda : 1, b, ldb, c, ldc, accumulate, false, bias);
    if (trans_a && !trans_b && reads_b_in_place_ta(m, n, k))
        return gemm_in_place(m, k, n, a, 1, lda, b, ldb, c, ldc, accumulate, false, bias);
    if (!trans_b && packs_b_by_block(k, n))
        return gemm_b_by_block(trans_a, m, n, a, lda, b, ldb, k, nullptr, 0, 0, accumulate, c, ldc, pack, bias);
    gemm_f32_packed(trans_a, m, n, k, a, lda, pack_b(b, ldb, trans_b, k, n, pack), accumulate, c, ldc, bias);
}

void gemm_f32_packed(bool trans_a, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed,
                     bool accumulate, float* c, int64_t ldc, const float* bias) {
    if (m <= 0 || n <= 0) return;
    if (accumulate) bias = nullptr;
    if (trans_a && copies_a(m, n, k)) return gemm_copied_a(m, k, n, a, lda, packed, c, ldc, accumulate, bias);
    gemm_packed(m, k, n, a, trans_a ? 1 : lda, trans_a ? lda : 1, packed, c, ldc, accumulate, bias);
}

void gemm_f32_ta_two(int64_t m, int64_t n, const float* a, int64_t lda, const float* src0, int64_t ld0, int64_t k0,
                     const float* src1, int64_t ld1, int64_t k1, bool accumulate, float* c, int64_t ldc,
                     std::vector<float>& pack) {
    if (m <= 0 || n <= 0) return;
    if (k0 + k1 > kMaxSingleBlockK && reads_b_in_place_ta(m, n, k0 + k1))
        return gemm_ta_two_in_place(m, n, a, lda, src0, ld0, k0, src1, ld1, k1, accumulate, c, ldc, pack);
    if (packs_b_by_block(k0 + k1, n))
        return gemm_b_by_block(true, m, n, a, lda, src0, ld0, k0, src1, ld1, k1, accumulate, c, ldc, pack, nullptr);
    gemm_f32_packed(true, m, n, k0 + k1, a, lda, pack_b_two(src0, ld0, k0, src1, ld1, k1, n, pack), accumulate, c, ldc);
}

void packed_gemm_block_b_min_bytes(double bytes) { g_block_b_min_bytes.store(bytes < 0 ? kStreamMinBytes : bytes); }
void packed_gemm_copy_a_min_output(double elements) {
    g_copy_a_min_output.store(elements < 0 ? kCopyAMinOutput : elements);
}
int64_t packed_group_panels() { return g_group; }
void packed_gemm_group_panels(int64_t panels) { g_group = panels == 1 || panels == 2 || panels == 4 ? panels : default_group_panels(); }
void packed_gemm_use_best(bool best) { g_block.store(best ? best_block() : portable_block()); }
const char* packed_gemm_kernel_name() {
#ifdef HPC_X86
    const BlockFn b = g_block.load();
    return b == block_avx512 ? "avx512" : b == block_avx2 ? "avx2+fma" : "portable";
#else
    return "portable";
#endif
}

}  // namespace hpc::cpu
