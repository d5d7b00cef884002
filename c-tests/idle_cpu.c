/* An idle runtime uses no CPU: after its work is done, 4 workers sleeping for 300 ms cost
 * (almost) no CPU time, and a blocking pool thread waiting for its keep-alive costs none either. */
#include "check.h"

#include <sys/resource.h>

static uint64_t cpu_ns(void) {
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * SEC_NS +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

static int32_t work(void *arg, void **out) {
    (void)arg; (void)out;
    return 0;
}

int main(void) {
    tasks_builder *b = tasks_builder_new();
    CHECK(b != NULL);
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, 4));
    tasks_runtime *rt;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt));
    tasks_builder_free(b);
    for (int i = 0; i < 1000; i++) {
        tasks_join_handle *h;
        CHECK_STATUS(TASKS_OK, i % 10 ? tasks_spawn(rt, work, NULL, NULL, &h)
                                      : tasks_spawn_blocking(rt, work, NULL, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, NULL));
        tasks_join_handle_free(h);
    }
    sleep_ms(50); /* let the workers finish their bounded search and park */
    uint64_t c0 = cpu_ns(), t0 = now_ns();
    sleep_ms(300);
    uint64_t used = cpu_ns() - c0, wall = now_ns() - t0;
    /* Spinning workers would burn ~4 x 300 ms; allow 40 ms (about 3%) for timer ticks and for a
     * worker on a loaded machine that is still finishing its bounded search. */
    printf("idle_cpu: 4 idle workers used %.2f ms of CPU over %.0f ms\n", used / 1e6, wall / 1e6);
    CHECK(used < 40 * MS_NS);
    free_rt(rt);
    return 0;
}
