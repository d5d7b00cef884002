// tasks/runtime.hpp: Builder, Runtime, the spawn functions on the current/default runtime, and
// what a running task asks about itself (current_*), block_in_place.
#ifndef TASKS_HPP_RUNTIME
#define TASKS_HPP_RUNTIME

#include "join_handle.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace tasks {
namespace detail {

#ifdef TASKS_HPP_COROUTINES
// Defined in coro.hpp.
struct Driver;
template <class T> struct JoinNextAwaiter;
template <class Fn>
tasks_join_handle *spawn_coroutine_fn(tasks_runtime *rt, Fn fn, const char *name);
template <class Fn>
std::unique_ptr<Driver> make_fn_driver(Fn fn, const void *set = nullptr);
template <class T>
std::unique_ptr<Driver> make_task_driver(Task<T> &&task, const void *set = nullptr);
#endif

// Spawns fn on rt (NULL: the calling task's runtime, else the default one).
template <class Fn>
tasks_join_handle *spawn_on(tasks_runtime *rt, Fn fn, const char *name) {
#ifdef TASKS_HPP_COROUTINES
    if constexpr (is_task<std::invoke_result_t<Fn>>::value) {
        return spawn_coroutine_fn(rt, std::move(fn), name);
    } else
#endif
    {
        tasks_join_handle *h = nullptr;
        return spawn_job(
            [rt](tasks_fn f, void *arg, const tasks_spawn_opts *o, tasks_join_handle **out) {
                return tasks_spawn(rt, f, arg, o, out);
            },
            std::move(fn), name, &h);
    }
}

template <class Fn>
tasks_join_handle *spawn_blocking_on(tasks_runtime *rt, Fn fn) {
    static_assert(!is_task<std::invoke_result_t<Fn>>::value,
                  "tasks: spawn_blocking runs a plain callable; spawn coroutines with spawn()");
    tasks_join_handle *h = nullptr;
    return spawn_job(
        [rt](tasks_fn f, void *arg, const tasks_spawn_opts *o, tasks_join_handle **out) {
            return tasks_spawn_blocking(rt, f, arg, o, out);
        },
        std::move(fn), nullptr, &h);
}

template <class Fn> void call_hook(void *data) noexcept { (*static_cast<Fn *>(data))(); }

template <class F, class... A>
using spawn_handle = JoinHandle<spawn_result<invoke_result<F, A...>>>;
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Builder: settings for a Runtime. Setters throw Error(TASKS_ERR_INVALID) for out-of-range
// values. On an lvalue they return the builder (Builder&); on a temporary they return a new
// Builder by value, so `const Builder &b = Builder{}.worker_threads(2);` does not dangle.
// ---------------------------------------------------------------------------------------------
class Builder {
public:
    Builder() : b_(tasks_builder_new()) {
        if (!b_) throw Error(TASKS_ERR_NO_MEMORY, "tasks_builder_new");
    }
    Builder(const Builder &) = delete;
    Builder &operator=(const Builder &) = delete;
    Builder(Builder &&o) noexcept
        : b_(std::exchange(o.b_, nullptr)), start_(std::move(o.start_)), stop_(std::move(o.stop_)) {}
    Builder &operator=(Builder &&o) noexcept {
        std::swap(b_, o.b_);
        std::swap(start_, o.start_);
        std::swap(stop_, o.stop_);
        return *this;
    }
    ~Builder() { tasks_builder_free(b_); }

