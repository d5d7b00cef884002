/* Handles used after their runtime is freed: join returns what happened (OK with the output for a task
   that finished, FAILED with payload, CANCELLED for queued and idle tasks that never finished, OK for the
   running task whose result stood), is_finished is true, ids are unchanged, abort is harmless, new abort
   handles can be taken, wakers of the dead tasks are harmless; then everything is freed and every
   untaken output is dropped exactly once (at the latest when its handle is freed). */
#include "check.h"

static int32_t value_fn(void *p, void **out) {
    int *v = malloc(sizeof *v);
    CHECK(v != NULL);
    *v = (int)(intptr_t)p;
    *out = v;
    return (int)(intptr_t)p < 0 ? 1 : 0;
}

static gate_t g_started = GATE_INIT;
static int32_t until_cancelled(void *p, void **out) {
    gate_open(&g_started);
    while (!tasks_current_is_cancelled())
        sleep_ms(1);
    return value_fn(p, out);
}

static tasks_waker *g_w;
static tasks_poll idle_poll(void *p, tasks_context *cx, void **out) {
    (void)p;
    (void)out;
    AT_STORE(&g_w, tasks_context_waker(cx));
    return TASKS_POLL_PENDING;
}

int main(void) {
    tasks_runtime *rt = make_rt(1);
    tasks_spawn_opts opts = {NULL, drop_arg_count, drop_output_free};
    tasks_join_handle *h_ok = NULL, *h_fail = NULL, *h_ok2 = NULL, *h_idle = NULL, *h_run = NULL, *h_q = NULL,
                      *h_qp = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, value_fn, (void *)(intptr_t)10, &opts, &h_ok));
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, value_fn, (void *)(intptr_t)-20, &opts, &h_fail));
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, value_fn, (void *)(intptr_t)30, &opts, &h_ok2));
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, idle_poll, NULL, &opts, &h_idle));
    WAIT_UNTIL(tasks_join_handle_is_finished(h_ok) && tasks_join_handle_is_finished(h_fail) &&
               tasks_join_handle_is_finished(h_ok2) && AT_LOAD(&g_w) != NULL);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, until_cancelled, (void *)(intptr_t)40, &opts, &h_run));
    gate_wait(&g_started); /* the only worker is busy: the next ones stay queued */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, value_fn, (void *)(intptr_t)50, &opts, &h_q));
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, idle_poll, NULL, &opts, &h_qp));
    tasks_join_handle *all[7] = {h_ok, h_fail, h_ok2, h_idle, h_run, h_q, h_qp};
    uint64_t ids[7];
    for (int i = 0; i < 7; i++)
        ids[i] = tasks_join_handle_id(all[i]);
    tasks_abort_handle *a_q = tasks_join_handle_abort_handle(h_q);
    tasks_abort_handle *a_ok = tasks_join_handle_abort_handle(h_ok);

    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_args_dropped), 7);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 0); /* all outputs are still held by handles */

    for (int i = 0; i < 7; i++) {
        CHECK(tasks_join_handle_is_finished(all[i]));
        CHECK_EQ_U64(tasks_join_handle_id(all[i]), ids[i]);
        tasks_join_handle_abort(all[i]);
    }
    void *o = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h_ok, 0, &o));
    CHECK(o != NULL && *(int *)o == 10);
    free(o);
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h_fail, TASKS_FOREVER, &o));
    CHECK(o != NULL && *(int *)o == -20);
    free(o);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h_idle, TASKS_FOREVER, &o));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h_run, 10 * MS_NS, &o)); /* its result stood */
    CHECK(o != NULL && *(int *)o == 40);
    free(o);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h_q, 0, NULL));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h_qp, 0, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h_ok, 0, &o));
    CHECK(o == NULL);

    /* abort handles taken before and after the free */
    CHECK(tasks_abort_handle_is_finished(a_q));
    CHECK_EQ_U64(tasks_abort_handle_id(a_q), ids[5]);
    tasks_abort_handle_abort(a_q);
    tasks_abort_handle_abort(a_ok);
    tasks_abort_handle *a_new = tasks_join_handle_abort_handle(h_fail);
    CHECK(a_new != NULL);
    CHECK(tasks_abort_handle_is_finished(a_new));
    CHECK_EQ_U64(tasks_abort_handle_id(a_new), ids[1]);
    tasks_abort_handle_abort(a_new);

    /* the idle task's waker: harmless */
    tasks_waker_wake_by_ref(g_w);
    tasks_waker_wake(g_w);

    /* h_ok2's output was never taken: dropped when its handle goes */
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 0);
    for (int i = 0; i < 7; i++)
        tasks_join_handle_free(all[i]);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);
    /* abort handles outlive everything */
    CHECK(tasks_abort_handle_is_finished(a_ok));
    tasks_abort_handle_free(a_q);
    tasks_abort_handle_free(a_ok);
    tasks_abort_handle_free(a_new);
    CHECK_EQ_INT(AT_LOAD(&g_args_dropped), 7);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);
    printf("after_free: 7 handles (OK, FAILED, untaken, idle, running, queued x2) joined/aborted/inspected after "
           "runtime free with the right statuses; outputs dropped once\n");
    return 0;
}
