/* The builder: every setter (worker_threads, max_blocking_threads, blocking_keep_alive, thread_name,
   thread_stack_size, on_thread_start, on_thread_stop) returns OK for valid values and TASKS_ERR_INVALID
   for out-of-range ones (0 workers, 0 blocking threads, stack below 64 KiB); two runtimes built from the
   same builder (which stays usable after build, and can be freed before the runtimes); the start/stop
   hooks run once per thread on that thread (counted: after free, starts == stops == workers + blocking
   threads started); worker thread names begin with the prefix; the stack size is applied to workers and
   blocking threads; defaults (no setters) give 1..CPUs workers when TASKS_WORKER_THREADS is unset. */
#include "check.h"

#define PREFIX "tb"
#define STACK (8u << 20)

typedef struct hooks {
    long starts, stops;        /* atomic */
    long bad_name;             /* atomic: start hooks on a worker thread without the prefix */
    long stack_small;          /* atomic */
} hooks_t;

static size_t my_stack_size(void) {
    pthread_attr_t attr;
    CHECK(pthread_getattr_np(pthread_self(), &attr) == 0);
    size_t sz = 0;
    CHECK(pthread_attr_getstacksize(&attr, &sz) == 0);
    pthread_attr_destroy(&attr);
    return sz;
}

static void on_start(void *d) {
    hooks_t *h = d;
    char name[32];
    thread_name(name, sizeof name);
    if (!starts_with(name, PREFIX))
        AT_ADD(&h->bad_name, 1);
    if (my_stack_size() < STACK)
        AT_ADD(&h->stack_small, 1);
    AT_ADD(&h->starts, 1);
}
static void on_stop(void *d) {
    hooks_t *h = d;
    AT_ADD(&h->stops, 1);
}

typedef struct probe {
    char name[32];
    size_t stack;
    tasks_runtime *rt;
    pthread_barrier_t *barrier;
    int small_stack; /* do not use 3 MiB of stack */
} probe_t;

static int deep(int n) {
    volatile char frame[64 * 1024];
    memset((char *)frame, 1, sizeof frame);
    if (n == 0)
        return 0;
    return deep(n - 1) + frame[n * 1000];
}

static int32_t probe_fn(void *p, void **out) {
    probe_t *pr = p;
    thread_name(pr->name, sizeof pr->name);
    pr->stack = my_stack_size();
    pr->rt = tasks_current_runtime();
    /* use a good part of the stack: 3 MiB, more than the 2 MiB default would allow (in 64 KiB frames:
       valgrind treats a single frame above 2 MB as a stack switch) */
    if (!pr->small_stack)
        CHECK_EQ_INT(deep(48), 48);
    if (pr->barrier)
        pthread_barrier_wait(pr->barrier);
    *out = pr;
    return 0;
}

static void run_probe(tasks_runtime *rt, int blocking, probe_t *pr) {
    tasks_join_handle *h = NULL;
    if (blocking)
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, probe_fn, pr, NULL, &h));
    else
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, probe_fn, pr, NULL, &h));
    void *o = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &o));
    CHECK_EQ_PTR(o, pr);
    tasks_join_handle_free(h);
}

