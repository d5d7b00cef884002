// tasks.hpp: header-only C++17 binding of libtasks, written over the C API (tasks.h) alone.
//
//   tasks::Runtime rt{tasks::Builder{}.worker_threads(4)};
//   tasks::JoinHandle<int> h = rt.spawn([] { return 42; });
//   int v = h.join();                 // rethrows the task's exception, throws tasks::Cancelled
//
// Ownership. Runtime, Builder, JoinHandle, AbortHandle and JoinSet each own one C object and free
// it in their destructor; they are move-only (AbortHandle copies by cloning); Runtime::
// default_runtime() is borrowed and never freed. A callable passed to spawn is moved (or copied)
// into the task and destroyed when the task ends: after it ran, or at once if the task is
// cancelled before it started. A task's result lives on the heap until it is joined; a result
// nobody joins (handle destroyed, JoinSet destroyed, runtime shut down) is destroyed by the
// library, on whatever thread drops it. Destroying a JoinHandle detaches its task (it keeps
// running). Destroying a Runtime shuts it down and waits for running tasks (see ~Runtime);
// JoinHandles, AbortHandles and JoinSets may outlive it (what never finished reports Cancelled).
//
// Exceptions. A task's exception is caught on the worker and stored with its result
// (std::exception_ptr), and join()/value() rethrow it with its original type. Nothing ever
// unwinds into the C library: callbacks the library calls are noexcept, so an exception that
// would escape one (a throwing destructor of a callable or a result, a throwing thread hook)
// calls std::terminate. Errors of the library itself are thrown as tasks::Error (status()).
//
// Thread-safety. Runtime, JoinHandle and AbortHandle members may be called from any thread;
// a const member may run concurrently with other calls on the same object, but moving,
// assigning, destroying and join* need exclusive access (as for any C++ object). A JoinSet is
// used from one thread at a time. Callables run on worker threads (spawn_blocking: on the
// blocking pool), so what they capture by reference must be safe to use from there.
//
// C++20 (when the compiler has coroutines): tasks::Task<T> coroutines run as poll tasks, see
// the last section. The header stays valid C++17 without them.
#ifndef TASKS_HPP
#define TASKS_HPP

#include <tasks.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#if defined(__cpp_impl_coroutine) && __cpp_impl_coroutine >= 201902L && defined(__has_include)
#if __has_include(<coroutine>)
#include <coroutine>
#define TASKS_HPP_COROUTINES 1
#endif
#endif

namespace tasks {

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

// A failed library call (spawn on a shut-down runtime, an invalid builder setting, a join that
// would deadlock, ...) or a cancelled task. status() is the C status.
class Error : public std::runtime_error {
public:
    explicit Error(tasks_status s, const char *what = nullptr)
        : std::runtime_error(what ? std::string(what) + ": " + tasks_status_str(s)
                                  : std::string(tasks_status_str(s))),
          status_(s) {}
    tasks_status status() const noexcept { return status_; }

private:
    tasks_status status_;
};

// Thrown by join()/value()/co_await for a task that was aborted (or whose runtime shut down)
// before it completed.
class Cancelled : public Error {
public:
    Cancelled() : Error(TASKS_CANCELLED) {}
};

template <class T> class JoinHandle;
template <class T> class JoinSet;
template <class T> class Outcome;
class Runtime;
#ifdef TASKS_HPP_COROUTINES
template <class T> class Task;
#endif

namespace detail {

inline void check(tasks_status s, const char *what) {
    if (s == TASKS_OK) return;
    if (s == TASKS_CANCELLED) throw Cancelled();
    throw Error(s, what);
}

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
template <class T>
struct Result {
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

// The state of a run-to-completion task: the callable and the preallocated result.
template <class Fn>
struct Job {
    using R = typename checked_result<std::invoke_result_t<Fn>>::type;
    Fn fn;
    std::unique_ptr<Result<R>> out;

    explicit Job(Fn &&f) : fn(std::move(f)), out(new Result<R>()) {}

