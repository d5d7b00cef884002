/* tasks_block_in_place: a task spawns N small tasks (rt NULL, so they sit in its worker's local queue / LIFO
   slot) and then calls block_in_place(fn); fn blocks until those N tasks have all run (a counter, with a
   generous timeout) and returns. They must finish while fn still blocks:
   - on a 2-worker runtime (the other worker idle), N = 1 (the LIFO slot) and N = 100, repeated;
   - on a 1-worker runtime (a substitute worker runs them), N = 1 and N = 100, repeated;
   - on a 2-worker runtime with both workers inside block_in_place at once, each waiting for its own queued
     tasks (nothing may be held up by block_in_place);
   fn runs on the calling thread; after block_in_place returns the task goes on as the same task
   (tasks_current_id, tasks_current_runtime) and can spawn and join again.
   Elsewhere it just calls fn: on a non-runtime thread (synchronously, same thread), in a blocking-pool task,
   in a poll task. NULL fn -> TASKS_ERR_NULL. */
#include "check.h"

#define BIP_WAIT_NS (20 * SEC_NS)

typedef struct ctx {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int count;  /* guarded by mu */
    int n;
    int reached;      /* fn saw count == n before its timeout */
    int count_seen;   /* count when fn returned */
    int fn_ran;
    int fn_wrong_thread;
    pthread_t task_thread;
    int status;       /* of block_in_place */
    int after_ok;     /* same task id / runtime afterwards, spawn + join works */
    tasks_runtime *rt;
    gate_t *both;     /* optional: wait until the other block_in_place caller is blocking too */
    int *blocking;    /* optional: atomic count of callers inside fn */
} ctx_t;

static void ctx_init(ctx_t *c, int n, tasks_runtime *rt) {
    memset(c, 0, sizeof *c);
    CHECK(pthread_mutex_init(&c->mu, NULL) == 0);
    CHECK(pthread_cond_init(&c->cv, NULL) == 0);
    c->n = n;
    c->rt = rt;
}

static void ctx_destroy(ctx_t *c) {
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

static int32_t inc_fn(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    pthread_mutex_lock(&c->mu);
    c->count++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* fn for block_in_place: blocks until every queued task has run */
static void wait_fn(void *arg) {
    ctx_t *c = arg;
    c->fn_ran = 1;
    if (!pthread_equal(pthread_self(), c->task_thread))
        c->fn_wrong_thread = 1;
    if (c->blocking != NULL)
        AT_ADD(c->blocking, 1);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(BIP_WAIT_NS / SEC_NS);
    pthread_mutex_lock(&c->mu);
    while (c->count < c->n) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
            break;
    }
    c->reached = c->count >= c->n;
    c->count_seen = c->count;
    pthread_mutex_unlock(&c->mu);
}

static int32_t nop(void *arg, void **out) {
    *out = arg;
    return 0;
}

static int32_t blocker_task(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    c->task_thread = pthread_self();
    uint64_t id = tasks_current_id();
    for (int i = 0; i < c->n; i++)
        if (tasks_spawn(NULL, inc_fn, c, NULL, NULL) != TASKS_OK)
            return 1;
    c->status = (int)tasks_block_in_place(wait_fn, c);
    /* still the same task, on the same runtime; spawning and joining work */
    tasks_join_handle *h = NULL;
    void *o = NULL;
    c->after_ok = tasks_current_id() == id && tasks_current_runtime() == c->rt &&
                  tasks_spawn(NULL, nop, (void *)(uintptr_t)5, NULL, &h) == TASKS_OK &&
                  tasks_join_handle_join(h, JOIN_LONG, &o) == TASKS_OK && o == (void *)(uintptr_t)5;
    tasks_join_handle_free(h);
    return 0;
}

static void check_ctx(ctx_t *c, const char *what) {
    CHECK_STATUS(TASKS_OK, c->status);
    CHECK(c->fn_ran);
    CHECK_EQ_INT(c->fn_wrong_thread, 0);
    if (!c->reached)
        CHECK_FAIL_("%s:%d: %s: only %d of %d tasks queued behind the blocking task ran while it blocked "
                    "(waited %llu s)\n",
                    __FILE__, __LINE__, what, c->count_seen, c->n, (unsigned long long)(BIP_WAIT_NS / SEC_NS));
    CHECK(c->after_ok);
}

static void queued_run_while_blocked(size_t workers, int n, int reps) {
    tasks_runtime *rt = make_rt(workers);
    char what[64];
    snprintf(what, sizeof what, "%zu worker(s), %d queued", workers, n);
    uint64_t worst = 0;
    for (int r = 0; r < reps; r++) {
        ctx_t c;
        ctx_init(&c, n, rt);
        tasks_join_handle *h = NULL;
        uint64_t t0 = now_ns();
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, blocker_task, &c, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG + BIP_WAIT_NS, NULL));
        uint64_t took = now_ns() - t0;
        if (took > worst)
            worst = took;
        tasks_join_handle_free(h);
        check_ctx(&c, what);
        CHECK_EQ_INT(c.count, n);
        ctx_destroy(&c);
    }
    printf("block_in_place, %s: ok x%d (slowest %.3f ms)\n", what, reps, (double)worst / 1e6);
    free_rt(rt);
}

