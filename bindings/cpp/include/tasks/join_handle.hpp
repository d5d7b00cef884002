// tasks/join_handle.hpp: JoinHandle<T> (owns a task: join, abort; its destructor aborts and
// waits) and AbortHandle (aborts a task, shared and copyable).
#ifndef TASKS_HPP_JOIN_HANDLE
#define TASKS_HPP_JOIN_HANDLE

#include "detail/core.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace tasks {

// ---------------------------------------------------------------------------------------------
// AbortHandle: aborts a task and asks whether it ended, independently of its JoinHandle.
// Copying clones the C handle; it stays valid after the JoinHandle and the Runtime are gone.
// An empty (default-constructed or moved-from) AbortHandle does nothing: abort() is a no-op,
// is_finished() is false, id() is 0 (a "maybe a task" slot, like an empty std::function).
// ---------------------------------------------------------------------------------------------
class AbortHandle {
public:
    AbortHandle() noexcept = default;
    // Takes ownership of `a` (freed by the destructor).
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

    // A request: returns at once, never waits. A task that is not running is cancelled before
    // this returns: its callable (a coroutine: its whole frame chain) is destroyed right here,
    // on the calling thread, so their destructors run on this thread. A running task is not
    // interrupted (see tasks::current_is_cancelled / current_stop_token); a finished one is
    // not affected.
    void abort() const noexcept {
        if (!a_) return;
        detail::notify_abort_task(tasks_abort_handle_id(a_));
        tasks_abort_handle_abort(a_);
    }
    // True once the task fully ended (its callable destroyed).
    bool is_finished() const noexcept { return tasks_abort_handle_is_finished(a_); }
    std::uint64_t id() const noexcept { return tasks_abort_handle_id(a_); }
    explicit operator bool() const noexcept { return a_ != nullptr; }
    const tasks_abort_handle *native_handle() const noexcept { return a_; }

private:
    tasks_abort_handle *a_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// JoinHandle<T>: the owner's handle on a task returning T. Move-only.
//
// Lifetime (like std::jthread): a task may borrow what its handle's scope owns. The destructor
// of a handle whose task has not ended (not joined, not detached) aborts the task and waits
// until it has ended: a task that has not started never runs; a running one sees
// current_is_cancelled() and is waited for (on a worker thread the wait runs other tasks, so
// it does not deadlock). detach() opts out: the task runs on, and the library destroys its
// result. Exceptions: inside the task itself (a task destroying its own handle) the wait
// would never end, so the destructor detaches instead; for a local-executor task destroyed on
// the executor's own thread, the destructor runs the executor until the task is cancelled.
// Move-assigning over a live handle first does what its destructor would.
//
// A moved-from or default-constructed JoinHandle throws Error(TASKS_ERR_INVALID) from every
// member except valid(), operator bool, native_handle() and release().
// ---------------------------------------------------------------------------------------------
template <class T>
class [[nodiscard]] JoinHandle {
public:
    using value_type = T;

    JoinHandle() noexcept = default;
    // Takes ownership of `h`, which must belong to a task spawned by this header with result
    // T. `local`: the executor it was spawned into, if any.
    explicit JoinHandle(tasks_join_handle *h, std::shared_ptr<detail::ExecutorLink> local = nullptr) noexcept
        : h_(h), local_(std::move(local)) {}
    JoinHandle(const JoinHandle &) = delete;
    JoinHandle &operator=(const JoinHandle &) = delete;
    JoinHandle(JoinHandle &&o) noexcept : h_(std::exchange(o.h_, nullptr)), local_(std::move(o.local_)) {}
    JoinHandle &operator=(JoinHandle &&o) noexcept {
        if (this != &o) {
            end();
            h_ = std::exchange(o.h_, nullptr);
            local_ = std::move(o.local_);
        }
        return *this;
    }
    ~JoinHandle() { end(); }

    // Waits for the task and returns its value; rethrows its exception; throws Cancelled.
    // The value is handed out once: a second join throws Error(TASKS_ERR_INVALID).
    // On a worker thread it runs other tasks while it waits (fork-join does not deadlock);
    // inside a Task coroutine, co_await the handle instead (it does not block the thread).
    // A task joining itself: Error(TASKS_ERR_WOULD_DEADLOCK).
    T join() {
        void *out = nullptr;
        tasks_status s = tasks_join_handle_join(need(), TASKS_FOREVER, &out);
        return detail::finish<T>(s, out);
    }

