/* Regression test: recursive fork-join through scopes (oneTBB task_group's fib shape: every call
 * opens a scope, spawns fib(n-1) into it, computes fib(n-2) in the body, and the scope's end waits).
 * A waiting scope helps by running queued tasks; it took them oldest first (the worker's task queue
 * is FIFO), so a wait deep in the recursion ran the outermost scope's child nested inside it, the
 * nesting hit its depth limit, and each such wait handed its core to a new thread: fib_scope(30) on 2
 * workers started about 3,000 threads. Scope tasks now wait in the worker's LIFO job deque, so a
 * waiting scope runs its own (newest) child first, as work-first schedulers do.
 *
 * Checked: fib_scope(22) on 1 and 2 workers gives the right result, every call counted, and the
 * process never has more than a few threads beyond the workers (sampled while it runs). */
#include "check.h"

typedef struct frame {
    intptr_t n;
    intptr_t a, b;
} frame_t;

static long g_calls;
static int g_max_threads;
static int g_stop;

static intptr_t fib_scope(intptr_t n);

static int32_t child(void *arg, void **out) {
    (void)out;
    frame_t *f = arg;
    f->a = fib_scope(f->n - 1);
    return 0;
}

static int32_t body(tasks_scope *scope, void *ctx) {
    frame_t *f = ctx;
    if (tasks_scope_spawn(scope, child, f, NULL) != TASKS_OK)
        return 1;
    f->b = fib_scope(f->n - 2);
    return 0;
}

static intptr_t fib_scope(intptr_t n) {
    AT_ADD(&g_calls, 1);
    if (n < 2)
        return n;
    frame_t f = {n, 0, 0};
    CHECK_STATUS(TASKS_OK, tasks_scope_run(NULL, body, &f));
    return f.a + f.b;
}

static int32_t root(void *arg, void **out) {
    *out = (void *)fib_scope((intptr_t)arg);
    return 0;
}

static void *sampler(void *arg) {
    (void)arg;
    while (!AT_LOAD(&g_stop)) {
        int n = count_threads();
        if (n > AT_LOAD(&g_max_threads))
            AT_STORE(&g_max_threads, n);
        sleep_ms(1);
    }
    return NULL;
}

static intptr_t fib_seq(intptr_t n) { return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2); }

static void run(size_t workers, intptr_t n) {
    tasks_runtime *rt = make_rt(workers);
    int before = count_threads();
    AT_STORE(&g_calls, 0);
    AT_STORE(&g_max_threads, before);
    AT_STORE(&g_stop, 0);
    pthread_t s;
    CHECK(pthread_create(&s, NULL, sampler, NULL) == 0);
    tasks_join_handle *h = NULL;
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, root, (void *)n, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    tasks_join_handle_free(h);
    AT_STORE(&g_stop, 1);
    pthread_join(s, NULL);
    CHECK_EQ_INT((intptr_t)out, fib_seq(n));
    CHECK_EQ_INT(AT_LOAD(&g_calls), 2 * (long)fib_seq(n + 1) - 1);
    int extra = AT_LOAD(&g_max_threads) - before;
    printf("fib_scope(%ld), %zu workers: %d threads at most beyond the %d before (+1 sampler)\n",
           (long)n, workers, extra, before);
    fflush(stdout);
    /* The sampler is one; a few substitute threads may come and go (deep recursion). */
    CHECK(extra <= 8);
    free_rt(rt);
}

int main(void) {
    watchdog_start(120, "regress_scope_fib_threads");
    run(1, 22);
    run(2, 22);
    watchdog_stop();
    return 0;
}
