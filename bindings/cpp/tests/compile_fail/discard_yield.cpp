// C6: `tasks::yield();` without co_await does not compile.
#include <tasks.hpp>
tasks::Task<void> f() {
#ifdef TASKS_COMPILE_OK
    co_await tasks::yield();
#else
    tasks::yield();
    co_return;
#endif
}
int main() { tasks::Runtime::default_runtime().block_on(f()); }