    // >= 1. Default: the number of CPUs (or TASKS_WORKER_THREADS).
    Builder &worker_threads(std::size_t n) & { return set(tasks_builder_worker_threads(need(), n), "worker_threads"); }
    [[nodiscard]] Builder worker_threads(std::size_t n) && { return std::move(worker_threads(n)); }
    // >= 1. Default 512.
    Builder &max_blocking_threads(std::size_t n) & {
        return set(tasks_builder_max_blocking_threads(need(), n), "max_blocking_threads");
    }
    [[nodiscard]] Builder max_blocking_threads(std::size_t n) && { return std::move(max_blocking_threads(n)); }
    template <class Rep, class Period>
    Builder &blocking_keep_alive(std::chrono::duration<Rep, Period> d) & {
        return set(tasks_builder_blocking_keep_alive(need(), detail::to_ns(d)), "blocking_keep_alive");
    }
    template <class Rep, class Period>
    [[nodiscard]] Builder blocking_keep_alive(std::chrono::duration<Rep, Period> d) && {
        return std::move(blocking_keep_alive(d));
    }
    Builder &thread_name(const std::string &prefix) & {
        return set(tasks_builder_thread_name(need(), prefix.c_str()), "thread_name");
    }
    [[nodiscard]] Builder thread_name(const std::string &prefix) && { return std::move(thread_name(prefix)); }
    // >= 64 KiB. Default 2 MiB.
    Builder &thread_stack_size(std::size_t bytes) & {
        return set(tasks_builder_thread_stack_size(need(), bytes), "thread_stack_size");
    }
    [[nodiscard]] Builder thread_stack_size(std::size_t bytes) && { return std::move(thread_stack_size(bytes)); }
    // f() runs first thing on every thread the runtime starts / last thing before it exits,
    // on that thread. Threads start and stop concurrently, so f is called concurrently from
    // several threads: it must be thread-safe. It must not throw (std::terminate). Runtimes
    // built from this builder share ownership of f: it lives until the last thread of every
    // such runtime has exited, so the builder may be destroyed first.
    template <class F>
    Builder &on_thread_start(F &&f) & { return hook(std::forward<F>(f), start_, &tasks_builder_on_thread_start); }
    template <class F>
    [[nodiscard]] Builder on_thread_start(F &&f) && { return std::move(on_thread_start(std::forward<F>(f))); }
    template <class F>
    Builder &on_thread_stop(F &&f) & { return hook(std::forward<F>(f), stop_, &tasks_builder_on_thread_stop); }
    template <class F>
    [[nodiscard]] Builder on_thread_stop(F &&f) && { return std::move(on_thread_stop(std::forward<F>(f))); }

    const tasks_builder *native_handle() const noexcept { return b_; }

private:
    friend class Runtime;
    tasks_builder *need() const {
        if (!b_) detail::throw_empty("moved-from Builder");
        return b_;
    }
    Builder &set(tasks_status s, const char *what) {
        detail::check(s, what);
        return *this;
    }
    template <class F>
    Builder &hook(F &&f, std::shared_ptr<void> &slot,
                  tasks_status (*setter)(tasks_builder *, void (*)(void *), void *)) {
        using Fn = std::decay_t<F>;
        auto keep = std::make_shared<Fn>(std::forward<F>(f));
        detail::check(setter(need(), &detail::call_hook<Fn>, keep.get()), "thread hook");
        slot = std::move(keep);
        return *this;
    }
    tasks_builder *b_;
    std::shared_ptr<void> start_, stop_;  // what the C builder's hook data points to
};

// ---------------------------------------------------------------------------------------------
// Runtime: worker threads, a blocking pool, timers. Move-only.
// A moved-from Runtime throws Error(TASKS_ERR_INVALID) from every member except
// native_handle() (it never falls back to the default runtime). default_runtime() cannot be
// moved from: "moving" it gives another view of the default runtime and leaves it intact, and
// assigning to it throws.
// ---------------------------------------------------------------------------------------------
class Runtime {
public:
    // Default settings (see Builder).
    Runtime() { detail::check(tasks_runtime_new(&rt_), "tasks_runtime_new"); }
    explicit Runtime(const Builder &b) : start_(b.start_), stop_(b.stop_) {
        detail::check(tasks_builder_build(b.need(), &rt_), "tasks_builder_build");
    }
    Runtime(const Runtime &) = delete;
    Runtime &operator=(const Runtime &) = delete;
    Runtime(Runtime &&o) noexcept
        : rt_(o.owned_ ? std::exchange(o.rt_, nullptr) : o.rt_),
          owned_(o.owned_),
          start_(std::move(o.start_)),
          stop_(std::move(o.stop_)) {}
    // Throws Error(TASKS_ERR_INVALID) when *this is default_runtime() itself.
    Runtime &operator=(Runtime &&o) {
        if (pinned_) detail::throw_empty("assignment to the default runtime");
        if (this != &o) {
            reset();
            owned_ = o.owned_;
            rt_ = o.owned_ ? std::exchange(o.rt_, nullptr) : o.rt_;
            start_ = std::move(o.start_);
            stop_ = std::move(o.stop_);
        }
        return *this;
    }
    // Shuts down: tasks not running are cancelled (callables destroyed, joiners see
    // Cancelled), running ones see current_is_cancelled() and are waited for without limit;
    // every thread has exited when it returns. Handles outlive the runtime.
    // On one of the runtime's own threads (the last owner released inside a task) that wait
    // could never end: the runtime is then handed to a new thread that frees it once the
    // calling task has returned, and the thread hooks stay alive until then.
    ~Runtime() { reset(); }

    // The process-wide runtime (created on first use, never freed).
    static Runtime &default_runtime() {
        static Runtime rt(tasks_runtime_default(), Borrowed{});
        if (!rt.rt_) throw Error(TASKS_ERR_THREAD, "tasks_runtime_default");
        return rt;
    }

