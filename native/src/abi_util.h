// Argument checks shared by the ABI entry points. Each throws InvalidArgument with a message that names the
// argument, the expected and the actual value.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "errors.h"

namespace hpc::abi {

// A double with all its digits, for messages.
inline std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

inline void require(bool ok, const std::string& message) {
    if (!ok) throw InvalidArgument(message);
}

// A literal message: no std::string is built unless the check fails (one longer than the short-string buffer, such as
// "c0: this cell has no cell state; pass NULL and 0" on every GRU forward, was a heap allocation a call).
inline void require(bool ok, const char* message) {
    if (!ok) throw InvalidArgument(message);
}

// The same with the message built by message() only on failure: messages built on every call (numbers formatted,
// strings joined) were 1.5 % of a K 8 decode of 10,000 rows, most of its validation.
template <typename Message, typename = std::enable_if_t<std::is_invocable_r_v<std::string, Message&>>>
inline void require(bool ok, Message&& message) {
    if (!ok) throw InvalidArgument(message());
}

// A buffer argument: required or optional (NULL with length 0), and exactly `expected` elements when present.
inline bool check_buffer(const char* name, const void* ptr, int64_t len, int64_t expected, bool optional) {
    if (ptr == nullptr) {
        require(optional,
                [&] { return std::string(name) + " is NULL (required, " + std::to_string(expected) + " elements)"; });
        require(len == 0,
                [&] { return std::string(name) + " is NULL but " + name + "_len is " + std::to_string(len); });
        return false;
    }
    require(len == expected, [&] {
        return std::string(name) + "_len: expected " + std::to_string(expected) + " elements, got " +
               std::to_string(len);
    });
    return true;
}

// Rejects an output buffer that overlaps an input: the kernels read inputs while writing outputs.
inline void require_disjoint(const char* a_name, const void* a, int64_t a_len, const char* b_name, const void* b,
                      int64_t b_len, size_t elem) {
    if (!a || !b) return;
    auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
    auto a1 = a0 + (uintptr_t)a_len * elem, b1 = b0 + (uintptr_t)b_len * elem;
    require(a1 <= b0 || b1 <= a0, [&] { return std::string(a_name) + " overlaps " + b_name; });
}

struct Buffer {
    const char* name;
    const void* ptr;
    int64_t len;
};

// No output may overlap an input or another output.
inline void require_no_overlap(std::initializer_list<Buffer> ins, std::initializer_list<Buffer> outs, size_t elem) {
    for (const Buffer& o : outs) {
        for (const Buffer& i : ins) require_disjoint(o.name, o.ptr, o.len, i.name, i.ptr, i.len, elem);
        for (const Buffer& o2 : outs)
            if (&o2 != &o) require_disjoint(o.name, o.ptr, o.len, o2.name, o2.ptr, o2.len, elem);
    }
}


}  // namespace hpc::abi
