// float32 GEMM on a pre-packed B operand, HPC's own kernel for the recurrent layers:
//  - the recurrent product of every time step (h_{t-1} W_hh^T forward, dG_t W_hh backward): M is the batch (1..64)
//    and B the same weights at every step, so B is packed once per layer and direction and each step is a
//    register-tiled loop over it (a BLAS call pays a copy of B, a call and a thread hand-off per step);
//  - the large products of a layer (input projection, weight gradients, dX), blocked for the caches.
// AVX-512 when the CPU has it (one zmm per packed row), otherwise a portable loop built for AVX2+FMA and for plain
// x86-64; both split the work between the members of the thread team (thread_team.h) by disjoint output blocks.
// Every output element is the same chain of multiply-adds over k (blocked by k_block) whatever the tile shape or
// the number of threads, so results do not depend on the thread count.
//
// Packed layout: column panels of kPanel floats, in groups of packed_group_panels() panels (4 with AVX-512, 1
// otherwise). Group g of G panels holds B[k, 16Gg .. 16Gg + 16G - 1] for k = 0..K-1, one row of 16G floats after
// another; columns past N in the last panel are zero, and the last group has room for G panels (those past N
// unwritten, never read). An AVX-512 tile of a packed B covers at most one group, so it reads B as one sequential
// stream of 256-byte rows instead of up to 4 streams K * 64 bytes apart: at batch 1, where the step's product is
// bound by reading W_hh from L2, h W_hh^T at K 128, N 384 (192 KB) took 1.57 -> 1.14 us on one core (K 128, N 1536:
// 6.3 -> 3.5). The AVX2 kernel's tiles of 4-6 rows read one panel, which in groups of 4 meant 64 bytes of every 256:
// with single panels (one stream of whole lines) the step products ran in 0.86-0.91x the time at H 1024 (W_hh from
// L3), 0.72-0.82x at 2 and 4 rows, 0.97-1.00x at the other shapes measured (Zen 3;
// bench/results/2026-11-24-gemm-avx2-unroll.md). The layout is chosen once per process; the products are the same
// bits in either.
#pragma once

#include <cstdint>
#include <vector>