    // Runs f(args...) on a worker; any callable, move-only ones included, returning a value,
    // void, or (C++20) a Task<U> (then the coroutine is spawned, and the callable is kept
    // alive until it ends, so its captures are safe to use in the coroutine).
    template <class F, class... A>
    detail::spawn_handle<F, A...> spawn(F &&f, A &&...args) {
        tasks_runtime *rt = need();
        return detail::spawn_handle<F, A...>(
            detail::spawn_on(rt, detail::bind(std::forward<F>(f), std::forward<A>(args)...), nullptr));
    }
    // spawn() with a task name (tasks::current_name()).
    template <class F, class... A>
    detail::spawn_handle<F, A...> spawn_named(const std::string &name, F &&f, A &&...args) {
        tasks_runtime *rt = need();
        return detail::spawn_handle<F, A...>(
            detail::spawn_on(rt, detail::bind(std::forward<F>(f), std::forward<A>(args)...), name.c_str()));
    }
    // Runs f(args...) on the blocking pool (for work that blocks: I/O, locks, sleeps).
    template <class F, class... A>
    JoinHandle<detail::invoke_result<F, A...>> spawn_blocking(F &&f, A &&...args) {
        tasks_runtime *rt = need();
        return JoinHandle<detail::invoke_result<F, A...>>(
            detail::spawn_blocking_on(rt, detail::bind(std::forward<F>(f), std::forward<A>(args)...)));
    }
    // Runs f(args...) on a worker once d has passed (a timer, not a sleeping thread).
    template <class Rep, class Period, class F, class... A>
    JoinHandle<detail::invoke_result<F, A...>> spawn_after(std::chrono::duration<Rep, Period> d, F &&f, A &&...args) {
        using Fn = decltype(detail::bind(std::forward<F>(f), std::forward<A>(args)...));
        static_assert(!detail::is_task<std::invoke_result_t<Fn>>::value,
                      "tasks: spawn_after runs a plain callable; in a coroutine, co_await tasks::sleep_for");
        tasks_runtime *rt = need();
        std::uint64_t ns = detail::to_ns(d);
        tasks_join_handle *h = nullptr;
        detail::spawn_job(
            [rt, ns](tasks_fn fn, void *arg, const tasks_spawn_opts *o, tasks_join_handle **out) {
                return tasks_spawn_after(rt, ns, fn, arg, o, out);
            },
            detail::bind(std::forward<F>(f), std::forward<A>(args)...), nullptr, &h);
        return JoinHandle<detail::invoke_result<F, A...>>(h);
    }

#ifdef TASKS_HPP_COROUTINES
    // Spawns the coroutine as a poll task.
    template <class T> JoinHandle<T> spawn(Task<T> task);
    // Drives the coroutine on this thread until it ends; returns its value or rethrows. Its
    // co_awaits (sleep, join handles) work, and tasks::spawn inside it uses this runtime.
    // Throws Error(TASKS_ERR_WOULD_DEADLOCK) on one of this runtime's worker threads.
    template <class T> T block_on(Task<T> task);
    template <class F, class... A,
              class = std::enable_if_t<detail::is_task<std::invoke_result_t<std::decay_t<F>, std::decay_t<A>...>>::value>>
    auto block_on(F &&f, A &&...args);
    // co_await rt.schedule(): the coroutine continues on one of this runtime's workers (see
    // tasks/coro.hpp).
    [[nodiscard]] auto schedule();
#endif

    // Structured fork-join (tasks/fork_join.hpp): runs f(Scope&) on this thread, then waits
    // for every task it spawned into the scope; returns f's value, rethrows the first exception.
    template <class F> auto scope(F &&f);

    // Stops new spawns (they throw Error(TASKS_ERR_SHUTDOWN)), cancels tasks that are not
    // running, asks running ones to stop, and waits up to d: true if every task has ended.
    // Error(TASKS_ERR_WOULD_DEADLOCK) on one of its own threads, TASKS_ERR_INVALID for the
    // default runtime.
    template <class Rep, class Period>
    [[nodiscard]] bool shutdown(std::chrono::duration<Rep, Period> d) {
        tasks_runtime *rt = need();
        if (owned_) detail::notify_abort_group(rt);
        tasks_status s = tasks_runtime_shutdown(rt, detail::to_ns(d));
        if (s == TASKS_TIMED_OUT) return false;
        detail::check(s, "tasks_runtime_shutdown");
        return true;
    }

