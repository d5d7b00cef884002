// tasks/join_set.hpp: JoinSet<T>, a group of tasks joined in the order they finish, and
// Outcome<T>, one finished task of it.
#ifndef TASKS_HPP_JOIN_SET
#define TASKS_HPP_JOIN_SET

#include "runtime.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace tasks {

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

// What join_next_for returns: an Outcome, or why there is none (the set is empty, or nothing
// finished in time). Tests true when it holds an Outcome, so
// `while (auto o = set.join_next_for(d)) o->value();` reads like join_next.
template <class T>
class [[nodiscard]] TimedNext {
public:
    enum class Kind { ready, empty, timed_out };
    Kind kind() const noexcept { return kind_; }
    bool timed_out() const noexcept { return kind_ == Kind::timed_out; }
    bool empty() const noexcept { return kind_ == Kind::empty; }
    explicit operator bool() const noexcept { return kind_ == Kind::ready; }
    // The Outcome; Error(TASKS_ERR_INVALID) when there is none.
    Outcome<T> &operator*() { return get(); }
    Outcome<T> *operator->() { return &get(); }
    std::optional<Outcome<T>> &outcome() noexcept { return outcome_; }

private:
    template <class> friend class JoinSet;
    TimedNext(Kind k, std::optional<Outcome<T>> o) noexcept : kind_(k), outcome_(std::move(o)) {}
    Outcome<T> &get() {
        if (!outcome_) detail::throw_empty(timed_out() ? "join_next_for: timed out" : "join_next_for: empty set");
        return *outcome_;
    }
    Kind kind_;
    std::optional<Outcome<T>> outcome_;
};

// ---------------------------------------------------------------------------------------------
// JoinSet<T>: a group of tasks returning T, joined in the order they finish. Used from one
// thread at a time. Move-only.
//
// Lifetime (like tbb::task_group): the destructor aborts every task left and waits until all
// have ended (results nobody took are destroyed), so tasks may borrow what the set's scope
// owns. detach_all() opts out. Destroyed inside one of its own tasks, it waits for all the
// others and leaves that one to finish by itself (it cannot wait for itself).
// Move-assigning over a set first does what its destructor would.
// A moved-from JoinSet throws Error(TASKS_ERR_INVALID) from every member except valid()
// and native_handle().
// ---------------------------------------------------------------------------------------------
template <class T>
class JoinSet {
public:
    explicit JoinSet(Runtime &rt) : rt_(rt.native_handle()) {
        if (!rt_) detail::throw_empty("JoinSet on a moved-from Runtime");
        detail::check(tasks_join_set_new(rt_, &s_), "tasks_join_set_new");
    }
    // On the calling task's runtime, else the default one.
    JoinSet() { detail::check(tasks_join_set_new(nullptr, &s_), "tasks_join_set_new"); }
    JoinSet(const JoinSet &) = delete;
    JoinSet &operator=(const JoinSet &) = delete;
    JoinSet(JoinSet &&o) noexcept : s_(std::exchange(o.s_, nullptr)), rt_(o.rt_) {}
    JoinSet &operator=(JoinSet &&o) noexcept {
        if (this != &o) {
            end();
            s_ = std::exchange(o.s_, nullptr);
            rt_ = o.rt_;
        }
        return *this;
    }
    ~JoinSet() { end(); }

    // Spawns f(args...) (it must return T; C++20: or Task<T>) into the set; returns its id.
    template <class F, class... A>
    std::uint64_t spawn(F &&f, A &&...args) {
        tasks_join_set *s = need();
        auto fn = detail::bind(std::forward<F>(f), std::forward<A>(args)...);
        using Fn = decltype(fn);
        static_assert(std::is_same_v<detail::spawn_result<detail::invoke_result<Fn>>, T>,
                      "tasks::JoinSet<T>::spawn: the callable must return T");
        std::uint64_t id = 0;
#ifdef TASKS_HPP_COROUTINES
        if constexpr (detail::is_task<std::invoke_result_t<Fn>>::value) {
            spawn_driver(detail::make_fn_driver(std::move(fn)), &id);
            return id;
        } else
#endif
        {
            detail::spawn_job(
                [s, &id](tasks_fn fn_, void *arg, const tasks_spawn_opts *o, tasks_join_handle **) {
                    return tasks_join_set_spawn(s, fn_, arg, o, &id);
                },
                std::move(fn), nullptr, nullptr, s);
            return id;
        }
    }
#ifdef TASKS_HPP_COROUTINES
    std::uint64_t spawn(Task<T> task);
    // co_await set.next(): the next task to finish, without blocking the thread; nullopt when
    // the set is empty.
    [[nodiscard]] auto next();
#endif

