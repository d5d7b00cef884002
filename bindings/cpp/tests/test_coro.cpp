// C++20 coroutines: await chains 10,000 deep (stack measured), sleep, yield, co_await of
// JoinHandles and JoinSets, exceptions, abort of suspended / running coroutines (destructor
// counts and order), captures kept alive, block_on.
#include <tasks.hpp>

#include "check.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {
constexpr int kDeep = 10000;

// The current stack position, from a frame that cannot be inlined into a coroutine frame.
[[gnu::noinline]] std::uintptr_t stack_position() {
    return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}
std::uintptr_t span(std::uintptr_t a, std::uintptr_t b) { return a > b ? a - b : b - a; }

struct StackProbe {
    std::uintptr_t top = 0, bottom = 0;
};

tasks::Task<int> chain(int n, StackProbe *probe) {
    if (n == 0) {
        if (probe) probe->bottom = stack_position();
        co_return 0;
    }
    if (probe && n == kDeep) probe->top = stack_position();
    int r = co_await chain(n - 1, probe);
    co_return r + 1;
}

struct MyError {
    int code;
};

tasks::Task<int> throw_at_bottom(int n) {
    if (n == 0) {
        co_await tasks::yield();
        throw MyError{n + 42};
    }
    co_return co_await throw_at_bottom(n - 1);
}

// Destruction log: which chain levels were destroyed, in order.
std::mutex log_mu;
std::vector<int> destroyed;
std::atomic<int> guards{0};
struct Guard {
    int level;
    explicit Guard(int l) : level(l) { guards++; }
    Guard(const Guard &) = delete;
    ~Guard() {
        std::lock_guard<std::mutex> g(log_mu);
        destroyed.push_back(level);
        guards--;
    }
};

tasks::Task<int> sleeping_chain(int n, std::atomic<bool> *bottom_reached) {
    Guard g(n);
    if (n == 0) {
        *bottom_reached = true;
        co_await tasks::sleep_for(3600s);
        co_return 1;
    }
    co_return co_await sleeping_chain(n - 1, bottom_reached);
}

tasks::Task<double> sleeper(std::chrono::milliseconds d) {
    auto t0 = std::chrono::steady_clock::now();
    co_await tasks::sleep_for(d);
    co_return ms_since(t0);
}

tasks::Task<void> ping(char who, int n, std::string *log, std::mutex *mu) {
    for (int i = 0; i < n; i++) {
        {
            std::lock_guard<std::mutex> g(*mu);
            log->push_back(who);
        }
        co_await tasks::yield();
    }
}

tasks::Task<int> await_handles(tasks::Runtime &rt) {
    auto h = rt.spawn([] { return 20; });
    int a = co_await h;
    int b = co_await rt.spawn([] { return 22; });     // a temporary handle
    co_await tasks::spawn([] {});                      // void, on this task's runtime
    try {
        co_await rt.spawn([]() -> int { throw MyError{5}; });
        co_return -1;
    } catch (const MyError &e) {
        CHECK(e.code == 5);
    }
    auto cancelled = rt.spawn_after(1h, [] { return 0; });
    cancelled.abort();
    try {
        co_await cancelled;
        co_return -2;
    } catch (const tasks::Cancelled &) {
    }
    co_return a + b;
}

tasks::Task<int> with_counted_param(Counted c) { co_return c.v; }
}  // namespace

