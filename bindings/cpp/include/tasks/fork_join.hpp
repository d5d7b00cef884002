// tasks/fork_join.hpp: structured fork-join and data parallelism over tasks_scope_run,
// tasks_join2 and tasks_parallel_for: Scope (rt.scope / tasks::scope), join, parallel_for,
// parallel_reduce.
//
//   rt.scope([&](tasks::Scope &s) { s.spawn([&] { left(); }); s.spawn([&] { right(); }); });
//   auto [a, b] = tasks::join([&] { return f(); }, [&] { return g(); });
//   tasks::parallel_for(rt, 0, n, [&](std::size_t i) { out[i] = work(i); });
//   tasks::parallel_for(rt, 0, n, grain, [&](std::size_t b, std::size_t e) { ... });
//   T sum = tasks::parallel_reduce(rt, 0, n, T{}, [&](std::size_t b, std::size_t e, T acc) { ...; return acc; },
//                                  std::plus<>{});
//
// Everything here borrows: each call returns only after every piece of work it started has
// ended, so callables may capture the caller's locals by reference. Inside a task (on a
// worker) the caller takes part in the work, so nesting these calls in each other and in tasks
// never deadlocks, also on a runtime with one worker.
//
// Exceptions. A callable's exception never unwinds through the C library: the trampoline
// catches it, keeps the first one (std::exception_ptr) and tells the library the piece failed,
// which stops the rest (a scope cancels its other tasks: those not started never run; a
// parallel loop starts no new subrange; join does not start the second callable if it has not
// started yet). Once the C call has returned (every piece has ended), the first exception is
// rethrown with its original type. A scope that was cancelled (Scope::cancel, or the calling
// task aborted) without an exception throws tasks::Cancelled; other library errors throw
// tasks::Error (e.g. TASKS_ERR_SHUTDOWN for a runtime that is shut down).
//
// Runtimes. The overloads taking a Runtime run the work on its workers. The others (and
// tasks::join, which has no runtime parameter) use the runtime of the calling thread (a task's
// runtime inside a task), else the default runtime.
#ifndef TASKS_HPP_FORK_JOIN
#define TASKS_HPP_FORK_JOIN

#include "runtime.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace tasks {
namespace detail {

// The first exception of a group of concurrent callables. The first store wins; the others
// are dropped (their pieces were racing with the cancellation). Read only after the C call
// that ran the group has returned (which orders every store before the read).
class FirstError {
public:
    void store(std::exception_ptr e) noexcept {
        bool expected = false;
        if (failed_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) error_ = std::move(e);
    }
    bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
    // After the group ended: rethrows the stored exception, if any.
    void rethrow() const {
        if (error_) std::rethrow_exception(error_);
    }

private:
    std::atomic<bool> failed_{false};
    std::exception_ptr error_;
};

// Maps the C status of a finished group: the first exception wins, then Cancelled / Error.
inline void finish_group(tasks_status s, const FirstError &err, const char *what) {
    err.rethrow();
    if (s == TASKS_FAILED) throw Error(s, what);  // a failure without an exception: not ours
    check(s, what);
}

// Index conversion: any integral type, not negative, representable in std::size_t.
template <class I>
std::uint64_t to_index(I v, const char *what) {
    static_assert(std::is_integral_v<I> && !std::is_same_v<std::remove_cv_t<I>, bool>,
                  "tasks: loop bounds must be integers");
    if constexpr (std::is_signed_v<I>) {
        if (v < 0) throw Error(TASKS_ERR_INVALID, what);
    }
    auto u = static_cast<std::make_unsigned_t<I>>(v);
    if constexpr (sizeof(u) > sizeof(std::size_t)) {
        if (u > std::numeric_limits<std::size_t>::max()) throw Error(TASKS_ERR_INVALID, what);
    }
    return static_cast<std::uint64_t>(u);
}

inline tasks_runtime *runtime_of(const Runtime &rt) {
    tasks_runtime *p = rt.native_handle();
    if (!p) throw_empty("moved-from Runtime");
    return p;
}

template <class T>
using is_index = std::bool_constant<std::is_integral_v<T> && !std::is_same_v<std::remove_cv_t<T>, bool>>;
template <class... T>
using enable_if_indices = std::enable_if_t<std::conjunction_v<is_index<std::decay_t<T>>...>, int>;

}  // namespace detail

