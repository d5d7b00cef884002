/* Timers: tasks_context_sleep and tasks_spawn_after.
   - sleep never wakes early: 0, 1, 5, 20 ms, measured with now_ns around the sleep call; exactly two polls;
   - ordering: scale(1000) poll tasks on a 1-worker runtime sleep until a common base + a random 0..50 ms;
     whenever one deadline lies more than 1 ms after another, the tasks complete in deadline order;
   - scale(10,000) tasks sleeping at once (all asleep together, each checked: never early, one wake, OK);
   - abort while sleeping: cancelled before abort returns (drop_arg once, join CANCELLED at once), never
     polled again (also after its deadline passed), and a runtime free afterwards is immediate;
   - a sleeping task woken early by a waker finishes; its pending timer does not poll it again;
   - aborts racing with timers firing: each task ends exactly once (OK or CANCELLED), drop_arg once;
   - sleep(TASKS_FOREVER) never fires; spawn_after(TASKS_FOREVER) never starts; both abortable;
   - scale(100,000) pending sleep timers + scale(10,000) pending spawn_after timers are cancelled by
     tasks_runtime_free: every drop_arg exactly once, nothing runs, free is quick, nothing leaks;
   - spawn_after: starts no earlier than the delay (1, 5, 20 ms); abort before it starts -> CANCELLED at once,
     drop_arg once, fn never runs; delay 0 runs promptly; rt NULL (default runtime, or the calling task's
     runtime from inside a task); detached (out NULL); after shutdown -> TASKS_ERR_SHUTDOWN taking nothing;
     pending at runtime free -> CANCELLED through the still-valid handle;
   - NULL arguments. */
#include "check.h"

static uint64_t g_seq; /* atomic: completion sequence */

/* ------------------------------------------------------------------ */
/* a poll task that sleeps once, then finishes with its own state as output */
typedef struct sleeper {
    uint64_t delay;  /* used when target == 0 */
    uint64_t target; /* absolute deadline (now_ns clock); 0: use delay */
    uint64_t t0, t1; /* now_ns before / after the tasks_context_sleep call */
    uint64_t used_delay;
    uint64_t woke;        /* now_ns at the second poll */
    uint64_t seq;         /* completion order */
    int sleep_status;     /* what tasks_context_sleep returned */
    int polls;            /* atomic */
    int drops;            /* atomic */
    int *sleeping;        /* optional: atomic count of tasks asleep right now */
    int *max_sleeping;    /* optional: atomic max of *sleeping */
    tasks_waker *waker;   /* optional: published at the first poll when want_waker */
    int want_waker;
} sleeper_t;

static void sleeper_drop(void *p) {
    sleeper_t *s = p;
    AT_ADD(&s->drops, 1);
}

static void at_max(int *m, int v) {
    int cur = AT_LOAD(m);
    while (v > cur && !AT_CAS(m, &cur, v)) {
    }
}

static tasks_poll sleeper_poll(void *state, tasks_context *cx, void **out) {
    sleeper_t *s = state;
    int n = AT_ADD(&s->polls, 1);
    if (n == 1) {
        if (s->want_waker)
            AT_STORE(&s->waker, tasks_context_waker(cx));
        s->t0 = now_ns();
        uint64_t d = s->delay;
        if (s->target != 0)
            d = s->target > s->t0 ? s->target - s->t0 : 0;
        s->used_delay = d;
        if (s->sleeping != NULL) {
            int v = AT_ADD(s->sleeping, 1);
            at_max(s->max_sleeping, v);
        }
        s->sleep_status = (int)tasks_context_sleep(cx, d);
        s->t1 = now_ns();
        if (s->sleep_status != TASKS_OK)
            return TASKS_POLL_FAILED;
        return TASKS_POLL_PENDING;
    }
    s->woke = now_ns();
    if (s->sleeping != NULL)
        AT_ADD(s->sleeping, -1);
    s->seq = AT_ADD(&g_seq, 1);
    *out = s;
    return TASKS_POLL_READY;
}

static int32_t nop(void *arg, void **out) {
    (void)arg;
    (void)out;
    return 0;
}

/* On a 1-worker runtime: when a task spawned now has run, everything queued before it (e.g. the
   poll that armed a timer) has returned. */
static void flush_worker(tasks_runtime *rt) {
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, nop, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
}

