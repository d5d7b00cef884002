/* NULL for every pointer argument of every issue-2 function: statuses return TASKS_ERR_NULL, the others
   return 0 / NULL / false or do nothing; a failed spawn takes nothing (drop_arg not called, out not
   written); builder setters with out-of-range values return TASKS_ERR_INVALID. Functions that take a
   tasks_context are checked from inside a poll task (with the real context for the other argument). */
#include "check.h"

static long g_fn_ran;
static int32_t fn(void *arg, void **out) {
    (void)arg;
    (void)out;
    AT_ADD(&g_fn_ran, 1);
    return 0;
}

static long g_cx_checks;
static tasks_poll poll_null_checks(void *state, tasks_context *cx, void **out) {
    (void)state;
    (void)out;
    /* tasks_join_handle_poll: NULL handle / NULL context */
    void *o = NULL;
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_handle_poll(NULL, cx, &o));
    CHECK(o == NULL);
    tasks_join_handle *other = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(NULL, fn, NULL, NULL, &other));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_handle_poll(other, NULL, &o));
    CHECK(o == NULL);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(other, JOIN_LONG, NULL));
    tasks_join_handle_free(other);
    /* context functions */
    CHECK(tasks_context_waker(NULL) == NULL);
    CHECK_EQ_U64(tasks_context_id(NULL), 0);
    CHECK(tasks_context_id(cx) != 0);
    AT_ADD(&g_cx_checks, 1);
    return TASKS_POLL_READY;
}

