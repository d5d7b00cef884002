// tasks/detail/core.hpp: what every part of the binding uses: status checks, durations, the
// heap result a task hands to the library, run-to-completion jobs, and the abort notifications
// that stop tokens listen to. Not part of the API.
#ifndef TASKS_HPP_DETAIL_CORE
#define TASKS_HPP_DETAIL_CORE

#include "../error.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace tasks {
namespace detail {

inline void check(tasks_status s, const char *what) {
    if (s == TASKS_OK) return;
    if (s == TASKS_CANCELLED) throw Cancelled();
    throw Error(s, what);
}

// A moved-from or default-constructed object used: the contract says TASKS_ERR_INVALID.
[[noreturn]] inline void throw_empty(const char *what) { throw Error(TASKS_ERR_INVALID, what); }

// Saturating: negative and NaN durations do not wait, huge ones wait (practically) forever.
template <class Rep, class Period>
std::uint64_t to_ns(std::chrono::duration<Rep, Period> d) noexcept {
    long double ns = std::chrono::duration_cast<std::chrono::duration<long double, std::nano>>(d).count();
    if (!(ns > 0)) return 0;
    if (ns >= 1.8e19L) return TASKS_FOREVER - 1;
    return static_cast<std::uint64_t>(std::ceil(ns));
}

// What a task hands to the library as its output: the value (std::monostate for void) or the
// exception it threw. Allocated before the task is spawned, so that finishing never allocates.
// Values are only ever constructed in place (emplace), never assigned: T may be move-only and
// need not be assignable.
template <class T>
struct Result {
    static_assert(!std::is_reference_v<T>, "tasks: a task's result type cannot be a reference");
    using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
    std::optional<Stored> value;
    std::exception_ptr error;

    static void drop(void *p) noexcept { delete static_cast<Result *>(p); }

    T take() {
        if (error) std::rethrow_exception(error);
        if (!value) throw Error(TASKS_ERR_INVALID, "result already taken");
        if constexpr (std::is_void_v<T>) {
            value.reset();
        } else {
            Stored v(std::move(*value));
            value.reset();
            return v;
        }
    }
};

// Turns a join-like C status plus output into the value, or the exception.
template <class T>
T finish(tasks_status s, void *out) {
    std::unique_ptr<Result<T>> res(static_cast<Result<T> *>(out));
    if (s == TASKS_CANCELLED) throw Cancelled();
    if (s != TASKS_OK && s != TASKS_FAILED) throw Error(s, "join");
    if (!res) throw Error(TASKS_ERR_INVALID, "join: result already taken");
    return res->take();
}

// The task's result type. References are refused: the referent would have to outlive the task
// by a promise nobody can check; return a value or a std::reference_wrapper.
template <class R>
struct checked_result {
    static_assert(!std::is_reference_v<R>,
                  "tasks: a task must return by value (or std::reference_wrapper), not a reference");
    using type = std::remove_cv_t<R>;
};

// Like std::thread / std::async: the callable and its arguments are decay-copied into the task
// and invoked once, as rvalues.
template <class F, class... A>
using invoke_result = typename checked_result<std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>>::type;

template <class F, class... A>
auto bind(F &&f, A &&...a) {
    if constexpr (sizeof...(A) == 0) {
        return std::decay_t<F>(std::forward<F>(f));
    } else {
        return [fn = std::decay_t<F>(std::forward<F>(f)),
                args = std::tuple<std::decay_t<A>...>(std::forward<A>(a)...)]() mutable -> decltype(auto) {
            return std::apply(std::move(fn), std::move(args));
        };
    }
}

// ---- abort notifications (for tasks::current_stop_token) ----------------------------------
// A task's stop token must turn "requested" when the task is aborted, but the C library has no
// abort callback. So every abort that goes through this binding also tells the stop-token
// registry (when one exists: the first current_stop_token() call installs it). Aborts made
// through the C API directly are seen at the task's next check (see current_stop_token).
// An inline variable: one per program, whatever mode (C++17/20) each translation unit uses.
struct AbortListener {
    void (*task)(std::uint64_t id) noexcept;            // one task aborted
    void (*group)(const void *group) noexcept;          // every task of a JoinSet / Runtime
};
inline std::atomic<const AbortListener *> abort_listener{nullptr};
inline void notify_abort_task(std::uint64_t id) noexcept {
    if (const AbortListener *l = abort_listener.load(std::memory_order_acquire)) l->task(id);
}
inline void notify_abort_group(const void *group) noexcept {
    if (const AbortListener *l = abort_listener.load(std::memory_order_acquire)) l->group(group);
}
// The groups (JoinSet's C set, Runtime's C runtime) of the task running on this thread, so
// that a stop token created inside it knows which group aborts reach it.
struct TaskGroups {
    const void *set = nullptr;
    const void *runtime = nullptr;
};
inline thread_local TaskGroups current_groups{};
// Sets current_groups for the duration of a job's call or a coroutine's poll.
class GroupScope {
public:
    explicit GroupScope(TaskGroups g) noexcept : saved_(current_groups) { current_groups = g; }
    GroupScope(const GroupScope &) = delete;
    GroupScope &operator=(const GroupScope &) = delete;
    ~GroupScope() { current_groups = saved_; }

private:
    TaskGroups saved_;
};
inline TaskGroups groups_for(const void *set) noexcept {
    return TaskGroups{set, static_cast<const void *>(tasks_current_runtime())};
}

// The state of a run-to-completion task: the callable, the preallocated result, and the join
// set it was spawned into (for stop tokens; nullptr if none).
template <class Fn>
struct Job {
    using R = typename checked_result<std::invoke_result_t<Fn>>::type;
    Fn fn;
    std::unique_ptr<Result<R>> out;
    const void *set;

