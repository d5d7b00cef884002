// C6: a discarded join_for result does not compile under -Werror.
#include <tasks.hpp>
int main() {
    auto h = tasks::spawn([] { return 1; });
#ifdef TASKS_COMPILE_OK
    (void)h.join_for(std::chrono::seconds(1));
#else
    h.join_for(std::chrono::seconds(1));
#endif
}
