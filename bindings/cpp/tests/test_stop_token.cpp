// C10: a task's abort shows as a requested std::stop_token (tasks::current_stop_token()),
// whichever way the abort came: a handle, an abort handle, a JoinSet, a runtime shutdown, a
// destructor; stop callbacks run.
#include <tasks.hpp>

#include "check.hpp"

#include <stop_token>

using namespace std::chrono_literals;

namespace {
// Waits on its stop token only (never calls current_is_cancelled), so the token must turn.
struct TokenWaiter {
    std::atomic<bool> *started;
    bool operator()() const {
        std::stop_token tok = tasks::current_stop_token();
        std::atomic<bool> called{false};
        // The pause widens the window between the flag and the callback (see below).
        std::stop_callback cb(tok, [&called] {
            std::this_thread::sleep_for(5ms);
            called = true;
        });
        *started = true;
        auto end = std::chrono::steady_clock::now() + 20s;
        // request_stop() sets the flag first and then runs the callbacks on the aborting
        // thread, so stop_requested() can be seen before `called` is: wait for both.
        while (!(tok.stop_requested() && called) && std::chrono::steady_clock::now() < end) {
            std::this_thread::sleep_for(1ms);
        }
        return tok.stop_requested() && called;
    }
};
}  // namespace

int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(2)};
    CHECK(!tasks::current_stop_token().stop_possible());  // outside a task
    CHECK(rt.spawn([] { return tasks::current_stop_token().stop_possible(); }).join());
    CHECK(!rt.spawn([] { return tasks::current_stop_token().stop_requested(); }).join());

    // JoinHandle::abort
    {
        std::atomic<bool> started{false};
        auto h = rt.spawn(TokenWaiter{&started});
        CHECK(wait_until([&] { return started.load(); }));
        h.abort();
        CHECK(h.join());
    }
    // AbortHandle::abort
    {
        std::atomic<bool> started{false};
        auto h = rt.spawn(TokenWaiter{&started});
        CHECK(wait_until([&] { return started.load(); }));
        h.abort_handle().abort();
        CHECK(h.join());
    }
    // JoinSet::abort_all
    {
        std::atomic<bool> started{false};
        tasks::JoinSet<bool> set(rt);
        set.spawn(TokenWaiter{&started});
        CHECK(wait_until([&] { return started.load(); }));
        set.abort_all();
        CHECK(set.join_next()->value());
    }
    // ~JoinHandle (abort and wait): the waiter returns because its token turned.
    {
        std::atomic<bool> started{false};
        auto t0 = std::chrono::steady_clock::now();
        {
            auto h = rt.spawn(TokenWaiter{&started});
            CHECK(wait_until([&] { return started.load(); }));
        }
        CHECK(ms_since(t0) < 15000.0);
    }
    // Runtime shutdown.
    {
        tasks::Runtime small{tasks::Builder{}.worker_threads(1)};
        std::atomic<bool> started{false};
        auto h = small.spawn(TokenWaiter{&started});
        CHECK(wait_until([&] { return started.load(); }));
        CHECK(small.shutdown(15s));
        CHECK(h.join());
    }
    // An abort through the C API directly shows at the next current_stop_token() call.
    {
        std::atomic<bool> started{false};
        auto h = rt.spawn([&started] {
            std::stop_token tok = tasks::current_stop_token();
            started = true;
            while (!tasks::current_stop_token().stop_requested()) std::this_thread::sleep_for(1ms);
            return tok.stop_requested();
        });
        CHECK(wait_until([&] { return started.load(); }));
        tasks_join_handle_abort(h.native_handle());
        CHECK(h.join());
    }
    std::puts("test_stop_token OK");
    return 0;
}
