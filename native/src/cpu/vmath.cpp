#include "vmath.h"

#include <cstring>

// x86-64: AVX-512 and AVX2 clones and a portable default, chosen at load time; elsewhere the compiler's own
// vectorisation.
#if defined(__x86_64__) && defined(__GNUC__)
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

}  // namespace

HPC_VECTOR_CLONES
void vsigmoid_f32(const float* in, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + exp_core(-in[i]));
}

// tanh: an odd Taylor polynomial for |x| < 0.25 (where 1 - 2/(e^2x + 1) would cancel), otherwise
// sign(x) (1 - 2 / (exp(2|x|) + 1)).
HPC_VECTOR_CLONES
void vtanh_f32(const float* in, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float x = in[i];
        const float a = x < 0 ? -x : x;
        const float x2 = x * x;
        float p = 62.0f / 2835.0f;
        p = p * x2 - 17.0f / 315.0f;
        p = p * x2 + 2.0f / 15.0f;
        p = p * x2 - 1.0f / 3.0f;
        const float small = x + x * x2 * p;
        const float big = 1.0f - 2.0f / (exp_core(2.0f * a) + 1.0f);
        out[i] = a < 0.25f ? small : (x < 0 ? -big : big);
    }
}

}  // namespace hpc::cpu
