/* The default runtime: rt == NULL spawns (all three kinds) on the process-wide runtime, which is created
   on first use with TASKS_WORKER_THREADS workers (set to 3 here before first use) and is the same
   pointer every time; from inside a task (also a blocking task) rt == NULL spawns on that task's runtime;
   free/shutdown of the default runtime return TASKS_ERR_INVALID and it keeps working afterwards.
   Also: tasks_builder_new / tasks_runtime_new default worker count follows TASKS_WORKER_THREADS. */
#include "check.h"

static int32_t where(void *arg, void **out) {
    (void)arg;
    *out = tasks_current_runtime();
    return 0;
}

static tasks_poll where_poll(void *state, tasks_context *cx, void **out) {
    (void)state;
    (void)cx;
    *out = tasks_current_runtime();
    return TASKS_POLL_READY;
}

/* spawns a child with rt == NULL from inside, joins it, returns the child's runtime */
static int32_t spawn_child(void *arg, void **out) {
    int kind = (int)(intptr_t)arg;
    tasks_join_handle *h = NULL;
    if (kind == 0)
        CHECK_STATUS(TASKS_OK, tasks_spawn(NULL, where, NULL, NULL, &h));
    else if (kind == 1)
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(NULL, where_poll, NULL, NULL, &h));
    else
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(NULL, where, NULL, NULL, &h));
    void *child_rt = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &child_rt));
    tasks_join_handle_free(h);
    CHECK_EQ_PTR(child_rt, tasks_current_runtime());
    *out = child_rt;
    return 0;
}

static int32_t try_free_default(void *arg, void **out) {
    (void)arg;
    (void)out;
    int32_t s1 = tasks_runtime_free(tasks_runtime_default());
    int32_t s2 = tasks_runtime_shutdown(tasks_runtime_default(), 0);
    /* either answer is a refusal; the runtime must stay usable */
    CHECK(s1 == TASKS_ERR_INVALID || s1 == TASKS_ERR_WOULD_DEADLOCK);
    CHECK(s2 == TASKS_ERR_INVALID || s2 == TASKS_ERR_WOULD_DEADLOCK);
    return 0;
}

static void *run_on(tasks_runtime *rt, int kind, tasks_fn fn, void *arg) {
    tasks_join_handle *h = NULL;
    if (kind == 0)
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, fn, arg, NULL, &h));
    else
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, fn, arg, NULL, &h));
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    tasks_join_handle_free(h);
    return out;
}

int main(void) {
    CHECK(setenv("TASKS_WORKER_THREADS", "3", 1) == 0);

    tasks_runtime *def = tasks_runtime_default();
    CHECK(def != NULL);
    CHECK_EQ_PTR(tasks_runtime_default(), def);
    CHECK_EQ_INT(get_metrics(def).workers, 3);

    /* rt NULL from outside: the default runtime, all three kinds */
    CHECK_EQ_PTR(run_on(NULL, 0, where, NULL), def);
    CHECK_EQ_PTR(run_on(NULL, 1, where, NULL), def);
    {
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(NULL, where_poll, NULL, NULL, &h));
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
        CHECK_EQ_PTR(out, def);
        tasks_join_handle_free(h);
    }
    /* explicit default pointer works too */
    CHECK_EQ_PTR(run_on(def, 0, where, NULL), def);

    /* rt NULL from inside a task of another runtime: that runtime (task, poll, blocking children),
       from a worker task and from a blocking task */
    tasks_runtime *rt = make_rt(2);
    CHECK(rt != def);
    for (int parent_kind = 0; parent_kind < 2; parent_kind++)
        for (int child_kind = 0; child_kind < 3; child_kind++)
            CHECK_EQ_PTR(run_on(rt, parent_kind, spawn_child, (void *)(intptr_t)child_kind), rt);
    /* and from inside a task of the default runtime: the default runtime */
    for (int child_kind = 0; child_kind < 3; child_kind++)
        CHECK_EQ_PTR(run_on(NULL, 0, spawn_child, (void *)(intptr_t)child_kind), def);

    /* free/shutdown of the default runtime are refused */
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_runtime_shutdown(def, 0));
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_runtime_shutdown(def, TASKS_FOREVER));
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_runtime_free(def));
    /* (from inside one of its own tasks as well) */
    run_on(NULL, 0, try_free_default, NULL);
    /* it still works */
    CHECK_EQ_PTR(run_on(NULL, 0, where, NULL), def);
    CHECK_EQ_PTR(tasks_runtime_default(), def);
    tasks_metrics m = get_metrics(def);
    CHECK_EQ_INT(m.workers, 3);
    CHECK(m.spawned >= 12);

    /* defaults of the builder and tasks_runtime_new follow TASKS_WORKER_THREADS */
    tasks_builder *b = tasks_builder_new();
    CHECK(b != NULL);
    tasks_runtime *rb = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rb));
    tasks_builder_free(b);
    CHECK_EQ_INT(get_metrics(rb).workers, 3);
    CHECK_EQ_PTR(run_on(rb, 0, where, NULL), rb);
    free_rt(rb);
    tasks_runtime *rn = NULL;
    CHECK_STATUS(TASKS_OK, tasks_runtime_new(&rn));
    CHECK(rn != NULL && rn != def);
    CHECK_EQ_INT(get_metrics(rn).workers, 3);
    CHECK_EQ_PTR(run_on(rn, 0, where, NULL), rn);
    free_rt(rn);

    free_rt(rt);
    printf("default_runtime: NULL rt -> default runtime (3 workers from env) or the calling task's runtime for "
           "all kinds; free/shutdown of default refused\n");
    return 0;
}
