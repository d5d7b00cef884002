/* Task-local storage (tasks_local_key_*).
   - several keys per task: get is NULL until set; set replaces and destroys the old value at once; a NULL
     value clears; values still set are destroyed when the task ends, each exactly once, before
     is_finished turns true (the destructor sees is_finished false; after is_finished the counts are final);
   - outside a task: get -> NULL, set -> TASKS_ERR_NO_TASK without destroying (nor taking) the value;
     NULL key: set -> TASKS_ERR_NULL, get -> NULL; a key with a NULL destructor works;
   - values are per task: two interleaving poll tasks on one worker each see only their own values;
   - cancellation: an idle poll task that set locals is aborted -> its values are destroyed before abort
     returns; a running task asked to stop -> destroyed when it ends; runtime free with idle tasks holding
     locals -> all destroyed;
   - a blocking-pool task (spawn_blocking) has its own locals, destroyed when it ends;
   - scale(10,000) tasks (OK / FAILED / aborted idle poll tasks), each setting 2 keys and replacing one:
     destructors counted exactly (3 per task), malloc'd values freed (valgrind). */
#include "check.h"

typedef struct val {
    int key;       /* which key it was set under */
    int destroyed; /* atomic */
} val_t;

static int g_dtor[4];                  /* atomic: destructor calls per key */
static tasks_join_handle *g_watch;     /* atomic: a handle whose is_finished destructors check */
static int g_dtor_saw_finished;        /* atomic: destructor calls that saw is_finished(g_watch) true */
static int g_dtor_watch_calls;         /* atomic */

static void dtor_common(int key, void *v) {
    val_t *x = v;
    CHECK(x != NULL);
    CHECK_EQ_INT(x->key, key);
    AT_ADD(&x->destroyed, 1);
    AT_ADD(&g_dtor[key], 1);
    tasks_join_handle *w = AT_LOAD(&g_watch);
    if (w != NULL) {
        AT_ADD(&g_dtor_watch_calls, 1);
        if (tasks_join_handle_is_finished(w))
            AT_ADD(&g_dtor_saw_finished, 1);
    }
}
static void dtor1(void *v) { dtor_common(1, v); }
static void dtor2(void *v) { dtor_common(2, v); }
static void dtor3(void *v) { dtor_common(3, v); }

static tasks_local_key *k1, *k2, *k3, *k_unset, *k_nodtor;

static void reset_counts(void) {
    for (int i = 0; i < 4; i++)
        AT_STORE(&g_dtor[i], 0);
}

/* ------------------------------------------------------------------ */
typedef struct several {
    gate_t go;
    val_t a1, a2, b, c;
    int failures; /* step that failed, 0 if none */
} several_t;

#define STEP(n, cond)                                                                                          \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            st->failures = (n);                                                                                \
            return 1;                                                                                          \
        }                                                                                                      \
    } while (0)

static int32_t several_fn(void *arg, void **out) {
    several_t *st = arg;
    (void)out;
    gate_wait(&st->go);
    STEP(1, tasks_local_key_get(k1) == NULL && tasks_local_key_get(k2) == NULL && tasks_local_key_get(k3) == NULL);
    STEP(2, tasks_local_key_set(k1, &st->a1) == TASKS_OK);
    STEP(3, tasks_local_key_set(k2, &st->b) == TASKS_OK);
    STEP(4, tasks_local_key_set(k3, &st->c) == TASKS_OK);
    STEP(5, tasks_local_key_get(k1) == &st->a1 && tasks_local_key_get(k2) == &st->b &&
                tasks_local_key_get(k3) == &st->c);
    STEP(6, tasks_local_key_get(k_unset) == NULL);
    STEP(7, tasks_local_key_get(NULL) == NULL);
    STEP(8, tasks_local_key_set(NULL, &st->a1) == TASKS_ERR_NULL);
    STEP(9, AT_LOAD(&st->a1.destroyed) == 0);
    /* replace: the old value is destroyed at once */
    STEP(10, tasks_local_key_set(k1, &st->a2) == TASKS_OK);
    STEP(11, AT_LOAD(&st->a1.destroyed) == 1 && AT_LOAD(&g_dtor[1]) == 1);
    STEP(12, tasks_local_key_get(k1) == &st->a2);
    /* clear with NULL: b destroyed, get -> NULL */
    STEP(13, tasks_local_key_set(k2, NULL) == TASKS_OK);
    STEP(14, AT_LOAD(&st->b.destroyed) == 1 && tasks_local_key_get(k2) == NULL);
    /* a key without destructor */
    STEP(15, tasks_local_key_set(k_nodtor, &st->c) == TASKS_OK && tasks_local_key_get(k_nodtor) == &st->c);
    STEP(16, AT_LOAD(&st->a2.destroyed) == 0 && AT_LOAD(&st->c.destroyed) == 0);
    return 0;
}

