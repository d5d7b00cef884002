/* join called on a worker thread runs other tasks while it waits (one worker):
   - task A spawns T (a poll task that waits for a wake) and C (which wakes T), then joins T: only possible
     if A's join runs C and T on the single worker;
   - a timed join on a worker of a (poll) task that cannot finish yet returns TIMED_OUT after >= 20 ms, and
     join with timeout 0 returns PENDING (a join on a worker may run the joined task itself, so the joined
     task must not block the thread);
   - cross-runtime: a task on rt1 joins a task on rt2 (which finishes when main opens a gate), a task on rt1
     spawns onto rt2 explicitly (the child sees rt2), and a poll task on rt1 polls a handle of rt2. */
#include "check.h"

typedef struct tw {
    tasks_waker *w; /* atomic */
    int woken;      /* atomic */
    int polls;
} tw_t;

static tasks_poll t_poll(void *p, tasks_context *cx, void **out) {
    tw_t *t = p;
    t->polls++;
    /* publish the waker first, then check the flag (c_fn sets the flag, then reads the waker): no lost wake */
    if (AT_LOAD(&t->w) == NULL)
        AT_STORE(&t->w, tasks_context_waker(cx));
    if (AT_LOAD(&t->woken)) {
        *out = t;
        return TASKS_POLL_READY;
    }
    return TASKS_POLL_PENDING;
}

static int32_t c_fn(void *p, void **out) {
    tw_t *t = p;
    (void)out;
    /* C may run before, during or after T's first poll: set the flag, then wake T if it has published
       a waker (if not, T's poll has yet to check the flag and will see it) */
    AT_STORE(&t->woken, 1);
    tasks_waker *w = AT_LOAD(&t->w);
    if (w)
        tasks_waker_wake_by_ref(w);
    return 0;
}

static int32_t a_fn(void *p, void **out) {
    tw_t *t = p;
    tasks_join_handle *ht = NULL, *hc = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(NULL, t_poll, t, NULL, &ht));
    CHECK_STATUS(TASKS_OK, tasks_spawn(NULL, c_fn, t, NULL, &hc));
    void *o = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(ht, JOIN_LONG, &o));
    CHECK_EQ_PTR(o, t);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hc, JOIN_LONG, NULL));
    tasks_join_handle_free(ht);
    tasks_join_handle_free(hc);
    *out = t;
    return 0;
}

static int32_t gated(void *p, void **out) {
    gate_t *g = p;
    gate_wait(g);
    *out = g;
    return 0;
}

typedef struct timed {
    tw_t t; /* a poll task that stays PENDING until woken: helping cannot block the joiner */
    int32_t st0, st20, st_end;
    uint64_t took;
} timed_t;

static int32_t timed_join_fn(void *p, void **out) {
    timed_t *tm = p;
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(NULL, t_poll, &tm->t, NULL, &h)); /* same runtime */
    tm->st0 = tasks_join_handle_join(h, 0, NULL);
    uint64_t t0 = now_ns();
    tm->st20 = tasks_join_handle_join(h, 20 * MS_NS, NULL);
    tm->took = now_ns() - t0;
    c_fn(&tm->t, NULL); /* wake it (if it was polled already; else its first poll sees the flag) */
    tm->st_end = tasks_join_handle_join(h, JOIN_LONG, NULL);
    tasks_join_handle_free(h);
    *out = tm;
    return 0;
}

static int32_t where(void *p, void **out) {
    (void)p;
    *out = tasks_current_runtime();
    return 0;
}

typedef struct cross {
    tasks_runtime *rt2;
    tasks_join_handle *h2; /* a task of rt2 waiting on a gate */
    void *child_rt;
    int32_t st;
    void *out;
} cross_t;

static int32_t cross_fn(void *p, void **out) {
    cross_t *c = p;
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(c->rt2, where, NULL, NULL, &h)); /* explicit other runtime */
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &c->child_rt));
    tasks_join_handle_free(h);
    c->st = tasks_join_handle_join(c->h2, JOIN_LONG, &c->out);
    *out = c;
    return 0;
}

typedef struct cpoll {
    tasks_join_handle *h;
    int polls;
    int32_t st;
    void *out;
} cpoll_t;

static tasks_poll cross_poll(void *p, tasks_context *cx, void **out) {
    cpoll_t *c = p;
    c->polls++;
    int32_t st = tasks_join_handle_poll(c->h, cx, &c->out);
    if (st == TASKS_PENDING)
        return TASKS_POLL_PENDING;
    c->st = st;
    *out = c;
    return TASKS_POLL_READY;
}

int main(void) {
    /* fork-join with a dependency on a sibling, one worker */
    tasks_runtime *rt1 = make_rt(1);
    for (int i = 0; i < 50; i++) {
        tw_t t;
        memset(&t, 0, sizeof t);
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt1, a_fn, &t, NULL, &h));
        void *o = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &o));
        CHECK_EQ_PTR(o, &t);
        tasks_join_handle_free(h);
        if (t.w)
            tasks_waker_free(t.w);
    }
    free_rt(rt1);

    /* timed joins on a worker */
    tasks_runtime *rt = make_rt(2);
    timed_t tm;
    memset(&tm, 0, sizeof tm);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, timed_join_fn, &tm, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_PENDING, tm.st0);
    CHECK_STATUS(TASKS_TIMED_OUT, tm.st20);
    CHECK_STATUS(TASKS_OK, tm.st_end);
    if (tm.t.w)
        tasks_waker_free(tm.t.w);
    if (tm.took < 20 * MS_NS)
        CHECK_FAIL_("timed join on a worker returned after %llu ns (< 20 ms)\n", (unsigned long long)tm.took);

    /* cross-runtime */
    tasks_runtime *rt2 = make_rt(1);
    gate_t g2 = GATE_INIT;
    cross_t c;
    memset(&c, 0, sizeof c);
    c.rt2 = rt2;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt2, gated, &g2, NULL, &c.h2));
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, cross_fn, &c, NULL, &h));
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, NULL));
    sleep_ms(10);
    gate_open(&g2);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_EQ_PTR(c.child_rt, rt2);
    CHECK_STATUS(TASKS_OK, c.st);
    CHECK_EQ_PTR(c.out, &g2);
    tasks_join_handle_free(c.h2);

    gate_t g3 = GATE_INIT;
    cpoll_t cp;
    memset(&cp, 0, sizeof cp);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt2, gated, &g3, NULL, &cp.h));
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, cross_poll, &cp, NULL, &h));
    sleep_ms(10);
    gate_open(&g3);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_OK, cp.st);
    CHECK_EQ_PTR(cp.out, &g3);
    CHECK(cp.polls >= 1 && cp.polls <= 2);
    tasks_join_handle_free(cp.h);

    free_rt(rt2);
    free_rt(rt);
    printf("join_on_worker: 50 fork-joins needing a sibling on one worker, timed join on a worker (PENDING, "
           "TIMED_OUT after %.1f ms), cross-runtime spawn/join/poll\n",
           (double)tm.took / 1e6);
    return 0;
}
