/* tasks_join2 (API.md, "Structured fork-join and data parallelism").
 * - results and outputs: both outputs written whatever the status (failure payloads included), NULL
 *   out-pointers discard; OK only when both return 0, else FAILED; NULL a/b -> TASKS_ERR_NULL calling nothing.
 * - recursive fib with join2 inside a task on a 1-worker and a 4-worker runtime (nested joins never
 *   deadlock; every call counted exactly once), and from the main thread (default runtime).
 * - off-worker callers: 4 plain threads call join2 (fib) at once.
 * - join2 halves are not tasks: the runtime's spawned count does not move.
 * - a task of a runtime that is shut down gets TASKS_ERR_SHUTDOWN and nothing is called.
 * - a and b run in parallel when a worker is idle: a waits (bounded) for b to start on another worker.
 * A watchdog turns a hang into a failure. */
#include "check.h"

static long g_calls;

static int32_t fib(void *arg, void **out) {
    intptr_t n = (intptr_t)arg;
    AT_ADD(&g_calls, 1);
    if (n < 2) {
        *out = (void *)n;
        return 0;
    }
    void *a = NULL, *b = NULL;
    tasks_status s = tasks_join2(fib, (void *)(n - 1), &a, fib, (void *)(n - 2), &b);
    if (s != TASKS_OK)
        return 1;
    *out = (void *)((intptr_t)a + (intptr_t)b);
    return 0;
}

static intptr_t fib_seq(intptr_t n) { return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2); }
static long fib_calls(intptr_t n) { return 2 * (long)fib_seq(n + 1) - 1; }

static int32_t ret_arg(void *arg, void **out) {
    *out = arg;
    return 0;
}

static int32_t fail_with_arg(void *arg, void **out) {
    *out = arg;
    return 7;
}

static long g_never;
static int32_t never(void *arg, void **out) {
    (void)arg;
    (void)out;
    AT_ADD(&g_never, 1);
    return 0;
}

static void basics(void) {
    void *oa = (void *)1, *ob = (void *)1;
    CHECK_STATUS(TASKS_OK, tasks_join2(ret_arg, (void *)10, &oa, ret_arg, (void *)20, &ob));
    CHECK_EQ_PTR(oa, (void *)10);
    CHECK_EQ_PTR(ob, (void *)20);
    /* failure of either: FAILED, both outputs written */
    oa = ob = NULL;
    CHECK_STATUS(TASKS_FAILED, tasks_join2(fail_with_arg, (void *)11, &oa, ret_arg, (void *)21, &ob));
    CHECK_EQ_PTR(oa, (void *)11);
    CHECK_EQ_PTR(ob, (void *)21);
    oa = ob = NULL;
    CHECK_STATUS(TASKS_FAILED, tasks_join2(ret_arg, (void *)12, &oa, fail_with_arg, (void *)22, &ob));
    CHECK_EQ_PTR(oa, (void *)12);
    CHECK_EQ_PTR(ob, (void *)22);
    /* NULL out-pointers discard */
    CHECK_STATUS(TASKS_OK, tasks_join2(ret_arg, (void *)1, NULL, ret_arg, (void *)2, NULL));
    /* output starts as NULL */
    oa = ob = (void *)5;
    CHECK_STATUS(TASKS_OK, tasks_join2(never, NULL, &oa, never, NULL, &ob));
    CHECK_EQ_PTR(oa, NULL);
    CHECK_EQ_PTR(ob, NULL);
    CHECK_EQ_INT(AT_LOAD(&g_never), 2);
    /* NULL functions: nothing runs */
    AT_STORE(&g_never, 0);
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join2(NULL, NULL, NULL, never, NULL, NULL));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join2(never, NULL, NULL, NULL, NULL, NULL));
    CHECK_EQ_INT(AT_LOAD(&g_never), 0);
}

static int32_t fib_task(void *arg, void **out) { return fib(arg, out); }

