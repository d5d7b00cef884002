// C5: results that are move-only, not default-constructible or not assignable, through every
// path: run-to-completion tasks, Task coroutines (return and co_await), JoinSet, when_all,
// block_on. C8: Task<T&> and foreign coroutines are refused at compile time (see
// compile_fail/), Error is a std::system_error in the "tasks" category.
#include <tasks.hpp>

#include "check.hpp"

#include <memory>
#include <string>
#include <system_error>

using namespace std::chrono_literals;

namespace {
// Move-only, not default-constructible, not assignable (a const member).
struct Pinned {
    const int v;
    std::unique_ptr<int> p;
    Pinned(int x) : v(x), p(std::make_unique<int>(x)) {}
    Pinned(Pinned &&) = default;
    Pinned &operator=(Pinned &&) = delete;
};

tasks::Task<Pinned> make_pinned(int x) {
    co_await tasks::yield();
    co_return Pinned(x);
}
tasks::Task<int> sum_pinned() {
    Pinned a = co_await make_pinned(2);
    Pinned b = co_await make_pinned(3);
    co_return a.v + *b.p;
}
}  // namespace

int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(2)};
    CHECK(rt.spawn([] { return Pinned(1); }).join().v == 1);
    CHECK(rt.spawn(make_pinned(4)).join().v == 4);
    CHECK(rt.block_on(make_pinned(5)).v == 5);
    CHECK(rt.block_on(sum_pinned()) == 5);
    {
        auto r = rt.spawn([] { return Pinned(6); }).join_for(20s);
        CHECK(r && r->v == 6);
    }
    {
        tasks::JoinSet<Pinned> set(rt);
        set.spawn([] { return Pinned(7); });
        set.spawn(make_pinned(8));
        int sum = 0;
        while (auto o = set.join_next()) sum += o->value().v;
        CHECK(sum == 15);
    }
    {
        auto [a, b] = rt.block_on([]() -> tasks::Task<std::tuple<Pinned, Pinned>> {
            co_return co_await tasks::when_all(make_pinned(9), make_pinned(10));
        });
        CHECK(a.v == 9 && b.v == 10);
    }

    // tasks::Error is a std::system_error in the "tasks" category, mapped to std::errc.
    try {
        (void)tasks::Builder{}.worker_threads(0);
        CHECK(false);
    } catch (const std::system_error &e) {
        CHECK(&e.code().category() == &tasks::category());
        CHECK(std::string(e.code().category().name()) == "tasks");
        CHECK(e.code() == TASKS_ERR_INVALID);
        CHECK(e.code() == std::errc::invalid_argument);
        CHECK(e.code().message() == tasks_status_str(TASKS_ERR_INVALID));
        CHECK(std::string(e.what()).find("worker_threads") != std::string::npos);
    }
    try {
        (void)rt.spawn([&rt] { rt.block_on(make_pinned(1)); }).join();
        CHECK(false);
    } catch (const tasks::Error &e) {
        CHECK(e.status() == TASKS_ERR_WOULD_DEADLOCK);
        CHECK(e.code() == std::errc::resource_deadlock_would_occur);
    }
    try {
        auto h = rt.spawn_after(1h, [] {});
        h.abort();
        h.join();
        CHECK(false);
    } catch (const std::system_error &e) {  // Cancelled is an Error is a system_error
        CHECK(e.code() == TASKS_CANCELLED && e.code() == std::errc::operation_canceled);
    }
    std::puts("test_types OK");
    return 0;
}