/* ------------------------------------------------------------------ */
static void never_early(tasks_runtime *rt) {
    const uint64_t delays[] = {0, 1 * MS_NS, 5 * MS_NS, 20 * MS_NS};
    for (int rep = 0; rep < 3; rep++) {
        for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
            sleeper_t s;
            memset(&s, 0, sizeof s);
            s.delay = delays[i];
            tasks_spawn_opts opts = {"sleeper", sleeper_drop, NULL};
            tasks_join_handle *h = NULL;
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, sleeper_poll, &s, &opts, &h));
            void *out = NULL;
            CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
            CHECK_EQ_PTR(out, &s);
            CHECK_STATUS(TASKS_OK, s.sleep_status);
            CHECK_EQ_INT(AT_LOAD(&s.polls), 2);
            if (s.woke < s.t0 + s.delay)
                CHECK_FAIL_("%s:%d: sleep of %llu ns woke %llu ns early\n", __FILE__, __LINE__,
                            (unsigned long long)s.delay, (unsigned long long)(s.t0 + s.delay - s.woke));
            WAIT_UNTIL(tasks_join_handle_is_finished(h));
            CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
            tasks_join_handle_free(h);
            if (rep == 0)
                printf("sleep %5.1f ms: woke after %.3f ms\n", (double)s.delay / 1e6, (double)(s.woke - s.t0) / 1e6);
        }
    }
}

/* ------------------------------------------------------------------ */
static uint64_t lcg_next(uint64_t *x) {
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

static void ordering(void) {
    tasks_runtime *rt = make_rt(1);
    const size_t n = (size_t)scale(1000);
    sleeper_t *s = calloc(n, sizeof *s);
    tasks_join_handle **h = calloc(n, sizeof *h);
    CHECK(s != NULL && h != NULL);
    uint64_t rnd = 12345;
    /* All sleeps end at base + a random 0..50 ms; base leaves time for every first poll to happen first. */
    uint64_t base = now_ns() + 300 * MS_NS;
    AT_STORE(&g_seq, 0);
    tasks_spawn_opts opts = {"ordered", sleeper_drop, NULL};
    for (size_t i = 0; i < n; i++) {
        s[i].target = base + lcg_next(&rnd) % (50 * MS_NS + 1);
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, sleeper_poll, &s[i], &opts, &h[i]));
    }
    for (size_t i = 0; i < n; i++) {
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h[i], JOIN_LONG, &out));
        CHECK_EQ_PTR(out, &s[i]);
        CHECK_EQ_INT(AT_LOAD(&s[i].polls), 2);
        CHECK_STATUS(TASKS_OK, s[i].sleep_status);
        CHECK(s[i].woke >= s[i].t0 + s[i].used_delay); /* never early */
    }
    /* Deadline of task i lies in [t0 + used_delay, t1 + used_delay]. If b's earliest possible deadline is
       more than 1 ms after a's latest possible one, a must have completed first. */
    size_t checked = 0, late_start = 0;
    for (size_t a = 0; a < n; a++) {
        if (s[a].used_delay == 0)
            late_start++;
        uint64_t hi_a = s[a].t1 + s[a].used_delay;
        for (size_t b = 0; b < n; b++) {
            uint64_t lo_b = s[b].t0 + s[b].used_delay;
            if (lo_b > hi_a + MS_NS) {
                checked++;
                if (s[a].seq > s[b].seq)
                    CHECK_FAIL_("%s:%d: timer order: task %zu (deadline %.3f ms, polled at %.3f ms) completed #%llu, "
                                "after task %zu (deadline %.3f ms, polled at %.3f ms) completed #%llu "
                                "(times from base)\n",
                                __FILE__, __LINE__, a, (double)(hi_a - base) / 1e6,
                                ((double)s[a].woke - (double)base) / 1e6, (unsigned long long)s[a].seq, b,
                                (double)(lo_b - base) / 1e6, ((double)s[b].woke - (double)base) / 1e6,
                                (unsigned long long)s[b].seq);
            }
        }
    }
    printf("ordering: %zu timers, %zu ordered pairs checked, %zu started after their deadline\n", n, checked,
           late_start);
    CHECK(checked > 0);
    for (size_t i = 0; i < n; i++) {
        WAIT_UNTIL(tasks_join_handle_is_finished(h[i]));
        CHECK_EQ_INT(AT_LOAD(&s[i].drops), 1);
        tasks_join_handle_free(h[i]);
    }
    free_rt(rt);
    free(h);
    free(s);
}

