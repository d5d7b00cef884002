// oneTBB side of the fork-join benchmarks (see ../README.md, "Fork-join and data parallelism"),
// plus spawn_many_remote (benches/c/bench.c's workload: 10,000 empty tasks spawned from the main
// thread, all waited for). Same workloads, units and output format as benches/c/forkjoin.c
// (libtasks), benches/rayon and benches/omp.
//
// Usage: tbb-bench [WORKERS] [WORKLOAD...]
//   WORKERS   tbb::global_control::max_allowed_parallelism (the main thread counts as one of them:
//             WORKERS - 1 TBB worker threads plus the main thread, which runs tasks while it waits)
//   WORKLOAD  run only these (fib_join2 fib_scope pfor_add pfor_small spawn_many_remote)
// Env: BENCH_ITERS, BENCH_TIME_MS, BENCH_FIB_N as for the other benches.
// Stdout: `tbb <workload> <value>`, value in the workload's unit; details go to stderr.
//
// Build: g++ -O2 -std=c++17 -Wall -Wextra -Werror bench.cpp -o tbb-bench -ltbb
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_invoke.h>
#include <oneapi/tbb/task_group.h>
#include <oneapi/tbb/version.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "../c/forkjoin_common.h"

static const char *const runtime_name = "tbb";

// ---- fib_join2: every call forks its two halves with parallel_invoke -----------------------------

static uint64_t fib_join2(unsigned n) {
    if (n < 2) return n;
    uint64_t a, b;
    tbb::parallel_invoke([&] { a = fib_join2(n - 1); }, [&] { b = fib_join2(n - 2); });
    return a + b;
}

// ---- fib_scope: every call makes a task_group, runs fib(n-1) in it, computes fib(n-2) inline,
//      waits for the group ------------------------------------------------------------------------

static uint64_t fib_scope(unsigned n) {
    if (n < 2) return n;
    uint64_t a, b;
    tbb::task_group g;
    g.run([&] { a = fib_scope(n - 1); });
    b = fib_scope(n - 2);
    g.wait();
    return a + b;
}

static void fib_join2_iteration(const config *cfg) { check_fib(cfg, fib_join2(cfg->fib_n)); }
static void fib_scope_iteration(const config *cfg) { check_fib(cfg, fib_scope(cfg->fib_n)); }

// ---- pfor_add / pfor_small: parallel_for over a blocked_range, default (auto) partitioner -------

static void pfor_add_iteration(const config *) {
    uint64_t *a = pfor_add_array();
    tbb::parallel_for(tbb::blocked_range<size_t>(0, PFOR_ADD_N), [a](const tbb::blocked_range<size_t> &r) {
        for (size_t i = r.begin(); i != r.end(); ++i) a[i] = a[i] * 3 + i;
    });
    pfor_add_done();
}

static void pfor_small_iteration(const config *) {
    for (uint64_t l = 0; l < PFOR_SMALL_LOOPS; l++) {
        uint64_t base = l * PFOR_SMALL_LEN;
        tbb::parallel_for(tbb::blocked_range<size_t>(0, PFOR_SMALL_LEN), [base](const tbb::blocked_range<size_t> &r) {
            for (size_t i = r.begin(); i != r.end(); ++i) pfor_small_out[i] = pfor_small_work(base + i);
        });
    }
    pfor_small_check();
}

// ---- spawn_many_remote: the main thread runs 10,000 empty tasks in a task_group and waits ------

#define NUM_SPAWN 10000u
static std::atomic<size_t> rem;

static void spawn_many_remote_iteration(const config *) {
    rem.store(NUM_SPAWN, std::memory_order_relaxed);
    tbb::task_group g;
    for (size_t i = 0; i < NUM_SPAWN; i++) g.run([] { rem.fetch_sub(1, std::memory_order_relaxed); });
    g.wait();
    size_t left = rem.load(std::memory_order_relaxed);
    if (left != 0) {
        fprintf(stderr, "bench: spawn_many_remote: %zu tasks did not run\n", left);
        abort();
    }
}

int main(int argc, char **argv) {
    config cfg;
    if (!parse_config(&cfg, argc, argv, "tbb-bench")) return 2;
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, cfg.workers);
    fprintf(stderr, "# tbb (oneTBB %s): max_allowed_parallelism %zu (the main thread included)\n",
            TBB_runtime_version(), cfg.workers);

    measure(&cfg, runtime_name, "fib_join2", fib_calls(cfg.fib_n), 1.0, "calls", fib_join2_iteration);
    measure(&cfg, runtime_name, "fib_scope", fib_calls(cfg.fib_n), 1.0, "calls", fib_scope_iteration);
    measure(&cfg, runtime_name, "pfor_add", PFOR_ADD_N, 1.0, "elements", pfor_add_iteration);
    measure(&cfg, runtime_name, "pfor_small", PFOR_SMALL_LOOPS, 1000.0, "loops", pfor_small_iteration);
    measure(&cfg, runtime_name, "spawn_many_remote", NUM_SPAWN, 1.0, "tasks", spawn_many_remote_iteration);
    return 0;
}
