// Array forms of the lane-wise double-precision exp and log that the HMM kernels inline (vmath_f64_lanes.h), for the
// native tests to check against libm (vmath_f64.cpp is compiled into the test binary only).
#pragma once

#include <cstdint>

namespace hpc::cpu {

// out[i] = exp(in[i]) for in[i] <= 0 (-inf included), vectorised; within 2 ulp of the exact value for normal results
// (tested against libm), subnormal results from two power-of-two scalings, 0 below -745.14. For in[i] > 0 the result
// is unspecified (the callers pass logarithms minus their row's maximum).
void exp_nonpositive(const double* in, double* out, int64_t n);

// exp_nonpositive through exp_np_inplace (the fused kernels' blocks of rows: groups of kExpChains vectors, a faster
// path where a group's results are all normal): the same bits as exp_nonpositive, which the tests check.
void exp_nonpositive_grouped(const double* in, double* out, int64_t n);

// out[i] = log(in[i]) for in[i] >= 0 (0 gives -inf), vectorised; within 1 ulp of libm for normal inputs (tested),
// subnormal inputs scaled by 2^54 first. For negative or non-finite inputs the result is unspecified.
void log_nonnegative(const double* in, double* out, int64_t n);

}  // namespace hpc::cpu
