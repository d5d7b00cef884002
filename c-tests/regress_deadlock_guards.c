/* Regression test for issue 8, defect 10 (all but tasks_executor_free, see regress_executor_free_in_task.c):
 * deadlock guards with holes.
 *
 * Contract (API.md, Runtimes): "Every deadlock the library can see is refused with TASKS_ERR_WOULD_DEADLOCK
 * instead of hanging: freeing/shutting down a runtime or executor from inside its own tasks (also through
 * block_on of another runtime), a task joining itself (also from its own drop_arg), a local-executor task
 * joining a sibling that only its own owner thread can run." The answer comes at once, and the refused
 * call changes nothing.
 *
 * Cases (argv[1] may name a subset, e.g. "dc"; default all, in this order):
 * d. A task's drop_arg joins the task's own handle (3 s timeout): TASKS_ERR_WOULD_DEADLOCK within 1 s
 *    (before the fix: TASKS_TIMED_OUT after 3 s).
 * c. A local-executor task joins a sibling that has not run yet (3 s timeout): TASKS_ERR_WOULD_DEADLOCK
 *    within 1 s (before the fix: the owner thread parked for the whole timeout, TASKS_TIMED_OUT).
 * s. A task of runtime A calls tasks_block_on(B, poll) and the poll calls tasks_runtime_shutdown(A, 0):
 *    TASKS_ERR_WOULD_DEADLOCK, and A still accepts and runs tasks (before the fix: A was shut down).
 * f. The same with tasks_runtime_free(A): TASKS_ERR_WOULD_DEADLOCK (before the fix: it hung; the watchdog
 *    reports it after 10 s). */
#include "check.h"

#define JOIN_NS (3 * SEC_NS)
#define AT_ONCE_NS (1 * SEC_NS)

/* ---- d: join of the own handle from drop_arg ---- */
typedef struct self_join {
    tasks_join_handle *h;
    gate_t handle_set;
    int status;
    uint64_t elapsed;
} self_join_t;

static int32_t wait_handle_fn(void *arg, void **out) {
    self_join_t *s = arg;
    (void)out;
    return gate_wait_for(&s->handle_set, 10 * SEC_NS) ? 0 : 1;
}

static void join_self_from_drop_arg(void *arg) {
    self_join_t *s = arg;
    uint64_t t0 = now_ns();
    s->status = (int)tasks_join_handle_join(s->h, JOIN_NS, NULL);
    s->elapsed = now_ns() - t0;
}

static void case_drop_arg_joins_itself(void) {
    tasks_runtime *rt = make_rt(2);
    self_join_t s;
    memset(&s, 0, sizeof s);
    gate_init(&s.handle_set);
    s.status = 1000;
    tasks_spawn_opts o = {"self-joiner", join_self_from_drop_arg, NULL};
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, wait_handle_fn, &s, &o, &s.h));
    gate_open(&s.handle_set);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(s.h, JOIN_LONG, NULL));
    tasks_join_handle_free(s.h);
    free_rt(rt);
    if (s.status != TASKS_ERR_WOULD_DEADLOCK || s.elapsed > AT_ONCE_NS)
        CHECK_FAIL_("%s:%d: (d) a task joining its own handle from its drop_arg got %s after %.0f ms "
                    "(expected TASKS_ERR_WOULD_DEADLOCK at once)\n",
                    __FILE__, __LINE__, tasks_status_str(s.status), (double)s.elapsed / 1e6);
    gate_destroy(&s.handle_set);
}

/* ---- c: a local-executor task joins a sibling that only the owner thread can run ---- */
typedef struct sibling {
    tasks_join_handle *sib;
    int status;
    uint64_t elapsed;
} sibling_t;

static int32_t joins_sibling_fn(void *arg, void **out) {
    sibling_t *s = arg;
    (void)out;
    uint64_t t0 = now_ns();
    s->status = (int)tasks_join_handle_join(s->sib, JOIN_NS, NULL);
    s->elapsed = now_ns() - t0;
    return 0;
}

static int32_t nop_fn(void *arg, void **out) {
    *out = arg;
    return 0;
}