    // Waits for the next task to finish (completion order); std::nullopt when the set is empty.
    [[nodiscard]] std::optional<Outcome<T>> join_next() {
        void *out = nullptr;
        std::uint64_t id = 0;
        tasks_status s = tasks_join_set_join_next(need(), TASKS_FOREVER, &out, &id);
        return outcome(s, id, out);
    }
    // join_next() that gives up after d. The result tells "empty" from "timed out".
    template <class Rep, class Period>
    TimedNext<T> join_next_for(std::chrono::duration<Rep, Period> d) {
        using K = typename TimedNext<T>::Kind;
        void *out = nullptr;
        std::uint64_t id = 0;
        tasks_status s = tasks_join_set_join_next(need(), detail::to_ns(d), &out, &id);
        if (s == TASKS_TIMED_OUT || s == TASKS_PENDING) return TimedNext<T>(K::timed_out, std::nullopt);
        if (s == TASKS_EMPTY) return TimedNext<T>(K::empty, std::nullopt);
        return TimedNext<T>(K::ready, outcome(s, id, out));
    }

    // Tasks spawned and not yet returned by join_next (finished or not).
    [[nodiscard]] std::size_t size() const { return tasks_join_set_len(need()); }
    [[nodiscard]] bool empty() const { return size() == 0; }
    // Aborts every task; they stay in the set, and join_next returns them (mostly cancelled).
    // Tasks that have not started are cancelled (callables destroyed) on this thread.
    void abort_all() {
        tasks_join_set *s = need();
        detail::notify_abort_group(s);
        tasks_join_set_abort_all(s);
    }
    // Lets every task left run on; the set is empty (and still usable) afterwards. Their
    // results are destroyed as they finish (by a small poll task on the set's runtime).
    void detach_all();

    bool valid() const noexcept { return s_ != nullptr; }
    tasks_join_set *native_handle() const noexcept { return s_; }

private:
    tasks_join_set *need() const {
        if (!s_) detail::throw_empty("moved-from JoinSet");
        return s_;
    }
    static std::optional<Outcome<T>> outcome(tasks_status s, std::uint64_t id, void *out) {
        if (s == TASKS_OK || s == TASKS_FAILED || s == TASKS_CANCELLED) return Outcome<T>(s, id, out);
        if (s == TASKS_EMPTY || s == TASKS_TIMED_OUT || s == TASKS_PENDING) return std::nullopt;
        throw Error(s, "join_next");
    }
    void end() noexcept {
        tasks_join_set *s = std::exchange(s_, nullptr);
        if (!s) return;
        detail::notify_abort_group(s);
        tasks_join_set_abort_all(s);
        // Inside one of the set's own tasks, that task can never be returned by join_next
        // while we wait in it: wait until it is the only one left.
        std::size_t keep = detail::current_groups.set == s ? 1 : 0;
        while (tasks_join_set_len(s) > keep) {
            void *out = nullptr;
            tasks_status st = tasks_join_set_join_next(s, TASKS_FOREVER, &out, nullptr);
            detail::Result<T>::drop(out);
            if (st != TASKS_OK && st != TASKS_FAILED && st != TASKS_CANCELLED) break;
        }
        tasks_join_set_free(s);
    }
#ifdef TASKS_HPP_COROUTINES
    void spawn_driver(std::unique_ptr<detail::Driver> d, std::uint64_t *id);
    template <class> friend struct detail::JoinNextAwaiter;
#endif
    tasks_join_set *s_ = nullptr;
    tasks_runtime *rt_ = nullptr;  // where detach_all's reaper runs (nullptr: current/default)
};

namespace detail {
// Drains a detached C join set from a poll task (no thread waits), then frees it. Cancelled
// with its runtime: the free then aborts what is left.
template <class T>
struct Reaper {
    tasks_join_set *s;
    static tasks_poll poll(void *state, tasks_context *cx, void **) noexcept {
        tasks_join_set *s = static_cast<Reaper *>(state)->s;
        for (;;) {
            void *out = nullptr;
            tasks_status st = tasks_join_set_poll_join_next(s, cx, &out, nullptr);
            Result<T>::drop(out);
            if (st == TASKS_PENDING) return TASKS_POLL_PENDING;
            if (st != TASKS_OK && st != TASKS_FAILED && st != TASKS_CANCELLED) return TASKS_POLL_READY;
        }
    }
    static void drop(void *state) noexcept {
        Reaper *r = static_cast<Reaper *>(state);
        tasks_join_set_free(r->s);
        delete r;
    }
};
}  // namespace detail

template <class T>
void JoinSet<T>::detach_all() {
    (void)need();
    tasks_join_set *fresh = nullptr;
    detail::check(tasks_join_set_new(rt_, &fresh), "tasks_join_set_new");
    tasks_join_set *old = std::exchange(s_, fresh);
    auto reaper = new (std::nothrow) detail::Reaper<T>{old};
    tasks_spawn_opts opts{nullptr, &detail::Reaper<T>::drop, nullptr};
    if (!reaper || tasks_spawn_poll(rt_, &detail::Reaper<T>::poll, reaper, &opts, nullptr) != TASKS_OK) {
        // No reaper (runtime shut down, out of memory): the runtime cannot run the tasks on
        // anyway, or nothing can wait for them; free the set (which aborts what is left).
        delete reaper;
        tasks_join_set_free(old);
    }
}

}  // namespace tasks

#endif  // TASKS_HPP_JOIN_SET
