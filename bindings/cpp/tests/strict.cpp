// Instantiates the whole header (built with extra warnings, as C++17 and C++20) and runs a
// little of it. The real checks are in the other tests.
#include <tasks.hpp>
#include <tasks.hpp>  // include guard

#include <memory>
#include <string>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;

#ifdef TASKS_HPP_COROUTINES
static tasks::Task<int> leaf(int v) {
    co_await tasks::yield();
    co_await tasks::sleep_for(1ms);
    co_return v;
}
static tasks::Task<void> nothing() { co_return; }
static tasks::Task<void> all(tasks::Runtime &rt) {
    int v = co_await leaf(1);
    auto h = rt.spawn([v] { return v; });
    v += co_await h;
    tasks::JoinSet<int> set(rt);
    set.spawn(leaf(2));
    while (auto o = co_await set.next()) v += o->value();
    auto [a, b] = co_await tasks::when_all(leaf(3), nothing());
    (void)b;
    co_await rt.schedule();
    tasks::Waker w = co_await tasks::this_waker();
    w.wake_by_ref();
    co_await tasks::suspend();
    if (v + a != 7) throw std::logic_error("all");
}
#endif

static tasks::TaskLocal<std::string> local_name;

int main() {
    tasks::Runtime rt{tasks::Builder{}
                          .worker_threads(2)
                          .max_blocking_threads(2)
                          .blocking_keep_alive(1s)
                          .thread_name("strict")
                          .thread_stack_size(1u << 20)
                          .on_thread_start([] {})
                          .on_thread_stop([] {})};
    tasks::JoinHandle<std::string> h = rt.spawn([](const std::string &s) { return s; }, std::string("x"));
    tasks::AbortHandle a = h.abort_handle();
    tasks::AbortHandle b = a;
    b = std::move(a);
    std::optional<std::string> r = h.join_for(10s);
    tasks::JoinHandle<void> v = rt.spawn_blocking([] {});
    bool done = v.join_for(10s).has_value();
    auto later = rt.spawn_after(1ms, [] { return 1; });
    tasks::JoinSet<std::unique_ptr<int>> set(rt);
    set.spawn([] { return std::make_unique<int>(1); });
    auto o = set.join_next_for(10s);
    int n = later.join() + *o->value() + tasks::block_in_place([] { return 1; });
    set.spawn([] { return std::make_unique<int>(2); });
    set.detach_all();
    tasks_metrics m = rt.metrics();
    (void)tasks::current_is_cancelled();
    (void)tasks::current_id();
    (void)tasks::current_name();
    auto named = rt.spawn_named("n", [] {});
    named.detach();
    std::string got = rt.spawn([] { return local_name.emplace("t"); }).join();
    tasks::Executor ex;
    ex.set_notify([] {});
    auto eh = ex.spawn([] { return 2; });
    while (!eh.is_finished()) (void)ex.run();
    n += eh.join();
    tasks::Waker w = tasks::Waker::from([] {});
    tasks::Waker w2 = w;
    bool same = w.will_wake(w2);
    w.wake();
    std::error_code ec = TASKS_ERR_INVALID;
    // Fork-join (tasks/fork_join.hpp): every overload.
    std::vector<int> fj(100, 0);
    int scoped = rt.scope([&](tasks::Scope &s) {
        s.spawn([&fj] { fj[0] = 1; });
        s.spawn_named("fj", [&fj](int one) { fj[1] = one; }, 1);
        return 1;
    });
    tasks::scope([&](tasks::Scope &s) { s.spawn([&fj] { fj[2] = 1; }); });
    auto [ja, jb] = tasks::join([] { return 1; }, [] {});
    (void)jb;
    tasks::parallel_for(rt, 3, 10, [&fj](std::size_t i) { fj[i] = 1; });
    tasks::parallel_for(rt, 10u, 20u, 2, [&fj](std::size_t b0, std::size_t e0) {
        for (std::size_t i = b0; i < e0; i++) fj[i] = 1;
    });
    tasks::parallel_for(20L, 30L, [&fj](std::size_t i) { fj[i] = 1; });
    tasks::parallel_for(std::size_t(30), std::size_t(100), 8, [&fj](std::size_t i) { fj[i] = 1; });
    auto count = [&fj](std::size_t b0, std::size_t e0, long acc) {
        for (std::size_t i = b0; i < e0; i++) acc += fj[i];
        return acc;
    };
    long fj_sum = tasks::parallel_reduce(rt, 0, fj.size(), 0L, count, std::plus<>{}) +
                  tasks::parallel_reduce(rt, 0, fj.size(), 4, 0L, count, std::plus<>{}) +
                  tasks::parallel_reduce(0, fj.size(), 0L, count, std::plus<>{});
    n += (scoped + ja + (fj_sum == 300 ? 0 : 1000)) - 2;
#ifdef TASKS_HPP_COROUTINES
    rt.block_on(all(rt));
    rt.spawn(all(rt)).join();
#endif
#ifdef TASKS_HPP_STOP_TOKEN
    bool stopped = rt.spawn([] { return tasks::current_stop_token().stop_requested(); }).join();
    n += stopped ? 100 : 0;
#endif
    bool ok = r == std::string("x") && done && n == 5 && m.workers == 2 && b.id() != 0 && got == "t" &&
              same && ec == TASKS_ERR_INVALID && rt.shutdown(10s);
    return ok ? 0 : 1;
}