    [[nodiscard]] tasks_metrics metrics() const {
        tasks_metrics m{};
        tasks_runtime_metrics(need(), &m);
        return m;
    }
    // nullptr for a moved-from Runtime. Borrowed: valid while this Runtime owns it.
    tasks_runtime *native_handle() const noexcept { return rt_; }

private:
    struct Borrowed {};
    Runtime(tasks_runtime *rt, Borrowed) noexcept : rt_(rt), owned_(false), pinned_(true) {}
    tasks_runtime *need() const {
        if (!rt_) detail::throw_empty("moved-from Runtime");
        return rt_;
    }
    void reset() noexcept {
        tasks_runtime *rt = std::exchange(rt_, nullptr);
        if (rt && owned_) {
            detail::notify_abort_group(rt);
            if (tasks_runtime_free(rt) == TASKS_ERR_WOULD_DEADLOCK) {
                free_elsewhere(rt);
                return;
            }
        }
        start_.reset();  // after free: every thread, so every hook call, has ended
        stop_.reset();
    }
    // Called on one of rt's own threads: a new thread frees it (waiting until the calling
    // task has returned) and only then releases the hooks its threads call. If no thread can
    // be started, rt and the hooks are leaked on purpose: freeing the hooks while threads may
    // call them would be a use-after-free.
    void free_elsewhere(tasks_runtime *rt) noexcept {
        using Hooks = std::pair<std::shared_ptr<void>, std::shared_ptr<void>>;
        Hooks *keep = nullptr;
        try {
            keep = new Hooks(std::move(start_), std::move(stop_));
            std::thread([rt, keep] {
                (void)tasks_runtime_free(rt);
                delete keep;  // every thread of rt has exited: no hook call is left
            }).detach();
        } catch (...) {
            // keep (if allocated) is leaked on purpose, see above. Without it, the hooks
            // moved into it are gone already only if its allocation failed: then they were
            // never moved (new threw before the move), and start_/stop_ still hold them.
            if (!keep && !new (std::nothrow) Hooks(std::move(start_), std::move(stop_))) {
                std::terminate();  // out of memory: no way to keep the hooks alive
            }
            std::fputs("tasks::~Runtime: could not start a thread to free the runtime; leaked\n", stderr);
        }
    }
    tasks_runtime *rt_ = nullptr;
    bool owned_ = true;    // false: a view of the default runtime (never freed)
    bool pinned_ = false;  // true: default_runtime()'s own object (cannot be assigned to)
    std::shared_ptr<void> start_, stop_;
};

// Spawns on the calling task's runtime (inside a task or block_on), else on the default one.
template <class F, class... A>
detail::spawn_handle<F, A...> spawn(F &&f, A &&...args) {
    return detail::spawn_handle<F, A...>(
        detail::spawn_on(nullptr, detail::bind(std::forward<F>(f), std::forward<A>(args)...), nullptr));
}
template <class F, class... A>
JoinHandle<detail::invoke_result<F, A...>> spawn_blocking(F &&f, A &&...args) {
    return JoinHandle<detail::invoke_result<F, A...>>(
        detail::spawn_blocking_on(nullptr, detail::bind(std::forward<F>(f), std::forward<A>(args)...)));
}

// Inside a running task: has abort been requested (by a handle, a JoinSet, or runtime
// shutdown)? Long-running callables check it and return early. False outside a task.
inline bool current_is_cancelled() noexcept {
    bool c = tasks_current_is_cancelled();
    if (c) detail::notify_abort_task(tasks_current_id());  // the stop token follows
    return c;
}
// The running task's id; 0 outside a task.
inline std::uint64_t current_id() noexcept { return tasks_current_id(); }
// The running task's name; empty if unnamed or outside a task.
inline std::string current_name() {
    const char *n = tasks_current_name();
    return n ? std::string(n) : std::string();
}

// Runs f() (which may block for long) on this thread; on a worker, that worker's queued tasks
// move to other workers first. Returns f's value; rethrows its exception.
template <class F>
auto block_in_place(F &&f) -> typename detail::checked_result<std::invoke_result_t<F>>::type {
    using R = typename detail::checked_result<std::invoke_result_t<F>>::type;
    struct Frame {
        F &f;
        detail::Result<R> res;
        static void run(void *p) noexcept {
            Frame *self = static_cast<Frame *>(p);
            try {
                if constexpr (std::is_void_v<R>) {
                    std::invoke(std::forward<F>(self->f));
                    self->res.value.emplace();
                } else {
                    self->res.value.emplace(std::invoke(std::forward<F>(self->f)));
                }
            } catch (...) {
                self->res.error = std::current_exception();
            }
        }
    } frame{f, {}};
    detail::check(tasks_block_in_place(&Frame::run, &frame), "tasks_block_in_place");
    return frame.res.take();
}

}  // namespace tasks

#endif  // TASKS_HPP_RUNTIME
