/* Join sets (tasks_join_set_*).
   - completion order: poll tasks held by gates (flag + waker), opened one at a time in a shuffled order:
     join_next returns each task as it finishes, with its id and output;
   - join_next with timeout 0 (PENDING), a short timeout (TIMED_OUT, not early), FOREVER (woken by a task
     finished from another thread); TASKS_EMPTY on an empty set (also with FOREVER and from poll_join_next);
     out-pointers written only as documented (sentinels);
   - len counts tasks spawned and not yet returned by join_next, finished or not;
   - scale(100,000) tasks with mixed outcomes (OK, FAILED, and idle poll tasks cancelled by abort_all after
     every other task finished): each outcome counted exactly, every id returned once, drop_arg once each,
     runtime metrics agree;
   - abort_all: idle tasks cancelled before it returns, the set stays usable;
   - free with unfinished tasks: idle tasks aborted (drop_arg once), untaken outputs of finished tasks
     dropped with drop_output at once, the output of a task still running when the set is freed dropped
     when it finishes; taken outputs never dropped; exact counts after runtime free;
   - poll_join_next from a poll task: PENDING, then woken exactly when a task of the set completes;
   - join_next inside a task on a 1-worker runtime (set created with rt NULL = the task's runtime) does not
     deadlock;
   - rt NULL outside a task: the default runtime; spawn after the runtime shut down: TASKS_ERR_SHUTDOWN,
     nothing taken, len unchanged;
   - NULL arguments; NULL output (dropped with drop_output), NULL id. */
#include "check.h"

#define SENTINEL_PTR ((void *)(uintptr_t)0xdeadbeefu)
#define SENTINEL_ID ((uint64_t)0xfeedfacecafebeefULL)

/* ------------------------------------------------------------------ */
/* A poll task that finishes (READY, or FAILED if fail) with `value` once its gate is opened. */
typedef struct gtask {
    pthread_mutex_t mu;
    int open;           /* guarded by mu */
    tasks_waker *waker; /* guarded by mu */
    int fail;
    void *value;
    int polls;  /* atomic */
    int drops;  /* atomic */
    uint64_t id;
} gtask_t;

static void gtask_init(gtask_t *g, void *value, int fail) {
    memset(g, 0, sizeof *g);
    CHECK(pthread_mutex_init(&g->mu, NULL) == 0);
    g->value = value;
    g->fail = fail;
}

static void gtask_destroy(gtask_t *g) {
    tasks_waker_free(g->waker);
    g->waker = NULL;
    pthread_mutex_destroy(&g->mu);
}

static void gtask_drop(void *p) {
    gtask_t *g = p;
    AT_ADD(&g->drops, 1);
}

static tasks_poll gtask_poll(void *state, tasks_context *cx, void **out) {
    gtask_t *g = state;
    AT_ADD(&g->polls, 1);
    pthread_mutex_lock(&g->mu);
    if (g->open) {
        pthread_mutex_unlock(&g->mu);
        *out = g->value;
        return g->fail ? TASKS_POLL_FAILED : TASKS_POLL_READY;
    }
    tasks_waker_free(g->waker);
    g->waker = tasks_context_waker(cx);
    pthread_mutex_unlock(&g->mu);
    return TASKS_POLL_PENDING;
}

static void gtask_open(gtask_t *g) {
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    tasks_waker *w = g->waker;
    g->waker = NULL;
    pthread_mutex_unlock(&g->mu);
    if (w != NULL)
        tasks_waker_wake(w);
}

static int gtask_polls(gtask_t *g) { return AT_LOAD(&g->polls); }

/* ------------------------------------------------------------------ */
static int32_t ret_arg_ok(void *arg, void **out) {
    *out = arg;
    return 0;
}

static int g_out_drops; /* atomic */
static void count_out_drop(void *p) {
    CHECK(p != NULL);
    AT_ADD(&g_out_drops, 1);
}
static void free_out_drop(void *p) {
    CHECK(p != NULL);
    AT_ADD(&g_out_drops, 1);
    free(p);
}

