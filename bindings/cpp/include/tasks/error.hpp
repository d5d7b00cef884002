// tasks/error.hpp: tasks::Error (a std::system_error in the "tasks" category) and Cancelled.
#ifndef TASKS_HPP_ERROR
#define TASKS_HPP_ERROR

#include "fwd.hpp"

#include <string>
#include <system_error>

namespace tasks {

// The "tasks" error category: codes are tasks_status values; messages are tasks_status_str.
// Some codes map to the portable std::errc conditions (so `e.code() == std::errc::timed_out`
// holds for TASKS_TIMED_OUT).
class ErrorCategory final : public std::error_category {
public:
    const char *name() const noexcept override { return "tasks"; }
    std::string message(int code) const override { return tasks_status_str(code); }
    std::error_condition default_error_condition(int code) const noexcept override {
        switch (code) {
            case TASKS_TIMED_OUT: return std::errc::timed_out;
            case TASKS_CANCELLED: return std::errc::operation_canceled;
            case TASKS_ERR_INVALID: return std::errc::invalid_argument;
            case TASKS_ERR_WOULD_DEADLOCK: return std::errc::resource_deadlock_would_occur;
            case TASKS_ERR_NO_MEMORY: return std::errc::not_enough_memory;
            case TASKS_ERR_THREAD: return std::errc::resource_unavailable_try_again;
            default: return std::error_condition(code, *this);
        }
    }
};

// The category object (one per program: a function-local static of an inline function).
inline const std::error_category &category() noexcept {
    static const ErrorCategory c;
    return c;
}

inline std::error_code make_error_code(tasks_status s) noexcept { return {static_cast<int>(s), category()}; }
}  // namespace tasks

// Found by argument-dependent lookup for the (global) C enum: std::error_code's converting
// constructor calls it.
inline std::error_code make_error_code(tasks_status s) noexcept { return tasks::make_error_code(s); }

namespace tasks {

// A failed library call (spawn on a shut-down runtime, an invalid builder setting, a join that
// would deadlock, a moved-from object used, ...) or a cancelled task. code() is in category();
// status() is the C status.
class Error : public std::system_error {
public:
    explicit Error(tasks_status s) : std::system_error(tasks::make_error_code(s)) {}
    // what() reads "<what>: <status message>".
    Error(tasks_status s, const char *what) : std::system_error(tasks::make_error_code(s), what) {}
    tasks_status status() const noexcept { return static_cast<tasks_status>(code().value()); }
};

// Thrown by join()/value()/co_await for a task that was aborted (or whose runtime shut down)
// before it completed.
class Cancelled : public Error {
public:
    Cancelled() : Error(TASKS_CANCELLED) {}
};

}  // namespace tasks

// `std::error_code ec = TASKS_ERR_INVALID;` and `e.code() == TASKS_ERR_INVALID` work.
namespace std {
template <>
struct is_error_code_enum<tasks_status> : true_type {};
}  // namespace std

#endif  // TASKS_HPP_ERROR
