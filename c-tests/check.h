/* Shared helpers for the libtasks C tests.
 *
 * Everything is static inline, except the shared counters and drop callbacks, which are defined
 * once in check_common.c (CMake links it into every test, as every c-tests file named *_common.c;
 * so does scripts/sanitize-c.sh). Include it first in every test file.
 *
 * _GNU_SOURCE (clock_gettime, pthread_getname_np, barriers etc. under -std=c99 -pedantic) comes
 * from the compiler's command line, once for all tests: CMakeLists.txt and scripts/sanitize-c.sh
 * pass -D_GNU_SOURCE, so it is defined before any system header a test includes. A test file does
 * not define it (a `#define _GNU_SOURCE` after -D_GNU_SOURCE is a redefinition: -Werror fails).
 *
 * - CHECK(cond), CHECK_EQ_INT(a, b), CHECK_EQ_U64(a, b), CHECK_EQ_PTR(a, b), CHECK_STATUS(expected, expr):
 *   on failure print file:line, the expression and the values (statuses with tasks_status_str), then abort().
 * - WAIT_UNTIL(cond): poll cond every 100 us for up to WAIT_LIMIT_NS (60 s, generous so that valgrind
 *   runs do not fail); fails like CHECK when the limit is reached.
 * - now_ns(), sleep_ns(), sleep_ms(): monotonic clock helpers.
 * - scale(n): n multiplied by env TASKS_TEST_SCALE (default 1.0), never less than 1.
 * - AT_LOAD / AT_STORE / AT_ADD / AT_CAS: GCC __atomic builtins (the files compile as C99, so no <stdatomic.h>).
 * - gate_t: a one-shot event (mutex + condvar): gate_open / gate_wait / gate_is_open.
 * - count_threads(): entries in /proc/self/task.
 * - make_rt(workers): a runtime built with the given number of workers.
 * - spawn_join_sum(fn, a, b): inside a task, spawns fn(a) and fn(b) on the current runtime, joins both
 *   (each must succeed) and returns the sum of their outputs as integers (fork-join recursion, e.g. fib).
 * - watchdog_start(secs, label) / watchdog_label(label) / watchdog_stop(): alarm()-based watchdog for tests
 *   where a deadlock is the plausible failure: after secs seconds it prints "WATCHDOG: <label> ..." and aborts,
 *   so a hang fails fast with a message instead of running into ctest's timeout.
 * - gate_wait_for(g, ns): gate_wait with a time limit; returns whether the gate is open.
 * - busy_t / busy_fn: a task that holds its worker: opens ->started, then waits for ->go.
 * - drop_output_free / g_outputs_freed: a drop_output that checks the output is not NULL, counts it
 *   and free()s it; drop_arg_count / g_args_dropped: a drop_arg that counts (check_common.c).
 */
#ifndef TASKS_CHECK_H
#define TASKS_CHECK_H

#ifndef _GNU_SOURCE
#error "c-tests: compile with -D_GNU_SOURCE (as CMakeLists.txt and scripts/sanitize-c.sh do)"
#endif

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tasks.h"

#define CHECK_FAIL_(...)                                                                                       \
    do {                                                                                                       \
        fprintf(stderr, __VA_ARGS__);                                                                          \
        fflush(stderr);                                                                                        \
        abort();                                                                                               \
    } while (0)

