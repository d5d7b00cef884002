// JoinSet: completion order, outcomes (value, exception, cancelled), timeouts, abort_all,
// destruction with tasks and results left.
#include <tasks.hpp>

#include "check.hpp"

#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(4)};
    // Completion order, not spawn order: release the tasks in the order 2, 0, 1, each only
    // after the previous one finished.
    {
        tasks::JoinSet<int> set(rt);
        Gate gates[3];
        std::atomic<bool> done[3] = {false, false, false};
        std::vector<std::uint64_t> ids;
        for (int i = 0; i < 3; i++) {
            ids.push_back(set.spawn([&gates, &done, i] {
                gates[i].wait();
                done[i] = true;
                return i;
            }));
        }
        CHECK(std::set<std::uint64_t>(ids.begin(), ids.end()).size() == 3);
        CHECK(set.size() == 3 && !set.empty());
        for (int i : {2, 0, 1}) {
            gates[i].open = true;
            CHECK(wait_until([&] { return done[i].load(); }));
            std::this_thread::sleep_for(50ms);  // from `done` to the end of the task
        }
        std::vector<int> order;
        while (std::optional<tasks::Outcome<int>> o = set.join_next()) {
            CHECK(o->status() == TASKS_OK && !o->cancelled() && !o->failed());
            int v = o->value();
            CHECK(o->id() == ids[v]);
            CHECK_THROWS(o->value(), tasks::Error, e, e.status() == TASKS_ERR_INVALID);  // once only
            order.push_back(v);
        }
        CHECK((order == std::vector<int>{2, 0, 1}));
        CHECK(set.empty() && set.size() == 0);
        CHECK(!set.join_next());
    }
    // Exceptions and void tasks; join_next_for timeouts.
    {
        tasks::JoinSet<void> set(rt);
        Gate gate;
        set.spawn([&gate] { gate.wait(); });
        auto t0 = std::chrono::steady_clock::now();
        auto none = set.join_next_for(30ms);
        CHECK(!none && none.timed_out() && !none.empty());  // timed out, not empty
        CHECK(ms_since(t0) >= 29.0);
        CHECK(!set.empty());
        CHECK_THROWS(none->value(), tasks::Error, e, e.status() == TASKS_ERR_INVALID);
        gate.open = true;
        auto o = set.join_next_for(20s);
        CHECK(o && !o->failed());
        o->value();
        set.spawn([] { throw std::invalid_argument("bad"); });
        auto f = set.join_next();
        CHECK(f && f->failed() && f->status() == TASKS_FAILED);
        CHECK_THROWS(f->value(), std::invalid_argument, e, std::string(e.what()) == "bad");
        auto last = set.join_next_for(10ms);
        CHECK(!last && last.empty() && !last.timed_out() && set.empty());
    }
    // abort_all on one worker: the running task sees the abort and returns; the queued ones
    // are cancelled; all come back from join_next.
    {
        tasks::Runtime one{tasks::Builder{}.worker_threads(1)};
        tasks::JoinSet<int> set(one);
        std::atomic<bool> running{false};
        std::uint64_t first = set.spawn([&running] {
            running = true;
            while (!tasks::current_is_cancelled()) std::this_thread::sleep_for(1ms);
            return 100;
        });
        CHECK(wait_until([&] { return running.load(); }));
        for (int i = 0; i < 7; i++) set.spawn([i, c = Counted(i)] { return i; });
        CHECK(Counted::live == 7);
        set.abort_all();
        CHECK(Counted::live == 0);  // queued tasks: cancelled before abort_all returned
        CHECK(set.size() == 8);
        int ok = 0, cancelled = 0;
        while (auto o = set.join_next()) {
            if (o->cancelled()) {
                cancelled++;
                CHECK(o->id() != first);
                CHECK_THROWS(o->value(), tasks::Cancelled, e, true);
            } else {
                ok++;
                CHECK(o->id() == first && o->value() == 100);
            }
        }
        CHECK(ok == 1 && cancelled == 7);
    }
    // Destroyed with finished (unjoined) results and running tasks left: the running tasks
    // are aborted, every result is destroyed.
    {
        std::atomic<bool> started{false}, stopped{false};
        {
            tasks::JoinSet<std::unique_ptr<Counted>> set(rt);
            for (int i = 0; i < 5; i++) set.spawn([i] { return std::make_unique<Counted>(i); });
            set.spawn([&started, &stopped] {
                started = true;
                while (!tasks::current_is_cancelled()) std::this_thread::sleep_for(1ms);
                stopped = true;
                return std::make_unique<Counted>(99);
            });
            auto first = set.join_next();
            CHECK(first && first->value() != nullptr);
            CHECK(wait_until([] { return Counted::live >= 4; }));
            // Running before the set goes (a task aborted before it started never runs, and so
            // would never report `stopped`: on a loaded machine that happened).
            CHECK(wait_until([&] { return started.load(); }));
            tasks::JoinSet<std::unique_ptr<Counted>> moved(std::move(set));  // move: one owner
            CHECK(moved.size() == 5 && !set.valid());
            // A moved-from set throws when used (it never becomes a new empty set silently).
            CHECK_THROWS((void)set.size(), tasks::Error, e, e.status() == TASKS_ERR_INVALID);
            CHECK_THROWS(set.spawn([] { return std::make_unique<Counted>(0); }), tasks::Error, e,
                         e.status() == TASKS_ERR_INVALID);
            CHECK_THROWS((void)set.join_next(), tasks::Error, e, e.status() == TASKS_ERR_INVALID);
        }
        CHECK(wait_until([&] { return stopped.load(); }));
        CHECK(wait_until([] { return Counted::live == 0; }));
    }
    // The default constructor uses the calling task's runtime.
    {
        auto rt_of_set = rt.spawn([] {
            tasks::JoinSet<tasks_runtime *> set;
            set.spawn([] { return tasks_current_runtime(); });
            return set.join_next()->value();
        });
        CHECK(rt_of_set.join() == rt.native_handle());
    }
    std::puts("test_joinset OK");
    return 0;
}
