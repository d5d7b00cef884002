/* libtasks scheduler benchmarks over the C API: tokio's benches/rt_multi_threaded.rs workloads
 * plus a fork-join fib(30). The tokio side (benches/tokio) runs the same workloads in the same units.
 *
 * Usage: bench [WORKERS] [WORKLOAD...]
 *   WORKERS   worker threads (else env BENCH_WORKERS, else the number of CPUs)
 *   WORKLOAD  run only these (spawn_many_remote spawn_many_local yield_many ping_pong chained_spawn fib)
 * Env: BENCH_ITERS=R measures exactly R iterations per workload (after one warm-up);
 *      otherwise iterations run until BENCH_TIME_MS (default 1000) have passed (at least 5).
 *      BENCH_FIB_N=n runs fib(n) instead of fib(30) (for quick checks, e.g. under sanitizers).
 * Stdout: one line per workload, `libtasks <workload> <ns_per_unit>` (the median iteration's time
 * divided by the units per iteration); details go to stderr.
 *
 * Build: gcc -O2 -std=c11 -Wall -Wextra -Werror -I include bench.c -L target/release -ltasks -lpthread
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include "tasks.h"

#include "bench_harness.h"

#define NUM_SPAWN 10000
#define YIELD_TASKS 200
#define NUM_YIELD 1000
#define NUM_PINGS 1000
#define CHAIN_LEN 1000

/* ---- errors ---------------------------------------------------------------------------------- */

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n, size);
    if (p == NULL) bench_oom();
    return p;
}

/* Join h (waiting without limit), expect success, free it; returns the output. */
static void *join_free(tasks_join_handle *h, const char *what) {
    void *out = NULL;
    tasks_status st = tasks_join_handle_join(h, TASKS_FOREVER, &out);
    if (st != TASKS_OK) die(what, (int)st);
    tasks_join_handle_free(h);
    return out;
}

/* ---- the "done" signal: one latch the main thread waits on ----------------------------------- */

static struct {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool done;
} latch = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};

static void latch_set(void) {
    if (pthread_mutex_lock(&latch.m) != 0) abort();
    latch.done = true;
    pthread_cond_signal(&latch.c);
    pthread_mutex_unlock(&latch.m);
}

static void latch_wait(void) {
    if (pthread_mutex_lock(&latch.m) != 0) abort();
    while (!latch.done) pthread_cond_wait(&latch.c, &latch.m);
    latch.done = false;
    pthread_mutex_unlock(&latch.m);
}

/* Counts tasks down; the last one to finish sets the latch. */
static size_t rem;

static void count_down(void) {
    if (__atomic_fetch_sub(&rem, 1, __ATOMIC_RELAXED) == 1) latch_set();
}

/* The runtime the workloads run on (one for the whole process). */
static tasks_runtime *rt;

/* ---- spawn_many_remote: 10,000 trivial tasks spawned from the main thread, every handle joined - */

static tasks_join_handle *handles[NUM_SPAWN];

static int32_t dec_task(void *arg, void **out) {
    (void)arg;
    (void)out;
    __atomic_fetch_sub(&rem, 1, __ATOMIC_RELAXED);
    return 0;
}

static void spawn_many_remote(const config *cfg) {
    (void)cfg;
    __atomic_store_n(&rem, NUM_SPAWN, __ATOMIC_RELAXED);
    for (size_t i = 0; i < NUM_SPAWN; i++) CHECK(tasks_spawn(rt, dec_task, NULL, NULL, &handles[i]));
    for (size_t i = 0; i < NUM_SPAWN; i++) join_free(handles[i], "spawn_many_remote: join");
    size_t left = __atomic_load_n(&rem, __ATOMIC_RELAXED);
    if (left != 0) {
        fprintf(stderr, "bench: spawn_many_remote: %zu tasks did not run\n", left);
        abort();
    }
}

/* ---- spawn_many_local: one task spawns 10,000 trivial detached tasks; the last one signals ---- */

static int32_t count_down_task(void *arg, void **out) {
    (void)arg;
    (void)out;
    count_down();
    return 0;
}