#define CHECK(cond)                                                                                            \
    do {                                                                                                       \
        if (!(cond))                                                                                           \
            CHECK_FAIL_("%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                               \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                                     \
    do {                                                                                                       \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                        \
        if (check_a_ != check_b_)                                                                              \
            CHECK_FAIL_("%s:%d: CHECK_EQ_INT failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, #b,   \
                        check_a_, check_b_);                                                                   \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                                                     \
    do {                                                                                                       \
        unsigned long long check_a_ = (unsigned long long)(a), check_b_ = (unsigned long long)(b);             \
        if (check_a_ != check_b_)                                                                              \
            CHECK_FAIL_("%s:%d: CHECK_EQ_U64 failed: %s == %s (%llu vs %llu)\n", __FILE__, __LINE__, #a, #b,   \
                        check_a_, check_b_);                                                                   \
    } while (0)

#define CHECK_EQ_PTR(a, b)                                                                                     \
    do {                                                                                                       \
        const void *check_a_ = (const void *)(a), *check_b_ = (const void *)(b);                               \
        if (check_a_ != check_b_)                                                                              \
            CHECK_FAIL_("%s:%d: CHECK_EQ_PTR failed: %s == %s (%p vs %p)\n", __FILE__, __LINE__, #a, #b,       \
                        (void *)(uintptr_t)check_a_, (void *)(uintptr_t)check_b_);                             \
    } while (0)

#define CHECK_STATUS(expected, expr)                                                                           \
    do {                                                                                                       \
        int32_t check_e_ = (int32_t)(expected);                                                                \
        int32_t check_g_ = (int32_t)(expr);                                                                    \
        if (check_e_ != check_g_)                                                                              \
            CHECK_FAIL_("%s:%d: CHECK_STATUS failed: %s\n  expected %s (%d), got %s (%d)\n", __FILE__,         \
                        __LINE__, #expr, tasks_status_str(check_e_), (int)check_e_,                            \
                        tasks_status_str(check_g_), (int)check_g_);                                            \
    } while (0)

/* Atomics (C99-compatible GCC builtins). */
#define AT_LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define AT_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define AT_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define AT_CAS(p, expp, v) __atomic_compare_exchange_n((p), (expp), (v), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

#define MS_NS ((uint64_t)1000000)
#define SEC_NS ((uint64_t)1000000000)
/* Upper bound for anything that must happen "eventually" (generous for valgrind). */
#define WAIT_LIMIT_NS (60 * SEC_NS)
/* Join timeout used where a deadlock is a plausible bug: fails with a message instead of hanging. */
#define JOIN_LONG (60 * SEC_NS)

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC_NS + (uint64_t)ts.tv_nsec;
}

static inline void sleep_ns(uint64_t ns) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / SEC_NS);
    ts.tv_nsec = (long)(ns % SEC_NS);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static inline void sleep_ms(uint64_t ms) { sleep_ns(ms * MS_NS); }

#define WAIT_UNTIL(cond)                                                                                       \
    do {                                                                                                       \
        uint64_t wait_start_ = now_ns();                                                                       \
        while (!(cond)) {                                                                                      \
            if (now_ns() - wait_start_ > WAIT_LIMIT_NS)                                                        \
                CHECK_FAIL_("%s:%d: WAIT_UNTIL timed out (%llu s): %s\n", __FILE__, __LINE__,                   \
                            (unsigned long long)(WAIT_LIMIT_NS / SEC_NS), #cond);                              \
            sleep_ns(100000);                                                                                  \
        }                                                                                                      \
    } while (0)

static inline double test_scale_factor(void) {
    const char *s = getenv("TASKS_TEST_SCALE");
    if (s == NULL || *s == '\0')
        return 1.0;
    char *end = NULL;
    double f = strtod(s, &end);
    if (end == s || !(f > 0.0))
        return 1.0;
    return f;
}

/* A big count scaled by TASKS_TEST_SCALE (e.g. 0.01 under valgrind); at least 1. */
static inline uint64_t scale(uint64_t n) {
    double v = (double)n * test_scale_factor();
    if (v < 1.0)
        return 1;
    return (uint64_t)v;
}

/* One-shot event. Static initializer: GATE_INIT. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
} gate_t;

#define GATE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}

static inline void gate_init(gate_t *g) {
    CHECK(pthread_mutex_init(&g->mu, NULL) == 0);
    CHECK(pthread_cond_init(&g->cv, NULL) == 0);
    g->open = 0;
}

static inline void gate_destroy(gate_t *g) {
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static inline void gate_open(gate_t *g) {
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static inline void gate_wait(gate_t *g) {
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static inline int gate_is_open(gate_t *g) {
    pthread_mutex_lock(&g->mu);
    int o = g->open;
    pthread_mutex_unlock(&g->mu);
    return o;
}

/* Number of threads of this process (entries of /proc/self/task). */
static inline int count_threads(void) {
    DIR *d = opendir("/proc/self/task");
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
}

static inline intptr_t spawn_join_sum(tasks_fn fn, intptr_t a, intptr_t b) {
    tasks_join_handle *ha = NULL, *hb = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(NULL, fn, (void *)a, NULL, &ha));
    CHECK_STATUS(TASKS_OK, tasks_spawn(NULL, fn, (void *)b, NULL, &hb));
    void *ra = NULL, *rb = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(ha, TASKS_FOREVER, &ra));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, TASKS_FOREVER, &rb));
    tasks_join_handle_free(ha);
    tasks_join_handle_free(hb);
    return (intptr_t)ra + (intptr_t)rb;
}