/* ------------------------------------------------------------------ */
static void many_at_once(void) {
    tasks_runtime *rt = make_rt(2);
    const size_t n = (size_t)scale(10000);
    sleeper_t *s = calloc(n, sizeof *s);
    tasks_join_handle **h = calloc(n, sizeof *h);
    CHECK(s != NULL && h != NULL);
    int sleeping = 0, max_sleeping = 0;
    uint64_t t_start = now_ns();
    /* deadlines 1 s .. 1.05 s from now: every task is asleep before the first one wakes */
    uint64_t base = t_start + SEC_NS;
    tasks_spawn_opts opts = {NULL, sleeper_drop, NULL};
    for (size_t i = 0; i < n; i++) {
        s[i].target = base + (uint64_t)(i % 50) * MS_NS;
        s[i].sleeping = &sleeping;
        s[i].max_sleeping = &max_sleeping;
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, sleeper_poll, &s[i], &opts, &h[i]));
    }
    for (size_t i = 0; i < n; i++) {
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h[i], JOIN_LONG, &out));
        CHECK_EQ_PTR(out, &s[i]);
    }
    uint64_t t_end = now_ns();
    uint64_t max_late = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_INT(AT_LOAD(&s[i].polls), 2);
        CHECK_STATUS(TASKS_OK, s[i].sleep_status);
        CHECK(s[i].woke >= s[i].t0 + s[i].used_delay);
        CHECK(s[i].used_delay > 0); /* all first polls happened before the deadlines */
        uint64_t late = s[i].woke - (s[i].t0 + s[i].used_delay);
        if (late > max_late)
            max_late = late;
        WAIT_UNTIL(tasks_join_handle_is_finished(h[i]));
        CHECK_EQ_INT(AT_LOAD(&s[i].drops), 1);
        tasks_join_handle_free(h[i]);
    }
    printf("%zu tasks asleep at once (max %d), all done after %.1f ms, max lateness %.3f ms\n", n,
           AT_LOAD(&max_sleeping), (double)(t_end - t_start) / 1e6, (double)max_late / 1e6);
    CHECK_EQ_INT(AT_LOAD(&max_sleeping), (int)n);
    CHECK_EQ_INT(AT_LOAD(&sleeping), 0);
    free_rt(rt);
    free(h);
    free(s);
}

/* ------------------------------------------------------------------ */
/* Abort while sleeping. 1 worker, so flush_worker proves the sleeping poll has returned. */
static void abort_while_sleeping(uint64_t delay, int use_abort_handle) {
    tasks_runtime *rt = make_rt(1);
    sleeper_t s;
    memset(&s, 0, sizeof s);
    s.delay = delay;
    tasks_spawn_opts opts = {"sleeper", sleeper_drop, NULL};
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, sleeper_poll, &s, &opts, &h));
    tasks_abort_handle *a = tasks_join_handle_abort_handle(h);
    CHECK(a != NULL);
    WAIT_UNTIL(AT_LOAD(&s.polls) == 1);
    flush_worker(rt);
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    CHECK_STATUS(TASKS_OK, s.sleep_status);
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, NULL));
    CHECK_EQ_INT(AT_LOAD(&s.drops), 0);

    if (use_abort_handle)
        tasks_abort_handle_abort(a);
    else
        tasks_join_handle_abort(h);
    /* an idle (sleeping) task is cancelled before abort returns */
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    CHECK(tasks_join_handle_is_finished(h));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 0, NULL));

    /* past the deadline: the timer must not poll the cancelled task */
    if (delay <= 100 * MS_NS)
        sleep_ns(delay + 50 * MS_NS);
    else
        sleep_ms(50);
    flush_worker(rt);
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);

    uint64_t t0 = now_ns();
    free_rt(rt);
    uint64_t took = now_ns() - t0;
    printf("abort while sleeping (%.0f ms, %s): runtime free took %.3f ms\n", (double)delay / 1e6,
           use_abort_handle ? "abort handle" : "join handle", (double)took / 1e6);
    CHECK(took < 5 * SEC_NS); /* not waiting for the (cancelled) timer */
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, TASKS_FOREVER, NULL));
    tasks_abort_handle_free(a);
    tasks_join_handle_free(h);
}