namespace detail {
template <class F> struct ScopeFrame;
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Scope: the tasks of one rt.scope(...) / tasks::scope(...) call. Only ever a reference handed
// to the scope's body; it lives until that call returns, so the scope's tasks may capture it
// (by reference) and spawn more tasks into it. Neither copyable nor movable.
// ---------------------------------------------------------------------------------------------
class Scope {
public:
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;
    Scope(Scope &&) = delete;
    Scope &operator=(Scope &&) = delete;

    // Runs f(args...) as a task of the scope, on a worker of the scope's runtime. The callable
    // and its arguments are decay-copied (or moved) into a heap block, destroyed exactly once
    // when the task ends, or at once if the scope is cancelled before it starts. The result
    // of f, if any, is discarded: write results through references the task captured.
    // May be called from the body, from the scope's tasks and from threads they wait for,
    // until the scope call returns. Spawning into a cancelled scope is accepted and the task
    // never runs. Throws Error(TASKS_ERR_SHUTDOWN) when the runtime is shutting down (then
    // nothing was spawned), Error(TASKS_ERR_INVALID) after the scope call has returned.
    template <class F, class... A>
    void spawn(F &&f, A &&...args) {
        spawn_impl(nullptr, detail::bind(std::forward<F>(f), std::forward<A>(args)...));
    }
    // spawn() with a task name (tasks::current_name()).
    template <class F, class... A>
    void spawn_named(const std::string &name, F &&f, A &&...args) {
        spawn_impl(name.c_str(), detail::bind(std::forward<F>(f), std::forward<A>(args)...));
    }
    // Cancels the scope: its tasks that have not started never run, running ones see
    // current_is_cancelled(), later spawns are cancelled at once, and the scope call throws
    // Cancelled (unless an exception came first: that one is thrown). Returns at once.
    void cancel() noexcept { tasks_scope_cancel(s_); }
    // True once the body or a task of the scope has thrown.
    [[nodiscard]] bool failed() const noexcept { return err_.failed(); }

    tasks_scope *native_handle() const noexcept { return s_; }

private:
    template <class F> friend struct detail::ScopeFrame;
    Scope() = default;
    ~Scope() = default;

    template <class Fn>
    struct Job {
        Fn fn;
        detail::FirstError *err;

        static std::int32_t run(void *arg, void ** /*output*/) noexcept {
            Job *self = static_cast<Job *>(arg);
            detail::GroupScope groups(detail::groups_for(nullptr));
            try {
                std::invoke(std::move(self->fn));
                return 0;
            } catch (...) {
                self->err->store(std::current_exception());
                return 1;
            }
        }
        static void drop(void *arg) noexcept { delete static_cast<Job *>(arg); }
    };

    template <class Fn>
    void spawn_impl(const char *name, Fn fn) {
        static_assert(!detail::is_task<std::invoke_result_t<Fn>>::value,
                      "tasks: Scope::spawn runs a plain callable (spawn coroutines with Runtime::spawn)");
        if (!s_) detail::throw_empty("Scope used outside its scope call");
        std::unique_ptr<Job<Fn>> job(new Job<Fn>{std::move(fn), &err_});
        tasks_spawn_opts opts{name, &Job<Fn>::drop, nullptr};
        detail::check(tasks_scope_spawn(s_, &Job<Fn>::run, static_cast<void *>(job.get()), &opts),
                      "tasks_scope_spawn");
        job.release();  // the scope owns it now (drop_arg)
    }

    tasks_scope *s_ = nullptr;
    detail::FirstError err_;
};

namespace detail {
// The frame of one scope call, on the caller's stack for the whole tasks_scope_run: the body
// (by reference), the Scope its tasks may capture, and the body's result.
template <class F>
struct ScopeFrame {
    using R = typename checked_result<std::invoke_result_t<F &, Scope &>>::type;
    F &f;
    Scope scope;
    Result<R> res;

