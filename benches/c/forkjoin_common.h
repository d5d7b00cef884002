/* What the C and C++ sides of the fork-join benchmarks share (benches/c/forkjoin.c for libtasks,
 * benches/omp/bench.c, benches/tbb/bench.cpp; benches/rayon/src/main.rs has the same in Rust):
 * the workloads' sizes, the ~100 ns unit of work, the checks, and the measuring loop. Header-only
 * (every function static), C11 and C++17.
 *
 * Measuring: one warm-up iteration, then iterations until BENCH_TIME_MS (default 1000) have passed
 * (at least 5) or exactly BENCH_ITERS; the value printed is the median iteration's time divided by
 * the units per iteration (and by `scale`: 1000 turns ns into us). Stdout gets
 * `<runtime> <workload> <value>` (the format of benches/c/bench.c and benches/tokio); details go
 * to stderr.
 */
#ifndef FORKJOIN_COMMON_H
#define FORKJOIN_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FIB_N_DEFAULT 30u
/* pfor_add: one loop over this many u64 (80 MB) */
#define PFOR_ADD_N 10000000u
/* pfor_small: this many loops of PFOR_SMALL_LEN elements, each element PFOR_SMALL_STEPS rounds of
 * a dependent xor-shift-multiply chain (about 100 ns on the machine of BENCHMARKS.md) */
#define PFOR_SMALL_LOOPS 10000u
#define PFOR_SMALL_LEN 256u
#define PFOR_SMALL_STEPS 80

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

static void fj_oom(void) {
    fprintf(stderr, "bench: out of memory\n");
    abort();
}

/* ---- fib ------------------------------------------------------------------------------------- */

/* Calls of fib(n) with no cutoff, the root included: C(n) = C(n-1) + C(n-2) + 1, C(0) = C(1) = 1
 * (2,692,537 for fib(30); the same count as bench.c's fib tasks). */
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

/* ---- pfor_add: a[i] = a[i]*3 + i over 10M u64, in place, again each iteration ------------------ */

static uint64_t *pfor_add_a;
static unsigned pfor_add_rounds;

/* The array, allocated and set to a[i] = i (every page touched) on first use. */
static uint64_t *pfor_add_array(void) {
    if (pfor_add_a == NULL) {
        pfor_add_a = (uint64_t *)malloc(PFOR_ADD_N * sizeof(uint64_t));
        if (pfor_add_a == NULL) fj_oom();
        for (size_t i = 0; i < PFOR_ADD_N; i++) pfor_add_a[i] = i;
    }
    return pfor_add_a;
}

/* After each loop: counts it and checks a few elements against the serial recurrence. */
static void pfor_add_done(void) {
    pfor_add_rounds++;
    static const size_t probe[] = {0, 1, 4095, 4096, PFOR_ADD_N / 3, PFOR_ADD_N / 2, PFOR_ADD_N - 1};
    for (size_t p = 0; p < sizeof probe / sizeof probe[0]; p++) {
        uint64_t i = probe[p], x = i;
        for (unsigned r = 0; r < pfor_add_rounds; r++) x = x * 3 + i;
        if (pfor_add_a[i] != x) {
            fprintf(stderr, "bench: pfor_add: a[%llu] is wrong after %u loops\n", (unsigned long long)i,
                    pfor_add_rounds);
            abort();
        }
    }
}

/* ---- pfor_small: 10,000 loops of 256 elements of ~100 ns each ---------------------------------- */

static uint64_t pfor_small_out[PFOR_SMALL_LEN];

/* The unit of work: a dependent chain the compiler can neither shorten nor vectorize away. */
static inline uint64_t pfor_small_work(uint64_t x) {
    for (int k = 0; k < PFOR_SMALL_STEPS; k++) {
        x ^= x >> 29;
        x *= 0xbf58476d1ce4e5b9ULL;
    }
    return x;
}

/* After an iteration (10,000 loops): the last loop wrote every element. */
static void pfor_small_check(void) {
    uint64_t base = (uint64_t)(PFOR_SMALL_LOOPS - 1) * PFOR_SMALL_LEN;
    for (size_t i = 0; i < PFOR_SMALL_LEN; i++)
        if (pfor_small_out[i] != pfor_small_work(base + i)) {
            fprintf(stderr, "bench: pfor_small: out[%zu] is wrong\n", i);
            abort();
        }
    memset(pfor_small_out, 0, sizeof pfor_small_out);
}

/* ---- measurement ----------------------------------------------------------------------------- */

static uint64_t fj_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fj_cmp_u64(const void *a, const void *b) {
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
    if (samples == NULL) fj_oom();
    uint64_t start = fj_now_ns();
    for (;;) {
        uint64_t t = fj_now_ns();
        iteration(cfg);
        uint64_t end = fj_now_ns();
        if (n == cap) {
            cap *= 2;
            uint64_t *s = (uint64_t *)realloc(samples, cap * sizeof *samples);
            if (s == NULL) fj_oom();
            samples = s;
        }
        samples[n++] = end - t;
        bool enough = cfg->iters ? n >= cfg->iters
                                 : (n >= MIN_ITERS && end - start >= cfg->target_ns) || n >= MAX_ITERS;
        if (enough) break;
    }
    qsort(samples, n, sizeof *samples, fj_cmp_u64);
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
