/* OpenMP side of the fork-join benchmarks (see ../README.md, "Fork-join and data parallelism"):
 * the same workloads as benches/c/forkjoin.c (libtasks), benches/rayon and benches/tbb, in the
 * same units and output format. Also prints the serial reference ("serial" lines).
 *
 * Usage: omp-bench [WORKERS] [WORKLOAD...]
 *   WORKERS   threads of the OpenMP team (else env BENCH_WORKERS, else the number of CPUs)
 *   WORKLOAD  run only these (fib_join2 fib_scope pfor_add pfor_small)
 * Env: BENCH_ITERS=R measures exactly R iterations per workload (after one warm-up);
 *      otherwise iterations run until BENCH_TIME_MS (default 1000) have passed (at least 5).
 *      BENCH_FIB_N=n runs fib(n) instead of fib(30). BENCH_NO_SERIAL=1 skips the serial lines.
 * Stdout: `omp <workload> <value>` and `serial <workload> <value>`, value in the workload's unit
 * (ns/call, ns/element, us/loop); details go to stderr.
 *
 * Build: gcc -O2 -std=c11 -fopenmp -Wall -Wextra -Werror bench.c -o omp-bench
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../c/forkjoin_common.h"

static const char *runtime_name = "omp";

/* ---- fib_join2: every call forks fib(n-1) as a task, runs fib(n-2) inline, waits (taskwait) --- */

static uint64_t fib_join2(unsigned n) {
    if (n < 2) return n;
    uint64_t a, b;
#pragma omp task shared(a) firstprivate(n)
    a = fib_join2(n - 1);
    b = fib_join2(n - 2);
#pragma omp taskwait
    return a + b;
}

/* ---- fib_scope: every call opens a taskgroup, spawns fib(n-1) into it, runs fib(n-2) inline;
 *      the end of the taskgroup waits for the child and everything it spawned -------------------- */

static uint64_t fib_scope(unsigned n) {
    if (n < 2) return n;
    uint64_t a, b;
#pragma omp taskgroup
    {
#pragma omp task shared(a) firstprivate(n)
        a = fib_scope(n - 1);
        b = fib_scope(n - 2);
    }
    return a + b;
}

static uint64_t (*fib_fn)(unsigned);

static void fib_iteration(const config *cfg) {
    uint64_t v = 0;
#pragma omp parallel num_threads(cfg->workers)
#pragma omp single
    v = fib_fn(cfg->fib_n);
    check_fib(cfg, v);
}

static void fib_join2_iteration(const config *cfg) {
    fib_fn = fib_join2;
    fib_iteration(cfg);
}

static void fib_scope_iteration(const config *cfg) {
    fib_fn = fib_scope;
    fib_iteration(cfg);
}

/* ---- pfor_add: one parallel loop over 10M u64, a[i] = a[i]*3 + i ------------------------------ */

static void pfor_add_iteration(const config *cfg) {
    uint64_t *a = pfor_add_array();
#pragma omp parallel for schedule(static) num_threads(cfg->workers)
    for (size_t i = 0; i < PFOR_ADD_N; i++) a[i] = a[i] * 3 + i;
    pfor_add_done();
}

/* ---- pfor_small: 10,000 parallel loops of 256 elements of ~100 ns each ------------------------ */

static void pfor_small_iteration(const config *cfg) {
    for (uint64_t l = 0; l < PFOR_SMALL_LOOPS; l++) {
        uint64_t base = l * PFOR_SMALL_LEN;
#pragma omp parallel for schedule(static) num_threads(cfg->workers)
        for (size_t i = 0; i < PFOR_SMALL_LEN; i++) pfor_small_out[i] = pfor_small_work(base + i);
    }
    pfor_small_check();
}

/* ---- the serial reference: the same work on the calling thread -------------------------------- */

/* Every call a real call through a volatile pointer: gcc would otherwise turn the recursion into
 * loops (tail-recursion accumulation, recursive inlining) and make far fewer than 2.7M calls. */
static uint64_t fib_serial(unsigned n);
static uint64_t (*volatile fib_serial_ptr)(unsigned) = fib_serial;

static uint64_t fib_serial(unsigned n) {
    if (n < 2) return n;
    return fib_serial_ptr(n - 1) + fib_serial_ptr(n - 2);
}

static void fib_serial_iteration(const config *cfg) {
    check_fib(cfg, fib_serial_ptr(cfg->fib_n));
}

static void pfor_add_serial(const config *cfg) {
    (void)cfg;
    uint64_t *a = pfor_add_array();
    for (size_t i = 0; i < PFOR_ADD_N; i++) a[i] = a[i] * 3 + i;
    pfor_add_done();
}

static void pfor_small_serial(const config *cfg) {
    (void)cfg;
    for (uint64_t l = 0; l < PFOR_SMALL_LOOPS; l++) {
        uint64_t base = l * PFOR_SMALL_LEN;
        for (size_t i = 0; i < PFOR_SMALL_LEN; i++) pfor_small_out[i] = pfor_small_work(base + i);
    }
    pfor_small_check();
}

int main(int argc, char **argv) {
    config cfg;
    if (!parse_config(&cfg, argc, argv, "omp-bench")) return 2;
    omp_set_num_threads((int)cfg.workers);
    fprintf(stderr, "# omp (libgomp, _OPENMP %d): %zu threads\n", _OPENMP, cfg.workers);

    measure(&cfg, runtime_name, "fib_join2", fib_calls(cfg.fib_n), 1.0, "calls", fib_join2_iteration);
    measure(&cfg, runtime_name, "fib_scope", fib_calls(cfg.fib_n), 1.0, "calls", fib_scope_iteration);
    measure(&cfg, runtime_name, "pfor_add", PFOR_ADD_N, 1.0, "elements", pfor_add_iteration);
    measure(&cfg, runtime_name, "pfor_small", PFOR_SMALL_LOOPS, 1000.0, "loops", pfor_small_iteration);

    const char *ns = getenv("BENCH_NO_SERIAL");
    if (ns == NULL || *ns == '\0' || strcmp(ns, "0") == 0) {
        fprintf(stderr, "# serial: the same work on one thread, no runtime\n");
        /* fib_join2 and fib_scope share one serial number: plain recursion */
        measure(&cfg, "serial", "fib_join2", fib_calls(cfg.fib_n), 1.0, "calls", fib_serial_iteration);
        measure(&cfg, "serial", "fib_scope", fib_calls(cfg.fib_n), 1.0, "calls", fib_serial_iteration);
        measure(&cfg, "serial", "pfor_add", PFOR_ADD_N, 1.0, "elements", pfor_add_serial);
        measure(&cfg, "serial", "pfor_small", PFOR_SMALL_LOOPS, 1000.0, "loops", pfor_small_serial);
    }
    return 0;
}
