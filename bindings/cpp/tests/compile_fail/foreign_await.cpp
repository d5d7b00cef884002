// C8: co_await of a JoinHandle from a coroutine type of another library is refused with a
// plain message (it would suspend without arranging a wake).
#include <tasks.hpp>

#include <coroutine>

struct Foreign {
    struct promise_type {
        Foreign get_return_object() { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() {}
        void unhandled_exception() {}
    };
};
Foreign g(tasks::JoinHandle<int> &h) {
#ifdef TASKS_COMPILE_OK
    (void)h.join();
    co_return;
#else
    (void)co_await h;
#endif
}
int main() {
    auto h = tasks::spawn([] { return 1; });
    g(h);
}
