// C6: `tasks::sleep_for(d);` without co_await (it would not sleep) does not compile.
#include <tasks.hpp>
tasks::Task<void> f() {
#ifdef TASKS_COMPILE_OK
    co_await tasks::sleep_for(std::chrono::milliseconds(1));
#else
    tasks::sleep_for(std::chrono::milliseconds(1));
    co_return;
#endif
}
int main() { tasks::Runtime::default_runtime().block_on(f()); }
