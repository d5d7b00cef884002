// C10: the local executor (Executor), custom wakers (Waker::from, this_waker/suspend), and
// task-local storage (TaskLocal).
#include <tasks.hpp>

#include "check.hpp"

#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {
tasks::TaskLocal<std::string> tl_name;
std::atomic<int> tl_live{0};
struct TlValue {
    int v;
    explicit TlValue(int x) : v(x) { tl_live++; }
    TlValue(const TlValue &) = delete;
    ~TlValue() { tl_live--; }
};
tasks::TaskLocal<TlValue> tl_value;

// A one-slot event source of our own: a coroutine waits until it is set, with its Waker.
struct Signal {
    std::mutex mu;
    bool set = false;
    tasks::Waker waiter;
    void fire() {
        tasks::Waker w;
        {
            std::lock_guard<std::mutex> g(mu);
            set = true;
            w = std::move(waiter);
        }
        w.wake();
    }
};
tasks::Task<int> wait_signal(Signal *s) {
    for (;;) {
        tasks::Waker w = co_await tasks::this_waker();
        {
            std::lock_guard<std::mutex> g(s->mu);
            if (s->set) co_return 1;
            s->waiter = std::move(w);
        }
        co_await tasks::suspend();
    }
}
}  // namespace

int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(2)};

    // Executor: tasks run on this thread only, in run(); notify tells when to run.
    {
        tasks::Executor ex;
        std::atomic<int> notified{0};
        ex.set_notify([&notified] { notified++; });
        auto me = std::this_thread::get_id();
        auto h = ex.spawn([me] { return std::this_thread::get_id() == me; });
        CHECK(ex.size() == 1);
        CHECK(!h.is_finished());
        // run() on another thread: WRONG_THREAD (the tasks stay put).
        std::thread([&ex] {
            CHECK_THROWS((void)ex.run(), tasks::Error, e, e.status() == TASKS_ERR_WRONG_THREAD);
        }).join();
        CHECK(ex.run() >= 1);
        CHECK(h.join());
        CHECK(ex.empty());
        // A coroutine on the executor waiting for a runtime task: woken through notify.
        notified = 0;
        auto c = ex.spawn([&rt]() -> tasks::Task<int> {
            int v = co_await rt.spawn([] {
                std::this_thread::sleep_for(20ms);
                return 40;
            });
            co_await tasks::sleep_for(5ms);  // a timer of the default runtime
            co_return v + 2;
        });
        auto end = std::chrono::steady_clock::now() + 20s;
        while (!c.is_finished() && std::chrono::steady_clock::now() < end) {
            if (ex.run() == 0) std::this_thread::sleep_for(1ms);
        }
        CHECK(c.join() == 42);
        CHECK(notified >= 1);
        // Spawning from another thread works; the task still runs here.
        tasks::JoinHandle<bool> remote;
        std::thread([&] { remote = ex.spawn([me] { return std::this_thread::get_id() == me; }); }).join();
        while (!remote.is_finished()) (void)ex.run();
        CHECK(remote.join());
        // ~JoinHandle on the owner thread of a task that has not run: cancelled at once
        // (running the executor), no hang.
        std::atomic<bool> ran{false};
        { auto never = ex.spawn([&ran] { ran = true; }); }
        CHECK(!ran && ex.empty());
        // The same for a coroutine suspended on a runtime task (idle, not queued): the
        // handle's destructor cancels it on this thread; its frame is destroyed.
        {
            std::atomic<bool> frame_alive{false};
            struct Alive {
                std::atomic<bool> *f;
                ~Alive() { *f = false; }
            };
            auto slow = rt.spawn([] {
                std::this_thread::sleep_for(50ms);
                return 1;
            });
            {
                auto waiting = ex.spawn([&frame_alive, &slow]() -> tasks::Task<int> {
                    frame_alive = true;
                    Alive a{&frame_alive};
                    co_return co_await slow;
                });
                while (!frame_alive) (void)ex.run();
            }
            CHECK(!frame_alive && ex.empty());
        }
        // ~Executor cancels what is left: its callables are destroyed, handles see Cancelled.
        auto left = ex.spawn([c2 = Counted(1)] { return c2.v; });
        CHECK(Counted::live == 1);
        tasks::Executor gone = std::move(ex);
        { tasks::Executor sink = std::move(gone); }
        CHECK(Counted::live == 0);
        CHECK_THROWS(left.join(), tasks::Cancelled, e, true);
    }

    // Waker::from: wake calls the function; clones share it; it is destroyed with the last.
    {
        std::atomic<int> wakes{0};
        auto alive = std::make_shared<int>(0);
        {
            tasks::Waker w = tasks::Waker::from([&wakes, alive] { wakes++; });
            CHECK(alive.use_count() == 2);
            tasks::Waker w2 = w;
            CHECK(w.will_wake(w2));
            w.wake_by_ref();
            w2.wake();
            CHECK(!w2);
            CHECK(wakes == 2);
            tasks::Waker other = tasks::Waker::from([] {});
            CHECK(!other.will_wake(w));
        }
        CHECK(alive.use_count() == 1);
        tasks::Waker empty;
        empty.wake_by_ref();
        empty.wake();
    }
    // this_waker + suspend: a coroutine waits on an event source of our own.
    {
        Signal s;
        auto h = rt.spawn(wait_signal(&s));
        std::this_thread::sleep_for(20ms);
        CHECK(!h.is_finished());
        s.fire();
        CHECK(h.join_for(20s) == std::optional<int>(1));
    }

    // TaskLocal: per task, destroyed when the task ends (also when cancelled).
    {
        CHECK(tl_name.get() == nullptr);
        CHECK_THROWS(tl_name.emplace("x"), tasks::Error, e, e.status() == TASKS_ERR_NO_TASK);
        auto a = rt.spawn([] {
            tl_name.emplace("a");
            std::this_thread::sleep_for(10ms);
            return *tl_name.get();
        });
        auto b = rt.spawn([] {
            tl_name.get_or_emplace("b");
            std::this_thread::sleep_for(10ms);
            return tl_name.get_or_emplace("ignored");
        });
        CHECK(a.join() == "a" && b.join() == "b");
        CHECK(rt.spawn([] { return tl_name.get() == nullptr; }).join());  // a new task: none
        CHECK(rt.spawn([] {
            tl_value.emplace(1);
            tl_value.emplace(2);  // replaces (destroys) the first
            bool one = tl_live == 1;
            tl_value.reset();
            return one && tl_live == 0 && tl_value.get() == nullptr;
        }).join());
        CHECK(rt.spawn([] {
            tl_value.emplace(3);
            return 0;
        }).join() == 0);
        CHECK(tl_live == 0);  // destroyed when the task ended, before join returned
        // In a coroutine across suspensions (one task).
        CHECK(rt.spawn([]() -> tasks::Task<int> {
            tl_value.emplace(4);
            co_await tasks::sleep_for(2ms);
            co_return tl_value.get()->v;
        }).join() == 4);
        CHECK(tl_live == 0);
    }
    std::puts("test_executor OK");
    return 0;
}
