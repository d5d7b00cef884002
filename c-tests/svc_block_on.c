/* tasks_block_on: drives a poll task on the calling thread.
   - every poll runs on the calling thread; tasks_current_id() inside == tasks_context_id(cx) != 0, and 0
     again after it returns; YIELD re-polls; the output and status come back (OK, FAILED); drop_arg runs
     once; output NULL drops the output with drop_output; task-local values are destroyed by the time it
     returns;
   - wakes from another thread (a waker stored by the poll);
   - tasks_context_sleep inside (1, 5, 20 ms: never early, one poll per sleep);
   - awaiting, with tasks_join_handle_poll, a task spawned (rt NULL inside block_on -> rt) on the runtime
     that finishes later (PENDING first, then its output); a NULL runtime: the default runtime;
   - several threads in block_on on one runtime at once;
   - from a worker of the same runtime -> TASKS_ERR_WOULD_DEADLOCK, nothing taken, poll never called; from
     a worker of another runtime it works;
   - a runtime shut down while block_on waits on it -> TASKS_CANCELLED (drop_arg once); block_on on a shut-down
     runtime -> TASKS_ERR_SHUTDOWN, nothing taken;
   - NULL poll -> TASKS_ERR_NULL. */
#include "check.h"

#define SENTINEL_FOR_OUT ((void *)(uintptr_t)0xdeadbeefu)

typedef struct st {
    pthread_t caller;
    int polls;
    int yields;     /* YIELD this many times first */
    int fail;       /* finish with FAILED */
    int wrong_thread;
    int id_mismatch;
    uint64_t id;
    int drops;      /* atomic */
    void *value;
} st_t;

static void st_drop(void *p) {
    st_t *s = p;
    AT_ADD(&s->drops, 1);
}

static tasks_poll basic_poll(void *state, tasks_context *cx, void **out) {
    st_t *s = state;
    s->polls++;
    if (!pthread_equal(pthread_self(), s->caller))
        s->wrong_thread++;
    uint64_t cid = tasks_context_id(cx);
    if (cid == 0 || tasks_current_id() != cid || (s->id != 0 && s->id != cid))
        s->id_mismatch++;
    s->id = cid;
    if (s->polls <= s->yields)
        return TASKS_POLL_YIELD;
    *out = s->value;
    return s->fail ? TASKS_POLL_FAILED : TASKS_POLL_READY;
}

static int g_out_drops; /* atomic */
static void out_drop(void *p) {
    CHECK(p != NULL);
    AT_ADD(&g_out_drops, 1);
}

static void basic(tasks_runtime *rt) {
    for (int fail = 0; fail < 2; fail++) {
        st_t s;
        memset(&s, 0, sizeof s);
        s.caller = pthread_self();
        s.yields = 10;
        s.fail = fail;
        s.value = (void *)(uintptr_t)(fail ? 0xbad : 0x600d);
        tasks_spawn_opts opts = {"block-on", st_drop, out_drop};
        void *out = NULL;
        CHECK_STATUS(fail ? TASKS_FAILED : TASKS_OK, tasks_block_on(rt, basic_poll, &s, &opts, &out));
        CHECK_EQ_PTR(out, s.value);
        CHECK_EQ_INT(s.polls, 11);
        CHECK_EQ_INT(s.wrong_thread, 0);
        CHECK_EQ_INT(s.id_mismatch, 0);
        CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
        CHECK_EQ_U64(tasks_current_id(), 0);
    }
    /* output NULL: dropped with drop_output */
    st_t s;
    memset(&s, 0, sizeof s);
    s.caller = pthread_self();
    s.value = (void *)(uintptr_t)7;
    tasks_spawn_opts opts = {NULL, st_drop, out_drop};
    AT_STORE(&g_out_drops, 0);
    CHECK_STATUS(TASKS_OK, tasks_block_on(rt, basic_poll, &s, &opts, NULL));
    CHECK_EQ_INT(AT_LOAD(&g_out_drops), 1);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    /* opts NULL */
    memset(&s, 0, sizeof s);
    s.caller = pthread_self();
    s.value = (void *)(uintptr_t)8;
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_block_on(rt, basic_poll, &s, NULL, &out));
    CHECK_EQ_PTR(out, (void *)(uintptr_t)8);
}

