// tasks/coro.hpp: C++20 coroutines. tasks::Task<T> and what it can co_await.
//
// A Task<T> is a lazy coroutine (it starts when spawned, block_on'd or co_awaited) that runs
// as one poll task of the runtime. Inside it:
//   co_await other_task();        runs it inline and gives its value / rethrows
//   co_await handle;              waits for a JoinHandle<U> without blocking the thread
//   co_await set.next();          the next Outcome of a JoinSet<U>
//   co_await tasks::when_all(t1, t2, ...)   runs Tasks in parallel; a tuple of their values
//   co_await tasks::when_all(std::move(vec))  the same for a std::vector<Task<T>>
//   co_await rt.schedule();       continues on one of rt's workers
//   co_await tasks::sleep_for(d); co_await tasks::yield();
//   co_await tasks::this_waker(); co_await tasks::suspend();   (for your own wake sources)
// Nothing else can be co_awaited (a foreign awaitable would suspend without arranging a wake,
// or resume the coroutine outside its poll): it is a compile error.
//
// Stack: however long a chain of co_awaited Tasks, the stack stays flat. Every resumption
// goes through one loop in the driver (a trampoline), so this holds at -O0 too, without
// relying on the compiler turning symmetric transfer into a tail call.
//
// Abort: a suspended coroutine (and every Task it awaits, innermost first) is destroyed at
// once, on the thread that called abort(): the destructors of everything in those frames run
// there, before abort() returns (so they must not assume a worker thread, and handles in the
// frames wait for their own tasks, see JoinHandle). A running coroutine is cancelled when it
// next suspends, unless it finishes first. A Task is move-only; destroying one that never ran
// destroys its frame.
#ifndef TASKS_HPP_CORO
#define TASKS_HPP_CORO

#include "join_set.hpp"

#include <array>
#include <coroutine>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace tasks {
namespace detail {
struct PromiseBase;

// Where a coroutine chain runs. The owner (the task spawned for it) drives it until a
// schedule() moves it: then a relay task on the target runtime drives it, and the owner waits
// for the relay's handle. At most one relay is alive at a time: a relay that moves the chain
// again hands the new relay to the owner (handoff) and ends.
struct Hop {
    tasks_join_handle *relay = nullptr;   // owner only: the relay that now drives the chain
    tasks_runtime *move_to = nullptr;     // set by a schedule() during this poll
    tasks_status *move_error = nullptr;   // where to report a failed move (the awaiter)
};

// The poll task's state: the chain of coroutines it drives, and how it is suspended. Only the
// current carrier (owner or relay) touches it, one poll at a time.
struct Driver {
    tasks_context *cx = nullptr;               // valid during a poll only
    Hop *hop = nullptr;                        // the current carrier's, during a poll
    PromiseBase *suspended = nullptr;          // innermost coroutine, to resume on the next poll
    std::coroutine_handle<> next;              // the trampoline: who to resume next in this poll
    tasks_poll kind = TASKS_POLL_PENDING;      // what the poll returns for this suspension
    bool (*ready)(void *) = nullptr;           // re-check on a wake (false: keep waiting)
    void *leaf = nullptr;                      // the awaiter `ready` checks
    const void *set = nullptr;                 // the JoinSet spawned into (stop tokens)
    tasks_join_handle *handoff = nullptr;      // a relay's successor, for the owner to wait on
    bool lost = false;                         // a relay was cancelled: the chain is abandoned
    bool bound = false;                        // the owner runs on a thread of its own (block_on,
                                               // a local executor), not as a runtime's worker task
    Hop own;                                   // the owner's hop

    Driver() = default;
    Driver(const Driver &) = delete;
    Driver &operator=(const Driver &) = delete;
    virtual ~Driver() = default;
    virtual bool done() const noexcept = 0;
    // The top coroutine's result as a Result<T>*; sets failed if it holds an exception.
    virtual void *take_output(bool &failed) noexcept = 0;

    enum class Step { pending, yield, finished, moved };
    Step step(Hop &h, tasks_context *c, bool owner) noexcept;
    // Aborts the relay (and its successors) and waits until none runs the chain any more.
    void stop_relays() noexcept;

