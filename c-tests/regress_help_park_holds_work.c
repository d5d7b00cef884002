/* Regression test for issue 8, defect 2: a helping join that may not help (help depth >= 48, or too
 * little stack left) parked outside the idle set with its LIFO slot unstealable, so nothing ever ran
 * the child it waited for.
 *
 * Contract (API.md, Join handles and Runtimes): "fork-join inside tasks never deadlocks, even with one
 * worker"; "a worker that waits (a join it cannot help with ...) first makes every task it holds
 * stealable, LIFO slot included"; "helping never overflows the stack (it parks instead, as above)".
 *
 * A. 1 worker: a chain of nested tasks, each spawning a trivial child and joining it with a 3 s timeout,
 *    64 deep. Every join must succeed (before the fix the joins at depth 48 and 49 timed out).
 * B. 128 KiB thread stacks (too little for the 256 KiB helping margin), 2 workers and then 1 worker: a
 *    task spawns a poll-style child and joins it (3 s timeout). The join must succeed (before the fix it
 *    never returned: the child sat in the joiner's LIFO slot while the joiner parked).
 * Every failure is collected and reported; the run aborts at the end if there was one. */
#include "check.h"

#define DEPTH 64
#define JOIN_NS (3 * SEC_NS)

static int level_status[DEPTH + 1];
static int failures;

static int32_t level_fn(void *arg, void **out) {
    uintptr_t d = (uintptr_t)arg;
    (void)out;
    if (d == DEPTH)
        return 0;
    tasks_join_handle *h = NULL;
    int st = (int)tasks_spawn(NULL, level_fn, (void *)(d + 1), NULL, &h);
    if (st == TASKS_OK) {
        st = (int)tasks_join_handle_join(h, JOIN_NS, NULL);
        tasks_join_handle_free(h);
    }
    level_status[d] = st;
    return st == TASKS_OK ? 0 : 1;
}

static void nested_timed_joins_one_worker(void) {
    tasks_runtime *rt = make_rt(1);
    tasks_join_handle *h = NULL;
    for (int i = 0; i <= DEPTH; i++)
        level_status[i] = 1000;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, level_fn, (void *)(uintptr_t)0, NULL, &h));
    tasks_status st = tasks_join_handle_join(h, JOIN_LONG, NULL);
    tasks_join_handle_free(h);
    /* The deepest failed join is the cause; the ones above it only report its failure. */
    int deepest = -1;
    for (int d = 0; d < DEPTH; d++)
        if (level_status[d] != TASKS_OK)
            deepest = d;
    if (deepest >= 0 || st != TASKS_OK) {
        fprintf(stderr, "A (1 worker): the timed join at depth %d returned %s (expected TASKS_OK); outermost: %s\n",
                deepest, deepest >= 0 ? tasks_status_str(level_status[deepest]) : "-", tasks_status_str(st));
        failures++;
    }
    free_rt(rt);
}

static tasks_poll poll_child(void *state, tasks_context *cx, void **output) {
    (void)cx;
    *output = state;
    return TASKS_POLL_READY;
}

static int32_t spawn_poll_and_join(void *arg, void **out) {
    void *got = NULL;
    tasks_join_handle *h = NULL;
    int st = (int)tasks_spawn_poll(NULL, poll_child, arg, NULL, &h);
    if (st == TASKS_OK) {
        st = (int)tasks_join_handle_join(h, JOIN_NS, &got);
        tasks_join_handle_free(h);
    }
    *out = (void *)(intptr_t)st;
    return (st == TASKS_OK && got == arg) ? 0 : 1;
}

static void poll_child_small_stacks(size_t workers) {
    tasks_builder *b = tasks_builder_new();
    CHECK(b != NULL);
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, workers));
    CHECK_STATUS(TASKS_OK, tasks_builder_thread_stack_size(b, 128 * 1024));
    tasks_runtime *rt = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt));
    tasks_builder_free(b);
    for (int rep = 0; rep < 3; rep++) {
        tasks_join_handle *h = NULL;
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, spawn_poll_and_join, (void *)(uintptr_t)0x1234, NULL, &h));
        tasks_status st = tasks_join_handle_join(h, JOIN_LONG, &out);
        tasks_join_handle_free(h);
        if (st != TASKS_OK) {
            fprintf(stderr,
                    "B (%zu worker(s), 128 KiB stacks): a task joining the poll child it just spawned got %s "
                    "(expected TASKS_OK)\n",
                    workers, tasks_status_str((int32_t)(intptr_t)out));
            failures++;
            break;
        }
    }
    free_rt(rt);
}

int main(void) {
    watchdog_start(30, "regress_help_park_holds_work");
    watchdog_label("A: nested timed joins 64 deep on 1 worker");
    nested_timed_joins_one_worker();
    watchdog_label("B: join of a poll child with 128 KiB stacks, 2 workers");
    poll_child_small_stacks(2);
    watchdog_label("B: join of a poll child with 128 KiB stacks, 1 worker");
    poll_child_small_stacks(1);
    if (failures != 0)
        CHECK_FAIL_("%s: %d failure(s): a join that may not help parked while the work it waited for stayed "
                    "unstealable\n",
                    __FILE__, failures);
    printf("ok\n");
    return 0;
}