/* ------------------------------------------------------------------ */
/* wake from another thread */
typedef struct wk {
    pthread_mutex_t mu;
    tasks_waker *w;
    int done;
    int polls;
    pthread_t th;
    int started;
} wk_t;

static void *waker_thread(void *p) {
    wk_t *k = p;
    sleep_ms(20);
    pthread_mutex_lock(&k->mu);
    k->done = 1;
    tasks_waker *w = k->w;
    k->w = NULL;
    pthread_mutex_unlock(&k->mu);
    tasks_waker_wake(w);
    return NULL;
}

static tasks_poll wk_poll(void *state, tasks_context *cx, void **out) {
    wk_t *k = state;
    k->polls++;
    pthread_mutex_lock(&k->mu);
    if (k->done) {
        pthread_mutex_unlock(&k->mu);
        *out = k;
        return TASKS_POLL_READY;
    }
    tasks_waker_free(k->w);
    k->w = tasks_context_waker(cx);
    pthread_mutex_unlock(&k->mu);
    if (!k->started) {
        k->started = 1;
        CHECK(pthread_create(&k->th, NULL, waker_thread, k) == 0);
    }
    return TASKS_POLL_PENDING;
}

static void wake_from_thread(tasks_runtime *rt) {
    wk_t k;
    memset(&k, 0, sizeof k);
    pthread_mutex_init(&k.mu, NULL);
    void *out = NULL;
    uint64_t t0 = now_ns();
    CHECK_STATUS(TASKS_OK, tasks_block_on(rt, wk_poll, &k, NULL, &out));
    CHECK(now_ns() - t0 >= 20 * MS_NS);
    CHECK_EQ_PTR(out, &k);
    CHECK_EQ_INT(k.polls, 2);
    CHECK(pthread_join(k.th, NULL) == 0);
    CHECK(k.w == NULL);
    pthread_mutex_destroy(&k.mu);
}

/* ------------------------------------------------------------------ */
/* sleeps inside */
typedef struct sl {
    int step;
    uint64_t armed, delay;
    int early;
    int polls;
    int bad_status;
} sl_t;

static const uint64_t k_delays[] = {1 * MS_NS, 5 * MS_NS, 20 * MS_NS};

static tasks_poll sleep_poll(void *state, tasks_context *cx, void **out) {
    sl_t *s = state;
    s->polls++;
    uint64_t now = now_ns();
    if (s->step > 0 && now < s->armed + s->delay)
        s->early++;
    if (s->step == 3) {
        *out = s;
        return TASKS_POLL_READY;
    }
    s->delay = k_delays[s->step++];
    s->armed = now_ns();
    tasks_status st = tasks_context_sleep(cx, s->delay);
    if (st != TASKS_OK) {
        s->bad_status = (int)st;
        return TASKS_POLL_FAILED;
    }
    return TASKS_POLL_PENDING;
}

static void sleeps(tasks_runtime *rt) {
    for (int rep = 0; rep < 3; rep++) {
        sl_t s;
        memset(&s, 0, sizeof s);
        void *out = NULL;
        uint64_t t0 = now_ns();
        CHECK_STATUS(TASKS_OK, tasks_block_on(rt, sleep_poll, &s, NULL, &out));
        CHECK_EQ_PTR(out, &s);
        CHECK_EQ_INT(s.bad_status, 0);
        CHECK_EQ_INT(s.early, 0);
        CHECK_EQ_INT(s.polls, 4);
        CHECK(now_ns() - t0 >= 26 * MS_NS);
    }
}

