/* Poll tasks woken through tasks_waker from tasks_context_waker, from plain pthreads:
   - PENDING, then a plain pthread consumes the waker with tasks_waker_wake -> exactly one more poll;
   - wake_by_ref + free from a pthread; clones (waking through a clone); will_wake (same task true,
     different tasks false, task vs custom waker false);
   - a wake from another thread while the poll runs -> one more poll after it returns;
   - several wakes (from 4 threads) while the task is idle and the only worker is busy -> exactly one poll;
   - wakes of a finished task (by_ref, consuming) do nothing and are safe, also after the runtime is freed;
   - tasks_context_id == task id. */
#include "check.h"

/* ------------------------------------------------------------------ */
/* shared slot where a task publishes a waker for a pthread to use     */
typedef struct slot {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tasks_waker *w;
} slot_t;

static void slot_init(slot_t *s) {
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->w = NULL;
}
static void slot_destroy(slot_t *s) {
    CHECK(s->w == NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}
static void slot_put(slot_t *s, tasks_waker *w) {
    pthread_mutex_lock(&s->mu);
    CHECK(s->w == NULL);
    s->w = w;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}
static tasks_waker *slot_take(slot_t *s) {
    pthread_mutex_lock(&s->mu);
    while (s->w == NULL)
        pthread_cond_wait(&s->cv, &s->mu);
    tasks_waker *w = s->w;
    s->w = NULL;
    pthread_mutex_unlock(&s->mu);
    return w;
}

/* ------------------------------------------------------------------ */
/* 1. wake from a pthread: N rounds of PENDING, each woken by a pthread */
typedef struct rounds {
    slot_t slot;
    int rounds;
    int polls; /* atomic */
    uint64_t id;
    int bad_id;
    int mode; /* 0: consuming wake, 1: wake_by_ref + free, 2: wake a clone, free the original */
} rounds_t;

static tasks_poll rounds_poll(void *state, tasks_context *cx, void **out) {
    rounds_t *r = state;
    int p = AT_ADD(&r->polls, 1);
    uint64_t expect_id = AT_LOAD(&r->id);
    if (expect_id != 0 && tasks_context_id(cx) != expect_id)
        r->bad_id++;
    if (tasks_context_id(cx) != tasks_current_id())
        r->bad_id++;
    if (p > r->rounds) {
        *out = (void *)(intptr_t)p;
        return TASKS_POLL_READY;
    }
    tasks_waker *w = tasks_context_waker(cx);
    CHECK(w != NULL);
    slot_put(&r->slot, w);
    return TASKS_POLL_PENDING;
}

static void *rounds_waker_thread(void *arg) {
    rounds_t *r = arg;
    for (int i = 0; i < r->rounds; i++) {
        tasks_waker *w = slot_take(&r->slot);
        /* the task is not polled again before we wake it */
        CHECK_EQ_INT(AT_LOAD(&r->polls), i + 1);
        if (r->mode == 0) {
            tasks_waker_wake(w);
        } else if (r->mode == 1) {
            tasks_waker_wake_by_ref(w);
            tasks_waker_free(w);
        } else {
            tasks_waker *c = tasks_waker_clone(w);
            CHECK(c != NULL);
            CHECK(tasks_waker_will_wake(w, c));
            CHECK(tasks_waker_will_wake(c, w));
            tasks_waker_free(w);
            tasks_waker_wake(c);
        }
    }
    return NULL;
}

static void test_rounds(tasks_runtime *rt, int mode) {
    rounds_t r;
    memset(&r, 0, sizeof r);
    slot_init(&r.slot);
    r.rounds = 100;
    r.mode = mode;
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, rounds_poll, &r, NULL, &h));
    AT_STORE(&r.id, tasks_join_handle_id(h)); /* the first poll may run before this: checked when non-zero */
    pthread_t th;
    CHECK(pthread_create(&th, NULL, rounds_waker_thread, &r) == 0);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_EQ_INT((intptr_t)out, r.rounds + 1);
    CHECK_EQ_INT(AT_LOAD(&r.polls), r.rounds + 1);
    CHECK_EQ_INT(r.bad_id, 0);
    tasks_join_handle_free(h);
    slot_destroy(&r.slot);
}

