// C4: moved-from objects throw tasks::Error(TASKS_ERR_INVALID) when used; they never fall back
// to the default runtime. default_runtime() cannot be moved from or assigned to.
#include <tasks.hpp>

#include "check.hpp"

#include <utility>

using namespace std::chrono_literals;

#define CHECK_INVALID(expr) CHECK_THROWS(expr, tasks::Error, e, e.status() == TASKS_ERR_INVALID)

int main() {
    // Runtime.
    {
        tasks::Runtime a{tasks::Builder{}.worker_threads(1)};
        tasks::Runtime b = std::move(a);
        CHECK(a.native_handle() == nullptr && b.native_handle() != nullptr);
        CHECK_INVALID(a.spawn([] { return 1; }));
        CHECK_INVALID(a.spawn_named("x", [] {}));
        CHECK_INVALID(a.spawn_blocking([] {}));
        CHECK_INVALID(a.spawn_after(1ms, [] {}));
        CHECK_INVALID(a.metrics());
        CHECK_INVALID(a.shutdown(1ms));
        CHECK_INVALID(tasks::JoinSet<int>(a));
        // Nothing ran on the default runtime meanwhile: a moved-from runtime is not it.
        CHECK(b.spawn([] { return tasks_current_runtime(); }).join() == b.native_handle());
        // Assigning a live runtime to a moved-from one makes it usable again.
        a = tasks::Runtime{tasks::Builder{}.worker_threads(1)};
        CHECK(a.spawn([] { return 2; }).join() == 2);
    }
    // The default runtime: "moving" it gives a view and leaves it intact; assigning to it throws.
    {
        tasks::Runtime &def = tasks::Runtime::default_runtime();
        tasks_runtime *raw = def.native_handle();
        tasks::Runtime view = std::move(def);
        CHECK(def.native_handle() == raw && view.native_handle() == raw);
        CHECK(def.spawn([] { return 3; }).join() == 3);
        CHECK(view.spawn([] { return tasks_current_runtime(); }).join() == raw);
        CHECK_INVALID(tasks::Runtime::default_runtime() = tasks::Runtime{tasks::Builder{}.worker_threads(1)});
        CHECK(tasks::Runtime::default_runtime().native_handle() == raw);
        { tasks::Runtime gone = std::move(view); }  // destroying a view frees nothing
        CHECK(tasks::spawn([] { return 4; }).join() == 4);
    }
    // JoinHandle.
    {
        tasks::Runtime rt{tasks::Builder{}.worker_threads(1)};
        auto h = rt.spawn([] { return 5; });
        auto g = std::move(h);
        CHECK(!h.valid() && !h && h.native_handle() == nullptr);
        CHECK_INVALID(h.join());
        CHECK_INVALID(h.join_for(1ms));
        CHECK_INVALID(h.abort());
        CHECK_INVALID(h.is_finished());
        CHECK_INVALID(h.id());
        CHECK_INVALID(h.abort_handle());
        CHECK_INVALID(h.detach());
        CHECK(g.join() == 5);
        tasks::JoinHandle<int> empty;
        CHECK_INVALID(empty.join());
    }
    // JoinSet.
    {
        tasks::Runtime rt{tasks::Builder{}.worker_threads(1)};
        tasks::JoinSet<int> s(rt);
        tasks::JoinSet<int> t = std::move(s);
        CHECK(!s.valid() && t.valid());
        CHECK_INVALID(s.spawn([] { return 1; }));
        CHECK_INVALID(s.join_next());
        CHECK_INVALID(s.join_next_for(1ms));
        CHECK_INVALID(s.size());
        CHECK_INVALID(s.empty());
        CHECK_INVALID(s.abort_all());
        CHECK_INVALID(s.detach_all());
        // Move-assigning over a live set ends it first (abort and wait), then takes the other.
        std::atomic<bool> stopped{false}, running{false};
        t.spawn([&stopped, &running] {
            running = true;
            while (!tasks::current_is_cancelled()) std::this_thread::sleep_for(1ms);
            stopped = true;
            return 0;
        });
        CHECK(wait_until([&] { return running.load(); }));
        tasks::JoinSet<int> u(rt);
        u.spawn([] { return 9; });
        t = std::move(u);
        CHECK(stopped);
        CHECK(t.join_next()->value() == 9);
    }
    // Executor.
    {
        tasks::Executor ex;
        tasks::Executor ey = std::move(ex);
        CHECK(ex.native_handle() == nullptr);
        CHECK_INVALID(ex.spawn([] {}));
        CHECK_INVALID(ex.run());
        CHECK_INVALID(ex.size());
        CHECK_INVALID(ex.set_notify([] {}));
        auto h = ey.spawn([] { return 6; });
        while (!h.is_finished()) (void)ey.run();
        CHECK(h.join() == 6);
    }
    // Builder.
    {
        tasks::Builder b;
        tasks::Builder c = std::move(b);
        CHECK_INVALID(b.worker_threads(1));
        CHECK_INVALID(tasks::Runtime{b});
        tasks::Runtime r{c.worker_threads(1)};
        CHECK(r.metrics().workers == 1);
    }
    std::puts("test_moved_from OK");
    return 0;
}