/* ------------------------------------------------------------------ */
/* await a join handle of a task on the runtime */
typedef struct child {
    gate_t go;
    tasks_runtime *seen_rt;
} child_t;

static int32_t child_fn(void *arg, void **out) {
    child_t *c = arg;
    c->seen_rt = tasks_current_runtime();
    gate_wait(&c->go);
    *out = (void *)(uintptr_t)42;
    return 0;
}

static void *open_gate_later(void *p) {
    sleep_ms(20);
    gate_open(p);
    return NULL;
}

typedef struct aw {
    child_t child;
    tasks_join_handle *h;
    int polls, pendings;
    int spawn_status, join_status;
    pthread_t th;
} aw_t;

static tasks_poll await_poll(void *state, tasks_context *cx, void **out) {
    aw_t *a = state;
    a->polls++;
    if (a->h == NULL) {
        a->spawn_status = (int)tasks_spawn(NULL, child_fn, &a->child, NULL, &a->h); /* rt NULL: block_on's runtime */
        if (a->spawn_status != TASKS_OK)
            return TASKS_POLL_FAILED;
        CHECK(pthread_create(&a->th, NULL, open_gate_later, &a->child.go) == 0);
    }
    void *o = NULL;
    tasks_status st = tasks_join_handle_poll(a->h, cx, &o);
    if (st == TASKS_PENDING) {
        a->pendings++;
        return TASKS_POLL_PENDING;
    }
    a->join_status = (int)st;
    tasks_join_handle_free(a->h);
    a->h = NULL;
    *out = o;
    return TASKS_POLL_READY;
}

static void await_handle(tasks_runtime *rt, tasks_runtime *expect_rt) {
    aw_t a;
    memset(&a, 0, sizeof a);
    gate_init(&a.child.go);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_block_on(rt, await_poll, &a, NULL, &out));
    CHECK_STATUS(TASKS_OK, a.spawn_status);
    CHECK_STATUS(TASKS_OK, a.join_status);
    CHECK_EQ_PTR(out, (void *)(uintptr_t)42);
    CHECK(a.pendings >= 1);
    CHECK_EQ_INT(a.polls, a.pendings + 1);
    CHECK_EQ_PTR(a.child.seen_rt, expect_rt);
    CHECK(pthread_join(a.th, NULL) == 0);
    gate_destroy(&a.child.go);
}

/* ------------------------------------------------------------------ */
/* several threads at once */
static void *block_on_thread(void *p) {
    tasks_runtime *rt = p;
    for (int i = 0; i < 5; i++) {
        sl_t s;
        memset(&s, 0, sizeof s);
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_block_on(rt, sleep_poll, &s, NULL, &out));
        CHECK_EQ_INT(s.early, 0);
        await_handle(rt, rt);
    }
    return NULL;
}

static void concurrent(tasks_runtime *rt) {
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, block_on_thread, rt) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
}

/* ------------------------------------------------------------------ */
/* from a worker */
typedef struct fw {
    tasks_runtime *target;
    st_t s;
    int status;
    void *out;
} fw_t;

static int32_t from_worker(void *arg, void **out) {
    fw_t *f = arg;
    (void)out;
    f->s.caller = pthread_self();
    f->out = (void *)(uintptr_t)0x5e;
    tasks_spawn_opts opts = {NULL, st_drop, NULL};
    f->status = (int)tasks_block_on(f->target, basic_poll, &f->s, &opts, &f->out);
    return 0;
}

