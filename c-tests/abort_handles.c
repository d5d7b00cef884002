/* Abort case (d) and abort handles:
   - a finished task is not affected by abort (join still OK with its output), abort twice is harmless;
   - is_finished (join and abort handle) turns true only after drop_arg has run: drop_arg is held on a
     gate while is_finished is checked to be false;
   - tasks_abort_handle clone / free / id / is_finished / abort; abort handles outliving the join handle:
     a detached running task is aborted through a clone (it sees tasks_current_is_cancelled), its output
     is dropped with drop_output, its drop_arg runs once;
   - an abort handle taken from the join handle after the task finished still reports finished. */
#include "check.h"

static int32_t value_fn(void *arg, void **out) {
    int *o = malloc(sizeof *o);
    CHECK(o != NULL);
    *o = (int)(intptr_t)arg;
    *out = o;
    return 0;
}

/* drop_arg held on a gate */
typedef struct slowdrop {
    gate_t entered, go;
    int drops; /* atomic */
} slowdrop_t;

static void slow_drop_arg(void *p) {
    slowdrop_t *s = p;
    gate_open(&s->entered);
    gate_wait(&s->go);
    AT_ADD(&s->drops, 1);
}

static int32_t quick(void *arg, void **out) {
    (void)arg;
    *out = NULL;
    return 0;
}

typedef struct det {
    gate_t started;
    int saw_cancel;
    int drops;
} det_t;

static void det_drop(void *p) {
    det_t *d = p;
    AT_ADD(&d->drops, 1);
}

