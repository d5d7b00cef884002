/* tasks_spawn_blocking:
   - runs on a thread that is not a worker: on a 1-worker runtime whose worker is blocked, a blocking task
     still runs (on another thread, with a different name), sees tasks_current_runtime() == rt, and the
     worker is never blocked by blocking tasks (a blocking task waits for a worker task to run);
   - up to max_blocking_threads run concurrently: limit 4, 8 tasks each waiting on a barrier of 4 -> all
     progress; never more than 4 at once (counted), metrics.blocking_threads never above 4;
   - idle blocking threads exit after the keep-alive (50 ms): metrics.blocking_threads and
     idle_blocking_threads drop back to 0 and the stop hook ran for each; later blocking tasks start new
     threads; an idle thread is reused while it is alive. */
#include "check.h"

static long g_starts, g_stops;
static void on_start(void *d) {
    (void)d;
    AT_ADD(&g_starts, 1);
}
static void on_stop(void *d) {
    (void)d;
    AT_ADD(&g_stops, 1);
}

typedef struct where {
    pthread_t thread;
    char name[32];
    tasks_runtime *rt;
    gate_t started, go;
} where_t;

static int32_t worker_blocker(void *p, void **out) {
    where_t *w = p;
    (void)out;
    w->thread = pthread_self();
    thread_name(w->name, sizeof w->name);
    w->rt = tasks_current_runtime();
    gate_open(&w->started);
    gate_wait(&w->go);
    return 0;
}

static int32_t record_where(void *p, void **out) {
    where_t *w = p;
    w->thread = pthread_self();
    thread_name(w->name, sizeof w->name);
    w->rt = tasks_current_runtime();
    *out = w;
    return 0;
}

/* a blocking task that waits for a worker task to run */
static gate_t g_worker_ran = GATE_INIT;
static int32_t mark_worker_ran(void *p, void **out) {
    (void)p;
    (void)out;
    gate_open(&g_worker_ran);
    return 0;
}
static int32_t wait_for_worker(void *p, void **out) {
    (void)p;
    (void)out;
    gate_wait(&g_worker_ran);
    return 0;
}

/* barrier tasks */
typedef struct conc {
    pthread_barrier_t *bar;
    tasks_runtime *rt;
    int *current, *max;
    int *over_limit;
} conc_t;

static int32_t barrier_task(void *p, void **out) {
    conc_t *c = p;
    int now = AT_ADD(c->current, 1);
    int m = AT_LOAD(c->max);
    while (now > m && !AT_CAS(c->max, &m, now)) {
    }
    if (get_metrics(c->rt).blocking_threads > 4)
        AT_ADD(c->over_limit, 1);
    pthread_barrier_wait(c->bar);
    AT_ADD(c->current, -1);
    *out = c;
    return 0;
}

static tasks_runtime *build(size_t workers, size_t max_blocking, uint64_t keep_alive) {
    tasks_builder *b = tasks_builder_new();
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, workers));
    CHECK_STATUS(TASKS_OK, tasks_builder_max_blocking_threads(b, max_blocking));
    CHECK_STATUS(TASKS_OK, tasks_builder_blocking_keep_alive(b, keep_alive));
    CHECK_STATUS(TASKS_OK, tasks_builder_on_thread_start(b, on_start, NULL));
    CHECK_STATUS(TASKS_OK, tasks_builder_on_thread_stop(b, on_stop, NULL));
    tasks_runtime *rt = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt));
    tasks_builder_free(b);
    return rt;
}

