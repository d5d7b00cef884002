/* Local executor (tasks_executor_*): tasks on a thread you own.
   - bound to the creating thread: tasks (spawned from the owner or from 4 other threads) only ever run on
     it, inside tasks_executor_run; run polls at most max_polls; len = tasks not yet finished;
   - run from another thread returns 0 and runs nothing; free from another thread does nothing (the
     executor stays usable);
   - wakes from 4 threads: each thread wakes each of 8 poll tasks scale(2000) times (a counter bumped before
     every wake): every task ends having seen every bump (no lost wake), the owner sleeping on the notify
     callback in between; notify is called (> 0 times), set_notify(NULL) removes the hook;
   - abort of an executor task from another thread (idle, and never started): carried out at the owner's
     next run, drop_arg on the owner thread, never polled (again), join -> CANCELLED;
   - free cancels what is left (idle and never-started tasks): drop_arg on the owner, handles report
     CANCELLED, nothing runs;
   - a join handle of an executor task joined from another thread, and from a runtime worker with
     TASKS_FOREVER (which must not run the executor task on the worker);
   - an executor task awaiting a runtime task's join handle; sleeping (tasks_context_sleep, timers driven by
     the default runtime, never early); task-local values (destroyed when the task ends);
   - a task that yields forever does not make run loop past max_polls;
   - NULL arguments. */
#include "check.h"

static pthread_t g_owner;

/* ------------------------------------------------------------------ */
/* notify: a flag + condvar the owner sleeps on */
typedef struct notifier {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int flag;
    int calls; /* guarded by mu */
} notifier_t;

static notifier_t g_nt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void notify_cb(void *data) {
    notifier_t *n = data;
    pthread_mutex_lock(&n->mu);
    n->flag = 1;
    n->calls++;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

static int notify_calls(void) {
    pthread_mutex_lock(&g_nt.mu);
    int c = g_nt.calls;
    pthread_mutex_unlock(&g_nt.mu);
    return c;
}

/* Waits for a notify (consuming the flag); false on timeout. */
static int wait_notify(uint64_t timeout_ns) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    uint64_t ns = (uint64_t)until.tv_nsec + timeout_ns % SEC_NS;
    until.tv_sec += (time_t)(timeout_ns / SEC_NS + ns / SEC_NS);
    until.tv_nsec = (long)(ns % SEC_NS);
    pthread_mutex_lock(&g_nt.mu);
    while (!g_nt.flag) {
        if (pthread_cond_timedwait(&g_nt.cv, &g_nt.mu, &until) == ETIMEDOUT)
            break;
    }
    int got = g_nt.flag;
    g_nt.flag = 0;
    pthread_mutex_unlock(&g_nt.mu);
    return got;
}

/* The owner's loop: run until done(arg), sleeping on notify when nothing is ready. */
#define DRIVE(ex, done_expr)                                                                                   \
    do {                                                                                                       \
        while (!(done_expr)) {                                                                                 \
            size_t polled_ = tasks_executor_run((ex), 1000);                                                   \
            if (polled_ == 0 && !(done_expr) && !wait_notify(WAIT_LIMIT_NS))                                   \
                CHECK_FAIL_("%s:%d: no notify for %llu s while waiting for: %s (executor len %zu)\n", __FILE__, \
                            __LINE__, (unsigned long long)(WAIT_LIMIT_NS / SEC_NS), #done_expr,                \
                            tasks_executor_len(ex));                                                           \
        }                                                                                                      \
    } while (0)

static void run_on_thread(void *(*fn)(void *), void *arg) {
    pthread_t th;
    CHECK(pthread_create(&th, NULL, fn, arg) == 0);
    CHECK(pthread_join(th, NULL) == 0);
}

/* ------------------------------------------------------------------ */
static int g_ran;          /* atomic: run-to-completion tasks that ran */
static int g_wrong_thread; /* atomic: anything of an executor task seen off the owner thread */
static int g_drops;        /* atomic */
static int g_drops_off_owner; /* atomic */

static void on_owner_check(void) {
    if (!pthread_equal(pthread_self(), g_owner))
        AT_ADD(&g_wrong_thread, 1);
}

static void count_drop(void *p) {
    (void)p;
    AT_ADD(&g_drops, 1);
    if (!pthread_equal(pthread_self(), g_owner))
        AT_ADD(&g_drops_off_owner, 1);
}

static int32_t ex_fn(void *arg, void **out) {
    on_owner_check();
    AT_ADD(&g_ran, 1);
    *out = arg;
    return 0;
}

