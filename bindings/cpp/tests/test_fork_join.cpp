// Issue 11: structured fork-join and data parallelism in C++: rt.scope / tasks::scope,
// tasks::join, tasks::parallel_for (index and chunk forms), tasks::parallel_reduce.
#include <tasks.hpp>

#include "check.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::uint64_t fib(std::uint64_t n) {
    if (n < 2) return n;
    auto [a, b] = tasks::join([n] { return fib(n - 1); }, [n] { return fib(n - 2); });
    return a + b;
}
std::uint64_t fib_serial(std::uint64_t n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

// Every index of [0, n) seen exactly once (index form, chunk form, several grains).
void coverage(tasks::Runtime &rt, std::size_t n) {
    for (std::size_t grain : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(1000)}) {
        std::vector<std::atomic<std::uint8_t>> seen(n);
        if (grain == 0) {
            tasks::parallel_for(rt, 0, n, [&](std::size_t i) { seen[i].fetch_add(1, std::memory_order_relaxed); });
        } else {
            tasks::parallel_for(rt, 0, n, grain, [&](std::size_t i) { seen[i].fetch_add(1, std::memory_order_relaxed); });
        }
        for (std::size_t i = 0; i < n; i++) CHECK(seen[i].load() == 1);

        std::vector<std::atomic<std::uint8_t>> seen2(n);
        std::atomic<std::size_t> calls{0};
        std::atomic<bool> small_chunk{false};
        tasks::parallel_for(rt, std::size_t(0), n, grain, [&](std::size_t b, std::size_t e) {
            CHECK(b < e && e <= n);
            if (e - b < std::min(grain, n)) small_chunk = true;
            calls++;
            for (std::size_t i = b; i < e; i++) seen2[i].fetch_add(1, std::memory_order_relaxed);
        });
        for (std::size_t i = 0; i < n; i++) CHECK(seen2[i].load() == 1);
        CHECK(!small_chunk);
        CHECK((n == 0) == (calls == 0));
    }
}

}  // namespace

