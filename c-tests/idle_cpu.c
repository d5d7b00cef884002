/* An idle runtime uses no CPU: after a burst of work, a 4-worker runtime (plus an idle blocking thread)
   left alone for 500 ms consumes less than 50 ms of process CPU time (workers park instead of spinning
   past a short bounded search); and it still runs work immediately afterwards. */
#define _GNU_SOURCE
#include "check.h"

static uint64_t cpu_ns(void) {
    struct timespec ts;
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
    return (uint64_t)ts.tv_sec * SEC_NS + (uint64_t)ts.tv_nsec;
}

static int32_t work(void *p, void **out) {
    volatile uint64_t x = (uint64_t)(uintptr_t)p;
    for (int i = 0; i < 1000; i++)
        x = x * 6364136223846793005ull + 1;
    *out = (void *)(uintptr_t)(x & 1);
    return 0;
}

static void burst(tasks_runtime *rt, int n) {
    tasks_join_handle **hs = malloc((size_t)n * sizeof *hs);
    CHECK(hs != NULL);
    for (int i = 0; i < n; i++)
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, work, (void *)(uintptr_t)i, NULL, &hs[i]));
    for (int i = 0; i < n; i++) {
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs[i], JOIN_LONG, NULL));
        tasks_join_handle_free(hs[i]);
    }
    free(hs);
}

int main(void) {
    tasks_runtime *rt = make_rt(4);
    burst(rt, (int)scale(20000));
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, work, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    sleep_ms(100); /* let the workers finish their search and park */
    uint64_t c0 = cpu_ns(), t0 = now_ns();
    sleep_ms(500);
    uint64_t used = cpu_ns() - c0, wall = now_ns() - t0;
    if (used > 50 * MS_NS)
        CHECK_FAIL_("idle runtime used %.1f ms of CPU in %.1f ms\n", (double)used / 1e6, (double)wall / 1e6);
    tasks_metrics m = get_metrics(rt);
    CHECK(m.parks >= 1);
    uint64_t t1 = now_ns();
    burst(rt, 100);
    uint64_t wake_ms = (now_ns() - t1) / MS_NS;
    free_rt(rt);
    printf("idle_cpu: idle 4-worker runtime used %.2f ms CPU in %.0f ms wall; %llu parks; woke for 100 tasks in "
           "%llu ms\n",
           (double)used / 1e6, (double)wall / 1e6, (unsigned long long)m.parks, (unsigned long long)wake_ms);
    return 0;
}