static int32_t id_fn(void *arg, void **out) {
    on_owner_check();
    *(uint64_t *)arg = tasks_current_id();
    *out = arg;
    return 0;
}

static void reset(void) {
    AT_STORE(&g_ran, 0);
    AT_STORE(&g_drops, 0);
    AT_STORE(&g_drops_off_owner, 0);
}

/* ------------------------------------------------------------------ */
static void basics(void) {
    reset();
    CHECK_STATUS(TASKS_ERR_NULL, tasks_executor_new(NULL));
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    CHECK(ex != NULL);
    CHECK_EQ_U64(tasks_executor_len(ex), 0);
    CHECK_EQ_U64(tasks_executor_run(ex, 100), 0);
    tasks_join_handle *h[3];
    uint64_t seen[3] = {0, 0, 0};
    tasks_spawn_opts opts = {"ex", count_drop, NULL};
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, id_fn, &seen[i], &opts, &h[i]));
    CHECK_EQ_U64(tasks_executor_len(ex), 3);
    /* nothing runs outside tasks_executor_run */
    sleep_ms(10);
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h[0], 0, NULL));
    CHECK_EQ_U64(seen[0], 0);
    CHECK_EQ_U64(tasks_executor_run(ex, 1), 1);
    CHECK_EQ_U64(tasks_executor_len(ex), 2);
    CHECK_EQ_U64(tasks_executor_run(ex, 100), 2);
    CHECK_EQ_U64(tasks_executor_len(ex), 0);
    CHECK_EQ_U64(tasks_executor_run(ex, 100), 0);
    for (int i = 0; i < 3; i++) {
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h[i], 0, &out));
        CHECK_EQ_PTR(out, &seen[i]);
        CHECK_EQ_U64(seen[i], tasks_join_handle_id(h[i]));
        CHECK(seen[i] != 0);
        CHECK(tasks_join_handle_is_finished(h[i]));
        tasks_join_handle_free(h[i]);
    }
    CHECK_EQ_INT(AT_LOAD(&g_drops), 3);
    CHECK_EQ_INT(AT_LOAD(&g_drops_off_owner), 0);
    CHECK_EQ_INT(AT_LOAD(&g_wrong_thread), 0);
    tasks_executor_free(ex);
}

/* ------------------------------------------------------------------ */
/* wrong thread: run returns 0 and runs nothing, free does nothing */
static void *run_from_other(void *p) {
    tasks_executor *ex = p;
    CHECK_EQ_U64(tasks_executor_run(ex, 100), 0);
    CHECK_EQ_U64(tasks_executor_len(ex), 2);
    tasks_executor_free(ex); /* ignored */
    CHECK_EQ_U64(tasks_executor_len(ex), 2);
    return NULL;
}

static void wrong_thread(void) {
    reset();
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, ex_fn, NULL, NULL, NULL));
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, ex_fn, NULL, NULL, NULL));
    run_on_thread(run_from_other, ex);
    CHECK_EQ_INT(AT_LOAD(&g_ran), 0);
    CHECK_EQ_U64(tasks_executor_len(ex), 2);
    CHECK_EQ_U64(tasks_executor_run(ex, 100), 2);
    CHECK_EQ_INT(AT_LOAD(&g_ran), 2);
    CHECK_EQ_U64(tasks_executor_len(ex), 0);
    CHECK_EQ_INT(AT_LOAD(&g_wrong_thread), 0);
    tasks_executor_free(ex);
}

/* ------------------------------------------------------------------ */
/* spawns from 4 threads */
typedef struct spawner {
    tasks_executor *ex;
    int n;
    tasks_join_handle *h; /* one handle per thread, joined by that thread */
    int join_status;
} spawner_t;

static void *spawn_thread(void *p) {
    spawner_t *s = p;
    tasks_spawn_opts opts = {NULL, count_drop, NULL};
    for (int i = 0; i < s->n; i++)
        CHECK_STATUS(TASKS_OK, tasks_executor_spawn(s->ex, ex_fn, NULL, &opts, NULL));
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(s->ex, ex_fn, s, &opts, &s->h));
    void *out = NULL;
    s->join_status = (int)tasks_join_handle_join(s->h, JOIN_LONG, &out);
    CHECK_EQ_PTR(out, s);
    tasks_join_handle_free(s->h);
    return NULL;
}