/* ------------------------------------------------------------------ */
/* A task sleeping for an hour is woken early by its own waker and finishes; the pending timer entry
   must not poll it again, nor keep the runtime from shutting down at once. */
static void woken_before_timer(void) {
    tasks_runtime *rt = make_rt(1);
    sleeper_t s;
    memset(&s, 0, sizeof s);
    s.delay = 3600 * SEC_NS;
    s.want_waker = 1;
    tasks_spawn_opts opts = {"early", sleeper_drop, NULL};
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, sleeper_poll, &s, &opts, &h));
    WAIT_UNTIL(AT_LOAD(&s.polls) == 1);
    flush_worker(rt);
    CHECK(AT_LOAD(&s.waker) != NULL);
    tasks_waker_wake(AT_LOAD(&s.waker));
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &s);
    CHECK_EQ_INT(AT_LOAD(&s.polls), 2);
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    uint64_t t0 = now_ns();
    free_rt(rt);
    CHECK(now_ns() - t0 < 5 * SEC_NS);
    CHECK_EQ_INT(AT_LOAD(&s.polls), 2);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    tasks_join_handle_free(h);
}

/* ------------------------------------------------------------------ */
/* Aborts racing with timers firing (2 workers): each task ends exactly once. */
static void abort_vs_fire(void) {
    tasks_runtime *rt = make_rt(2);
    const size_t n = (size_t)scale(2000);
    sleeper_t *s = calloc(n, sizeof *s);
    tasks_join_handle **h = calloc(n, sizeof *h);
    CHECK(s != NULL && h != NULL);
    uint64_t rnd = 777;
    tasks_spawn_opts opts = {NULL, sleeper_drop, NULL};
    for (size_t i = 0; i < n; i++) {
        s[i].delay = lcg_next(&rnd) % (3 * MS_NS);
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, sleeper_poll, &s[i], &opts, &h[i]));
    }
    uint64_t start = now_ns();
    for (size_t i = 0; i < n; i++) {
        /* spread the aborts over ~the same 3 ms window */
        while (now_ns() < start + (uint64_t)i * (3 * MS_NS) / n) {
        }
        tasks_join_handle_abort(h[i]);
    }
    size_t ok = 0, cancelled = 0;
    for (size_t i = 0; i < n; i++) {
        void *out = NULL;
        tasks_status st = tasks_join_handle_join(h[i], JOIN_LONG, &out);
        if (st == TASKS_OK) {
            ok++;
            CHECK_EQ_PTR(out, &s[i]);
            CHECK_EQ_INT(AT_LOAD(&s[i].polls), 2);
            CHECK(s[i].woke >= s[i].t0 + s[i].delay);
        } else {
            CHECK_STATUS(TASKS_CANCELLED, st);
            CHECK_EQ_PTR(out, NULL);
            cancelled++;
            CHECK(AT_LOAD(&s[i].polls) <= 1);
        }
        WAIT_UNTIL(tasks_join_handle_is_finished(h[i]));
        CHECK_EQ_INT(AT_LOAD(&s[i].drops), 1);
    }
    sleep_ms(10); /* any timer still pending would fire now */
    for (size_t i = 0; i < n; i++) {
        CHECK(AT_LOAD(&s[i].polls) <= 2);
        CHECK_EQ_INT(AT_LOAD(&s[i].drops), 1);
        tasks_join_handle_free(h[i]);
    }
    printf("abort vs fire: %zu tasks, %zu completed, %zu cancelled\n", n, ok, cancelled);
    CHECK_EQ_U64(ok + cancelled, n);
    tasks_metrics m = get_metrics(rt);
    CHECK_EQ_U64(m.completed, ok);
    CHECK_EQ_U64(m.cancelled, cancelled);
    free_rt(rt);
    free(h);
    free(s);
}

/* ------------------------------------------------------------------ */
typedef struct delayed {
    uint64_t ran_at; /* now_ns when fn ran */
    int runs;        /* atomic */
    int drops;       /* atomic */
    tasks_runtime *seen_rt;
} delayed_t;

static void delayed_drop(void *p) {
    delayed_t *d = p;
    AT_ADD(&d->drops, 1);
}

