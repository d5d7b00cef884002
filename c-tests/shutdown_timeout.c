/* tasks_runtime_shutdown when a running task outlives the timeout: a task on a 1-worker runtime ignores
   the cancellation until a gate opens. shutdown(20 ms) -> TIMED_OUT after >= 20 ms; meanwhile the queued
   task behind it was cancelled (drop_arg ran once, CANCELLED) and spawns are refused; the running task
   sees tasks_current_is_cancelled() == true. Then it is let go: shutdown(FOREVER) -> OK, its result
   stands, free -> OK, its output (never taken) is dropped exactly once. Also: a blocking task outliving
   the timeout is handled the same way. */
#include "check.h"

typedef struct stubborn {
    gate_t started, go;
    int saw_cancel;
    int drops; /* atomic */
} stubborn_t;

static void drop_arg(void *p) {
    stubborn_t *s = p;
    AT_ADD(&s->drops, 1);
}

static int32_t stubborn_fn(void *p, void **out) {
    stubborn_t *s = p;
    gate_open(&s->started);
    gate_wait(&s->go);
    s->saw_cancel = tasks_current_is_cancelled();
    int *v = malloc(sizeof *v);
    CHECK(v != NULL);
    *v = 8;
    *out = v;
    return 0;
}

static int32_t queued_fn(void *p, void **out) {
    stubborn_t *s = p;
    (void)out;
    s->saw_cancel = 100; /* must never run */
    return 0;
}

static void one(int blocking) {
    tasks_builder *b = tasks_builder_new();
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, 1));
    CHECK_STATUS(TASKS_OK, tasks_builder_max_blocking_threads(b, 1));
    tasks_runtime *rt = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt));
    tasks_builder_free(b);
    tasks_spawn_opts opts = {NULL, drop_arg, drop_output_free};
    stubborn_t s, q;
    memset(&s, 0, sizeof s);
    memset(&q, 0, sizeof q);
    gate_init(&s.started);
    gate_init(&s.go);
    tasks_join_handle *hs = NULL, *hq = NULL;
    if (blocking) {
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, stubborn_fn, &s, &opts, &hs));
        gate_wait(&s.started);
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, queued_fn, &q, &opts, &hq));
    } else {
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, stubborn_fn, &s, &opts, &hs));
        gate_wait(&s.started);
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, queued_fn, &q, &opts, &hq));
    }

    uint64_t t0 = now_ns();
    CHECK_STATUS(TASKS_TIMED_OUT, tasks_runtime_shutdown(rt, 20 * MS_NS));
    uint64_t took = now_ns() - t0;
    if (took < 20 * MS_NS)
        CHECK_FAIL_("shutdown(20 ms) returned TIMED_OUT after %llu ns\n", (unsigned long long)took);
    /* the queued one was cancelled by then */
    CHECK_EQ_INT(AT_LOAD(&q.drops), 1);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hq, 0, NULL));
    /* the stubborn one is still running */
    CHECK(!tasks_join_handle_is_finished(hs));
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(hs, 0, NULL));
    CHECK_EQ_INT(AT_LOAD(&s.drops), 0);
    /* spawns refused */
    stubborn_t late;
    memset(&late, 0, sizeof late);
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_spawn(rt, queued_fn, &late, &opts, NULL));
    CHECK_EQ_INT(late.drops, 0);
    /* a second short shutdown times out again */
    CHECK_STATUS(TASKS_TIMED_OUT, tasks_runtime_shutdown(rt, 0));

    gate_open(&s.go);
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, TASKS_FOREVER));
    CHECK(s.saw_cancel == 1);
    CHECK(tasks_join_handle_is_finished(hs));
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    tasks_metrics m = get_metrics(rt);
    CHECK_EQ_U64(m.spawned, 2);
    CHECK_EQ_U64(m.completed, 1);
    CHECK_EQ_U64(m.cancelled, 1);
    CHECK_EQ_U64(m.alive, 0);
    long before = AT_LOAD(&g_outputs_freed);
    free_rt(rt);
    CHECK_EQ_INT(q.saw_cancel, 0);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs, 0, NULL)); /* result stands; output dropped by NULL join */
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), before + 1);
    tasks_join_handle_free(hs);
    tasks_join_handle_free(hq);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), before + 1);
    CHECK_EQ_INT(s.drops, 1);
    CHECK_EQ_INT(q.drops, 1);
    gate_destroy(&s.started);
    gate_destroy(&s.go);
}

/* free without joining: the untaken output of a task that outlived a timed-out shutdown is dropped once */
static void free_with_untaken_output(void) {
    tasks_runtime *rt = make_rt(1);
    tasks_spawn_opts opts = {NULL, drop_arg, drop_output_free};
    stubborn_t s;
    memset(&s, 0, sizeof s);
    gate_init(&s.started);
    gate_init(&s.go);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, stubborn_fn, &s, &opts, NULL)); /* detached */
    gate_wait(&s.started);
    long before = AT_LOAD(&g_outputs_freed);
    CHECK_STATUS(TASKS_TIMED_OUT, tasks_runtime_shutdown(rt, 5 * MS_NS));
    gate_open(&s.go);
    free_rt(rt); /* waits for it */
    CHECK_EQ_INT(s.saw_cancel, 1);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), before + 1);
    gate_destroy(&s.started);
    gate_destroy(&s.go);
}

int main(void) {
    one(0);
    one(1);
    free_with_untaken_output();
    printf("shutdown_timeout: TIMED_OUT (>= 20 ms) with a worker and a blocking task outliving it, queued cancelled, "
           "then OK, results stand, outputs dropped once\n");
    return 0;
}