static void spawn_from_threads(void) {
    reset();
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    tasks_executor_set_notify(ex, notify_cb, &g_nt);
    const int n = (int)scale(1000);
    spawner_t s[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        s[i].ex = ex;
        s[i].n = n;
        s[i].h = NULL;
        s[i].join_status = -100;
        CHECK(pthread_create(&th[i], NULL, spawn_thread, &s[i]) == 0);
    }
    DRIVE(ex, AT_LOAD(&g_ran) == 4 * (n + 1));
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_join(th[i], NULL) == 0);
        CHECK_STATUS(TASKS_OK, s[i].join_status);
    }
    CHECK_EQ_U64(tasks_executor_len(ex), 0);
    CHECK_EQ_INT(AT_LOAD(&g_drops), 4 * (n + 1));
    CHECK_EQ_INT(AT_LOAD(&g_drops_off_owner), 0);
    CHECK_EQ_INT(AT_LOAD(&g_wrong_thread), 0);
    CHECK(notify_calls() > 0);
    printf("spawns from 4 threads: %d tasks ran on the owner, notify called %d times\n", 4 * (n + 1),
           notify_calls());
    tasks_executor_free(ex);
}

/* ------------------------------------------------------------------ */
/* wakes from 4 threads */
enum { WK_TASKS = 8, WK_THREADS = 4 };

typedef struct wtask {
    uint64_t sent;      /* atomic: bumped before each wake */
    uint64_t target;    /* total bumps */
    tasks_waker *w;     /* atomic: published by the first poll */
    uint64_t polls;
    uint64_t last_seen;
} wtask_t;

static tasks_poll wtask_poll(void *state, tasks_context *cx, void **out) {
    wtask_t *t = state;
    on_owner_check();
    t->polls++;
    if (AT_LOAD(&t->w) == NULL)
        AT_STORE(&t->w, tasks_context_waker(cx));
    uint64_t seen = AT_LOAD(&t->sent);
    if (seen < t->last_seen)
        return TASKS_POLL_FAILED;
    t->last_seen = seen;
    if (seen == t->target) {
        *out = t;
        return TASKS_POLL_READY;
    }
    return TASKS_POLL_PENDING;
}

typedef struct waker_thread_arg {
    wtask_t *tasks;
    uint64_t rounds;
} wta_t;

static void *waker_thread(void *p) {
    wta_t *a = p;
    for (uint64_t r = 0; r < a->rounds; r++) {
        for (int t = 0; t < WK_TASKS; t++) {
            AT_ADD(&a->tasks[t].sent, 1);
            tasks_waker_wake_by_ref(AT_LOAD(&a->tasks[t].w));
        }
        if (r % 64 == 0)
            sched_yield();
    }
    return NULL;
}

static void wakes_from_threads(void) {
    reset();
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    tasks_executor_set_notify(ex, notify_cb, &g_nt);
    const uint64_t rounds = scale(2000);
    wtask_t t[WK_TASKS];
    tasks_join_handle *h[WK_TASKS];
    memset(t, 0, sizeof t);
    for (int i = 0; i < WK_TASKS; i++) {
        t[i].target = rounds * WK_THREADS;
        CHECK_STATUS(TASKS_OK, tasks_executor_spawn_poll(ex, wtask_poll, &t[i], NULL, &h[i]));
    }
    CHECK_EQ_U64(tasks_executor_run(ex, 1000), WK_TASKS); /* first polls: wakers published */
    for (int i = 0; i < WK_TASKS; i++)
        CHECK(AT_LOAD(&t[i].w) != NULL);
    int calls_before = notify_calls();
    wta_t a = {t, rounds};
    pthread_t th[WK_THREADS];
    for (int i = 0; i < WK_THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, waker_thread, &a) == 0);
    DRIVE(ex, tasks_executor_len(ex) == 0);
    for (int i = 0; i < WK_THREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    uint64_t total_polls = 0;
    for (int i = 0; i < WK_TASKS; i++) {
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h[i], 0, &out));
        CHECK_EQ_PTR(out, &t[i]);
        CHECK_EQ_U64(t[i].last_seen, rounds * WK_THREADS);
        CHECK_EQ_U64(AT_LOAD(&t[i].sent), rounds * WK_THREADS);
        CHECK(t[i].polls >= 2 && t[i].polls <= 1 + rounds * WK_THREADS);
        total_polls += t[i].polls;
        tasks_join_handle_free(h[i]);
        tasks_waker_free(t[i].w);
    }
    CHECK_EQ_INT(AT_LOAD(&g_wrong_thread), 0);
    CHECK(notify_calls() > calls_before);
    printf("wakes from %d threads: %d tasks x %llu wakes each, %llu polls, notify called %d times\n", WK_THREADS,
           WK_TASKS, (unsigned long long)(rounds * WK_THREADS), (unsigned long long)total_polls,
           notify_calls() - calls_before);
    tasks_executor_free(ex);
}