/* ------------------------------------------------------------------ */
static void completion_order(tasks_runtime *rt) {
    enum { K = 8 };
    const int order[K] = {5, 2, 7, 0, 3, 6, 1, 4};
    gtask_t g[K];
    tasks_join_set *s = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &s));
    CHECK(s != NULL);
    CHECK_EQ_U64(tasks_join_set_len(s), 0);
    for (int i = 0; i < K; i++) {
        gtask_init(&g[i], (void *)(uintptr_t)(100 + i), i == 3 /* one fails */);
        tasks_spawn_opts opts = {"gated", gtask_drop, NULL};
        g[i].id = 0;
        CHECK_STATUS(TASKS_OK, tasks_join_set_spawn_poll(s, gtask_poll, &g[i], &opts, &g[i].id));
        CHECK(g[i].id != 0);
        for (int j = 0; j < i; j++)
            CHECK(g[i].id != g[j].id);
        CHECK_EQ_U64(tasks_join_set_len(s), (uint64_t)i + 1);
    }
    for (int i = 0; i < K; i++)
        WAIT_UNTIL(gtask_polls(&g[i]) == 1);

    /* nothing finished: 0 timeout -> PENDING, short timeout -> TIMED_OUT; nothing written */
    void *out = SENTINEL_PTR;
    uint64_t id = SENTINEL_ID;
    CHECK_STATUS(TASKS_PENDING, tasks_join_set_join_next(s, 0, &out, &id));
    CHECK_EQ_PTR(out, SENTINEL_PTR);
    CHECK_EQ_U64(id, SENTINEL_ID);
    uint64_t t0 = now_ns();
    CHECK_STATUS(TASKS_TIMED_OUT, tasks_join_set_join_next(s, 20 * MS_NS, &out, &id));
    uint64_t took = now_ns() - t0;
    CHECK(took >= 20 * MS_NS);
    CHECK_EQ_PTR(out, SENTINEL_PTR);
    CHECK_EQ_U64(id, SENTINEL_ID);
    CHECK_EQ_U64(tasks_join_set_len(s), K);

    for (int k = 0; k < K; k++) {
        int i = order[k];
        gtask_open(&g[i]);
        out = SENTINEL_PTR;
        id = SENTINEL_ID;
        tasks_status st = tasks_join_set_join_next(s, JOIN_LONG, &out, &id);
        CHECK_STATUS(i == 3 ? TASKS_FAILED : TASKS_OK, st);
        CHECK_EQ_U64(id, g[i].id);
        CHECK_EQ_PTR(out, (void *)(uintptr_t)(100 + i));
        CHECK_EQ_U64(tasks_join_set_len(s), (uint64_t)(K - k - 1));
        /* the others are still waiting */
        if (k + 1 < K)
            CHECK_STATUS(TASKS_PENDING, tasks_join_set_join_next(s, 0, &out, &id));
    }
    out = SENTINEL_PTR;
    id = SENTINEL_ID;
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, 0, &out, &id));
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, 10 * MS_NS, &out, &id));
    t0 = now_ns();
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, TASKS_FOREVER, &out, &id));
    CHECK(now_ns() - t0 < 5 * SEC_NS);
    CHECK_EQ_PTR(out, SENTINEL_PTR);
    CHECK_EQ_U64(id, SENTINEL_ID);
    CHECK_EQ_U64(tasks_join_set_len(s), 0);
    tasks_join_set_free(s);
    for (int i = 0; i < K; i++) {
        CHECK_EQ_INT(AT_LOAD(&g[i].drops), 1);
        CHECK_EQ_INT(gtask_polls(&g[i]), 2);
        gtask_destroy(&g[i]);
    }
}

