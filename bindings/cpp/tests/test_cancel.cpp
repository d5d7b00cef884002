// Cancellation in each abort case (before start, running, finished; runtime shutdown),
// AbortHandle, join_for timeouts.
#include <tasks.hpp>

#include "check.hpp"

#include <vector>

using namespace std::chrono_literals;

int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(1)};
    // Occupies the only worker, so that later tasks stay queued (not started).
    Gate gate;
    std::atomic<bool> blocker_running{false};
    auto blocker = rt.spawn([&] {
        blocker_running = true;
        gate.wait();
        return 1;
    });
    CHECK(wait_until([&] { return blocker_running.load(); }));

    // join_for: times out, after (at least) the time asked for; the handle stays usable.
    {
        auto t0 = std::chrono::steady_clock::now();
        std::optional<int> r = blocker.join_for(30ms);
        CHECK(!r.has_value());
        CHECK(ms_since(t0) >= 29.0);
        CHECK(!blocker.is_finished());
        CHECK(!blocker.join_for(0ms).has_value());  // 0: never waits
        CHECK(!blocker.join_for(-5s).has_value());  // negative: does not wait either
        auto queued = rt.spawn([] {});
        CHECK(!queued.join_for(5ms));  // void: an empty optional<monostate> on timeout, too
        queued.abort();
        CHECK(queued.is_finished());  // not started: cancelled before abort() returned
    }

    // Abort before start: cancelled before abort() returns (callable destroyed), never runs.
    {
        std::atomic<bool> ran{false};
        Counted c(3);
        auto h = rt.spawn([&ran, c] {
            ran = true;
            return c.v;
        });
        CHECK(Counted::live == 2);  // c and the task's copy
        CHECK(!h.is_finished());
        h.abort();
        CHECK(Counted::live == 1);
        CHECK(h.is_finished());
        CHECK_THROWS(h.join(), tasks::Cancelled, e, e.status() == TASKS_CANCELLED);
        CHECK_THROWS(h.join_for(1s), tasks::Error, e, e.status() == TASKS_CANCELLED);  // Cancelled is an Error
        h.abort();  // again: nothing happens
        CHECK(!ran);
    }

    // AbortHandle: clones, same id, outlives the JoinHandle, empty handle.
    {
        auto h = rt.spawn([] { return 5; });
        tasks::AbortHandle a = h.abort_handle();
        CHECK(a && a.id() == h.id());
        tasks::AbortHandle a2 = a;  // a clone
        CHECK(a2.id() == h.id());
        std::uint64_t id = h.id();
        h.detach();  // the abort handles stay valid
        CHECK(!h.valid());
        CHECK(!a2.is_finished());
        a2.abort();
        CHECK(a.is_finished() && a2.is_finished() && a.id() == id);
        tasks::AbortHandle empty;
        CHECK(!empty && empty.id() == 0 && !empty.is_finished());
        empty.abort();
    }

    gate.open = true;
    CHECK(blocker.join() == 1);

    // Abort of a running task: not interrupted; it sees current_is_cancelled() and whatever
    // it returns stands (here a value, not Cancelled).
    {
        std::atomic<bool> running{false};
        auto h = rt.spawn([&running] {
            running = true;
            auto end = std::chrono::steady_clock::now() + 20s;
            while (!tasks::current_is_cancelled() && std::chrono::steady_clock::now() < end)
                std::this_thread::sleep_for(1ms);
            return tasks::current_is_cancelled() ? -1 : 0;
        });
        CHECK(wait_until([&] { return running.load(); }));
        CHECK(!tasks::current_is_cancelled());  // outside a task
        h.abort();
        CHECK(h.join() == -1);
    }
    // A running task that throws after the abort: its exception stands too.
    {
        std::atomic<bool> running{false};
        auto h = rt.spawn([&running] {
            running = true;
            while (!tasks::current_is_cancelled()) std::this_thread::sleep_for(1ms);
            throw std::runtime_error("stopped");
        });
        CHECK(wait_until([&] { return running.load(); }));
        h.abort();
        CHECK_THROWS(h.join(), std::runtime_error, e, std::string(e.what()) == "stopped");
    }

    // Abort of a finished task: no effect, the value is still there.
    {
        auto h = rt.spawn([] { return 7; });
        CHECK(wait_until([&] { return h.is_finished(); }));
        h.abort();
        h.abort_handle().abort();
        CHECK(h.join() == 7);
    }

    // Runtime shut down with queued tasks: they are cancelled (callables destroyed); the
    // running one is asked to stop; handles outlive the runtime.
    std::vector<tasks::JoinHandle<int>> queued;
    tasks::JoinHandle<int> running_h;
    {
        tasks::Runtime small{tasks::Builder{}.worker_threads(1)};
        std::atomic<bool> running{false};
        running_h = small.spawn([&running] {
            running = true;
            while (!tasks::current_is_cancelled()) std::this_thread::sleep_for(1ms);
            return 11;
        });
        CHECK(wait_until([&] { return running.load(); }));
        for (int i = 0; i < 5; i++) queued.push_back(small.spawn([c = Counted(i)] { return c.v; }));
        CHECK(Counted::live == 5);
        // shutdown(d) reports whether everything ended in time; ~Runtime waits for the rest.
        CHECK(small.shutdown(10s));
        CHECK(Counted::live == 0);
        CHECK_THROWS((void)small.spawn([] { return 0; }), tasks::Error, e, e.status() == TASKS_ERR_SHUTDOWN);
    }
    CHECK(Counted::live == 0);
    CHECK(running_h.join() == 11);
    for (auto &q : queued) CHECK_THROWS(q.join(), tasks::Cancelled, e, true);

    // shutdown with a task that ignores cancellation for a while: false, then true.
    {
        tasks::Runtime small{tasks::Builder{}.worker_threads(1)};
        std::atomic<bool> running{false};
        auto stubborn = small.spawn([&running] {
            running = true;
            std::this_thread::sleep_for(300ms);
        });
        CHECK(wait_until([&] { return running.load(); }));
        CHECK(!small.shutdown(10ms));
        CHECK(small.shutdown(20s));
        stubborn.join();  // it finished: its result stands
    }
    std::puts("test_cancel OK");
    return 0;
}