/* ------------------------------------------------------------------ */
/* 2. wake from another thread during the poll */
typedef struct during {
    slot_t slot;
    gate_t woken;
    int polls;
} during_t;

static tasks_poll during_poll(void *state, tasks_context *cx, void **out) {
    during_t *d = state;
    d->polls++;
    if (d->polls == 1) {
        slot_put(&d->slot, tasks_context_waker(cx));
        gate_wait(&d->woken); /* the pthread has woken us while we are still in the poll */
        return TASKS_POLL_PENDING;
    }
    *out = d;
    return TASKS_POLL_READY;
}

static void *during_thread(void *arg) {
    during_t *d = arg;
    tasks_waker *w = slot_take(&d->slot);
    tasks_waker_wake_by_ref(w);
    tasks_waker_wake_by_ref(w);
    tasks_waker_wake(w);
    gate_open(&d->woken);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* 3. many wakes while idle coalesce into one poll */
typedef struct coalesce {
    tasks_waker *w; /* clone kept by the test */
    int polls;      /* atomic */
    int finish;     /* atomic: poll returns READY when set */
    uint64_t id;
} coalesce_t;

static tasks_poll coalesce_poll(void *state, tasks_context *cx, void **out) {
    coalesce_t *c = state;
    int p = AT_ADD(&c->polls, 1);
    if (p == 1) {
        c->id = tasks_context_id(cx);
        AT_STORE(&c->w, tasks_context_waker(cx));
    }
    if (AT_LOAD(&c->finish)) {
        *out = c;
        return TASKS_POLL_READY;
    }
    return TASKS_POLL_PENDING;
}

static int32_t busy_until_gate(void *arg, void **out) {
    gate_t *g = arg;
    (void)out;
    gate_wait(&g[0]); /* g[0]: go; g[1]: started */
    return 0;
}

static int32_t mark_started_then_wait(void *arg, void **out) {
    gate_t *g = arg;
    gate_open(&g[1]);
    return busy_until_gate(arg, out);
}

static void *wake_many_thread(void *arg) {
    tasks_waker *w = arg;
    for (int i = 0; i < 250; i++)
        tasks_waker_wake_by_ref(w);
    tasks_waker *c = tasks_waker_clone(w);
    tasks_waker_wake(c);
    return NULL;
}

static void test_coalesce(void) {
    tasks_runtime *rt1 = make_rt(1);
    coalesce_t c;
    memset(&c, 0, sizeof c);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt1, coalesce_poll, &c, NULL, &h));
    WAIT_UNTIL(AT_LOAD(&c.w) != NULL);
    /* occupy the only worker: once the blocker runs, the poll above has fully returned */
    gate_t g[2] = {GATE_INIT, GATE_INIT};
    tasks_join_handle *hb = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt1, mark_started_then_wait, g, NULL, &hb));
    gate_wait(&g[1]);
    CHECK_EQ_INT(AT_LOAD(&c.polls), 1);
    /* 4 threads x 251 wakes while the task is idle and cannot be polled */
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, wake_many_thread, c.w) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    tasks_waker_wake_by_ref(c.w); /* and one from the main thread */
    CHECK_EQ_INT(AT_LOAD(&c.polls), 1);
    gate_open(&g[0]);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, JOIN_LONG, NULL));
    tasks_join_handle_free(hb);
    /* exactly one poll for all those wakes */
    WAIT_UNTIL(AT_LOAD(&c.polls) >= 2);
    /* give a spurious second poll a chance to show up (only detects extra polls; never a false failure) */
    sleep_ms(50);
    CHECK_EQ_INT(AT_LOAD(&c.polls), 2);
    CHECK(!tasks_join_handle_is_finished(h));
    /* finish it */
    AT_STORE(&c.finish, 1);
    tasks_waker_wake_by_ref(c.w);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &c);
    CHECK_EQ_INT(AT_LOAD(&c.polls), 3);
    CHECK_EQ_U64(c.id, tasks_join_handle_id(h));
    /* wakes of a finished task do nothing */
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    for (int i = 0; i < 10; i++)
        tasks_waker_wake_by_ref(c.w);
    tasks_waker *c2 = tasks_waker_clone(c.w);
    tasks_waker_wake(c2);
    sleep_ms(20);
    CHECK_EQ_INT(AT_LOAD(&c.polls), 3);
    tasks_join_handle_free(h);
    tasks_waker_wake_by_ref(c.w); /* handle gone too */
    free_rt(rt1);
    /* and after the runtime is gone */
    tasks_waker_wake_by_ref(c.w);
    tasks_waker *c3 = tasks_waker_clone(c.w);
    CHECK(c3 != NULL);
    CHECK(tasks_waker_will_wake(c3, c.w));
    tasks_waker_wake(c3);
    tasks_waker_free(c.w);
    CHECK_EQ_INT(AT_LOAD(&c.polls), 3);
}