/* ------------------------------------------------------------------ */
/* notify on spawn from another thread while the loop sleeps; set_notify(NULL) removes the hook */
static void *spawn_one(void *p) {
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(p, ex_fn, NULL, NULL, NULL));
    return NULL;
}

static void notify_hook(void) {
    reset();
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    tasks_executor_set_notify(ex, notify_cb, &g_nt);
    CHECK_EQ_U64(tasks_executor_run(ex, 10), 0);
    wait_notify(0);
    int before = notify_calls();
    run_on_thread(spawn_one, ex);
    CHECK(notify_calls() > before);
    CHECK_EQ_U64(tasks_executor_run(ex, 10), 1);
    tasks_executor_set_notify(ex, NULL, NULL);
    before = notify_calls();
    run_on_thread(spawn_one, ex);
    CHECK_EQ_INT(notify_calls(), before);
    CHECK_EQ_U64(tasks_executor_run(ex, 10), 1);
    CHECK_EQ_INT(AT_LOAD(&g_ran), 2);
    tasks_executor_free(ex);
}

/* ------------------------------------------------------------------ */
/* abort from another thread */
typedef struct idle {
    int polls; /* atomic */
} idle_t;

static tasks_poll idle_poll(void *state, tasks_context *cx, void **out) {
    idle_t *s = state;
    (void)cx;
    (void)out;
    on_owner_check();
    AT_ADD(&s->polls, 1);
    return TASKS_POLL_PENDING;
}

static void *abort_thread(void *p) {
    tasks_join_handle_abort(p);
    return NULL;
}

static void abort_from_thread(void) {
    reset();
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    tasks_executor_set_notify(ex, notify_cb, &g_nt);
    idle_t s = {0};
    tasks_spawn_opts opts = {"idle", count_drop, NULL};
    tasks_join_handle *hi = NULL, *hn = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn_poll(ex, idle_poll, &s, &opts, &hi));
    CHECK_EQ_U64(tasks_executor_run(ex, 10), 1);
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, ex_fn, NULL, &opts, &hn)); /* never started */
    CHECK_EQ_U64(tasks_executor_len(ex), 2);

    run_on_thread(abort_thread, hi);
    run_on_thread(abort_thread, hn);
    /* carried out on the owner thread at its next run, not on the aborting thread */
    CHECK_EQ_INT(AT_LOAD(&g_drops), 0);
    CHECK(!tasks_join_handle_is_finished(hi));
    CHECK(!tasks_join_handle_is_finished(hn));
    tasks_executor_run(ex, 10);
    CHECK_EQ_INT(AT_LOAD(&g_drops), 2);
    CHECK_EQ_INT(AT_LOAD(&g_drops_off_owner), 0);
    CHECK(tasks_join_handle_is_finished(hi));
    CHECK(tasks_join_handle_is_finished(hn));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hi, 0, NULL));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hn, 0, NULL));
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    CHECK_EQ_INT(AT_LOAD(&g_ran), 0);
    CHECK_EQ_U64(tasks_executor_len(ex), 0);
    CHECK_EQ_U64(tasks_executor_run(ex, 10), 0);
    tasks_join_handle_free(hi);
    tasks_join_handle_free(hn);
    CHECK_EQ_INT(AT_LOAD(&g_wrong_thread), 0);
    tasks_executor_free(ex);
}

/* ------------------------------------------------------------------ */
/* free cancels what is left */
static void free_cancels(void) {
    reset();
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    enum { K = 5 };
    idle_t s[K];
    memset(s, 0, sizeof s);
    tasks_join_handle *hi[K], *hn[K];
    tasks_spawn_opts opts = {"left", count_drop, NULL};
    for (int i = 0; i < K; i++)
        CHECK_STATUS(TASKS_OK, tasks_executor_spawn_poll(ex, idle_poll, &s[i], &opts, &hi[i]));
    CHECK_EQ_U64(tasks_executor_run(ex, 100), K);
    for (int i = 0; i < K; i++)
        CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, ex_fn, NULL, &opts, &hn[i]));
    /* and some detached ones */
    for (int i = 0; i < K; i++)
        CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, ex_fn, NULL, &opts, NULL));
    CHECK_EQ_U64(tasks_executor_len(ex), 3 * K);
    tasks_executor_free(ex);
    CHECK_EQ_INT(AT_LOAD(&g_drops), 3 * K);
    CHECK_EQ_INT(AT_LOAD(&g_drops_off_owner), 0);
    CHECK_EQ_INT(AT_LOAD(&g_ran), 0);
    for (int i = 0; i < K; i++) {
        CHECK_EQ_INT(AT_LOAD(&s[i].polls), 1);
        CHECK(tasks_join_handle_is_finished(hi[i]));
        CHECK(tasks_join_handle_is_finished(hn[i]));
        CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hi[i], 0, NULL));
        CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hn[i], TASKS_FOREVER, NULL));
        tasks_join_handle_abort(hi[i]); /* harmless */
        tasks_join_handle_free(hi[i]);
        tasks_join_handle_free(hn[i]);
    }
}