static void several_keys(tasks_runtime *rt) {
    several_t st;
    memset(&st, 0, sizeof st);
    gate_init(&st.go);
    st.a1.key = st.a2.key = 1;
    st.b.key = 2;
    st.c.key = 3;
    reset_counts();
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, several_fn, &st, NULL, &h));
    AT_STORE(&g_dtor_saw_finished, 0);
    AT_STORE(&g_dtor_watch_calls, 0);
    AT_STORE(&g_watch, h);
    gate_open(&st.go);
    tasks_status s = tasks_join_handle_join(h, JOIN_LONG, NULL);
    if (st.failures != 0)
        CHECK_FAIL_("%s:%d: several_fn failed at step %d\n", __FILE__, __LINE__, st.failures);
    CHECK_STATUS(TASKS_OK, s);
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    /* final as soon as is_finished is true */
    CHECK_EQ_INT(AT_LOAD(&st.a1.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&st.a2.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&st.b.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&st.c.destroyed), 1); /* once: only k3 has a destructor */
    CHECK_EQ_INT(AT_LOAD(&g_dtor[1]), 2);
    CHECK_EQ_INT(AT_LOAD(&g_dtor[2]), 1);
    CHECK_EQ_INT(AT_LOAD(&g_dtor[3]), 1);
    /* the end-of-task destructors (a2, c) ran before is_finished turned true */
    CHECK(AT_LOAD(&g_dtor_watch_calls) >= 2);
    CHECK_EQ_INT(AT_LOAD(&g_dtor_saw_finished), 0);
    AT_STORE(&g_watch, NULL);
    tasks_join_handle_free(h);
    gate_destroy(&st.go);
}

/* ------------------------------------------------------------------ */
static void outside_task(void) {
    val_t v = {1, 0};
    CHECK_EQ_PTR(tasks_local_key_get(k1), NULL);
    CHECK_EQ_PTR(tasks_local_key_get(NULL), NULL);
    CHECK_STATUS(TASKS_ERR_NO_TASK, tasks_local_key_set(k1, &v));
    CHECK_EQ_PTR(tasks_local_key_get(k1), NULL);
    CHECK_STATUS(TASKS_ERR_NO_TASK, tasks_local_key_set(k1, NULL));
    CHECK_EQ_INT(AT_LOAD(&v.destroyed), 0);
    tasks_status s = tasks_local_key_set(NULL, &v);
    CHECK(s == TASKS_ERR_NULL || s == TASKS_ERR_NO_TASK);
    CHECK_EQ_INT(AT_LOAD(&v.destroyed), 0);
}

/* ------------------------------------------------------------------ */
/* Two poll tasks interleaving on one worker (YIELD) keep separate values. */
typedef struct iso {
    val_t mine;
    int polls;
    int bad; /* poll at which a wrong value was seen */
} iso_t;

static tasks_poll iso_poll(void *state, tasks_context *cx, void **out) {
    iso_t *s = state;
    (void)cx;
    s->polls++;
    void *expect = s->polls == 1 ? NULL : &s->mine;
    if (tasks_local_key_get(k1) != expect && s->bad == 0)
        s->bad = s->polls;
    if (s->polls == 1 && tasks_local_key_set(k1, &s->mine) != TASKS_OK && s->bad == 0)
        s->bad = -1;
    if (s->polls < 20)
        return TASKS_POLL_YIELD;
    *out = s;
    return TASKS_POLL_READY;
}

static void isolation(void) {
    tasks_runtime *rt = make_rt(1);
    reset_counts();
    iso_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.mine.key = b.mine.key = 1;
    tasks_join_handle *ha = NULL, *hb = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, iso_poll, &a, NULL, &ha));
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, iso_poll, &b, NULL, &hb));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(ha, JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, JOIN_LONG, NULL));
    WAIT_UNTIL(tasks_join_handle_is_finished(ha) && tasks_join_handle_is_finished(hb));
    CHECK_EQ_INT(a.bad, 0);
    CHECK_EQ_INT(b.bad, 0);
    CHECK_EQ_INT(AT_LOAD(&a.mine.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&b.mine.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&g_dtor[1]), 2);
    tasks_join_handle_free(ha);
    tasks_join_handle_free(hb);
    free_rt(rt);
}

/* ------------------------------------------------------------------ */
/* An idle poll task holding locals, aborted. */
typedef struct idle_loc {
    val_t v1, v2;
    int polls;    /* atomic */
    int set_ok;   /* atomic */
    int drops;    /* atomic */
} idle_loc_t;

static void idle_loc_drop(void *p) {
    idle_loc_t *s = p;
    AT_ADD(&s->drops, 1);
}

