// Overflow-checked size arithmetic for validating caller-provided sizes.
#pragma once

#include <cstdint>
#include <string>

#include "errors.h"

namespace hpc {

inline int64_t checked_mul(int64_t a, int64_t b, const char* what) {
    int64_t r;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
        throw InvalidArgument(std::string(what) + " overflows 64-bit (" + std::to_string(a) + " * " +
                              std::to_string(b) + ")");
    return r;
}

inline int64_t checked_add(int64_t a, int64_t b, const char* what) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) throw InvalidArgument(std::string(what) + " overflows 64-bit");
    return r;
}

}  // namespace hpc
