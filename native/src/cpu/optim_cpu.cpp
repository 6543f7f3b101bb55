#include "optim_cpu.h"

#include <algorithm>
#include <cmath>

namespace hpc::cpu {

template <typename T>
void optim_step(int32_t algorithm, const hpc_optim_hparams& h, int64_t step, int64_t n, T* const* params,
                const T* const* grads, T* const* state1, T* const* state2, const int64_t* lengths) {
    // Arithmetic in T, as PyTorch does for a tensor of that dtype; scalars converted once.
    const T lr = (T)h.lr, wd = (T)h.weight_decay, l1 = (T)h.l1, mom = (T)h.momentum, damp = (T)h.dampening;
    const T eps = (T)h.eps, alpha = (T)h.alpha, b1 = (T)h.beta1, b2 = (T)h.beta2;
    const bool first = step == 1;
    for (int64_t t = 0; t < n; ++t) {
        T* p = params[t];
        const T* g = grads[t];
        const int64_t len = lengths[t];
        T* s1 = state1 ? state1[t] : nullptr;
        T* s2 = state2 ? state2[t] : nullptr;
        auto grad = [&](int64_t i) {
            T d = g[i];
            if (h.weight_decay != 0 && algorithm != HPC_OPTIM_ADAMW) d += wd * p[i];
            if (h.l1 != 0) d += l1 * (p[i] > 0 ? T(1) : p[i] < 0 ? T(-1) : T(0));
            return d;
        };
        switch (algorithm) {
            case HPC_OPTIM_SGD:
                for (int64_t i = 0; i < len; ++i) {
                    T d = grad(i);
                    if (h.momentum != 0) {
                        s1[i] = first ? d : mom * s1[i] + (T(1) - damp) * d;
                        d = h.nesterov ? d + mom * s1[i] : s1[i];
                    }
                    p[i] -= lr * d;
                }
                break;
            case HPC_OPTIM_RMSPROP:
                for (int64_t i = 0; i < len; ++i) {
                    const T d = grad(i);
                    s1[i] = (first ? T(0) : alpha * s1[i]) + (T(1) - alpha) * d * d;
                    const T avg = std::sqrt(s1[i]) + eps;
                    if (h.momentum > 0) {
                        s2[i] = (first ? T(0) : mom * s2[i]) + d / avg;
                        p[i] -= lr * s2[i];
                    } else {
                        p[i] -= lr * d / avg;
                    }
                }
                break;
            case HPC_OPTIM_ADAM:
            case HPC_OPTIM_ADAMW: {
                // Scalars in double, as PyTorch computes them in Python before scaling the tensors.
                const double bc1 = 1.0 - std::pow(h.beta1, (double)step);
                const T step_size = (T)(h.lr / bc1);
                const T bc2_sqrt = (T)std::sqrt(1.0 - std::pow(h.beta2, (double)step));
                const T decay = (T)(1.0 - h.lr * h.weight_decay);
                for (int64_t i = 0; i < len; ++i) {
                    if (algorithm == HPC_OPTIM_ADAMW) p[i] *= decay;
                    const T d = grad(i);
                    s1[i] = (first ? T(0) : b1 * s1[i]) + (T(1) - b1) * d;
                    s2[i] = (first ? T(0) : b2 * s2[i]) + (T(1) - b2) * d * d;
                    const T denom = std::sqrt(s2[i]) / bc2_sqrt + eps;
                    p[i] -= step_size * s1[i] / denom;
                }
                break;
            }
            case HPC_OPTIM_ADAGRAD: {
                const T clr = (T)(h.lr / (1.0 + (double)(step - 1) * h.lr_decay));
                for (int64_t i = 0; i < len; ++i) {
                    const T d = grad(i);
                    s1[i] = (first ? (T)h.initial_accumulator_value : s1[i]) + d * d;
                    p[i] -= clr * d / (std::sqrt(s1[i]) + eps);
                }
                break;
            }
        }
    }
}

template <typename T>
double grad_norm(int64_t n, const T* const* grads, const int64_t* lengths, bool infinity) {
    // Accumulate in double: the norm of millions of float32 gradients should not lose digits.
    double acc = 0;
    for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < lengths[t]; ++i) {
            const double v = (double)grads[t][i];
            if (infinity) acc = std::max(acc, std::fabs(v));
            else acc += v * v;
            if (std::isnan(v)) acc = NAN;
        }
    return infinity ? acc : std::sqrt(acc);
}

template <typename T>
void scale_grads(int64_t n, T* const* grads, const int64_t* lengths, double factor) {
    const T f = (T)factor;
    for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < lengths[t]; ++i) grads[t][i] *= f;
}

template <typename T>
void clamp_grads(int64_t n, T* const* grads, const int64_t* lengths, double v) {
    const T hi = (T)v, lo = -(T)v;
    for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < lengths[t]; ++i) grads[t][i] = std::min(std::max(grads[t][i], lo), hi);
}

#define HPC_INSTANTIATE(T)                                                                                        \
    template void optim_step<T>(int32_t, const hpc_optim_hparams&, int64_t, int64_t, T* const*, const T* const*, \
                                T* const*, T* const*, const int64_t*);                                          \
    template double grad_norm<T>(int64_t, const T* const*, const int64_t*, bool);                               \
    template void scale_grads<T>(int64_t, T* const*, const int64_t*, double);                                   \
    template void clamp_grads<T>(int64_t, T* const*, const int64_t*, double);
HPC_INSTANTIATE(float)
HPC_INSTANTIATE(double)

}  // namespace hpc::cpu
