// C2: the last owner of a Runtime released inside one of its own tasks. tasks_runtime_free
// refuses (WOULD_DEADLOCK) there; the binding must neither free the thread hooks the runtime's
// threads still call (AddressSanitizer: heap-use-after-free) nor leak the runtime's threads.
#include <tasks.hpp>

#include "check.hpp"

#include <memory>
#include <string>

using namespace std::chrono_literals;

namespace {
// A hook whose captured state is freed when the hook is: a hook called after its free reads
// freed memory (ASan) or a cleared string (checked).
struct Hook {
    std::shared_ptr<std::atomic<int>> count;
    std::unique_ptr<std::string> tag = std::make_unique<std::string>("alive");
    void operator()() const {
        if (!tag || *tag != "alive") std::abort();
        (*count)++;
    }
};
}  // namespace

int main() {
    for (int round = 0; round < 3; round++) {
        auto starts = std::make_shared<std::atomic<int>>(0);
        auto stops = std::make_shared<std::atomic<int>>(0);
        auto rt = std::make_shared<tasks::Runtime>(tasks::Builder{}
                                                       .worker_threads(2)
                                                       .on_thread_start(Hook{starts})
                                                       .on_thread_stop(Hook{stops}));
        Gate gate;
        std::atomic<bool> released{false};
        // The task holds the only other reference; main drops its own first.
        auto h = rt->spawn([keep = rt, &gate, &released]() mutable {
            gate.wait();
            keep.reset();  // ~Runtime on one of its own workers
            released = true;
        });
        h.detach();
        rt.reset();
        gate.open = true;
        CHECK(wait_until([&] { return released.load(); }));
        // The runtime is still freed (by another thread): every thread stops, each having
        // called the stop hook, which must still be alive then.
        CHECK(wait_until([&] { return starts->load() >= 2 && stops->load() == starts->load(); }));
    }
    // The same through a runtime destroyed by the drop of a task's callable (drop_arg), and
    // from a blocking-pool thread of the runtime.
    {
        auto stops = std::make_shared<std::atomic<int>>(0);
        auto starts = std::make_shared<std::atomic<int>>(0);
        auto rt = std::make_shared<tasks::Runtime>(tasks::Builder{}
                                                       .worker_threads(1)
                                                       .on_thread_start(Hook{starts})
                                                       .on_thread_stop(Hook{stops}));
        Gate gate;
        auto h = rt->spawn_blocking([keep = rt, &gate] { gate.wait(); });
        h.detach();
        rt.reset();
        gate.open = true;
        CHECK(wait_until([&] { return starts->load() >= 2 && stops->load() == starts->load(); }));
    }
    std::puts("test_runtime_drop OK");
    return 0;
}