static long g_wake_calls, g_wake_drops;
static void my_wake(void *d) {
    (void)d;
    AT_ADD(&g_wake_calls, 1);
}
static void my_drop(void *d) {
    (void)d;
    AT_ADD(&g_wake_drops, 1);
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    tasks_spawn_opts opts = {"null-test", drop_arg_count, NULL};
    int dummy;
    tasks_join_handle *const SENTINEL_H = (tasks_join_handle *)(void *)&dummy;
    tasks_join_handle *h = SENTINEL_H;
    int nchecks = 0;

    /* --- spawning with a NULL function: ERR_NULL, nothing taken, out untouched --- */
    CHECK_STATUS(TASKS_ERR_NULL, tasks_spawn(rt, NULL, &dummy, &opts, &h));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_spawn_poll(rt, NULL, &dummy, &opts, &h));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_spawn_blocking(rt, NULL, &dummy, &opts, &h));
    /* also on the default runtime (rt NULL) and detached (out NULL) */
    CHECK_STATUS(TASKS_ERR_NULL, tasks_spawn(NULL, NULL, &dummy, &opts, NULL));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_spawn_poll(NULL, NULL, &dummy, &opts, NULL));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_spawn_blocking(NULL, NULL, &dummy, &opts, NULL));
    CHECK_EQ_PTR(h, SENTINEL_H);
    nchecks += 6;

    /* --- join handle functions with NULL handle --- */
    void *o = &dummy;
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_handle_join(NULL, 0, &o));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_handle_join(NULL, TASKS_FOREVER, &o));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_join_handle_join(NULL, 0, NULL));
    CHECK_EQ_PTR(o, &dummy);
    tasks_join_handle_abort(NULL);
    CHECK(!tasks_join_handle_is_finished(NULL));
    CHECK_EQ_U64(tasks_join_handle_id(NULL), 0);
    CHECK(tasks_join_handle_abort_handle(NULL) == NULL);
    tasks_join_handle_free(NULL);
    nchecks += 8;

    /* --- abort handle functions --- */
    tasks_abort_handle_abort(NULL);
    CHECK(!tasks_abort_handle_is_finished(NULL));
    CHECK_EQ_U64(tasks_abort_handle_id(NULL), 0);
    CHECK(tasks_abort_handle_clone(NULL) == NULL);
    tasks_abort_handle_free(NULL);
    nchecks += 5;

    /* --- wakers --- */
    CHECK(tasks_waker_new(NULL, &dummy, my_drop) == NULL); /* wake is required; nothing taken */
    CHECK_EQ_INT(AT_LOAD(&g_wake_drops), 0);
    CHECK(tasks_waker_clone(NULL) == NULL);
    tasks_waker_wake(NULL);
    tasks_waker_wake_by_ref(NULL);
    tasks_waker_free(NULL);
    tasks_waker *w = tasks_waker_new(my_wake, &dummy, my_drop);
    CHECK(w != NULL);
    CHECK(!tasks_waker_will_wake(NULL, NULL));
    CHECK(!tasks_waker_will_wake(w, NULL));
    CHECK(!tasks_waker_will_wake(NULL, w));
    CHECK(tasks_waker_will_wake(w, w));
    tasks_waker_free(w);
    CHECK_EQ_INT(AT_LOAD(&g_wake_calls), 0);
    CHECK_EQ_INT(AT_LOAD(&g_wake_drops), 1);
    nchecks += 10;

    /* --- context functions (NULL context) from inside a poll task, and join_handle_poll --- */
    CHECK(tasks_context_waker(NULL) == NULL);
    CHECK_EQ_U64(tasks_context_id(NULL), 0);
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, poll_null_checks, NULL, NULL, &h));
    CHECK(h != NULL && h != SENTINEL_H);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_EQ_INT(AT_LOAD(&g_cx_checks), 1);
    nchecks += 6;

    /* --- current-task functions outside a task --- */
    CHECK_EQ_U64(tasks_current_id(), 0);
    CHECK(tasks_current_name() == NULL);
    CHECK(tasks_current_runtime() == NULL);
    CHECK(!tasks_current_is_cancelled());
    nchecks += 4;

    /* --- runtimes --- */
    CHECK_STATUS(TASKS_ERR_NULL, tasks_runtime_new(NULL));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_runtime_shutdown(NULL, 0));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_runtime_shutdown(NULL, TASKS_FOREVER));
    {
        /* "Passing NULL to a _free is fine": no crash; the status is OK or ERR_NULL. */
        int32_t s = tasks_runtime_free(NULL);
        if (s != TASKS_OK && s != TASKS_ERR_NULL)
            CHECK_FAIL_("tasks_runtime_free(NULL) returned %s (%d)\n", tasks_status_str(s), (int)s);
    }
    tasks_runtime_metrics(rt, NULL);  /* no crash */
    tasks_runtime_metrics(NULL, NULL); /* no crash */
    {
        tasks_metrics m;
        memset(&m, 0, sizeof m);
        tasks_runtime_metrics(NULL, &m); /* no crash; content not specified */
    }
    nchecks += 7;

    /* --- builder --- */
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_worker_threads(NULL, 2));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_max_blocking_threads(NULL, 2));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_blocking_keep_alive(NULL, MS_NS));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_thread_name(NULL, "x-"));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_thread_stack_size(NULL, 1 << 20));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_on_thread_start(NULL, my_wake, &dummy));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_on_thread_stop(NULL, my_wake, &dummy));
    tasks_runtime *rt2 = (tasks_runtime *)(void *)&dummy;
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_build(NULL, &rt2));
    CHECK_EQ_PTR(rt2, &dummy);
    tasks_builder_free(NULL);
    tasks_builder *b = tasks_builder_new();
    CHECK(b != NULL);
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_build(b, NULL));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_builder_thread_name(b, NULL));
    /* out-of-range values */
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_builder_worker_threads(b, 0));
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_builder_max_blocking_threads(b, 0));
    /* the builder still works after rejected calls and keeps valid settings */
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, 1));
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_builder_worker_threads(b, 0));
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt2));
    CHECK(rt2 != NULL && rt2 != (tasks_runtime *)(void *)&dummy);
    CHECK_EQ_INT(get_metrics(rt2).workers, 1);
    free_rt(rt2);
    tasks_builder_free(b);
    nchecks += 19;

    /* nothing spawned by the failed calls ever ran or was dropped */
    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_args_dropped), 0);
    /* only the one successful inner tasks_spawn(fn) ran */
    CHECK_EQ_INT(AT_LOAD(&g_fn_ran), 1);
    CHECK_EQ_INT(AT_LOAD(&g_wake_calls), 0);
    CHECK_EQ_INT(AT_LOAD(&g_wake_drops), 1);

    printf("null_args: %d NULL/invalid-argument checks passed, no drop_arg called by failed spawns\n", nchecks);
    return 0;
}
