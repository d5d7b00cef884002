/* Regression test for issue 8, defect 8: spawn_after racing with shutdown. The task's first queue entry
 * (the timer's Start entry) could reach the timer driver after shutdown had drained the timers: the task
 * was never released, tasks_runtime_shutdown timed out, and tasks_runtime_free waited for the task's
 * deadline (forever with a large delay).
 *
 * Contract (API.md, Runtimes): shutdown "cancels every task that is not running (their drop_arg runs)"
 * and returns TASKS_OK once every task has ended; a spawn either succeeds (then the task is cancelled by
 * the shutdown) or returns TASKS_ERR_SHUTDOWN and takes nothing; after free every drop_arg has run once.
 *
 * Repeated trials (100; the race hit in 10-20% of the trials before the fix): two threads call
 * tasks_spawn_after(rt, 1 hour) in a loop while the main thread shuts the runtime down. shutdown(rt, 3 s)
 * must return TASKS_OK (before the fix it sometimes returned TASKS_TIMED_OUT), and after free every
 * accepted task's drop_arg has run exactly once, refused ones' never. */
#include "check.h"

#define TRIALS 100
#define HOUR_NS (3600 * SEC_NS)

static int drops;
static int fn_ran;

static int32_t never_fn(void *arg, void **out) {
    (void)arg;
    (void)out;
    AT_ADD(&fn_ran, 1);
    return 0;
}

static void count_drop(void *arg) {
    (void)arg;
    AT_ADD(&drops, 1);
}

static const tasks_spawn_opts opts = {"regress-timer", count_drop, NULL};

typedef struct spawner {
    pthread_t thread;
    tasks_runtime *rt;
    int accepted;
    int bad_status;
    gate_t *go;
} spawner_t;

static void *spawner_main(void *arg) {
    spawner_t *s = arg;
    gate_wait(s->go);
    for (;;) {
        tasks_status st = tasks_spawn_after(s->rt, HOUR_NS, never_fn, NULL, &opts, NULL);
        if (st == TASKS_OK) {
            s->accepted++;
        } else {
            if (st != TASKS_ERR_SHUTDOWN)
                s->bad_status = (int)st;
            return NULL;
        }
    }
}

static void trial(int t) {
    tasks_runtime *rt = make_rt(1 + t % 2);
    AT_STORE(&drops, 0);
    gate_t go = GATE_INIT;
    spawner_t sp[2];
    for (int i = 0; i < 2; i++) {
        memset(&sp[i], 0, sizeof sp[i]);
        sp[i].rt = rt;
        sp[i].go = &go;
        CHECK(pthread_create(&sp[i].thread, NULL, spawner_main, &sp[i]) == 0);
    }
    gate_open(&go);
    sleep_ns((uint64_t)(t % 5) * 200000); /* 0 .. 0.8 ms of spawning first */
    tasks_status st = tasks_runtime_shutdown(rt, 3 * SEC_NS);
    int accepted = 0;
    for (int i = 0; i < 2; i++) {
        CHECK(pthread_join(sp[i].thread, NULL) == 0);
        accepted += sp[i].accepted;
        CHECK_STATUS(TASKS_OK, sp[i].bad_status);
    }
    if (st != TASKS_OK)
        CHECK_FAIL_("%s:%d: trial %d: tasks_runtime_shutdown returned %s while spawn_after raced with it "
                    "(%d tasks accepted, %d dropped): a task whose timer entry arrived after the timers were "
                    "drained was never released (tasks_runtime_free would wait an hour)\n",
                    __FILE__, __LINE__, t, tasks_status_str(st), accepted, AT_LOAD(&drops));
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&drops), accepted);
    CHECK_EQ_INT(AT_LOAD(&fn_ran), 0);
}

int main(void) {
    watchdog_start(30, "regress_spawn_after_vs_shutdown");
    int trials = (int)scale(TRIALS); /* fewer under valgrind */
    if (trials < 20)
        trials = 20;
    for (int t = 0; t < trials; t++)
        trial(t);
    printf("ok\n");
    return 0;
}