static void worker_calls(tasks_runtime *rt) {
    /* same runtime: would deadlock */
    fw_t f;
    memset(&f, 0, sizeof f);
    f.target = rt;
    f.s.value = (void *)(uintptr_t)1;
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, from_worker, &f, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_ERR_WOULD_DEADLOCK, f.status);
    CHECK_EQ_INT(f.s.polls, 0);
    CHECK_EQ_INT(AT_LOAD(&f.s.drops), 0);
    CHECK_EQ_PTR(f.out, (void *)(uintptr_t)0x5e);

    /* a worker of another runtime: fine */
    tasks_runtime *other = make_rt(1);
    memset(&f, 0, sizeof f);
    f.target = rt;
    f.s.value = (void *)(uintptr_t)2;
    f.s.yields = 3;
    CHECK_STATUS(TASKS_OK, tasks_spawn(other, from_worker, &f, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_OK, f.status);
    CHECK_EQ_PTR(f.out, (void *)(uintptr_t)2);
    CHECK_EQ_INT(f.s.polls, 4);
    CHECK_EQ_INT(f.s.wrong_thread, 0);
    CHECK_EQ_INT(AT_LOAD(&f.s.drops), 1);
    free_rt(other);
}

/* ------------------------------------------------------------------ */
/* locals inside block_on */
static int g_local_dtor; /* atomic */
static void local_dtor(void *v) {
    CHECK_EQ_PTR(v, &g_local_dtor);
    AT_ADD(&g_local_dtor, 1);
}
static tasks_local_key *g_key;

static tasks_poll local_poll(void *state, tasks_context *cx, void **out) {
    (void)state;
    (void)cx;
    if (tasks_local_key_get(g_key) != NULL)
        return TASKS_POLL_FAILED;
    if (tasks_local_key_set(g_key, &g_local_dtor) != TASKS_OK)
        return TASKS_POLL_FAILED;
    if (tasks_local_key_get(g_key) != &g_local_dtor)
        return TASKS_POLL_FAILED;
    *out = NULL;
    return TASKS_POLL_READY;
}

static void locals(tasks_runtime *rt) {
    g_key = tasks_local_key_new(local_dtor);
    CHECK(g_key != NULL);
    CHECK_STATUS(TASKS_OK, tasks_block_on(rt, local_poll, NULL, NULL, NULL));
    CHECK_EQ_INT(AT_LOAD(&g_local_dtor), 1);
    CHECK_EQ_PTR(tasks_local_key_get(g_key), NULL);
}

/* ------------------------------------------------------------------ */
/* shutdown while block_on waits; block_on after shutdown */
typedef struct sd {
    tasks_runtime *rt;
    pthread_mutex_t mu;
    tasks_waker *w;
    int release;      /* guarded by mu: the fallback that ends the task if shutdown did not */
    int polls;        /* atomic */
    int drops;        /* atomic */
    int shutdown_status;
    int block_on_returned; /* atomic */
    int sleep;             /* also sleep (200 ms) on the runtime's timer */
} sd_t;

static void sd_drop(void *p) {
    sd_t *s = p;
    AT_ADD(&s->drops, 1);
}

static tasks_poll sd_poll(void *state, tasks_context *cx, void **out) {
    sd_t *s = state;
    AT_ADD(&s->polls, 1);
    pthread_mutex_lock(&s->mu);
    if (s->release) {
        pthread_mutex_unlock(&s->mu);
        *out = NULL;
        return TASKS_POLL_READY;
    }
    tasks_waker_free(s->w);
    s->w = tasks_context_waker(cx);
    pthread_mutex_unlock(&s->mu);
    if (s->sleep && tasks_context_sleep(cx, 200 * MS_NS) != TASKS_OK)
        return TASKS_POLL_FAILED;
    return TASKS_POLL_PENDING;
}

static void *shutdown_thread(void *p) {
    sd_t *s = p;
    WAIT_UNTIL(AT_LOAD(&s->polls) >= 1);
    sleep_ms(20);
    s->shutdown_status = (int)tasks_runtime_shutdown(s->rt, 5 * SEC_NS);
    /* fallback: if block_on did not return, let its task finish so the test fails instead of hanging */
    uint64_t t0 = now_ns();
    while (!AT_LOAD(&s->block_on_returned) && now_ns() - t0 < 5 * SEC_NS)
        sleep_ms(1);
    pthread_mutex_lock(&s->mu);
    s->release = 1;
    tasks_waker *w = s->w;
    s->w = NULL;
    pthread_mutex_unlock(&s->mu);
    tasks_waker_wake(w);
    return NULL;
}