    Job(Fn &&f, const void *s) : fn(std::move(f)), out(new Result<R>()), set(s) {}

    static std::int32_t run(void *arg, void **output) noexcept {
        Job *self = static_cast<Job *>(arg);
        GroupScope scope(groups_for(self->set));
        Result<R> *res = self->out.release();
        try {
            if constexpr (std::is_void_v<R>) {
                std::invoke(std::move(self->fn));
                res->value.emplace();
            } else {
                res->value.emplace(std::invoke(std::move(self->fn)));
            }
        } catch (...) {
            res->error = std::current_exception();
        }
        *output = res;
        return res->error ? 1 : 0;
    }
    static void drop(void *arg) noexcept { delete static_cast<Job *>(arg); }
};

// The C spawn functions differ only in how they are called; `call(fn, arg, opts, out)` hides
// it. Returns the handle written to *out (nullptr when out is nullptr). On failure the job is
// destroyed here (the library took nothing) and Error is thrown.
template <class Fn, class Call>
tasks_join_handle *spawn_job(Call &&call, Fn fn, const char *name, tasks_join_handle **out,
                             const void *set = nullptr) {
    auto job = std::make_unique<Job<Fn>>(std::move(fn), set);
    tasks_spawn_opts opts{name, &Job<Fn>::drop, &Result<typename Job<Fn>::R>::drop};
    check(call(&Job<Fn>::run, static_cast<void *>(job.get()), &opts, out), "spawn");
    job.release();  // the task owns it now (drop_arg)
    return out ? *out : nullptr;
}

template <class R> struct is_task : std::false_type {};
#ifdef TASKS_HPP_COROUTINES
template <class T> struct is_task<Task<T>> : std::true_type {};
#endif
// JoinHandle<spawn_result<R>>: a callable returning Task<U> is spawned as the coroutine (U).
template <class R> struct spawn_result_s { using type = R; };
#ifdef TASKS_HPP_COROUTINES
template <class T> struct spawn_result_s<Task<T>> { using type = T; };
#endif
template <class R> using spawn_result = typename spawn_result_s<R>::type;

// The local executor a handle's task belongs to (see JoinHandle's destructor): its C object
// while it lives, and the thread that owns it. Shared by the Executor and its handles.
struct ExecutorLink {
    tasks_executor *ex;          // nullptr once the executor is freed
    std::uintptr_t owner_token;  // identifies the owning thread (see this_thread_token)
};
// A per-thread address: cheaper than std::thread::id and usable in noexcept code.
inline std::uintptr_t this_thread_token() noexcept {
    static thread_local char anchor;
    return reinterpret_cast<std::uintptr_t>(&anchor);
}

}  // namespace detail
}  // namespace tasks

#endif  // TASKS_HPP_DETAIL_CORE