/* ------------------------------------------------------------------ */
/* join handles of executor tasks joined from another thread and from a runtime worker */
static void *join_thread(void *p) {
    tasks_join_handle *h = p;
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, (void *)(uintptr_t)99);
    return NULL;
}

static int32_t join_on_worker(void *arg, void **out) {
    tasks_join_handle *h = arg;
    /* FOREVER: the inline-run path of a join on a worker must not take an executor task */
    return tasks_join_handle_join(h, TASKS_FOREVER, out) == TASKS_OK ? 0 : 1;
}

static void joins_from_elsewhere(void) {
    reset();
    tasks_runtime *rt = make_rt(1);
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    tasks_join_handle *h1 = NULL, *h2 = NULL, *hw = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, ex_fn, (void *)(uintptr_t)99, NULL, &h1));
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, ex_fn, (void *)(uintptr_t)98, NULL, &h2));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, join_thread, h1) == 0);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, join_on_worker, h2, NULL, &hw));
    sleep_ms(30); /* both joiners are waiting */
    CHECK_EQ_INT(AT_LOAD(&g_ran), 0);
    CHECK_EQ_U64(tasks_executor_run(ex, 10), 2);
    CHECK(pthread_join(th, NULL) == 0);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hw, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, (void *)(uintptr_t)98);
    CHECK_EQ_INT(AT_LOAD(&g_wrong_thread), 0);
    CHECK_EQ_INT(AT_LOAD(&g_ran), 2);
    tasks_join_handle_free(hw);
    tasks_join_handle_free(h1);
    tasks_join_handle_free(h2);
    tasks_executor_free(ex);
    free_rt(rt);
}

/* ------------------------------------------------------------------ */
/* an executor task awaiting a runtime task, then sleeping, with task-local values */
static int g_local_dtors; /* atomic */
static int g_local_dtor_off_owner; /* atomic */
static void local_dtor(void *v) {
    CHECK(v != NULL);
    AT_ADD(&g_local_dtors, 1);
    if (!pthread_equal(pthread_self(), g_owner))
        AT_ADD(&g_local_dtor_off_owner, 1);
}
static tasks_local_key *g_key;

static int32_t compute(void *arg, void **out) {
    uint64_t n = (uint64_t)(uintptr_t)arg, sum = 0;
    for (uint64_t i = 1; i <= n; i++)
        sum += i * i;
    *out = (void *)(uintptr_t)sum;
    return 0;
}

typedef struct mix {
    tasks_runtime *rt;
    tasks_join_handle *h;
    int step;
    uint64_t result;
    uint64_t armed;
    int early;
    int bad;
    int polls;
} mix_t;

static tasks_poll mix_poll(void *state, tasks_context *cx, void **out) {
    mix_t *m = state;
    on_owner_check();
    m->polls++;
    if (m->step == 0) {
        if (tasks_local_key_set(g_key, m) != TASKS_OK || tasks_local_key_get(g_key) != m)
            m->bad = 1;
        if (tasks_spawn(m->rt, compute, (void *)(uintptr_t)1000, NULL, &m->h) != TASKS_OK)
            return TASKS_POLL_FAILED;
        m->step = 1;
    }
    if (m->step == 1) {
        void *o = NULL;
        tasks_status st = tasks_join_handle_poll(m->h, cx, &o);
        if (st == TASKS_PENDING)
            return TASKS_POLL_PENDING;
        if (st != TASKS_OK)
            return TASKS_POLL_FAILED;
        tasks_join_handle_free(m->h);
        m->h = NULL;
        m->result = (uint64_t)(uintptr_t)o;
        m->step = 2;
        m->armed = now_ns();
        if (tasks_context_sleep(cx, 5 * MS_NS) != TASKS_OK)
            return TASKS_POLL_FAILED;
        return TASKS_POLL_PENDING;
    }
    if (now_ns() < m->armed + 5 * MS_NS)
        m->early = 1;
    if (tasks_local_key_get(g_key) != m)
        m->bad = 2;
    *out = m;
    return TASKS_POLL_READY;
}