/* ------------------------------------------------------------------ */
/* len counts finished tasks until join_next returns them; join_next(0) returns a finished task. */
static void len_semantics(tasks_runtime *rt) {
    enum { K = 6 };
    gtask_t g[K];
    tasks_join_set *s = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &s));
    for (int i = 0; i < K; i++) {
        gtask_init(&g[i], (void *)(uintptr_t)(1 + i), 0);
        CHECK_STATUS(TASKS_OK, tasks_join_set_spawn_poll(s, gtask_poll, &g[i], NULL, &g[i].id));
    }
    /* run-to-completion tasks too, without id out-pointer */
    for (int i = 0; i < K; i++)
        CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(s, ret_arg_ok, (void *)(uintptr_t)(1000 + i), NULL, NULL));
    CHECK_EQ_U64(tasks_join_set_len(s), 2 * K);
    for (int i = 0; i < K; i++)
        WAIT_UNTIL(gtask_polls(&g[i]) == 1);
    for (int i = 0; i < K; i++)
        gtask_open(&g[i]);
    for (int i = 0; i < K; i++)
        WAIT_UNTIL(gtask_polls(&g[i]) == 2);
    sleep_ms(20);
    /* all finished, none joined */
    CHECK_EQ_U64(tasks_join_set_len(s), 2 * K);
    int seen_g = 0, seen_r = 0;
    for (int k = 0; k < 2 * K; k++) {
        void *out = NULL;
        uint64_t id = 0;
        /* everything has finished (or finishes promptly): a timeout, not a hang, if it never does */
        CHECK_STATUS(TASKS_OK, tasks_join_set_join_next(s, JOIN_LONG, &out, &id));
        uintptr_t v = (uintptr_t)out;
        if (v >= 1000) {
            CHECK(v < 1000 + K);
            CHECK((seen_r & (1 << (v - 1000))) == 0);
            seen_r |= 1 << (v - 1000);
        } else {
            CHECK(v >= 1 && v <= K);
            CHECK((seen_g & (1 << (v - 1))) == 0);
            seen_g |= 1 << (v - 1);
            CHECK_EQ_U64(id, g[v - 1].id);
        }
        CHECK(id != 0);
        CHECK_EQ_U64(tasks_join_set_len(s), (uint64_t)(2 * K - k - 1));
    }
    CHECK_EQ_INT(seen_g, (1 << K) - 1);
    CHECK_EQ_INT(seen_r, (1 << K) - 1);
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, 0, NULL, NULL));
    /* a finished task is returned by a 0 timeout */
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(s, ret_arg_ok, (void *)(uintptr_t)7, NULL, NULL));
    CHECK_EQ_U64(tasks_join_set_len(s), 1);
    tasks_status st;
    void *out = NULL;
    uint64_t start = now_ns();
    while ((st = tasks_join_set_join_next(s, 0, &out, NULL)) == TASKS_PENDING) {
        CHECK(now_ns() - start < WAIT_LIMIT_NS);
        sleep_ns(100000);
    }
    CHECK_STATUS(TASKS_OK, st);
    CHECK_EQ_PTR(out, (void *)(uintptr_t)7);
    CHECK_EQ_U64(tasks_join_set_len(s), 0);
    tasks_join_set_free(s);
    for (int i = 0; i < K; i++)
        gtask_destroy(&g[i]);
}

/* ------------------------------------------------------------------ */
/* join_next(FOREVER) woken by a task that another thread lets finish */
static void *open_later(void *p) {
    sleep_ms(30);
    gtask_open(p);
    return NULL;
}

static void forever_wait(tasks_runtime *rt) {
    gtask_t g;
    gtask_init(&g, (void *)(uintptr_t)42, 0);
    tasks_join_set *s = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &s));
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn_poll(s, gtask_poll, &g, NULL, &g.id));
    WAIT_UNTIL(gtask_polls(&g) == 1);
    pthread_t th;
    uint64_t t0 = now_ns();
    CHECK(pthread_create(&th, NULL, open_later, &g) == 0);
    void *out = NULL;
    uint64_t id = 0;
    CHECK_STATUS(TASKS_OK, tasks_join_set_join_next(s, TASKS_FOREVER, &out, &id));
    CHECK(now_ns() - t0 >= 30 * MS_NS);
    CHECK_EQ_PTR(out, (void *)(uintptr_t)42);
    CHECK_EQ_U64(id, g.id);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, TASKS_FOREVER, &out, &id));
    tasks_join_set_free(s);
    gtask_destroy(&g);
}

/* ------------------------------------------------------------------ */
/* scale(100,000) tasks, outcome by i % 3: 0 -> OK, 1 -> FAILED, 2 -> idle poll task cancelled later. */
typedef struct mixed {
    int drops; /* atomic, per task */
} mixed_t;

static void mixed_drop(void *p) {
    mixed_t *m = p;
    AT_ADD(&m->drops, 1);
}

static mixed_t *g_mixed;

static int32_t mixed_fn(void *arg, void **out) {
    mixed_t *m = arg;
    size_t i = (size_t)(m - g_mixed);
    *out = (void *)(uintptr_t)(i + 1);
    return i % 3 == 0 ? 0 : 1;
}