namespace hpc::cpu {

constexpr int64_t kPanel = 16;
// Panels per group of the packed layout (see above).
int64_t packed_group_panels();
// k is summed in one block up to kMaxSingleBlockK (a step's product, an input projection: the tile's accumulators
// stay in registers for the whole sum and C is written once); beyond it in blocks, each block's sum added to C:
//  - A's rows contiguous in k (dX = dG W_ih at H 1024, square products): the fewest equal blocks of at most
//    kMaxSingleBlockK values (k 4096: 4 x 1024), since each block reads and writes all of C again. Measured against
//    256-value blocks: 2048^3 398 -> 432 GFLOP/s, M 6400 N 1024 K 4096 411 -> 441.
//  - A transposed (the weight gradients dG^T X over T*B rows): blocks of kBlockK, so that a block of A's columns
//    (kBlockM x 256, read a value per row) stays in L2; 1024-value blocks ran 15-20 % slower there.
// The rule depends on k and A's layout alone, never on the thread count.
constexpr int64_t kBlockK = 256;
constexpr int64_t kMaxSingleBlockK = 1024;
inline int64_t k_block(int64_t k, bool a_transposed) {
    if (k <= kMaxSingleBlockK) return k > 0 ? k : 1;
    if (a_transposed) return kBlockK;
    const int64_t blocks = (k + kMaxSingleBlockK - 1) / kMaxSingleBlockK;
    return ((k + blocks - 1) / blocks + 15) / 16 * 16;
}
constexpr double kTeamMinFlops = 3e5;  // a product smaller than this runs on the calling thread alone

inline int64_t packed_panels(int64_t n) { return (n + kPanel - 1) / kPanel; }

// Packs B (K x N) into `out` (grown as needed, never shrunk), on the thread team, and returns where the panels start
// (64-byte aligned inside `out`). With `transposed`, src is the N x K row-major matrix whose transpose is B (e.g.
// PyTorch's W_hh for the forward product); otherwise src is B, K x N row-major. ld is src's leading dimension.
const float* pack_b(const float* src, int64_t ld, bool transposed, int64_t k, int64_t n, std::vector<float>& out);

// Packs a row-major B (K x N) whose first k0 rows come from src0 and the next k1 rows from src1 (leading dimensions
// ld0, ld1): the h_{t-1} of a layer's weight gradient, h0 for one step and the layer's outputs for the others, packed
// as one operand without first copying them together.
const float* pack_b_two(const float* src0, int64_t ld0, int64_t k0, const float* src1, int64_t ld1, int64_t k1, int64_t n,
                        std::vector<float>& out);

// C[M, N] = A B (+ C when accumulate), B packed. A's element (i, k) is a[i * a_rs + k * a_cs]; C is row-major with
// leading dimension ldc. Columns at or past n are neither read nor written. Runs on the thread team when the product
// is large enough to pay for the hand-off. `bias` (n floats, optional, ignored when accumulate): C = A B + bias on
// every row, added as the tiles are stored (the same sum as filling C with the bias and accumulating, bit for bit,
// without the pass over C). `reverse`: each thread walks its columns last first (see in_order in packed_gemm.cpp; a
// recurrent layer alternates it from step to step), the same results.
void gemm_packed(int64_t m, int64_t k, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* packed,
                 float* c, int64_t ldc, bool accumulate, const float* bias = nullptr, bool reverse = false);

// The same on the calling thread only (for callers that split the rows among the team themselves).
void gemm_packed_serial(int64_t m, int64_t k, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* packed,
                        float* c, int64_t ldc, bool accumulate, const float* bias = nullptr);

// C = A B (+ C) with B row-major (K x N, leading dimension ldb) read in place, no packing: for products whose few rows
// of A would not pay for a copy of B (a step's dh_{t-1} = dG_t W_hh), and (AVX-512) the weight gradients, whose A is
// transposed (gemm_f32). n must be a multiple of kPanel. `serial`: run on the calling thread only.
void gemm_in_place(int64_t m, int64_t k, int64_t n, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
                   int64_t ldb, float* c, int64_t ldc, bool accumulate, bool serial, const float* bias = nullptr,
                   bool reverse = false);
constexpr int64_t kInPlaceMaxRows = 64;  // gemm_f32 reads B in place below this many rows of A
// Whether gemm_f32 reads B in place instead of packing it: a row-major B (trans_b false) whose width is whole panels,
// under fewer than kInPlaceMaxRows rows of A.
inline bool gemm_f32_reads_b_in_place(bool trans_b, int64_t m, int64_t n) {
    return !trans_b && n % kPanel == 0 && m < kInPlaceMaxRows;
}

// C = A W^T (+ C) with W row-major (n rows of k floats, leading dimension ldw) read in place by dot products, A
// row-major (m rows of k, leading dimension lda): for few rows of A, where packing W would cost more than it saves
// (a step's product at batch 1, the input projection of a short sequence). Split by rows of W on the
// team unless `serial`; `bias` as in gemm_packed. The sums run in another order than the packed kernel's (16 lanes
// over k, then a horizontal sum), the same for every tile and thread count.
void gemm_dot(int64_t m, int64_t k, int64_t n, const float* a, int64_t lda, const float* w, int64_t ldw, float* c,
              int64_t ldc, bool accumulate, bool serial, const float* bias = nullptr, bool reverse = false);
// gemm_f32 uses gemm_dot for a transposed B, at most kDotMaxRows rows of A and k >= kDotMinK: below that k, a dot
// product's horizontal sum costs too much beside its k / 16 multiply-adds (batch 1, T 25, H 128 layers ran 3-30 %
// slower with it; from H 256 up 0-27 % faster than packing W_ih, measured side by side).
constexpr int64_t kDotMaxRows = 32, kDotMinK = 256;

// C = op(A) op(B) (+ C), row-major like BLAS: op(A) is M x K (A is K x M when trans_a), op(B) is K x N (B is N x K
// when trans_b). Packs B into `pack` first, except that a row-major B whose width is whole panels is read in place
// when A has fewer than kInPlaceMaxRows rows or (AVX-512) A is transposed and read in place (the weight gradients;
// see reads_b_in_place_ta in packed_gemm.cpp), and that a large row-major B over a long k (the weight gradients, a
// layer's dX) is packed one k block at a time (see gemm_b_by_block there). `bias` as in gemm_packed.
void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
              const float* b, int64_t ldb, bool accumulate, float* c, int64_t ldc, std::vector<float>& pack,
              const float* bias = nullptr);

// gemm_f32 with B packed already (by pack_b or pack_b_two): the same products, bit for bit.
void gemm_f32_packed(bool trans_a, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed,
                     bool accumulate, float* c, int64_t ldc, const float* bias = nullptr);

// C = A^T B (+ C), A stored k x m (lda), B row-major of k0 + k1 rows: the first k0 from src0, then k1 from src1
// (leading dimensions ld0, ld1): a weight gradient dG^T h, h0 for one step and the layer's outputs for the others,
// without first copying them together. The same bits as gemm_f32(true, false, ...) on the rows put together. Over
// more than one k block, where gemm_f32 would read B in place, the blocks inside one part are read in place and the
// one that straddles the two is packed (gemm_ta_two_in_place in packed_gemm.cpp); otherwise a large B is packed one k
// block at a time (gemm_b_by_block), as gemm_f32 does for one.
void gemm_f32_ta_two(int64_t m, int64_t n, const float* a, int64_t lda, const float* src0, int64_t ld0, int64_t k0,
                     const float* src1, int64_t ld1, int64_t k1, bool accumulate, float* c, int64_t ldc,
                     std::vector<float>& pack);

// Test hooks: force the portable kernel (false) or the best one for this CPU (true).
void packed_gemm_use_best(bool best);
// Test hook: the size of C from which a transposed A with k > 1024 is copied into rows first (default 7e5 elements;
// a negative value restores it).
void packed_gemm_copy_a_min_output(double elements);
// Test hook: the packed size of B (bytes) above which a product over a row-major B with k > 1024 packs B one k block
// at a time (default 4e6; a negative value restores it).
void packed_gemm_block_b_min_bytes(double bytes);
// Test hook: the packed layout's panels per group (1, 2 or 4; 0 restores the CPU's choice). Only while no product
// runs and no packed B is kept (a B packed before the change is read wrongly after it).
void packed_gemm_group_panels(int64_t panels);
// The float32 GEMM block kernel in use: "avx512", "avx2+fma" or "portable" (for the backend line).
const char* packed_gemm_kernel_name();

}  // namespace hpc::cpu