static int32_t delayed_fn(void *arg, void **out) {
    delayed_t *d = arg;
    d->ran_at = now_ns();
    d->seen_rt = tasks_current_runtime();
    AT_ADD(&d->runs, 1);
    *out = d;
    return 0;
}

static void forever(void) {
    tasks_runtime *rt = make_rt(1);
    /* sleep(TASKS_FOREVER): the timer never fires */
    sleeper_t s;
    memset(&s, 0, sizeof s);
    s.delay = TASKS_FOREVER;
    tasks_spawn_opts opts = {"forever", sleeper_drop, NULL};
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, sleeper_poll, &s, &opts, &h));
    WAIT_UNTIL(AT_LOAD(&s.polls) == 1);
    flush_worker(rt);
    CHECK_STATUS(TASKS_OK, s.sleep_status);
    sleep_ms(50);
    flush_worker(rt);
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, NULL));
    tasks_join_handle_abort(h);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 0, NULL));
    tasks_join_handle_free(h);

    /* spawn_after(TASKS_FOREVER): never starts */
    delayed_t d;
    memset(&d, 0, sizeof d);
    tasks_spawn_opts dopts = {"after-forever", delayed_drop, NULL};
    CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, TASKS_FOREVER, delayed_fn, &d, &dopts, &h));
    sleep_ms(50);
    flush_worker(rt);
    CHECK_EQ_INT(AT_LOAD(&d.runs), 0);
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, NULL));
    CHECK_STATUS(TASKS_TIMED_OUT, tasks_join_handle_join(h, 10 * MS_NS, NULL));
    tasks_join_handle_abort(h);
    CHECK_EQ_INT(AT_LOAD(&d.drops), 1);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 0, NULL));
    tasks_join_handle_free(h);

    /* one more of each, left pending for runtime free */
    sleeper_t s2;
    memset(&s2, 0, sizeof s2);
    s2.delay = TASKS_FOREVER;
    delayed_t d2;
    memset(&d2, 0, sizeof d2);
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, sleeper_poll, &s2, &opts, NULL));
    CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, TASKS_FOREVER, delayed_fn, &d2, &dopts, NULL));
    WAIT_UNTIL(AT_LOAD(&s2.polls) == 1);
    uint64_t t0 = now_ns();
    free_rt(rt);
    CHECK(now_ns() - t0 < 5 * SEC_NS);
    CHECK_EQ_INT(AT_LOAD(&s2.drops), 1);
    CHECK_EQ_INT(AT_LOAD(&d2.drops), 1);
    CHECK_EQ_INT(AT_LOAD(&d2.runs), 0);
    CHECK_EQ_INT(AT_LOAD(&s2.polls), 1);
}

/* ------------------------------------------------------------------ */
static int g_pending_drops;   /* atomic */
static int g_pending_polls;   /* atomic */
static int g_pending_runs;    /* atomic */
static void count_drop(void *p) {
    (void)p;
    AT_ADD(&g_pending_drops, 1);
}
static tasks_poll hour_poll(void *state, tasks_context *cx, void **out) {
    (void)state;
    (void)out;
    AT_ADD(&g_pending_polls, 1);
    if (tasks_context_sleep(cx, 3600 * SEC_NS) == TASKS_OK)
        return TASKS_POLL_PENDING;
    return TASKS_POLL_FAILED;
}
static int32_t never_fn(void *arg, void **out) {
    (void)arg;
    (void)out;
    AT_ADD(&g_pending_runs, 1);
    return 0;
}

