// tasks/when_all.hpp: co_await tasks::when_all(t1, t2, ...): runs Tasks in parallel.
#ifndef TASKS_HPP_WHEN_ALL
#define TASKS_HPP_WHEN_ALL

#include "coro.hpp"

#include <array>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tasks {
namespace detail {

template <class T>
typename Result<T>::Stored take_stored(Result<T> &r) {
    if constexpr (std::is_void_v<T>) {
        r.take();
        return std::monostate{};
    } else {
        return r.take();
    }
}

// Each Task is spawned as its own task on the awaiting coroutine's runtime when the when_all is
// co_awaited; the awaiter polls their handles. The first to fail (an exception, or Cancelled)
// aborts the others; the awaiter resumes only once every one has ended, so the Tasks may
// borrow from the awaiting coroutine's frame. If the awaiting coroutine is itself aborted, its
// frame's handles abort their tasks and wait for them (see JoinHandle).
template <class... Ts>
struct [[nodiscard]] WhenAll {
    static constexpr std::size_t N = sizeof...(Ts);
    std::tuple<Task<Ts>...> tasks;
    std::tuple<JoinHandle<Ts>...> handles{};
    std::tuple<std::unique_ptr<Result<Ts>>...> outs{};
    std::array<bool, N> ended{};
    std::exception_ptr first_error;  // the first failure seen (Cancelled included)
    Driver *drv = nullptr;

    explicit WhenAll(Task<Ts> &&...ts) : tasks(std::move(ts)...) {}

    bool await_ready() const noexcept { return N == 0; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        TASKS_HPP_CHECK_PROMISE(P, "tasks::when_all");
        drv = h.promise().driver;
        // A spawn that throws (runtime shut down) propagates into the coroutine; the handles
        // spawned so far abort and wait when this awaiter goes.
        spawn_all(std::index_sequence_for<Ts...>{});
        if (ready(this)) return false;
        h.promise().suspend(TASKS_POLL_PENDING, &WhenAll::ready, this);
        return true;
    }
    template <std::size_t... I>
    void spawn_all(std::index_sequence<I...>) {
        ((std::get<I>(handles) = tasks::spawn(std::move(std::get<I>(tasks)))), ...);
    }
    static bool ready(void *self) noexcept {
        WhenAll *w = static_cast<WhenAll *>(self);
        w->poll_all(std::index_sequence_for<Ts...>{});
        for (bool e : w->ended) {
            if (!e) return false;
        }
        return true;
    }
    template <std::size_t... I>
    void poll_all(std::index_sequence<I...>) noexcept {
        (poll_one<I>(), ...);
    }
    template <std::size_t I>
    void poll_one() noexcept {
        if (ended[I]) return;
        using T = std::tuple_element_t<I, std::tuple<Ts...>>;
        void *out = nullptr;
        tasks_status st = tasks_join_handle_poll(std::get<I>(handles).native_handle(), drv->cx, &out);
        if (st == TASKS_PENDING) return;
        ended[I] = true;
        std::get<I>(outs).reset(static_cast<Result<T> *>(out));
        if (first_error) return;
        if (st == TASKS_FAILED && out) {
            first_error = std::get<I>(outs)->error;
        } else if (st != TASKS_OK) {
            first_error = std::make_exception_ptr(st == TASKS_CANCELLED ? Cancelled() : Error(st, "when_all"));
        } else {
            return;
        }
        abort_all(std::index_sequence_for<Ts...>{});
    }
    template <std::size_t... I>
    void abort_all(std::index_sequence<I...>) noexcept {
        ((ended[I] ? void() : std::get<I>(handles).abort()), ...);  // notifies stop tokens too
    }
    std::tuple<typename Result<Ts>::Stored...> await_resume() {
        if (first_error) std::rethrow_exception(first_error);
        return collect(std::index_sequence_for<Ts...>{});
    }
    template <std::size_t... I>
    std::tuple<typename Result<Ts>::Stored...> collect(std::index_sequence<I...>) {
        return std::tuple<typename Result<Ts>::Stored...>(take_stored(*std::get<I>(outs))...);
    }
};
template <class... Ts> struct native_awaitable<WhenAll<Ts...>> : std::true_type {};

// when_all over a vector: the Tasks go into a JoinSet (so each wake costs one join_next, not a
// scan of every task, and abort_all cancels the rest); results are put back in input order.
template <class T>
struct [[nodiscard]] WhenAllRange {
    std::vector<Task<T>> tasks;
    std::optional<JoinSet<T>> set;
    std::unordered_map<std::uint64_t, std::size_t> index;  // task id -> input position
    std::vector<std::unique_ptr<Result<T>>> outs;
    std::exception_ptr first_error;
    Driver *drv = nullptr;