static int g_idle_polls; /* atomic */
static tasks_poll idle_forever(void *state, tasks_context *cx, void **out) {
    (void)state;
    (void)cx;
    (void)out;
    AT_ADD(&g_idle_polls, 1);
    return TASKS_POLL_PENDING; /* nobody will wake it: it stays idle until aborted */
}

typedef struct idpair {
    uint64_t id;
    size_t idx;
} idpair_t;

static int cmp_idpair(const void *a, const void *b) {
    uint64_t x = ((const idpair_t *)a)->id, y = ((const idpair_t *)b)->id;
    return x < y ? -1 : x > y ? 1 : 0;
}

static void mixed_outcomes(void) {
    tasks_runtime *rt = make_rt(2);
    const size_t n = (size_t)(scale(100000) / 3 * 3 + 3);
    g_mixed = calloc(n, sizeof *g_mixed);
    uint64_t *ids = calloc(n, sizeof *ids);
    idpair_t *pairs = calloc(n, sizeof *pairs);
    unsigned char *returned = calloc(n, 1);
    CHECK(g_mixed != NULL && ids != NULL && pairs != NULL && returned != NULL);
    AT_STORE(&g_out_drops, 0);
    AT_STORE(&g_idle_polls, 0);
    tasks_join_set *s = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &s));
    tasks_spawn_opts opts = {NULL, mixed_drop, count_out_drop};
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        if (i % 3 == 2)
            CHECK_STATUS(TASKS_OK, tasks_join_set_spawn_poll(s, idle_forever, &g_mixed[i], &opts, &ids[i]));
        else
            CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(s, mixed_fn, &g_mixed[i], &opts, &ids[i]));
        pairs[i].id = ids[i];
        pairs[i].idx = i;
    }
    CHECK_EQ_U64(tasks_join_set_len(s), n);
    qsort(pairs, n, sizeof *pairs, cmp_idpair);
    for (size_t i = 1; i < n; i++)
        CHECK(pairs[i].id != pairs[i - 1].id);

    const size_t finishing = n / 3 * 2, idle = n / 3;
    size_t ok = 0, failed = 0, cancelled = 0;
    for (size_t k = 0; k < finishing; k++) {
        void *out = SENTINEL_PTR;
        uint64_t id = SENTINEL_ID;
        tasks_status st = tasks_join_set_join_next(s, JOIN_LONG, &out, &id);
        CHECK(st == TASKS_OK || st == TASKS_FAILED);
        size_t i = (size_t)(uintptr_t)out - 1;
        CHECK(i < n && i % 3 != 2);
        CHECK_EQ_U64(id, ids[i]);
        CHECK(!returned[i]);
        returned[i] = 1;
        if (st == TASKS_OK) {
            CHECK_EQ_INT(i % 3, 0);
            ok++;
        } else {
            CHECK_EQ_INT(i % 3, 1);
            failed++;
        }
    }
    CHECK_EQ_U64(tasks_join_set_len(s), idle);
    WAIT_UNTIL((size_t)AT_LOAD(&g_idle_polls) == idle);
    /* only idle tasks are left, and none of them can finish */
    CHECK_STATUS(TASKS_PENDING, tasks_join_set_join_next(s, 0, NULL, NULL));
    tasks_join_set_abort_all(s);
    /* idle tasks are cancelled before abort returns */
    for (size_t i = 2; i < n; i += 3)
        CHECK_EQ_INT(AT_LOAD(&g_mixed[i].drops), 1);
    CHECK_EQ_U64(tasks_join_set_len(s), idle);
    for (size_t k = 0; k < idle; k++) {
        void *out = SENTINEL_PTR;
        uint64_t id = SENTINEL_ID;
        CHECK_STATUS(TASKS_CANCELLED, tasks_join_set_join_next(s, JOIN_LONG, &out, &id));
        CHECK_EQ_PTR(out, SENTINEL_PTR); /* output written only for OK/FAILED */
        idpair_t key = {id, 0};
        idpair_t *p = bsearch(&key, pairs, n, sizeof *pairs, cmp_idpair);
        CHECK(p != NULL);
        CHECK_EQ_INT(p->idx % 3, 2);
        CHECK(!returned[p->idx]);
        returned[p->idx] = 1;
        cancelled++;
    }
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, 0, NULL, NULL));
    CHECK_EQ_U64(tasks_join_set_len(s), 0);
    uint64_t t1 = now_ns();
    tasks_join_set_free(s);
    printf("mixed outcomes: %zu tasks: %zu OK, %zu FAILED, %zu CANCELLED (%.1f ms)\n", n, ok, failed, cancelled,
           (double)(t1 - t0) / 1e6);
    CHECK_EQ_U64(ok, n / 3);
    CHECK_EQ_U64(failed, n / 3);
    CHECK_EQ_U64(cancelled, n / 3);
    tasks_metrics m = get_metrics(rt);
    CHECK_EQ_U64(m.completed, ok);
    CHECK_EQ_U64(m.failed, failed);
    CHECK_EQ_U64(m.cancelled, cancelled);
    CHECK_EQ_U64(m.alive, 0);
    free_rt(rt);
    for (size_t i = 0; i < n; i++) {
        CHECK(returned[i]);
        CHECK_EQ_INT(AT_LOAD(&g_mixed[i].drops), 1);
    }
    CHECK_EQ_INT(AT_LOAD(&g_out_drops), 0); /* every output was taken */
    CHECK_EQ_U64((uint64_t)AT_LOAD(&g_idle_polls), idle);
    free(returned);
    free(pairs);
    free(ids);
    free(g_mixed);
    g_mixed = NULL;
}

