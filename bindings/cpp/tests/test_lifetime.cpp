// C1: tasks never outlive the scope that owns their handle. ~JoinHandle and ~JoinSet abort
// and wait; detach()/detach_all() opt out; a task destroying its own handle or set does not
// deadlock. Under AddressSanitizer the old behaviour (detach on destruction) shows as
// stack-use-after-scope; without it, the flags below catch it.
#include <tasks.hpp>

#include "check.hpp"

#include <memory>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

namespace {
// A task that keeps touching `slot` (a local of the spawning scope) until it is aborted, then
// for a little longer, then records that it ended.
struct Borrower {
    int *slot;
    std::atomic<bool> *started;
    std::atomic<int> *ended;
    void operator()() const {
        *started = true;
        while (!tasks::current_is_cancelled()) {
            ++*slot;
            std::this_thread::sleep_for(1ms);
        }
        std::this_thread::sleep_for(20ms);  // the destructor must wait for this, too
        ++*slot;
        ++*ended;
    }
};
}  // namespace

int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(2)};

    // An exception between spawn and join: the handle's destructor aborts the running task
    // and waits until it has ended, so it never touches `local` after the scope.
    {
        std::atomic<bool> started{false};
        std::atomic<int> ended{0};
        try {
            int local = 0;
            auto h = rt.spawn(Borrower{&local, &started, &ended});
            CHECK(wait_until([&] { return started.load(); }));
            throw std::runtime_error("between spawn and join");
        } catch (const std::runtime_error &) {
        }
        CHECK(ended == 1);
    }
    // A task that has not started is cancelled by the destructor: it never runs.
    {
        tasks::Runtime one{tasks::Builder{}.worker_threads(1)};
        Gate gate;
        std::atomic<bool> hold_running{false}, ran{false};
        auto hold = one.spawn([&] {
            hold_running = true;
            gate.wait();
        });
        CHECK(wait_until([&] { return hold_running.load(); }));
        { auto queued = one.spawn([&ran] { ran = true; }); }
        gate.open = true;
        hold.join();
        CHECK(!ran);
    }
    // detach() opts out: the task runs on after the handle is gone.
    {
        auto flag = std::make_shared<std::atomic<bool>>(false);
        Gate *gate = new Gate;
        {
            auto h = rt.spawn([flag, gate] {
                gate->wait();
                *flag = true;
            });
            h.detach();
            CHECK(!h.valid());
        }
        gate->open = true;
        CHECK(wait_until([&] { return flag->load(); }));
        std::this_thread::sleep_for(5ms);  // the task's last read of gate is before the flag
        delete gate;
    }
    // A JoinSet leaving scope aborts every task and waits for all of them.
    {
        std::atomic<bool> started{false};
        std::atomic<int> ended{0};
        std::atomic<int> startedn{0};
        {
            int locals[4] = {0, 0, 0, 0};
            tasks::JoinSet<void> set(rt);
            for (int &l : locals) set.spawn(Borrower{&l, &started, &ended});
            set.spawn([&startedn] { startedn++; });
            CHECK(wait_until([&] { return started.load(); }));
        }
        // Two workers: at least one borrower ran and was waited for; the others either ran
        // (and were waited for) or were cancelled before starting.
        CHECK(ended >= 1);
        int before = ended;
        std::this_thread::sleep_for(30ms);
        CHECK(ended == before);  // nothing still running after the scope
    }
    // detach_all() opts out: the tasks run on (after the set is gone), the set is empty and
    // usable.
    {
        auto count = std::make_shared<std::atomic<int>>(0);
        auto t0 = std::chrono::steady_clock::now();
        {
            tasks::JoinSet<int> set(rt);
            for (int i = 0; i < 3; i++) {
                set.spawn([count, i] {
                    std::this_thread::sleep_for(50ms);
                    (*count)++;
                    return i;
                });
            }
            set.detach_all();
            CHECK(set.empty());
            set.spawn([] { return 7; });
            CHECK(set.join_next()->value() == 7);
        }
        bool left_running = ms_since(t0) < 50.0 || count->load() < 3;
        CHECK(wait_until([&] { return count->load() == 3; }));
        (void)left_running;  // timing-dependent: informative only
    }
    // On a worker with one thread: a task destroying the handle of a queued sibling cancels it
    // (a join there helps rather than blocking the only worker).
    {
        tasks::Runtime one{tasks::Builder{}.worker_threads(1)};
        std::atomic<bool> ran{false};
        auto outer = one.spawn([&] {
            { auto sibling = one.spawn([&ran] { ran = true; }); }
            return 1;
        });
        CHECK(outer.join_for(20s) == std::optional<int>(1));
        CHECK(!ran);
    }
    // A task destroying its own handle: it cannot wait for itself, so the handle detaches
    // (no deadlock, and no abort of the task by its own handle).
    {
        auto slot = std::make_shared<tasks::JoinHandle<int>>();
        Gate gate;
        std::atomic<bool> cancelled_self{true};
        *slot = rt.spawn([slot, &gate, &cancelled_self]() {
            gate.wait();
            *slot = tasks::JoinHandle<int>();  // destroys this very task's handle
            cancelled_self = tasks::current_is_cancelled();
            return 5;
        });
        std::uint64_t id = slot->id();
        tasks::AbortHandle watch = slot->abort_handle();
        (void)id;
        gate.open = true;
        CHECK(wait_until([&] { return watch.is_finished(); }));
        CHECK(!cancelled_self);
    }
    // A JoinSet destroyed inside one of its own tasks waits for the others, not for itself.
    // (Four workers: the two others spin until aborted, the third must get a worker too.)
    {
        tasks::Runtime four{tasks::Builder{}.worker_threads(4)};
        auto holder = std::make_shared<std::unique_ptr<tasks::JoinSet<int>>>(std::make_unique<tasks::JoinSet<int>>(four));
        std::atomic<int> others_ended{0}, others_started{0};
        std::atomic<bool> reset_done{false};
        Gate gate;
        tasks::JoinSet<int> &set = **holder;
        for (int i = 0; i < 2; i++) {
            set.spawn([&others_ended, &others_started] {
                others_started++;
                while (!tasks::current_is_cancelled()) std::this_thread::sleep_for(1ms);
                others_ended++;
                return 0;
            });
        }
        set.spawn([holder, &gate, &others_ended, &reset_done] {
            gate.wait();
            holder->reset();  // ~JoinSet inside the set's own task
            reset_done = others_ended == 2;
            return 1;
        });
        CHECK(wait_until([&] { return others_started.load() == 2; }));  // so the abort finds them running
        gate.open = true;
        CHECK(wait_until([&] { return reset_done.load(); }));
    }
    std::puts("test_lifetime OK");
    return 0;
}