int main(void) {
    CHECK(unsetenv("TASKS_WORKER_THREADS") == 0);
    hooks_t hk;
    memset(&hk, 0, sizeof hk);

    tasks_builder *b = tasks_builder_new();
    CHECK(b != NULL);
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_builder_worker_threads(b, 0));
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, 3));
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_builder_max_blocking_threads(b, 0));
    CHECK_STATUS(TASKS_OK, tasks_builder_max_blocking_threads(b, 2));
    CHECK_STATUS(TASKS_OK, tasks_builder_blocking_keep_alive(b, 600 * SEC_NS)); /* no exits during the test */
    CHECK_STATUS(TASKS_OK, tasks_builder_blocking_keep_alive(b, 0));            /* accepted too */
    CHECK_STATUS(TASKS_OK, tasks_builder_blocking_keep_alive(b, 600 * SEC_NS));
    {
        char prefix[8];
        strcpy(prefix, PREFIX);
        CHECK_STATUS(TASKS_OK, tasks_builder_thread_name(b, prefix));
        memset(prefix, 'Z', sizeof prefix - 1); /* copied */
    }
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_builder_thread_stack_size(b, 1024));
    CHECK_STATUS(TASKS_OK, tasks_builder_thread_stack_size(b, STACK));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_on_thread_start(b, NULL, &hk));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_on_thread_stop(b, NULL, &hk));
    CHECK_STATUS(TASKS_OK, tasks_builder_on_thread_start(b, on_start, &hk));
    CHECK_STATUS(TASKS_OK, tasks_builder_on_thread_stop(b, on_stop, &hk));

    tasks_runtime *rt1 = NULL, *rt2 = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt1));
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt2));
    CHECK(rt1 != NULL && rt2 != NULL && rt1 != rt2);
    tasks_builder_free(b); /* runtimes do not depend on the builder */

    /* workers start in build */
    WAIT_UNTIL(AT_LOAD(&hk.starts) == 6);
    CHECK_EQ_INT(AT_LOAD(&hk.stops), 0);
    CHECK_EQ_INT(get_metrics(rt1).workers, 3);
    CHECK_EQ_INT(get_metrics(rt2).workers, 3);

    /* worker tasks: prefix, stack, runtime */
    for (int i = 0; i < 2; i++) {
        tasks_runtime *rt = i ? rt2 : rt1;
        probe_t pr;
        memset(&pr, 0, sizeof pr);
        run_probe(rt, 0, &pr);
        if (!starts_with(pr.name, PREFIX))
            CHECK_FAIL_("worker thread name \"%s\" does not begin with \"%s\"\n", pr.name, PREFIX);
        if (pr.stack < STACK)
            CHECK_FAIL_("worker stack %zu < requested %u\n", pr.stack, STACK);
        CHECK_EQ_PTR(pr.rt, rt);
    }

    /* two blocking tasks meeting at a barrier on rt1: exactly 2 blocking threads (the limit) are started */
    pthread_barrier_t bar;
    CHECK(pthread_barrier_init(&bar, NULL, 2) == 0);
    probe_t bp[2];
    tasks_join_handle *bh[2];
    memset(bp, 0, sizeof bp);
    for (int i = 0; i < 2; i++) {
        bp[i].barrier = &bar;
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt1, probe_fn, &bp[i], NULL, &bh[i]));
    }
    for (int i = 0; i < 2; i++) {
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(bh[i], JOIN_LONG, NULL));
        tasks_join_handle_free(bh[i]);
        if (bp[i].stack < STACK)
            CHECK_FAIL_("blocking thread stack %zu < requested %u\n", bp[i].stack, STACK);
        CHECK_EQ_PTR(bp[i].rt, rt1);
    }
    pthread_barrier_destroy(&bar);
    CHECK_EQ_INT(get_metrics(rt1).blocking_threads, 2);
    /* one more blocking task reuses an idle thread (keep-alive 600 s): no new thread */
    probe_t again;
    memset(&again, 0, sizeof again);
    run_probe(rt1, 1, &again);
    CHECK_EQ_INT(get_metrics(rt1).blocking_threads, 2);
    CHECK_EQ_INT(AT_LOAD(&hk.starts), 8);

    /* free rt1: its 3 workers + 2 blocking threads stop before free returns (the idle ones do not wait
       for their 600 s keep-alive) */
    uint64_t t0 = now_ns();
    free_rt(rt1);
    CHECK(now_ns() - t0 < 30 * SEC_NS);
    CHECK_EQ_INT(AT_LOAD(&hk.stops), 5);
    free_rt(rt2);
    CHECK_EQ_INT(AT_LOAD(&hk.stops), 8);
    CHECK_EQ_INT(AT_LOAD(&hk.starts), 8);
    /* worker threads carry the prefix from the first moment (checked in the start hook for all 8 threads:
       blocking threads are named "<prefix>-blocking") */
    CHECK_EQ_INT(AT_LOAD(&hk.bad_name), 0);
    CHECK_EQ_INT(AT_LOAD(&hk.stack_small), 0);

    /* defaults: no setters */
    b = tasks_builder_new();
    tasks_runtime *rd = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rd));
    tasks_builder_free(b);
    tasks_metrics m = get_metrics(rd);
    cpu_set_t cs;
    CHECK(sched_getaffinity(0, sizeof cs, &cs) == 0);
    long cpus = CPU_COUNT(&cs);
    if (m.workers < 1 || (long)m.workers > cpus)
        CHECK_FAIL_("default worker count %zu not in 1..%ld\n", m.workers, cpus);
    CHECK_EQ_INT(m.blocking_threads, 0);
    probe_t dp;
    memset(&dp, 0, sizeof dp);
    dp.small_stack = 1;
    run_probe(rd, 0, &dp);
    /* at least the 2 MiB default (glibc may hand out a larger cached stack of an exited thread) */
    if (dp.stack < (2u << 20))
        CHECK_FAIL_("default worker stack %zu, expected at least 2 MiB\n", dp.stack);
    CHECK_EQ_PTR(dp.rt, rd);
    free_rt(rd);

    printf("builder: all setters (+ invalid values), two runtimes from one builder, hooks 8 starts == 8 stops "
           "(2x3 workers + 2 blocking), prefix \"%s\" on threads, %u-byte stacks, defaults %zu workers\n",
           PREFIX, STACK, m.workers);
    return 0;
}
