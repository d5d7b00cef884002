/* Regression test for issue 8, defect 14: when task X aborted an idle task Y, Y's drop_arg and task-local
 * destructors ran with X as the current task: tasks_current_id() returned X's id and tasks_local_key_set
 * acted on X's task-locals.
 *
 * Contract (API.md, Runtimes): "drop_arg, drop_output and task-local destructors never run with another task
 * as the current task: while they run, tasks_current_id() is the dropped task's id or 0."
 *
 * A. Y is a poll task that set a task-local value and returned PENDING (idle). Task X sets its own value for
 *    another key, then aborts Y (Y is cancelled inside the abort call, on X's thread). In Y's drop_arg and
 *    in Y's task-local destructor, tasks_current_id() must be Y's id or 0; a tasks_local_key_set there must
 *    not touch X's value (X still reads its own value afterwards, and it was not destroyed).
 * B. Y has not started (spawn_after, 1 hour): X aborts it; in Y's drop_arg tasks_current_id() is Y's id or 0. */
#include "check.h"

typedef struct ctx {
    tasks_join_handle *hy;
    uint64_t y_id, x_id;
    tasks_waker *y_waker;
    gate_t y_pending;
    uint64_t drop_cur, dtor_cur; /* tasks_current_id() seen in Y's drop_arg / local destructor */
    int drop_ran, dtor_ran;
    int x_value_kept;
} ctx_t;

static ctx_t *the_ctx;
static tasks_local_key *key_y, *key_x;
static int x_value, y_value, intruder;
static int x_value_destroyed;

static void y_local_dtor(void *v) {
    (void)v;
    the_ctx->dtor_cur = tasks_current_id();
    the_ctx->dtor_ran++;
}

static void x_local_dtor(void *v) {
    if (v == &x_value)
        AT_ADD(&x_value_destroyed, 1);
}

static void y_drop_arg(void *arg) {
    ctx_t *c = arg;
    c->drop_cur = tasks_current_id();
    c->drop_ran++;
    /* Must not act on the aborting task's task-locals. */
    (void)tasks_local_key_set(key_x, &intruder);
}

static tasks_poll y_poll(void *state, tasks_context *cx, void **output) {
    ctx_t *c = state;
    (void)output;
    if (c->y_waker == NULL) {
        c->y_id = tasks_current_id();
        CHECK_STATUS(TASKS_OK, tasks_local_key_set(key_y, &y_value));
        c->y_waker = tasks_context_waker(cx); /* nobody wakes it: it stays idle until aborted */
        gate_open(&c->y_pending);
    }
    return TASKS_POLL_PENDING;
}

static int32_t x_fn(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    c->x_id = tasks_current_id();
    if (tasks_local_key_set(key_x, &x_value) != TASKS_OK)
        return 1;
    tasks_join_handle_abort(c->hy);
    c->x_value_kept = tasks_local_key_get(key_x) == &x_value && AT_LOAD(&x_value_destroyed) == 0;
    return 0;
}

static int failures;

static void check_cur(const char *what, uint64_t seen, const ctx_t *c) {
    if (seen != c->y_id && seen != 0) {
        fprintf(stderr, "%s: in Y's %s, tasks_current_id() was %llu%s (expected Y's id %llu or 0)\n", __FILE__, what,
                (unsigned long long)seen, seen == c->x_id ? " = the aborting task X" : "", (unsigned long long)c->y_id);
        failures++;
    }
}

static void case_idle_poll_task(tasks_runtime *rt) {
    ctx_t c;
    memset(&c, 0, sizeof c);
    gate_init(&c.y_pending);
    the_ctx = &c;
    tasks_spawn_opts yo = {"Y", y_drop_arg, NULL};
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, y_poll, &c, &yo, &c.hy));
    CHECK(gate_wait_for(&c.y_pending, 10 * SEC_NS));
    WAIT_UNTIL(get_metrics(rt).polls >= 1 && !tasks_join_handle_is_finished(c.hy));
    sleep_ms(20); /* Y's poll has returned PENDING: it is idle */
    tasks_join_handle *hx = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, x_fn, &c, NULL, &hx));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hx, JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(c.hy, JOIN_LONG, NULL));
    tasks_join_handle_free(hx);
    tasks_join_handle_free(c.hy);
    tasks_waker_free(c.y_waker);
    CHECK_EQ_INT(c.drop_ran, 1);
    CHECK_EQ_INT(c.dtor_ran, 1);
    check_cur("drop_arg (cancelled while idle, aborted by task X)", c.drop_cur, &c);
    check_cur("task-local destructor (cancelled while idle, aborted by task X)", c.dtor_cur, &c);
    if (!c.x_value_kept) {
        fprintf(stderr, "%s: aborting Y changed the aborting task X's task-locals (a tasks_local_key_set in Y's "
                        "drop_arg acted on X, or destroyed X's value)\n",
                __FILE__);
        failures++;
    }
    gate_destroy(&c.y_pending);
}

static int32_t never_fn(void *arg, void **out) {
    (void)arg;
    (void)out;
    return 0;
}

static void case_not_started(tasks_runtime *rt) {
    ctx_t c;
    memset(&c, 0, sizeof c);
    the_ctx = &c;
    tasks_spawn_opts yo = {"Y-later", y_drop_arg, NULL};
    CHECK_STATUS(TASKS_OK, tasks_spawn_after(rt, 3600 * SEC_NS, never_fn, &c, &yo, &c.hy));
    c.y_id = tasks_join_handle_id(c.hy);
    tasks_join_handle *hx = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, x_fn, &c, NULL, &hx));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hx, JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(c.hy, JOIN_LONG, NULL));
    tasks_join_handle_free(hx);
    tasks_join_handle_free(c.hy);
    CHECK_EQ_INT(c.drop_ran, 1);
    check_cur("drop_arg (not started, aborted by task X)", c.drop_cur, &c);
    if (!c.x_value_kept) {
        fprintf(stderr, "%s: aborting a not-started Y changed the aborting task X's task-locals\n", __FILE__);
        failures++;
    }
}

int main(void) {
    watchdog_start(30, "regress_abort_drop_context");
    key_y = tasks_local_key_new(y_local_dtor);
    key_x = tasks_local_key_new(x_local_dtor);
    CHECK(key_y != NULL && key_x != NULL);
    tasks_runtime *rt = make_rt(2);
    case_idle_poll_task(rt);
    AT_STORE(&x_value_destroyed, 0);
    case_not_started(rt);
    free_rt(rt);
    if (failures != 0)
        CHECK_FAIL_("%s: %d failure(s): a cancelled task's drop_arg / task-local destructor ran as the aborting "
                    "task\n",
                    __FILE__, failures);
    printf("ok\n");
    return 0;
}
