// C6/C7: a setter called on a temporary Builder returns a new Builder: discarding it is a bug.
#include <tasks.hpp>
int main() {
#ifdef TASKS_COMPILE_OK
    tasks::Builder b = tasks::Builder{}.worker_threads(1);
    (void)b;
#else
    tasks::Builder{}.worker_threads(1);
#endif
}