int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(4)};
    tasks::Runtime one{tasks::Builder{}.worker_threads(1)};

    // ---- scope: results, the body's value, tasks spawning into their scope ------------------
    {
        std::vector<int> out(64, 0);
        int r = rt.scope([&](tasks::Scope &s) {
            for (int i = 0; i < 64; i++) s.spawn([&out, i] { out[static_cast<std::size_t>(i)] = i * i; });
            return 7;
        });
        CHECK(r == 7);
        for (int i = 0; i < 64; i++) CHECK(out[static_cast<std::size_t>(i)] == i * i);

        // Tasks capture the Scope by reference and spawn more (a tree of 1 + 4 + 16 tasks);
        // arguments are copied into the task.
        // (grow lives outside the call: the tasks call it by reference after the body returned.)
        std::atomic<int> count{0};
        std::function<void(tasks::Scope &, int)> grow = [&](tasks::Scope &s, int depth) {
            count++;
            if (depth < 2) {
                for (int k = 0; k < 4; k++) s.spawn([&grow, &s, depth] { grow(s, depth + 1); });
            }
        };
        rt.scope([&](tasks::Scope &s) { s.spawn(grow, std::ref(s), 0); });
        CHECK(count == 21);

        // The free function (default runtime here), a named task, a void body.
        std::string name;
        tasks::scope([&](tasks::Scope &s) { s.spawn_named("scoped", [&] { name = tasks::current_name(); }); });
        CHECK(name == "scoped");
        CHECK(tasks::scope([](tasks::Scope &) { return std::string("x"); }) == "x");
    }
    // ---- scope: callables destroyed exactly once, also when cancelled -------------------------
    {
        CHECK(Counted::live == 0);
        {
            Counted c(1);
            std::atomic<int> sum{0};
            rt.scope([&](tasks::Scope &s) {
                for (int i = 0; i < 100; i++) s.spawn([c, &sum] { sum += c.v; });
            });
            CHECK(sum == 100);
            CHECK(Counted::live == 1);
        }
        CHECK(Counted::live == 0);
        // One worker, held by the first task until the scope is cancelled: the queued tasks
        // never run, their callables are destroyed, and the scope throws Cancelled.
        std::atomic<int> ran{0};
        std::atomic<bool> saw_cancel{false};
        CHECK_THROWS(one.scope([&](tasks::Scope &s) {
            Gate started;
            s.spawn([&] {
                started.open = true;
                CHECK(wait_until([] { return tasks::current_is_cancelled(); }));
                saw_cancel = true;
            });
            for (int i = 0; i < 10; i++) s.spawn([&ran, c = Counted(i)] {
                    (void)c;
                    ran++;
                });
            started.wait();
            s.cancel();
            s.spawn([&ran, c = Counted(99)] {
                (void)c;
                ran++;
            });  // into a cancelled scope: never runs
        }),
                     tasks::Cancelled, e, e.status() == TASKS_CANCELLED);
        CHECK(ran == 0 && saw_cancel);
        CHECK(Counted::live == 0);
    }
    // ---- scope: the first exception is rethrown, the rest cancelled ---------------------------
    {
        std::atomic<int> ran{0};
        std::atomic<bool> saw_cancel{false};
        CHECK_THROWS(one.scope([&](tasks::Scope &s) {
            s.spawn([] { throw std::runtime_error("first"); });
            s.spawn([&] {
                // Runs only if it started before the failure was seen: it is asked to stop.
                CHECK(wait_until([] { return tasks::current_is_cancelled(); }));
                saw_cancel = true;
            });
            for (int i = 0; i < 10; i++) {
                s.spawn([&ran, c = Counted(i)] {
                    (void)c;
                    ran++;
                });
            }
        }),
                     std::runtime_error, e, std::string(e.what()) == "first");
        CHECK(ran == 0);
        CHECK(Counted::live == 0);
        (void)saw_cancel.load();
        // The body's own exception cancels the tasks too, and wins when it comes first.
        Gate gate;
        CHECK_THROWS(one.scope([&](tasks::Scope &s) {
            s.spawn([&] { gate.wait(); });
            s.spawn([&ran] { ran++; });
            gate.open = true;
            throw std::logic_error("body");
        }),
                     std::logic_error, e, std::string(e.what()) == "body");
        // Exception types survive (a tasks::Error thrown by a task is that Error).
        CHECK_THROWS(rt.scope([&](tasks::Scope &s) { s.spawn([] { throw tasks::Error(TASKS_ERR_NO_TASK); }); }),
                     tasks::Error, e, e.status() == TASKS_ERR_NO_TASK);
    }
    // ---- scope: a Scope kept beyond its call, a shut-down runtime, a moved-from runtime --------
    {
        tasks::Scope *kept = nullptr;
        rt.scope([&](tasks::Scope &s) { kept = &s; });
        (void)kept;  // the Scope object is gone with the call (it lived in its frame)
        tasks::Runtime gone{tasks::Builder{}.worker_threads(1)};
        CHECK(gone.shutdown(5s));
        bool called = false;
        CHECK_THROWS(gone.scope([&](tasks::Scope &) { called = true; }), tasks::Error, e,
                     e.status() == TASKS_ERR_SHUTDOWN);
        CHECK(!called);
        CHECK_THROWS(tasks::parallel_for(gone, 0, 10, [](std::size_t) {}), tasks::Error, e,
                     e.status() == TASKS_ERR_SHUTDOWN);
        tasks::Runtime moved = std::move(gone);
        CHECK_THROWS(gone.scope([](tasks::Scope &) {}), tasks::Error, e, e.status() == TASKS_ERR_INVALID);
        CHECK_THROWS(tasks::parallel_for(gone, 0, 10, [](std::size_t) {}), tasks::Error, e,
                     e.status() == TASKS_ERR_INVALID);
    }
    // ---- join: values, void, move-only, exceptions ---------------------------------------------
    {
        auto [a, b] = tasks::join([] { return 1; }, [] { return std::string("two"); });
        CHECK(a == 1 && b == "two");
        int x = 0, y = 0;
        auto [m1, m2] = tasks::join([&] { x = 1; }, [&] { y = 2; });
        static_assert(std::is_same_v<decltype(m1), std::monostate>, "void gives std::monostate");
        (void)m1;
        (void)m2;
        CHECK(x == 1 && y == 2);
        auto [p, q] = tasks::join([] { return std::make_unique<int>(5); }, [] { return Counted(6); });
        CHECK(*p == 5 && q.v == 6);
        // Inside a task of `one` (a single worker): both run, no deadlock.
        auto pair = one.spawn([] { return tasks::join([] { return 3; }, [] { return 4; }); }).join();
        CHECK(pair.first == 3 && pair.second == 4);

        CHECK_THROWS(tasks::join([]() -> int { throw std::runtime_error("a"); }, [] { return 1; }), std::runtime_error,
                     e, std::string(e.what()) == "a");
        CHECK_THROWS(tasks::join([] { return 1; }, []() -> int { throw std::out_of_range("b"); }), std::out_of_range, e,
                     std::string(e.what()) == "b");
        // On a worker, `a` runs first on the calling thread: if it throws before `b` started,
        // `b` does not start (one worker: nobody else can take it).
        std::atomic<bool> b_ran{false};
        auto h = one.spawn([&] {
            try {
                (void)tasks::join([]() -> int { throw std::runtime_error("a"); }, [&] {
                    b_ran = true;
                    return 1;
                });
            } catch (const std::runtime_error &) {
                return true;
            }
            return false;
        });
        CHECK(h.join() && !b_ran);
    }
    // ---- recursive join: fib on 1 and 4 workers (and from the main thread) ----------------------
    {
        CHECK(one.spawn([] { return fib(22); }).join() == fib_serial(22));
        CHECK(rt.spawn([] { return fib(25); }).join() == fib_serial(25));
        CHECK(fib(18) == fib_serial(18));
    }
    // ---- parallel_for: exactly-once coverage -------------------------------------------------------
    for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(255), std::size_t(256), std::size_t(1000000)}) {
        coverage(rt, n);
        if (n < 1000000) coverage(one, n);
    }
    // ---- parallel_for: bounds, index types, no runtime argument ---------------------------------
    {
        std::vector<int> out(100, 0);
        tasks::parallel_for(10, 20, [&](std::size_t i) { out[i] = 1; });             // int bounds
        tasks::parallel_for(20u, std::uint64_t(30), [&](std::size_t i) { out[i] = 2; });  // mixed types
        tasks::parallel_for(30L, 40L, 3, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; i++) out[i] = 3;
        });
        tasks::parallel_for(rt, short(40), 50, [&](std::size_t i) { out[i] = 4; });
        for (std::size_t i = 0; i < 100; i++) {
            int want = i < 10 ? 0 : i < 20 ? 1 : i < 30 ? 2 : i < 40 ? 3 : i < 50 ? 4 : 0;
            CHECK(out[i] == want);
        }
        CHECK_THROWS(tasks::parallel_for(rt, 5, 4, [](std::size_t) {}), tasks::Error, e,
                     e.status() == TASKS_ERR_INVALID);
        CHECK_THROWS(tasks::parallel_for(rt, -1, 4, [](std::size_t) {}), tasks::Error, e,
                     e.status() == TASKS_ERR_INVALID);
        CHECK_THROWS(tasks::parallel_for(rt, 0, 4, -2, [](std::size_t) {}), tasks::Error, e,
                     e.status() == TASKS_ERR_INVALID);
        bool called = false;
        tasks::parallel_for(rt, 7, 7, [&](std::size_t) { called = true; });
        CHECK(!called);
    }
    // ---- parallel_for: the first exception stops the loop and is rethrown ----------------------
    {
        std::atomic<std::size_t> done{0};
        CHECK_THROWS(tasks::parallel_for(rt, 0, 1000000, 1000,
                                         [&](std::size_t i) {
                                             if (i == 1234) throw std::runtime_error("at 1234");
                                             done.fetch_add(1, std::memory_order_relaxed);
                                         }),
                     std::runtime_error, e, std::string(e.what()) == "at 1234");
        CHECK(done < 1000000);
        // One worker, in a task: the loop runs on the calling thread and stops at the failure.
        auto h = one.spawn([] {
            std::size_t calls = 0;
            try {
                tasks::parallel_for(0, 100000, 10, [&](std::size_t b, std::size_t) {
                    calls++;
                    if (b == 0) throw std::logic_error("first chunk");
                });
            } catch (const std::logic_error &) {
                return calls;
            }
            return std::size_t(0);
        });
        std::size_t calls = h.join();
        CHECK(calls >= 1 && calls < 10000);
    }
    // ---- nesting: parallel_for inside scope tasks inside join, inside a task -------------------
    for (tasks::Runtime *r : {&one, &rt}) {
        std::vector<std::atomic<int>> hits(4000);
        auto h = r->spawn([&] {
            auto [left, right] = tasks::join(
                [&] {
                    tasks::scope([&](tasks::Scope &s) {
                        for (std::size_t k = 0; k < 4; k++) {
                            s.spawn([&hits, k] {
                                tasks::parallel_for(k * 500, (k + 1) * 500, [&](std::size_t i) { hits[i]++; });
                            });
                        }
                    });
                    return 1;
                },
                [&] {
                    tasks::parallel_for(2000, 4000, 16, [&](std::size_t b, std::size_t e) {
                        tasks::scope([&](tasks::Scope &s) {
                            s.spawn([&hits, b, e] {
                                for (std::size_t i = b; i < e; i++) hits[i]++;
                            });
                        });
                    });
                    return 2;
                });
            return left + right;
        });
        CHECK(h.join() == 3);
        for (auto &x : hits) CHECK(x.load() == 1);
        // And from the main thread (a scope whose tasks run parallel loops and joins).
        std::atomic<std::uint64_t> total{0};
        r->scope([&](tasks::Scope &s) {
            s.spawn([&] { total += fib(15); });
            s.spawn([&] {
                tasks::parallel_for(0, 1000, [&](std::size_t i) { total += i; });
            });
        });
        CHECK(total == fib_serial(15) + 999 * 1000 / 2);
    }
    // ---- parallel_reduce -------------------------------------------------------------------------
    {
        const std::uint64_t n = 1000000;
        auto sum = tasks::parallel_reduce(
            rt, 0, n, std::uint64_t(0),
            [](std::size_t b, std::size_t e, std::uint64_t acc) {
                for (std::size_t i = b; i < e; i++) acc += i;
                return acc;
            },
            std::plus<>{});
        CHECK(sum == n * (n - 1) / 2);
        // Squares with a grain, on one worker, and without a runtime argument.
        auto sq = [](std::size_t b, std::size_t e, std::uint64_t acc) {
            for (std::size_t i = b; i < e; i++) acc += std::uint64_t(i) * i;
            return acc;
        };
        const std::uint64_t m = 100000;
        CHECK(tasks::parallel_reduce(one, 0, m, 64, std::uint64_t(0), sq, std::plus<>{}) ==
              (m - 1) * m * (2 * m - 1) / 6);
        CHECK(tasks::parallel_reduce(0, m, std::uint64_t(0), sq, std::plus<>{}) == (m - 1) * m * (2 * m - 1) / 6);
        // Non-commutative combine: the partials are combined in index order.
        auto cat = tasks::parallel_reduce(
            rt, 0, 5000, 10, std::vector<std::size_t>{},
            [](std::size_t b, std::size_t e, std::vector<std::size_t> acc) {
                for (std::size_t i = b; i < e; i++) acc.push_back(i);
                return acc;
            },
            [](std::vector<std::size_t> x, std::vector<std::size_t> y) {
                x.insert(x.end(), y.begin(), y.end());
                return x;
            });
        std::vector<std::size_t> want(5000);
        std::iota(want.begin(), want.end(), std::size_t(0));
        CHECK(cat == want);
        // Empty range: the identity.
        CHECK(tasks::parallel_reduce(rt, 3, 3, 42, [](std::size_t, std::size_t, int) { return 0; }, std::plus<>{}) == 42);
        // Exceptions from the body propagate.
        CHECK_THROWS(tasks::parallel_reduce(
                         rt, 0, 100000, 100, 0,
                         [](std::size_t b, std::size_t, int acc) -> int {
                             if (b >= 50000) throw std::runtime_error("reduce");
                             return acc;
                         },
                         std::plus<>{}),
                     std::runtime_error, e, std::string(e.what()) == "reduce");
        // Nested: a reduce in each task of a reduce-sized scope.
        std::vector<std::uint64_t> parts(8, 0);
        rt.scope([&](tasks::Scope &s) {
            for (std::size_t k = 0; k < 8; k++) {
                s.spawn([&parts, k] {
                    parts[k] = tasks::parallel_reduce(
                        k * 1000, (k + 1) * 1000, std::uint64_t(0),
                        [](std::size_t b, std::size_t e, std::uint64_t acc) {
                            for (std::size_t i = b; i < e; i++) acc += i;
                            return acc;
                        },
                        std::plus<>{});
                });
            }
        });
        CHECK(std::accumulate(parts.begin(), parts.end(), std::uint64_t(0)) == 7999ull * 8000 / 2);
    }
    // ---- lifetimes: locals captured by reference, the loop body not copied ---------------------
    {
        struct NoCopy {
            std::atomic<int> *n;
            explicit NoCopy(std::atomic<int> *p) : n(p) {}
            NoCopy(const NoCopy &) = delete;
            void operator()(std::size_t) const { (*n)++; }
        };
        std::atomic<int> n{0};
        NoCopy body(&n);
        tasks::parallel_for(rt, 0, 1000, body);
        CHECK(n == 1000);
        for (int round = 0; round < 20; round++) {
            int local[16] = {};
            rt.scope([&](tasks::Scope &s) {
                for (int i = 0; i < 16; i++) s.spawn([&local, i, round] { local[i] = i + round; });
            });
            for (int i = 0; i < 16; i++) CHECK(local[i] == i + round);
        }
    }
    CHECK(Counted::live == 0);
    std::puts("test_fork_join: ok");
    return 0;
}
