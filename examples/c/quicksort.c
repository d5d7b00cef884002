/* libtasks example: parallel quicksort with tasks_join2, and tasks_parallel_for to fill and check.
 *
 *   1. tasks_parallel_for fills an array of 4,000,000 pseudo-random numbers (each index computed
 *      independently, so the subranges can run anywhere)
 *   2. quicksort: partition, then sort both halves with tasks_join2 (the right half is offered to
 *      idle workers; if none takes it, the caller sorts it itself). Below a cutoff: qsort.
 *   3. tasks_parallel_for checks that the result is sorted (a failing subrange makes it FAILED)
 *   4. the same sort on one thread, for comparison
 *
 * Called from main with rt NULL / off a worker: the calls run on the default runtime's workers
 * (TASKS_WORKER_THREADS or one per CPU) while main waits. Exits non-zero if the result is wrong.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasks.h"

#define N 4000000u
#define CUTOFF 4096u

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t mix(uint64_t x) { /* splitmix64 */
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

static int32_t fill(void *ctx, uint64_t begin, uint64_t end) {
    uint32_t *v = ctx;
    for (uint64_t i = begin; i < end; i++)
        v[i] = (uint32_t)mix(i);
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

typedef struct range {
    uint32_t *v;
    size_t n;
} range_t;

static size_t partition(uint32_t *v, size_t n) {
    /* median of three as pivot, Hoare partition */
    uint32_t a = v[0], b = v[n / 2], c = v[n - 1];
    uint32_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
    size_t i = 0, j = n - 1;
    for (;;) {
        while (v[i] < pivot)
            i++;
        while (v[j] > pivot)
            j--;
        if (i >= j)
            return j + 1;
        uint32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        j--;
    }
}

static int32_t sort(void *arg, void **out) {
    range_t *r = arg;
    (void)out;
    if (r->n <= CUTOFF) {
        qsort(r->v, r->n, sizeof r->v[0], cmp_u32);
        return 0;
    }
    size_t mid = partition(r->v, r->n);
    range_t left = {r->v, mid}, right = {r->v + mid, r->n - mid};
    /* Both halves live on this stack frame: join2 returns only when both are sorted. */
    return tasks_join2(sort, &left, NULL, sort, &right, NULL) == TASKS_OK ? 0 : 1;
}

static int32_t check_sorted(void *ctx, uint64_t begin, uint64_t end) {
    const uint32_t *v = ctx;
    for (uint64_t i = begin == 0 ? 1 : begin; i < end; i++)
        if (v[i - 1] > v[i])
            return 1;
    return 0;
}

int main(void) {
    uint32_t *v = malloc(N * sizeof *v), *w = malloc(N * sizeof *w);
    if (v == NULL || w == NULL)
        return 2;

    double t0 = now_ms();
    if (tasks_parallel_for(NULL, 0, N, 10000, fill, v) != TASKS_OK)
        return 3;
    memcpy(w, v, N * sizeof *v);

    double t1 = now_ms();
    range_t all = {v, N};
    if (sort(&all, NULL) != 0) /* the top partition runs here; the halves on the workers */
        return 4;
    double t2 = now_ms();
    tasks_status sorted = tasks_parallel_for(NULL, 0, N, 10000, check_sorted, v);

    double t3 = now_ms();
    qsort(w, N, sizeof *w, cmp_u32);
    double t4 = now_ms();
    int same = memcmp(v, w, N * sizeof *v) == 0;

    printf("quicksort: %u numbers: fill %.1f ms (parallel_for), sort %.1f ms (join2), "
           "one-thread qsort %.1f ms; sorted: %s, same as qsort: %s\n",
           N, t1 - t0, t2 - t1, t4 - t3, tasks_status_str(sorted), same ? "yes" : "NO");
    free(v);
    free(w);
    return sorted == TASKS_OK && same ? 0 : 1;
}
