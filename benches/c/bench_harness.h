/* The measuring harness every C and C++ benchmark here shares (benches/c/bench.c for the scheduler
 * workloads, benches/c/forkjoin_common.h and through it the fork-join benches): the command line,
 * the measuring loop, the output format and fib's reference values. Header-only (every function static), C11 and C++17.
 *
 * Measuring: one warm-up iteration, then iterations until BENCH_TIME_MS (default 1000) have passed
 * (at least 5) or exactly BENCH_ITERS; the value printed is the median iteration's time divided by
 * the units per iteration (and by `scale`: 1000 turns ns into us). Stdout gets
 * `<runtime> <workload> <value>` (the format benches/tokio prints too); details go to stderr.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FIB_N_DEFAULT 30u
#define MIN_ITERS 5
#define MAX_ITERS 1000000

typedef struct config {
    size_t workers;
    size_t iters; /* 0: by time */
    uint64_t target_ns;
    int n_only;
    char **only;
    unsigned fib_n;
} config;

static void bench_oom(void) {
    fprintf(stderr, "bench: out of memory\n");
    abort();
}

/* ---- fib ------------------------------------------------------------------------------------- */

/* Calls of fib(n) with no cutoff, the root included: C(n) = C(n-1) + C(n-2) + 1, C(0) = C(1) = 1
 * (2,692,537 for fib(30)): the units of every fib workload (bench.c's tasks, the fork-join
 * benches' calls). */
static uint64_t fib_calls(unsigned n) {
    uint64_t a = 1, b = 1;
    for (unsigned i = 1; i < n; i++) {
        uint64_t c = a + b + 1;
        a = b;
        b = c;
    }
    return n == 0 ? a : b;
}

static uint64_t fib_value(unsigned n) {
    uint64_t a = 0, b = 1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t c = a + b;
        a = b;
        b = c;
    }
    return a;
}

static void check_fib(const config *cfg, uint64_t v) {
    if (v != fib_value(cfg->fib_n)) {
        fprintf(stderr, "bench: fib(%u) = %llu, expected %llu\n", cfg->fib_n, (unsigned long long)v,
                (unsigned long long)fib_value(cfg->fib_n));
        abort();
    }
}

#ifdef TASKS_H
/* For the libtasks benches (tasks.h included first): a call that must return TASKS_OK. */
static void die(const char *what, int status) {
    fprintf(stderr, "bench: %s: unexpected status %d (%s)\n", what, status, tasks_status_str(status));
    abort();
}

#define CHECK(call)                                \
    do {                                           \
        tasks_status st_ = (call);                 \
        if (st_ != TASKS_OK) die(#call, (int)st_); \
    } while (0)
#endif

/* ---- measurement ----------------------------------------------------------------------------- */

static uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bool selected(const config *cfg, const char *name) {
    if (cfg->n_only == 0) return true;
    for (int i = 0; i < cfg->n_only; i++)
        if (strcmp(cfg->only[i], name) == 0) return true;
    return false;
}

/* Runs `iteration` as described at the top; prints `<runtime> <name> <median / units / scale>`. */
static void measure(const config *cfg, const char *runtime, const char *name, uint64_t units, double scale,
                    const char *unit_name, void (*iteration)(const config *)) {
    if (!selected(cfg, name)) return;
    iteration(cfg); /* warm-up */
    size_t cap = 64, n = 0;
    uint64_t *samples = (uint64_t *)calloc(cap, sizeof *samples);
    if (samples == NULL) bench_oom();
    uint64_t start = bench_now_ns();
    for (;;) {
        uint64_t t = bench_now_ns();
        iteration(cfg);
        uint64_t end = bench_now_ns();
        if (n == cap) {
            cap *= 2;
            uint64_t *s = (uint64_t *)realloc(samples, cap * sizeof *samples);
            if (s == NULL) bench_oom();
            samples = s;
        }
        samples[n++] = end - t;
        bool enough = cfg->iters ? n >= cfg->iters
                                 : (n >= MIN_ITERS && end - start >= cfg->target_ns) || n >= MAX_ITERS;
        if (enough) break;
    }
    qsort(samples, n, sizeof *samples, bench_cmp_u64);
    double median = n % 2 ? (double)samples[n / 2] : ((double)samples[n / 2 - 1] + (double)samples[n / 2]) / 2.0;
    printf("%s %s %.*f\n", runtime, name, scale > 1.0 ? 2 : 1, median / (double)units / scale);
    fflush(stdout);
    fprintf(stderr, "# %s %s: %zu iterations, median %.3f ms/iteration, %llu %s/iteration, min %.3f ms, max %.3f ms\n",
            runtime, name, n, median / 1e6, (unsigned long long)units, unit_name, (double)samples[0] / 1e6,
            (double)samples[n - 1] / 1e6);
    free(samples);
}

/* ---- command line ---------------------------------------------------------------------------- */

static size_t parse_positive(const char *s) {
    if (s == NULL || *s == '\0' || s[0] == '-') return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0) return 0;
    return (size_t)v;
}

static size_t env_positive(const char *name) {
    const char *v = getenv(name);
    if (v == NULL) return 0;
    size_t n = parse_positive(v);
    if (n == 0) fprintf(stderr, "bench: ignoring %s=\"%s\" (want a positive integer)\n", name, v);
    return n;
}

/* `[WORKERS] [WORKLOAD...]`, BENCH_WORKERS, BENCH_ITERS, BENCH_TIME_MS, BENCH_FIB_N. */
static bool parse_config(config *cfg, int argc, char **argv, const char *prog) {
    memset(cfg, 0, sizeof *cfg);
    int argi = 1;
    if (argi < argc && argv[argi][0] >= '0' && argv[argi][0] <= '9') {
        cfg->workers = parse_positive(argv[argi++]);
        if (cfg->workers == 0) {
            fprintf(stderr, "%s: WORKERS must be an integer >= 1\n", prog);
            return false;
        }
    }
    if (cfg->workers == 0) cfg->workers = env_positive("BENCH_WORKERS");
    if (cfg->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = n > 0 ? (size_t)n : 1;
    }
    cfg->iters = env_positive("BENCH_ITERS");
    size_t ms = env_positive("BENCH_TIME_MS");
    cfg->target_ns = (uint64_t)(ms ? ms : 1000) * 1000000u;
    size_t fib_n = env_positive("BENCH_FIB_N");
    cfg->fib_n = fib_n ? (fib_n > 40 ? 40 : (unsigned)fib_n) : FIB_N_DEFAULT;
    cfg->n_only = argc - argi;
    cfg->only = argv + argi;
    return true;
}

#endif
