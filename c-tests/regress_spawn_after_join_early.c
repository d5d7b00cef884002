/* Regression test for issue 8, defect 3: a spawn_after task joined FOREVER from a worker of its runtime
 * ran inline at once, before its delay (0.004 ms instead of 500 ms).
 *
 * Contract (API.md, Spawning and Runtimes): "tasks_spawn_after starts the task once delay_ns has passed";
 * "A join never runs a task ahead of its spawn_after deadline" (timers are never early).
 *
 * A task on a 1-worker and on a 2-worker runtime spawns a child with tasks_spawn_after(NULL, 300 ms) and
 * joins it FOREVER (and, once, with a long timeout). The child records when it starts: it must not start
 * before 300 ms have passed since the spawn_after call. */
#include "check.h"

#define DELAY_NS (300 * MS_NS)

typedef struct probe {
    uint64_t spawned_at;
    uint64_t started_at;
    uint64_t join_timeout;
    int join_status;
} probe_t;

static int32_t child_fn(void *arg, void **out) {
    probe_t *p = arg;
    p->started_at = now_ns();
    *out = arg;
    return 0;
}

static int32_t parent_fn(void *arg, void **out) {
    probe_t *p = arg;
    tasks_join_handle *h = NULL;
    void *got = NULL;
    (void)out;
    p->spawned_at = now_ns();
    p->join_status = (int)tasks_spawn_after(NULL, DELAY_NS, child_fn, p, NULL, &h);
    if (p->join_status != TASKS_OK)
        return 1;
    p->join_status = (int)tasks_join_handle_join(h, p->join_timeout, &got);
    tasks_join_handle_free(h);
    return (p->join_status == TASKS_OK && got == p) ? 0 : 1;
}

static void check_not_early(size_t workers, uint64_t join_timeout) {
    tasks_runtime *rt = make_rt(workers);
    probe_t p;
    memset(&p, 0, sizeof p);
    p.join_timeout = join_timeout;
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, parent_fn, &p, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_OK, p.join_status);
    uint64_t waited = p.started_at - p.spawned_at;
    printf("%zu worker(s), join timeout %s: the child started %.3f ms after spawn_after(%.0f ms)\n", workers,
           join_timeout == TASKS_FOREVER ? "FOREVER" : "30 s", (double)waited / 1e6, (double)DELAY_NS / 1e6);
    fflush(stdout);
    if (waited < DELAY_NS)
        CHECK_FAIL_("%s:%d: %zu worker(s): a spawn_after(%.0f ms) task joined from a worker started after %.3f ms: "
                    "the join ran it ahead of its deadline\n",
                    __FILE__, __LINE__, workers, (double)DELAY_NS / 1e6, (double)waited / 1e6);
    free_rt(rt);
}

int main(void) {
    watchdog_start(30, "regress_spawn_after_join_early");
    check_not_early(1, TASKS_FOREVER);
    check_not_early(2, TASKS_FOREVER);
    check_not_early(1, 30 * SEC_NS);
    printf("ok\n");
    return 0;
}
