/* Recursive fork-join inside tasks: each fib task spawns two children with tasks_spawn(NULL, ...) (the
   calling task's runtime) and joins them from inside. fib(20) = 6765 on a ONE-worker runtime (join on a
   worker runs other tasks, so this cannot deadlock), fib(25) = 75025 on a 4-worker runtime; exact task
   counts (2*fib(n+1)-1 tasks), every task on the expected runtime, metrics spawned/completed exact. Under
   TASKS_TEST_SCALE < 1 the second run uses fib(20) instead of fib(25). */
#include "check.h"

static tasks_runtime *g_rt;
static long g_tasks, g_wrong_rt;

static int32_t fib_task(void *arg, void **out) {
    intptr_t n = (intptr_t)arg;
    AT_ADD(&g_tasks, 1);
    if (tasks_current_runtime() != AT_LOAD(&g_rt))
        AT_ADD(&g_wrong_rt, 1);
    if (n < 2) {
        *out = (void *)n;
        return 0;
    }
    *out = (void *)spawn_join_sum(fib_task, n - 1, n - 2);
    return 0;
}

static intptr_t fib_seq(intptr_t n) { return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2); }

static double run(size_t workers, intptr_t n, intptr_t expect) {
    tasks_runtime *rt = make_rt(workers);
    AT_STORE(&g_rt, rt);
    AT_STORE(&g_tasks, 0);
    CHECK_EQ_INT(fib_seq(n), expect);
    tasks_join_handle *h = NULL;
    uint64_t t0 = now_ns();
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, fib_task, (void *)n, NULL, &h));
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 600 * SEC_NS, &out));
    uint64_t t1 = now_ns();
    CHECK_EQ_INT((intptr_t)out, expect);
    tasks_join_handle_free(h);
    long ntasks = 2 * (long)fib_seq(n + 1) - 1;
    CHECK_EQ_INT(AT_LOAD(&g_tasks), ntasks);
    CHECK_EQ_INT(AT_LOAD(&g_wrong_rt), 0);
    tasks_metrics m;
    WAIT_UNTIL((m = get_metrics(rt)).completed == (uint64_t)ntasks);
    CHECK_EQ_U64(m.spawned, ntasks);
    CHECK_EQ_U64(m.alive, 0);
    CHECK_EQ_INT(m.workers, workers);
    free_rt(rt);
    return (double)(t1 - t0) / 1e6;
}

int main(void) {
    double ms1 = run(1, 20, 6765);
    int big = test_scale_factor() >= 1.0;
    double ms2 = big ? run(4, 25, 75025) : run(4, 20, 6765);
    printf("fib: fork-join fib(20) = 6765 on 1 worker (21891 tasks, %.1f ms), fib(%d) = %d on 4 workers (%.1f ms); "
           "exact task counts and metrics\n",
           ms1, big ? 25 : 20, big ? 75025 : 6765, ms2);
    return 0;
}