/* ------------------------------------------------------------------ */
/* abort_all: idle tasks cancelled before it returns; finished ones keep their result; usable afterwards. */
static void abort_all(tasks_runtime *rt) {
    enum { K = 5 };
    gtask_t g[K];
    tasks_join_set *s = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &s));
    for (int i = 0; i < K; i++) {
        gtask_init(&g[i], (void *)(uintptr_t)(1 + i), 0);
        tasks_spawn_opts opts = {"idle", gtask_drop, NULL};
        CHECK_STATUS(TASKS_OK, tasks_join_set_spawn_poll(s, gtask_poll, &g[i], &opts, &g[i].id));
    }
    for (int i = 0; i < K; i++)
        WAIT_UNTIL(gtask_polls(&g[i]) == 1);
    /* task 0 finishes before the abort */
    gtask_open(&g[0]);
    void *out = NULL;
    uint64_t id = 0;
    WAIT_UNTIL(AT_LOAD(&g[0].drops) == 1);
    sleep_ms(10);
    tasks_join_set_abort_all(s);
    for (int i = 1; i < K; i++)
        CHECK_EQ_INT(AT_LOAD(&g[i].drops), 1);
    CHECK_EQ_U64(tasks_join_set_len(s), K);
    int ok = 0, cancelled = 0;
    for (int k = 0; k < K; k++) {
        out = SENTINEL_PTR;
        tasks_status st = tasks_join_set_join_next(s, JOIN_LONG, &out, &id);
        if (st == TASKS_OK) {
            CHECK_EQ_U64(id, g[0].id);
            CHECK_EQ_PTR(out, (void *)(uintptr_t)1);
            ok++;
        } else {
            CHECK_STATUS(TASKS_CANCELLED, st);
            CHECK(id != g[0].id);
            CHECK_EQ_PTR(out, SENTINEL_PTR);
            cancelled++;
        }
    }
    CHECK_EQ_INT(ok, 1);
    CHECK_EQ_INT(cancelled, K - 1);
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, 0, &out, &id));
    /* abort_all on an empty set, then the set is still usable */
    tasks_join_set_abort_all(s);
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(s, ret_arg_ok, (void *)(uintptr_t)9, NULL, &id));
    CHECK_STATUS(TASKS_OK, tasks_join_set_join_next(s, JOIN_LONG, &out, NULL));
    CHECK_EQ_PTR(out, (void *)(uintptr_t)9);
    tasks_join_set_free(s);
    for (int i = 0; i < K; i++) {
        CHECK_EQ_INT(AT_LOAD(&g[i].drops), 1);
        CHECK_EQ_INT(gtask_polls(&g[i]), i == 0 ? 2 : 1);
        gtask_destroy(&g[i]);
    }
}

/* ------------------------------------------------------------------ */
static int g_started; /* atomic */
static int32_t malloc_out_fn(void *arg, void **out) {
    (void)arg;
    int *v = malloc(sizeof *v);
    CHECK(v != NULL);
    *v = 1;
    *out = v;
    AT_ADD(&g_started, 1);
    return 0;
}