    explicit WhenAllRange(std::vector<Task<T>> ts) : tasks(std::move(ts)) {}

    bool await_ready() const noexcept { return tasks.empty(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        TASKS_HPP_CHECK_PROMISE(P, "tasks::when_all");
        drv = h.promise().driver;
        set.emplace();  // on the awaiting coroutine's runtime
        outs.resize(tasks.size());
        index.reserve(tasks.size());
        for (std::size_t i = 0; i < tasks.size(); i++) index.emplace(set->spawn(std::move(tasks[i])), i);
        if (ready(this)) return false;
        h.promise().suspend(TASKS_POLL_PENDING, &WhenAllRange::ready, this);
        return true;
    }
    static bool ready(void *self) noexcept {
        WhenAllRange *w = static_cast<WhenAllRange *>(self);
        tasks_join_set *s = w->set->native_handle();
        for (;;) {
            void *out = nullptr;
            std::uint64_t id = 0;
            tasks_status st = tasks_join_set_poll_join_next(s, w->drv->cx, &out, &id);
            if (st == TASKS_PENDING) return false;
            if (st == TASKS_EMPTY) return true;
            std::unique_ptr<Result<T>> r(static_cast<Result<T> *>(out));
            bool outcome = st == TASKS_OK || st == TASKS_FAILED || st == TASKS_CANCELLED;
            if (!w->first_error && st != TASKS_OK) {
                w->first_error = st == TASKS_FAILED && r ? r->error
                                 : st == TASKS_CANCELLED ? std::make_exception_ptr(Cancelled())
                                                         : std::make_exception_ptr(Error(st, "when_all"));
                notify_abort_group(s);
                tasks_join_set_abort_all(s);
            }
            if (!outcome) return true;  // a library error: stop waiting (the set's destructor waits)
            auto it = w->index.find(id);
            if (it != w->index.end()) w->outs[it->second] = std::move(r);
        }
    }
    std::vector<typename Result<T>::Stored> await_resume() {
        if (first_error) std::rethrow_exception(first_error);
        std::vector<typename Result<T>::Stored> v;
        v.reserve(outs.size());
        for (auto &o : outs) v.push_back(take_stored(*o));
        return v;
    }
};
template <class T> struct native_awaitable<WhenAllRange<T>> : std::true_type {};

}  // namespace detail

// co_await tasks::when_all(t1, t2, ...): runs the Tasks in parallel (each as a task of the
// awaiting coroutine's runtime) and gives a std::tuple of their values (std::monostate for a
// Task<void>). The first exception (or cancellation) aborts the rest, and is rethrown once
// every Task has ended.
template <class... Ts>
[[nodiscard]] detail::WhenAll<Ts...> when_all(Task<Ts>... ts) {
    return detail::WhenAll<Ts...>(std::move(ts)...);
}

// co_await tasks::when_all(std::move(vector_of_tasks)): the same over any number of Tasks of one
// type; a std::vector of their values in input order.
template <class T>
[[nodiscard]] detail::WhenAllRange<T> when_all(std::vector<Task<T>> ts) {
    return detail::WhenAllRange<T>(std::move(ts));
}

}  // namespace tasks

#endif  // TASKS_HPP_WHEN_ALL