static tasks_poll idle_loc_poll(void *state, tasks_context *cx, void **out) {
    idle_loc_t *s = state;
    (void)cx;
    (void)out;
    if (AT_ADD(&s->polls, 1) == 1 && tasks_local_key_set(k1, &s->v1) == TASKS_OK &&
        tasks_local_key_set(k2, &s->v2) == TASKS_OK)
        AT_STORE(&s->set_ok, 1);
    return TASKS_POLL_PENDING; /* idle until aborted */
}

static int32_t nop(void *arg, void **out) {
    (void)arg;
    (void)out;
    return 0;
}

static void flush_worker(tasks_runtime *rt) {
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, nop, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
}

static void abort_idle(void) {
    tasks_runtime *rt = make_rt(1);
    reset_counts();
    idle_loc_t s;
    memset(&s, 0, sizeof s);
    s.v1.key = 1;
    s.v2.key = 2;
    tasks_spawn_opts opts = {"idle-locals", idle_loc_drop, NULL};
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, idle_loc_poll, &s, &opts, &h));
    WAIT_UNTIL(AT_LOAD(&s.polls) == 1);
    flush_worker(rt); /* the poll has returned: the task is idle */
    CHECK_EQ_INT(AT_LOAD(&s.set_ok), 1);
    CHECK_EQ_INT(AT_LOAD(&s.v1.destroyed), 0);
    tasks_join_handle_abort(h);
    /* cancelled before abort returned: locals destroyed, drop_arg run, finished */
    CHECK_EQ_INT(AT_LOAD(&s.v1.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&s.v2.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    CHECK(tasks_join_handle_is_finished(h));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 0, NULL));
    tasks_join_handle_free(h);
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&s.v1.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&s.v2.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&g_dtor[1]), 1);
    CHECK_EQ_INT(AT_LOAD(&g_dtor[2]), 1);
}

/* A running task asked to stop. */
typedef struct run_loc {
    val_t v;
    int started; /* atomic */
} run_loc_t;

static int32_t run_loc_fn(void *arg, void **out) {
    run_loc_t *s = arg;
    (void)out;
    if (tasks_local_key_set(k3, &s->v) != TASKS_OK)
        return 1;
    AT_STORE(&s->started, 1);
    uint64_t t0 = now_ns();
    while (!tasks_current_is_cancelled() && now_ns() - t0 < WAIT_LIMIT_NS)
        sleep_ms(1);
    return 0;
}

static void abort_running(void) {
    tasks_runtime *rt = make_rt(2);
    reset_counts();
    run_loc_t s;
    memset(&s, 0, sizeof s);
    s.v.key = 3;
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, run_loc_fn, &s, NULL, &h));
    WAIT_UNTIL(AT_LOAD(&s.started) == 1);
    tasks_join_handle_abort(h);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL)); /* its result stands */
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    CHECK_EQ_INT(AT_LOAD(&s.v.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&g_dtor[3]), 1);
    tasks_join_handle_free(h);
    free_rt(rt);
}

/* Runtime free with idle tasks holding locals. */
static void runtime_free_destroys(void) {
    enum { K = 20 };
    tasks_runtime *rt = make_rt(2);
    reset_counts();
    idle_loc_t s[K];
    memset(s, 0, sizeof s);
    tasks_spawn_opts opts = {"idle-locals", idle_loc_drop, NULL};
    for (int i = 0; i < K; i++) {
        s[i].v1.key = 1;
        s[i].v2.key = 2;
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, idle_loc_poll, &s[i], &opts, NULL));
    }
    for (int i = 0; i < K; i++)
        WAIT_UNTIL(AT_LOAD(&s[i].set_ok) == 1);
    CHECK_EQ_INT(AT_LOAD(&g_dtor[1]), 0);
    free_rt(rt);
    for (int i = 0; i < K; i++) {
        CHECK_EQ_INT(AT_LOAD(&s[i].v1.destroyed), 1);
        CHECK_EQ_INT(AT_LOAD(&s[i].v2.destroyed), 1);
        CHECK_EQ_INT(AT_LOAD(&s[i].drops), 1);
    }
    CHECK_EQ_INT(AT_LOAD(&g_dtor[1]), K);
    CHECK_EQ_INT(AT_LOAD(&g_dtor[2]), K);
}

/* ------------------------------------------------------------------ */
/* spawn_blocking: locals of its own, destroyed when it ends */
static int32_t blocking_fn(void *arg, void **out) {
    val_t *v = arg;
    (void)out;
    if (tasks_local_key_get(k1) != NULL)
        return 1;
    if (tasks_local_key_set(k1, v) != TASKS_OK)
        return 2;
    if (tasks_local_key_get(k1) != v)
        return 3;
    return 0;
}

