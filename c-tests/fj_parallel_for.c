/* tasks_parallel_for (API.md, "Structured fork-join and data parallelism").
 * - exactly-once coverage: a counter per index, sizes 0, 1, 2, 255, 256, 1000, 10^6, offset ranges, grains
 *   0, 1, 3, 7, 64, 1000, larger than the range; every subrange non-empty, inside the range, at least
 *   min(grain, len) long; on 1 and 4 workers, from the main thread (rt given and rt NULL) and from a task.
 * - begin > end: TASKS_ERR_INVALID; NULL body: TASKS_ERR_NULL; begin == end: OK without a call.
 * - failure: FAILED, and after the failure at most one subrange per worker starts (those already past
 *   their check); on 1 worker nothing starts after it.
 * - abort of the task that runs the loop: CANCELLED, and the loop stops early.
 * - nested loops (parallel_for inside parallel_for) on 1 and 4 workers.
 * - off-worker threads calling at once; loop pieces are not tasks (metrics).
 * - shut-down runtime: TASKS_ERR_SHUTDOWN, body never called.
 * A watchdog turns a hang into a failure. */
#include "check.h"

typedef struct cover {
    uint64_t begin, end, grain;
    unsigned char *hits; /* one per index */
    long calls, bad;
} cover_t;

static int32_t cover_body(void *ctx, uint64_t b, uint64_t e) {
    cover_t *c = ctx;
    AT_ADD(&c->calls, 1);
    uint64_t len = c->end - c->begin;
    uint64_t min = c->grain < len ? c->grain : len;
    if (b >= e || b < c->begin || e > c->end || (e - b) < min)
        AT_ADD(&c->bad, 1);
    for (uint64_t i = b; i < e && i < c->end; i++)
        __atomic_add_fetch(&c->hits[i - c->begin], 1, __ATOMIC_RELAXED);
    return 0;
}

static void check_cover(tasks_runtime *rt, uint64_t begin, uint64_t len, uint64_t grain) {
    cover_t c;
    memset(&c, 0, sizeof c);
    c.begin = begin;
    c.end = begin + len;
    c.grain = grain == 0 ? 1 : grain;
    c.hits = calloc(len ? len : 1, 1);
    CHECK(c.hits != NULL);
    CHECK_STATUS(TASKS_OK, tasks_parallel_for(rt, c.begin, c.end, grain, cover_body, &c));
    CHECK_EQ_INT(c.bad, 0);
    for (uint64_t i = 0; i < len; i++) {
        if (c.hits[i] != 1)
            CHECK_FAIL_("index %llu of [%llu, %llu) grain %llu covered %d times\n", (unsigned long long)(begin + i),
                        (unsigned long long)begin, (unsigned long long)(begin + len), (unsigned long long)grain,
                        c.hits[i]);
    }
    if (len == 0)
        CHECK_EQ_INT(c.calls, 0);
    else
        CHECK(c.calls >= 1 && (uint64_t)c.calls <= len);
    free(c.hits);
}

static const uint64_t k_sizes[] = {0, 1, 2, 255, 256, 1000, 1000000};
static const uint64_t k_grains[] = {0, 1, 3, 7, 64, 1000, 5000000};

static void cover_all(tasks_runtime *rt) {
    for (size_t s = 0; s < sizeof k_sizes / sizeof k_sizes[0]; s++)
        for (size_t g = 0; g < sizeof k_grains / sizeof k_grains[0]; g++) {
            uint64_t len = k_sizes[s];
            if (len == 1000000 && k_grains[g] < 64 && test_scale_factor() < 1.0)
                continue;
            check_cover(rt, 0, len, k_grains[g]);
            check_cover(rt, UINT64_C(1) << 40, len, k_grains[g]);
        }
}

static int32_t cover_task(void *arg, void **out) {
    (void)out;
    cover_all((tasks_runtime *)arg);
    return 0;
}

static int32_t never_body(void *ctx, uint64_t b, uint64_t e) {
    (void)b;
    (void)e;
    AT_ADD((long *)ctx, 1);
    return 0;
}

static void args(void) {
    long calls = 0;
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_parallel_for(NULL, 5, 4, 1, never_body, &calls));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_parallel_for(NULL, 0, 4, 1, NULL, &calls));
    CHECK_STATUS(TASKS_OK, tasks_parallel_for(NULL, 7, 7, 1, never_body, &calls));
    CHECK_EQ_INT(calls, 0);
}

/* ---- failure ---- */
typedef struct failing {
    int failed;
    long after; /* calls that started after the failing call returned */
    long calls;
} failing_t;

static int32_t fail_once(void *ctx, uint64_t b, uint64_t e) {
    failing_t *f = ctx;
    (void)e;
    AT_ADD(&f->calls, 1);
    if (AT_LOAD(&f->failed))
        AT_ADD(&f->after, 1);
    if (b == 0) {
        AT_STORE(&f->failed, 1);
        return 1;
    }
    sleep_ns(20000);
    return 0;
}

