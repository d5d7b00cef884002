// tasks/waker.hpp: tasks::Waker (a task's waker, or your own callback as a waker) and, in
// coroutines, co_await tasks::this_waker().
#ifndef TASKS_HPP_WAKER
#define TASKS_HPP_WAKER

#include "detail/core.hpp"

#include <memory>
#include <type_traits>
#include <utility>

namespace tasks {

// Something that can be woken: a task (this_waker() in a coroutine) or a callable of yours
// (Waker::from). Copying clones it (both wake the same thing); waking or destroying one copy
// does not affect the others. Wakes may come from any thread, before, during or after the
// woken task's poll, and are never lost. An empty Waker (default-constructed, moved-from,
// consumed by wake()) ignores wakes.
class Waker {
public:
    Waker() noexcept = default;
    // Takes ownership of `w` (freed by the destructor).
    explicit Waker(tasks_waker *w) noexcept : w_(w) {}
    Waker(const Waker &o) : w_(o.w_ ? tasks_waker_clone(o.w_) : nullptr) {
        if (o.w_ && !w_) throw Error(TASKS_ERR_NO_MEMORY, "tasks_waker_clone");
    }
    Waker(Waker &&o) noexcept : w_(std::exchange(o.w_, nullptr)) {}
    Waker &operator=(Waker o) noexcept {
        std::swap(w_, o.w_);
        return *this;
    }
    ~Waker() { tasks_waker_free(w_); }

    // A waker that calls f() on every wake, synchronously, on the waking thread (so f must be
    // thread-safe and must not throw: std::terminate). f is destroyed when the last copy of
    // the waker goes, on the thread that drops it.
    template <class F>
    [[nodiscard]] static Waker from(F &&f) {
        using Fn = std::decay_t<F>;
        auto keep = std::make_unique<Fn>(std::forward<F>(f));
        tasks_waker *w = tasks_waker_new(&call<Fn>, keep.get(), &drop<Fn>);
        if (!w) throw Error(TASKS_ERR_NO_MEMORY, "tasks_waker_new");
        keep.release();  // the waker owns it (drop)
        return Waker(w);
    }

    // Wakes and empties this Waker.
    void wake() noexcept { tasks_waker_wake(std::exchange(w_, nullptr)); }
    // Wakes, keeping the Waker.
    void wake_by_ref() const noexcept { tasks_waker_wake_by_ref(w_); }
    // Whether both wake the same task (or are copies of the same callback waker).
    bool will_wake(const Waker &o) const noexcept { return tasks_waker_will_wake(w_, o.w_); }
    explicit operator bool() const noexcept { return w_ != nullptr; }
    const tasks_waker *native_handle() const noexcept { return w_; }
    // Gives up ownership (free it with tasks_waker_free or consume it with tasks_waker_wake).
    [[nodiscard]] tasks_waker *release() noexcept { return std::exchange(w_, nullptr); }

private:
    template <class Fn> static void call(void *p) noexcept { (*static_cast<Fn *>(p))(); }
    template <class Fn> static void drop(void *p) noexcept { delete static_cast<Fn *>(p); }
    tasks_waker *w_ = nullptr;
};

}  // namespace tasks

#ifdef TASKS_HPP_COROUTINES
#include "coro.hpp"

namespace tasks {
namespace detail {
// Hands out a waker for the running task without suspending.
struct [[nodiscard]] ThisWakerAwaiter {
    Waker w;
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        TASKS_HPP_CHECK_PROMISE(P, "tasks::this_waker()");
        tasks_waker *raw = tasks_context_waker(h.promise().driver->cx);
        if (!raw) throw Error(TASKS_ERR_NO_MEMORY, "tasks_context_waker");
        w = Waker(raw);
        return false;  // continue at once
    }
    Waker await_resume() noexcept { return std::move(w); }
};
template <> struct native_awaitable<ThisWakerAwaiter> : std::true_type {};
}  // namespace detail

// co_await tasks::this_waker(): a Waker for the running task (it does not suspend). Store it
// where your event source will wake it, then co_await tasks::suspend() until your condition
// holds. It stays valid after the task ended (a wake then does nothing).
[[nodiscard]] inline detail::ThisWakerAwaiter this_waker() noexcept { return {}; }
}  // namespace tasks
#endif

#endif  // TASKS_HPP_WAKER