static void fib_on(size_t workers, intptr_t n) {
    tasks_runtime *rt = make_rt(workers);
    AT_STORE(&g_calls, 0);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, fib_task, (void *)n, NULL, &h));
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    tasks_join_handle_free(h);
    CHECK_EQ_INT((intptr_t)out, fib_seq(n));
    CHECK_EQ_INT(AT_LOAD(&g_calls), fib_calls(n));
    tasks_metrics m;
    WAIT_UNTIL((m = get_metrics(rt)).completed == 1);
    CHECK_EQ_U64(m.spawned, 1); /* join2 halves are not tasks */
    free_rt(rt);
}

static void *thread_fib(void *arg) {
    intptr_t n = (intptr_t)arg;
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join2(fib, (void *)n, &out, ret_arg, (void *)3, NULL));
    CHECK_EQ_INT((intptr_t)out, fib_seq(n));
    return NULL;
}

static void off_worker_threads(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, thread_fib, (void *)(intptr_t)(15 + i)) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
}

/* ---- shut-down runtime ---- */
typedef struct sd {
    gate_t started, go;
    int status;
} sd_t;

static int32_t join2_after_shutdown(void *arg, void **out) {
    sd_t *s = arg;
    (void)out;
    gate_open(&s->started);
    gate_wait(&s->go);
    AT_STORE(&g_never, 0);
    s->status = (int)tasks_join2(never, NULL, NULL, never, NULL, NULL);
    return 0;
}

static void shut_down(void) {
    tasks_runtime *rt = make_rt(2);
    sd_t s;
    memset(&s, 0, sizeof s);
    gate_init(&s.started);
    gate_init(&s.go);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, join2_after_shutdown, &s, NULL, NULL));
    gate_wait(&s.started);
    CHECK_STATUS(TASKS_TIMED_OUT, tasks_runtime_shutdown(rt, 1000000));
    gate_open(&s.go);
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, TASKS_FOREVER));
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, s.status);
    CHECK_EQ_INT(AT_LOAD(&g_never), 0);
    free_rt(rt);
}

/* ---- parallelism: b starts on another worker while a waits for it ---- */
static int g_b_started;
static int32_t a_waits_for_b(void *arg, void **out) {
    (void)arg;
    uint64_t t0 = now_ns();
    while (!AT_LOAD(&g_b_started) && now_ns() - t0 < 10 * SEC_NS)
        sleep_ns(100000);
    *out = (void *)(intptr_t)AT_LOAD(&g_b_started);
    return 0;
}
static int32_t b_signals(void *arg, void **out) {
    (void)arg;
    (void)out;
    AT_STORE(&g_b_started, 1);
    return 0;
}
static int32_t parallel_task(void *arg, void **out) {
    (void)arg;
    void *seen = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join2(a_waits_for_b, NULL, &seen, b_signals, NULL, NULL));
    *out = seen;
    return 0;
}

static void parallel_halves(void) {
    tasks_runtime *rt = make_rt(2);
    sleep_ms(20); /* let the other worker go idle: the push must wake it */
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, parallel_task, NULL, NULL, &h));
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, (void *)1);
    tasks_join_handle_free(h);
    free_rt(rt);
}

int main(void) {
    watchdog_start(240, "fj_join2");
    basics();
    watchdog_label("fib on 1 worker");
    fib_on(1, 20);
    watchdog_label("fib on 4 workers");
    fib_on(4, test_scale_factor() >= 1.0 ? 25 : 18);
    watchdog_label("fib from main");
    AT_STORE(&g_calls, 0);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join2(fib, (void *)20, &out, ret_arg, NULL, NULL));
    CHECK_EQ_INT((intptr_t)out, 6765);
    CHECK_EQ_INT(AT_LOAD(&g_calls), fib_calls(20));
    watchdog_label("off-worker threads");
    off_worker_threads();
    watchdog_label("shut down");
    shut_down();
    watchdog_label("parallel halves");
    parallel_halves();
    watchdog_stop();
    printf("fj_join2: results, failures, NULLs, fib on 1/4 workers and from main/threads, shutdown, parallelism\n");
    return 0;
}