static int32_t spawn_many_local_root(void *arg, void **out) {
    (void)arg;
    (void)out;
    for (size_t i = 0; i < NUM_SPAWN; i++) CHECK(tasks_spawn(NULL, count_down_task, NULL, NULL, NULL));
    return 0;
}

static void spawn_many_local(const config *cfg) {
    (void)cfg;
    tasks_join_handle *root;
    __atomic_store_n(&rem, NUM_SPAWN, __ATOMIC_RELAXED);
    CHECK(tasks_spawn(rt, spawn_many_local_root, NULL, NULL, &root));
    latch_wait();
    join_free(root, "spawn_many_local: join root");
}

/* ---- yield_many: 200 poll tasks spawned from the main thread, each yielding 1,000 times ------- */

static unsigned yield_counts[YIELD_TASKS];

static tasks_poll yield_poll(void *state, tasks_context *cx, void **out) {
    (void)cx;
    (void)out;
    unsigned *n = state; /* only ever touched by this task's polls, which the runtime serializes */
    if (*n < NUM_YIELD) {
        ++*n;
        return TASKS_POLL_YIELD;
    }
    count_down();
    return TASKS_POLL_READY;
}

static void yield_many(const config *cfg) {
    (void)cfg;
    __atomic_store_n(&rem, YIELD_TASKS, __ATOMIC_RELAXED);
    for (size_t i = 0; i < YIELD_TASKS; i++) {
        yield_counts[i] = 0;
        CHECK(tasks_spawn_poll(rt, yield_poll, &yield_counts[i], NULL, NULL));
    }
    latch_wait();
}

/* ---- ping_pong: a task spawns 1,000 poll tasks; each spawns a peer, sends it a message on a
 *      oneshot and waits for the answer on another oneshot ----------------------------------- */

/* A oneshot channel carrying no value: an atomic state word plus the receiver's waker. */
enum { OS_EMPTY, OS_WAITING, OS_SENT };

typedef struct oneshot {
    int state;          /* OS_*; atomic */
    tasks_waker *waker; /* written by the receiver before EMPTY -> WAITING, taken by the sender after */
} oneshot;

static void oneshot_send(oneshot *o) {
    int prev = __atomic_exchange_n(&o->state, OS_SENT, __ATOMIC_ACQ_REL);
    if (prev == OS_SENT) {
        fprintf(stderr, "bench: oneshot sent twice\n");
        abort();
    }
    if (prev == OS_WAITING) {
        tasks_waker *w = o->waker;
        o->waker = NULL;
        tasks_waker_wake(w); /* consumes w */
    }
}