static int g_running_started, g_running_saw_cancel; /* atomic */
static int32_t running_until_cancelled(void *arg, void **out) {
    (void)arg;
    AT_STORE(&g_running_started, 1);
    uint64_t t0 = now_ns();
    while (!tasks_current_is_cancelled()) {
        if (now_ns() - t0 > WAIT_LIMIT_NS)
            return 1; /* never cancelled: its (NULL) output is not dropped, and the counts below fail */
        sleep_ms(1);
    }
    AT_STORE(&g_running_saw_cancel, 1);
    sleep_ms(20); /* the set is long gone when this output appears */
    int *v = malloc(sizeof *v);
    CHECK(v != NULL);
    *v = 2;
    *out = v;
    return 0;
}

static void free_with_unfinished(void) {
    enum { K = 10, TAKE = 3, IDLE = 10 };
    tasks_runtime *rt = make_rt(2);
    AT_STORE(&g_out_drops, 0);
    AT_STORE(&g_started, 0);
    gtask_t g[IDLE];
    tasks_join_set *s = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &s));
    tasks_spawn_opts mopts = {"malloc-out", NULL, free_out_drop};
    for (int i = 0; i < K; i++)
        CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(s, malloc_out_fn, NULL, &mopts, NULL));
    for (int i = 0; i < IDLE; i++) {
        gtask_init(&g[i], NULL, 0);
        tasks_spawn_opts opts = {"idle", gtask_drop, free_out_drop};
        CHECK_STATUS(TASKS_OK, tasks_join_set_spawn_poll(s, gtask_poll, &g[i], &opts, NULL));
    }
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(s, running_until_cancelled, NULL, &mopts, NULL));
    CHECK_EQ_U64(tasks_join_set_len(s), K + IDLE + 1);
    for (int i = 0; i < TAKE; i++) {
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_set_join_next(s, JOIN_LONG, &out, NULL));
        CHECK(out != NULL && *(int *)out == 1);
        free(out);
    }
    WAIT_UNTIL(get_metrics(rt).completed == K);
    for (int i = 0; i < IDLE; i++)
        WAIT_UNTIL(gtask_polls(&g[i]) == 1);
    WAIT_UNTIL(AT_LOAD(&g_running_started) == 1);
    CHECK_EQ_INT(AT_LOAD(&g_out_drops), 0);

    tasks_join_set_free(s);
    /* idle tasks cancelled, untaken outputs of finished tasks dropped: at once */
    for (int i = 0; i < IDLE; i++)
        CHECK_EQ_INT(AT_LOAD(&g[i].drops), 1);
    int d = AT_LOAD(&g_out_drops);
    CHECK(d == K - TAKE || d == K - TAKE + 1);
    /* the running task was asked to stop; its output is dropped when it finishes */
    WAIT_UNTIL(AT_LOAD(&g_running_saw_cancel) == 1);
    WAIT_UNTIL(AT_LOAD(&g_out_drops) == K - TAKE + 1);
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_out_drops), K - TAKE + 1);
    for (int i = 0; i < IDLE; i++) {
        CHECK_EQ_INT(AT_LOAD(&g[i].drops), 1);
        CHECK_EQ_INT(gtask_polls(&g[i]), 1);
        gtask_destroy(&g[i]);
    }
}

/* ------------------------------------------------------------------ */
/* poll_join_next from a poll task */
typedef struct consumer {
    tasks_join_set *set;
    int polls;
    int first_status;
    int final_status;
    int empty_status;
    void *out;
    uint64_t id;
    int pending_seen; /* atomic */
} consumer_t;

static tasks_poll consumer_poll(void *state, tasks_context *cx, void **out) {
    consumer_t *c = state;
    c->polls++;
    void *o = SENTINEL_PTR;
    uint64_t id = SENTINEL_ID;
    tasks_status st = tasks_join_set_poll_join_next(c->set, cx, &o, &id);
    if (c->polls == 1)
        c->first_status = (int)st;
    if (st == TASKS_PENDING) {
        if (o != SENTINEL_PTR || id != SENTINEL_ID)
            return TASKS_POLL_FAILED;
        AT_STORE(&c->pending_seen, 1);
        return TASKS_POLL_PENDING;
    }
    c->final_status = (int)st;
    c->out = o;
    c->id = id;
    o = SENTINEL_PTR;
    c->empty_status = (int)tasks_join_set_poll_join_next(c->set, cx, &o, &id);
    if (o != SENTINEL_PTR)
        return TASKS_POLL_FAILED;
    *out = c;
    return TASKS_POLL_READY;
}

