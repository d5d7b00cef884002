/* 1,000,000 tasks (scaled by TASKS_TEST_SCALE) spawned from outside and joined, with exact counts: every
   task ran once, the sum of the outputs is exact, metrics spawned == completed == N and alive == 0;
   then the same number again, half detached, spawned from inside one task (local queues), exact counts. */
#include "check.h"

static long g_runs;

static int32_t square_ish(void *arg, void **out) {
    uintptr_t i = (uintptr_t)arg;
    AT_ADD(&g_runs, 1);
    *out = (void *)(i * 3 + 1);
    return 0;
}

typedef struct inside {
    uint64_t n;
    uint64_t sum;
} inside_t;

static int32_t spawner(void *arg, void **out) {
    inside_t *in = arg;
    const uint64_t batch = 4096;
    tasks_join_handle **hs = malloc(batch * sizeof *hs);
    CHECK(hs != NULL);
    uint64_t done = 0;
    while (done < in->n) {
        uint64_t k = in->n - done < batch ? in->n - done : batch;
        for (uint64_t j = 0; j < k; j++) {
            uint64_t i = done + j;
            if (i % 2)
                CHECK_STATUS(TASKS_OK, tasks_spawn(NULL, square_ish, (void *)(uintptr_t)i, NULL, NULL));
            else
                CHECK_STATUS(TASKS_OK, tasks_spawn(NULL, square_ish, (void *)(uintptr_t)i, NULL, &hs[j]));
        }
        for (uint64_t j = 0; j < k; j++) {
            uint64_t i = done + j;
            if (i % 2)
                continue;
            void *o = NULL;
            CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs[j], TASKS_FOREVER, &o));
            in->sum += (uint64_t)(uintptr_t)o;
            tasks_join_handle_free(hs[j]);
        }
        done += k;
    }
    free(hs);
    *out = in;
    return 0;
}

int main(void) {
    const uint64_t n = scale(1000000);
    tasks_runtime *rt = NULL;
    CHECK_STATUS(TASKS_OK, tasks_runtime_new(&rt));
    tasks_join_handle **hs = malloc(n * sizeof *hs);
    CHECK(hs != NULL);
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, square_ish, (void *)(uintptr_t)i, NULL, &hs[i]));
    uint64_t sum = 0, expect = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *o = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs[i], TASKS_FOREVER, &o));
        CHECK_EQ_U64((uintptr_t)o, i * 3 + 1);
        sum += (uintptr_t)o;
        expect += i * 3 + 1;
        tasks_join_handle_free(hs[i]);
    }
    uint64_t t1 = now_ns();
    free(hs);
    CHECK_EQ_U64(sum, expect);
    CHECK_EQ_INT(AT_LOAD(&g_runs), (long)n);
    tasks_metrics m;
    /* counters may be published a moment after the join returned: wait for them, then compare exactly */
    WAIT_UNTIL((m = get_metrics(rt)).completed == n);
    CHECK_EQ_U64(m.spawned, n);
    CHECK_EQ_U64(m.completed, n);
    CHECK_EQ_U64(m.failed, 0);
    CHECK_EQ_U64(m.cancelled, 0);
    CHECK_EQ_U64(m.alive, 0);

    /* from inside one task: half joined, half detached */
    inside_t in = {n, 0};
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, spawner, &in, NULL, &h));
    void *o = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &o));
    CHECK_EQ_PTR(o, &in);
    tasks_join_handle_free(h);
    uint64_t expect_in = 0;
    for (uint64_t i = 0; i < n; i += 2)
        expect_in += i * 3 + 1;
    CHECK_EQ_U64(in.sum, expect_in);
    WAIT_UNTIL(AT_LOAD(&g_runs) == (long)(2 * n));
    WAIT_UNTIL((m = get_metrics(rt)).completed == 2 * n + 1);
    CHECK_EQ_U64(m.spawned, 2 * n + 1);
    CHECK_EQ_U64(m.alive, 0);
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_runs), (long)(2 * n));
    printf("million: %llu tasks spawned+joined from outside (%.0f ns/task), %llu from inside a task (half "
           "detached); exact sums and metrics\n",
           (unsigned long long)n, (double)(t1 - t0) / (double)n, (unsigned long long)n);
    return 0;
}