static void failure(size_t workers) {
    tasks_runtime *rt = make_rt(workers);
    failing_t f;
    memset(&f, 0, sizeof f);
    CHECK_STATUS(TASKS_FAILED, tasks_parallel_for(rt, 0, 100000, 1, fail_once, &f));
    if (workers == 1)
        CHECK_EQ_INT(f.calls, 1); /* the leftmost piece runs first and stops the rest */
    else if (f.after > (long)workers)
        CHECK_FAIL_("%ld subranges started after the failure on %zu workers\n", f.after, workers);
    free_rt(rt);
}

/* ---- abort of the task running the loop ---- */
/* Every piece waits until the abort has been made: a piece that simply slept could let the loop
 * (two pieces on 1 worker, about eight on 4) finish before a slow main thread aborts it, and a loop
 * that ran every subrange returns TASKS_OK. The pieces that run at once (one per worker) are fewer
 * than the pieces, so at least one starts after the abort and must see it. */
typedef struct slow {
    gate_t first;   /* a piece has started */
    gate_t aborted; /* the main thread has aborted the looping task */
    long calls;
} slow_t;

static int32_t slow_body(void *ctx, uint64_t b, uint64_t e) {
    slow_t *s = ctx;
    (void)b;
    (void)e;
    AT_ADD(&s->calls, 1);
    gate_open(&s->first);
    gate_wait(&s->aborted);
    return 0;
}

static int32_t loop_task(void *arg, void **out) {
    *out = (void *)(intptr_t)tasks_parallel_for(NULL, 0, 100000, 1, slow_body, arg);
    return 0;
}

static void abort_caller(size_t workers) {
    tasks_runtime *rt = make_rt(workers);
    slow_t s;
    memset(&s, 0, sizeof s);
    gate_init(&s.first);
    gate_init(&s.aborted);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, loop_task, &s, NULL, &h));
    gate_wait(&s.first);
    tasks_join_handle_abort(h);
    gate_open(&s.aborted);
    void *out = NULL;
    uint64_t t0 = now_ns();
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out)); /* the task's own result stands */
    CHECK_STATUS(TASKS_CANCELLED, (int)(intptr_t)out);
    CHECK(now_ns() - t0 < 10 * SEC_NS);
    CHECK(AT_LOAD(&s.calls) < 100000);
    tasks_join_handle_free(h);
    free_rt(rt);
    gate_destroy(&s.first);
    gate_destroy(&s.aborted);
}

/* ---- nesting ---- */
typedef struct outer {
    long *cells; /* N x N */
    uint64_t n;
} outer_t;

typedef struct row {
    outer_t *o;
    uint64_t r;
} row_t;

static int32_t inner_body(void *ctx, uint64_t b, uint64_t e) {
    row_t *row = ctx;
    for (uint64_t i = b; i < e; i++)
        AT_ADD(&row->o->cells[row->r * row->o->n + i], 1);
    return 0;
}

static int32_t outer_body(void *ctx, uint64_t b, uint64_t e) {
    outer_t *o = ctx;
    for (uint64_t r = b; r < e; r++) {
        row_t row = {o, r};
        if (tasks_parallel_for(NULL, 0, o->n, 3, inner_body, &row) != TASKS_OK)
            return 1;
    }
    return 0;
}

static void nested(tasks_runtime *rt) {
    outer_t o;
    o.n = 200;
    o.cells = calloc(o.n * o.n, sizeof(long));
    CHECK(o.cells != NULL);
    CHECK_STATUS(TASKS_OK, tasks_parallel_for(rt, 0, o.n, 1, outer_body, &o));
    for (uint64_t i = 0; i < o.n * o.n; i++)
        CHECK_EQ_INT(o.cells[i], 1);
    free(o.cells);
}

static void *thread_cover(void *arg) {
    (void)arg;
    check_cover(NULL, 3, 100000, 0);
    check_cover(NULL, 0, 255, 7);
    return NULL;
}

static void shut_down(void) {
    tasks_runtime *rt = make_rt(2);
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, TASKS_FOREVER));
    long calls = 0;
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_parallel_for(rt, 0, 100, 1, never_body, &calls));
    CHECK_EQ_INT(calls, 0);
    free_rt(rt);
}

int main(void) {
    watchdog_start(280, "fj_parallel_for: args");
    args();
    for (size_t w = 1; w <= 4; w += 3) {
        tasks_runtime *rt = make_rt(w);
        watchdog_label("coverage from main");
        cover_all(rt);
        watchdog_label("coverage from a task");
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, cover_task, rt, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
        watchdog_label("nested loops");
        nested(rt);
        tasks_metrics m = get_metrics(rt);
        CHECK_EQ_U64(m.spawned, 1); /* loop pieces are not tasks */
        free_rt(rt);
        watchdog_label("failure");
        failure(w);
        watchdog_label("abort of the calling task");
        abort_caller(w);
    }
    watchdog_label("rt NULL from main");
    check_cover(NULL, 0, 1000000, 0);
    watchdog_label("off-worker threads");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, thread_cover, NULL) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    watchdog_label("shut down");
    shut_down();
    watchdog_stop();
    printf("fj_parallel_for: exactly-once coverage (sizes x grains, 1/4 workers, main/task/threads), args, "
           "failure, abort, nesting, shutdown\n");
    return 0;
}