/* true: the message is there. false: not yet, and this task will be woken when it is. */
static bool oneshot_poll_recv(oneshot *o, tasks_context *cx) {
    int s = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
    if (s == OS_SENT) return true;
    if (s == OS_WAITING) return false; /* a spurious poll: our waker is already registered */
    tasks_waker *w = tasks_context_waker(cx);
    if (w == NULL) {
        fprintf(stderr, "bench: tasks_context_waker returned NULL\n");
        abort();
    }
    o->waker = w;
    int expected = OS_EMPTY;
    if (__atomic_compare_exchange_n(&o->state, &expected, OS_WAITING, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return false;
    /* sent meanwhile: the sender saw EMPTY and did not touch the waker */
    o->waker = NULL;
    tasks_waker_free(w);
    return true;
}

/* What a ping task and its pong peer share (like the Arcs inside tokio's oneshots): freed by
 * whichever of the two tasks is dropped last. */
typedef struct pp_pair {
    int refs;    /* atomic */
    int started; /* the ping task's own state */
    oneshot ping, pong;
} pp_pair;

static void pp_release(void *arg) {
    pp_pair *p = arg;
    if (__atomic_fetch_sub(&p->refs, 1, __ATOMIC_ACQ_REL) == 1) {
        if (p->ping.waker) tasks_waker_free(p->ping.waker);
        if (p->pong.waker) tasks_waker_free(p->pong.waker);
        free(p);
    }
}

static const tasks_spawn_opts pp_opts = {NULL, pp_release, NULL};

/* The peer: receive the ping, answer with the pong. */
static tasks_poll pong_poll(void *state, tasks_context *cx, void **out) {
    (void)out;
    pp_pair *p = state;
    if (!oneshot_poll_recv(&p->ping, cx)) return TASKS_POLL_PENDING;
    oneshot_send(&p->pong);
    return TASKS_POLL_READY;
}

static tasks_poll ping_poll(void *state, tasks_context *cx, void **out) {
    (void)out;
    pp_pair *p = state;
    if (!p->started) {
        p->started = 1;
        __atomic_fetch_add(&p->refs, 1, __ATOMIC_RELAXED); /* the peer's reference */
        tasks_status st = tasks_spawn_poll(NULL, pong_poll, p, &pp_opts, NULL);
        if (st != TASKS_OK) die("ping_pong: spawn peer", (int)st);
        oneshot_send(&p->ping);
    }
    if (!oneshot_poll_recv(&p->pong, cx)) return TASKS_POLL_PENDING;
    count_down();
    return TASKS_POLL_READY;
}

static int32_t ping_pong_root(void *arg, void **out) {
    (void)arg;
    (void)out;
    for (size_t i = 0; i < NUM_PINGS; i++) {
        pp_pair *p = xcalloc(1, sizeof *p);
        p->refs = 1; /* the ping task's */
        tasks_status st = tasks_spawn_poll(NULL, ping_poll, p, &pp_opts, NULL);
        if (st != TASKS_OK) die("ping_pong: spawn ping", (int)st);
    }
    return 0;
}

static void ping_pong(const config *cfg) {
    (void)cfg;
    tasks_join_handle *root;
    __atomic_store_n(&rem, NUM_PINGS, __ATOMIC_RELAXED);
    CHECK(tasks_spawn(rt, ping_pong_root, NULL, NULL, &root));
    latch_wait();
    join_free(root, "ping_pong: join root");
}

/* ---- chained_spawn: a chain of 1,000 tasks, each spawning the next; the last signals ---------- */

static int32_t chain_task(void *arg, void **out) {
    (void)out;
    uintptr_t n = (uintptr_t)arg;
    if (n == 0) {
        latch_set();
    } else {
        tasks_status st = tasks_spawn(NULL, chain_task, (void *)(n - 1), NULL, NULL);
        if (st != TASKS_OK) die("chained_spawn: spawn", (int)st);
    }
    return 0;
}

static void chained_spawn(const config *cfg) {
    (void)cfg;
    CHECK(tasks_spawn(rt, chain_task, (void *)(uintptr_t)CHAIN_LEN, NULL, NULL));
    latch_wait();
}

/* ---- fib(30) fork-join: every call is a task that spawns its two children and joins both ------ */

static int32_t fib_task(void *arg, void **out) {
    uintptr_t n = (uintptr_t)arg;
    if (n < 2) {
        *out = (void *)n;
        return 0;
    }
    tasks_join_handle *a, *b;
    tasks_status st = tasks_spawn(NULL, fib_task, (void *)(n - 1), NULL, &a);
    if (st != TASKS_OK) die("fib: spawn", (int)st);
    st = tasks_spawn(NULL, fib_task, (void *)(n - 2), NULL, &b);
    if (st != TASKS_OK) die("fib: spawn", (int)st);
    uintptr_t x = (uintptr_t)join_free(a, "fib: join");
    uintptr_t y = (uintptr_t)join_free(b, "fib: join");
    *out = (void *)(x + y);
    return 0;
}

static void fib(const config *cfg) {
    tasks_join_handle *h;
    CHECK(tasks_spawn(rt, fib_task, (void *)(uintptr_t)cfg->fib_n, NULL, &h));
    check_fib(cfg, (uintptr_t)join_free(h, "fib: join root"));
}

/* ---- memory_pending: resident memory per task that waits (spawned, polled once, pending) ---- */

#define PENDING_TASKS 200000

static long g_pending_polled;

static tasks_poll pending_poll(void *state, tasks_context *cx, void **out) {
    (void)state;
    (void)cx;
    (void)out;
    __atomic_add_fetch(&g_pending_polled, 1, __ATOMIC_RELAXED);
    return TASKS_POLL_PENDING; /* never woken: it waits until its runtime is freed */
}

static long resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2) {
        fprintf(stderr, "bench: cannot read /proc/self/statm\n");
        abort();
    }
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* Spawns PENDING_TASKS detached poll tasks on a runtime of their own, waits until each was polled
 * once (it then sits idle, as a task waiting for I/O or a timer does), and reports the growth of the
 * resident set divided by the task count: the whole cost of a waiting task (its block, its
 * owner-list links, allocator overhead). Freeing the runtime cancels them. One measurement. */
static void memory_pending(const config *cfg) {
    if (!selected(cfg, "memory_pending")) return;
    tasks_builder *b = tasks_builder_new();
    tasks_runtime *rt = NULL;
    CHECK(tasks_builder_worker_threads(b, cfg->workers));
    CHECK(tasks_builder_build(b, &rt));
    tasks_builder_free(b);
    __atomic_store_n(&g_pending_polled, 0, __ATOMIC_SEQ_CST);
    long before = resident_bytes();
    for (long i = 0; i < PENDING_TASKS; i++)
        CHECK(tasks_spawn_poll(rt, pending_poll, NULL, NULL, NULL));
    while (__atomic_load_n(&g_pending_polled, __ATOMIC_SEQ_CST) < PENDING_TASKS) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    long after = resident_bytes();
    printf("libtasks memory_pending %.1f\n", (double)(after - before) / PENDING_TASKS);
    fflush(stdout);
    fprintf(stderr, "# libtasks memory_pending: %d tasks, resident +%ld KB\n", PENDING_TASKS,
            (after - before) / 1024);
    CHECK(tasks_runtime_free(rt));
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    config cfg;
    if (!parse_config(&cfg, argc, argv, "bench")) return 2;

    tasks_builder *b = tasks_builder_new();
    if (b == NULL) {
        fprintf(stderr, "bench: tasks_builder_new returned NULL\n");
        return 1;
    }
    CHECK(tasks_builder_worker_threads(b, cfg.workers));
    CHECK(tasks_builder_build(b, &rt));
    tasks_builder_free(b);
    fprintf(stderr, "# libtasks %s: %zu worker threads\n", tasks_version(), cfg.workers);

    measure(&cfg, "libtasks", "spawn_many_remote", NUM_SPAWN, 1.0, "tasks", spawn_many_remote);
    measure(&cfg, "libtasks", "spawn_many_local", NUM_SPAWN, 1.0, "tasks", spawn_many_local);
    measure(&cfg, "libtasks", "yield_many", (uint64_t)YIELD_TASKS * NUM_YIELD, 1.0, "yields", yield_many);
    measure(&cfg, "libtasks", "ping_pong", NUM_PINGS, 1.0, "pairs", ping_pong);
    measure(&cfg, "libtasks", "chained_spawn", CHAIN_LEN, 1.0, "tasks", chained_spawn);
    if (selected(&cfg, "fib"))
        fprintf(stderr, "# libtasks fib(%u): %llu tasks per iteration\n", cfg.fib_n,
                (unsigned long long)fib_calls(cfg.fib_n));
    measure(&cfg, "libtasks", "fib", fib_calls(cfg.fib_n), 1.0, "tasks", fib);
    memory_pending(&cfg);

    tasks_metrics m;
    tasks_runtime_metrics(rt, &m);
    fprintf(stderr, "# libtasks metrics: spawned %llu completed %llu failed %llu cancelled %llu alive %llu polls %llu steals %llu parks %llu\n",
            (unsigned long long)m.spawned, (unsigned long long)m.completed, (unsigned long long)m.failed,
            (unsigned long long)m.cancelled, (unsigned long long)m.alive, (unsigned long long)m.polls,
            (unsigned long long)m.steals, (unsigned long long)m.parks);
    CHECK(tasks_runtime_free(rt));
    return 0;
}
