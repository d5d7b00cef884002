/* libtasks demo: the main things the library does, in one short C program.
 *
 *   1. a runtime with 4 worker threads (tasks_builder_*)
 *   2. spawn 100,000 small tasks and join them all
 *   3. fork-join: fib(25) where every task spawns and joins its two children
 *   4. a poll-style task (a hand-written state machine) woken by a plain pthread through a waker
 *   5. abort of a task that has not started yet
 *   6. runtime metrics, then everything freed
 *
 * Every result is checked; the program exits non-zero on a mismatch.
 * Build and run: scripts/demo.sh
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tasks.h"

static int failures = 0;

#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "demo: FAILED at line %d: ", __LINE__);                               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Task results travel through the `void *output` slot; small integers fit in the pointer itself. */
#define TO_PTR(v) ((void *)(uintptr_t)(v))
#define FROM_PTR(p) ((uint64_t)(uintptr_t)(p))

/* ---- 2. many small tasks ---------------------------------------------------------------------- */

static int32_t square_task(void *arg, void **output) {
    uint64_t i = FROM_PTR(arg);
    *output = TO_PTR(i * i % 1000003);
    return 0; /* 0 = success */
}

static void many_tasks(tasks_runtime *rt) {
    enum { N = 100000 };
    tasks_join_handle **handles = calloc(N, sizeof *handles);
    uint64_t expected = 0, sum = 0;
    size_t ok = 0;
    if (handles == NULL) {
        EXPECT(0, "out of memory");
        return;
    }

    double t0 = now_ms();
    for (uint64_t i = 0; i < N; i++) {
        tasks_status st = tasks_spawn(rt, square_task, TO_PTR(i), NULL, &handles[i]);
        EXPECT(st == TASKS_OK, "spawn %" PRIu64 ": %s", i, tasks_status_str(st));
        expected += i * i % 1000003;
    }
    for (size_t i = 0; i < N; i++) {
        void *out = NULL;
        if (handles[i] != NULL && tasks_join_handle_join(handles[i], TASKS_FOREVER, &out) == TASKS_OK) {
            ok++;
            sum += FROM_PTR(out);
        }
        tasks_join_handle_free(handles[i]);
    }
    double t1 = now_ms();
    free(handles);

    printf("spawn + join %d tasks:  %zu ok, sum %" PRIu64 "  (%.1f ms)\n", N, ok, sum, t1 - t0);
    EXPECT(ok == N, "%zu of %d tasks succeeded", ok, N);
    EXPECT(sum == expected, "sum %" PRIu64 ", expected %" PRIu64, sum, expected);
}

/* ---- 3. fork-join ------------------------------------------------------------------------------- */

/* fib(n) as a task tree: each task spawns fib(n-1) and fib(n-2) and joins both. A join on a worker
   thread runs other tasks while it waits, so this never deadlocks, whatever the number of workers. */
static int32_t fib_task(void *arg, void **output) {
    uint64_t n = FROM_PTR(arg);
    if (n < 2) {
        *output = TO_PTR(n);
        return 0;
    }
    tasks_join_handle *a = NULL, *b = NULL;
    void *ra = NULL, *rb = NULL;
    /* rt = NULL: spawn onto the runtime of the calling task. */
    if (tasks_spawn(NULL, fib_task, TO_PTR(n - 1), NULL, &a) != TASKS_OK)
        return 1;
    if (tasks_spawn(NULL, fib_task, TO_PTR(n - 2), NULL, &b) != TASKS_OK) {
        tasks_join_handle_join(a, TASKS_FOREVER, NULL);
        tasks_join_handle_free(a);
        return 1;
    }
    tasks_status sa = tasks_join_handle_join(a, TASKS_FOREVER, &ra);
    tasks_status sb = tasks_join_handle_join(b, TASKS_FOREVER, &rb);
    tasks_join_handle_free(a);
    tasks_join_handle_free(b);
    if (sa != TASKS_OK || sb != TASKS_OK)
        return 1; /* non-zero = failure */
    *output = TO_PTR(FROM_PTR(ra) + FROM_PTR(rb));
    return 0;
}

