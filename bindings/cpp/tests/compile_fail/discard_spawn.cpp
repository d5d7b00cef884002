// C6: a discarded spawn (the JoinHandle) does not compile under -Werror.
#include <tasks.hpp>
int main() {
    tasks::Runtime rt{tasks::Builder{}.worker_threads(1)};
#ifdef TASKS_COMPILE_OK
    rt.spawn([] { return 1; }).join();
#else
    rt.spawn([] { return 1; });
#endif
}
