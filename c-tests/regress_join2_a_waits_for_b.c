/* Regression test: a tasks_join2 whose `a` waits until `b` has run (a blocks on something b does).
 * `b` sits in the caller's job deque and must be taken by another worker, so the job push must wake
 * an idle worker. The first version decided whether to wake one with a plain load of the idle word,
 * not ordered after the push: a worker just going to sleep could miss the job while the pusher missed
 * the sleeper, and both waited forever (loom: loom_job_push_wakes_idle_worker deadlocks without the
 * fence; this test exercises the same path on real threads, with pauses so the idle worker is asleep
 * or falling asleep at each push).
 *
 * Contract (API.md, Runtimes): no runnable work waits while a worker sleeps. */
#include "check.h"

#define ROUNDS 300

static int32_t b_fn(void *arg, void **out) {
    (void)out;
    AT_STORE((int *)arg, 1);
    return 0;
}

static int32_t a_fn(void *arg, void **out) {
    (void)out;
    /* Spins (no library call) until b ran elsewhere; the watchdog catches a hang. */
    while (!AT_LOAD((int *)arg))
        ;
    return 0;
}

static int32_t round_task(void *arg, void **out) {
    (void)arg;
    (void)out;
    int flag = 0;
    return tasks_join2(a_fn, &flag, NULL, b_fn, &flag, NULL) == TASKS_OK ? 0 : 1;
}

int main(void) {
    watchdog_start(60, "regress_join2_a_waits_for_b");
    tasks_builder *b = tasks_builder_new();
    CHECK(b != NULL);
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, 2));
    tasks_runtime *rt = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt));
    tasks_builder_free(b);
    for (int i = 0; i < ROUNDS; i++) {
        /* Vary the pause so the other worker is asleep, falling asleep or searching at the push. */
        if (i % 3 == 1)
            sleep_ns((uint64_t)(i % 7) * 20000);
        else if (i % 3 == 2)
            sleep_ms(2);
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, round_task, NULL, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, NULL));
        tasks_join_handle_free(h);
    }
    CHECK_STATUS(TASKS_OK, tasks_runtime_free(rt));
    watchdog_stop();
    printf("regress_join2_a_waits_for_b: %d rounds ok\n", ROUNDS);
    return 0;
}