int main(void) {
    /* --- not a worker thread --- */
    tasks_runtime *rt = build(1, 4, 600 * SEC_NS);
    where_t wk;
    memset(&wk, 0, sizeof wk);
    gate_init(&wk.started);
    gate_init(&wk.go);
    tasks_join_handle *hw = NULL, *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, worker_blocker, &wk, NULL, &hw));
    gate_wait(&wk.started); /* the only worker is blocked */
    where_t bl;
    memset(&bl, 0, sizeof bl);
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, record_where, &bl, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL)); /* runs although the worker is busy */
    tasks_join_handle_free(h);
    CHECK(!pthread_equal(bl.thread, wk.thread));
    CHECK(!pthread_equal(bl.thread, pthread_self()));
    if (strcmp(bl.name, wk.name) == 0)
        CHECK_FAIL_("blocking thread and worker share the name \"%s\"\n", bl.name);
    CHECK_EQ_PTR(bl.rt, rt);
    CHECK_EQ_PTR(wk.rt, rt);
    gate_open(&wk.go);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hw, JOIN_LONG, NULL));
    tasks_join_handle_free(hw);
    /* the reverse: a blocking task waiting for a worker task does not hold up the worker */
    tasks_join_handle *hb2 = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, wait_for_worker, NULL, NULL, &hb2));
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, mark_worker_ran, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb2, JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    tasks_join_handle_free(hb2);
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_starts), AT_LOAD(&g_stops));

    /* --- concurrency up to the limit: 8 tasks, barrier of 4, limit 4 --- */
    rt = build(1, 4, 600 * SEC_NS);
    pthread_barrier_t bar;
    CHECK(pthread_barrier_init(&bar, NULL, 4) == 0);
    int current = 0, max = 0, over = 0;
    conc_t c = {&bar, rt, &current, &max, &over};
    tasks_join_handle *hs[8];
    for (int i = 0; i < 8; i++)
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, barrier_task, &c, NULL, &hs[i]));
    for (int i = 0; i < 8; i++) {
        int32_t st = tasks_join_handle_join(hs[i], JOIN_LONG, NULL);
        if (st != TASKS_OK)
            CHECK_FAIL_("barrier task %d: %s (fewer than 4 blocking threads ran at once?)\n", i,
                        tasks_status_str(st));
        tasks_join_handle_free(hs[i]);
    }
    CHECK_EQ_INT(max, 4);
    CHECK_EQ_INT(over, 0);
    tasks_metrics m = get_metrics(rt);
    CHECK_EQ_INT(m.blocking_threads, 4);
    WAIT_UNTIL(get_metrics(rt).idle_blocking_threads == 4);
    pthread_barrier_destroy(&bar);
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_starts), AT_LOAD(&g_stops));

    /* --- keep-alive: 50 ms --- */
    long starts0 = AT_LOAD(&g_starts), stops0 = AT_LOAD(&g_stops);
    rt = build(1, 4, 50 * MS_NS);
    WAIT_UNTIL(AT_LOAD(&g_starts) == starts0 + 1); /* the worker */
    CHECK(pthread_barrier_init(&bar, NULL, 4) == 0);
    current = max = over = 0;
    c.rt = rt;
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, barrier_task, &c, NULL, &hs[i]));
    for (int i = 0; i < 4; i++) {
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs[i], JOIN_LONG, NULL));
        tasks_join_handle_free(hs[i]);
    }
    CHECK_EQ_INT(AT_LOAD(&g_starts), starts0 + 5);
    uint64_t t0 = now_ns();
    WAIT_UNTIL(get_metrics(rt).blocking_threads == 0);
    uint64_t exit_ms = (now_ns() - t0) / MS_NS;
    m = get_metrics(rt);
    CHECK_EQ_INT(m.idle_blocking_threads, 0);
    WAIT_UNTIL(AT_LOAD(&g_stops) == stops0 + 4); /* the stop hook ran on each exiting blocking thread */
    /* a new blocking task starts a new thread */
    where_t w2;
    memset(&w2, 0, sizeof w2);
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, record_where, &w2, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_EQ_PTR(w2.rt, rt);
    CHECK_EQ_INT(AT_LOAD(&g_starts), starts0 + 6);
    WAIT_UNTIL(get_metrics(rt).blocking_threads == 0);
    pthread_barrier_destroy(&bar);
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_starts), starts0 + 6);
    CHECK_EQ_INT(AT_LOAD(&g_stops), stops0 + 6);

    /* --- reuse of an idle thread (long keep-alive), max 1: many sequential tasks on one thread --- */
    starts0 = AT_LOAD(&g_starts);
    rt = build(1, 1, 600 * SEC_NS);
    pthread_t first = pthread_self();
    for (int i = 0; i < 20; i++) {
        where_t w;
        memset(&w, 0, sizeof w);
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, record_where, &w, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
        if (i == 0)
            first = w.thread;
        else
            CHECK(pthread_equal(first, w.thread));
    }
    CHECK_EQ_INT(get_metrics(rt).blocking_threads, 1);
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_starts), starts0 + 2);
    CHECK_EQ_INT(AT_LOAD(&g_starts), AT_LOAD(&g_stops));

    printf("spawn_blocking: runs off the workers (name \"%s\" vs worker \"%s\"), 8 tasks through a barrier of 4 "
           "with limit 4 (max concurrency 4), idle threads exited %llu ms after a 50 ms keep-alive, reuse\n",
           bl.name, wk.name, (unsigned long long)exit_ms);
    return 0;
}