    explicit ScopeFrame(F &fn) : f(fn) {}

    static std::int32_t body(tasks_scope *s, void *ctx) noexcept {
        ScopeFrame *self = static_cast<ScopeFrame *>(ctx);
        self->scope.s_ = s;
        try {
            if constexpr (std::is_void_v<R>) {
                std::invoke(self->f, self->scope);
                self->res.value.emplace();
            } else {
                self->res.value.emplace(std::invoke(self->f, self->scope));
            }
            return 0;
        } catch (...) {
            self->scope.err_.store(std::current_exception());
            return 1;
        }
    }

    static R run(tasks_runtime *rt, F &f) {
        ScopeFrame frame(f);
        tasks_status s = tasks_scope_run(rt, &ScopeFrame::body, &frame);
        frame.scope.s_ = nullptr;  // a Scope& kept beyond the call throws instead of dangling
        finish_group(s, frame.scope.err_, "tasks_scope_run");
        return frame.res.take();
    }
};
}  // namespace detail

// Runs f(scope) on the calling thread (f spawns tasks into the scope, and may work itself),
// then waits until every task spawned into the scope has ended (their callables destroyed).
// Returns what f returns. Throws the first exception of f or of a task (the others are
// cancelled: tasks not started never run), tasks::Cancelled if the scope was cancelled first
// (Scope::cancel, or the calling task aborted), tasks::Error for library errors (e.g.
// TASKS_ERR_SHUTDOWN: f was not called).
template <class F>
auto Runtime::scope(F &&f) {
    return detail::ScopeFrame<std::remove_reference_t<F>>::run(detail::runtime_of(*this), f);
}

// rt.scope(f) on the calling thread's runtime (inside a task), else the default runtime.
template <class F>
auto scope(F &&f) {
    return detail::ScopeFrame<std::remove_reference_t<F>>::run(nullptr, f);
}

// ---------------------------------------------------------------------------------------------
// join(a, b): runs a() and b(), potentially in parallel, and returns both results as a
// std::pair (a void callable gives std::monostate). Nothing is allocated: the callables and
// their results stay in this call's frame.
// Inside a task, a() runs on the calling thread while b() is offered to the other workers of
// its runtime (and run here if none took it); elsewhere both run on the default runtime while
// the caller waits. If one throws, the other is not started if it has not started yet; once
// both have ended, the first exception is rethrown.
// ---------------------------------------------------------------------------------------------
namespace detail {
template <class F>
using join_result = typename checked_result<std::invoke_result_t<F>>::type;
template <class F>
using join_value = std::conditional_t<std::is_void_v<join_result<F>>, std::monostate, join_result<F>>;

template <class F>
struct JoinHalf {
    using R = join_result<F>;
    F &f;
    FirstError *err;
    Result<R> res;

