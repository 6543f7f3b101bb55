// Vectorised float32 activations for the pointwise passes. Accuracy: about 2e-7 relative (a few ulp) over the whole
// range; float64 code keeps using libm (it is the reference path). Built for AVX2 and a portable default, picked at
// run time (GCC target_clones).
#pragma once

#include <cmath>
#include <cstdint>

namespace hpc::cpu {

void vsigmoid_f32(const float* in, float* out, int64_t n);
void vtanh_f32(const float* in, float* out, int64_t n);

// One batch row of a cell's pointwise pass with every gate in one vectorised loop (float32; the same activations as
// above). Layouts as in rnn_cpu.cpp: s = the step's recurrent pre-activations [G*H], g = the input-projected
// pre-activations [G*H] on entry and the activated gates on exit.
// LSTM (no peepholes): c = f c_prev + i g, h = o tanh(c).
void lstm_forward_row_f32(const float* s, float* g, const float* c_prev, float* c, float* h, int64_t H);
// GRU: hl = W_hn h + b_hn (saved), n = tanh(x_n + r hl), h = (1 - z) n + z h_prev.
void gru_forward_row_f32(const float* s, float* g, const float* b_hn, const float* h_prev, float* hl, float* h, int64_t H);
// LSTM backward of one row: dgates [4H] from dy + dh and dc (updated in place to dc_{t-1}).
void lstm_backward_row_f32(const float* g, const float* c, const float* c_prev, const float* dy, const float* dh,
                           float* dc, float* dgates, int64_t H);
// GRU backward of one row: gradients of the input-projected (dgx) and recurrent (dgh) pre-activations, and the
// direct term z dh_t of dh_{t-1}.
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