int main() {
    {
        tasks::Runtime rt{tasks::Builder{}.worker_threads(2)};

        // Await chains 10,000 deep, on this thread (block_on) and on a worker, and the stack
        // stays flat: each co_await is a symmetric transfer, not a nested call.
        StackProbe p1;
        CHECK(rt.block_on(chain(kDeep, &p1)) == kDeep);
        CHECK(p1.top != 0 && p1.bottom != 0);
        CHECK(span(p1.top, p1.bottom) < 16 * 1024);
        StackProbe p2;
        CHECK(rt.spawn(chain(kDeep, &p2)).join() == kDeep);
        CHECK(span(p2.top, p2.bottom) < 16 * 1024);
        // On 64 KiB stacks: nested resumes (even 10 bytes a level) would overflow.
        {
            tasks::Runtime tiny{tasks::Builder{}.worker_threads(1).thread_stack_size(64 * 1024)};
            CHECK(tiny.spawn(chain(kDeep, nullptr)).join() == kDeep);
        }

        // An exception thrown deep in a chain reaches the joiner with its type.
        CHECK_THROWS(rt.spawn(throw_at_bottom(100)).join(), MyError, e, e.code == 42);
        CHECK_THROWS(rt.block_on(throw_at_bottom(3)), MyError, e, e.code == 42);

        // sleep_for: not shorter than asked; does not hold a thread: 40 coroutines sleeping
        // 200 ms each on a single worker end long before 40 * 200 ms.
        CHECK(rt.block_on(sleeper(30ms)) >= 30.0);
        CHECK(rt.spawn(sleeper(20ms)).join() >= 20.0);
        CHECK(rt.block_on(sleeper(0ms)) < 1000.0);
        {
            tasks::Runtime one{tasks::Builder{}.worker_threads(1)};
            auto t0 = std::chrono::steady_clock::now();
            std::vector<tasks::JoinHandle<double>> hs;
            for (int i = 0; i < 40; i++) hs.push_back(one.spawn(sleeper(200ms)));
            for (auto &h : hs) CHECK(h.join() >= 200.0);
            CHECK(ms_since(t0) < 4000.0);
        }

        // yield: on one worker, two yielding coroutines take turns. They are spawned from a
        // worker task (so both sit in that worker's queue; a task spawned from outside waits
        // in the injection queue, which a worker checks only every few dozen polls).
        {
            tasks::Runtime one{tasks::Builder{}.worker_threads(1)};
            std::string log;
            std::mutex mu;
            auto pair = one.spawn([&] {
                return std::make_pair(one.spawn(ping('a', 5, &log, &mu)), one.spawn(ping('b', 5, &log, &mu)));
            }).join();
            pair.first.join();
            pair.second.join();
            CHECK(log.size() == 10);
            int switches = 0;
            for (std::size_t i = 1; i < log.size(); i++) switches += log[i] != log[i - 1];
            CHECK(switches == 9);  // strictly alternating
        }

        // co_await of JoinHandles: values, void, exceptions, cancellation.
        CHECK(rt.block_on(await_handles(rt)) == 42);
        CHECK(rt.spawn(await_handles(rt)).join() == 42);

        // co_await of a handle does not block the worker: on one worker, a coroutine waits
        // for a task that can only finish once another worker task ran.
        {
            tasks::Runtime one{tasks::Builder{}.worker_threads(1)};
            auto flag = std::make_shared<std::atomic<bool>>(false);
            auto waiter = one.spawn([](tasks::Runtime *r, std::shared_ptr<std::atomic<bool>> f) -> tasks::Task<int> {
                auto blocking = r->spawn_blocking([f] {
                    while (!*f) std::this_thread::sleep_for(1ms);
                    return 1;
                });
                auto setter = r->spawn([f] { *f = true; });
                int v = co_await blocking;
                co_await setter;
                co_return v + 1;
            }, &one, flag);
            CHECK(waiter.join_for(20s) == std::optional<int>(2));
        }

        // Abort of an idle (suspended) coroutine 10,000 awaits deep: every frame is destroyed
        // before abort() returns, innermost first, without recursion.
        {
            std::atomic<bool> bottom{false};
            destroyed.clear();
            auto h = rt.spawn(sleeping_chain(kDeep, &bottom));
            CHECK(wait_until([&] { return bottom.load(); }));
            CHECK(guards == kDeep + 1);
            std::this_thread::sleep_for(20ms);  // let the poll return PENDING (idle)
            h.abort();
            CHECK(guards == 0);
            CHECK(h.is_finished());
            CHECK_THROWS(h.join(), tasks::Cancelled, e, true);
            std::lock_guard<std::mutex> g(log_mu);
            CHECK(destroyed.size() == kDeep + 1);
            bool in_order = true;
            for (int i = 0; i <= kDeep; i++) in_order = in_order && destroyed[i] == i;
            CHECK(in_order);
        }
        // The same on a small stack, aborted from a worker thread of that runtime.
        {
            tasks::Runtime tiny{tasks::Builder{}.worker_threads(2).thread_stack_size(64 * 1024)};
            std::atomic<bool> bottom{false};
            auto h = tiny.spawn(sleeping_chain(kDeep, &bottom));
            CHECK(wait_until([&] { return bottom.load(); }));
            std::this_thread::sleep_for(20ms);
            tiny.spawn([a = h.abort_handle()] { a.abort(); }).join();
            CHECK(guards == 0);
            CHECK_THROWS(h.join(), tasks::Cancelled, e, true);
        }
        // Abort of a coroutine suspended on a JoinHandle: its frame goes, and the handle in it
        // aborts the awaited (running) task and waits until it has ended, before abort()
        // returns: nothing in the frame is left borrowed.
        {
            std::atomic<bool> inner_running{false}, inner_stopped{false}, waiting{false};
            auto h = rt.spawn([&]() -> tasks::Task<int> {
                Guard g(-1);
                auto inner = rt.spawn([&] {
                    inner_running = true;
                    while (!tasks::current_is_cancelled()) std::this_thread::sleep_for(1ms);
                    std::this_thread::sleep_for(20ms);  // still running a while after the abort
                    inner_stopped = true;
                    return 3;
                });
                waiting = true;
                co_return co_await inner;
            });
            CHECK(wait_until([&] { return waiting.load() && inner_running.load(); }));
            std::this_thread::sleep_for(20ms);
            CHECK(guards == 1);
            h.abort();
            CHECK(guards == 0);
            CHECK(inner_stopped);
            CHECK_THROWS(h.join(), tasks::Cancelled, e, true);
        }
        // Abort of a running coroutine: cancelled at its next suspension (a yield here).
        {
            std::atomic<bool> running{false};
            std::atomic<int> rounds{0};
            auto h = rt.spawn([&]() -> tasks::Task<void> {
                Guard g(-2);
                for (;;) {
                    running = true;
                    std::this_thread::sleep_for(1ms);
                    rounds++;
                    co_await tasks::yield();
                }
            });
            CHECK(wait_until([&] { return running.load(); }));
            h.abort();
            CHECK_THROWS(h.join(), tasks::Cancelled, e, true);
            CHECK(guards == 0);
            int after = rounds;
            std::this_thread::sleep_for(20ms);
            CHECK(rounds == after);  // it never ran again
        }
        // Abort before the first poll: the frame (with its parameters) is destroyed.
        {
            tasks::Runtime one{tasks::Builder{}.worker_threads(1)};
            Gate gate;
            std::atomic<bool> running{false};
            auto hold = one.spawn([&] {
                running = true;
                gate.wait();
            });
            CHECK(wait_until([&] { return running.load(); }));
            auto h = one.spawn(with_counted_param(Counted(4)));
            CHECK(Counted::live == 1);
            h.abort();
            CHECK(Counted::live == 0);
            gate.open = true;
            CHECK_THROWS(h.join(), tasks::Cancelled, e, true);
        }
        // A Task never run is destroyed with its frame.
        {
            auto t = with_counted_param(Counted(1));
            CHECK(Counted::live == 1);
        }
        CHECK(Counted::live == 0);

        // A coroutine lambda's captures live as long as its coroutine (the callable is kept).
        {
            auto h = rt.spawn([p = std::make_unique<int>(5), c = Counted(1)]() -> tasks::Task<std::unique_ptr<int>> {
                co_await tasks::sleep_for(5ms);
                co_await tasks::yield();
                co_return std::make_unique<int>(*p + c.v);
            });
            static_assert(std::is_same_v<decltype(h), tasks::JoinHandle<std::unique_ptr<int>>>);
            CHECK(*h.join() == 6);
            CHECK(Counted::live == 0);
            CHECK(rt.block_on([q = std::make_unique<int>(7)]() -> tasks::Task<int> {
                co_await tasks::yield();
                co_return *q;
            }) == 7);
        }

        // JoinSet of coroutines, awaited with co_await set.next(): completion order.
        {
            auto order = rt.block_on([&rt]() -> tasks::Task<std::vector<int>> {
                tasks::JoinSet<int> set(rt);
                std::vector<std::uint64_t> ids;
                const int delays[] = {300, 100, 200};
                for (int i = 0; i < 3; i++) {
                    ids.push_back(set.spawn([](int k, int ms) -> tasks::Task<int> {
                        co_await tasks::sleep_for(std::chrono::milliseconds(ms));
                        co_return k;
                    }, i, delays[i]));
                }
                std::vector<int> got;
                while (auto o = co_await set.next()) {
                    int v = o->value();
                    CHECK(o->id() == ids[v]);
                    got.push_back(v);
                }
                co_return got;
            });
            CHECK((order == std::vector<int>{1, 2, 0}));
            tasks::JoinSet<int> set(rt);
            set.spawn(chain(10, nullptr));
            CHECK(set.join_next()->value() == 10);
        }

        // Awaiting a Task twice; an empty Task; block_on on a worker of the same runtime.
        {
            int r = rt.block_on([]() -> tasks::Task<int> {
                auto t = chain(3, nullptr);
                int first = co_await t;
                try {
                    co_await t;
                    co_return -1;
                } catch (const tasks::Error &e) {
                    CHECK(e.status() == TASKS_ERR_INVALID);
                }
                co_return first;
            });
            CHECK(r == 3);
            CHECK_THROWS((void)rt.spawn(tasks::Task<int>{}), tasks::Error, e, e.status() == TASKS_ERR_INVALID);
            auto inner = rt.spawn([&rt] {
                try {
                    rt.block_on(chain(1, nullptr));
                    return TASKS_OK;
                } catch (const tasks::Error &e) {
                    return e.status();
                }
            });
            CHECK(inner.join() == TASKS_ERR_WOULD_DEADLOCK);
        }
        // Spawning a coroutine on a shut-down runtime: Error, and the frame is destroyed.
        {
            tasks::Runtime dead;
            CHECK(dead.shutdown(5s));
            CHECK_THROWS((void)dead.spawn(with_counted_param(Counted(2))), tasks::Error, e, e.status() == TASKS_ERR_SHUTDOWN);
            CHECK_THROWS(dead.block_on(with_counted_param(Counted(2))), tasks::Error, e, e.status() == TASKS_ERR_SHUTDOWN);
            CHECK(Counted::live == 0);
        }
        // A runtime destroyed with a sleeping coroutine: cancelled, its frame destroyed.
        {
            std::atomic<bool> bottom{false};
            tasks::JoinHandle<int> h;
            {
                tasks::Runtime r2{tasks::Builder{}.worker_threads(1)};
                h = r2.spawn(sleeping_chain(10, &bottom));
                CHECK(wait_until([&] { return bottom.load(); }));
            }
            CHECK(guards == 0);
            CHECK_THROWS(h.join(), tasks::Cancelled, e, true);
        }
    }
    CHECK(guards == 0);
    CHECK(Counted::live == 0);
    std::puts("test_coro OK");
    return 0;
}