static int32_t until_cancelled(void *arg, void **out) {
    det_t *d = arg;
    gate_open(&d->started);
    uint64_t t0 = now_ns();
    while (!tasks_current_is_cancelled()) {
        if (now_ns() - t0 > WAIT_LIMIT_NS)
            return 1;
        sleep_ms(1);
    }
    AT_STORE(&d->saw_cancel, 1);
    int *o = malloc(sizeof *o);
    CHECK(o != NULL);
    *o = 5;
    *out = o;
    return 0;
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    tasks_spawn_opts opts = {NULL, NULL, drop_output_free};
    void *out = NULL;

    /* (d) finished task: abort does nothing */
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, value_fn, (void *)(intptr_t)12, &opts, &h));
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    tasks_join_handle_abort(h);
    tasks_join_handle_abort(h);
    tasks_abort_handle *a = tasks_join_handle_abort_handle(h);
    CHECK(a != NULL);
    CHECK(tasks_abort_handle_is_finished(a));
    CHECK_EQ_U64(tasks_abort_handle_id(a), tasks_join_handle_id(h));
    tasks_abort_handle_abort(a);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 0, &out));
    CHECK_EQ_INT(*(int *)out, 12);
    free(out);
    tasks_join_handle_abort(h); /* after join too */
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 0, NULL));
    tasks_join_handle_free(h);
    tasks_abort_handle_abort(a); /* abort handle outlives the join handle of a finished task */
    CHECK(tasks_abort_handle_is_finished(a));
    tasks_abort_handle_free(a);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 0);

    /* is_finished only after drop_arg has run */
    slowdrop_t s;
    gate_init(&s.entered);
    gate_init(&s.go);
    s.drops = 0;
    tasks_spawn_opts sopts = {NULL, slow_drop_arg, NULL};
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, quick, &s, &sopts, &h));
    a = tasks_join_handle_abort_handle(h);
    gate_wait(&s.entered); /* the task returned and its drop_arg is running */
    sleep_ms(10);
    CHECK(!tasks_join_handle_is_finished(h));
    CHECK(!tasks_abort_handle_is_finished(a));
    gate_open(&s.go);
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    CHECK(tasks_abort_handle_is_finished(a));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_abort_handle_free(a);
    tasks_join_handle_free(h);
    gate_destroy(&s.entered);
    gate_destroy(&s.go);

    /* the same for a cancelled-before-start task: is_finished true once abort returned (drop_arg ran) */
    {
        tasks_runtime *rt1 = make_rt(1);
        slowdrop_t blk;
        gate_init(&blk.entered);
        gate_init(&blk.go);
        blk.drops = 0;
        tasks_join_handle *hb = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt1, quick, &blk, &sopts, &hb)); /* blocks the worker in drop_arg */
        gate_wait(&blk.entered);
        det_t q;
        memset(&q, 0, sizeof q);
        gate_init(&q.started);
        tasks_spawn_opts qopts = {NULL, det_drop, drop_output_free};
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt1, until_cancelled, &q, &qopts, &h));
        a = tasks_join_handle_abort_handle(h);
        tasks_abort_handle_abort(a);
        CHECK_EQ_INT(AT_LOAD(&q.drops), 1);
        CHECK(tasks_abort_handle_is_finished(a));
        CHECK(tasks_join_handle_is_finished(h));
        CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 0, NULL));
        gate_open(&blk.go);
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, JOIN_LONG, NULL));
        tasks_join_handle_free(hb);
        tasks_join_handle_free(h);
        tasks_abort_handle_free(a);
        free_rt(rt1);
        CHECK_EQ_INT(blk.drops, 1);
        CHECK_EQ_INT(q.saw_cancel, 0);
        gate_destroy(&blk.entered);
        gate_destroy(&blk.go);
        gate_destroy(&q.started);
    }

    /* abort handles: clone / id / free; outliving the join handle of a running task */
    det_t d;
    memset(&d, 0, sizeof d);
    gate_init(&d.started);
    tasks_spawn_opts dopts = {"detached", det_drop, drop_output_free};
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, until_cancelled, &d, &dopts, &h));
    uint64_t id = tasks_join_handle_id(h);
    tasks_abort_handle *a1 = tasks_join_handle_abort_handle(h);
    tasks_abort_handle *a2 = tasks_abort_handle_clone(a1);
    tasks_abort_handle *a3 = tasks_join_handle_abort_handle(h);
    CHECK(a1 != NULL && a2 != NULL && a3 != NULL);
    CHECK_EQ_U64(tasks_abort_handle_id(a1), id);
    CHECK_EQ_U64(tasks_abort_handle_id(a2), id);
    CHECK_EQ_U64(tasks_abort_handle_id(a3), id);
    gate_wait(&d.started);
    tasks_join_handle_free(h); /* detach */
    tasks_abort_handle_free(a1);
    CHECK(!tasks_abort_handle_is_finished(a2));
    CHECK_EQ_INT(AT_LOAD(&d.drops), 0);
    tasks_abort_handle_abort(a2);
    WAIT_UNTIL(tasks_abort_handle_is_finished(a3));
    CHECK(tasks_abort_handle_is_finished(a2));
    CHECK_EQ_INT(AT_LOAD(&d.saw_cancel), 1);
    CHECK_EQ_INT(AT_LOAD(&d.drops), 1);
    tasks_abort_handle_abort(a3);
    CHECK_EQ_U64(tasks_abort_handle_id(a3), id);
    tasks_abort_handle_free(a2);
    free_rt(rt);
    /* the detached task's output (nobody took it) was dropped exactly once */
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);
    /* an abort handle is still usable after its runtime is gone */
    CHECK(tasks_abort_handle_is_finished(a3));
    CHECK_EQ_U64(tasks_abort_handle_id(a3), id);
    tasks_abort_handle_abort(a3);
    tasks_abort_handle *a4 = tasks_abort_handle_clone(a3);
    CHECK(a4 != NULL);
    CHECK_EQ_U64(tasks_abort_handle_id(a4), id);
    tasks_abort_handle_free(a3);
    tasks_abort_handle_free(a4);
    CHECK_EQ_INT(AT_LOAD(&d.drops), 1);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);
    gate_destroy(&d.started);
    printf("abort_handles: finished task unaffected by abort, is_finished only after drop_arg, abort handle "
           "clone/id/free/abort outliving join handle and runtime, detached output dropped once\n");
    return 0;
}
