// Vectorised float32 activations for the pointwise passes. Accuracy: about 2e-7 relative (a few ulp) over the whole
// range; float64 code keeps using libm (it is the reference path). Built for AVX-512, AVX2 and a portable default,
// picked at run time (GCC target_clones).
#pragma once

#include <cmath>
#include <cstdint>

namespace hpc::cpu {

void vsigmoid_f32(const float* in, float* out, int64_t n);
void vtanh_f32(const float* in, float* out, int64_t n);

// `rows` consecutive batch rows of a cell's pointwise pass, every gate of a row in one vectorised loop (float32; the
// same activations as above), in one call (LSTM B32 T50 H20 inference 0.97x the time of a call per row). H below 32
// and not a multiple of 16: the rows are staged in blocks and run as whole 16-lane vectors (vmath.cpp); the results
// do not depend on how a step's rows are split among calls. Layouts as in
// rnn_cpu.cpp: s = the step's recurrent pre-activations [rows, G*H], g = the input-projected pre-activations
// [rows, G*H] on entry and the activated gates on exit; c_prev, c and hl advance by H a row, h by h_ld, h_prev by hp_ld.
// keep_gates false (inference): g is only read, and GRU's hl is not written.
// LSTM (no peepholes): c = f c_prev + i g, h = o tanh(c).
void lstm_forward_rows_f32(const float* s, float* g, const float* c_prev, float* c, float* h, int64_t H, int64_t rows,
                           int64_t h_ld, bool keep_gates = true);
// GRU: hl = W_hn h + b_hn (saved), n = tanh(x_n + r hl), h = (1 - z) n + z h_prev.
void gru_forward_rows_f32(const float* s, float* g, const float* b_hn, const float* h_prev, int64_t hp_ld, float* hl,
                          float* h, int64_t H, int64_t rows, int64_t h_ld, bool keep_gates = true);
// LSTM backward of `rows` consecutive batch rows: dgates [4H] a row from dy + dh and dc (updated in place to
// dc_{t-1}); dy advances by dy_ld a row, the others as in the forward rows.
void lstm_backward_rows_f32(const float* g, const float* c, const float* c_prev, const float* dy, int64_t dy_ld,
                            const float* dh, float* dc, float* dgates, int64_t H, int64_t rows);
// GRU backward of one row: gradients of the input-projected (dgx) and recurrent (dgh) pre-activations, and the
// direct term z dh_t of dh_{t-1}. No transcendental functions: one template serves float64 and, built for AVX-512 /
// AVX2 / x86-64 in vmath.cpp, float32.
template <typename T>
inline void gru_backward_row(const T* __restrict g, const T* __restrict hl, const T* __restrict h_prev,
                             const T* __restrict dy, const T* __restrict dh, T* __restrict dgx, T* __restrict dgh,
                             T* __restrict dh_direct, int64_t H) {
    for (int64_t j = 0; j < H; ++j) {
        const T r = g[j], z = g[H + j], n = g[2 * H + j];
        const T dht = dy[j] + dh[j];
        const T d_pn = dht * (T(1) - z) * (T(1) - n * n);
        const T d_pz = dht * (h_prev[j] - n) * z * (T(1) - z);
        const T d_pr = d_pn * hl[j] * r * (T(1) - r);
        dgx[j] = d_pr;
        dgx[H + j] = d_pz;
        dgx[2 * H + j] = d_pn;
        dgh[j] = d_pr;
        dgh[H + j] = d_pz;
        dgh[2 * H + j] = d_pn * r;
        dh_direct[j] = dht * z;
    }
}
void gru_backward_row_f32(const float* g, const float* hl, const float* h_prev, const float* dy, const float* dh,
                          float* dgx, float* dgh, float* dh_direct, int64_t H);

// out = act(in) over n values; float uses the vectorised versions, double libm.
inline void act_sigmoid(const float* in, float* out, int64_t n) { vsigmoid_f32(in, out, n); }
inline void act_tanh(const float* in, float* out, int64_t n) { vtanh_f32(in, out, n); }
inline void act_sigmoid(const double* in, double* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = 1.0 / (1.0 + std::exp(-in[i]));
}
inline void act_tanh(const double* in, double* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = std::tanh(in[i]);
}

}  // namespace hpc::cpu