static void many_pending_timers_freed(void) {
    tasks_runtime *rt = make_rt(2);
    const uint64_t n = scale(100000), m = scale(10000);
    tasks_spawn_opts opts = {NULL, count_drop, NULL};
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, hour_poll, NULL, &opts, NULL));
    for (uint64_t i = 0; i < m; i++)
        CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, 3600 * SEC_NS + i, never_fn, NULL, &opts, NULL));
    /* a few with handles, to check them after free */
    tasks_join_handle *hs = NULL, *ha = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, hour_poll, NULL, &opts, &hs));
    CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, 3600 * SEC_NS, never_fn, NULL, &opts, &ha));
    WAIT_UNTIL((uint64_t)AT_LOAD(&g_pending_polls) == n + 1);
    uint64_t t1 = now_ns();
    tasks_metrics mt = get_metrics(rt);
    CHECK_EQ_U64(mt.alive, n + m + 2);
    CHECK_EQ_INT(AT_LOAD(&g_pending_drops), 0);
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(hs, 0, NULL));
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(ha, 0, NULL));
    free_rt(rt);
    uint64_t t2 = now_ns();
    printf("%llu sleeping + %llu spawn_after timers: armed in %.1f ms, runtime free took %.1f ms\n",
           (unsigned long long)n, (unsigned long long)m, (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6);
    CHECK_EQ_U64((uint64_t)AT_LOAD(&g_pending_drops), n + m + 2);
    CHECK_EQ_U64((uint64_t)AT_LOAD(&g_pending_polls), n + 1);
    CHECK_EQ_INT(AT_LOAD(&g_pending_runs), 0);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hs, TASKS_FOREVER, NULL));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(ha, TASKS_FOREVER, NULL));
    CHECK(tasks_join_handle_is_finished(hs));
    CHECK(tasks_join_handle_is_finished(ha));
    tasks_join_handle_free(hs);
    tasks_join_handle_free(ha);
}

/* ------------------------------------------------------------------ */
static void spawn_after_delays(tasks_runtime *rt) {
    const uint64_t delays[] = {1 * MS_NS, 5 * MS_NS, 20 * MS_NS};
    for (int rep = 0; rep < 3; rep++) {
        for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
            delayed_t d;
            memset(&d, 0, sizeof d);
            tasks_spawn_opts opts = {"after", delayed_drop, NULL};
            tasks_join_handle *h = NULL;
            uint64_t t0 = now_ns();
            CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, delays[i], delayed_fn, &d, &opts, &h));
            void *out = NULL;
            CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
            CHECK_EQ_PTR(out, &d);
            CHECK_EQ_INT(AT_LOAD(&d.runs), 1);
            if (d.ran_at < t0 + delays[i])
                CHECK_FAIL_("%s:%d: spawn_after(%llu ns) started %llu ns early\n", __FILE__, __LINE__,
                            (unsigned long long)delays[i], (unsigned long long)(t0 + delays[i] - d.ran_at));
            CHECK_EQ_PTR(d.seen_rt, rt);
            WAIT_UNTIL(tasks_join_handle_is_finished(h));
            CHECK_EQ_INT(AT_LOAD(&d.drops), 1);
            tasks_join_handle_free(h);
            if (rep == 0)
                printf("spawn_after %4.1f ms: started after %.3f ms\n", (double)delays[i] / 1e6,
                       (double)(d.ran_at - t0) / 1e6);
        }
    }
}

static void spawn_after_abort(tasks_runtime *rt) {
    for (int use_abort_handle = 0; use_abort_handle < 2; use_abort_handle++) {
        delayed_t d;
        memset(&d, 0, sizeof d);
        tasks_spawn_opts opts = {"after", delayed_drop, NULL};
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, 50 * MS_NS, delayed_fn, &d, &opts, &h));
        tasks_abort_handle *a = tasks_join_handle_abort_handle(h);
        CHECK(a != NULL);
        CHECK(!tasks_join_handle_is_finished(h));
        CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, NULL));
        if (use_abort_handle)
            tasks_abort_handle_abort(a);
        else
            tasks_join_handle_abort(h);
        CHECK_EQ_INT(AT_LOAD(&d.drops), 1);
        CHECK(tasks_join_handle_is_finished(h));
        CHECK(tasks_abort_handle_is_finished(a));
        CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 0, NULL));
        sleep_ms(100); /* past the delay */
        CHECK_EQ_INT(AT_LOAD(&d.runs), 0);
        CHECK_EQ_INT(AT_LOAD(&d.drops), 1);
        CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, TASKS_FOREVER, NULL));
        tasks_abort_handle_free(a);
        tasks_join_handle_free(h);
    }
}

static void spawn_after_zero(tasks_runtime *rt) {
    for (int i = 0; i < 5; i++) {
        delayed_t d;
        memset(&d, 0, sizeof d);
        tasks_join_handle *h = NULL;
        uint64_t t0 = now_ns();
        CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, 0, delayed_fn, &d, NULL, &h));
        void *out = NULL;
        /* promptly: well within 5 s even under valgrind */
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 5 * SEC_NS, &out));
        CHECK_EQ_PTR(out, &d);
        CHECK_EQ_INT(AT_LOAD(&d.runs), 1);
        if (i == 0)
            printf("spawn_after 0: started after %.3f ms\n", (double)(d.ran_at - t0) / 1e6);
        tasks_join_handle_free(h);
    }
}

