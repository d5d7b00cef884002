// C10: co_await tasks::when_all(...) (parallel; the first exception cancels the rest and is
// rethrown once all have ended) and co_await rt.schedule() (the coroutine moves to rt).
#include <tasks.hpp>

#include "check.hpp"

#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {
// Parallelism is checked by overlap rather than by wall time (a loaded machine stretches time):
// every sleeper counts itself in when it starts, and on waking records how many had started.
// Run one after another, the first to wake would have seen 1.
std::atomic<int> begun{0};
std::atomic<int> fewest_begun_at_wake{1 << 20};
void note_wake() {
    int seen = begun.load();
    int least = fewest_begun_at_wake.load();
    while (seen < least && !fewest_begun_at_wake.compare_exchange_weak(least, seen)) {
    }
}
tasks::Task<int> after(std::chrono::milliseconds d, int v) {
    begun++;
    co_await tasks::sleep_for(d);
    note_wake();
    co_return v;
}
tasks::Task<std::string> name_after(std::chrono::milliseconds d) {
    begun++;
    co_await tasks::sleep_for(d);
    note_wake();
    co_return "x";
}
tasks::Task<void> fail_after(std::chrono::milliseconds d) {
    co_await tasks::sleep_for(d);
    throw std::runtime_error("failed");
}
std::atomic<int> live_waiters{0};
tasks::Task<int> wait_for_abort(std::atomic<bool> *cancelled) {
    live_waiters++;
    struct Leave {
        ~Leave() { live_waiters--; }
    } leave;
    (void)leave;
    // Suspended on a long sleep: an abort destroys this frame (destructors run).
    co_await tasks::sleep_for(3600s);
    *cancelled = false;
    co_return 0;
}
}  // namespace

