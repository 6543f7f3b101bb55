#include "rnn_cpu.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <type_traits>

#include <unistd.h>

#include "blas.h"
#include "packed_gemm.h"
#include "thread_team.h"
#include "vmath.h"

namespace hpc::cpu {
namespace {

// Grows (never shrinks) a buffer so that steady-state calls do not allocate.
template <typename T>
inline T* ensure(std::vector<T>& v, int64_t n) {
    if ((int64_t)v.size() < n) v.resize((size_t)n);
    return v.data();
}

// [B,T,C] <-> [T,B,C]; src_inner (default `inner`): the source's rows of one outer index are src_inner apart, so
// that a window of inner indices can be taken from a longer source.
template <typename T>
void swap_batch_time(const T* src, T* dst, int64_t outer, int64_t inner, int64_t c, int64_t src_inner = 0) {
    if (src_inner == 0) src_inner = inner;
    for (int64_t a = 0; a < outer; ++a)
        for (int64_t b = 0; b < inner; ++b) std::memcpy(dst + (b * outer + a) * c, src + (a * src_inner + b) * c, sizeof(T) * c);
}

struct Geometry {
    int64_t B, T, I, H, G, D, L;
    int64_t TB() const { return T * B; }
    int64_t GH() const { return G * H; }
    int64_t DH() const { return D * H; }
    int64_t BH() const { return B * H; }
};

Geometry geometry(const RnnDims& d, int64_t batch, int64_t steps) {
    return {batch, steps, d.input, d.hidden, d.gates(), d.directions, d.layers};
}

// The recurrent products of every step. float32: W_hh is packed once per layer and direction (into ws.packed) and
// each step runs the small-M packed kernel. Short sequences at batch 1 with a W_hh larger than the two cores' L2
// (kDotMinWeightBytes) instead read W_hh in place by dot products (gemm_dot) and pack nothing: from memory a packed
// step is not much faster, and the copy costs as much as 5-10 steps' products (measured, one step's product packed /
// in place and the copy, us: k 512 n 1536 15.3 / 16.5, pack 52; k 1024 n 3072 58 / 74, pack 440). A W_hh that fits
// (GRU / LSTM H 256, tanh H 512) is packed: k 256 n 1024 2.6 / 4.9, pack 16; k 512 n 512 2.5 / 4.8, pack 19.
// float64 (the reference path) calls BLAS.
// Forward: step[B, GH] = h_prev[B, H] W_hh^T.  Backward: dh[B, H] (+)= dG[B, GH] W_hh.
constexpr int64_t kDotMaxSteps = 32;
constexpr double kDotMinWeightBytes = 2 * 1024 * 1024;
// The two layouts of W_hh [GH, H] for the step kernels (also kept by frozen parameters): W_hh^T for the forward
// steps, W_hh for the backward ones.
inline const float* pack_hh_forward(const float* w_hh, int64_t H, int64_t GH, std::vector<float>& buf) {
    return pack_b(w_hh, H, true, H, GH, buf);
}
inline const float* pack_hh_backward(const float* w_hh, int64_t H, int64_t GH, std::vector<float>& buf) {
    return pack_b(w_hh, H, false, GH, H, buf);
}
const float* pack_forward(const float* w_hh, const Geometry& g, std::vector<float>& buf) {
    if (g.B == 1 && g.T <= kDotMaxSteps && 4.0 * g.GH() * g.H > kDotMinWeightBytes) return nullptr;
    return pack_hh_forward(w_hh, g.H, g.GH(), buf);
}
const double* pack_forward(const double*, const Geometry&, std::vector<double>&) { return nullptr; }
// Backward packs W_hh too, except for short sequences at batch < 4 with H a whole number of panels where reading
// it in place (nullptr: nothing packed) costs less than the copy:
//  - H <= 128: a tile then reads whole rows of W_hh, one stream, as fast as the packed groups (k 512, n 128: 1.49
//    us a step either way; the copy 10 us);
//  - W_hh of 2-8 MB (past the L2s, so that packing gains less a step). Read in place, its rows 4 KiB apart (H 1024)
//    fed the kernel at 60-65 % of the packed speed (dh = dG W_hh, H 1024 LSTM: batch 64 1.73 -> 1.15 ms a step,
//    batch 1 152 -> 80 us), which repays the copy (1.1 ms) within a few steps at batch 64 and within about 15 at
//    batch 1. Batch 1, T 25, measured side by side: packing was 3-10 % faster for the 12-16 MB W_hh of GRU / LSTM
//    H 1024, 9-20 % slower for 4 MB (LSTM H 512, tanh H 1024).
// A W_hh of up to 2 MB with H > 128 is packed: k 1024 n 256 a step 2.8 us packed, 5.9 in place, the copy 45 us
// (LSTM B1 T25 H256 training 0.87x, tanh H512 0.88x the time, alternated).
const float* pack_backward(const float* w_hh, const Geometry& g, std::vector<float>& buf) {
    constexpr double kInPlaceMaxBytes = 8e6;
    const double bytes = 4.0 * g.GH() * g.H;
    const bool one_stream = g.H <= 8 * kPanel, from_memory = bytes > kDotMinWeightBytes && bytes <= kInPlaceMaxBytes;
    if (g.H % kPanel == 0 && g.B < 4 && g.T <= kDotMaxSteps && (one_stream || from_memory)) return nullptr;
    return pack_hh_backward(w_hh, g.H, g.GH(), buf);
}
const double* pack_backward(const double*, const Geometry&, std::vector<double>&) { return nullptr; }

// `serial`: the caller has split the batch rows among the team and runs this on one member. `reverse` (every other
// step): each thread walks its part of W_hh last first, so that what is still in its L2 from the step before is read
// first (the same results).
inline void step_forward(int64_t B, int64_t GH, int64_t H, const float* h, int64_t ld_h, const float* w_hh, const float* packed,
                         float* step, bool serial, bool reverse) {
    if (!packed) gemm_dot(B, H, GH, h, ld_h, w_hh, H, step, GH, false, serial, nullptr, reverse);
    else if (serial) gemm_packed_serial(B, H, GH, h, ld_h, 1, packed, step, GH, false);
    else gemm_packed(B, H, GH, h, ld_h, 1, packed, step, GH, false, nullptr, reverse);
}
inline void step_forward(int64_t B, int64_t GH, int64_t H, const double* h, int64_t ld_h, const double* w_hh, const double*,
                         double* step, bool, bool) {
    gemm(false, true, B, GH, H, 1.0, h, ld_h, w_hh, H, 0.0, step, GH);
}
inline void step_backward(int64_t B, int64_t GH, int64_t H, const float* dg, const float* w_hh, const float* packed, bool add,
                          float* dh, bool serial, bool reverse) {
    if (!packed) gemm_in_place(B, GH, H, dg, GH, 1, w_hh, H, dh, H, add, serial, nullptr, reverse);
    else if (serial) gemm_packed_serial(B, GH, H, dg, GH, 1, packed, dh, H, add);
    else gemm_packed(B, GH, H, dg, GH, 1, packed, dh, H, add, nullptr, reverse);
}
inline void step_backward(int64_t B, int64_t GH, int64_t H, const double* dg, const double* w_hh, const double*, bool add,
                          double* dh, bool, bool) {
    gemm(false, false, B, H, GH, 1.0, dg, GH, w_hh, H, add ? 1.0 : 0.0, dh, H);
}

// How many parts the batch rows of a layer's steps are split into, one per team member (float32 only): a member then
// runs every step's product and pointwise pass for its rows, all steps in one section (a row's steps depend on its
// own state alone: GRU B64 T100 H128 training 0.977x, LSTM B64 T100 H128 inference 0.964x the time of a hand-off per
// step). Each member reads all of W_hh at every step, so this is done only while the packed W_hh is at most a core's
// L2 (sysconf; 512 KiB where it is not known). On this machine's 1 MiB L2, against a 512 KiB limit, side by side
// (three alternations, this VM's noise about 3 %): GRU H 256 B16-64 0.96-1.02x the time (B64 T25 training 0.975x in
// the last), LSTM H 256 and tanh H 512 (W_hh of 1 MiB) 0.97-1.00x: a small gain. Larger W_hh (and small batches)
// keep one part, and gemm_packed splits each step's product by columns instead (each thread keeping its part of W_hh
// in cache from step to step), with the pointwise pass on the caller.

// When the rows do not split (W_hh too large), the product is split by columns inside gemm_packed and the pointwise
// pass gets a section of its own, split by rows, if there is enough of it (float32, batch >= 8).
template <typename T>
int pointwise_row_chunks(int64_t B, int64_t H) {
    if (!std::is_same<T, float>::value || B < 8 || B * H < 4096) return 1;
    return (int)std::min<int64_t>(team_size(), B / 4);
}

inline double l2_bytes() {
    static const double bytes = [] {
#ifdef _SC_LEVEL2_CACHE_SIZE
        const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
        if (v > 0) return (double)v;
#endif
        return 512.0 * 1024;
    }();
    return bytes;
}

template <typename T>
int step_row_chunks(int64_t B, int64_t GH, int64_t H) {
    if (!std::is_same<T, float>::value || B < 8 || 2.0 * B * GH * H < kTeamMinFlops) return 1;
    if (4.0 * GH * H > l2_bytes()) return 1;
    return (int)std::min<int64_t>(team_size(), B / 4);
}

// float32 LSTM (no peepholes) and GRU rows run the fused vector loops of vmath.h, all of a step's rows (or a thread's
// part of them) in one call; float64 keeps the reference code below (these return false for it), except the GRU
// backward row, one template for both. Rows with H below 32 and not a multiple of 16 are staged in blocks there (one
// flat loop of whole vectors instead of a partial vector a row): B32 T50 inference, LSTM H10 0.13 -> 0.068 ms, H20
// 0.170 -> 0.115, GRU H10 0.116 -> 0.051, H20 0.116 -> 0.085; LSTM H10 training 0.38 -> 0.26 (measured side by
// side; before, H < 16 ran whole-row activation calls, the fused loop being scalar there).
inline bool fused_lstm_forward(const float* s, float* g, const float* cp, float* c, float* h, int64_t H, int64_t rows,
                               int64_t h_ld, bool keep_gates) {
    lstm_forward_rows_f32(s, g, cp, c, h, H, rows, h_ld, keep_gates);
    return true;
}
inline bool fused_lstm_forward(const double*, double*, const double*, double*, double*, int64_t, int64_t, int64_t, bool) {
    return false;
}
inline bool fused_gru_forward(const float* s, float* g, const float* b_hn, const float* hp, int64_t hp_ld, float* hl,
                              float* h, int64_t H, int64_t rows, int64_t h_ld, bool keep_gates) {
    gru_forward_rows_f32(s, g, b_hn, hp, hp_ld, hl, h, H, rows, h_ld, keep_gates);
    return true;
}
inline bool fused_gru_forward(const double*, double*, const double*, const double*, int64_t, double*, double*, int64_t,
                              int64_t, int64_t, bool) {
    return false;
}
inline bool fused_lstm_backward(const float* g, const float* c, const float* cp, const float* dy, int64_t dy_ld, const float* dh,
                                float* dc, float* dg, int64_t H, int64_t rows) {
    lstm_backward_rows_f32(g, c, cp, dy, dy_ld, dh, dc, dg, H, rows);
    return true;
}
inline bool fused_lstm_backward(const double*, const double*, const double*, const double*, int64_t, const double*, double*,
                                double*, int64_t, int64_t) {
    return false;
}
inline void gru_backward(const float* g, const float* hl, const float* hp, const float* dy, const float* dh, float* dgx,
                         float* dgh, float* direct, int64_t H) {
    gru_backward_row_f32(g, hl, hp, dy, dh, dgx, dgh, direct, H);
}
inline void gru_backward(const double* g, const double* hl, const double* hp, const double* dy, const double* dh,
                         double* dgx, double* dgh, double* direct, int64_t H) {
    gru_backward_row<double>(g, hl, hp, dy, dh, dgx, dgh, direct, H);
}

// The large products of a layer: C = op(A) op(B) (+ C), or op(A) op(B) + bias on every row. float32 runs HPC's packed
// kernel on the thread team (B is packed into `pack`; the bias is added as the tiles are stored); float64 calls BLAS
// (on C filled with the bias).
inline void product(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                    int64_t ldb, bool accumulate, float* c, int64_t ldc, std::vector<float>& pack,
                    const float* bias = nullptr) {
    gemm_f32(ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc, pack, bias);
}
inline void product(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
                    int64_t ldb, bool accumulate, double* c, int64_t ldc, std::vector<double>&,
                    const double* bias = nullptr) {
    if (bias && !accumulate) {
        for (int64_t r = 0; r < m; ++r) std::copy(bias, bias + n, c + r * ldc);
        accumulate = true;
    }
    gemm(ta, tb, m, n, k, 1.0, a, lda, b, ldb, accumulate ? 1.0 : 0.0, c, ldc);
}

// The input projection's bias (in `bias`, G*H values): b_ih + b_hh (GRU keeps b_hn apart: it is scaled by r).
template <typename T>
const T* projection_bias(Cell cell, const Geometry& g, const T* p, const LayerParams& o, std::vector<T>& bias) {
    const int64_t GH = g.GH(), H = g.H;
    const bool gru = cell == Cell::Gru;
    T* bs = ensure(bias, GH);
    for (int64_t j = 0; j < GH; ++j) bs[j] = p[o.b_ih + j] + ((gru && j >= 2 * H) ? T(0) : p[o.b_hh + j]);
    return bs;
}

// Input projection of all T*B rows: gx receives X W_ih^T + the projection's bias.
template <typename T>
void project(Cell cell, const Geometry& g, const T* x_in, int64_t in, const T* p, const LayerParams& o, T* gx,
             std::vector<T>& pack, std::vector<T>& bias) {
    product(false, true, g.TB(), g.GH(), in, x_in, in, p + o.w_ih, in, false, gx, g.GH(), pack, projection_bias(cell, g, p, o, bias));
}

// The same with W_ih already packed (frozen parameters, float32).
inline void project_packed(Cell cell, const Geometry& g, const float* x_in, int64_t in, const float* p, const LayerParams& o,
                           const float* packed_ih, float* gx, std::vector<float>& bias) {
    gemm_packed(g.TB(), in, g.GH(), x_in, in, 1, packed_ih, gx, g.GH(), false, projection_bias(cell, g, p, o, bias));
}
inline void project_packed(Cell, const Geometry&, const double*, int64_t, const double*, const LayerParams&, const double*,
                           double*, std::vector<double>&) {}  // float64 packs nothing

// A layer-direction's whole-sequence projection: on frozen parameters' packed W_ih (packed_ih non-null), otherwise
// packing it (or reading it in place) per call.
template <typename T>
void project_layer(Cell cell, const Geometry& g, const T* x_in, int64_t in, const T* p, const LayerParams& o,
                   const T* packed_ih, T* gx, RnnWorkspace<T>& ws) {
    if (packed_ih) project_packed(cell, g, x_in, in, p, o, packed_ih, gx, ws.bias);
    else project(cell, g, x_in, in, p, o, gx, ws.pack_big, ws.bias);
}

// Inference on rows split among the team (step_row_chunks > 1) can run the input projection step by step instead of
// as one product over all T*B rows first: each member projects its own rows of x_t just before their recurrent
// product, into one step's rows of gx that stay in its cache, instead of writing all T*B*G*H projected values out to
// memory and reading them back step by step. The packed kernel sums each element the same way whatever the number of
// rows, so the values are bit for bit those of the whole-sequence projection (checkpointed training's, which its
// backward recomputes) wherever that runs the packed kernel (not gemm_dot: few rows and a long k). Done while W_ih and
// W_hh packed both fit in a core's L2 (each member reads both at every step) and each member has enough rows for the
// kernel's tiles. Training (not checkpointed) does the same into each step's own rows of gx, which it keeps for
// backward (forward_steps' keep_gates): on the Zen 4 (rnn_lib_ab.cpp, training, same bits) LSTM B32 T50 I32 H128 0.93x the time,
// LSTM B64 T100 H128 0.983x, GRU B64 T100 H256 0.987x, GRU B32 T50 I32 H128 0.985x, tanh B64 T100 H256 0.996x, the
// other B64 shapes 0.994-1.001x. (Training measured on that machine only; the rule is inference's.)
template <typename T>
struct StepProjection {
    const T* x;       // the layer's input: row (t, b) at x + t * x_t + b * x_b (time-major [T, B, in] or batch-first)
    int64_t in, x_t, x_b;
    const T* packed;  // W_ih packed
    const T* bias;    // projection_bias
};
constexpr int64_t kStepProjectionMinRows = 16;
inline void project_step_rows(int64_t rows, int64_t in, int64_t GH, const float* x, int64_t x_rs, const float* packed,
                              const float* bias, float* gx) {
    gemm_packed_serial(rows, in, GH, x, x_rs, 1, packed, gx, GH, false, bias);
}
inline void project_step_rows(int64_t, int64_t, int64_t, const double*, int64_t, const double*, const double*, double*) {}

template <typename T>
bool projects_by_step(const Geometry& g, int64_t in) {
    if (!std::is_same<T, float>::value || in > kMaxSingleBlockK) return false;
    if (g.TB() <= kDotMaxRows && in >= kDotMinK) return false;  // project() would run gemm_dot
    const int chunks = step_row_chunks<T>(g.B, g.GH(), g.H);
    return chunks > 1 && g.B / chunks >= kStepProjectionMinRows && 4.0 * (in + g.H) * g.GH() <= 2 * l2_bytes();
}

inline const float* pack_ih(const float* w_ih, int64_t in, int64_t GH, std::vector<float>& buf) {
    return pack_b(w_ih, in, true, in, GH, buf);
}
inline const double* pack_ih(const double*, int64_t, int64_t, std::vector<double>&) { return nullptr; }

// Inference that projects the whole sequence (not step by step) does so in chunks of steps, each projected just
// before its steps run, so that its gates take one chunk, not T*B rows: a long sequence's inference needs memory for
// one chunk (LSTM B64 H512: 64 MiB instead of 5 GiB at T 10000). A chunk is whole steps of at most kChunkBytes of
// gates, but at least kChunkMinRows rows (enough for the kernel's row blocks on the team). float32 only, W_ih packed
// once per layer and run by the packed kernel on each chunk: the same bits as the whole-sequence product (the kernel
// sums each element the same way for any row count), except where that one runs gemm_dot (few rows, long k), which
// keeps one chunk. Each chunk costs time: its projection streams W_ih and the chunk through the L3 that held W_hh
// between steps (H 1024: 16 MiB each), which the next steps read from memory again. Measured with 8 MiB chunks
// against one product: LSTM B16 and B64 H1024 and GRU B64 H1024 inference 1.02-1.03x the time (4-10 chunks), 512-row
// chunks of B16 H256 layers 1.01-1.04x; hence chunks sized for memory, not speed, large enough that the grids' shapes
// (up to 105 MB of gates) take one or two.
constexpr int64_t kChunkMinRows = 512;
constexpr double kChunkBytes = 64.0 * 1024 * 1024;
std::atomic<double> g_chunk_bytes{kChunkBytes};  // (a test hook lowers it)
// Steps a chunk; 0 where inference keeps one whole-sequence product (float64, the gemm_dot case).
template <typename T>
int64_t inference_chunk_steps(const Geometry& g, int64_t in) {
    if (!std::is_same<T, float>::value || (g.TB() <= kDotMaxRows && in >= kDotMinK)) return 0;
    const int64_t by_bytes = (int64_t)(g_chunk_bytes.load(std::memory_order_relaxed) / (sizeof(T) * g.B * g.GH()));
    const int64_t by_rows = (kChunkMinRows + g.B - 1) / g.B;
    return std::min(g.T, std::max<int64_t>({1, by_bytes, by_rows}));
}
// Steps [t0, t0 + n) of x projected into gx (time-major rows, (t - t0) * B + b) in one product. A batch-first x
// ([B, T, in]) is first gathered into `rows` in time-major order, one chunk at a time (batch 1: the layouts are the
// same). A product per batch row, reading x in place, was tried: 0.92-0.99x the time where each row has many steps,
// but GRU B16 T25 H1024 took 1.035x (each of the 16 products of 25 rows streams all of W_ih).
template <typename T>
void project_steps_packed(int64_t t0, int64_t n, int64_t B, int64_t T_, bool batch_first, int64_t in, int64_t GH,
                          const T* x, const T* packed, const T* bias, T* gx, std::vector<T>& rows) {
    if constexpr (std::is_same<T, float>::value) {
        const T* a = x + t0 * B * in;
        if (batch_first && B > 1) {
            T* buf = ensure(rows, n * B * in);
            swap_batch_time(x + t0 * in, buf, B, n, in, T_);  // steps [t0, t0 + n) of every batch row
            a = buf;
        }
        gemm_packed(n * B, in, GH, a, in, 1, packed, gx, GH, false, bias);
    }
}

// How inference projects a layer's input of `in` features: step by step inside the steps (projects_by_step), by
// chunks of `chunk` steps (inference_chunk_steps), or as one whole-sequence product (neither: float64, gemm_dot).
struct InferenceProjection {
    bool by_step;
    int64_t chunk;
};
template <typename T>
InferenceProjection inference_projection(const Geometry& g, int64_t in) {
    const bool by_step = projects_by_step<T>(g, in);
    return {by_step, by_step ? 0 : inference_chunk_steps<T>(g, in)};
}

// Strides of a layer's output rows (elements): row (t, b) at t * time(g) + b * row(g); zero: time-major ([T, B, D*H]).
struct OutLayout {
    int64_t t = 0, b = 0;
    int64_t time(const Geometry& g) const { return t ? t : g.B * g.DH(); }
    int64_t row(const Geometry& g) const { return b ? b : g.DH(); }
};

// Time range [t0, t0 + n) covered by processing steps [s_begin, s_end) of a direction.
inline int64_t first_time(int dir, int64_t T_, int64_t s_begin, int64_t s_end) { return dir == 0 ? s_begin : T_ - s_end; }
inline int64_t time_of(int dir, int64_t T_, int64_t s) { return dir == 0 ? s : T_ - 1 - s; }

// Processing steps [s_begin, s_end) of one direction (direction 0 runs t = s, direction 1 runs t = T-1-s). The
// activations of time t live at row (t - t0) * B of gx (input-projected on entry, activated gates on exit) and aux
// (LSTM c_t, GRU W_hn h + b_hn); h_t goes to out (columns dir*H..; row (t, b) at t * B*D*H + b * D*H, time-major,
// unless `layout` gives other strides: batch-first y in inference). h_prev / c_prev: the
// state before the first step. keep_gates: leave the activated gates in gx (and GRU's W_hn h + b_hn in aux) for
// backward; inference does not (float32 LSTM and GRU rows skip those stores). proj: project each step's rows here
// (see StepProjection), into gx's first B rows (each step's own rows with keep_gates). aux_ring: aux holds two steps' rows only, step s at rows (s & 1) * B
// (inference: a step needs only the state the step before left; the last step's rows give c_n).
template <typename T>
void forward_steps(Cell cell, const Geometry& g, int dir, const T* p, const LayerParams& o, T* gx, T* aux, int64_t t0,
                   int64_t s_begin, int64_t s_end, T* out, const T* h_prev, int64_t ld_h, const T* c_prev, T* step,
                   const T* packed, bool keep_gates, const StepProjection<T>* proj = nullptr, bool aux_ring = false,
                   OutLayout layout = {}) {
    const int64_t B = g.B, T_ = g.T, H = g.H, GH = g.GH();
    const int64_t ot = layout.time(g), ob = layout.row(g);  // out's strides: time, batch row
    const T* w_hh = p + o.w_hh;
    const T* b_hh = p + o.b_hh;
    const T* p_i = o.p_i >= 0 ? p + o.p_i : nullptr;
    const T* p_f = o.p_f >= 0 ? p + o.p_f : nullptr;
    const T* p_o = o.p_o >= 0 ? p + o.p_o : nullptr;
    const int chunks = step_row_chunks<T>(B, GH, H);
    const int pw_chunks = chunks > 1 ? 1 : pointwise_row_chunks<T>(B, H);
    // Step s for rows [b0, b1) given the state before it: the recurrent product (unless done already), then the
    // pre-activations summed in place in the step buffer and activated by whole-row vector calls.
    auto step_rows = [&](int64_t s, const T* h_prev, int64_t ld_h, const T* c_prev, int64_t b0, int64_t b1, bool serial,
                         bool product) {
        const int64_t t = time_of(dir, T_, s);
        // With proj, projected here: into one step's rows (inference), or the step's own rows when the gates are kept.
        T* gt = proj && !keep_gates ? gx : gx + (t - t0) * B * GH;
        T* ht = out + t * ot + dir * H;
        T* at = aux + (aux_ring ? (s & 1) : t - t0) * B * H;
        if (proj)
            project_step_rows(b1 - b0, proj->in, GH, proj->x + t * proj->x_t + b0 * proj->x_b, proj->x_b, proj->packed,
                              proj->bias, gt + b0 * GH);
        if (product) step_forward(b1 - b0, GH, H, h_prev + b0 * ld_h, ld_h, w_hh, packed, step + b0 * GH, serial, s & 1);
        // The fused LSTM (no peepholes) and GRU rows (see fused_lstm_forward), all rows in one call (LSTM B32 T50
        // H20 inference 0.97x the time of a call per row, before the staging).
        if (cell == Cell::Lstm &&
            fused_lstm_forward(step + b0 * GH, gt + b0 * GH, c_prev + b0 * H, at + b0 * H, ht + b0 * ob, H, b1 - b0, ob,
                               keep_gates))
            return;
        if (cell == Cell::Gru &&
            fused_gru_forward(step + b0 * GH, gt + b0 * GH, b_hh + 2 * H, h_prev + b0 * ld_h, ld_h, at + b0 * H,
                              ht + b0 * ob, H, b1 - b0, ob, keep_gates))
            return;
        if (cell == Cell::RnnTanh) {  // all rows in one call: into out where its rows are contiguous, else in place
            T* sr = step + b0 * GH;
            const T* gr = gt + b0 * GH;
            for (int64_t j = 0; j < (b1 - b0) * H; ++j) sr[j] += gr[j];
            if (ob == H) return act_tanh(sr, ht + b0 * ob, (b1 - b0) * H);
            act_tanh(sr, sr, (b1 - b0) * H);  // (B32 T5 H10 batch-first: a call per row took 2.4x the time)
            for (int64_t b = b0; b < b1; ++b) std::copy(sr + (b - b0) * H, sr + (b - b0 + 1) * H, ht + b * ob);
            return;
        }
        for (int64_t b = b0; b < b1; ++b) {
            T* gr = gt + b * GH;
            T* sr = step + b * GH;
            T* hr = ht + b * ob;
            switch (cell) {
                case Cell::RnnTanh:
                    for (int64_t j = 0; j < H; ++j) sr[j] += gr[j];
                    act_tanh(sr, hr, H);
                    break;
                case Cell::RnnRelu:
                    for (int64_t j = 0; j < H; ++j) hr[j] = std::max(gr[j] + sr[j], T(0));
                    break;
                case Cell::Lstm:
                case Cell::LstmPeephole: {
                    const T* cp = c_prev + b * H;
                    T* cr = at + b * H;
                    for (int64_t j = 0; j < GH; ++j) sr[j] += gr[j];
                    if (p_i)
                        for (int64_t j = 0; j < H; ++j) {
                            sr[j] += p_i[j] * cp[j];
                            sr[H + j] += p_f[j] * cp[j];
                        }
                    act_sigmoid(sr, gr, 2 * H);             // i, f
                    act_tanh(sr + 2 * H, gr + 2 * H, H);     // g
                    for (int64_t j = 0; j < H; ++j) cr[j] = gr[H + j] * cp[j] + gr[j] * gr[2 * H + j];
                    if (p_o)
                        for (int64_t j = 0; j < H; ++j) sr[3 * H + j] += p_o[j] * cr[j];
                    act_sigmoid(sr + 3 * H, gr + 3 * H, H);  // o
                    act_tanh(cr, sr, H);                     // tanh(c_t), into the no longer needed i pre-activations
                    for (int64_t j = 0; j < H; ++j) hr[j] = gr[3 * H + j] * sr[j];
                    break;
                }
                case Cell::Gru: {
                    const T* hp = h_prev + b * ld_h;
                    T* ar = at + b * H;
                    for (int64_t j = 0; j < 2 * H; ++j) sr[j] += gr[j];
                    act_sigmoid(sr, gr, 2 * H);  // r, z
                    for (int64_t j = 0; j < H; ++j) {
                        const T hl = sr[2 * H + j] + b_hh[2 * H + j];
                        ar[j] = hl;
                        sr[2 * H + j] = gr[2 * H + j] + gr[j] * hl;
                    }
                    act_tanh(sr + 2 * H, gr + 2 * H, H);  // n
                    for (int64_t j = 0; j < H; ++j) {
                        const T z = gr[H + j], n = gr[2 * H + j];
                        hr[j] = (T(1) - z) * n + z * hp[j];
                    }
                    break;
                }
            }
        }
    };
    // The state a step leaves for the next: h_t (in out), and c_t (LSTM) or W_hn h + b_hn (GRU, unused) in aux.
    auto h_after = [&](int64_t s) { return out + time_of(dir, T_, s) * ot + dir * H; };
    auto aux_after = [&](int64_t s) -> const T* { return aux + (aux_ring ? (s & 1) : time_of(dir, T_, s) - t0) * B * H; };
    if (chunks > 1) {
        // A batch row's steps depend on that row's state alone, so each member runs every step of its rows in one
        // section: no hand-off between steps.
        team_for(chunks, [&](int c, int n) {
            const auto [b0, b1] = team_share(B, 2, c, n);
            if (b1 <= b0) return;
            const T* hp = h_prev;
            const T* cp = c_prev;
            int64_t ld = ld_h;
            for (int64_t s = s_begin; s < s_end; ++s) {
                step_rows(s, hp, ld, cp, b0, b1, true, true);
                hp = h_after(s), ld = ob, cp = aux_after(s);
            }
        });
        return;
    }
    for (int64_t s = s_begin; s < s_end; ++s) {
        if (pw_chunks > 1) {
            step_forward(B, GH, H, h_prev, ld_h, w_hh, packed, step, false, s & 1);
            team_for(pw_chunks, [&](int c, int n) {
                const auto [b0, b1] = team_share(B, 2, c, n);
                if (b1 > b0) step_rows(s, h_prev, ld_h, c_prev, b0, b1, true, false);
            });
        } else {
            step_rows(s, h_prev, ld_h, c_prev, 0, B, false, true);
        }
        h_prev = h_after(s), ld_h = ob, c_prev = aux_after(s);
    }
}

// Backward over processing steps [s_begin, s_end), last to first. Activations as in forward_steps (rows relative to
// t0); c_first is the cell state before step s_begin (LSTM). dh / dh_next / dc carry the gradients between calls;
// d_gx / d_gh receive the pre-activation gradients at global rows t * B; d_peep accumulates peephole gradients.
template <typename T>
void backward_steps(Cell cell, const Geometry& g, int dir, const T* p, const LayerParams& o, const T* gx, const T* aux,
                    int64_t t0, int64_t s_begin, int64_t s_end, const T* out, const T* h0, const T* c_first,
                    const T* d_out, T* d_gx, T* d_gh, T*& dh, T*& dh_next, T* dc, T* d_peep, T* record,
                    const T* packed) {
    const int64_t B = g.B, T_ = g.T, H = g.H, GH = g.GH(), DH = g.DH(), BH = g.BH();
    const bool gru = cell == Cell::Gru;
    const T* w_hh = p + o.w_hh;
    const T* p_i = o.p_i >= 0 ? p + o.p_i : nullptr;
    const T* p_f = o.p_f >= 0 ? p + o.p_f : nullptr;
    const T* p_o = o.p_o >= 0 ? p + o.p_o : nullptr;
    if (!gru) d_gh = d_gx;  // the recurrent and input projections see the same pre-activation gradient
    // Peephole gradients are sums over the batch rows: one part keeps their order (and the threads apart).
    const int chunks = p_i ? 1 : step_row_chunks<T>(B, GH, H);
    const int pw_chunks = p_i || chunks > 1 ? 1 : pointwise_row_chunks<T>(B, H);
    // Step s for rows [b0, b1), dh holding dL/dh_t arriving through the recurrence: the pointwise pass, then (with
    // `product`) dh_{t-1} = dGh_t W_hh (+ z * dh_t for GRU, already there) into dh_next.
    auto step_rows = [&](int64_t s, const T* dh, T* dh_next, int64_t b0, int64_t b1, bool serial, bool product) {
        const int64_t t = time_of(dir, T_, s);
        const int64_t tp = dir == 0 ? t - 1 : t + 1;  // the step that produced h_{t-1}
        const bool first = s == 0;
        const T* h_prev = first ? h0 : out + tp * B * DH + dir * H;
        const int64_t ld_h = first ? H : DH;
        const T* c_prev = s == s_begin ? c_first : aux + (tp - t0) * BH;
        const T* gt = gx + (t - t0) * B * GH;
        const T* ht = out + t * B * DH + dir * H;
        const T* at = aux + (t - t0) * BH;
        const T* dot = d_out + t * B * DH + dir * H;
        T* dgx = d_gx + t * B * GH;
        T* dgh = d_gh + t * B * GH;
        if (record)  // total dL/dh_t = dy_t + the gradient arriving through the recurrence
            for (int64_t b = b0; b < b1; ++b)
                for (int64_t j = 0; j < H; ++j) record[(t * B + b) * DH + dir * H + j] = dot[b * DH + j] + dh[b * H + j];
        const bool fused = cell == Cell::Lstm && fused_lstm_backward(gt + b0 * GH, at + b0 * H, c_prev + b0 * H, dot + b0 * DH, DH,
                                                                     dh + b0 * H, dc + b0 * H, dgx + b0 * GH, H, b1 - b0);
        for (int64_t b = fused ? b1 : b0; b < b1; ++b) {
            const T* gr = gt + b * GH;
            const T* hr = ht + b * DH;
            const T* dor = dot + b * DH;
            const T* dhr = dh + b * H;
            T* dxr = dgx + b * GH;
            switch (cell) {
                case Cell::RnnTanh:
                    for (int64_t j = 0; j < H; ++j) dxr[j] = (dor[j] + dhr[j]) * (T(1) - hr[j] * hr[j]);
                    break;
                case Cell::RnnRelu:
                    for (int64_t j = 0; j < H; ++j) dxr[j] = hr[j] > T(0) ? dor[j] + dhr[j] : T(0);
                    break;
                case Cell::Lstm:
                case Cell::LstmPeephole: {
                    const T* cr = at + b * H;
                    const T* cp = c_prev + b * H;
                    T* dcr = dc + b * H;
                    T* tcr = dh_next + b * H;  // scratch: the GEMM after this pass overwrites dh_next
                    act_tanh(cr, tcr, H);
                    for (int64_t j = 0; j < H; ++j) {
                        const T i = gr[j], f = gr[H + j], gg = gr[2 * H + j], og = gr[3 * H + j];
                        const T c = cr[j], tc = tcr[j];
                        const T dht = dor[j] + dhr[j];
                        const T d_po = dht * tc * og * (T(1) - og);
                        T dct = dcr[j] + dht * og * (T(1) - tc * tc);
                        if (p_o) dct += d_po * p_o[j];
                        const T d_pi = dct * gg * i * (T(1) - i);
                        const T d_pf = dct * cp[j] * f * (T(1) - f);
                        const T d_pg = dct * i * (T(1) - gg * gg);
                        T dcp = dct * f;
                        if (p_i) {
                            dcp += d_pi * p_i[j] + d_pf * p_f[j];
                            d_peep[j] += d_pi * cp[j];
                            d_peep[H + j] += d_pf * cp[j];
                            d_peep[2 * H + j] += d_po * c;
                        }
                        dxr[j] = d_pi;
                        dxr[H + j] = d_pf;
                        dxr[2 * H + j] = d_pg;
                        dxr[3 * H + j] = d_po;
                        dcr[j] = dcp;
                    }
                    break;
                }
                case Cell::Gru: {
                    const T* ar = at + b * H;
                    const T* hp = h_prev + b * ld_h;
                    T* dhr_row = dgh + b * GH;
                    T* direct = dh_next + b * H;
                    gru_backward(gr, ar, hp, dor, dhr, dxr, dhr_row, direct, H);
                    break;
                }
            }
        }
        if (product) step_backward(b1 - b0, GH, H, dgh + b0 * GH, w_hh, packed, gru, dh_next + b0 * H, serial, s & 1);
    };
    if (chunks > 1) {
        // As in forward_steps: each member runs every step of its batch rows in one section.
        team_for(chunks, [&](int c, int n) {
            const auto [b0, b1] = team_share(B, 2, c, n);
            if (b1 <= b0) return;
            T* cur = dh;
            T* next = dh_next;
            for (int64_t s = s_end - 1; s >= s_begin; --s) {
                step_rows(s, cur, next, b0, b1, true, true);
                std::swap(cur, next);
            }
        });
        if ((s_end - s_begin) % 2) std::swap(dh, dh_next);
        return;
    }
    for (int64_t s = s_end - 1; s >= s_begin; --s) {
        if (pw_chunks > 1) {
            team_for(pw_chunks, [&](int c, int n) {
                const auto [b0, b1] = team_share(B, 2, c, n);
                if (b1 > b0) step_rows(s, dh, dh_next, b0, b1, true, false);
            });
            step_backward(B, GH, H, d_gh + time_of(dir, T_, s) * B * GH, w_hh, packed, gru, dh_next, false, s & 1);
        } else {
            step_rows(s, dh, dh_next, 0, B, false, true);
        }
        std::swap(dh, dh_next);
    }
}

// dW_hh = sum_t dGh_t^T h_{t-1} over the T*B rows of d_gh (time t at row t * B), h_{t-1} being h0 for the
// direction's first step and a layer output (columns dir*H.. of `out`) for the others. float32 runs one product over
// both (gemm_f32_ta_two packs their rows as one operand): the first step's B rows as a product of their own cost a
// pass over the whole gradient (16 MB at H 1024 LSTM) for a sliver of work (LSTM B16 T25 H1024 training: dW_hh 9.1 ms against
// dW_ih's 7.6, measured by phase). float64 runs the two products on BLAS, as does float32 where gemm_f32 would read
// the two B operands in place.
template <typename T>
void weight_grad_hh_apart(const Geometry& g, int dir, const T* d_gh, const T* out, const T* h0, bool accumulate, T* dw_hh,
                          std::vector<T>& pack) {
    const int64_t B = g.B, T_ = g.T, H = g.H, GH = g.GH(), DH = g.DH();
    const int64_t first_t = dir == 0 ? 0 : T_ - 1;
    if (T_ > 1) {
        const T* a = dir == 0 ? d_gh + B * GH : d_gh;
        const T* h = dir == 0 ? out : out + B * DH + H;
        product(true, false, GH, H, (T_ - 1) * B, a, GH, h, DH, accumulate, dw_hh, H, pack);
    }
    product(true, false, GH, H, B, d_gh + first_t * B * GH, GH, h0, H, T_ > 1 || accumulate, dw_hh, H, pack);
}
inline void weight_grad_hh(const Geometry& g, int dir, const float* d_gh, const float* out, const float* h0, bool accumulate,
                           float* dw_hh, std::vector<float>& pack) {
    const int64_t B = g.B, T_ = g.T, H = g.H, DH = g.DH(), rest = (T_ - 1) * B;
    // gemm_f32 would read these B operands in place, unpacked (few rows of dW_hh, whole panels): keep that.
    if (gemm_f32_reads_b_in_place(false, g.GH(), H)) return weight_grad_hh_apart(g, dir, d_gh, out, h0, accumulate, dw_hh, pack);
    // Direction 0: t = 0 sees h0, t >= 1 sees out[t - 1]; direction 1: t <= T-2 sees out[t + 1], t = T-1 sees h0.
    if (dir == 0) gemm_f32_ta_two(g.GH(), H, d_gh, g.GH(), h0, H, B, out, DH, rest, accumulate, dw_hh, H, pack);
    else gemm_f32_ta_two(g.GH(), H, d_gh, g.GH(), rest > 0 ? out + B * DH + H : out, DH, rest, h0, H, B, accumulate, dw_hh, H, pack);
}
inline void weight_grad_hh(const Geometry& g, int dir, const double* d_gh, const double* out, const double* h0,
                           bool accumulate, double* dw_hh, std::vector<double>& pack) {
    weight_grad_hh_apart(g, dir, d_gh, out, h0, accumulate, dw_hh, pack);
}

// The bias gradients: the column sums of d_gx (db_ih) and d_gh (db_hh) over the T*B rows, added to db_ih and db_hh
// (zeroed first unless accumulating). This pass reads all of d_gx (105 MB at LSTM B64 T100 H1024); on the calling
// thread alone, adding each row to both sums where d_gh is d_gx (every cell but GRU), it took 9.5 ms of that layer's
// 750 ms training (GRU B64 T100 H512: 3.8 of 147 ms, tanh B64 T100 H256: 0.22-0.41 of 13). Now the rows are summed
// in chunks of at least kBiasChunkRows, at most kBiasChunks of them (how many depends on T*B alone), each into a
// partial sum of its own by whichever team member takes it, every row once however many sums it feeds; then each
// bias is its start (zero or the accumulated value) plus the partial sums in chunk order: the same bits whatever the
// thread count. By phase: 9.4-9.6 -> 2.9-3.0 ms at LSTM B64 T100 H1024, 0.89-0.92 -> 0.35-0.43 at GRU B64 T25 H512.
// Splitting the columns among the team instead (each member summing its part of every row, in row order) was slower
// than one thread where d_gx was in L3 (tanh B64 T100 H256 0.22 -> 0.30 ms, GRU B64 T25 H512 0.93 -> 1.1-1.2 ms).
// The partial sums (up to kBiasChunks x 2 x GH values) are kept per calling thread between calls, like the packing
// scratch of packed_gemm.cpp, and not counted in hpc_rnn_workspace_bytes.
constexpr int64_t kBiasChunkRows = 256, kBiasChunks = 64;
constexpr double kBiasTeamMinBytes = 1e6;  // less than this is summed on the calling thread
template <typename T>
void bias_grads(const T* d_gx, const T* d_gh, int64_t TB, int64_t GH, bool accumulate, T* db_ih, T* db_hh) {
    const bool same = d_gh == d_gx;
    const int64_t chunks = std::min(kBiasChunks, (TB + kBiasChunkRows - 1) / kBiasChunkRows), sums = same ? 1 : 2;
    const int64_t rows = chunks > 0 ? (TB + chunks - 1) / chunks : 0;  // per chunk (the last one may have fewer)
    thread_local std::vector<T> parts;  // [chunk][sum][GH], grown as needed, never shrunk
    if ((int64_t)parts.size() < chunks * sums * GH) parts.resize((size_t)(chunks * sums * GH));
    T* const part = parts.data();  // the caller's buffer (inside the lambda `parts` would name the worker's own)
    auto sum_chunk = [&](int64_t c) {
        T* __restrict pi = part + c * sums * GH;
        T* __restrict ph = same ? nullptr : pi + GH;
        std::fill(pi, pi + sums * GH, T(0));
        for (int64_t r = c * rows, r1 = std::min(TB, r + rows); r < r1; ++r) {
            const T* __restrict a = d_gx + r * GH;
            for (int64_t j = 0; j < GH; ++j) pi[j] += a[j];
            if (same) continue;
            const T* __restrict h = d_gh + r * GH;
            for (int64_t j = 0; j < GH; ++j) ph[j] += h[j];
        }
    };
    if ((double)sizeof(T) * TB * GH * sums < kBiasTeamMinBytes || chunks < 2) {
        for (int64_t c = 0; c < chunks; ++c) sum_chunk(c);
    } else {
        team_for((int)chunks, [&](int c, int) { sum_chunk(c); });
    }
    for (int64_t q = 0; q < 2; ++q) {
        T* __restrict db = q == 0 ? db_ih : db_hh;
        const T* pq = part + (same ? 0 : q) * GH;
        if (!accumulate) std::fill(db, db + GH, T(0));
        for (int64_t c = 0; c < chunks; ++c)
            for (int64_t j = 0; j < GH; ++j) db[j] += pq[c * sums * GH + j];
    }
}

// After every step of a direction: the parameter gradients and dX as large GEMMs over all steps.
template <typename T>
void backward_gemms(Cell cell, const Geometry& g, int dir, const T* x_in, int64_t in, const T* p, const LayerParams& o,
                    const T* out, const T* h0, T* d_x, bool add_dx, T* dp, bool accumulate, const T* d_gx,
                    const T* d_gh, const T* d_peep, std::vector<T>& pack) {
    const int64_t H = g.H, GH = g.GH(), TB = g.TB();
    if (cell != Cell::Gru) d_gh = d_gx;
    const T beta = accumulate ? T(1) : T(0);
    if (dp) {
        product(true, false, GH, in, TB, d_gx, GH, x_in, in, accumulate, dp + o.w_ih, in, pack);
        weight_grad_hh(g, dir, d_gh, out, h0, accumulate, dp + o.w_hh, pack);
        bias_grads(d_gx, d_gh, TB, GH, accumulate, dp + o.b_ih, dp + o.b_hh);
        if (o.p_i >= 0) {
            T* dpi = dp + o.p_i;
            T* dpf = dp + o.p_f;
            T* dpo = dp + o.p_o;
            for (int64_t j = 0; j < H; ++j) {
                dpi[j] = beta * dpi[j] + d_peep[j];
                dpf[j] = beta * dpf[j] + d_peep[H + j];
                dpo[j] = beta * dpo[j] + d_peep[2 * H + j];
            }
        }
    }
    if (d_x) product(false, false, TB, in, GH, d_gx, GH, p + o.w_ih, in, add_dx, d_x, in, pack);
}

}  // namespace

template <typename T>
size_t RnnWorkspace<T>::bytes() const {
    return sizeof(T) * (x_tm.capacity() + outs.capacity() + gates.capacity() + aux.capacity() + init.capacity() + ckpt.capacity() + seg_aux.capacity() +
                        step.capacity() + d_out.capacity() + d_in.capacity() + d_top.capacity() + d_record.capacity() + d_gx.capacity() + d_gh.capacity() +
                        d_state.capacity() + packed.capacity() + packed_bwd.capacity() + pack_big.capacity() + bias.capacity());
}

template <typename T>
size_t FrozenParams<T>::bytes() const {
    size_t n = values.capacity();
    for (const auto& v : storage) n += v.capacity();
    for (const auto& v : storage_bwd) n += v.capacity();
    return sizeof(T) * n;
}

template <typename T>
void rnn_freeze(const RnnDims& dims, const T* params, int64_t count, FrozenParams<T>& out) {
    FrozenParams<T> f;  // built aside, then swapped in: a failed allocation leaves `out` as it was
    f.values.assign(params, params + count);
    if constexpr (std::is_same<T, float>::value) {
        const int64_t LD = dims.layers * dims.directions, GH = dims.gates() * dims.hidden, H = dims.hidden;
        f.storage.resize((size_t)(2 * LD));
        for (int64_t l = 0; l < dims.layers; ++l)
            for (int d = 0; d < dims.directions; ++d) {
                const int64_t kd = l * dims.directions + d, in = dims.layer_input(l);
                const LayerParams o = layer_params(dims, l, d);
                f.ih.push_back(pack_ih(f.values.data() + o.w_ih, in, GH, f.storage[(size_t)(2 * kd)]));
                f.hh.push_back(pack_hh_forward(f.values.data() + o.w_hh, H, GH, f.storage[(size_t)(2 * kd + 1)]));
            }
    }
    std::swap(out, f);
}

namespace {
// The backward packs of every W_hh, made by the first backward on frozen parameters (an inference-only user does
// not pay their memory): built aside, then swapped in.
template <typename T>
void freeze_backward_packs(const RnnDims& dims, FrozenParams<T>& f) {
    if constexpr (std::is_same<T, float>::value) {
        if (!f.hh_bwd.empty() || f.ih.empty()) return;
        const int64_t LD = dims.layers * dims.directions, GH = dims.gates() * dims.hidden, H = dims.hidden;
        std::vector<std::vector<T>> storage((size_t)LD);
        std::vector<const T*> hh;
        for (int64_t l = 0; l < dims.layers; ++l)
            for (int d = 0; d < dims.directions; ++d) {
                const int64_t kd = l * dims.directions + d;
                hh.push_back(pack_hh_backward(f.values.data() + layer_params(dims, l, d).w_hh, H, GH, storage[(size_t)kd]));
            }
        std::swap(f.storage_bwd, storage);
        std::swap(f.hh_bwd, hh);
    }
}
}  // namespace

template <typename T>
void rnn_forward(const RnnDims& dims, int64_t batch, int64_t steps, bool training, const T* x, const T* params,
                 const T* h0, const T* c0, T* y, T* hn, T* cn, RnnWorkspace<T>& ws, const FrozenParams<T>* frozen) {
    if (frozen && !frozen->empty()) params = frozen->values.data();
    else frozen = nullptr;
    const bool prepacked = frozen && !frozen->ih.empty();
    const Geometry g = geometry(dims, batch, steps);
    const int64_t TB = g.TB(), DH = g.DH(), GH = g.GH(), BH = g.BH(), LD = g.L * g.D, H = g.H;
    ws.saved_batch = ws.saved_steps = 0;
    const bool lstm = has_cell_state(dims.cell);
    // Checkpointing (training only): keep every layer's outputs and the cell state at each segment start; the gates
    // are recomputed segment by segment in backward.
    const int64_t k = training && ws.checkpoint_every > 0 && ws.checkpoint_every < g.T ? ws.checkpoint_every : 0;
    const int64_t nseg = k ? (g.T + k - 1) / k : 1;

    // Inference does not copy a batch-first x whole where float32 projects it with the packed kernel: step by step it
    // reads x in place (rows T*I apart), by chunks it gathers one chunk at a time (project_steps_packed); training
    // (backward reads x time-major), float64 and the gemm_dot case copy it to time-major first.
    const InferenceProjection first_layer = training ? InferenceProjection{false, 0} : inference_projection<T>(g, g.I);
    const bool x_in_place = dims.batch_first && (first_layer.by_step || first_layer.chunk > 0);
    const T* x_tm = x;
    if (dims.batch_first && !x_in_place) {
        T* buf = ensure(ws.x_tm, TB * g.I);
        swap_batch_time(x, buf, g.B, g.T, g.I);
        x_tm = buf;
    }
    // Layer outputs: training keeps every layer's (backward reads them, time-major); inference alternates two slots
    // and writes the last layer's output straight into y, in either layout (see into_y below).
    const int64_t out_slots = training ? g.L : std::min<int64_t>(g.L - 1, 2);
    // Plain training keeps every layer-direction's activations; inference and checkpointed training reuse one slot.
    const int64_t gate_slots = training && !k ? LD : 1;
    T* outs = out_slots > 0 ? ensure(ws.outs, out_slots * TB * DH) : nullptr;
    // Inference sizes its one slot of gates layer by layer (one step's rows where the layer projects step by step),
    // and keeps two steps' rows of aux (the state a step reads and the one it writes; see forward_steps' aux_ring).
    T* gates = training ? ensure(ws.gates, gate_slots * TB * GH) : nullptr;
    T* aux = ensure(ws.aux, training ? gate_slots * TB * H : 2 * BH);
    T* init = ensure(ws.init, 2 * LD * BH);
    T* step = ensure(ws.step, g.B * GH);
    T* ckpt = k && lstm ? ensure(ws.ckpt, LD * nseg * BH) : nullptr;
    if (h0) std::memcpy(init, h0, sizeof(T) * LD * BH); else std::fill(init, init + LD * BH, T(0));
    if (c0) std::memcpy(init + LD * BH, c0, sizeof(T) * LD * BH); else std::fill(init + LD * BH, init + 2 * LD * BH, T(0));

    for (int64_t l = 0; l < g.L; ++l) {
        const T* in = l == 0 ? x_tm : outs + ((l - 1) % out_slots) * TB * DH;
        const int64_t in_size = dims.layer_input(l);
        const bool in_batch_first = l == 0 && x_in_place;
        const int64_t x_t = in_batch_first ? in_size : g.B * in_size, x_b = in_batch_first ? g.T * in_size : in_size;
        // Inference writes the last layer's output straight into y (training keeps it for backward), batch-first
        // through forward_steps' row strides.
        const bool into_y = !training && l == g.L - 1;
        T* out = into_y ? y : outs + (l % out_slots) * TB * DH;
        const OutLayout layout = into_y && dims.batch_first ? OutLayout{DH, g.T * DH} : OutLayout{};
        const int64_t ot = layout.time(g), ob = layout.row(g);
        for (int d = 0; d < g.D; ++d) {
            const int64_t kd = l * g.D + d;
            const int64_t slot = gate_slots > 1 ? kd : 0;
            const LayerParams o = layer_params(dims, l, d);
            const InferenceProjection how = training ? InferenceProjection{!k && projects_by_step<T>(g, in_size), 0}
                                                     : inference_projection<T>(g, in_size);
            const bool by_step = how.by_step;
            const int64_t chunk = how.chunk;
            T* gx = training ? gates + slot * TB * GH : ensure(ws.gates, (by_step ? 1 : chunk ? chunk : g.T) * g.B * GH);
            T* ax = training ? aux + slot * TB * H : aux;
            // Checkpointed training projects all T*B rows in one GEMM, which its backward recomputes bit for bit (a
            // BLAS may round a row differently in a GEMM of another shape); inference and plain training may project
            // step by step (projects_by_step: the same bits); inference keeps no activated gates.
            const T* packed = prepacked ? frozen->hh[(size_t)kd] : pack_forward(params + o.w_hh, g, ws.packed);
            if (by_step) {
                const StepProjection<T> proj{in, in_size, x_t, x_b,
                                             prepacked ? frozen->ih[(size_t)kd] : pack_ih(params + o.w_ih, in_size, GH, ws.pack_big),
                                             projection_bias(dims.cell, g, params, o, ws.bias)};
                forward_steps(dims.cell, g, d, params, o, gx, ax, 0, 0, g.T, out, init + kd * BH, H, init + LD * BH + kd * BH,
                              step, packed, training, &proj, !training, layout);
            } else if (chunk > 0) {
                // Inference by chunks of steps (see inference_chunk_steps; one chunk where the gates fit), in the
                // direction's processing order; the state between chunks is the last step's h_t in out and c_t in
                // the aux ring.
                const T* packed_ih = prepacked ? frozen->ih[(size_t)kd] : pack_ih(params + o.w_ih, in_size, GH, ws.pack_big);
                const T* bias = projection_bias(dims.cell, g, params, o, ws.bias);
                for (int64_t s_b = 0; s_b < g.T; s_b += chunk) {
                    const int64_t s_e = std::min(g.T, s_b + chunk), t0 = first_time(d, g.T, s_b, s_e);
                    project_steps_packed(t0, s_e - s_b, g.B, g.T, in_batch_first, in_size, GH, in, packed_ih, bias, gx, ws.x_tm);
                    const bool first = s_b == 0;
                    forward_steps(dims.cell, g, d, params, o, gx, ax, t0, s_b, s_e, out,
                                  first ? init + kd * BH : out + time_of(d, g.T, s_b - 1) * ot + d * H, first ? H : ob,
                                  first ? init + LD * BH + kd * BH : ax + ((s_b - 1) & 1) * BH, step, packed, false,
                                  static_cast<const StepProjection<T>*>(nullptr), true, layout);
                }
            } else {
                project_layer(dims.cell, g, in, in_size, params, o, prepacked ? frozen->ih[(size_t)kd] : nullptr, gx, ws);
                forward_steps(dims.cell, g, d, params, o, gx, ax, 0, 0, g.T, out, init + kd * BH, H, init + LD * BH + kd * BH,
                              step, packed, training && !k, static_cast<const StepProjection<T>*>(nullptr), !training, layout);
            }
            if (ckpt)  // cell state before each segment's first step
                for (int64_t j = 1; j < nseg; ++j)
                    std::memcpy(ckpt + (kd * nseg + j) * BH, ax + time_of(d, g.T, j * k - 1) * BH, sizeof(T) * BH);
            const int64_t t_last = time_of(d, g.T, g.T - 1);
            if (hn)
                for (int64_t b = 0; b < g.B; ++b) std::memcpy(hn + kd * BH + b * H, out + t_last * ot + d * H + b * ob, sizeof(T) * H);
            if (cn && lstm) std::memcpy(cn + kd * BH, ax + (training ? t_last : (g.T - 1) & 1) * BH, sizeof(T) * BH);
        }
    }
    if (training) {
        const T* last = outs + (g.L - 1) * TB * DH;
        if (dims.batch_first) swap_batch_time(last, y, g.T, g.B, DH);
        else std::memcpy(y, last, sizeof(T) * TB * DH);
        ws.saved_batch = g.B;
        ws.saved_steps = g.T;
        ws.saved_checkpoint = k;
        ws.saved_frozen = frozen != nullptr;
    }
}

template <typename T>
void rnn_backward(const RnnDims& dims, const T* x, const T* params, const T* dy, const T* dhn, const T* dcn, T* dx,
                  T* dh0, T* dc0, T* dparams, bool accumulate, T* dh_top, RnnWorkspace<T>& ws, FrozenParams<T>* frozen) {
    if (frozen && !frozen->empty()) {
        freeze_backward_packs(dims, *frozen);
        params = frozen->values.data();
    } else {
        frozen = nullptr;
    }
    const bool prepacked = frozen && !frozen->hh_bwd.empty();
    const Geometry g = geometry(dims, ws.saved_batch, ws.saved_steps);
    const int64_t TB = g.TB(), DH = g.DH(), GH = g.GH(), BH = g.BH(), LD = g.L * g.D, H = g.H;
    const bool lstm = has_cell_state(dims.cell);
    const int64_t k = ws.saved_checkpoint;
    const int64_t nseg = k ? (g.T + k - 1) / k : 1;
    const T* x_tm = dims.batch_first ? ws.x_tm.data() : x;
    T* d_out = ensure(ws.d_out, 2 * TB * DH);
    T* d_in = dx && dims.batch_first ? ensure(ws.d_in, TB * g.I) : nullptr;
    T* d_gx = ensure(ws.d_gx, TB * GH);
    T* d_gh = dims.cell == Cell::Gru ? ensure(ws.d_gh, TB * GH) : nullptr;
    T* st = ensure(ws.d_state, 3 * BH + 3 * H);
    T* step = ensure(ws.step, g.B * GH);
    const T* init = ws.init.data();
    T* record = dh_top ? (dims.batch_first ? ensure(ws.d_record, TB * DH) : dh_top) : nullptr;

    const T* d_top = dy;
    if (dims.batch_first) {
        T* buf = ensure(ws.d_top, TB * DH);
        swap_batch_time(dy, buf, g.B, g.T, DH);
        d_top = buf;
    }
    for (int64_t l = g.L - 1; l >= 0; --l) {
        const T* in = l == 0 ? x_tm : ws.outs.data() + (l - 1) * TB * DH;
        const int64_t in_size = dims.layer_input(l);
        T* out = ws.outs.data() + l * TB * DH;
        const T* d_layer = l == g.L - 1 ? d_top : d_out + (l % 2) * TB * DH;
        // Gradient w.r.t. this layer's input: the layer below's output, or x (time-major, when asked for).
        T* d_x = l > 0 ? d_out + ((l - 1) % 2) * TB * DH : (dx ? (dims.batch_first ? d_in : dx) : nullptr);
        for (int d = 0; d < g.D; ++d) {
            const int64_t kd = l * g.D + d;
            const LayerParams o = layer_params(dims, l, d);
            const T* h0l = init + kd * BH;
            const T* c0l = init + LD * BH + kd * BH;
            T* dh = st;
            T* dh_next = st + BH;
            T* dc = st + 2 * BH;
            T* d_peep = st + 3 * BH;
            if (dhn) std::memcpy(dh, dhn + kd * BH, sizeof(T) * BH); else std::fill(dh, dh + BH, T(0));
            if (lstm) {
                if (dcn) std::memcpy(dc, dcn + kd * BH, sizeof(T) * BH); else std::fill(dc, dc + BH, T(0));
            }
            if (o.p_i >= 0) std::fill(d_peep, d_peep + 3 * H, T(0));
            T* rec = l == g.L - 1 ? record : nullptr;
            const T* packed_bwd = prepacked ? frozen->hh_bwd[(size_t)kd] : pack_backward(params + o.w_hh, g, ws.packed_bwd);
            if (!k) {
                backward_steps(dims.cell, g, d, params, o, ws.gates.data() + kd * TB * GH, ws.aux.data() + kd * TB * H, 0, 0,
                               g.T, out, h0l, c0l, d_layer, d_gx, d_gh, dh, dh_next, dc, d_peep, rec, packed_bwd);
            } else {
                // Recompute the input projection exactly as forward did, then, segment by segment from the last,
                // the segment's activations from its checkpoint and its backward steps.
                T* gx = ws.gates.data();
                T* ax = ensure(ws.seg_aux, k * g.B * H);
                project_layer(dims.cell, g, in, in_size, params, o, prepacked ? frozen->ih[(size_t)kd] : nullptr, gx, ws);
                const T* packed = prepacked ? frozen->hh[(size_t)kd] : pack_forward(params + o.w_hh, g, ws.packed);
                for (int64_t j = nseg - 1; j >= 0; --j) {
                    const int64_t s_b = j * k, s_e = std::min(g.T, s_b + k);
                    const int64_t t0 = first_time(d, g.T, s_b, s_e);
                    const T* h_prev = s_b == 0 ? h0l : out + time_of(d, g.T, s_b - 1) * BH * g.D + d * H;
                    const T* c_first = lstm && j > 0 ? ws.ckpt.data() + (kd * nseg + j) * BH : c0l;
                    T* gseg = gx + t0 * g.B * GH;  // rows of the segment, activated in place
                    forward_steps(dims.cell, g, d, params, o, gseg, ax, t0, s_b, s_e, out, h_prev, s_b == 0 ? H : DH, c_first, step,
                                  packed, true);
                    backward_steps(dims.cell, g, d, params, o, gseg, ax, t0, s_b, s_e, out, h0l, c_first, d_layer, d_gx, d_gh, dh,
                                   dh_next, dc, d_peep, rec, packed_bwd);
                }
            }
            if (dh0) std::memcpy(dh0 + kd * BH, dh, sizeof(T) * BH);
            if (dc0 && lstm) std::memcpy(dc0 + kd * BH, dc, sizeof(T) * BH);
            backward_gemms(dims.cell, g, d, in, in_size, params, o, out, h0l, d_x, d == 1, dparams, accumulate, d_gx, d_gh, d_peep,
                           ws.pack_big);
        }
    }
    if (dx && dims.batch_first) swap_batch_time(d_in, dx, g.T, g.B, g.I);
    if (dh_top && dims.batch_first) swap_batch_time(record, dh_top, g.T, g.B, DH);
}

void rnn_inference_chunk_bytes(double bytes) { g_chunk_bytes.store(bytes < 0 ? kChunkBytes : bytes); }

template struct RnnWorkspace<float>;
template struct RnnWorkspace<double>;
template void rnn_freeze<float>(const RnnDims&, const float*, int64_t, FrozenParams<float>&);
template void rnn_freeze<double>(const RnnDims&, const double*, int64_t, FrozenParams<double>&);
template struct FrozenParams<float>;
template struct FrozenParams<double>;
template void rnn_forward<float>(const RnnDims&, int64_t, int64_t, bool, const float*, const float*, const float*,
                                 const float*, float*, float*, float*, RnnWorkspace<float>&, const FrozenParams<float>*);
template void rnn_forward<double>(const RnnDims&, int64_t, int64_t, bool, const double*, const double*,
                                  const double*, const double*, double*, double*, double*, RnnWorkspace<double>&,
                                  const FrozenParams<double>*);
template void rnn_backward<float>(const RnnDims&, const float*, const float*, const float*, const float*,
                                  const float*, float*, float*, float*, float*, bool, float*, RnnWorkspace<float>&,
                                  FrozenParams<float>*);
template void rnn_backward<double>(const RnnDims&, const double*, const double*, const double*, const double*,
                                   const double*, double*, double*, double*, double*, bool, double*, RnnWorkspace<double>&,
                                   FrozenParams<double>*);

}  // namespace hpc::cpu
