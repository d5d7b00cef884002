// C8: Task<T&> is refused with a plain message.
#include <tasks.hpp>
static int x = 1;
#ifdef TASKS_COMPILE_OK
tasks::Task<int *> f() { co_return &x; }
#else
tasks::Task<int &> f() { co_return x; }
#endif
int main() { (void)tasks::Runtime::default_runtime().block_on(f()); }