    static std::int32_t run(void *arg, void ** /*output*/) noexcept {
        JoinHalf *self = static_cast<JoinHalf *>(arg);
        if (self->err->failed()) return 1;  // the other half threw first: do not start
        try {
            if constexpr (std::is_void_v<R>) {
                std::invoke(std::forward<F>(self->f));
                self->res.value.emplace();
            } else {
                self->res.value.emplace(std::invoke(std::forward<F>(self->f)));
            }
            return 0;
        } catch (...) {
            self->err->store(std::current_exception());
            return 1;
        }
    }
    join_value<F> take() { return std::move(*res.value); }
};
}  // namespace detail

template <class FA, class FB>
[[nodiscard]] std::pair<detail::join_value<FA>, detail::join_value<FB>> join(FA &&a, FB &&b) {
    detail::FirstError err;
    detail::JoinHalf<FA> ha{a, &err, {}};
    detail::JoinHalf<FB> hb{b, &err, {}};
    tasks_status s = tasks_join2(&detail::JoinHalf<FA>::run, &ha, nullptr, &detail::JoinHalf<FB>::run, &hb, nullptr);
    detail::finish_group(s, err, "tasks_join2");
    return std::pair<detail::join_value<FA>, detail::join_value<FB>>(ha.take(), hb.take());
}

// ---------------------------------------------------------------------------------------------
// parallel_for(rt, begin, end, [grain,] f): calls f on every index of [begin, end) exactly
// once, in parallel on rt's workers, and returns when all calls have returned.
//  - f(i) (index form, i a std::size_t) or f(b, e) (chunk form: one call per subrange
//    [b, e), for loops that do better over a block). The chunk form is used when f can be
//    called with two std::size_t.
//  - The range is split adaptively (further only when idle workers steal a part); grain is
//    the smallest subrange worth a separate piece (0: automatic).
//  - begin, end, grain: any integer type; negative values or begin > end throw
//    Error(TASKS_ERR_INVALID). begin == end calls nothing.
//  - f is called concurrently from several threads, through one reference (it is not copied):
//    its operator() must be safe to call that way.
//  - The first exception stops the loop (no new subrange starts; a subrange already running
//    runs to its end) and is rethrown once every running call has returned. The calling task
//    aborted: tasks::Cancelled.
// Without rt: the calling thread's runtime (inside a task), else the default runtime.
// ---------------------------------------------------------------------------------------------
namespace detail {
template <class F>
void parallel_for_on(tasks_runtime *rt, std::uint64_t begin, std::uint64_t end, std::uint64_t grain, F &f) {
    constexpr bool chunked = std::is_invocable_v<F &, std::size_t, std::size_t>;
    static_assert(chunked || std::is_invocable_v<F &, std::size_t>,
                  "tasks: parallel_for needs f(std::size_t i) or f(std::size_t begin, std::size_t end)");
    if (begin > end) throw Error(TASKS_ERR_INVALID, "parallel_for: begin > end");
    struct Frame {
        F &f;
        FirstError err;
        static std::int32_t body(void *ctx, std::uint64_t b, std::uint64_t e) noexcept {
            Frame *self = static_cast<Frame *>(ctx);
            if (self->err.failed()) return 1;
            try {
                if constexpr (chunked) {
                    std::invoke(self->f, static_cast<std::size_t>(b), static_cast<std::size_t>(e));
                } else {
                    for (std::size_t i = static_cast<std::size_t>(b), n = static_cast<std::size_t>(e); i != n; ++i) {
                        std::invoke(self->f, i);
                    }
                }
                return 0;
            } catch (...) {
                self->err.store(std::current_exception());
                return 1;
            }
        }
    } frame{f, {}};
    tasks_status s = tasks_parallel_for(rt, begin, end, grain, &Frame::body, &frame);
    finish_group(s, frame.err, "tasks_parallel_for");
}
}  // namespace detail

template <class B, class E, class F, detail::enable_if_indices<B, E> = 0>
void parallel_for(Runtime &rt, B begin, E end, F &&f) {
    detail::parallel_for_on(detail::runtime_of(rt), detail::to_index(begin, "parallel_for: begin"),
                            detail::to_index(end, "parallel_for: end"), 0, f);
}
template <class B, class E, class G, class F, detail::enable_if_indices<B, E, G> = 0>
void parallel_for(Runtime &rt, B begin, E end, G grain, F &&f) {
    detail::parallel_for_on(detail::runtime_of(rt), detail::to_index(begin, "parallel_for: begin"),
                            detail::to_index(end, "parallel_for: end"), detail::to_index(grain, "parallel_for: grain"),
                            f);
}
template <class B, class E, class F, detail::enable_if_indices<B, E> = 0>
void parallel_for(B begin, E end, F &&f) {
    detail::parallel_for_on(nullptr, detail::to_index(begin, "parallel_for: begin"),
                            detail::to_index(end, "parallel_for: end"), 0, f);
}
template <class B, class E, class G, class F, detail::enable_if_indices<B, E, G> = 0>
void parallel_for(B begin, E end, G grain, F &&f) {
    detail::parallel_for_on(nullptr, detail::to_index(begin, "parallel_for: begin"),
                            detail::to_index(end, "parallel_for: end"), detail::to_index(grain, "parallel_for: grain"),
                            f);
}

// ---------------------------------------------------------------------------------------------
// parallel_reduce(rt, begin, end, [grain,] identity, body, combine) -> T
// Runs parallel_for's chunks: each chunk [b, e) computes its partial result
// body(b, e, T(identity)) -> T (a copy of identity per chunk); the partials are then combined
// with combine(T, T) -> T from left to right in index order, starting from identity. So an
// associative combine gives the same result as a serial fold over [begin, end), commutative or
// not (string concatenation is fine); the chunking varies from run to run, so floating-point
// sums may differ in their last bits. identity must be an identity of combine (it starts
// every chunk and the final fold). Memory: one partial per chunk (chunks are few: the range is
// split only as far as idle workers steal it, and no finer than grain), kept in a std::map (by
// chunk begin) under a mutex; nothing per element. An empty range returns identity. Exceptions as for
// parallel_for (an exception from combine propagates from this call).
// ---------------------------------------------------------------------------------------------
namespace detail {
template <class T, class Body, class Combine>
T parallel_reduce_on(tasks_runtime *rt, std::uint64_t begin, std::uint64_t end, std::uint64_t grain, T identity,
                     Body &body, Combine &combine) {
    static_assert(std::is_invocable_r_v<T, Body &, std::size_t, std::size_t, T>,
                  "tasks: parallel_reduce needs body(std::size_t begin, std::size_t end, T acc) -> T");
    static_assert(std::is_invocable_r_v<T, Combine &, T, T>, "tasks: parallel_reduce needs combine(T, T) -> T");
    if (begin > end) throw Error(TASKS_ERR_INVALID, "parallel_reduce: begin > end");
    std::mutex mu;
    std::map<std::uint64_t, T> partials;  // chunk begin -> partial: iterated in index order
    auto chunk = [&](std::size_t b, std::size_t e) {
        T part = std::invoke(body, b, e, T(identity));
        std::lock_guard<std::mutex> g(mu);
        partials.emplace(static_cast<std::uint64_t>(b), std::move(part));
    };
    parallel_for_on(rt, begin, end, grain, chunk);
    // Constructed, never assigned: T need not be assignable.
    std::optional<T> acc(std::move(identity));
    for (auto &p : partials) {
        T next = std::invoke(combine, std::move(*acc), std::move(p.second));
        acc.reset();
        acc.emplace(std::move(next));
    }
    return std::move(*acc);
}
}  // namespace detail

template <class B, class E, class T, class Body, class Combine, detail::enable_if_indices<B, E> = 0>
[[nodiscard]] T parallel_reduce(Runtime &rt, B begin, E end, T identity, Body &&body, Combine &&combine) {
    return detail::parallel_reduce_on<T>(detail::runtime_of(rt), detail::to_index(begin, "parallel_reduce: begin"),
                                         detail::to_index(end, "parallel_reduce: end"), 0, std::move(identity), body,
                                         combine);
}
template <class B, class E, class G, class T, class Body, class Combine, detail::enable_if_indices<B, E, G> = 0>
[[nodiscard]] T parallel_reduce(Runtime &rt, B begin, E end, G grain, T identity, Body &&body, Combine &&combine) {
    return detail::parallel_reduce_on<T>(detail::runtime_of(rt), detail::to_index(begin, "parallel_reduce: begin"),
                                         detail::to_index(end, "parallel_reduce: end"),
                                         detail::to_index(grain, "parallel_reduce: grain"), std::move(identity), body,
                                         combine);
}
template <class B, class E, class T, class Body, class Combine, detail::enable_if_indices<B, E> = 0>
[[nodiscard]] T parallel_reduce(B begin, E end, T identity, Body &&body, Combine &&combine) {
    return detail::parallel_reduce_on<T>(nullptr, detail::to_index(begin, "parallel_reduce: begin"),
                                         detail::to_index(end, "parallel_reduce: end"), 0, std::move(identity), body,
                                         combine);
}

}  // namespace tasks

#endif  // TASKS_HPP_FORK_JOIN
