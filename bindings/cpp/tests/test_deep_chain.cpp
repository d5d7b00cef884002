// C3: co_await chains 100,000 deep must not grow the stack, whatever the optimization level:
// the driver resumes every coroutine from one loop instead of relying on the compiler to turn
// symmetric transfer into a tail call (g++ -O0 does not). Built and run at -O0 as well (the
// cpp_tests_*_debug ctest entries).
#include <tasks.hpp>

#include "check.hpp"

using namespace std::chrono_literals;

namespace {
constexpr int kDeep = 100000;

tasks::Task<int> chain(int n) {
    if (n == 0) co_return 0;
    int r = co_await chain(n - 1);
    co_return r + 1;
}

// Suspends at the bottom (a sleep), so the whole chain is alive when it is aborted.
std::atomic<int> frames{0};
struct Frame {
    Frame() { frames++; }
    Frame(const Frame &) = delete;
    ~Frame() { frames--; }
};
tasks::Task<int> sleeping_chain(int n, std::atomic<bool> *bottom) {
    Frame f;
    if (n == 0) {
        *bottom = true;
        co_await tasks::sleep_for(3600s);
        co_return 0;
    }
    co_return co_await sleeping_chain(n - 1, bottom);
}

// Completes synchronously at every level (a ready child): the parent continues inline.
tasks::Task<int> ready_chain(int n) {
    if (n == 0) co_return 1;
    auto child = ready_chain(n - 1);
    co_return co_await child;
}
}  // namespace

int main() {
    // Small stacks (256 KiB): any per-level stack growth overflows long before 100,000 levels.
    tasks::Runtime rt{tasks::Builder{}.worker_threads(2).thread_stack_size(256 * 1024)};
    CHECK(rt.spawn(chain(kDeep)).join() == kDeep);
    CHECK(rt.spawn(ready_chain(kDeep)).join() == 1);
    // block_on drives the chain on this (main, 8 MiB) thread: deep recursion would still
    // overflow at -O0 with 100,000 frames of nested resume() calls.
    CHECK(rt.block_on(chain(kDeep)) == kDeep);

    // Abort of a suspended 100,000-deep chain: every frame destroyed, without recursion, on
    // the aborting thread.
    std::atomic<bool> bottom{false};
    auto h = rt.spawn(sleeping_chain(kDeep, &bottom));
    CHECK(wait_until([&] { return bottom.load(); }));
    std::this_thread::sleep_for(20ms);
    CHECK(frames == kDeep + 1);
    h.abort();
    CHECK(frames == 0);
    CHECK_THROWS(h.join(), tasks::Cancelled, e, true);
    std::puts("test_deep_chain OK");
    return 0;
}