    // join() that gives up after d: std::nullopt when the task has not ended by then (the
    // handle stays valid). For JoinHandle<void> the engaged value is std::monostate, so
    // `if (h.join_for(d))` reads the same for every T. Throws as join() does.
    template <class Rep, class Period>
    [[nodiscard]] std::optional<typename detail::Result<T>::Stored> join_for(std::chrono::duration<Rep, Period> d) {
        void *out = nullptr;
        tasks_status s = tasks_join_handle_join(need(), detail::to_ns(d), &out);
        if (s == TASKS_TIMED_OUT || s == TASKS_PENDING) return std::nullopt;
        if constexpr (std::is_void_v<T>) {
            detail::finish<void>(s, out);
            return std::monostate{};
        } else {
            return detail::finish<T>(s, out);
        }
    }

    // See AbortHandle::abort (a request; the callable of a task that has not started is
    // destroyed on this thread before it returns).
    void abort() const {
        detail::notify_abort_task(tasks_join_handle_id(need()));
        tasks_join_handle_abort(h_);
    }
    // True once the task fully ended (its callable destroyed).
    [[nodiscard]] bool is_finished() const { return tasks_join_handle_is_finished(need()); }
    // Unique in the process, never 0.
    [[nodiscard]] std::uint64_t id() const { return tasks_join_handle_id(need()); }
    [[nodiscard]] AbortHandle abort_handle() const {
        tasks_abort_handle *a = tasks_join_handle_abort_handle(need());
        if (!a) throw Error(TASKS_ERR_NO_MEMORY, "tasks_join_handle_abort_handle");
        return AbortHandle(a);
    }
    // Lets the task run on without a handle (its result is destroyed when it ends). The
    // handle is empty afterwards.
    void detach() {
        tasks_join_handle *h = need();
        h_ = nullptr;
        local_.reset();
        tasks_join_handle_free(h);
    }

    bool valid() const noexcept { return h_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }
    tasks_join_handle *native_handle() const noexcept { return h_; }
    // Gives up ownership without waiting (free it with tasks_join_handle_free; outputs are
    // detail::Result<T>*). The task runs on.
    [[nodiscard]] tasks_join_handle *release() noexcept {
        local_.reset();
        return std::exchange(h_, nullptr);
    }

private:
    tasks_join_handle *need() const {
        if (!h_) detail::throw_empty("empty JoinHandle (moved-from or default-constructed)");
        return h_;
    }
    // The destructor's work: abort an unfinished task and wait until it has ended, then free.
    void end() noexcept {
        tasks_join_handle *h = std::exchange(h_, nullptr);
        std::shared_ptr<detail::ExecutorLink> local = std::move(local_);
        if (!h) return;
        if (!tasks_join_handle_is_finished(h) && tasks_join_handle_id(h) != tasks_current_id()) {
            detail::notify_abort_task(tasks_join_handle_id(h));
            tasks_join_handle_abort(h);
            if (local && local->ex && local->owner_token == detail::this_thread_token()) {
                // Only this thread can cancel it (at its executor's next run), so a join here
                // would wait forever. Each task has at most one queued entry, so a run of
                // len + 1 entries reaches the task's; if it is still not finished, it is running
                // further up this thread's stack and cannot be waited for: detach.
                tasks_executor_run(local->ex, tasks_executor_len(local->ex) + 1);
            } else {
                // The output (if the task finished after all) is dropped with drop_output.
                // WOULD_DEADLOCK (e.g. a local-executor task joining a sibling) leaves it
                // detached: nothing else can be done without hanging.
                (void)tasks_join_handle_join(h, TASKS_FOREVER, nullptr);
            }
        }
        tasks_join_handle_free(h);
    }

    tasks_join_handle *h_ = nullptr;
    std::shared_ptr<detail::ExecutorLink> local_;  // set for local-executor tasks only
};

}  // namespace tasks

#endif  // TASKS_HPP_JOIN_HANDLE
