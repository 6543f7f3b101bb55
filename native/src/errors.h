// Exceptions used inside the library and the guard that turns them into a status at the C ABI.
#pragma once

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

namespace hpc {

// A caller error: bad pointer, size, length or enum value. Maps to HPC_ERR_INVALID_ARGUMENT.
struct InvalidArgument : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The call is not valid in the object's current state. Maps to HPC_ERR_INVALID_STATE.
struct InvalidState : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void set_last_error(const std::string& message) noexcept;
void clear_last_error() noexcept;

// Runs body and converts any exception into a status code plus the thread's last error message.
template <typename F>
int32_t guarded(const char* function, F&& body) noexcept {
    try {
        clear_last_error();
        body();
        return 0;
    } catch (const InvalidArgument& e) {
        set_last_error(std::string(function) + ": " + e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        set_last_error(std::string(function) + ": out of memory");
        return 2;
    } catch (const InvalidState& e) {
        set_last_error(std::string(function) + ": " + e.what());
        return 3;
    } catch (const std::exception& e) {
        set_last_error(std::string(function) + ": internal error: " + e.what());
        return 4;
    } catch (...) {
        set_last_error(std::string(function) + ": internal error: unknown exception");
        return 4;
    }
}

}  // namespace hpc
