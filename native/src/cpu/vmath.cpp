#include "vmath.h"

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

__attribute__((always_inline)) inline void lstm_forward_row(const float* __restrict s, float* __restrict g,
                                                            const float* __restrict c_prev, float* __restrict c,
                                                            float* __restrict h, int64_t H) {
    for (int64_t j = 0; j < H; ++j) {
        const float i = sigmoid_core(s[j] + g[j]);
        const float f = sigmoid_core(s[H + j] + g[H + j]);
        const float gg = tanh_core(s[2 * H + j] + g[2 * H + j]);
        const float o = sigmoid_core(s[3 * H + j] + g[3 * H + j]);
        const float ct = f * c_prev[j] + i * gg;
        g[j] = i;
        g[H + j] = f;
        g[2 * H + j] = gg;
        g[3 * H + j] = o;
        c[j] = ct;
        h[j] = o * tanh_core(ct);
    }
}

__attribute__((always_inline)) inline void gru_forward_row(const float* __restrict s, float* __restrict g,
                                                           const float* __restrict b_hn, const float* __restrict h_prev,
                                                           float* __restrict hl_out, float* __restrict h, int64_t H) {
    for (int64_t j = 0; j < H; ++j) {
        const float r = sigmoid_core(s[j] + g[j]);
        const float z = sigmoid_core(s[H + j] + g[H + j]);
        const float hl = s[2 * H + j] + b_hn[j];
        const float n = tanh_core(g[2 * H + j] + r * hl);
        g[j] = r;
        g[H + j] = z;
        g[2 * H + j] = n;
        hl_out[j] = hl;
        h[j] = (1.0f - z) * n + z * h_prev[j];
    }
}

}  // namespace

HPC_VECTOR_CLONES
void lstm_forward_rows_f32(const float* s, float* g, const float* c_prev, float* c, float* h, int64_t H, int64_t rows,
                           int64_t h_ld) {
    for (int64_t b = 0; b < rows; ++b)
        lstm_forward_row(s + b * 4 * H, g + b * 4 * H, c_prev + b * H, c + b * H, h + b * h_ld, H);
}

HPC_VECTOR_CLONES
void gru_forward_rows_f32(const float* s, float* g, const float* b_hn, const float* h_prev, int64_t hp_ld, float* hl,
                          float* h, int64_t H, int64_t rows, int64_t h_ld) {
    for (int64_t b = 0; b < rows; ++b)
        gru_forward_row(s + b * 3 * H, g + b * 3 * H, b_hn, h_prev + b * hp_ld, hl + b * H, h + b * h_ld, H);
}

HPC_VECTOR_CLONES
void lstm_backward_row_f32(const float* __restrict g, const float* __restrict c, const float* __restrict c_prev,
                           const float* __restrict dy, const float* __restrict dh, float* __restrict dc,
                           float* __restrict dgates, int64_t H) {
    for (int64_t j = 0; j < H; ++j) {
        const float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
        const float tc = tanh_core(c[j]);
        const float dht = dy[j] + dh[j];
        const float d_po = dht * tc * o * (1.0f - o);
        const float dct = dc[j] + dht * o * (1.0f - tc * tc);
        dgates[j] = dct * gg * i * (1.0f - i);
        dgates[H + j] = dct * c_prev[j] * f * (1.0f - f);
        dgates[2 * H + j] = dct * i * (1.0f - gg * gg);
        dgates[3 * H + j] = d_po;
        dc[j] = dct * f;
    }
}

HPC_VECTOR_CLONES
void gru_backward_row_f32(const float* g, const float* hl, const float* h_prev, const float* dy, const float* dh,
                          float* dgx, float* dgh, float* dh_direct, int64_t H) {
    gru_backward_row<float>(g, hl, h_prev, dy, dh, dgx, dgh, dh_direct, H);
}

}  // namespace hpc::cpu
