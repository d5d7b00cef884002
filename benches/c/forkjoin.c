/* libtasks side of the fork-join benchmarks (see ../README.md, "Fork-join and data parallelism"),
 * over the structured fork-join C API (API.md, "Structured fork-join and data parallelism":
 * tasks_join2, tasks_scope_run/tasks_scope_spawn, tasks_parallel_for). The peers, in the same
 * workloads, units and output format: benches/rayon, benches/tbb, benches/omp.
 *
 * Usage: forkjoin-bench [WORKERS] [WORKLOAD...]
 *   WORKERS   worker threads of the runtime (else env BENCH_WORKERS, else the number of CPUs)
 *   WORKLOAD  run only these (fib_join2 fib_scope pfor_add pfor_small)
 * Env: BENCH_ITERS, BENCH_TIME_MS, BENCH_FIB_N as for bench.c.
 * Stdout: `libtasks <workload> <value>`, value in the workload's unit (ns/call, ns/element,
 * us/loop); details go to stderr.
 *
 * Every iteration is one task spawned on the runtime (the main thread joins it): the fork-join
 * calls inside run on a worker, as Rayon's run inside pool.install, oneTBB's in the main thread's
 * arena slot and OpenMP's inside a parallel region; none of them pays a thread hand-off per loop.
 *
 * Build (benches/forkjoin.sh does it, only when libtasks.so exports tasks_join2):
 *   gcc -O2 -std=c11 -Wall -Wextra -Werror -I include [-DTASKS_HAVE_FORKJOIN] forkjoin.c \
 *       -L target/release -ltasks -lpthread
 * TASKS_HAVE_FORKJOIN: include/tasks.h declares the fork-join API; without it this file declares
 * the functions itself, with the signatures of API.md.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tasks.h"

#include "forkjoin_common.h"

#ifndef TASKS_HAVE_FORKJOIN
/* API.md, "Structured fork-join and data parallelism", verbatim. */
typedef struct tasks_scope tasks_scope;
typedef int32_t (*tasks_scope_fn)(tasks_scope *scope, void *ctx);
tasks_status tasks_scope_run(tasks_runtime *rt, tasks_scope_fn body, void *ctx);
tasks_status tasks_scope_spawn(tasks_scope *scope, tasks_fn fn, void *arg, const tasks_spawn_opts *opts);
void tasks_scope_cancel(tasks_scope *scope);

tasks_status tasks_join2(tasks_fn a, void *arg_a, void **out_a, tasks_fn b, void *arg_b, void **out_b);

typedef int32_t (*tasks_range_fn)(void *ctx, uint64_t begin, uint64_t end);
tasks_status tasks_parallel_for(tasks_runtime *rt, uint64_t begin, uint64_t end, uint64_t grain,
                                tasks_range_fn body, void *ctx);
#endif

static const char *const runtime_name = "libtasks";
static tasks_runtime *rt;

/* Runs fn(arg) as one task on rt and waits for it from the main thread. */
static void run_on_rt(tasks_fn fn, void *arg, const char *what) {
    tasks_join_handle *h;
    CHECK(tasks_spawn(rt, fn, arg, NULL, &h));
    tasks_status st = tasks_join_handle_join(h, TASKS_FOREVER, NULL);
    if (st != TASKS_OK) die(what, (int)st);
    tasks_join_handle_free(h);
}

/* ---- fib_join2: every call forks fib(n-1) (on this thread) and fib(n-2) (offered to the other
 *      workers) with tasks_join2 -------------------------------------------------------------- */

static int32_t fib_join2(void *arg, void **out) {
    uintptr_t n = (uintptr_t)arg;
    if (n < 2) {
        *out = (void *)n;
        return 0;
    }
    void *a, *b;
    tasks_status st = tasks_join2(fib_join2, (void *)(n - 1), &a, fib_join2, (void *)(n - 2), &b);
    if (st != TASKS_OK) die("fib_join2: tasks_join2", (int)st);
    *out = (void *)((uintptr_t)a + (uintptr_t)b);
    return 0;
}

static uint64_t fib_result;

static int32_t fib_join2_root(void *arg, void **out) {
    (void)out;
    void *v = NULL;
    fib_join2(arg, &v);
    fib_result = (uintptr_t)v;
    return 0;
}

static void fib_join2_iteration(const config *cfg) {
    run_on_rt(fib_join2_root, (void *)(uintptr_t)cfg->fib_n, "fib_join2: join root");
    check_fib(cfg, fib_result);
}

/* ---- fib_scope: the shape of oneTBB's task_group fib. Every call opens a scope
 *      (tasks_scope_run), spawns fib(n-1) into it (tasks_scope_spawn), computes fib(n-2) inline
 *      in the scope's body, and the scope's end waits for the child. -------------------------- */

