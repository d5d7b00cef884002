/* Regression test for issue 8, defect 1: lost wakeups after a join that slept.
 *
 * Contract (API.md, Runtimes): "No runnable task waits while a worker sleeps". A worker that slept
 * inside a join (help_until) and was picked by a producer's notify is counted as searching; when the
 * join then completes, the worker must leave the searching role before it returns to the user's task.
 * Before the fix it did not: while the joining task went on running, every later notify saw "a
 * searcher exists" and woke nobody, so a task spawned meanwhile waited for the joiner to finish, with
 * the other worker asleep.
 *
 * Scenario (2 workers, repeated): task C runs on one worker and blocks; task A runs on the other and
 * joins C, so A's worker sleeps inside the join. C then spawns two tasks (the second spawn pushes the
 * first to C's worker's queue and notifies: the sleeping joiner is picked) and returns at once, so the
 * joiner wakes to a completed join. A then keeps running for up to 2.5 s (until Y has started). After C's
 * worker has gone idle, the main thread spawns Y: Y must start within 1 s (it took A's remaining
 * 2.5 s before the fix). The join is FOREVER in some trials and timed (completing) in others. */
#include "check.h"

#define TRIALS 8
#define A_REMAINING_NS (2500 * MS_NS) /* how long A keeps running after its join, at most */
#define MAX_START_LATENCY_NS (1000 * MS_NS)

typedef struct trial {
    tasks_runtime *rt;
    tasks_join_handle *hc; /* C's handle, joined by A */
    uint64_t join_timeout;
    uint64_t parks_before_join;
    gate_t c_started, a_joining, a_joined, y_started;
    int join_status;
    uint64_t y_start_ns;
    int x_ran;
} trial_t;

static int32_t x_fn(void *arg, void **out) {
    trial_t *t = arg;
    (void)out;
    AT_ADD(&t->x_ran, 1);
    return 0;
}

static int32_t c_fn(void *arg, void **out) {
    trial_t *t = arg;
    (void)out;
    gate_open(&t->c_started);
    if (!gate_wait_for(&t->a_joining, 10 * SEC_NS))
        return 1;
    /* Wait until A's worker has parked inside the join, then give it a moment to be asleep. */
    uint64_t start = now_ns();
    while (get_metrics(t->rt).parks <= t->parks_before_join && now_ns() - start < 2 * SEC_NS)
        sleep_ms(1);
    sleep_ms(20);
    /* The second spawn makes the first one stealable and notifies a sleeper: the joiner. */
    if (tasks_spawn(NULL, x_fn, t, NULL, NULL) != TASKS_OK || tasks_spawn(NULL, x_fn, t, NULL, NULL) != TASKS_OK)
        return 1;
    return 0; /* completes the join right away */
}

static int32_t a_fn(void *arg, void **out) {
    trial_t *t = arg;
    (void)out;
    t->parks_before_join = get_metrics(t->rt).parks;
    gate_open(&t->a_joining);
    t->join_status = (int)tasks_join_handle_join(t->hc, t->join_timeout, NULL);
    gate_open(&t->a_joined);
    /* The joiner's remaining run time: until Y has started, at most A_REMAINING_NS. */
    gate_wait_for(&t->y_started, A_REMAINING_NS);
    return 0;
}

static int32_t y_fn(void *arg, void **out) {
    trial_t *t = arg;
    (void)out;
    t->y_start_ns = now_ns();
    gate_open(&t->y_started);
    return 0;
}

static uint64_t run_trial(uint64_t join_timeout) {
    trial_t t;
    memset(&t, 0, sizeof t);
    gate_init(&t.c_started);
    gate_init(&t.a_joining);
    gate_init(&t.a_joined);
    gate_init(&t.y_started);
    t.rt = make_rt(2);
    t.join_timeout = join_timeout;

    CHECK_STATUS(TASKS_OK, tasks_spawn(t.rt, c_fn, &t, NULL, &t.hc));
    CHECK(gate_wait_for(&t.c_started, 10 * SEC_NS));
    tasks_join_handle *ha = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(t.rt, a_fn, &t, NULL, &ha));
    CHECK(gate_wait_for(&t.a_joined, 10 * SEC_NS));
    CHECK_STATUS(TASKS_OK, t.join_status);
    /* Let C's worker run the two spawned tasks and go idle. */
    WAIT_UNTIL(AT_LOAD(&t.x_ran) == 2);
    sleep_ms(100);

    uint64_t t0 = now_ns();
    tasks_join_handle *hy = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(t.rt, y_fn, &t, NULL, &hy));
    CHECK(gate_wait_for(&t.y_started, 10 * SEC_NS));
    uint64_t latency = t.y_start_ns - t0;

    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hy, JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(ha, JOIN_LONG, NULL));
    tasks_join_handle_free(hy);
    tasks_join_handle_free(ha);
    tasks_join_handle_free(t.hc);
    free_rt(t.rt);
    gate_destroy(&t.c_started);
    gate_destroy(&t.a_joining);
    gate_destroy(&t.a_joined);
    gate_destroy(&t.y_started);
    return latency;
}

int main(void) {
    watchdog_start(30, "regress_lost_wakeup_after_join");
    for (int i = 0; i < TRIALS; i++) {
        uint64_t timeout = (i % 2 == 0) ? TASKS_FOREVER : 10 * SEC_NS;
        uint64_t latency = run_trial(timeout);
        printf("trial %d (%s join): Y started after %.3f ms\n", i, timeout == TASKS_FOREVER ? "FOREVER" : "timed",
               (double)latency / 1e6);
        fflush(stdout);
        if (latency > MAX_START_LATENCY_NS)
            CHECK_FAIL_("%s:%d: trial %d: a task spawned while the joiner ran started only after %.0f ms "
                        "(limit %.0f ms): the worker that slept in the join was left counted as searching, "
                        "so the spawn woke nobody (lost wakeup)\n",
                        __FILE__, __LINE__, i, (double)latency / 1e6, (double)MAX_START_LATENCY_NS / 1e6);
    }
    printf("ok\n");
    return 0;
}