    static tasks_poll poll(void *state, tasks_context *cx, void **output) noexcept;
    static void drop(void *state) noexcept { delete static_cast<Driver *>(state); }
};

struct PromiseBase {
    Driver *driver = nullptr;
    PromiseBase *parent = nullptr;             // the coroutine awaiting this one
    std::coroutine_handle<> self;
    std::coroutine_handle<> *owner = nullptr;  // the Task object's handle, while awaited

    std::suspend_always initial_suspend() noexcept { return {}; }
    // The finished coroutine stays suspended (its Task destroys it); the driver's loop then
    // resumes the parent (if any).
    struct FinalAwaiter {
        bool await_ready() noexcept { return false; }
        template <class P>
        void await_suspend(std::coroutine_handle<P> h) noexcept {
            PromiseBase &p = h.promise();
            p.driver->suspended = p.parent;
            if (p.parent) p.driver->next = p.parent->self;
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

// Awaiters of this header check that they are awaited from a tasks::Task.
template <class P>
constexpr bool is_task_promise = std::is_base_of_v<PromiseBase, P>;
#define TASKS_HPP_CHECK_PROMISE(P, what)                                                      \
    static_assert(::tasks::detail::is_task_promise<P>,                                        \
                  "tasks: " what " can be co_awaited only inside a tasks::Task coroutine "    \
                  "(elsewhere use join(), or run a Task with Runtime::block_on)")

template <class A> struct native_awaitable : std::false_type {};
template <class U> struct native_awaitable<Task<U>> : std::true_type {};
template <class U> struct native_awaitable<JoinHandle<U>> : std::true_type {};

template <class A>
A &&PromiseBase::await_transform(A &&a) noexcept {
    static_assert(native_awaitable<std::remove_cv_t<std::remove_reference_t<A>>>::value,
                  "tasks::Task can co_await only tasks::Task, tasks::JoinHandle, JoinSet::next(), "
                  "tasks::when_all, Runtime::schedule, tasks::sleep_for, tasks::yield, "
                  "tasks::this_waker and tasks::suspend");
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
}  // namespace detail

template <class T>
class [[nodiscard]] Task {
    static_assert(!std::is_reference_v<T>,
                  "tasks::Task<T&> is not supported: a task's result must be a value "
                  "(return a pointer or std::reference_wrapper instead)");

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

    struct [[nodiscard]] Awaiter {
        Task *task;
        bool await_ready() const noexcept { return !task->h_ || task->h_.done(); }
        template <class P>
        void await_suspend(std::coroutine_handle<P> h) noexcept {
            TASKS_HPP_CHECK_PROMISE(P, "a tasks::Task");
            promise_type &child = task->promise();
            detail::Driver *d = h.promise().driver;
            child.driver = d;
            child.parent = &h.promise();
            child.owner = &task->h_;
            d->suspended = &child;
            d->next = task->h_;  // the driver's loop starts the child: no nested call
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

// A relay: drives a chain that schedule() moved to its runtime. It owns nothing of the chain.
struct Relay {
    Driver *d;
    Hop hop;
    static tasks_poll poll(void *state, tasks_context *cx, void **) noexcept {
        Relay *r = static_cast<Relay *>(state);
        switch (r->d->step(r->hop, cx, false)) {
            case Driver::Step::pending: return TASKS_POLL_PENDING;
            case Driver::Step::yield: return TASKS_POLL_YIELD;
            default: return TASKS_POLL_READY;  // finished, or moved on (the owner looks)
        }
    }
    static void drop(void *state) noexcept { delete static_cast<Relay *>(state); }
};

inline Driver::Step Driver::step(Hop &h, tasks_context *c, bool owner) noexcept {
    for (;;) {
        if (owner && h.relay) {
            tasks_status st = tasks_join_handle_poll(h.relay, c, nullptr);
            if (st == TASKS_PENDING) return Step::pending;
            tasks_join_handle_free(std::exchange(h.relay, nullptr));
            // The relay ended: synchronized with it by the join, we may look at the chain.
            if (handoff) {
                h.relay = std::exchange(handoff, nullptr);
                continue;
            }
            if (!done()) lost = true;  // the relay was cancelled with the chain unfinished
            return Step::finished;
        }
        cx = c;
        hop = &h;
        {
            GroupScope scope(groups_for(set));
            if (ready && !ready(leaf)) {
                cx = nullptr;
                hop = nullptr;
                return Step::pending;  // a wake for something else: the awaiter re-armed itself
            }
            ready = nullptr;
            leaf = nullptr;
            // The trampoline. Coroutine bodies catch everything (unhandled_exception) and
            // awaiters that throw do it inside the coroutine, so resume() does not throw.
            next = suspended->self;
            while (next) std::exchange(next, nullptr).resume();
        }
        cx = nullptr;
        hop = nullptr;
        if (tasks_runtime *rt = std::exchange(h.move_to, nullptr)) {
            auto *relay = new (std::nothrow) Relay{this, {}};
            tasks_spawn_opts opts{nullptr, &Relay::drop, nullptr};
            tasks_join_handle *jh = nullptr;
            tasks_status st = relay ? tasks_spawn_poll(rt, &Relay::poll, relay, &opts, &jh) : TASKS_ERR_NO_MEMORY;
            if (st != TASKS_OK) {
                delete relay;
                *h.move_error = st;  // the schedule() awaiter throws it when resumed, here
                continue;
            }
            // From here on the relay may run the chain: touch nothing of it any more.
            if (owner) {
                h.relay = jh;
                continue;  // registers our waker on the relay's handle
            }
            handoff = jh;
            return Step::moved;
        }
        if (done()) return Step::finished;
        return kind == TASKS_POLL_YIELD ? Step::yield : Step::pending;
    }
}

inline void Driver::stop_relays() noexcept {
    while (tasks_join_handle *r = own.relay ? std::exchange(own.relay, nullptr) : std::exchange(handoff, nullptr)) {
        notify_abort_task(tasks_join_handle_id(r));  // a stop token taken on the relay
        tasks_join_handle_abort(r);
        (void)tasks_join_handle_join(r, TASKS_FOREVER, nullptr);
        tasks_join_handle_free(r);
    }
}

inline tasks_poll Driver::poll(void *state, tasks_context *cx, void **output) noexcept {
    Driver *d = static_cast<Driver *>(state);
    switch (d->step(d->own, cx, true)) {
        case Step::pending: return TASKS_POLL_PENDING;
        case Step::yield: return TASKS_POLL_YIELD;
        default: break;
    }
    bool failed = false;
    *output = d->take_output(failed);
    return failed ? TASKS_POLL_FAILED : TASKS_POLL_READY;
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
    // Cancelled while suspended: first make sure no relay runs the chain, then destroy it
    // innermost first, each frame alone (its awaited child's handle cleared first), so that
    // a deep chain does not recurse.
    ~TaskDriver() override {
        stop_relays();
        destroy_chain();
    }
    void destroy_chain() noexcept {
        if (!task.h_ || task.h_.done()) return;
        for (PromiseBase *p = suspended; p && p->parent;) {
            PromiseBase *parent = p->parent;
            std::coroutine_handle<> h = std::exchange(*p->owner, nullptr);
            h.destroy();
            p = parent;
        }
        task = Task<T>();
    }
    bool done() const noexcept override { return task.h_ && task.h_.done(); }
    void *take_output(bool &failed) noexcept override {
        if (lost) {
            destroy_chain();
            out->error = std::make_exception_ptr(Cancelled());
        } else {
            Result<T> &r = task.promise().result;
            try {
                out->error = r.error;
                if (!r.error && r.value) out->value.emplace(std::move(*r.value));
            } catch (...) {
                out->error = std::current_exception();
            }
        }
        failed = static_cast<bool>(out->error);
        return out.release();
    }
};

template <class T>
std::unique_ptr<Driver> make_task_driver(Task<T> &&task, const void *set) {
    auto d = std::make_unique<TaskDriver<T, std::monostate>>(std::move(task));
    d->set = set;
    return d;
}
template <class Fn>
std::unique_ptr<Driver> make_fn_driver(Fn fn, const void *set) {
    using T = typename std::invoke_result_t<Fn>::value_type;
    auto d = std::make_unique<TaskDriver<T, Fn>>(std::move(fn), 0);
    d->set = set;
    return d;
}

// Spawns a driver with `call(poll, state, opts, out)`; the library owns it on success.
template <class T, class Call>
void spawn_driver_with(Call &&call, std::unique_ptr<Driver> d, const char *name, tasks_join_handle **out) {
    tasks_spawn_opts opts{name, &Driver::drop, &Result<T>::drop};
    check(call(&Driver::poll, static_cast<void *>(d.get()), &opts, out), "spawn");
    d.release();
}

template <class T>
tasks_join_handle *spawn_coroutine(tasks_runtime *rt, Task<T> &&task, const char *name) {
    tasks_join_handle *h = nullptr;
    spawn_driver_with<T>(
        [rt](tasks_poll_fn p, void *s, const tasks_spawn_opts *o, tasks_join_handle **out) {
            return tasks_spawn_poll(rt, p, s, o, out);
        },
        make_task_driver(std::move(task)), name, &h);
    return h;
}

template <class Fn>
tasks_join_handle *spawn_coroutine_fn(tasks_runtime *rt, Fn fn, const char *name) {
    using T = typename std::invoke_result_t<Fn>::value_type;
    tasks_join_handle *h = nullptr;
    spawn_driver_with<T>(
        [rt](tasks_poll_fn p, void *s, const tasks_spawn_opts *o, tasks_join_handle **out) {
            return tasks_spawn_poll(rt, p, s, o, out);
        },
        make_fn_driver(std::move(fn)), name, &h);
    return h;
}

template <class T>
T block_on(tasks_runtime *rt, std::unique_ptr<Driver> d) {
    d->bound = true;
    tasks_spawn_opts opts{nullptr, &Driver::drop, &Result<T>::drop};
    void *out = nullptr;
    tasks_status s = tasks_block_on(rt, &Driver::poll, d.get(), &opts, &out);
    if (s == TASKS_OK || s == TASKS_FAILED || s == TASKS_CANCELLED) d.release();  // taken
    return finish<T>(s, out);  // on an error d (not taken) is destroyed here
}

struct [[nodiscard]] SleepAwaiter {
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
        TASKS_HPP_CHECK_PROMISE(P, "tasks::sleep_for");
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

struct [[nodiscard]] YieldAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) noexcept {
        TASKS_HPP_CHECK_PROMISE(P, "tasks::yield");
        h.promise().suspend(TASKS_POLL_YIELD);
    }
    void await_resume() const noexcept {}
};

// Suspends until the task's next wake (whoever sends it).
struct [[nodiscard]] SuspendAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    void await_suspend(std::coroutine_handle<P> h) noexcept {
        TASKS_HPP_CHECK_PROMISE(P, "tasks::suspend");
        h.promise().suspend(TASKS_POLL_PENDING);
    }
    void await_resume() const noexcept {}
};

template <class T>
struct [[nodiscard]] JoinAwaiter {
    tasks_join_handle *jh;
    Driver *drv = nullptr;
    tasks_status st = TASKS_PENDING;
    void *out = nullptr;

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        TASKS_HPP_CHECK_PROMISE(P, "a tasks::JoinHandle");
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
    T await_resume() { return finish<T>(st, std::exchange(out, nullptr)); }
    ~JoinAwaiter() { Result<T>::drop(out); }
};

template <class T>
struct [[nodiscard]] JoinNextAwaiter {
    tasks_join_set *s;
    Driver *drv = nullptr;
    tasks_status st = TASKS_PENDING;
    void *out = nullptr;
    std::uint64_t id = 0;

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        TASKS_HPP_CHECK_PROMISE(P, "JoinSet::next()");
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

struct [[nodiscard]] ScheduleAwaiter {
    tasks_runtime *rt;
    tasks_status err = TASKS_OK;
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        TASKS_HPP_CHECK_PROMISE(P, "Runtime::schedule()");
        Driver *d = h.promise().driver;
        // Already a worker task of rt: nothing to do. (tasks_current_runtime() is rt inside
        // rt's block_on too, and may be rt on an executor's thread: the driver knows those.)
        bool bound_here = d->bound && d->hop == &d->own;
        if (!bound_here && tasks_current_runtime() == rt) return false;
        d->hop->move_to = rt;  // the driver moves the chain once this poll has unwound
        d->hop->move_error = &err;
        h.promise().suspend(TASKS_POLL_PENDING);
        return true;
    }
    void await_resume() const { check(err, "schedule"); }
};

template <> struct native_awaitable<SleepAwaiter> : std::true_type {};
template <> struct native_awaitable<YieldAwaiter> : std::true_type {};
template <> struct native_awaitable<SuspendAwaiter> : std::true_type {};
template <> struct native_awaitable<ScheduleAwaiter> : std::true_type {};
template <class U> struct native_awaitable<JoinNextAwaiter<U>> : std::true_type {};
}  // namespace detail

// co_await tasks::sleep_for(d): suspends the coroutine (not the thread) for at least d.
template <class Rep, class Period>
[[nodiscard]] detail::SleepAwaiter sleep_for(std::chrono::duration<Rep, Period> d) noexcept {
    return detail::SleepAwaiter{detail::to_ns(d)};
}

// co_await tasks::yield(): lets the other ready tasks run, then continues.
[[nodiscard]] inline detail::YieldAwaiter yield() noexcept { return {}; }

// co_await tasks::suspend(): suspends until the task is next woken, by anyone (a Waker from
// this_waker(), for instance). Wakes may be spurious (a timer or handle the task waited on
// earlier): re-check your condition in a loop. A wake that comes before the suspension is not
// lost: the coroutine is then resumed at once after its poll.
[[nodiscard]] inline detail::SuspendAwaiter suspend() noexcept { return {}; }

// co_await handle: the task's value (rethrows its exception, throws Cancelled).
template <class T>
detail::JoinAwaiter<T> operator co_await(JoinHandle<T> &jh) {
    if (!jh.native_handle()) detail::throw_empty("co_await of an empty JoinHandle");
    return detail::JoinAwaiter<T>{jh.native_handle()};
}
template <class T>
detail::JoinAwaiter<T> operator co_await(JoinHandle<T> &&jh) { return operator co_await(jh); }

template <class T>
JoinHandle<T> Runtime::spawn(Task<T> task) {
    return JoinHandle<T>(detail::spawn_coroutine(need(), std::move(task), nullptr));
}

template <class T>
T Runtime::block_on(Task<T> task) {
    tasks_runtime *rt = need();
    return detail::block_on<T>(rt, detail::make_task_driver(std::move(task)));
}

template <class F, class... A, class>
auto Runtime::block_on(F &&f, A &&...args) {
    tasks_runtime *rt = need();
    auto fn = detail::bind(std::forward<F>(f), std::forward<A>(args)...);
    using T = typename std::invoke_result_t<decltype(fn)>::value_type;
    return detail::block_on<T>(rt, detail::make_fn_driver(std::move(fn)));
}

// co_await rt.schedule(): the coroutine continues on one of rt's workers (at once if it runs
// on one already). The rest of the coroutine (every frame of its chain) then runs as a relay
// task of rt while the task that was spawned for it waits, without holding a thread, and gives
// its result; aborting that task aborts the relay and waits for it. If rt shuts down with the
// coroutine on it, its frames are destroyed and the task ends Cancelled. Throws Error (e.g.
// TASKS_ERR_SHUTDOWN) from the co_await if rt refuses the relay: the coroutine stays where it was.
inline auto Runtime::schedule() { return detail::ScheduleAwaiter{need()}; }

// Spawns on the calling task's runtime, else on the default one.
template <class T>
JoinHandle<T> spawn(Task<T> task) {
    return JoinHandle<T>(detail::spawn_coroutine(nullptr, std::move(task), nullptr));
}

template <class T>
std::uint64_t JoinSet<T>::spawn(Task<T> task) {
    std::uint64_t id = 0;
    spawn_driver(detail::make_task_driver(std::move(task)), &id);
    return id;
}

template <class T>
void JoinSet<T>::spawn_driver(std::unique_ptr<detail::Driver> d, std::uint64_t *id) {
    tasks_join_set *s = need();
    d->set = s;
    detail::spawn_driver_with<T>(
        [s, id](tasks_poll_fn p, void *st, const tasks_spawn_opts *o, tasks_join_handle **) {
            return tasks_join_set_spawn_poll(s, p, st, o, id);
        },
        std::move(d), nullptr, nullptr);
}

template <class T>
auto JoinSet<T>::next() {
    return detail::JoinNextAwaiter<T>{need()};
}

}  // namespace tasks

#endif  // TASKS_HPP_CORO
