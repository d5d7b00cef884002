/* Regression test for issue 8, defect 7: a task spawned from a worker sat in that worker's LIFO slot,
 * unstealable, and woke nobody. When the spawner then waited without a library join (a condition
 * variable, a spin loop), the child never ran while the other worker idled.
 *
 * Contract (API.md, Runtimes): "No runnable task waits while a worker sleeps: a task spawned from a worker
 * is stealable and wakes an idle worker".
 *
 * A. 2 workers, repeated: a task spawns a child (rt NULL) and waits for it on a condition variable, at
 *    most 3 s. The child must run meanwhile (before the fix: never, until the spawner gave up).
 * B. The same with a spin-wait (no syscalls) instead of the condition variable.
 * C. The LIFO slot's job still works (these passed before the fix too): spawn_many_local-style (a task
 *    spawns 10,000 tasks, all run) and ping-pong (pairs of poll tasks waking each other). */
#include "check.h"

#define WAIT_NS (3 * SEC_NS)
#define TRIALS 5

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int child_ran; /* under mu (and atomically for the spinner) */
    int spin;      /* B: spin instead of waiting on cv */
    int saw_child;
} waiter_t;

static int32_t child_fn(void *arg, void **out) {
    waiter_t *w = arg;
    (void)out;
    pthread_mutex_lock(&w->mu);
    AT_STORE(&w->child_ran, 1);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static int32_t spawner_fn(void *arg, void **out) {
    waiter_t *w = arg;
    (void)out;
    if (tasks_spawn(NULL, child_fn, w, NULL, NULL) != TASKS_OK)
        return 1;
    if (w->spin) {
        uint64_t start = now_ns();
        while (!AT_LOAD(&w->child_ran) && now_ns() - start < WAIT_NS) {
        }
        w->saw_child = AT_LOAD(&w->child_ran);
        return 0;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(WAIT_NS / SEC_NS);
    pthread_mutex_lock(&w->mu);
    while (!w->child_ran) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
            break;
    }
    w->saw_child = w->child_ran;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static void spawn_then_wait(tasks_runtime *rt, int spin) {
    for (int i = 0; i < TRIALS; i++) {
        waiter_t w;
        memset(&w, 0, sizeof w);
        CHECK(pthread_mutex_init(&w.mu, NULL) == 0);
        CHECK(pthread_cond_init(&w.cv, NULL) == 0);
        w.spin = spin;
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, spawner_fn, &w, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
        if (!w.saw_child)
            CHECK_FAIL_("%s:%d: trial %d: a task spawned from a worker did not run within %.0f s while its spawner "
                        "%s and the other worker was idle (the spawn was not stealable / woke nobody)\n",
                        __FILE__, __LINE__, i, (double)WAIT_NS / 1e9,
                        spin ? "spun" : "waited on a condition variable");
        WAIT_UNTIL(get_metrics(rt).alive == 0); /* the child is done with w */
        pthread_cond_destroy(&w.cv);
        pthread_mutex_destroy(&w.mu);
        sleep_ms(10); /* let the workers go idle again */
    }
}

/* C: spawn_many_local */
#define MANY 10000
static int many_ran;

static int32_t inc_fn(void *arg, void **out) {
    (void)arg;
    (void)out;
    AT_ADD(&many_ran, 1);
    return 0;
}

static int32_t spawn_many_fn(void *arg, void **out) {
    (void)arg;
    (void)out;
    for (int i = 0; i < MANY; i++)
        if (tasks_spawn(NULL, inc_fn, NULL, NULL, NULL) != TASKS_OK)
            return 1;
    return 0;
}

/* C: ping-pong between the two poll tasks of a pair */
#define PAIRS 50
#define ROUNDS 200

typedef struct pair {
    pthread_mutex_t mu;
    int turn, rounds;
    tasks_waker *waiting[2];
} pair_t;

typedef struct side {
    pair_t *p;
    int me;
} side_t;

static tasks_poll pong_poll(void *state, tasks_context *cx, void **output) {
    side_t *s = state;
    pair_t *p = s->p;
    tasks_waker *wake = NULL;
    tasks_poll r = TASKS_POLL_PENDING;
    (void)output;
    pthread_mutex_lock(&p->mu);
    if (p->rounds < ROUNDS && p->turn == s->me) {
        p->rounds++;
        p->turn = 1 - s->me;
        wake = p->waiting[1 - s->me];
        p->waiting[1 - s->me] = NULL;
    }
    if (p->rounds >= ROUNDS) {
        r = TASKS_POLL_READY;
        tasks_waker_free(p->waiting[s->me]);
        p->waiting[s->me] = NULL;
    } else {
        tasks_waker_free(p->waiting[s->me]);
        p->waiting[s->me] = tasks_context_waker(cx);
    }
    pthread_mutex_unlock(&p->mu);
    if (wake != NULL)
        tasks_waker_wake(wake);
    return r;
}

static pair_t pairs[PAIRS];
static side_t sides[PAIRS][2];

static int32_t ping_pong_fn(void *arg, void **out) {
    tasks_join_handle *h[PAIRS][2];
    int ok = 1;
    (void)arg;
    (void)out;
    for (int i = 0; i < PAIRS; i++)
        for (int j = 0; j < 2; j++)
            if (tasks_spawn_poll(NULL, pong_poll, &sides[i][j], NULL, &h[i][j]) != TASKS_OK)
                return 1;
    for (int i = 0; i < PAIRS; i++)
        for (int j = 0; j < 2; j++) {
            ok &= tasks_join_handle_join(h[i][j], JOIN_LONG, NULL) == TASKS_OK;
            tasks_join_handle_free(h[i][j]);
        }
    return ok ? 0 : 1;
}

static void lifo_still_works(tasks_runtime *rt) {
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, spawn_many_fn, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    WAIT_UNTIL(AT_LOAD(&many_ran) == MANY);

    for (int i = 0; i < PAIRS; i++) {
        CHECK(pthread_mutex_init(&pairs[i].mu, NULL) == 0);
        for (int j = 0; j < 2; j++) {
            sides[i][j].p = &pairs[i];
            sides[i][j].me = j;
        }
    }
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, ping_pong_fn, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ_INT(pairs[i].rounds, ROUNDS);
        pthread_mutex_destroy(&pairs[i].mu);
    }
}

/* argv[1], optional: the parts to run (e.g. "C"); default all. */
int main(int argc, char **argv) {
    const char *parts = argc > 1 ? argv[1] : "ABC";
    watchdog_start(30, "regress_spawn_wakes_idle_worker");
    tasks_runtime *rt = make_rt(2);
    if (strchr(parts, 'A')) {
        watchdog_label("A: spawn, then wait on a condition variable");
        spawn_then_wait(rt, 0);
    }
    if (strchr(parts, 'B')) {
        watchdog_label("B: spawn, then spin");
        spawn_then_wait(rt, 1);
    }
    if (strchr(parts, 'C')) {
        watchdog_label("C: spawn_many_local and ping-pong");
        lifo_still_works(rt);
    }
    free_rt(rt);
    printf("ok\n");
    return 0;
}