int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(2)};

    // Values in argument order, run in parallel: all three are asleep at once.
    {
        auto [a, s, b] = rt.block_on([]() -> tasks::Task<std::tuple<int, std::string, int>> {
            co_return co_await tasks::when_all(after(300ms, 1), name_after(300ms), after(300ms, 2));
        });
        CHECK(a == 1 && s == "x" && b == 2);
        CHECK(begun == 3 && fewest_begun_at_wake == 3);
        // Task<void> gives std::monostate; an empty when_all gives an empty tuple.
        auto [m] = rt.block_on([]() -> tasks::Task<std::tuple<std::monostate>> {
            co_return co_await tasks::when_all(tasks::Task<void>([]() -> tasks::Task<void> { co_return; }()));
        });
        (void)m;
        CHECK(rt.block_on([]() -> tasks::Task<std::size_t> {
            auto none = co_await tasks::when_all();
            co_return std::tuple_size_v<decltype(none)>;
        }) == 0);
    }
    // The first exception aborts the others (a 1-hour sleeper: destroyed, not waited for an
    // hour) and is rethrown once they have all ended.
    {
        std::atomic<bool> cancelled{true};
        auto t0 = std::chrono::steady_clock::now();
        auto h = rt.spawn([&cancelled]() -> tasks::Task<int> {
            co_await tasks::when_all(wait_for_abort(&cancelled), fail_after(20ms), after(10ms, 3));
            co_return 0;
        });
        CHECK_THROWS(h.join(), std::runtime_error, e, std::string(e.what()) == "failed");
        CHECK(ms_since(t0) < 10000.0);
        CHECK(cancelled && live_waiters == 0);
    }
    // Over a vector: input order, whatever the completion order; a failure aborts the rest.
    {
        auto v = rt.block_on([]() -> tasks::Task<std::vector<int>> {
            std::vector<tasks::Task<int>> ts;
            for (int i = 0; i < 20; i++) ts.push_back(after(std::chrono::milliseconds((20 - i) % 7), i));
            co_return co_await tasks::when_all(std::move(ts));
        });
        bool in_order = v.size() == 20;
        for (int i = 0; in_order && i < 20; i++) in_order = v[static_cast<std::size_t>(i)] == i;
        CHECK(in_order);
        CHECK(rt.block_on([]() -> tasks::Task<std::size_t> {
            auto none = co_await tasks::when_all(std::vector<tasks::Task<int>>{});
            co_return none.size();
        }) == 0);
        std::atomic<bool> cancelled{true};
        CHECK_THROWS(rt.block_on([&cancelled]() -> tasks::Task<void> {
            std::vector<tasks::Task<void>> ts;
            ts.push_back(fail_after(10ms));
            ts.push_back([](std::atomic<bool> *c) -> tasks::Task<void> { co_await wait_for_abort(c); }(&cancelled));
            (void)co_await tasks::when_all(std::move(ts));
        }), std::runtime_error, e, std::string(e.what()) == "failed");
        CHECK(cancelled && live_waiters == 0);
    }
    // Aborting the coroutine that awaits when_all aborts the children and waits for them.
    {
        std::atomic<bool> cancelled{true};
        auto h = rt.spawn([&cancelled]() -> tasks::Task<void> {
            co_await tasks::when_all(wait_for_abort(&cancelled), wait_for_abort(&cancelled));
        });
        CHECK(wait_until([] { return live_waiters == 2; }));
        std::this_thread::sleep_for(10ms);
        h.abort();
        CHECK(live_waiters == 0);
        CHECK_THROWS(h.join(), tasks::Cancelled, e, true);
    }

    // schedule(): from block_on (this thread) onto a worker of rt, then of another runtime.
    {
        tasks::Runtime other{tasks::Builder{}.worker_threads(1)};
        auto main_id = std::this_thread::get_id();
        auto ids = rt.block_on([&]() -> tasks::Task<std::tuple<std::thread::id, tasks_runtime *, tasks_runtime *, int>> {
            co_await rt.schedule();
            std::thread::id on_rt = std::this_thread::get_id();
            tasks_runtime *r1 = tasks_current_runtime();
            co_await other.schedule();
            tasks_runtime *r2 = tasks_current_runtime();
            int v = co_await after(5ms, 4);  // timers and awaits work after a move
            co_await rt.schedule();          // and back
            CHECK(tasks_current_runtime() == rt.native_handle());
            co_return std::make_tuple(on_rt, r1, r2, v);
        });
        CHECK(std::get<0>(ids) != main_id);
        CHECK(std::get<1>(ids) == rt.native_handle());
        CHECK(std::get<2>(ids) == other.native_handle());
        CHECK(std::get<3>(ids) == 4);
        // Already on rt: no move (it just continues).
        CHECK(rt.spawn([&rt]() -> tasks::Task<bool> {
            tasks_runtime *before = tasks_current_runtime();
            co_await rt.schedule();
            co_return before == tasks_current_runtime();
        }).join());
        // Exceptions thrown after a move reach the joiner.
        CHECK_THROWS(rt.spawn([&other]() -> tasks::Task<int> {
            co_await other.schedule();
            throw std::logic_error("moved");
        }).join(), std::logic_error, e, std::string(e.what()) == "moved");
        // Aborting the task while the coroutine runs on the other runtime: the relay is
        // aborted and waited for, then the frames are destroyed.
        std::atomic<bool> cancelled{true};
        auto h = rt.spawn([&]() -> tasks::Task<int> {
            co_await other.schedule();
            co_return co_await wait_for_abort(&cancelled);
        });
        CHECK(wait_until([] { return live_waiters == 1; }));
        std::this_thread::sleep_for(10ms);
        h.abort();
        CHECK_THROWS(h.join(), tasks::Cancelled, e, true);
        CHECK(live_waiters == 0);
        // The target runtime shuts down under the moved coroutine: its frames are destroyed
        // and the task ends Cancelled.
        {
            tasks::Runtime doomed{tasks::Builder{}.worker_threads(1)};
            auto d = rt.spawn([&]() -> tasks::Task<int> {
                co_await doomed.schedule();
                co_return co_await wait_for_abort(&cancelled);
            });
            CHECK(wait_until([] { return live_waiters == 1; }));
            CHECK(doomed.shutdown(10s));
            CHECK_THROWS(d.join(), tasks::Cancelled, e, true);
            CHECK(live_waiters == 0);
        }
        // schedule() onto a shut-down runtime throws in the coroutine, which stays put.
        {
            tasks::Runtime dead;
            CHECK(dead.shutdown(5s));
            CHECK(rt.spawn([&]() -> tasks::Task<int> {
                try {
                    co_await dead.schedule();
                } catch (const tasks::Error &e) {
                    co_return e.status();
                }
                co_return 0;
            }).join() == TASKS_ERR_SHUTDOWN);
        }
    }
    std::puts("test_when_all OK");
    return 0;
}