static void blocking_task(tasks_runtime *rt) {
    reset_counts();
    val_t v = {1, 0};
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, blocking_fn, &v, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    CHECK_EQ_INT(AT_LOAD(&v.destroyed), 1);
    CHECK_EQ_INT(AT_LOAD(&g_dtor[1]), 1);
    tasks_join_handle_free(h);
}

/* ------------------------------------------------------------------ */
/* Many tasks, malloc'd values, exact destructor counts. */
static int g_heap_dtors; /* atomic */
static tasks_local_key *h1, *h2;

static void heap_dtor(void *v) {
    CHECK(v != NULL);
    free(v);
    AT_ADD(&g_heap_dtors, 1);
}

static int set_three(void) {
    int *a = malloc(sizeof *a), *b = malloc(sizeof *b), *c = malloc(sizeof *c);
    CHECK(a != NULL && b != NULL && c != NULL);
    if (tasks_local_key_set(h1, a) != TASKS_OK || tasks_local_key_set(h2, b) != TASKS_OK ||
        tasks_local_key_set(h1, c) != TASKS_OK) /* replaces (destroys) a */
        return 0;
    return tasks_local_key_get(h1) == c && tasks_local_key_get(h2) == b;
}

static int g_set_bad; /* atomic */
static int g_idle_ready; /* atomic */

static int32_t many_fn(void *arg, void **out) {
    (void)out;
    if (!set_three())
        AT_ADD(&g_set_bad, 1);
    return (int32_t)(uintptr_t)arg; /* 0: OK, 1: FAILED */
}

static tasks_poll many_idle(void *state, tasks_context *cx, void **out) {
    (void)state;
    (void)cx;
    (void)out;
    if (!set_three())
        AT_ADD(&g_set_bad, 1);
    AT_ADD(&g_idle_ready, 1);
    return TASKS_POLL_PENDING;
}

static void many(void) {
    tasks_runtime *rt = make_rt(2);
    const size_t n = (size_t)scale(10000);
    tasks_join_handle **h = calloc(n, sizeof *h);
    CHECK(h != NULL);
    size_t idle = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 3 == 2) {
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, many_idle, NULL, NULL, &h[i]));
            idle++;
        } else {
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, many_fn, (void *)(uintptr_t)(i % 3), NULL, &h[i]));
        }
    }
    WAIT_UNTIL((size_t)AT_LOAD(&g_idle_ready) == idle);
    size_t ok = 0, failed = 0, cancelled = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 3 == 2) {
            /* the idle task's poll has returned (its counter is bumped just before) or returns soon:
               abort cancels it now or when that poll returns */
            tasks_join_handle_abort(h[i]);
        }
        tasks_status st = tasks_join_handle_join(h[i], JOIN_LONG, NULL);
        if (st == TASKS_OK)
            ok++;
        else if (st == TASKS_FAILED)
            failed++;
        else {
            CHECK_STATUS(TASKS_CANCELLED, st);
            cancelled++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        WAIT_UNTIL(tasks_join_handle_is_finished(h[i]));
        tasks_join_handle_free(h[i]);
    }
    /* every task has fully ended: all its values are destroyed */
    CHECK_EQ_INT(AT_LOAD(&g_set_bad), 0);
    CHECK_EQ_U64((uint64_t)AT_LOAD(&g_heap_dtors), 3 * (uint64_t)n);
    free_rt(rt);
    CHECK_EQ_U64((uint64_t)AT_LOAD(&g_heap_dtors), 3 * (uint64_t)n);
    printf("many: %zu tasks (%zu OK, %zu FAILED, %zu CANCELLED), %d destructor calls\n", n, ok, failed, cancelled,
           AT_LOAD(&g_heap_dtors));
    CHECK_EQ_U64(ok, (n + 2) / 3);
    CHECK_EQ_U64(failed, (n + 1) / 3);
    CHECK_EQ_U64(cancelled, idle);
    free(h);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines survive an abort() */
    k1 = tasks_local_key_new(dtor1);
    k2 = tasks_local_key_new(dtor2);
    k3 = tasks_local_key_new(dtor3);
    k_unset = tasks_local_key_new(dtor1);
    k_nodtor = tasks_local_key_new(NULL);
    h1 = tasks_local_key_new(heap_dtor);
    h2 = tasks_local_key_new(heap_dtor);
    CHECK(k1 != NULL && k2 != NULL && k3 != NULL && k_unset != NULL && k_nodtor != NULL && h1 != NULL && h2 != NULL);
    CHECK(k1 != k2 && k2 != k3 && k1 != k3 && k1 != k_unset && h1 != h2);

    outside_task();
    tasks_runtime *rt = make_rt(2);
    several_keys(rt);
    blocking_task(rt);
    free_rt(rt);
    isolation();
    abort_idle();
    abort_running();
    runtime_free_destroys();
    many();
    outside_task();
    printf("svc_locals: OK\n");
    return 0;
}