static void fork_join(tasks_runtime *rt) {
    const uint64_t n = 25, expected = 75025;
    tasks_join_handle *h = NULL;
    void *out = NULL;

    double t0 = now_ms();
    tasks_status st = tasks_spawn(rt, fib_task, TO_PTR(n), NULL, &h);
    EXPECT(st == TASKS_OK, "spawn fib: %s", tasks_status_str(st));
    if (st != TASKS_OK)
        return;
    st = tasks_join_handle_join(h, TASKS_FOREVER, &out);
    double t1 = now_ms();
    tasks_join_handle_free(h);

    printf("fork-join fib(%" PRIu64 "):          %" PRIu64 " (%s)  (%.1f ms, 242785 tasks)\n", n, FROM_PTR(out),
           tasks_status_str(st), t1 - t0);
    EXPECT(st == TASKS_OK && FROM_PTR(out) == expected, "fib(%" PRIu64 ") = %" PRIu64 " (%s), expected %" PRIu64,
           n, FROM_PTR(out), tasks_status_str(st), expected);
}

/* ---- 4. a poll-style task woken from another thread ------------------------------------------ */

/* The task's state. The first poll starts a pthread that does some "I/O", records the result and
   wakes the task through a waker; the task then finishes on its next poll. */
struct io_op {
    pthread_mutex_t mu;
    int done;            /* guarded by mu */
    uint64_t result;     /* guarded by mu */
    int started;         /* only touched by the poll function */
    pthread_t thread;
    tasks_waker *waker;  /* handed to the thread, which consumes it */
    int polls;
};

static void *io_thread(void *p) {
    struct io_op *op = p;
    struct timespec delay = {0, 20 * 1000 * 1000}; /* 20 ms of pretend I/O */
    nanosleep(&delay, NULL);
    pthread_mutex_lock(&op->mu);
    op->done = 1;
    op->result = 42;
    pthread_mutex_unlock(&op->mu);
    tasks_waker_wake(op->waker); /* wakes the task and frees the waker */
    return NULL;
}

static tasks_poll io_poll(void *state, tasks_context *cx, void **output) {
    struct io_op *op = state;
    op->polls++;
    if (!op->started) {
        op->started = 1;
        op->waker = tasks_context_waker(cx); /* arrange to be woken before returning PENDING */
        if (op->waker == NULL || pthread_create(&op->thread, NULL, io_thread, op) != 0) {
            tasks_waker_free(op->waker);
            op->started = 0;
            return TASKS_POLL_FAILED;
        }
        return TASKS_POLL_PENDING;
    }
    pthread_mutex_lock(&op->mu);
    int done = op->done;
    uint64_t result = op->result;
    pthread_mutex_unlock(&op->mu);
    if (!done)
        return TASKS_POLL_PENDING; /* an early wake: the waker is still with the thread */
    *output = TO_PTR(result);
    return TASKS_POLL_READY;
}

static void poll_task(tasks_runtime *rt) {
    struct io_op op = {.mu = PTHREAD_MUTEX_INITIALIZER};
    tasks_join_handle *h = NULL;
    void *out = NULL;

    double t0 = now_ms();
    tasks_status st = tasks_spawn_poll(rt, io_poll, &op, NULL, &h);
    EXPECT(st == TASKS_OK, "spawn_poll: %s", tasks_status_str(st));
    if (st != TASKS_OK)
        return;
    st = tasks_join_handle_join(h, TASKS_FOREVER, &out);
    double t1 = now_ms();
    tasks_join_handle_free(h);
    if (op.started)
        pthread_join(op.thread, NULL);
    pthread_mutex_destroy(&op.mu);

    printf("poll task woken by pthread: %" PRIu64 " (%s) after %d polls  (%.1f ms)\n", FROM_PTR(out),
           tasks_status_str(st), op.polls, t1 - t0);
    EXPECT(st == TASKS_OK && FROM_PTR(out) == 42, "poll task: %s, output %" PRIu64, tasks_status_str(st),
           FROM_PTR(out));
}

/* ---- 5. abort --------------------------------------------------------------------------------- */

