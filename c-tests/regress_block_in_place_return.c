/* Regression test for issue 8, defect 4: tasks_block_in_place waited for the task its substitute worker
 * was running before returning (3 s here, unbounded in general, a deadlock if that task waits for the
 * caller).
 *
 * Contract (API.md, Blocking bridges and Runtimes): block_in_place hands the worker's work to others so
 * nothing is held up while fn runs; it returns when fn returns: it does not wait for unrelated tasks.
 *
 * 1 worker: task A calls block_in_place(fn). fn spawns B, which the substitute worker runs; fn waits
 * until B has started, then returns. B waits (at most 3 s) until A has come back from block_in_place.
 * block_in_place must return within 1 s of fn returning (before the fix: only when B gave up, 3 s). */
#include "check.h"

#define B_WAIT_NS (3 * SEC_NS)
#define MAX_RETURN_NS (1 * SEC_NS)

typedef struct ctx {
    gate_t b_started, a_resumed;
    int b_saw_resume;
    int fn_saw_b;
    int bip_status;
    uint64_t fn_returned_at, bip_returned_at;
} ctx_t;

static int32_t b_fn(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    gate_open(&c->b_started);
    c->b_saw_resume = gate_wait_for(&c->a_resumed, B_WAIT_NS);
    return 0;
}

static void blocking_fn(void *arg) {
    ctx_t *c = arg;
    c->fn_saw_b = tasks_spawn(NULL, b_fn, c, NULL, NULL) == TASKS_OK && gate_wait_for(&c->b_started, 10 * SEC_NS);
    c->fn_returned_at = now_ns();
}

static int32_t a_fn(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    c->bip_status = (int)tasks_block_in_place(blocking_fn, c);
    c->bip_returned_at = now_ns();
    gate_open(&c->a_resumed);
    return 0;
}

int main(void) {
    watchdog_start(30, "regress_block_in_place_return");
    tasks_runtime *rt = make_rt(1);
    for (int rep = 0; rep < 3; rep++) {
        ctx_t c;
        memset(&c, 0, sizeof c);
        gate_init(&c.b_started);
        gate_init(&c.a_resumed);
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, a_fn, &c, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
        CHECK_STATUS(TASKS_OK, c.bip_status);
        CHECK(c.fn_saw_b); /* the substitute worker ran B while fn blocked */
        uint64_t extra = c.bip_returned_at - c.fn_returned_at;
        printf("rep %d: block_in_place returned %.3f ms after fn\n", rep, (double)extra / 1e6);
        fflush(stdout);
        if (extra > MAX_RETURN_NS)
            CHECK_FAIL_("%s:%d: block_in_place returned %.0f ms after fn returned (limit %.0f ms): it waited for "
                        "the task its substitute worker was running\n",
                        __FILE__, __LINE__, (double)extra / 1e6, (double)MAX_RETURN_NS / 1e6);
        WAIT_UNTIL(get_metrics(rt).alive == 0); /* B is done before c goes out of scope */
        CHECK(c.b_saw_resume);
        gate_destroy(&c.b_started);
        gate_destroy(&c.a_resumed);
    }
    free_rt(rt);
    printf("ok\n");
    return 0;
}