/* The runtime is shut down (from another thread) while block_on waits: its task is idle, so shutdown
   cancels it and block_on returns TASKS_CANCELLED. Variant 1 also sleeps on the runtime's timer: a timer
   dropped by the shutdown must not leave block_on waiting forever. */
static void shutdown_while_waiting(int sleep) {
    tasks_runtime *rt = make_rt(2);
    sd_t s;
    memset(&s, 0, sizeof s);
    s.rt = rt;
    s.sleep = sleep;
    pthread_mutex_init(&s.mu, NULL);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, shutdown_thread, &s) == 0);
    tasks_spawn_opts opts = {"sd", sd_drop, NULL};
    void *out = SENTINEL_FOR_OUT;
    uint64_t t0 = now_ns();
    tasks_status st = tasks_block_on(rt, sd_poll, &s, &opts, &out);
    uint64_t took = now_ns() - t0;
    AT_STORE(&s.block_on_returned, 1);
    CHECK(pthread_join(th, NULL) == 0);
    if (st != TASKS_CANCELLED)
        CHECK_FAIL_("%s:%d: runtime shut down while block_on waited (%s): block_on returned %s after %.0f ms "
                    "(only because the test woke its task %s), shutdown returned %s; expected TASKS_CANCELLED\n",
                    __FILE__, __LINE__, sleep ? "sleeping on a timer" : "waiting for a waker", tasks_status_str(st),
                    (double)took / 1e6, "after 5 s", tasks_status_str(s.shutdown_status));
    CHECK_EQ_PTR(out, SENTINEL_FOR_OUT);
    CHECK_STATUS(TASKS_OK, s.shutdown_status);
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    free_rt(rt);
    tasks_waker_free(s.w);
    pthread_mutex_destroy(&s.mu);
}

static void shutdown_cases(void) {
    tasks_runtime *rt = make_rt(1);
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, JOIN_LONG));
    void *out = SENTINEL_FOR_OUT;
    /* on a runtime that is shut down: nothing taken */
    st_t b;
    memset(&b, 0, sizeof b);
    b.caller = pthread_self();
    tasks_spawn_opts bopts = {NULL, st_drop, NULL};
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_block_on(rt, basic_poll, &b, &bopts, &out));
    CHECK_EQ_INT(b.polls, 0);
    CHECK_EQ_INT(AT_LOAD(&b.drops), 0);
    CHECK_EQ_PTR(out, SENTINEL_FOR_OUT);
    free_rt(rt);
}

/* ------------------------------------------------------------------ */
static void null_args(tasks_runtime *rt) {
    st_t s;
    memset(&s, 0, sizeof s);
    tasks_spawn_opts opts = {NULL, st_drop, NULL};
    void *out = SENTINEL_FOR_OUT;
    CHECK_STATUS(TASKS_ERR_NULL, tasks_block_on(rt, NULL, &s, &opts, &out));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_block_on(NULL, NULL, &s, &opts, &out));
    CHECK_EQ_PTR(out, SENTINEL_FOR_OUT);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines survive an abort() */
    tasks_runtime *rt = make_rt(2);
    basic(rt);
    wake_from_thread(rt);
    sleeps(rt);
    await_handle(rt, rt);
    await_handle(NULL, tasks_runtime_default()); /* rt NULL: the default runtime */
    sleeps(NULL);
    concurrent(rt);
    worker_calls(rt);
    locals(rt);
    null_args(rt);
    free_rt(rt);
    shutdown_cases();
    shutdown_while_waiting(0);
    shutdown_while_waiting(1);
    printf("svc_block_on: OK\n");
    return 0;
}
