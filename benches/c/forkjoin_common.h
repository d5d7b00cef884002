/* What the C and C++ sides of the fork-join benchmarks share (benches/c/forkjoin.c for libtasks,
 * benches/omp/bench.c, benches/tbb/bench.cpp; benches/rayon/src/main.rs has the same in Rust):
 * the workloads' sizes, the ~100 ns unit of work and the checks. The command line and the measuring
 * loop are bench_harness.h's. Header-only (every function static), C11 and C++17.
 */
#ifndef FORKJOIN_COMMON_H
#define FORKJOIN_COMMON_H

#include "bench_harness.h"

/* pfor_add: one loop over this many u64 (80 MB) */
#define PFOR_ADD_N 10000000u
/* pfor_small: this many loops of PFOR_SMALL_LEN elements, each element PFOR_SMALL_STEPS rounds of
 * a dependent xor-shift-multiply chain (about 100 ns on the machine of BENCHMARKS.md) */
#define PFOR_SMALL_LOOPS 10000u
#define PFOR_SMALL_LEN 256u
#define PFOR_SMALL_STEPS 80

/* ---- pfor_add: a[i] = a[i]*3 + i over 10M u64, in place, again each iteration ------------------ */

static uint64_t *pfor_add_a;
static unsigned pfor_add_rounds;

/* The array, allocated and set to a[i] = i (every page touched) on first use. */
static uint64_t *pfor_add_array(void) {
    if (pfor_add_a == NULL) {
        pfor_add_a = (uint64_t *)malloc(PFOR_ADD_N * sizeof(uint64_t));
        if (pfor_add_a == NULL) bench_oom();
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

#endif
