#include "vmath.h"

#include <algorithm>
#include <cstring>

// x86-64: AVX-512 and AVX2 clones and a portable default, chosen at load time; elsewhere the compiler's own
// vectorisation.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(HPC_NO_TARGET_CLONES)
#define HPC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HPC_VECTOR_CLONES
#endif

namespace hpc::cpu {
namespace {

// exp(x) for x in [-87.3, 88.7]: x = k ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 Taylor polynomial (error below
// 2e-7 relative), times 2^k built from the exponent bits. Branch-free so that the loops vectorise.
inline float exp_core(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    const float t = x * 1.44269504088896341f + 12582912.0f;  // round to nearest with the 1.5*2^23 trick
    const float k = t - 12582912.0f;
    float r = x - k * 0.693145751953125f;                     // ln2 split in two for an exact product
    r = r - k * 1.428606765330187045e-06f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

inline float sigmoid_core(float x) { return 1.0f / (1.0f + exp_core(-x)); }

// tanh: an odd Taylor polynomial for |x| < 0.25 (where 1 - 2/(e^2x + 1) would cancel), otherwise
// sign(x) (1 - 2 / (exp(2|x|) + 1)).
inline float tanh_core(float x) {
    const float a = x < 0 ? -x : x;
    const float x2 = x * x;
    float p = 62.0f / 2835.0f;
    p = p * x2 - 17.0f / 315.0f;
    p = p * x2 + 2.0f / 15.0f;
    p = p * x2 - 1.0f / 3.0f;
    const float small = x + x * x2 * p;
    const float big = 1.0f - 2.0f / (exp_core(2.0f * a) + 1.0f);
    return a < 0.25f ? small : (x < 0 ? -big : big);
}

}  // namespace

HPC_VECTOR_CLONES
void vsigmoid_f32(const float* in, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = sigmoid_core(in[i]);
}

HPC_VECTOR_CLONES
void vtanh_f32(const float* in, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = tanh_core(in[i]);
}

// ---- batch rows of a cell's pointwise pass, every gate fused in one vectorised loop ----

namespace {

// One unit of a cell, from its gates' pre-activations: the same code for a row's loop and a staged block's (the
// outputs are written last, so that no input is read back through them).
__attribute__((always_inline)) inline void lstm_forward_unit(float pi, float pf, float pg, float po, float c_prev, float& i,
                                                             float& f, float& gg, float& o, float& c, float& h) {
    const float iv = sigmoid_core(pi), fv = sigmoid_core(pf), gv = tanh_core(pg), ov = sigmoid_core(po);
    const float cv = fv * c_prev + iv * gv;
    const float hv = ov * tanh_core(cv);
    i = iv, f = fv, gg = gv, o = ov, c = cv, h = hv;
}
__attribute__((always_inline)) inline void lstm_backward_unit(float i, float f, float gg, float o, float c, float cp, float dy,
                                                              float dh, float& dc, float& di, float& df, float& dg,
                                                              float& d_o) {
    const float tc = tanh_core(c);
    const float dht = dy + dh;
    const float dov = dht * tc * o * (1.0f - o);
    const float dct = dc + dht * o * (1.0f - tc * tc);
    const float div = dct * gg * i * (1.0f - i), dfv = dct * cp * f * (1.0f - f), dgv = dct * i * (1.0f - gg * gg);
    d_o = dov, di = div, df = dfv, dg = dgv, dc = dct * f;
}

// A row of units; kKeepGates (training) stores the activated gates over g's pre-activations (and GRU's hl), for
// backward; inference only reads g.
template <bool kKeepGates>
__attribute__((always_inline)) inline void lstm_forward_row(const float* __restrict s, float* __restrict g,
                                                            const float* __restrict c_prev, float* __restrict c,
                                                            float* __restrict h, int64_t H) {
    for (int64_t j = 0; j < H; ++j) {
        float i, f, gg, o;
        lstm_forward_unit(s[j] + g[j], s[H + j] + g[H + j], s[2 * H + j] + g[2 * H + j], s[3 * H + j] + g[3 * H + j],
                          c_prev[j], i, f, gg, o, c[j], h[j]);
        if constexpr (kKeepGates) g[j] = i, g[H + j] = f, g[2 * H + j] = gg, g[3 * H + j] = o;
    }
}

template <bool kKeepGates>
__attribute__((always_inline)) inline void gru_forward_row(const float* __restrict s, float* __restrict g,
                                                           const float* __restrict b_hn, const float* __restrict h_prev,
                                                           float* __restrict hl_out, float* __restrict h, int64_t H) {
    for (int64_t j = 0; j < H; ++j) {
        const float r = sigmoid_core(s[j] + g[j]);
        const float z = sigmoid_core(s[H + j] + g[H + j]);
        const float hl = s[2 * H + j] + b_hn[j];
        const float n = tanh_core(g[2 * H + j] + r * hl);
        if constexpr (kKeepGates) g[j] = r, g[H + j] = z, g[2 * H + j] = n, hl_out[j] = hl;
        h[j] = (1.0f - z) * n + z * h_prev[j];
    }
}

__attribute__((always_inline)) inline void lstm_backward_row(const float* __restrict g, const float* __restrict c,
                                                             const float* __restrict c_prev, const float* __restrict dy,
                                                             const float* __restrict dh, float* __restrict dc,
                                                             float* __restrict dgates, int64_t H) {
    for (int64_t j = 0; j < H; ++j)
        lstm_backward_unit(g[j], g[H + j], g[2 * H + j], g[3 * H + j], c[j], c_prev[j], dy[j], dh[j], dc[j], dgates[j],
                           dgates[H + j], dgates[2 * H + j], dgates[3 * H + j]);
}

}  // namespace

// A row whose H is not a multiple of the vector width ends in a partial vector (H 20: one 16-lane pass and one short
// pass for 20 units). Small such H (below 32) are staged instead: blocks of whole rows, at most kStageUnits units,
// have each gate's pre-activations copied into one contiguous array, the activations run over the block in whole
// 16-lane vectors (the padding lanes computed and dropped), and the results go back to the rows. Every unit then
// runs the same vector code wherever it falls in a block, so results do not depend on how the rows are split.
constexpr int64_t kStageUnits = 256;
inline bool staged(int64_t H) { return H % 16 != 0 && H < 32; }
inline int64_t padded16(int64_t n) { return (n + 15) / 16 * 16; }
// A row's few floats into or out of a stage, inline (vmath.cpp is built without GCC's loop-to-memcpy rewrite: a
// library call per row and gate cost more than the copy at H 10-20).
__attribute__((always_inline)) inline void copy_floats(float* __restrict dst, const float* __restrict src, int64_t n) {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
}

HPC_VECTOR_CLONES
void lstm_forward_rows_f32(const float* s, float* g, const float* c_prev, float* c, float* h, int64_t H, int64_t rows,
                           int64_t h_ld, bool keep_gates) {
    if (!staged(H)) {
        if (keep_gates)
            for (int64_t b = 0; b < rows; ++b)
                lstm_forward_row<true>(s + b * 4 * H, g + b * 4 * H, c_prev + b * H, c + b * H, h + b * h_ld, H);
        else
            for (int64_t b = 0; b < rows; ++b)
                lstm_forward_row<false>(s + b * 4 * H, g + b * 4 * H, c_prev + b * H, c + b * H, h + b * h_ld, H);
        return;
    }
    alignas(64) float pre[4][kStageUnits], cp16[kStageUnits], co[kStageUnits], ho[kStageUnits];
    const int64_t per = kStageUnits / H;
    for (int64_t b0 = 0; b0 < rows; b0 += per) {
        const int64_t nb = std::min(per, rows - b0), n = nb * H;
        for (int64_t b = 0; b < nb; ++b)
            for (int q = 0; q < 4; ++q) {
                const float* sr = s + (b0 + b) * 4 * H + q * H;
                const float* gr = g + (b0 + b) * 4 * H + q * H;
                for (int64_t j = 0; j < H; ++j) pre[q][b * H + j] = sr[j] + gr[j];
            }
        const float* cp = c_prev + b0 * H;  // c_prev and c: rows H apart, contiguous
        float* cb = c + b0 * H;
        for (float* v : {pre[0], pre[1], pre[2], pre[3], cp16}) std::fill(v + n, v + padded16(n), 0.0f);
        copy_floats(cp16, cp, n);
        for (int64_t e0 = 0; e0 < n; e0 += 16)
#pragma GCC unroll 16
            for (int64_t e = e0; e < e0 + 16; ++e)
                lstm_forward_unit(pre[0][e], pre[1][e], pre[2][e], pre[3][e], cp16[e], pre[0][e], pre[1][e], pre[2][e],
                                  pre[3][e], co[e], ho[e]);
        copy_floats(cb, co, n);
        for (int64_t b = 0; b < nb; ++b) {
            if (keep_gates)
                for (int q = 0; q < 4; ++q) copy_floats(g + (b0 + b) * 4 * H + q * H, pre[q] + b * H, H);
            copy_floats(h + (b0 + b) * h_ld, ho + b * H, H);
        }
    }
}

HPC_VECTOR_CLONES
void gru_forward_rows_f32(const float* s, float* g, const float* b_hn, const float* h_prev, int64_t hp_ld, float* hl,
                          float* h, int64_t H, int64_t rows, int64_t h_ld, bool keep_gates) {
    if (!staged(H)) {
        if (keep_gates)
            for (int64_t b = 0; b < rows; ++b)
                gru_forward_row<true>(s + b * 3 * H, g + b * 3 * H, b_hn, h_prev + b * hp_ld, hl + b * H, h + b * h_ld, H);
        else
            for (int64_t b = 0; b < rows; ++b)
                gru_forward_row<false>(s + b * 3 * H, g + b * 3 * H, b_hn, h_prev + b * hp_ld, hl + b * H, h + b * h_ld, H);
        return;
    }
    // Staged like the LSTM's: r, z pre-activations, s_n + b_hn (= hl), x_n and h_prev.
    alignas(64) float pre[4][kStageUnits], hp[kStageUnits], ho[kStageUnits];
    const int64_t per = kStageUnits / H;
    for (int64_t b0 = 0; b0 < rows; b0 += per) {
        const int64_t nb = std::min(per, rows - b0), n = nb * H;
        for (int64_t b = 0; b < nb; ++b) {
            const float* sr = s + (b0 + b) * 3 * H;
            const float* gr = g + (b0 + b) * 3 * H;
            for (int64_t j = 0; j < H; ++j) {
                pre[0][b * H + j] = sr[j] + gr[j];
                pre[1][b * H + j] = sr[H + j] + gr[H + j];
                pre[2][b * H + j] = sr[2 * H + j] + b_hn[j];
                pre[3][b * H + j] = gr[2 * H + j];
                hp[b * H + j] = h_prev[(b0 + b) * hp_ld + j];
            }
        }
        float* hlb = hl + b0 * H;  // rows H apart, contiguous
        for (int q = 0; q < 4; ++q) std::fill(pre[q] + n, pre[q] + padded16(n), 0.0f);
        std::fill(hp + n, hp + padded16(n), 0.0f);
        for (int64_t e0 = 0; e0 < n; e0 += 16)
#pragma GCC unroll 16
            for (int64_t e = e0; e < e0 + 16; ++e)
            {
                // gru_forward_row's arithmetic, written out: through a shared unit function like the LSTM's this
                // loop took 4-6 % longer (GRU B32 T50 H20 inference, alternated), the row loop not.
                const float r = sigmoid_core(pre[0][e]);
                const float z = sigmoid_core(pre[1][e]);
                const float nn = tanh_core(pre[3][e] + r * pre[2][e]);
                pre[0][e] = r;
                pre[1][e] = z;
                pre[3][e] = nn;
                ho[e] = (1.0f - z) * nn + z * hp[e];
            }
        if (keep_gates) copy_floats(hlb, pre[2], n);
        for (int64_t b = 0; b < nb; ++b) {
            if (keep_gates) {
                float* gr = g + (b0 + b) * 3 * H;
                copy_floats(gr, pre[0] + b * H, H);
                copy_floats(gr + H, pre[1] + b * H, H);
                copy_floats(gr + 2 * H, pre[3] + b * H, H);
            }
            copy_floats(h + (b0 + b) * h_ld, ho + b * H, H);
        }
    }
}

HPC_VECTOR_CLONES
void lstm_backward_rows_f32(const float* g, const float* c, const float* c_prev, const float* dy, int64_t dy_ld,
                            const float* dh, float* dc, float* dgates, int64_t H, int64_t rows) {
    if (!staged(H)) {
        for (int64_t b = 0; b < rows; ++b)
            lstm_backward_row(g + b * 4 * H, c + b * H, c_prev + b * H, dy + b * dy_ld, dh + b * H, dc + b * H,
                              dgates + b * 4 * H, H);
        return;
    }
    // Staged like the forward rows: c, c_prev, dh and dc are contiguous over the rows already.
    alignas(64) float gs[4][kStageUnits], cs[kStageUnits], cps[kStageUnits], dys[kStageUnits], dhs[kStageUnits],
        dcs[kStageUnits];
    const int64_t per = kStageUnits / H;
    for (int64_t b0 = 0; b0 < rows; b0 += per) {
        const int64_t nb = std::min(per, rows - b0), n = nb * H, n16 = padded16(n);
        for (int64_t b = 0; b < nb; ++b) {
            for (int q = 0; q < 4; ++q) copy_floats(gs[q] + b * H, g + (b0 + b) * 4 * H + q * H, H);
            copy_floats(dys + b * H, dy + (b0 + b) * dy_ld, H);
        }
        copy_floats(cs, c + b0 * H, n);
        copy_floats(cps, c_prev + b0 * H, n);
        copy_floats(dhs, dh + b0 * H, n);
        copy_floats(dcs, dc + b0 * H, n);
        for (float* a : {gs[0], gs[1], gs[2], gs[3], cs, cps, dys, dhs, dcs}) std::fill(a + n, a + n16, 0.0f);
        for (int64_t e0 = 0; e0 < n; e0 += 16)
#pragma GCC unroll 16
            for (int64_t e = e0; e < e0 + 16; ++e)
                lstm_backward_unit(gs[0][e], gs[1][e], gs[2][e], gs[3][e], cs[e], cps[e], dys[e], dhs[e], dcs[e], gs[0][e],
                                   gs[1][e], gs[2][e], gs[3][e]);
        copy_floats(dc + b0 * H, dcs, n);
        for (int64_t b = 0; b < nb; ++b)
            for (int q = 0; q < 4; ++q) copy_floats(dgates + (b0 + b) * 4 * H + q * H, gs[q] + b * H, H);
    }
}

HPC_VECTOR_CLONES
void gru_backward_row_f32(const float* g, const float* hl, const float* h_prev, const float* dy, const float* dh,
                          float* dgx, float* dgh, float* dh_direct, int64_t H) {
    gru_backward_row<float>(g, hl, h_prev, dy, dh, dgx, dgh, dh_direct, H);
}

}  // namespace hpc::cpu