/* Both workers of a 2-worker runtime inside block_in_place at once, each waiting for its own queued tasks. */
static int32_t both_task(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    /* make sure both blocker tasks are running (on the two workers) before either queues anything */
    AT_ADD(c->blocking, 1);
    uint64_t t0 = now_ns();
    while (AT_LOAD(c->blocking) < 2 && now_ns() - t0 < WAIT_LIMIT_NS) {
    }
    return blocker_task(arg, out);
}

static void both_workers_blocked(void) {
    tasks_runtime *rt = make_rt(2);
    for (int r = 0; r < 5; r++) {
        int started = 0;
        ctx_t a, b;
        ctx_init(&a, 50, rt);
        ctx_init(&b, 50, rt);
        a.blocking = b.blocking = &started;
        tasks_join_handle *ha = NULL, *hb = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, both_task, &a, NULL, &ha));
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, both_task, &b, NULL, &hb));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(ha, JOIN_LONG + BIP_WAIT_NS, NULL));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, JOIN_LONG + BIP_WAIT_NS, NULL));
        tasks_join_handle_free(ha);
        tasks_join_handle_free(hb);
        check_ctx(&a, "both workers in block_in_place (task a)");
        check_ctx(&b, "both workers in block_in_place (task b)");
        ctx_destroy(&a);
        ctx_destroy(&b);
    }
    printf("block_in_place on both workers at once: ok\n");
    free_rt(rt);
}

/* ------------------------------------------------------------------ */
typedef struct simple {
    pthread_t expect;
    int calls;
    int wrong_thread;
} simple_t;

static void simple_fn(void *arg) {
    simple_t *s = arg;
    s->calls++;
    if (!pthread_equal(pthread_self(), s->expect))
        s->wrong_thread++;
}

static int32_t blocking_pool_task(void *arg, void **out) {
    simple_t *s = arg;
    (void)out;
    s->expect = pthread_self();
    return tasks_block_in_place(simple_fn, s) == TASKS_OK ? 0 : 1;
}

static tasks_poll poll_task(void *state, tasks_context *cx, void **out) {
    simple_t *s = state;
    (void)cx;
    s->expect = pthread_self();
    if (tasks_block_in_place(simple_fn, s) != TASKS_OK)
        return TASKS_POLL_FAILED;
    *out = s;
    return TASKS_POLL_READY;
}

static void elsewhere(void) {
    /* not a runtime thread: just calls fn, synchronously */
    simple_t s = {pthread_self(), 0, 0};
    CHECK_STATUS(TASKS_OK, tasks_block_in_place(simple_fn, &s));
    CHECK_EQ_INT(s.calls, 1);
    CHECK_EQ_INT(s.wrong_thread, 0);
    CHECK_STATUS(TASKS_OK, tasks_block_in_place(simple_fn, &s));
    CHECK_EQ_INT(s.calls, 2);
    CHECK_STATUS(TASKS_ERR_NULL, tasks_block_in_place(NULL, &s));
    CHECK_EQ_INT(s.calls, 2);

    tasks_runtime *rt = make_rt(2);
    /* a blocking-pool task */
    memset(&s, 0, sizeof s);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, blocking_pool_task, &s, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_EQ_INT(s.calls, 1);
    CHECK_EQ_INT(s.wrong_thread, 0);
    /* a poll task */
    memset(&s, 0, sizeof s);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, poll_task, &s, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    tasks_join_handle_free(h);
    CHECK_EQ_PTR(out, &s);
    CHECK_EQ_INT(s.calls, 1);
    CHECK_EQ_INT(s.wrong_thread, 0);
    free_rt(rt);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines survive an abort() */
    elsewhere();
    queued_run_while_blocked(2, 1, 20);
    queued_run_while_blocked(2, 100, 20);
    queued_run_while_blocked(1, 1, 20);
    queued_run_while_blocked(1, 100, 20);
    both_workers_blocked();
    printf("svc_block_in_place: OK\n");
    return 0;
}
