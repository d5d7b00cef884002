/* Regression test for issue 8, defect 9: tasks_block_on racing with tasks_runtime_shutdown. Shutdown could
 * close the scheduler block_on had just registered before block_on spawned its task into it: block_on then
 * returned TASKS_ERR_INTERNAL (an unreachable!) after having dropped the state (drop_arg ran), a double
 * free for a caller that releases the state on error.
 *
 * Contract (API.md, Blocking bridges, Conventions): on a runtime shutting down block_on returns
 * TASKS_ERR_SHUTDOWN and takes nothing (drop_arg not called); "A call that fails takes nothing". If it
 * ran the task, drop_arg ran exactly once (TASKS_OK, or TASKS_CANCELLED when the shutdown cancelled it).
 *
 * Repeated trials: two threads call tasks_block_on(rt, poll) in a loop (the poll returns READY at once)
 * until it refuses, while the main thread shuts the runtime down. Every call must return TASKS_OK,
 * TASKS_CANCELLED or TASKS_ERR_SHUTDOWN, with drop_arg run once, once, and never respectively. */
#include "check.h"

#define TRIALS 300

typedef struct state {
    int drops;
} state_t;

static tasks_poll ready_poll(void *st, tasks_context *cx, void **output) {
    (void)cx;
    *output = st;
    return TASKS_POLL_READY;
}

static void mark_drop(void *st) { AT_ADD(&((state_t *)st)->drops, 1); }

static const tasks_spawn_opts opts = {"regress-block-on", mark_drop, NULL};

typedef struct caller {
    pthread_t thread;
    tasks_runtime *rt;
    gate_t *go;
    int calls;
    int bad_status, bad_drops; /* the first wrong outcome */
} caller_t;

static void *caller_main(void *arg) {
    caller_t *c = arg;
    gate_wait(c->go);
    for (;;) {
        state_t *s = calloc(1, sizeof *s); /* released by us, whatever happens: drop_arg only counts */
        CHECK(s != NULL);
        void *out = NULL;
        tasks_status st = tasks_block_on(c->rt, ready_poll, s, &opts, &out);
        int drops = AT_LOAD(&s->drops);
        c->calls++;
        int expected_drops = (st == TASKS_ERR_SHUTDOWN) ? 0 : 1;
        if ((st != TASKS_OK && st != TASKS_CANCELLED && st != TASKS_ERR_SHUTDOWN) || drops != expected_drops) {
            c->bad_status = (int)st;
            c->bad_drops = drops;
            free(s);
            return NULL;
        }
        free(s);
        if (st == TASKS_ERR_SHUTDOWN)
            return NULL;
    }
}

int main(void) {
    watchdog_start(30, "regress_block_on_vs_shutdown");
    int trials = (int)scale(TRIALS);
    if (trials < 20)
        trials = 20;
    for (int t = 0; t < trials; t++) {
        tasks_runtime *rt = make_rt(1);
        gate_t go = GATE_INIT;
        caller_t c[2];
        for (int i = 0; i < 2; i++) {
            memset(&c[i], 0, sizeof c[i]);
            c[i].rt = rt;
            c[i].go = &go;
            c[i].bad_status = TASKS_OK;
            CHECK(pthread_create(&c[i].thread, NULL, caller_main, &c[i]) == 0);
        }
        gate_open(&go);
        sleep_ns((uint64_t)(t % 7) * 30000);
        CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, 3 * SEC_NS));
        for (int i = 0; i < 2; i++) {
            CHECK(pthread_join(c[i].thread, NULL) == 0);
            if (c[i].bad_status != TASKS_OK || c[i].bad_drops > 1)
                CHECK_FAIL_("%s:%d: trial %d: tasks_block_on racing with shutdown returned %s with drop_arg run %d "
                            "time(s) (expected TASKS_OK/TASKS_CANCELLED with 1, or TASKS_ERR_SHUTDOWN with 0)\n",
                            __FILE__, __LINE__, t, tasks_status_str(c[i].bad_status), c[i].bad_drops);
        }
        free_rt(rt);
    }
    printf("ok\n");
    return 0;
}