/* To abort a task before it starts, first keep all 4 workers busy: each runs a `blocker` that
   waits for the gate to open. The victim then sits in the queue, and abort cancels it at once. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open, blocked;
};

static int32_t blocker(void *arg, void **output) {
    struct gate *g = arg;
    (void)output;
    pthread_mutex_lock(&g->mu);
    g->blocked++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

static int victim_ran = 0, victim_dropped = 0;

static int32_t victim(void *arg, void **output) {
    (void)arg;
    (void)output;
    victim_ran = 1; /* must never happen */
    return 0;
}

static void drop_victim_arg(void *arg) {
    (void)arg;
    victim_dropped++;
}

static void abort_task(tasks_runtime *rt, int workers) {
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    tasks_join_handle *blockers[16] = {NULL};
    tasks_join_handle *h = NULL;
    tasks_spawn_opts opts = {.name = "victim", .drop_arg = drop_victim_arg, .drop_output = NULL};

    for (int i = 0; i < workers; i++)
        EXPECT(tasks_spawn(rt, blocker, &g, NULL, &blockers[i]) == TASKS_OK, "spawn blocker");
    pthread_mutex_lock(&g.mu);
    while (g.blocked < workers) /* wait until every worker is inside a blocker */
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);

    tasks_status st = tasks_spawn(rt, victim, &g, &opts, &h);
    EXPECT(st == TASKS_OK, "spawn victim: %s", tasks_status_str(st));
    if (st == TASKS_OK) {
        tasks_join_handle_abort(h); /* not started: cancelled before abort returns */
        st = tasks_join_handle_join(h, TASKS_FOREVER, NULL);
        printf("abort before start:         %s, finished=%d, drop_arg ran %d time(s)\n", tasks_status_str(st),
               (int)tasks_join_handle_is_finished(h), victim_dropped);
        EXPECT(st == TASKS_CANCELLED, "join after abort: %s", tasks_status_str(st));
        EXPECT(tasks_join_handle_is_finished(h), "aborted task not finished");
        EXPECT(victim_dropped == 1, "drop_arg ran %d times", victim_dropped);
        tasks_join_handle_free(h);
    }

    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < workers; i++) {
        EXPECT(tasks_join_handle_join(blockers[i], TASKS_FOREVER, NULL) == TASKS_OK, "join blocker");
        tasks_join_handle_free(blockers[i]);
    }
    EXPECT(!victim_ran, "the aborted task ran");
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
}

/* ---- 1 + 6: runtime, metrics, cleanup ------------------------------------------------------ */

int main(void) {
    const int workers = 4;
    printf("libtasks %s\n", tasks_version());

    tasks_builder *b = tasks_builder_new();
    tasks_runtime *rt = NULL;
    if (b == NULL || tasks_builder_worker_threads(b, (size_t)workers) != TASKS_OK ||
        tasks_builder_thread_name(b, "demo-worker") != TASKS_OK || tasks_builder_build(b, &rt) != TASKS_OK) {
        fprintf(stderr, "demo: could not build the runtime\n");
        tasks_builder_free(b);
        return 1;
    }
    tasks_builder_free(b);
    printf("runtime with %d workers\n", workers);

    many_tasks(rt);
    fork_join(rt);
    poll_task(rt);
    abort_task(rt, workers);

    tasks_metrics m;
    tasks_runtime_metrics(rt, &m);
    printf("metrics: workers %zu, spawned %" PRIu64 ", completed %" PRIu64 ", failed %" PRIu64
           ", cancelled %" PRIu64 ", alive %" PRIu64 ",\n"
           "         polls %" PRIu64 ", steals %" PRIu64 ", parks %" PRIu64 "\n",
           m.workers, m.spawned, m.completed, m.failed, m.cancelled, m.alive, m.polls, m.steals, m.parks);
    EXPECT(m.workers == (size_t)workers, "metrics.workers = %zu", m.workers);
    EXPECT(m.spawned >= 100000 + 242785, "metrics.spawned = %" PRIu64, m.spawned);
    EXPECT(m.cancelled >= 1, "metrics.cancelled = %" PRIu64, m.cancelled);

    tasks_status st = tasks_runtime_free(rt);
    EXPECT(st == TASKS_OK, "runtime_free: %s", tasks_status_str(st));

    if (failures != 0) {
        fprintf(stderr, "demo: %d check(s) FAILED\n", failures);
        return 1;
    }
    printf("demo: all checks passed\n");
    return 0;
}