static void poll_join_next(tasks_runtime *rt) {
    gtask_t g;
    gtask_init(&g, (void *)(uintptr_t)77, 0);
    consumer_t c;
    memset(&c, 0, sizeof c);
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &c.set));
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn_poll(c.set, gtask_poll, &g, NULL, &g.id));
    WAIT_UNTIL(gtask_polls(&g) == 1);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, consumer_poll, &c, NULL, &h));
    WAIT_UNTIL(AT_LOAD(&c.pending_seen) == 1);
    sleep_ms(20);
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, NULL));
    gtask_open(&g);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &c);
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_PENDING, c.first_status);
    CHECK_STATUS(TASKS_OK, c.final_status);
    CHECK_EQ_PTR(c.out, (void *)(uintptr_t)77);
    CHECK_EQ_U64(c.id, g.id);
    CHECK_STATUS(TASKS_EMPTY, c.empty_status);
    CHECK_EQ_INT(c.polls, 2); /* woken once: when the set's task completed */
    CHECK_EQ_U64(tasks_join_set_len(c.set), 0);
    /* poll_join_next needs a context */
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_set_poll_join_next(c.set, NULL, NULL, NULL));
    tasks_join_set_free(c.set);
    gtask_destroy(&g);
}

/* ------------------------------------------------------------------ */
/* join_next inside a task of a 1-worker runtime: runs the set's tasks while it waits */
static int32_t child(void *arg, void **out) {
    *out = arg;
    return 0;
}

#define PARENT_FAIL(step)                                                                                     \
    do {                                                                                                       \
        *out = (void *)(uintptr_t)(step);                                                                      \
        return 1;                                                                                              \
    } while (0)

static int32_t parent(void *arg, void **out) {
    (void)arg;
    tasks_join_set *s = NULL;
    if (tasks_join_set_new(NULL, &s) != TASKS_OK)
        PARENT_FAIL(1);
    uintptr_t sum = 0;
    for (uintptr_t i = 1; i <= 10; i++)
        if (tasks_join_set_spawn(s, child, (void *)i, NULL, NULL) != TASKS_OK)
            PARENT_FAIL(2);
    for (int i = 0; i < 10; i++) {
        void *o = NULL;
        if (tasks_join_set_join_next(s, JOIN_LONG, &o, NULL) != TASKS_OK)
            PARENT_FAIL(3);
        sum += (uintptr_t)o;
    }
    if (tasks_join_set_join_next(s, TASKS_FOREVER, NULL, NULL) != TASKS_EMPTY)
        PARENT_FAIL(4);
    tasks_join_set_free(s);
    *out = (void *)sum;
    return 0;
}

static void join_next_on_worker(void) {
    tasks_runtime *rt = make_rt(1);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, parent, NULL, NULL, &h));
    void *out = NULL;
    tasks_status st = tasks_join_handle_join(h, JOIN_LONG, &out);
    if (st == TASKS_FAILED)
        CHECK_FAIL_("%s:%d: parent task failed at step %d\n", __FILE__, __LINE__, (int)(uintptr_t)out);
    CHECK_STATUS(TASKS_OK, st);
    CHECK_EQ_PTR(out, (void *)(uintptr_t)55);
    tasks_join_handle_free(h);
    free_rt(rt);
}

/* ------------------------------------------------------------------ */
static int g_null_drops; /* atomic */
static void null_drop(void *p) {
    (void)p;
    AT_ADD(&g_null_drops, 1);
}

