/* tasks_runtime_metrics: workers == configured count; after a mix of completed (OK), failed, cancelled
   (aborted before start) and alive (running and queued) tasks, each counter is exact and
   spawned == completed + failed + cancelled + alive; polls counts task runs exactly (a fresh 1-worker
   runtime: 7 run-to-completion tasks + a poll task polled 100 times -> 107); blocking_threads /
   idle_blocking_threads; the queue depth shows queued work; parks counted once the runtime idled. */
#include "check.h"

static int32_t ok_fn(void *p, void **out) {
    (void)p;
    (void)out;
    return 0;
}
static int32_t fail_fn(void *p, void **out) {
    (void)p;
    (void)out;
    return 1;
}
static tasks_poll fail_poll(void *p, tasks_context *cx, void **out) {
    (void)p;
    (void)cx;
    (void)out;
    return TASKS_POLL_FAILED;
}

static tasks_poll yield99(void *p, tasks_context *cx, void **out) {
    int *n = p;
    (void)cx;
    (void)out;
    return ++*n < 100 ? TASKS_POLL_YIELD : TASKS_POLL_READY;
}

static void print_m(const char *what, tasks_metrics m) {
    fprintf(stderr,
            "%s: workers %zu blocking %zu idle %zu spawned %llu completed %llu failed %llu cancelled %llu alive %llu "
            "polls %llu steals %llu parks %llu inj %llu local %llu\n",
            what, m.workers, m.blocking_threads, m.idle_blocking_threads, (unsigned long long)m.spawned,
            (unsigned long long)m.completed, (unsigned long long)m.failed, (unsigned long long)m.cancelled,
            (unsigned long long)m.alive, (unsigned long long)m.polls, (unsigned long long)m.steals,
            (unsigned long long)m.parks, (unsigned long long)m.injection_queue_depth,
            (unsigned long long)m.local_queue_depth);
}

#define EXPECT_METRICS(rt, sp, co, fa, ca, al)                                                                 \
    do {                                                                                                       \
        tasks_metrics m_;                                                                                      \
        uint64_t t0_ = now_ns();                                                                               \
        for (;;) {                                                                                             \
            m_ = get_metrics(rt);                                                                              \
            if (m_.spawned == (sp) && m_.completed == (co) && m_.failed == (fa) && m_.cancelled == (ca) &&     \
                m_.alive == (al))                                                                              \
                break;                                                                                         \
            if (now_ns() - t0_ > WAIT_LIMIT_NS) {                                                              \
                print_m("got", m_);                                                                            \
                CHECK_FAIL_("%s:%d: expected spawned %d completed %d failed %d cancelled %d alive %d\n",       \
                            __FILE__, __LINE__, (int)(sp), (int)(co), (int)(fa), (int)(ca), (int)(al));        \
            }                                                                                                  \
            sleep_ms(1);                                                                                       \
        }                                                                                                      \
        CHECK_EQ_U64(m_.spawned, m_.completed + m_.failed + m_.cancelled + m_.alive);                          \
    } while (0)

/* the counter may be bumped just after the join returned: wait until it reaches n, then it must be exactly n */
#define EXPECT_POLLS(rt, n)                                                                                    \
    do {                                                                                                       \
        WAIT_UNTIL(get_metrics(rt).polls >= (uint64_t)(n));                                                    \
        CHECK_EQ_U64(get_metrics(rt).polls, (n));                                                              \
    } while (0)

int main(void) {
    tasks_runtime *rt = make_rt(2);
    tasks_metrics m = get_metrics(rt);
    CHECK_EQ_INT(m.workers, 2);
    CHECK_EQ_INT(m.blocking_threads, 0);
    CHECK_EQ_INT(m.idle_blocking_threads, 0);
    CHECK_EQ_U64(m.spawned, 0);
    CHECK_EQ_U64(m.alive, 0);
    CHECK_EQ_U64(m.polls, 0);

    /* 10 OK, 5 FAILED (3 run-to-completion + 2 poll) */
    tasks_join_handle *h = NULL;
    for (int i = 0; i < 10; i++) {
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, ok_fn, NULL, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
    }
    for (int i = 0; i < 5; i++) {
        if (i < 3)
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, fail_fn, NULL, NULL, &h));
        else
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, fail_poll, NULL, NULL, &h));
        CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
    }
    EXPECT_METRICS(rt, 15, 10, 5, 0, 0);
    EXPECT_POLLS(rt, 15);

    /* both workers busy (2 alive), 3 queued and aborted (cancelled), 4 queued (alive) */
    busy_t b[2];
    tasks_join_handle *hb[2], *hc[3], *hq[4];
    for (int i = 0; i < 2; i++) {
        gate_init(&b[i].started);
        gate_init(&b[i].go);
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, busy_fn, &b[i], NULL, &hb[i]));
    }
    for (int i = 0; i < 2; i++)
        gate_wait(&b[i].started);
    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, ok_fn, NULL, NULL, &hc[i]));
        tasks_join_handle_abort(hc[i]);
    }
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, ok_fn, NULL, NULL, &hq[i]));
    EXPECT_METRICS(rt, 24, 10, 5, 3, 6);
    m = get_metrics(rt);
    CHECK(m.injection_queue_depth + m.local_queue_depth >= 4); /* the 4 queued ones are somewhere */
    /* the two running busy tasks may be counted when they start or when they finish */
    CHECK(m.polls == 15 || m.polls == 17);

    for (int i = 0; i < 2; i++)
        gate_open(&b[i].go);
    for (int i = 0; i < 2; i++) {
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb[i], JOIN_LONG, NULL));
        tasks_join_handle_free(hb[i]);
        gate_destroy(&b[i].started);
        gate_destroy(&b[i].go);
    }
    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hc[i], 0, NULL));
        tasks_join_handle_free(hc[i]);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hq[i], JOIN_LONG, NULL));
        tasks_join_handle_free(hq[i]);
    }
    EXPECT_METRICS(rt, 24, 16, 5, 3, 0);
    EXPECT_POLLS(rt, 21);
    m = get_metrics(rt);
    CHECK_EQ_U64(m.injection_queue_depth + m.local_queue_depth, 0);

    /* blocking tasks count as tasks; blocking thread gauges */
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, ok_fn, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    EXPECT_METRICS(rt, 25, 17, 5, 3, 0);
    m = get_metrics(rt);
    CHECK_EQ_INT(m.blocking_threads, 1); /* default keep-alive is 10 s */
    WAIT_UNTIL(get_metrics(rt).idle_blocking_threads == 1);
    CHECK_EQ_INT(m.workers, 2);

    /* workers park when there is nothing to do */
    sleep_ms(100);
    CHECK(get_metrics(rt).parks >= 1);
    free_rt(rt);

    /* polls exact on a fresh 1-worker runtime */
    rt = make_rt(1);
    for (int i = 0; i < 7; i++) {
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, ok_fn, NULL, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
    }
    int n = 0;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, yield99, &n, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_EQ_INT(n, 100);
    EXPECT_METRICS(rt, 8, 8, 0, 0, 0);
    EXPECT_POLLS(rt, 107);
    m = get_metrics(rt);
    CHECK_EQ_INT(m.workers, 1);
    CHECK_EQ_U64(m.steals, 0); /* nobody to steal from */
    free_rt(rt);

    printf("metrics: workers, exact spawned/completed/failed/cancelled/alive through a mix (sum holds), polls "
           "exact (107), queue depth, blocking gauges, parks\n");
    return 0;
}