typedef struct fib_frame {
    uintptr_t n;
    uint64_t a, b; /* fib(n-1) from the scope task, fib(n-2) from the body */
} fib_frame;

static uint64_t fib_scope(uintptr_t n);

static int32_t fib_scope_child(void *arg, void **out) {
    (void)out;
    fib_frame *f = arg;
    f->a = fib_scope(f->n - 1);
    return 0;
}

static int32_t fib_scope_body(tasks_scope *scope, void *ctx) {
    fib_frame *f = ctx;
    tasks_status st = tasks_scope_spawn(scope, fib_scope_child, f, NULL);
    if (st != TASKS_OK) die("fib_scope: tasks_scope_spawn", (int)st);
    f->b = fib_scope(f->n - 2);
    return 0;
}

static uint64_t fib_scope(uintptr_t n) {
    if (n < 2) return n;
    fib_frame f = {n, 0, 0};
    tasks_status st = tasks_scope_run(NULL, fib_scope_body, &f);
    if (st != TASKS_OK) die("fib_scope: tasks_scope_run", (int)st);
    return f.a + f.b;
}

static int32_t fib_scope_root(void *arg, void **out) {
    (void)out;
    fib_result = fib_scope((uintptr_t)arg);
    return 0;
}

static void fib_scope_iteration(const config *cfg) {
    run_on_rt(fib_scope_root, (void *)(uintptr_t)cfg->fib_n, "fib_scope: join root");
    check_fib(cfg, fib_result);
}

/* ---- pfor_add: one tasks_parallel_for over 10M u64, grain 0 (automatic) ----------------------- */

static int32_t pfor_add_body(void *ctx, uint64_t begin, uint64_t end) {
    uint64_t *a = ctx;
    for (uint64_t i = begin; i < end; i++) a[i] = a[i] * 3 + i;
    return 0;
}

static int32_t pfor_add_root(void *arg, void **out) {
    (void)out;
    CHECK(tasks_parallel_for(NULL, 0, PFOR_ADD_N, 0, pfor_add_body, arg));
    return 0;
}

static void pfor_add_iteration(const config *cfg) {
    (void)cfg;
    run_on_rt(pfor_add_root, pfor_add_array(), "pfor_add: join root");
    pfor_add_done();
}

/* ---- pfor_small: 10,000 tasks_parallel_for of 256 elements of ~100 ns, grain 0 ---------------- */

static int32_t pfor_small_body(void *ctx, uint64_t begin, uint64_t end) {
    uint64_t base = *(const uint64_t *)ctx;
    for (uint64_t i = begin; i < end; i++) pfor_small_out[i] = pfor_small_work(base + i);
    return 0;
}

static int32_t pfor_small_root(void *arg, void **out) {
    (void)arg;
    (void)out;
    for (uint64_t l = 0; l < PFOR_SMALL_LOOPS; l++) {
        uint64_t base = l * PFOR_SMALL_LEN;
        CHECK(tasks_parallel_for(NULL, 0, PFOR_SMALL_LEN, 0, pfor_small_body, &base));
    }
    return 0;
}

static void pfor_small_iteration(const config *cfg) {
    (void)cfg;
    run_on_rt(pfor_small_root, NULL, "pfor_small: join root");
    pfor_small_check();
}

int main(int argc, char **argv) {
    config cfg;
    if (!parse_config(&cfg, argc, argv, "forkjoin-bench")) return 2;
    tasks_builder *b = tasks_builder_new();
    if (b == NULL) {
        fprintf(stderr, "forkjoin-bench: tasks_builder_new returned NULL\n");
        return 1;
    }
    CHECK(tasks_builder_worker_threads(b, cfg.workers));
    CHECK(tasks_builder_build(b, &rt));
    tasks_builder_free(b);
    fprintf(stderr, "# libtasks %s: %zu worker threads\n", tasks_version(), cfg.workers);

    measure(&cfg, runtime_name, "fib_join2", fib_calls(cfg.fib_n), 1.0, "calls", fib_join2_iteration);
    measure(&cfg, runtime_name, "fib_scope", fib_calls(cfg.fib_n), 1.0, "calls", fib_scope_iteration);
    measure(&cfg, runtime_name, "pfor_add", PFOR_ADD_N, 1.0, "elements", pfor_add_iteration);
    measure(&cfg, runtime_name, "pfor_small", PFOR_SMALL_LOOPS, 1000.0, "loops", pfor_small_iteration);

    tasks_metrics m;
    tasks_runtime_metrics(rt, &m);
    fprintf(stderr, "# libtasks metrics: spawned %llu completed %llu polls %llu steals %llu parks %llu\n",
            (unsigned long long)m.spawned, (unsigned long long)m.completed, (unsigned long long)m.polls,
            (unsigned long long)m.steals, (unsigned long long)m.parks);
    CHECK(tasks_runtime_free(rt));
    return 0;
}