/* ------------------------------------------------------------------ */
/* 4. will_wake across tasks and with custom wakers */
typedef struct ww {
    tasks_waker *a1, *a2;
} ww_t;

static tasks_poll ww_poll(void *state, tasks_context *cx, void **out) {
    ww_t *w = state;
    (void)out;
    w->a1 = tasks_context_waker(cx);
    w->a2 = tasks_context_waker(cx);
    return TASKS_POLL_READY;
}

static void nop_wake(void *d) { (void)d; }

static void test_will_wake(tasks_runtime *rt) {
    ww_t x, y;
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    tasks_join_handle *hx = NULL, *hy = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, ww_poll, &x, NULL, &hx));
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, ww_poll, &y, NULL, &hy));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hx, JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hy, JOIN_LONG, NULL));
    CHECK(x.a1 && x.a2 && y.a1 && y.a2);
    CHECK(tasks_waker_will_wake(x.a1, x.a2)); /* two wakers of the same task */
    CHECK(tasks_waker_will_wake(x.a2, x.a1));
    CHECK(tasks_waker_will_wake(y.a1, y.a2));
    CHECK(!tasks_waker_will_wake(x.a1, y.a1)); /* different tasks */
    CHECK(!tasks_waker_will_wake(y.a2, x.a2));
    int d1, d2;
    tasks_waker *c1 = tasks_waker_new(nop_wake, &d1, NULL);
    tasks_waker *c2 = tasks_waker_new(nop_wake, &d2, NULL);
    tasks_waker *c1b = tasks_waker_clone(c1);
    CHECK(c1 && c2 && c1b);
    CHECK(!tasks_waker_will_wake(c1, x.a1));
    CHECK(!tasks_waker_will_wake(x.a1, c1));
    CHECK(!tasks_waker_will_wake(c1, c2));
    CHECK(tasks_waker_will_wake(c1, c1b));
    tasks_waker_free(c1);
    tasks_waker_free(c2);
    tasks_waker_free(c1b);
    tasks_waker_free(x.a1);
    tasks_waker_free(x.a2);
    tasks_waker_free(y.a1);
    tasks_waker_free(y.a2);
    tasks_join_handle_free(hx);
    tasks_join_handle_free(hy);
}

int main(void) {
    tasks_runtime *rt = make_rt(2);

    test_rounds(rt, 0);
    test_rounds(rt, 1);
    test_rounds(rt, 2);

    during_t d;
    memset(&d, 0, sizeof d);
    slot_init(&d.slot);
    gate_init(&d.woken);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, during_poll, &d, NULL, &h));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, during_thread, &d) == 0);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_EQ_PTR(out, &d);
    CHECK_EQ_INT(d.polls, 2);
    tasks_join_handle_free(h);
    slot_destroy(&d.slot);
    gate_destroy(&d.woken);

    test_coalesce();
    test_will_wake(rt);

    free_rt(rt);
    printf("poll_waker: 3x100 rounds woken from a pthread (wake / wake_by_ref+free / clone), wake during poll -> "
           "1 re-poll, 1005 idle wakes -> 1 poll, wakes of finished task ignored, will_wake\n");
    return 0;
}