    static std::int32_t run(void *arg, void **output) noexcept {
        Job *self = static_cast<Job *>(arg);
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

// The C spawn functions differ only in how they are called; `call(fn, arg, opts, out)` hides it.
template <class Fn, class Call>
tasks_join_handle *spawn_job(Call &&call, Fn fn, const char *name, tasks_join_handle **out) {
    auto job = std::make_unique<Job<Fn>>(std::move(fn));
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

template <class Fn> void call_hook(void *data) noexcept { (*static_cast<Fn *>(data))(); }

#ifdef TASKS_HPP_COROUTINES
template <class Fn>
tasks_join_handle *spawn_coroutine_fn(tasks_runtime *rt, Fn fn, const char *name);
template <class T>
tasks_join_handle *spawn_coroutine(tasks_runtime *rt, Task<T> &&task, const char *name);
template <class T> struct JoinNextAwaiter;
struct Driver;
template <class T, class Keep> struct TaskDriver;
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
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// AbortHandle: aborts a task and asks whether it ended, independently of its JoinHandle.
// Copying clones the C handle; it stays valid after the JoinHandle and the Runtime are gone.
// ---------------------------------------------------------------------------------------------
class AbortHandle {
public:
    AbortHandle() noexcept = default;
    // Takes ownership of `a`.
    explicit AbortHandle(tasks_abort_handle *a) noexcept : a_(a) {}
    AbortHandle(const AbortHandle &o) : a_(o.a_ ? tasks_abort_handle_clone(o.a_) : nullptr) {
        if (o.a_ && !a_) throw Error(TASKS_ERR_NO_MEMORY, "tasks_abort_handle_clone");
    }
    AbortHandle(AbortHandle &&o) noexcept : a_(std::exchange(o.a_, nullptr)) {}
    AbortHandle &operator=(AbortHandle o) noexcept {
        std::swap(a_, o.a_);
        return *this;
    }
    ~AbortHandle() { tasks_abort_handle_free(a_); }

    // A request: returns at once. A task that is not running is cancelled before this
    // returns (its callable destroyed); a running one is not interrupted (see
    // tasks::current_is_cancelled); a finished one is not affected.
    void abort() const noexcept { tasks_abort_handle_abort(a_); }
    // True once the task fully ended (its callable destroyed). False for an empty handle.
    bool is_finished() const noexcept { return tasks_abort_handle_is_finished(a_); }
    std::uint64_t id() const noexcept { return tasks_abort_handle_id(a_); }
    explicit operator bool() const noexcept { return a_ != nullptr; }
    const tasks_abort_handle *native_handle() const noexcept { return a_; }

private:
    tasks_abort_handle *a_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// JoinHandle<T>: the owner's handle on a task returning T. Move-only. Destroying it detaches
// the task (it keeps running; its result is destroyed when it ends).
// ---------------------------------------------------------------------------------------------
template <class T>
class JoinHandle {
public:
    using value_type = T;

    JoinHandle() noexcept = default;
    // Takes ownership of `h`, which must belong to a task spawned by this header with result T.
    explicit JoinHandle(tasks_join_handle *h) noexcept : h_(h) {}
    JoinHandle(const JoinHandle &) = delete;
    JoinHandle &operator=(const JoinHandle &) = delete;
    JoinHandle(JoinHandle &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    JoinHandle &operator=(JoinHandle &&o) noexcept {
        if (this != &o) {
            tasks_join_handle_free(h_);
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~JoinHandle() { tasks_join_handle_free(h_); }

    // Waits for the task and returns its value; rethrows its exception; throws Cancelled.
    // The value is handed out once: a second join throws Error(TASKS_ERR_INVALID).
    // On a worker thread it runs other tasks while it waits (fork-join does not deadlock);
    // inside a Task coroutine, co_await the handle instead (it does not block the thread).
    T join() {
        void *out = nullptr;
        tasks_status s = tasks_join_handle_join(need(), TASKS_FOREVER, &out);
        return detail::finish<T>(s, out);
    }

    // join() that gives up after d: std::nullopt (void: false) when the task has not ended by
    // then; the handle stays valid. Throws as join() does.
    template <class Rep, class Period>
    auto join_for(std::chrono::duration<Rep, Period> d) {
        void *out = nullptr;
        tasks_status s = tasks_join_handle_join(need(), detail::to_ns(d), &out);
        bool timed_out = (s == TASKS_TIMED_OUT || s == TASKS_PENDING);
        if constexpr (std::is_void_v<T>) {
            if (timed_out) return false;
            detail::finish<void>(s, out);
            return true;
        } else {
            if (timed_out) return std::optional<T>();
            return std::optional<T>(detail::finish<T>(s, out));
        }
    }

    // See AbortHandle::abort.
    void abort() const noexcept { tasks_join_handle_abort(h_); }
    // True once the task fully ended (its callable destroyed). False for an empty handle.
    bool is_finished() const noexcept { return tasks_join_handle_is_finished(h_); }
    // Unique in the process, never 0 (0 for an empty handle).
    std::uint64_t id() const noexcept { return tasks_join_handle_id(h_); }
    AbortHandle abort_handle() const {
        tasks_abort_handle *a = tasks_join_handle_abort_handle(need());
        if (!a) throw Error(TASKS_ERR_NO_MEMORY, "tasks_join_handle_abort_handle");
        return AbortHandle(a);
    }
    // Lets the task run on without a handle.
    void detach() noexcept { tasks_join_handle_free(std::exchange(h_, nullptr)); }

    bool valid() const noexcept { return h_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }
    tasks_join_handle *native_handle() const noexcept { return h_; }
    // Gives up ownership (free it with tasks_join_handle_free; outputs are detail::Result<T>).
    tasks_join_handle *release() noexcept { return std::exchange(h_, nullptr); }

private:
    tasks_join_handle *need() const {
        if (!h_) throw Error(TASKS_ERR_NULL, "empty JoinHandle");
        return h_;
    }
    tasks_join_handle *h_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Builder / Runtime
// ---------------------------------------------------------------------------------------------

// Settings for a Runtime. Setters throw Error(TASKS_ERR_INVALID) for out-of-range values.
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
    Builder &worker_threads(std::size_t n) & { return set(tasks_builder_worker_threads(b_, n), "worker_threads"); }
    Builder &&worker_threads(std::size_t n) && { return std::move(worker_threads(n)); }
    // >= 1. Default 512.
    Builder &max_blocking_threads(std::size_t n) & { return set(tasks_builder_max_blocking_threads(b_, n), "max_blocking_threads"); }
    Builder &&max_blocking_threads(std::size_t n) && { return std::move(max_blocking_threads(n)); }
    template <class Rep, class Period>
    Builder &blocking_keep_alive(std::chrono::duration<Rep, Period> d) & {
        return set(tasks_builder_blocking_keep_alive(b_, detail::to_ns(d)), "blocking_keep_alive");
    }
    template <class Rep, class Period>
    Builder &&blocking_keep_alive(std::chrono::duration<Rep, Period> d) && { return std::move(blocking_keep_alive(d)); }
    Builder &thread_name(const std::string &prefix) & { return set(tasks_builder_thread_name(b_, prefix.c_str()), "thread_name"); }
    Builder &&thread_name(const std::string &prefix) && { return std::move(thread_name(prefix)); }
    // >= 64 KiB. Default 2 MiB.
    Builder &thread_stack_size(std::size_t bytes) & { return set(tasks_builder_thread_stack_size(b_, bytes), "thread_stack_size"); }
    Builder &&thread_stack_size(std::size_t bytes) && { return std::move(thread_stack_size(bytes)); }
    // f() runs first thing on every thread the runtime starts / last thing before it exits, on
    // that thread. It must not throw (std::terminate). Runtimes built from this builder keep
    // their own reference to f, so the builder may be destroyed first.
    template <class F>
    Builder &on_thread_start(F &&f) & { return hook(std::forward<F>(f), start_, &tasks_builder_on_thread_start); }
    template <class F>
    Builder &&on_thread_start(F &&f) && { return std::move(on_thread_start(std::forward<F>(f))); }
    template <class F>
    Builder &on_thread_stop(F &&f) & { return hook(std::forward<F>(f), stop_, &tasks_builder_on_thread_stop); }
    template <class F>
    Builder &&on_thread_stop(F &&f) && { return std::move(on_thread_stop(std::forward<F>(f))); }

    const tasks_builder *native_handle() const noexcept { return b_; }

private:
    friend class Runtime;
    Builder &set(tasks_status s, const char *what) {
        detail::check(s, what);
        return *this;
    }
    template <class F>
    Builder &hook(F &&f, std::shared_ptr<void> &slot,
                  tasks_status (*setter)(tasks_builder *, void (*)(void *), void *)) {
        using Fn = std::decay_t<F>;
        auto keep = std::make_shared<Fn>(std::forward<F>(f));
        detail::check(setter(b_, &detail::call_hook<Fn>, keep.get()), "thread hook");
        slot = std::move(keep);
        return *this;
    }
    tasks_builder *b_;
    std::shared_ptr<void> start_, stop_;  // what the C builder's hook data points to
};

// A runtime: worker threads, a blocking pool, timers. Move-only.
class Runtime {
public:
    // Default settings (see Builder).
    Runtime() { detail::check(tasks_runtime_new(&rt_), "tasks_runtime_new"); }
    explicit Runtime(const Builder &b) : start_(b.start_), stop_(b.stop_) {
        detail::check(tasks_builder_build(b.native_handle(), &rt_), "tasks_builder_build");
    }
    Runtime(const Runtime &) = delete;
    Runtime &operator=(const Runtime &) = delete;
    Runtime(Runtime &&o) noexcept
        : rt_(std::exchange(o.rt_, nullptr)), owned_(o.owned_),
          start_(std::move(o.start_)), stop_(std::move(o.stop_)) {}
    Runtime &operator=(Runtime &&o) noexcept {
        if (this != &o) {
            reset();
            rt_ = std::exchange(o.rt_, nullptr);
            owned_ = o.owned_;
            start_ = std::move(o.start_);
            stop_ = std::move(o.stop_);
        }
        return *this;
    }
    // Shuts down: tasks not running are cancelled (callables destroyed, joiners see
    // Cancelled), running ones see current_is_cancelled() and are waited for without limit;
    // every thread has exited when it returns. Handles outlive the runtime. Must not run on
    // one of the runtime's own threads (the library refuses, and the runtime is leaked).
    ~Runtime() { reset(); }

    // The process-wide runtime (created on first use, never freed).
    static Runtime &default_runtime() {
        static Runtime rt(tasks_runtime_default(), false);
        if (!rt.rt_) throw Error(TASKS_ERR_THREAD, "tasks_runtime_default");
        return rt;
    }

    // Runs f(args...) on a worker; any callable, move-only ones included, returning a value,
    // void, or (C++20) a Task<U> (then the coroutine is spawned, and the callable is kept
    // alive until it ends, so its captures are safe to use in the coroutine).
    template <class F, class... A>
    JoinHandle<detail::spawn_result<detail::invoke_result<F, A...>>> spawn(F &&f, A &&...args) {
        using J = JoinHandle<detail::spawn_result<detail::invoke_result<F, A...>>>;
        return J(detail::spawn_on(rt_, detail::bind(std::forward<F>(f), std::forward<A>(args)...), nullptr));
    }
    // spawn() with a task name (tasks_current_name()).
    template <class F, class... A>
    JoinHandle<detail::spawn_result<detail::invoke_result<F, A...>>> spawn_named(const std::string &name, F &&f, A &&...args) {
        using J = JoinHandle<detail::spawn_result<detail::invoke_result<F, A...>>>;
        return J(detail::spawn_on(rt_, detail::bind(std::forward<F>(f), std::forward<A>(args)...), name.c_str()));
    }
    // Runs f(args...) on the blocking pool (for work that blocks: I/O, locks, sleeps).
    template <class F, class... A>
    JoinHandle<detail::invoke_result<F, A...>> spawn_blocking(F &&f, A &&...args) {
        using J = JoinHandle<detail::invoke_result<F, A...>>;
        return J(detail::spawn_blocking_on(rt_, detail::bind(std::forward<F>(f), std::forward<A>(args)...)));
    }
    // Runs f(args...) on a worker once d has passed (a timer, not a sleeping thread).
    template <class Rep, class Period, class F, class... A>
    JoinHandle<detail::invoke_result<F, A...>> spawn_after(std::chrono::duration<Rep, Period> d, F &&f, A &&...args) {
        using Fn = decltype(detail::bind(std::forward<F>(f), std::forward<A>(args)...));
        static_assert(!detail::is_task<std::invoke_result_t<Fn>>::value,
                      "tasks: spawn_after runs a plain callable; in a coroutine, co_await tasks::sleep_for");
        tasks_runtime *rt = rt_;
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
#endif

    // Stops new spawns (they throw Error(TASKS_ERR_SHUTDOWN)), cancels tasks that are not
    // running, asks running ones to stop, and waits up to d: true if every task has ended.
    template <class Rep, class Period>
    bool shutdown(std::chrono::duration<Rep, Period> d) {
        tasks_status s = tasks_runtime_shutdown(rt_, detail::to_ns(d));
        if (s == TASKS_TIMED_OUT) return false;
        detail::check(s, "tasks_runtime_shutdown");
        return true;
    }

    tasks_metrics metrics() const noexcept {
        tasks_metrics m{};
        tasks_runtime_metrics(rt_, &m);
        return m;
    }
    tasks_runtime *native_handle() const noexcept { return rt_; }

private:
    Runtime(tasks_runtime *rt, bool owned) noexcept : rt_(rt), owned_(owned) {}
    void reset() noexcept {
        if (rt_ && owned_) tasks_runtime_free(rt_);
        rt_ = nullptr;
        start_.reset();  // after free: every thread, so every hook call, has ended
        stop_.reset();
    }
    tasks_runtime *rt_ = nullptr;
    bool owned_ = true;
    std::shared_ptr<void> start_, stop_;
};

// Spawns on the calling task's runtime (inside a task or block_on), else on the default one.
template <class F, class... A>
JoinHandle<detail::spawn_result<detail::invoke_result<F, A...>>> spawn(F &&f, A &&...args) {
    using J = JoinHandle<detail::spawn_result<detail::invoke_result<F, A...>>>;
    return J(detail::spawn_on(nullptr, detail::bind(std::forward<F>(f), std::forward<A>(args)...), nullptr));
}
template <class F, class... A>
JoinHandle<detail::invoke_result<F, A...>> spawn_blocking(F &&f, A &&...args) {
    using J = JoinHandle<detail::invoke_result<F, A...>>;
    return J(detail::spawn_blocking_on(nullptr, detail::bind(std::forward<F>(f), std::forward<A>(args)...)));
}

// Inside a running task: has abort been requested (by a handle or by runtime shutdown)?
// Long-running callables check it and return early. False outside a task.
inline bool current_is_cancelled() noexcept { return tasks_current_is_cancelled(); }
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

// ---------------------------------------------------------------------------------------------
// JoinSet<T>: a group of tasks returning T, joined in the order they finish. Destroying it
// aborts the tasks left (their results are destroyed). Used from one thread at a time.
// ---------------------------------------------------------------------------------------------

// One finished task of a JoinSet. Move-only; owns the task's result until value() takes it.
template <class T>
class Outcome {
public:
    std::uint64_t id() const noexcept { return id_; }
    tasks_status status() const noexcept { return status_; }  // TASKS_OK, _FAILED or _CANCELLED
    bool cancelled() const noexcept { return status_ == TASKS_CANCELLED; }
    bool failed() const noexcept { return status_ == TASKS_FAILED; }  // the task threw
    // The value; rethrows the task's exception; throws Cancelled. Once only.
    T value() { return detail::finish<T>(status_, std::exchange(out_, nullptr)); }

    Outcome(const Outcome &) = delete;
    Outcome &operator=(const Outcome &) = delete;
    Outcome(Outcome &&o) noexcept : status_(o.status_), id_(o.id_), out_(std::exchange(o.out_, nullptr)) {}
    Outcome &operator=(Outcome &&o) noexcept {
        if (this != &o) {
            detail::Result<T>::drop(std::exchange(out_, std::exchange(o.out_, nullptr)));
            status_ = o.status_;
            id_ = o.id_;
        }
        return *this;
    }
    ~Outcome() { detail::Result<T>::drop(out_); }

private:
    template <class> friend class JoinSet;
    Outcome(tasks_status s, std::uint64_t id, void *out) noexcept : status_(s), id_(id), out_(out) {}
    tasks_status status_;
    std::uint64_t id_;
    void *out_;
};

template <class T>
class JoinSet {
public:
    explicit JoinSet(Runtime &rt) { detail::check(tasks_join_set_new(rt.native_handle(), &s_), "tasks_join_set_new"); }
    // On the calling task's runtime, else the default one.
    JoinSet() { detail::check(tasks_join_set_new(nullptr, &s_), "tasks_join_set_new"); }
    JoinSet(const JoinSet &) = delete;
    JoinSet &operator=(const JoinSet &) = delete;
    JoinSet(JoinSet &&o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    JoinSet &operator=(JoinSet &&o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~JoinSet() { tasks_join_set_free(s_); }

    // Spawns f(args...) (it must return T; C++20: or Task<T>) into the set; returns its id.
    template <class F, class... A>
    std::uint64_t spawn(F &&f, A &&...args) {
        auto fn = detail::bind(std::forward<F>(f), std::forward<A>(args)...);
        using Fn = decltype(fn);
        static_assert(std::is_same_v<detail::spawn_result<detail::invoke_result<Fn>>, T>,
                      "tasks::JoinSet<T>::spawn: the callable must return T");
        std::uint64_t id = 0;
#ifdef TASKS_HPP_COROUTINES
        if constexpr (detail::is_task<std::invoke_result_t<Fn>>::value) {
            spawn_driver(std::make_unique<detail::TaskDriver<T, Fn>>(std::move(fn), 0), &id);
            return id;
        } else
#endif
        {
            tasks_join_set *s = need();
            detail::spawn_job(
                [s, &id](tasks_fn fn_, void *arg, const tasks_spawn_opts *o, tasks_join_handle **) {
                    return tasks_join_set_spawn(s, fn_, arg, o, &id);
                },
                std::move(fn), nullptr, nullptr);
            return id;
        }
    }
#ifdef TASKS_HPP_COROUTINES
    std::uint64_t spawn(Task<T> task);
    // co_await set.next(): the next task to finish, without blocking the thread; nullopt when
    // the set is empty.
    auto next();
#endif

    // Waits for the next task to finish (completion order); std::nullopt when the set is empty.
    std::optional<Outcome<T>> join_next() { return next_within(TASKS_FOREVER); }
    // join_next() that gives up after d: std::nullopt also when nothing finished in time
    // (tell the cases apart with empty()).
    template <class Rep, class Period>
    std::optional<Outcome<T>> join_next_for(std::chrono::duration<Rep, Period> d) {
        return next_within(detail::to_ns(d));
    }

    // Tasks spawned and not yet returned by join_next (finished or not).
    std::size_t size() const noexcept { return tasks_join_set_len(s_); }
    std::size_t len() const noexcept { return size(); }
    bool empty() const noexcept { return size() == 0; }
    // Aborts every task; they stay in the set, and join_next returns them (mostly cancelled).
    void abort_all() noexcept { tasks_join_set_abort_all(s_); }
    tasks_join_set *native_handle() const noexcept { return s_; }

private:
    tasks_join_set *need() const {
        if (!s_) throw Error(TASKS_ERR_NULL, "empty JoinSet");
        return s_;
    }
    static std::optional<Outcome<T>> outcome(tasks_status s, std::uint64_t id, void *out) {
        if (s == TASKS_OK || s == TASKS_FAILED || s == TASKS_CANCELLED) return Outcome<T>(s, id, out);
        if (s == TASKS_EMPTY || s == TASKS_TIMED_OUT || s == TASKS_PENDING) return std::nullopt;
        throw Error(s, "join_next");
    }
    std::optional<Outcome<T>> next_within(std::uint64_t timeout) {
        void *out = nullptr;
        std::uint64_t id = 0;
        tasks_status s = tasks_join_set_join_next(need(), timeout, &out, &id);
        return outcome(s, id, out);
    }
#ifdef TASKS_HPP_COROUTINES
    void spawn_driver(std::unique_ptr<detail::Driver> d, std::uint64_t *id);
    template <class> friend struct detail::JoinNextAwaiter;
#endif
    tasks_join_set *s_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// C++20 coroutines: tasks::Task<T>
// ---------------------------------------------------------------------------------------------
// A Task<T> is a lazy coroutine (it starts when spawned, block_on'd or co_awaited) that runs
// as one poll task of the runtime. Inside it:
//   co_await other_task();        runs it inline (symmetric transfer: no stack growth, however
//                                 long the chain) and gives its value / rethrows
//   co_await handle;              waits for a JoinHandle<U> without blocking the thread
//   co_await set.next();          the next Outcome of a JoinSet<U>
//   co_await tasks::sleep_for(d); co_await tasks::yield();
// Nothing else can be co_awaited (a foreign awaitable would suspend without arranging a wake,
// or resume the coroutine outside its poll): it is a compile error.
// Abort: a suspended coroutine (and every Task it awaits, innermost first) is destroyed at
// once, running its destructors; a running one is cancelled when it next suspends, unless it
// finishes first. A Task is move-only; destroying one that never ran destroys its frame.
#ifdef TASKS_HPP_COROUTINES

namespace detail {
struct PromiseBase;

// The poll task's state: the chain of coroutines it drives, and how it is suspended.
struct Driver {
    tasks_context *cx = nullptr;               // valid during a poll only
    PromiseBase *suspended = nullptr;          // innermost coroutine, to resume on the next poll
    tasks_poll kind = TASKS_POLL_PENDING;      // what the poll returns for this suspension
    bool (*ready)(void *) = nullptr;           // re-check on a wake (false: keep waiting)
    void *leaf = nullptr;                      // the awaiter `ready` checks

    virtual ~Driver() = default;
    virtual bool done() const noexcept = 0;
    // The top coroutine's result as a Result<T>*; sets failed if it holds an exception.
    virtual void *take_output(bool &failed) noexcept = 0;

    static tasks_poll poll(void *state, tasks_context *cx, void **output) noexcept;
    static void drop(void *state) noexcept { delete static_cast<Driver *>(state); }
};

struct PromiseBase {
    Driver *driver = nullptr;
    PromiseBase *parent = nullptr;            // the coroutine awaiting this one
    std::coroutine_handle<> self;
    std::coroutine_handle<> *owner = nullptr;  // the Task object's handle, while awaited

    std::suspend_always initial_suspend() noexcept { return {}; }
    struct FinalAwaiter {
        bool await_ready() noexcept { return false; }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            PromiseBase *up = h.promise().parent;
            return up ? up->self : std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }

    // Only the awaitables of this header (see native_awaitable).
    template <class A>
    A &&await_transform(A &&a) noexcept;

    // Marks this coroutine as the one to resume, once `ready` agrees (if given).
    void suspend(tasks_poll kind, bool (*ready)(void *) = nullptr, void *leaf = nullptr) noexcept {
        driver->suspended = this;
        driver->kind = kind;
        driver->ready = ready;
        driver->leaf = leaf;
    }
};

template <class A> struct native_awaitable : std::false_type {};
template <class U> struct native_awaitable<Task<U>> : std::true_type {};
template <class U> struct native_awaitable<JoinHandle<U>> : std::true_type {};

template <class A>
A &&PromiseBase::await_transform(A &&a) noexcept {
    static_assert(native_awaitable<std::remove_cv_t<std::remove_reference_t<A>>>::value,
                  "tasks::Task can co_await only tasks::Task, tasks::JoinHandle, JoinSet::next(), "
                  "tasks::sleep_for and tasks::yield");
    return std::forward<A>(a);
}

template <class T>
struct Promise : PromiseBase {
    Result<T> result;
    Task<T> get_return_object() noexcept;
    void unhandled_exception() noexcept { result.error = std::current_exception(); }
    template <class U = T>
    void return_value(U &&v) { result.value.emplace(std::forward<U>(v)); }
};
template <>
struct Promise<void> : PromiseBase {
    Result<void> result;
    Task<void> get_return_object() noexcept;
    void unhandled_exception() noexcept { result.error = std::current_exception(); }
    void return_void() noexcept { result.value.emplace(); }
};

template <class T, class Keep> struct TaskDriver;
template <class T> struct JoinNextAwaiter;
}  // namespace detail

template <class T>
class [[nodiscard]] Task {
public:
    using promise_type = detail::Promise<T>;
    using value_type = T;

    Task() noexcept = default;
    Task(Task &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Task &operator=(Task &&o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    Task(const Task &) = delete;
    Task &operator=(const Task &) = delete;
    ~Task() {
        if (h_) h_.destroy();
    }
    bool valid() const noexcept { return static_cast<bool>(h_); }

    struct Awaiter {
        Task *task;
        bool await_ready() const noexcept { return !task->h_ || task->h_.done(); }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            promise_type &child = task->promise();
            child.driver = h.promise().driver;
            child.parent = &h.promise();
            child.owner = &task->h_;
            return task->h_;  // symmetric transfer: the child runs without a nested call
        }
        T await_resume() {
            if (!task->h_) throw Error(TASKS_ERR_INVALID, "co_await of an empty Task");
            return task->promise().result.take();
        }
    };
    Awaiter operator co_await() & noexcept { return Awaiter{this}; }
    Awaiter operator co_await() && noexcept { return Awaiter{this}; }

private:
    friend struct detail::Promise<T>;
    template <class, class> friend struct detail::TaskDriver;
    explicit Task(std::coroutine_handle<> h) noexcept : h_(h) {}
    promise_type &promise() const noexcept {
        return std::coroutine_handle<promise_type>::from_address(h_.address()).promise();
    }
    std::coroutine_handle<> h_;  // type-erased so a driver can clear it through PromiseBase::owner
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
    self = std::coroutine_handle<Promise<T>>::from_promise(*this);
    return Task<T>(self);
}
inline Task<void> Promise<void>::get_return_object() noexcept {
    self = std::coroutine_handle<Promise<void>>::from_promise(*this);
    return Task<void>(self);
}

inline tasks_poll Driver::poll(void *state, tasks_context *cx, void **output) noexcept {
    Driver *d = static_cast<Driver *>(state);
    d->cx = cx;
    if (d->ready && !d->ready(d->leaf)) {
        d->cx = nullptr;
        return TASKS_POLL_PENDING;  // a wake for something else: the awaiter re-armed itself
    }
    d->ready = nullptr;
    d->leaf = nullptr;
    // Coroutine bodies catch everything (unhandled_exception) and awaiters that throw do it
    // inside the coroutine, so resume() does not throw.
    std::exchange(d->suspended, nullptr)->self.resume();
    d->cx = nullptr;
    if (d->done()) {
        bool failed = false;
        *output = d->take_output(failed);
        return failed ? TASKS_POLL_FAILED : TASKS_POLL_READY;
    }
    return d->kind;
}

// Keep: what the coroutine may refer to and must outlive it (the lambda whose operator()
// created it), or std::monostate.
template <class T, class Keep>
struct TaskDriver final : Driver {
    Keep keep;  // declared before task: destroyed after the frames
    Task<T> task;
    std::unique_ptr<Result<T>> out{new Result<T>()};

    explicit TaskDriver(Task<T> &&t) : task(std::move(t)) { attach(); }
    template <class Fn>
    TaskDriver(Fn &&fn, int) : keep(std::move(fn)), task(std::invoke(keep)) { attach(); }

    void attach() {
        if (!task.h_) throw Error(TASKS_ERR_INVALID, "spawn of an empty Task");
        Promise<T> &p = task.promise();
        p.driver = this;
        p.owner = &task.h_;
        suspended = &p;
    }
    // Cancelled while suspended: destroy the chain innermost first, each frame alone (its
    // awaited child's handle cleared first), so that a deep chain does not recurse.
    ~TaskDriver() override {
        if (!task.h_ || task.h_.done()) return;
        for (PromiseBase *p = suspended; p && p->parent;) {
            PromiseBase *parent = p->parent;
            std::coroutine_handle<> h = std::exchange(*p->owner, nullptr);
            h.destroy();
            p = parent;
        }
    }
    bool done() const noexcept override { return task.h_.done(); }
    void *take_output(bool &failed) noexcept override {
        Result<T> &r = task.promise().result;
        try {
            out->error = r.error;
            if (!r.error) out->value = std::move(r.value);
        } catch (...) {
            out->error = std::current_exception();
        }
        failed = static_cast<bool>(out->error);
        return out.release();
    }
};

template <class T>
tasks_join_handle *spawn_coroutine(tasks_runtime *rt, Task<T> &&task, const char *name) {
    auto d = std::make_unique<TaskDriver<T, std::monostate>>(std::move(task));
    tasks_spawn_opts opts{name, &Driver::drop, &Result<T>::drop};
    tasks_join_handle *h = nullptr;
    check(tasks_spawn_poll(rt, &Driver::poll, static_cast<Driver *>(d.get()), &opts, &h), "tasks_spawn_poll");
    d.release();
    return h;
}

template <class Fn>
tasks_join_handle *spawn_coroutine_fn(tasks_runtime *rt, Fn fn, const char *name) {
    using T = typename std::invoke_result_t<Fn>::value_type;
    auto d = std::make_unique<TaskDriver<T, Fn>>(std::move(fn), 0);
    tasks_spawn_opts opts{name, &Driver::drop, &Result<T>::drop};
    tasks_join_handle *h = nullptr;
    check(tasks_spawn_poll(rt, &Driver::poll, static_cast<Driver *>(d.get()), &opts, &h), "tasks_spawn_poll");
    d.release();
    return h;
}

template <class T>
T block_on(tasks_runtime *rt, std::unique_ptr<Driver> d) {
    tasks_spawn_opts opts{nullptr, &Driver::drop, &Result<T>::drop};
    void *out = nullptr;
    tasks_status s = tasks_block_on(rt, &Driver::poll, d.get(), &opts, &out);
    if (s == TASKS_OK || s == TASKS_FAILED || s == TASKS_CANCELLED) d.release();  // taken
    return finish<T>(s, out);  // on an error d (not taken) is destroyed here
}

struct SleepAwaiter {
    std::uint64_t ns;
    std::chrono::steady_clock::time_point deadline{};
    tasks_status rearm = TASKS_OK;
    Driver *drv = nullptr;

    bool await_ready() noexcept {
        // Capped so that now() + ns cannot overflow; 2^62 ns is 146 years.
        deadline = std::chrono::steady_clock::now() +
                   std::chrono::nanoseconds(static_cast<std::int64_t>(ns < (1ull << 62) ? ns : (1ull << 62)));
        return ns == 0;
    }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) {
        drv = h.promise().driver;
        check(tasks_context_sleep(drv->cx, remaining()), "tasks_context_sleep");
        h.promise().suspend(TASKS_POLL_PENDING, &SleepAwaiter::ready, this);
    }
    // The library never wakes a timer early, but another waker of this task may fire.
    static bool ready(void *self) noexcept {
        SleepAwaiter *s = static_cast<SleepAwaiter *>(self);
        if (std::chrono::steady_clock::now() >= s->deadline) return true;
        s->rearm = tasks_context_sleep(s->drv->cx, s->remaining());
        return s->rearm != TASKS_OK;  // could not re-arm: resume and report it
    }
    std::uint64_t remaining() const noexcept {
        std::uint64_t r = to_ns(deadline - std::chrono::steady_clock::now());
        return r == 0 ? 1 : r;
    }
    void await_resume() const { check(rearm, "tasks_context_sleep"); }
};

struct YieldAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) noexcept { h.promise().suspend(TASKS_POLL_YIELD); }
    void await_resume() const noexcept {}
};

template <class T>
struct JoinAwaiter {
    tasks_join_handle *jh;
    Driver *drv = nullptr;
    tasks_status st = TASKS_PENDING;
    void *out = nullptr;

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        drv = h.promise().driver;
        if (ready(this)) return false;  // finished (or an error): resume at once
        h.promise().suspend(TASKS_POLL_PENDING, &JoinAwaiter::ready, this);
        return true;
    }
    static bool ready(void *self) noexcept {
        JoinAwaiter *a = static_cast<JoinAwaiter *>(self);
        a->st = tasks_join_handle_poll(a->jh, a->drv->cx, &a->out);
        return a->st != TASKS_PENDING;
    }
    T await_resume() { return finish<T>(st, out); }
};

template <class T>
struct JoinNextAwaiter {
    tasks_join_set *s;
    Driver *drv = nullptr;
    tasks_status st = TASKS_PENDING;
    void *out = nullptr;
    std::uint64_t id = 0;

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        drv = h.promise().driver;
        if (ready(this)) return false;
        h.promise().suspend(TASKS_POLL_PENDING, &JoinNextAwaiter::ready, this);
        return true;
    }
    static bool ready(void *self) noexcept {
        JoinNextAwaiter *a = static_cast<JoinNextAwaiter *>(self);
        a->st = tasks_join_set_poll_join_next(a->s, a->drv->cx, &a->out, &a->id);
        return a->st != TASKS_PENDING;
    }
    std::optional<Outcome<T>> await_resume() { return JoinSet<T>::outcome(st, id, std::exchange(out, nullptr)); }
    ~JoinNextAwaiter() { Result<T>::drop(out); }  // an outcome that await_resume did not take
};

template <> struct native_awaitable<SleepAwaiter> : std::true_type {};
template <> struct native_awaitable<YieldAwaiter> : std::true_type {};
template <class U> struct native_awaitable<JoinNextAwaiter<U>> : std::true_type {};
}  // namespace detail

// co_await tasks::sleep_for(d): suspends the coroutine (not the thread) for at least d.
template <class Rep, class Period>
detail::SleepAwaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
    return detail::SleepAwaiter{detail::to_ns(d)};
}

// co_await tasks::yield(): lets the other ready tasks run, then continues.
inline detail::YieldAwaiter yield() noexcept { return {}; }

// co_await handle: the task's value (rethrows its exception, throws Cancelled).
template <class T>
detail::JoinAwaiter<T> operator co_await(JoinHandle<T> &jh) {
    if (!jh.native_handle()) throw Error(TASKS_ERR_NULL, "co_await of an empty JoinHandle");
    return detail::JoinAwaiter<T>{jh.native_handle()};
}
template <class T>
detail::JoinAwaiter<T> operator co_await(JoinHandle<T> &&jh) { return operator co_await(jh); }

template <class T>
JoinHandle<T> Runtime::spawn(Task<T> task) {
    return JoinHandle<T>(detail::spawn_coroutine(rt_, std::move(task), nullptr));
}

template <class T>
T Runtime::block_on(Task<T> task) {
    return detail::block_on<T>(rt_, std::make_unique<detail::TaskDriver<T, std::monostate>>(std::move(task)));
}

template <class F, class... A, class>
auto Runtime::block_on(F &&f, A &&...args) {
    auto fn = detail::bind(std::forward<F>(f), std::forward<A>(args)...);
    using Fn = decltype(fn);
    using T = typename std::invoke_result_t<Fn>::value_type;
    return detail::block_on<T>(rt_, std::make_unique<detail::TaskDriver<T, Fn>>(std::move(fn), 0));
}

// Spawns on the calling task's runtime, else on the default one.
template <class T>
JoinHandle<T> spawn(Task<T> task) {
    return JoinHandle<T>(detail::spawn_coroutine(nullptr, std::move(task), nullptr));
}

template <class T>
std::uint64_t JoinSet<T>::spawn(Task<T> task) {
    std::uint64_t id = 0;
    spawn_driver(std::make_unique<detail::TaskDriver<T, std::monostate>>(std::move(task)), &id);
    return id;
}

template <class T>
void JoinSet<T>::spawn_driver(std::unique_ptr<detail::Driver> d, std::uint64_t *id) {
    tasks_spawn_opts opts{nullptr, &detail::Driver::drop, &detail::Result<T>::drop};
    detail::check(tasks_join_set_spawn_poll(need(), &detail::Driver::poll, d.get(), &opts, id),
                  "tasks_join_set_spawn_poll");
    d.release();
}

template <class T>
auto JoinSet<T>::next() {
    return detail::JoinNextAwaiter<T>{need()};
}
#endif  // TASKS_HPP_COROUTINES

}  // namespace tasks

#endif  // TASKS_HPP