static void case_executor_sibling_join(void) {
    tasks_executor *ex = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    sibling_t s;
    memset(&s, 0, sizeof s);
    s.status = 1000;
    tasks_join_handle *hj = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, joins_sibling_fn, &s, NULL, &hj));
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, nop_fn, &s, NULL, &s.sib)); /* queued behind the joiner */
    uint64_t start = now_ns();
    while (tasks_executor_len(ex) > 0 && now_ns() - start < 20 * SEC_NS)
        tasks_executor_run(ex, 16);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hj, 0, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(s.sib, 0, NULL)); /* the sibling still ran, afterwards */
    tasks_join_handle_free(hj);
    tasks_join_handle_free(s.sib);
    tasks_executor_free(ex);
    if (s.status != TASKS_ERR_WOULD_DEADLOCK || s.elapsed > AT_ONCE_NS)
        CHECK_FAIL_("%s:%d: (c) a local-executor task joining a sibling that only its owner thread can run got "
                    "%s after %.0f ms (expected TASKS_ERR_WOULD_DEADLOCK at once)\n",
                    __FILE__, __LINE__, tasks_status_str(s.status), (double)s.elapsed / 1e6);
}

/* ---- s, f: shutting down / freeing runtime A from block_on(B) inside a task of A ---- */
typedef struct nested {
    tasks_runtime *a, *b;
    int free_instead; /* f: tasks_runtime_free(A), else s: tasks_runtime_shutdown(A, 0) */
    int stop_status, block_on_status;
} nested_t;

static tasks_poll stop_a_poll(void *state, tasks_context *cx, void **output) {
    nested_t *n = state;
    (void)cx;
    (void)output;
    n->stop_status = n->free_instead ? (int)tasks_runtime_free(n->a) : (int)tasks_runtime_shutdown(n->a, 0);
    return TASKS_POLL_READY;
}

static int32_t task_of_a(void *arg, void **out) {
    nested_t *n = arg;
    (void)out;
    n->block_on_status = (int)tasks_block_on(n->b, stop_a_poll, n, NULL, NULL);
    return 0;
}

static void case_stop_own_runtime_through_block_on(int free_instead) {
    nested_t n;
    memset(&n, 0, sizeof n);
    n.a = make_rt(1);
    n.b = make_rt(1);
    n.free_instead = free_instead;
    n.stop_status = 1000;
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(n.a, task_of_a, &n, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_OK, n.block_on_status);
    if (n.stop_status != TASKS_ERR_WOULD_DEADLOCK)
        CHECK_FAIL_("%s:%d: (%c) tasks_runtime_%s(A) from a poll of tasks_block_on(B) run by a task of A returned "
                    "%s (expected TASKS_ERR_WOULD_DEADLOCK)\n",
                    __FILE__, __LINE__, free_instead ? 'f' : 's', free_instead ? "free" : "shutdown",
                    tasks_status_str(n.stop_status));
    /* The refused call changed nothing: A still runs tasks. */
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(n.a, nop_fn, &n, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &n);
    tasks_join_handle_free(h);
    free_rt(n.a);
    free_rt(n.b);
}

int main(int argc, char **argv) {
    const char *cases = argc > 1 ? argv[1] : "dcsf";
    if (strchr(cases, 'd')) {
        watchdog_start(10, "(d) a task joining its own handle from its drop_arg");
        case_drop_arg_joins_itself();
    }
    if (strchr(cases, 'c')) {
        watchdog_start(10, "(c) a local-executor task joining a sibling");
        case_executor_sibling_join();
    }
    if (strchr(cases, 's')) {
        watchdog_start(10, "(s) tasks_runtime_shutdown(A, 0) from block_on(B) inside a task of A");
        case_stop_own_runtime_through_block_on(0);
    }
    if (strchr(cases, 'f')) {
        watchdog_start(10, "(f) tasks_runtime_free(A) from block_on(B) inside a task of A: it hung instead of "
                           "returning TASKS_ERR_WOULD_DEADLOCK");
        case_stop_own_runtime_through_block_on(1);
    }
    watchdog_stop();
    printf("ok\n");
    return 0;
}