/* spawn_after with rt NULL from inside a task: the calling task's runtime */
static int32_t spawn_after_inside(void *arg, void **out) {
    delayed_t *d = arg;
    tasks_join_handle *h = NULL;
    if (tasks_spawn_after(NULL, 2 * MS_NS, delayed_fn, d, NULL, &h) != TASKS_OK)
        return 1;
    *out = h;
    return 0;
}

static void spawn_after_misc(tasks_runtime *rt) {
    /* rt NULL from a task: its runtime */
    delayed_t d;
    memset(&d, 0, sizeof d);
    tasks_join_handle *h = NULL;
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, spawn_after_inside, &d, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    tasks_join_handle_free(h);
    h = out;
    CHECK(h != NULL);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &d);
    CHECK_EQ_PTR(d.seen_rt, rt);
    tasks_join_handle_free(h);

    /* rt NULL outside a task: the default runtime */
    memset(&d, 0, sizeof d);
    CHECK_STATUS(TASKS_OK, tasks_spawn_after(NULL, 1 * MS_NS, delayed_fn, &d, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &d);
    CHECK_EQ_PTR(d.seen_rt, tasks_runtime_default());
    tasks_join_handle_free(h);

    /* detached */
    memset(&d, 0, sizeof d);
    tasks_spawn_opts opts = {"detached-after", delayed_drop, NULL};
    CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, 1 * MS_NS, delayed_fn, &d, &opts, NULL));
    WAIT_UNTIL(AT_LOAD(&d.drops) == 1);
    CHECK_EQ_INT(AT_LOAD(&d.runs), 1);

    /* NULL fn: nothing taken */
    memset(&d, 0, sizeof d);
    h = (tasks_join_handle *)&d; /* must stay untouched */
    CHECK_STATUS(TASKS_ERR_NULL, tasks_spawn_after(rt, 1 * MS_NS, NULL, &d, &opts, &h));
    CHECK_EQ_PTR(h, &d);
    CHECK_STATUS(TASKS_ERR_NULL, tasks_context_sleep(NULL, 1 * MS_NS));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_context_sleep(NULL, 0));
    sleep_ms(10);
    CHECK_EQ_INT(AT_LOAD(&d.drops), 0);
    CHECK_EQ_INT(AT_LOAD(&d.runs), 0);
}

static void spawn_after_shutdown(void) {
    tasks_runtime *rt = make_rt(1);
    delayed_t pending;
    memset(&pending, 0, sizeof pending);
    tasks_spawn_opts opts = {"after", delayed_drop, NULL};
    tasks_join_handle *hp = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, 3600 * SEC_NS, delayed_fn, &pending, &opts, &hp));
    uint64_t t0 = now_ns();
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, 10 * SEC_NS));
    CHECK(now_ns() - t0 < 5 * SEC_NS);
    CHECK_EQ_INT(AT_LOAD(&pending.drops), 1);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hp, 0, NULL));

    delayed_t d;
    memset(&d, 0, sizeof d);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_spawn_after(rt, 1 * MS_NS, delayed_fn, &d, &opts, &h));
    CHECK_EQ_PTR(h, NULL);
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_spawn_after(rt, 0, delayed_fn, &d, &opts, NULL));
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&d.drops), 0);
    CHECK_EQ_INT(AT_LOAD(&d.runs), 0);
    CHECK_EQ_INT(AT_LOAD(&pending.runs), 0);
    CHECK_EQ_INT(AT_LOAD(&pending.drops), 1);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hp, TASKS_FOREVER, NULL));
    tasks_join_handle_free(hp);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines survive an abort() */
    tasks_runtime *rt = make_rt(2);
    never_early(rt);
    spawn_after_delays(rt);
    spawn_after_abort(rt);
    spawn_after_zero(rt);
    spawn_after_misc(rt);
    free_rt(rt);
    spawn_after_shutdown();
    abort_while_sleeping(20 * MS_NS, 0);
    abort_while_sleeping(30 * SEC_NS, 1);
    woken_before_timer();
    forever();
    ordering();
    many_at_once();
    abort_vs_fire();
    many_pending_timers_freed();
    printf("svc_timers: OK\n");
    return 0;
}
