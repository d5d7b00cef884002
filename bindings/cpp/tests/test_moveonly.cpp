// Move-only captures, arguments and results; JoinHandle moves; destruction order (a handle
// destroyed before / after its task ends, a handle outliving its runtime).
#include <tasks.hpp>

#include "check.hpp"

#include <memory>
#include <stdexcept>

using namespace std::chrono_literals;

namespace {
// Neither default-constructible nor copyable.
struct OnlyMove {
    explicit OnlyMove(int x) : v(x) {}
    OnlyMove(OnlyMove &&) = default;
    OnlyMove(const OnlyMove &) = delete;
    int v;
};
// An exception type that holds a counted resource: the stored exception must be destroyed.
struct CountedError {
    Counted c;
};
}  // namespace

int main() {
    {
        tasks::Runtime rt{tasks::Builder{}.worker_threads(2)};

        // Move-only capture and result.
        {
            auto p = std::make_unique<int>(5);
            auto h = rt.spawn([p = std::move(p)] { return std::make_unique<int>(*p * 2); });
            std::unique_ptr<int> r = h.join();
            CHECK(r && *r == 10);
        }
        // The capture is destroyed when the task ends, the result lives on with the caller.
        {
            auto h = rt.spawn([c = std::make_unique<Counted>(3)]() mutable {
                auto out = std::make_unique<Counted>(c->v + 1);
                return out;
            });
            std::unique_ptr<Counted> r = h.join();
            CHECK(r->v == 4);
            CHECK(Counted::live == 1);  // join returns after the callable was destroyed
        }
        CHECK(Counted::live == 0);
        // Move-only argument, non-default-constructible non-copyable result.
        {
            auto h = rt.spawn([](std::unique_ptr<int> q, OnlyMove m) { return OnlyMove(*q + m.v); },
                              std::make_unique<int>(1), OnlyMove(2));
            CHECK(h.join().v == 3);
            auto o = rt.spawn([] { return std::optional<OnlyMove>(OnlyMove(8)); }).join_for(20s);
            CHECK(o && *o && (*o)->v == 8);
        }
        // Moving handles.
        {
            tasks::JoinHandle<int> a = rt.spawn([] { return 1; });
            std::uint64_t id = a.id();
            tasks::JoinHandle<int> b = std::move(a);
            CHECK(!a.valid() && b.id() == id);
            CHECK_THROWS(a.join(), tasks::Error, e, e.status() == TASKS_ERR_INVALID);
            CHECK_THROWS((void)a.id(), tasks::Error, e, e.status() == TASKS_ERR_INVALID);
            a = rt.spawn([] { return 2; });
            CHECK(a.join() + b.join() == 3);
            // Move-assigning over a live handle aborts its task and waits until it has ended
            // (as its destructor would): the running task sees the abort and stops.
            std::atomic<bool> running{false}, saw_abort{false};
            tasks::JoinHandle<void> c = rt.spawn([&] {
                running = true;
                while (!tasks::current_is_cancelled()) std::this_thread::sleep_for(1ms);
                saw_abort = true;
            });
            tasks::AbortHandle watch = c.abort_handle();
            CHECK(wait_until([&] { return running.load(); }));
            c = rt.spawn([] {});
            CHECK(watch.is_finished() && saw_abort);
            c.join();
        }

        // Handle detached before the task ends: the task keeps running, then its callable and
        // its result are destroyed by the library.
        {
            Gate gate;
            std::atomic<bool> ran{false};
            tasks::AbortHandle watch;
            {
                auto h = rt.spawn([&gate, &ran, c = std::make_unique<Counted>(1)] {
                    gate.wait();
                    ran = true;
                    return std::make_unique<Counted>(2);
                });
                watch = h.abort_handle();
                CHECK(Counted::live == 1);
                h.detach();
            }
            CHECK(!watch.is_finished());
            gate.open = true;
            CHECK(wait_until([&] { return watch.is_finished(); }));
            CHECK(ran);
            CHECK(wait_until([] { return Counted::live == 0; }));
        }
        // Handle destroyed after the task ends: the callable is already gone; the result is
        // destroyed right in the handle's destructor.
        {
            {
                auto h = rt.spawn([c = std::make_unique<Counted>(4)] { return std::make_unique<Counted>(5); });
                CHECK(wait_until([&] { return h.is_finished(); }));
                CHECK(Counted::live == 1);  // the result only
            }
            CHECK(Counted::live == 0);
        }
        // Same with an exception nobody joined: the stored exception object is destroyed.
        {
            {
                auto h = rt.spawn([]() -> int { throw CountedError{Counted(9)}; });
                CHECK(wait_until([&] { return h.is_finished(); }));
                CHECK(Counted::live >= 1);
            }
            CHECK(Counted::live == 0);
        }
        // Joined exception: rethrown, then destroyed with the last exception_ptr.
        {
            auto h = rt.spawn([]() -> int { throw CountedError{Counted(10)}; });
            CHECK_THROWS(h.join(), CountedError, e, e.c.v == 10);
            CHECK(Counted::live == 0);
        }
    }
    CHECK(Counted::live == 0);

    // A handle outliving its runtime: the queued task is cancelled by the runtime's
    // destruction (callable destroyed), and the handle reports it afterwards.
    {
        tasks::JoinHandle<std::unique_ptr<Counted>> orphan;
        tasks::JoinHandle<int> finished;
        {
            tasks::Runtime small{tasks::Builder{}.worker_threads(1)};
            finished = small.spawn([] { return 6; });
            CHECK(wait_until([&] { return finished.is_finished(); }));
            std::atomic<bool> running{false};
            auto busy = small.spawn([&running] {
                running = true;
                while (!tasks::current_is_cancelled()) std::this_thread::sleep_for(1ms);
            });
            CHECK(wait_until([&] { return running.load(); }));
            orphan = small.spawn([c = Counted(7)] { return std::make_unique<Counted>(c.v); });
            CHECK(Counted::live == 1);
            // Detached, so that its handle's destructor does not end it first (which would
            // free the worker for `orphan`): the runtime's destruction must do the work.
            busy.detach();
        }
        CHECK(Counted::live == 0);
        CHECK(orphan.is_finished());
        CHECK_THROWS(orphan.join(), tasks::Cancelled, e, true);
        CHECK(finished.join() == 6);  // a result taken after the runtime is gone
    }
    std::puts("test_moveonly OK");
    return 0;
}