static inline tasks_runtime *make_rt(size_t workers) {
    tasks_builder *b = tasks_builder_new();
    CHECK(b != NULL);
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, workers));
    tasks_runtime *rt = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt));
    CHECK(rt != NULL);
    tasks_builder_free(b);
    return rt;
}

static inline void free_rt(tasks_runtime *rt) { CHECK_STATUS(TASKS_OK, tasks_runtime_free(rt)); }

static inline tasks_metrics get_metrics(const tasks_runtime *rt) {
    tasks_metrics m;
    memset(&m, 0, sizeof m);
    tasks_runtime_metrics(rt, &m);
    return m;
}

/* The name of the calling thread (static buffer per call site is the caller's). */
static inline void thread_name(char *buf, size_t len) {
    buf[0] = '\0';
    CHECK(pthread_getname_np(pthread_self(), buf, len) == 0);
}

static inline int starts_with(const char *s, const char *prefix) {
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Waits up to ns for the gate; returns whether it is open. */
static inline int gate_wait_for(gate_t *g, uint64_t ns) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    uint64_t t = (uint64_t)until.tv_nsec + ns % SEC_NS;
    until.tv_sec += (time_t)(ns / SEC_NS + t / SEC_NS);
    until.tv_nsec = (long)(t % SEC_NS);
    pthread_mutex_lock(&g->mu);
    while (!g->open) {
        if (pthread_cond_timedwait(&g->cv, &g->mu, &until) == ETIMEDOUT)
            break;
    }
    int o = g->open;
    pthread_mutex_unlock(&g->mu);
    return o;
}

/* A task that holds its worker until released: spawn busy_fn with a busy_t whose gates are
   initialized, gate_wait(&b.started), ..., gate_open(&b.go). */
typedef struct busy {
    gate_t started, go;
} busy_t;

static inline int32_t busy_fn(void *p, void **out) {
    busy_t *b = p;
    (void)out;
    gate_open(&b->started);
    gate_wait(&b->go);
    return 0;
}

/* Shared drop callbacks and their counters (atomic: AT_LOAD to read), defined in check_common.c. */
extern long g_outputs_freed;
/* drop_output: CHECKs the output is not NULL (the library never drops a NULL output), counts it in
   g_outputs_freed and free()s it (outputs made with malloc). */
void drop_output_free(void *p);
extern long g_args_dropped;
/* drop_arg: counts the call in g_args_dropped; the arg is not touched. */
void drop_arg_count(void *p);

/* Watchdog (alarm/SIGALRM, one per process; a forked child arms its own). */
static inline const char *volatile *watchdog_label_slot_(void) {
    static const char *volatile label = "test";
    return &label;
}

static inline unsigned *watchdog_secs_slot_(void) {
    static unsigned secs;
    return &secs;
}

static inline void watchdog_write_(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static inline void watchdog_handler_(int sig) {
    char num[16];
    unsigned v = *watchdog_secs_slot_();
    int i = (int)sizeof num - 1;
    (void)sig;
    num[i] = '\0';
    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 0);
    watchdog_write_("WATCHDOG: ");
    watchdog_write_(*watchdog_label_slot_());
    watchdog_write_(": not done after ");
    watchdog_write_(num + i);
    watchdog_write_(" s (deadlock, hang or lost wakeup)\n");
    abort();
}

/* Changes what the watchdog message names (the step now running). label must stay valid. */
static inline void watchdog_label(const char *label) { *watchdog_label_slot_() = label; }

/* Arms (or re-arms) the watchdog: abort with a message if still running after secs seconds. */
static inline void watchdog_start(unsigned secs, const char *label) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = watchdog_handler_;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    watchdog_label(label);
    *watchdog_secs_slot_() = secs;
    alarm(secs);
}

static inline void watchdog_stop(void) { alarm(0); }

#endif
