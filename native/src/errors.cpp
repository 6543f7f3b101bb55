#include "errors.h"

namespace hpc {
namespace {
thread_local std::string g_last_error;
}

void set_last_error(const std::string& message) noexcept {
    try {
        g_last_error = message;
    } catch (...) {
        g_last_error.clear();  // out of memory while reporting: leave an empty message rather than crash
    }
}

void clear_last_error() noexcept { g_last_error.clear(); }

const std::string& last_error() noexcept { return g_last_error; }

}  // namespace hpc
