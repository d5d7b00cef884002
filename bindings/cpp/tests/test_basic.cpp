// Value and void tasks, arguments, default runtime, spawn_blocking/spawn_after, builder and
// hooks, exception transport (custom types), library errors, block_in_place, fork-join.
#include <tasks.hpp>

#include "check.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {
struct MyError {  // not derived from std::exception
    int code;
};
struct MyStdError : std::runtime_error {
    explicit MyStdError(const std::string &s, int c) : std::runtime_error(s), code(c) {}
    int code;
};
}  // namespace

int main() {
    std::atomic<int> starts{0}, stops{0};
    {
        // The builder (a temporary) dies first: the runtime must keep the hooks alive.
        tasks::Runtime rt{tasks::Builder{}
                              .worker_threads(2)
                              .max_blocking_threads(4)
                              .thread_name("cpp-basic")
                              .on_thread_start([&starts] { starts++; })
                              .on_thread_stop([&stops] { stops++; })};
        CHECK(rt.metrics().workers == 2);

        // Value task.
        tasks::JoinHandle<int> h = rt.spawn([] { return 42; });
        tasks::JoinHandle<int> h2 = rt.spawn([] { return 43; });
        CHECK(h.id() != 0 && h2.id() != 0 && h.id() != h2.id());
        CHECK(h.join() == 42);
        CHECK(h2.join() == 43);
        // The value is handed out once.
        CHECK_THROWS(h.join(), tasks::Error, e, e.status() == TASKS_ERR_INVALID);

        // Void task: JoinHandle<void>, effects visible after join, finished after join.
        std::atomic<int> n{0};
        auto v = rt.spawn([&n] { n = 7; });
        static_assert(std::is_same_v<decltype(v), tasks::JoinHandle<void>>);
        v.join();
        CHECK(n == 7);
        CHECK(v.is_finished());

        // Arguments are decay-copied, like std::thread.
        std::string suffix = "x";
        auto a = rt.spawn([](int i, const std::string &s) { return s + std::to_string(i); }, 7, suffix);
        suffix = "changed";
        CHECK(a.join() == "x7");

        // A callable that can only be called as an rvalue (one-shot).
        struct OneShot {
            int operator()() && { return 5; }
        };
        CHECK(rt.spawn(OneShot{}).join() == 5);

        // Runs on a worker, not on this thread; named tasks see their name.
        auto main_id = std::this_thread::get_id();
        CHECK(rt.spawn([main_id] { return std::this_thread::get_id() != main_id; }).join());
        CHECK(rt.spawn_named("the-name", [] { return tasks::current_name(); }).join() == "the-name");
        CHECK(rt.spawn([] { return tasks::current_name(); }).join().empty());
        CHECK(rt.spawn([] { return tasks::current_id(); }).join() != 0);
        CHECK(tasks::current_id() == 0);

        // tasks::spawn inside a task uses the task's runtime; outside, the default runtime.
        tasks_runtime *inner = rt.spawn([] { return tasks::spawn([] { return tasks_current_runtime(); }).join(); }).join();
        CHECK(inner == rt.native_handle());
        CHECK(tasks::spawn([] { return tasks_current_runtime(); }).join() == tasks::Runtime::default_runtime().native_handle());
        CHECK(tasks::spawn([] { return 1.5; }).join() == 1.5);
        CHECK(tasks::spawn_blocking([] { return 3; }).join() == 3);

        // spawn_blocking: the blocking pool (thread name "<prefix>-blocking").
        auto b = rt.spawn_blocking([main_id] {
            std::this_thread::sleep_for(5ms);
            return std::this_thread::get_id() != main_id;
        });
        CHECK(b.join());
        CHECK(rt.metrics().blocking_threads >= 1);

        // spawn_after: not earlier than the delay.
        auto t0 = std::chrono::steady_clock::now();
        auto later = rt.spawn_after(40ms, [t0] { return ms_since(t0); });
        CHECK(later.join() >= 40.0);

        // Exceptions keep their type: a non-std type, a std-derived type, from void tasks.
        auto e1 = rt.spawn([]() -> int { throw MyError{17}; });
        CHECK_THROWS(e1.join(), MyError, e, e.code == 17);
        auto e2 = rt.spawn([] { throw MyStdError("boom", 3); });
        CHECK_THROWS(e2.join(), MyStdError, e, std::string(e.what()) == "boom" && e.code == 3);
        auto e3 = rt.spawn([]() -> std::string { throw std::out_of_range("range"); });
        CHECK_THROWS(e3.join(), std::logic_error, e, std::string(e.what()) == "range");
        // The task failed (not cancelled): the metrics count it as failed.
        CHECK(rt.metrics().failed >= 3);

        // Fork-join inside tasks, also with a single worker (join runs other tasks).
        auto sum = rt.spawn([&rt] {
            std::vector<tasks::JoinHandle<int>> hs;
            for (int i = 0; i < 100; i++) hs.push_back(rt.spawn([i] { return i; }));
            int s = 0;
            for (auto &x : hs) s += x.join();
            return s;
        });
        CHECK(sum.join() == 4950);
        tasks::Runtime one{tasks::Builder{}.worker_threads(1)};
        auto nested = one.spawn([&one] {
            auto inner_h = one.spawn([] { return 2; });
            return inner_h.join() + 1;
        });
        CHECK(nested.join_for(20s) == std::optional<int>(3));

        // block_in_place: value, exception, on a worker and on this thread.
        CHECK(tasks::block_in_place([] { return 9; }) == 9);
        CHECK(rt.spawn([] { return tasks::block_in_place([] { return 10; }); }).join() == 10);
        CHECK_THROWS(tasks::block_in_place([]() -> int { throw MyError{4}; }), MyError, e, e.code == 4);
    }
    // Every thread ran the start hook and, by the time ~Runtime returned, the stop hook.
    CHECK(starts >= 3);  // 2 workers + at least 1 blocking thread
    CHECK(stops == starts);

    // C7: a setter on a temporary Builder returns a Builder by value, so binding the result to
    // a const reference extends a live object's lifetime (a Builder&& would dangle here).
    static_assert(std::is_same_v<decltype(tasks::Builder{}.worker_threads(2)), tasks::Builder>);
    static_assert(std::is_same_v<decltype(std::declval<tasks::Builder &>().worker_threads(2)), tasks::Builder &>);
    {
        const tasks::Builder &b = tasks::Builder{}.worker_threads(3).thread_name("kept");
        tasks::Runtime r{b};
        CHECK(r.metrics().workers == 3);
    }

    // Library errors are tasks::Error with the status (and std::runtime_error).
    CHECK_THROWS(tasks::Builder{}.worker_threads(0), tasks::Error, e, e.status() == TASKS_ERR_INVALID);
    CHECK_THROWS(tasks::Builder{}.thread_stack_size(1024), std::runtime_error, e, std::string(e.what()).size() > 0);
    CHECK_THROWS(tasks::JoinHandle<int>{}.join(), tasks::Error, e, e.status() == TASKS_ERR_INVALID);
    CHECK_THROWS((void)tasks::Runtime::default_runtime().shutdown(1ms), tasks::Error, e, e.status() == TASKS_ERR_INVALID);

    // Spawning on a shut-down runtime throws and destroys the callable (nothing leaks).
    {
        tasks::Runtime rt;
        CHECK(rt.shutdown(5s));
        Counted c(1);
        CHECK(Counted::live == 1);
        CHECK_THROWS((void)rt.spawn([c] { return c.v; }), tasks::Error, e, e.status() == TASKS_ERR_SHUTDOWN);
        CHECK_THROWS((void)rt.spawn_blocking([c] { return c.v; }), tasks::Error, e, e.status() == TASKS_ERR_SHUTDOWN);
        CHECK(Counted::live == 1);
    }
    CHECK(Counted::live == 0);
    std::puts("test_basic OK");
    return 0;
}
