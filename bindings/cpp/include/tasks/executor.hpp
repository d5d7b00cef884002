// tasks/executor.hpp: tasks::Executor, a local executor: tasks that run on a thread you own
// (a GUI main thread, an event loop), inside your calls to run().
#ifndef TASKS_HPP_EXECUTOR
#define TASKS_HPP_EXECUTOR

#include "runtime.hpp"
#ifdef TASKS_HPP_COROUTINES
#include "coro.hpp"
#endif

#include <cstddef>
#include <cstdio>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace tasks {
namespace detail {
// spawn_driver_with's call for an executor.
struct ExecutorPollSpawn {
    tasks_executor *ex;
    tasks_status operator()(tasks_poll_fn p, void *s, const tasks_spawn_opts *o, tasks_join_handle **out) const {
        return tasks_executor_spawn_poll(ex, p, s, o, out);
    }
};
}  // namespace detail

// Bound to the thread that creates it (the owner). Spawning and waking its tasks work from any
// thread; run() and the destructor only on the owner. Its tasks' timers (sleep_for) are driven
// by the default runtime; a coroutine on it may co_await handles of any runtime, and
// co_await rt.schedule() moves it to rt for good.
//
// Lifetime. The destructor cancels the tasks left (their callables are destroyed there; their
// handles report Cancelled). Destroying it on another thread is a bug the library cannot carry
// out: the executor and its tasks are then leaked (and a line goes to stderr), never freed
// under the owner's feet. Handles of its tasks follow JoinHandle's rules; destroyed on the owner
// thread, a handle of an unfinished task cancels it by running the executor for a moment.
// Move-only; a moved-from Executor throws Error(TASKS_ERR_INVALID).
class Executor {
public:
    Executor() {
        tasks_executor *ex = nullptr;
        detail::check(tasks_executor_new(&ex), "tasks_executor_new");
        link_ = std::make_shared<detail::ExecutorLink>(detail::ExecutorLink{ex, detail::this_thread_token()});
    }
    Executor(const Executor &) = delete;
    Executor &operator=(const Executor &) = delete;
    Executor(Executor &&o) noexcept = default;
    Executor &operator=(Executor &&o) noexcept {
        if (this != &o) {
            end();
            link_ = std::move(o.link_);
            notify_ = std::move(o.notify_);
        }
        return *this;
    }
    ~Executor() { end(); }

    // Spawns f(args...) (a value, void, or C++20 Task<U> callable) to run on the owner thread.
    template <class F, class... A>
    detail::spawn_handle<F, A...> spawn(F &&f, A &&...args) {
        tasks_executor *ex = need();
        auto fn = detail::bind(std::forward<F>(f), std::forward<A>(args)...);
        tasks_join_handle *h = nullptr;
#ifdef TASKS_HPP_COROUTINES
        if constexpr (detail::is_task<std::invoke_result_t<decltype(fn)>>::value) {
            using T = typename std::invoke_result_t<decltype(fn)>::value_type;
            detail::spawn_driver_with<T>(detail::ExecutorPollSpawn{ex}, bound(detail::make_fn_driver(std::move(fn))), nullptr, &h);
        } else
#endif
        {
            detail::spawn_job(
                [ex](tasks_fn f_, void *arg, const tasks_spawn_opts *o, tasks_join_handle **out) {
                    return tasks_executor_spawn(ex, f_, arg, o, out);
                },
                std::move(fn), nullptr, &h);
        }
        return detail::spawn_handle<F, A...>(h, link_);
    }
#ifdef TASKS_HPP_COROUTINES
    template <class T>
    JoinHandle<T> spawn(Task<T> task) {
        tasks_executor *ex = need();
        tasks_join_handle *h = nullptr;
        detail::spawn_driver_with<T>(detail::ExecutorPollSpawn{ex}, bound(detail::make_task_driver(std::move(task))), nullptr, &h);
        return JoinHandle<T>(h, link_);
    }
#endif

    // On the owner thread: polls up to max_polls ready tasks; returns how many it polled (0:
    // nothing was ready). Error(TASKS_ERR_WRONG_THREAD) on another thread.
    std::size_t run(std::size_t max_polls = std::numeric_limits<std::size_t>::max()) {
        tasks_executor *ex = need();
        if (link_->owner_token != detail::this_thread_token()) {
            throw Error(TASKS_ERR_WRONG_THREAD, "Executor::run");
        }
        return tasks_executor_run(ex, max_polls);
    }

    // f() is called (from any thread, possibly concurrently with run()) whenever a task becomes
    // ready while none was, so the owner's loop can wake up (write to an eventfd, post a
    // message) and call run(). f must be thread-safe and must not throw (std::terminate).
    // Once set_notify (or the destructor) returns, the old f is not called again: a call in
    // progress on another thread is waited for, so f must not block on anything the replacing
    // thread holds. The old f is kept alive until the executor is destroyed all the same.
    template <class F>
    void set_notify(F &&f) {
        tasks_executor *ex = need();
        using Fn = std::decay_t<F>;
        auto keep = std::make_shared<Fn>(std::forward<F>(f));
        notify_.reserve(notify_.size() + 1);  // so that push_back below cannot throw
        tasks_executor_set_notify(ex, &detail::call_hook<Fn>, keep.get());
        notify_.push_back(std::move(keep));
    }

    // Tasks spawned and not yet finished.
    [[nodiscard]] std::size_t size() const { return tasks_executor_len(need()); }
    [[nodiscard]] bool empty() const { return size() == 0; }
    // nullptr for a moved-from Executor.
    tasks_executor *native_handle() const noexcept { return link_ ? link_->ex : nullptr; }

private:
    tasks_executor *need() const {
        if (!link_ || !link_->ex) detail::throw_empty("moved-from Executor");
        return link_->ex;
    }
#ifdef TASKS_HPP_COROUTINES
    // Its coroutines run on the owner thread, not as a runtime's worker tasks (schedule()).
    static std::unique_ptr<detail::Driver> bound(std::unique_ptr<detail::Driver> d) {
        d->bound = true;
        return d;
    }
#endif
    void end() noexcept {
        if (!link_ || !link_->ex) return;
        if (link_->owner_token != detail::this_thread_token()) {
            std::fputs("tasks::~Executor: destroyed off its owner thread; executor leaked\n", stderr);
            new (std::nothrow) std::vector<std::shared_ptr<void>>(std::move(notify_));  // leaked too
            link_.reset();
            return;
        }
        if (tasks_executor_free(link_->ex) != TASKS_OK) {
            // Refused (destroyed from inside one of its own tasks: WOULD_DEADLOCK): the executor
            // lives on, so what it may still call must too.
            std::fputs("tasks::~Executor: destroyed inside one of its own tasks; executor leaked\n", stderr);
            new (std::nothrow) std::vector<std::shared_ptr<void>>(std::move(notify_));  // leaked too
            link_.reset();
            return;
        }
        link_->ex = nullptr;  // handles that outlive it: every task has ended
        link_.reset();
        notify_.clear();  // after the free: no notify call is left
    }

    std::shared_ptr<detail::ExecutorLink> link_;
    std::vector<std::shared_ptr<void>> notify_;
};

}  // namespace tasks

#endif  // TASKS_HPP_EXECUTOR