static void await_sleep_locals(void) {
    reset();
    g_key = tasks_local_key_new(local_dtor);
    CHECK(g_key != NULL);
    tasks_runtime *rt = make_rt(2);
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    tasks_executor_set_notify(ex, notify_cb, &g_nt);
    for (int rep = 0; rep < 5; rep++) {
        mix_t m;
        memset(&m, 0, sizeof m);
        m.rt = rt;
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_executor_spawn_poll(ex, mix_poll, &m, NULL, &h));
        DRIVE(ex, tasks_join_handle_is_finished(h));
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 0, &out));
        CHECK_EQ_PTR(out, &m);
        tasks_join_handle_free(h);
        CHECK_EQ_U64(m.result, (uint64_t)1000 * 1001 * 2001 / 6);
        CHECK_EQ_INT(m.early, 0);
        CHECK_EQ_INT(m.bad, 0);
        CHECK_EQ_INT(AT_LOAD(&g_local_dtors), rep + 1);
    }
    CHECK_EQ_INT(AT_LOAD(&g_local_dtor_off_owner), 0);
    CHECK_EQ_INT(AT_LOAD(&g_wrong_thread), 0);
    tasks_executor_free(ex);
    free_rt(rt);
}

/* ------------------------------------------------------------------ */
/* a task that yields forever: run stops at max_polls */
static int g_yields; /* atomic */
static tasks_poll yield_forever(void *state, tasks_context *cx, void **out) {
    (void)state;
    (void)cx;
    (void)out;
    AT_ADD(&g_yields, 1);
    return TASKS_POLL_YIELD;
}

static void yielding(void) {
    reset();
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    tasks_join_handle *h = NULL;
    tasks_spawn_opts opts = {"yielder", count_drop, NULL};
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn_poll(ex, yield_forever, NULL, &opts, &h));
    size_t n = tasks_executor_run(ex, 5);
    CHECK(n >= 1 && n <= 5);
    CHECK_EQ_INT(AT_LOAD(&g_yields), (int)n);
    n = tasks_executor_run(ex, 5);
    CHECK(n >= 1 && n <= 5);
    CHECK_EQ_U64(tasks_executor_len(ex), 1);
    tasks_join_handle_abort(h);
    tasks_executor_run(ex, 5);
    CHECK_EQ_INT(AT_LOAD(&g_drops), 1);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 0, NULL));
    int y = AT_LOAD(&g_yields);
    CHECK_EQ_U64(tasks_executor_run(ex, 5), 0);
    CHECK_EQ_INT(AT_LOAD(&g_yields), y);
    tasks_join_handle_free(h);
    tasks_executor_free(ex);
}

/* ------------------------------------------------------------------ */
static void null_args(void) {
    reset();
    tasks_spawn_opts opts = {NULL, count_drop, NULL};
    tasks_join_handle *h = (tasks_join_handle *)&opts;
    CHECK_STATUS(TASKS_ERR_NULL, tasks_executor_spawn(NULL, ex_fn, &opts, &opts, &h));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_executor_spawn_poll(NULL, idle_poll, &opts, &opts, &h));
    CHECK_EQ_U64(tasks_executor_run(NULL, 10), 0);
    CHECK_EQ_U64(tasks_executor_len(NULL), 0);
    tasks_executor_set_notify(NULL, notify_cb, &g_nt);
    tasks_executor_free(NULL);
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_executor_spawn(ex, NULL, &opts, &opts, &h));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_executor_spawn_poll(ex, NULL, &opts, &opts, &h));
    CHECK_EQ_PTR(h, &opts);
    CHECK_EQ_U64(tasks_executor_len(ex), 0);
    tasks_executor_free(ex);
    CHECK_EQ_INT(AT_LOAD(&g_drops), 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines survive an abort() */
    g_owner = pthread_self();
    basics();
    wrong_thread();
    notify_hook();
    spawn_from_threads();
    wakes_from_threads();
    abort_from_thread();
    free_cancels();
    joins_from_elsewhere();
    await_sleep_locals();
    yielding();
    null_args();
    printf("svc_executor: OK\n");
    return 0;
}
