// Vectorised float32 activations for the pointwise passes. Accuracy: about 2e-7 relative (a few ulp) over the whole
// range; float64 code keeps using libm (it is the reference path). Built for AVX2 and a portable default, picked at
// run time (GCC target_clones).
#pragma once

#include <cmath>
#include <cstdint>

namespace hpc::cpu {

void vsigmoid_f32(const float* in, float* out, int64_t n);
void vtanh_f32(const float* in, float* out, int64_t n);

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
