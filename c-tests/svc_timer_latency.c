/* Timer lateness (a measurement, not a benchmark with a threshold): one poll task on an otherwise idle
   2-worker runtime does scale(10,000) sequential tasks_context_sleep(1 ms); each wake's lateness is
   now_ns() at the next poll minus (now_ns() before the sleep call + 1 ms). Prints median, p90, p99 and
   max lateness in microseconds. Asserts only correctness: never early, every sleep completes (exactly
   one poll per sleep), sleep returns TASKS_OK. The same for tasks_spawn_after(1 ms) chains. */
#include "check.h"

#define DELAY_NS MS_NS

typedef struct lat {
    size_t n, done;
    uint64_t armed; /* now_ns before the sleep call */
    uint64_t *late; /* lateness of each sleep, ns */
    int64_t min_margin;
    int bad_status;
    int polls;
} lat_t;

static tasks_poll lat_poll(void *state, tasks_context *cx, void **out) {
    lat_t *l = state;
    uint64_t now = now_ns();
    l->polls++;
    if (l->polls > 1) {
        /* a poll that is not the wake of the previous sleep would show up as early (or as a poll count
           mismatch below) */
        int64_t margin = (int64_t)(now - (l->armed + DELAY_NS));
        if (margin < l->min_margin)
            l->min_margin = margin;
        l->late[l->done++] = margin < 0 ? 0 : (uint64_t)margin;
        if (l->done == l->n) {
            *out = l;
            return TASKS_POLL_READY;
        }
    }
    l->armed = now_ns();
    tasks_status st = tasks_context_sleep(cx, DELAY_NS);
    if (st != TASKS_OK) {
        l->bad_status = (int)st;
        return TASKS_POLL_FAILED;
    }
    return TASKS_POLL_PENDING;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static void report(const char *what, uint64_t *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_u64);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    printf("%s: %zu x 1 ms, lateness (us): median %.1f, p90 %.1f, p99 %.1f, max %.1f, mean %.1f\n", what, n,
           (double)v[n / 2] / 1e3, (double)v[(n * 90) / 100] / 1e3, (double)v[(n * 99) / 100] / 1e3,
           (double)v[n - 1] / 1e3, (double)sum / (double)n / 1e3);
}

static void sleeps(tasks_runtime *rt, size_t n) {
    lat_t l;
    memset(&l, 0, sizeof l);
    l.n = n;
    l.late = calloc(n, sizeof *l.late);
    l.min_margin = INT64_MAX;
    CHECK(l.late != NULL);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, lat_poll, &l, NULL, &h));
    void *out = NULL;
    /* bounded: a lost timer fails here (with the count reached) instead of hanging */
    tasks_status st = tasks_join_handle_join(h, (uint64_t)n * 10 * MS_NS + WAIT_LIMIT_NS, &out);
    if (st != TASKS_OK)
        CHECK_FAIL_("%s:%d: join: %s after %zu of %zu sleeps (%d polls)\n", __FILE__, __LINE__,
                    tasks_status_str(st), l.done, n, l.polls);
    tasks_join_handle_free(h);
    CHECK_EQ_PTR(out, &l);
    CHECK_EQ_INT(l.bad_status, 0);
    CHECK_EQ_U64(l.done, n);
    CHECK_EQ_U64((uint64_t)l.polls, (uint64_t)n + 1);
    if (l.min_margin < 0)
        CHECK_FAIL_("%s:%d: a 1 ms sleep woke %lld ns early\n", __FILE__, __LINE__, (long long)-l.min_margin);
    report("tasks_context_sleep", l.late, n);
    free(l.late);
}

/* spawn_after chain: each task records its start and spawns the next one 1 ms later. */
typedef struct chain {
    size_t n, done;
    uint64_t armed;
    uint64_t *late;
    int64_t min_margin;
    int failed;
    int finished; /* atomic */
} chain_t;

static int32_t chain_fn(void *arg, void **out) {
    chain_t *c = arg;
    (void)out;
    uint64_t now = now_ns();
    if (c->armed != 0) {
        int64_t margin = (int64_t)(now - (c->armed + DELAY_NS));
        if (margin < c->min_margin)
            c->min_margin = margin;
        c->late[c->done++] = margin < 0 ? 0 : (uint64_t)margin;
    }
    if (c->done == c->n) {
        AT_STORE(&c->finished, 1);
        return 0;
    }
    c->armed = now_ns();
    if (tasks_spawn_after(NULL, DELAY_NS, chain_fn, c, NULL, NULL) != TASKS_OK) {
        c->failed = 1;
        AT_STORE(&c->finished, 1);
        return 1;
    }
    return 0;
}

static void spawn_afters(tasks_runtime *rt, size_t n) {
    chain_t c;
    memset(&c, 0, sizeof c);
    c.n = n;
    c.late = calloc(n, sizeof *c.late);
    c.min_margin = INT64_MAX;
    CHECK(c.late != NULL);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, chain_fn, &c, NULL, NULL));
    uint64_t limit = now_ns() + (uint64_t)n * 10 * MS_NS + WAIT_LIMIT_NS;
    while (!AT_LOAD(&c.finished)) {
        if (now_ns() > limit)
            CHECK_FAIL_("%s:%d: spawn_after chain stuck after %zu of %zu\n", __FILE__, __LINE__, c.done, n);
        sleep_ms(5);
    }
    CHECK_EQ_INT(c.failed, 0);
    CHECK_EQ_U64(c.done, n);
    if (c.min_margin < 0)
        CHECK_FAIL_("%s:%d: a 1 ms spawn_after started %lld ns early\n", __FILE__, __LINE__, (long long)-c.min_margin);
    report("tasks_spawn_after  ", c.late, n);
    free(c.late);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines survive an abort() */
    tasks_runtime *rt = make_rt(2);
    sleep_ms(20); /* let the workers park: an idle runtime */
    size_t n = (size_t)scale(10000);
    sleeps(rt, n);
    spawn_afters(rt, n / 10 > 0 ? n / 10 : 1);
    free_rt(rt);
    printf("svc_timer_latency: OK\n");
    return 0;
}
