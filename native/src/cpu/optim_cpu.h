// Fused optimizer updates and gradient clipping over sets of tensors (PyTorch 1.13 torch.optim rules).
#pragma once

#include <cstdint>

#include "hpc/hpc.h"

namespace hpc::cpu {

template <typename T>
void optim_step(int32_t algorithm, const hpc_optim_hparams& h, int64_t step, int64_t n, T* const* params,
                const T* const* grads, T* const* state1, T* const* state2, const int64_t* lengths);

template <typename T>
double grad_norm(int64_t n, const T* const* grads, const int64_t* lengths, bool infinity);

template <typename T>
void scale_grads(int64_t n, T* const* grads, const int64_t* lengths, double factor);

template <typename T>
void clamp_grads(int64_t n, T* const* grads, const int64_t* lengths, double v);

}  // namespace hpc::cpu