static void null_args_and_misc(void) {
    /* NULL arguments */
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_set_new(NULL, NULL));
    tasks_spawn_opts opts = {"x", null_drop, count_out_drop};
    uint64_t id = SENTINEL_ID;
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_set_spawn(NULL, ret_arg_ok, (void *)1, &opts, &id));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_set_spawn_poll(NULL, gtask_poll, (void *)1, &opts, &id));
    CHECK_EQ_U64(tasks_join_set_len(NULL), 0);
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_set_join_next(NULL, 0, NULL, NULL));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_set_join_next(NULL, TASKS_FOREVER, NULL, NULL));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_set_poll_join_next(NULL, NULL, NULL, NULL));
    tasks_join_set_abort_all(NULL);
    tasks_join_set_free(NULL);

    tasks_runtime *rt = make_rt(1);
    tasks_join_set *s = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &s));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_set_spawn(s, NULL, (void *)1, &opts, &id));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_set_spawn_poll(s, NULL, (void *)1, &opts, &id));
    CHECK_EQ_U64(id, SENTINEL_ID);
    CHECK_EQ_U64(tasks_join_set_len(s), 0);
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, 0, NULL, NULL));

    /* NULL output: dropped with drop_output; NULL id fine */
    AT_STORE(&g_out_drops, 0);
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(s, ret_arg_ok, (void *)(uintptr_t)5, &opts, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_set_join_next(s, JOIN_LONG, NULL, NULL));
    CHECK_EQ_INT(AT_LOAD(&g_out_drops), 1);
    WAIT_UNTIL(AT_LOAD(&g_null_drops) == 1);

    /* rt NULL outside a task: the default runtime */
    tasks_join_set *ds = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(NULL, &ds));
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(ds, ret_arg_ok, (void *)(uintptr_t)6, NULL, &id));
    void *out = NULL;
    uint64_t id2 = 0;
    CHECK_STATUS(TASKS_OK, tasks_join_set_join_next(ds, JOIN_LONG, &out, &id2));
    CHECK_EQ_PTR(out, (void *)(uintptr_t)6);
    CHECK_EQ_U64(id2, id);
    tasks_join_set_free(ds);

    /* after shutdown: TASKS_ERR_SHUTDOWN, nothing taken, len unchanged */
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, JOIN_LONG));
    id = SENTINEL_ID;
    int before = AT_LOAD(&g_null_drops);
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_join_set_spawn(s, ret_arg_ok, (void *)1, &opts, &id));
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_join_set_spawn_poll(s, gtask_poll, (void *)1, &opts, &id));
    CHECK_EQ_U64(id, SENTINEL_ID);
    CHECK_EQ_U64(tasks_join_set_len(s), 0);
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, TASKS_FOREVER, NULL, NULL));
    tasks_join_set_free(s);
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_null_drops), before);
    CHECK_EQ_INT(AT_LOAD(&g_out_drops), 1);
}

/* A set outliving its runtime: join_next reports CANCELLED for what never finished, OK for the rest. */
static void set_after_runtime_free(void) {
    tasks_runtime *rt = make_rt(1);
    gtask_t g;
    gtask_init(&g, NULL, 0);
    tasks_join_set *s = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &s));
    tasks_spawn_opts opts = {"idle", gtask_drop, NULL};
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn_poll(s, gtask_poll, &g, &opts, &g.id));
    uint64_t done_id = 0;
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(s, ret_arg_ok, (void *)(uintptr_t)3, NULL, &done_id));
    WAIT_UNTIL(gtask_polls(&g) == 1);
    WAIT_UNTIL(get_metrics(rt).completed == 1);
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g.drops), 1);
    CHECK_EQ_U64(tasks_join_set_len(s), 2);
    int ok = 0, cancelled = 0;
    for (int i = 0; i < 2; i++) {
        void *out = NULL;
        uint64_t id = 0;
        tasks_status st = tasks_join_set_join_next(s, JOIN_LONG, &out, &id);
        if (st == TASKS_OK) {
            CHECK_EQ_U64(id, done_id);
            CHECK_EQ_PTR(out, (void *)(uintptr_t)3);
            ok++;
        } else {
            CHECK_STATUS(TASKS_CANCELLED, st);
            CHECK_EQ_U64(id, g.id);
            cancelled++;
        }
    }
    CHECK_EQ_INT(ok, 1);
    CHECK_EQ_INT(cancelled, 1);
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(s, TASKS_FOREVER, NULL, NULL));
    tasks_join_set_free(s);
    gtask_destroy(&g);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines survive an abort() */
    tasks_runtime *rt = make_rt(2);
    completion_order(rt);
    len_semantics(rt);
    forever_wait(rt);
    abort_all(rt);
    poll_join_next(rt);
    free_rt(rt);
    join_next_on_worker();
    null_args_and_misc();
    set_after_runtime_free();
    free_with_unfinished();
    mixed_outcomes();
    printf("svc_join_set: OK\n");
    return 0;
}
