/* Regression test: a join that runs its child inline (a run-to-completion task of the same runtime
 * that nobody has started) left the child's queue entry in the worker's queue, holding a reference
 * to the finished task; the worker popped those entries only when it went back to its loop. A
 * recursive spawn+join (fib) on a worker that never goes back to its loop kept every task block of
 * the whole tree alive until the root ended: memory O(tasks) instead of O(depth) (fib(30) on one
 * worker: 892 MB; tokio: 62 MB). Found by benches/ALLOCATOR.md's measurements.
 *
 * Checked: fib(25) (242,785 tasks) on 1 and 2 workers, by spawn + join from inside tasks: the peak
 * resident size grows by less than 24 MB (about 100 bytes per task; with the leak it was ~80 MB). */
#include "check.h"

#include <sys/resource.h>

static int32_t fib_task(void *arg, void **out) {
    intptr_t n = (intptr_t)arg;
    if (n < 2) {
        *out = (void *)n;
        return 0;
    }
    *out = (void *)spawn_join_sum(fib_task, n - 1, n - 2);
    return 0;
}

static long max_rss_kb(void) {
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    return ru.ru_maxrss;
}

static void run(size_t workers) {
    tasks_runtime *rt = make_rt(workers);
    long before = max_rss_kb();
    tasks_join_handle *h = NULL;
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, fib_task, (void *)25, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    tasks_join_handle_free(h);
    CHECK_EQ_INT((intptr_t)out, 75025);
    long grown = max_rss_kb() - before;
    printf("fib(25) by spawn+join on %zu workers: peak RSS grew by %ld KB\n", workers, grown);
    fflush(stdout);
    CHECK(grown < 24 * 1024);
    free_rt(rt);
}

int main(void) {
    watchdog_start(120, "regress_inline_join_memory");
    run(1);
    run(2);
    watchdog_stop();
    return 0;
}
