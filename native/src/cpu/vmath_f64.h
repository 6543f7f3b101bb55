// Vectorised double-precision exp and log over the ranges the HMM kernels need (vmath_f64.cpp; the lane-wise forms
// they are built from are in vmath_f64_lanes.h).
#pragma once

#include <cstdint>

namespace hpc::cpu {

// out[i] = exp(in[i]) for in[i] <= 0 (-inf included), vectorised; within 2 ulp of the exact value for normal results
// (tested against libm), subnormal results from two power-of-two scalings, 0 below -745.14. For in[i] > 0 the result
// is unspecified (the callers pass logarithms minus their row's maximum).
void exp_nonpositive(const double* in, double* out, int64_t n);

// out[i] = log(in[i]) for in[i] >= 0 (0 gives -inf), vectorised; within 1 ulp of libm for normal inputs (tested),
// subnormal inputs scaled by 2^54 first. For negative or non-finite inputs the result is unspecified.
void log_nonnegative(const double* in, double* out, int64_t n);

}  // namespace hpc::cpu
