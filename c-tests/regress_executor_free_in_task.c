/* Regression test for issue 8, defect 10 (the tasks_executor_free part; the other guards are in
 * regress_deadlock_guards.c): tasks_executor_free called from one of the executor's own tasks hung (and
 * would have continued on freed memory).
 *
 * Contract (API.md, Local executor): `tasks_status tasks_executor_free(tasks_executor *ex); cancels what is
 * left; from its own tasks: WOULD_DEADLOCK`; run and free only from the owning thread (else
 * TASKS_ERR_WRONG_THREAD). A refused free leaves the executor usable.
 *
 * Note: written against the contract's signature. The header before the fix declares
 * `void tasks_executor_free(...)`, so this file does not compile until the header changes (that is its
 * failure before the fix); with the new signature, the first check hung before the fix (the watchdog
 * reports it after 10 s).
 *
 * Checks: a task of the executor calls tasks_executor_free(ex): TASKS_ERR_WOULD_DEADLOCK at once; the task
 * can still spawn into the executor and that task runs; another thread's tasks_executor_free(ex) returns
 * TASKS_ERR_WRONG_THREAD; the owner's tasks_executor_free(ex) returns TASKS_OK and cancels what is left. */
#include "check.h"

typedef struct ctx {
    tasks_executor *ex;
    int free_status;
    int respawn_status;
    int later_ran;
    int leftover_dropped;
} ctx_t;

static int32_t later_fn(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    c->later_ran++;
    return 0;
}

static int32_t frees_own_executor(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    c->free_status = (int)tasks_executor_free(c->ex);
    /* Still usable after the refusal. */
    c->respawn_status = (int)tasks_executor_spawn(c->ex, later_fn, c, NULL, NULL);
    return 0;
}

static void *free_from_other_thread(void *arg) {
    ctx_t *c = arg;
    return (void *)(intptr_t)tasks_executor_free(c->ex);
}

static void count_leftover_drop(void *arg) { ((ctx_t *)arg)->leftover_dropped++; }

int main(void) {
    watchdog_start(10, "tasks_executor_free(ex) called from a task of ex: it hung instead of returning "
                       "TASKS_ERR_WOULD_DEADLOCK");
    ctx_t c;
    memset(&c, 0, sizeof c);
    c.free_status = 1000;
    CHECK_STATUS(TASKS_OK, tasks_executor_new(&c.ex));
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(c.ex, frees_own_executor, &c, NULL, &h));
    for (int i = 0; i < 100 && tasks_executor_len(c.ex) > 0; i++)
        tasks_executor_run(c.ex, 16);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 0, NULL));
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_ERR_WOULD_DEADLOCK, c.free_status);
    CHECK_STATUS(TASKS_OK, c.respawn_status);
    CHECK_EQ_INT(c.later_ran, 1);

    watchdog_start(10, "tasks_executor_free(ex) from another thread");
    pthread_t t;
    void *other = NULL;
    CHECK(pthread_create(&t, NULL, free_from_other_thread, &c) == 0);
    CHECK(pthread_join(t, &other) == 0);
    CHECK_STATUS(TASKS_ERR_WRONG_THREAD, (int)(intptr_t)other);

    /* The owner frees it: a task left in it is cancelled (drop_arg runs). */
    tasks_spawn_opts o = {"leftover", count_leftover_drop, NULL};
    CHECK_STATUS(TASKS_OK, tasks_executor_spawn(c.ex, later_fn, &c, &o, NULL));
    CHECK_STATUS(TASKS_OK, tasks_executor_free(c.ex));
    CHECK_EQ_INT(c.leftover_dropped, 1);
    CHECK_EQ_INT(c.later_ran, 1);
    watchdog_stop();
    printf("ok\n");
    return 0;
}
