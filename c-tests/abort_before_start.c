/* Abort case (a): a task that has not started yet. The only worker of a 1-worker runtime is kept busy by
   a task waiting on a flag; B (run-to-completion), C (via an abort handle) and D (poll) are spawned and
   aborted: when abort returns, their drop_arg has run exactly once, is_finished is true, and join returns
   CANCELLED at once (timeout 0 and FOREVER) although the worker is still busy; their functions never run.
   The same for a blocking task queued behind a busy 1-thread blocking pool. Aborting twice is harmless. */
#include "check.h"

typedef struct arg {
    int ran;   /* atomic */
    int drops; /* atomic */
} arg_t;

static void drop_arg(void *p) {
    arg_t *a = p;
    AT_ADD(&a->drops, 1);
}
static long g_drop_out;
static void drop_output(void *p) {
    (void)p;
    AT_ADD(&g_drop_out, 1);
}

static int32_t never(void *p, void **out) {
    arg_t *a = p;
    AT_ADD(&a->ran, 1);
    *out = a;
    return 0;
}
static tasks_poll never_poll(void *p, tasks_context *cx, void **out) {
    (void)cx;
    never(p, out);
    return TASKS_POLL_READY;
}

static void check_cancelled_now(tasks_join_handle *h, arg_t *a, const char *what) {
    if (AT_LOAD(&a->drops) != 1)
        CHECK_FAIL_("%s: drop_arg called %d times when abort returned (expected 1)\n", what, AT_LOAD(&a->drops));
    CHECK(tasks_join_handle_is_finished(h));
    void *out = NULL;
    uint64_t t0 = now_ns();
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 0, &out));
    CHECK(out == NULL);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK(out == NULL);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 10 * MS_NS, NULL));
    CHECK(now_ns() - t0 < 10 * SEC_NS); /* "at once": nothing waited for the busy worker */
    CHECK_EQ_INT(AT_LOAD(&a->ran), 0);
}

int main(void) {
    tasks_runtime *rt = make_rt(1);
    tasks_spawn_opts opts = {"victim", drop_arg, drop_output};
    busy_t busy;
    gate_init(&busy.started);
    gate_init(&busy.go);
    tasks_join_handle *hbusy = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, busy_fn, &busy, NULL, &hbusy));
    gate_wait(&busy.started); /* the only worker is now busy */

    arg_t b = {0, 0}, c = {0, 0}, d = {0, 0}, e = {0, 0};
    tasks_join_handle *hb = NULL, *hc = NULL, *hd = NULL, *he = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, never, &b, &opts, &hb));
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, never, &c, &opts, &hc));
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, never_poll, &d, &opts, &hd));
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, never, &e, &opts, &he)); /* e is not aborted */
    CHECK(!tasks_join_handle_is_finished(hb));
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(hb, 0, NULL));
    CHECK_EQ_INT(b.drops, 0);

    /* B through the join handle */
    tasks_join_handle_abort(hb);
    check_cancelled_now(hb, &b, "B (join handle abort)");
    tasks_join_handle_abort(hb); /* twice: harmless */
    CHECK_EQ_INT(AT_LOAD(&b.drops), 1);

    /* C through an abort handle */
    tasks_abort_handle *ac = tasks_join_handle_abort_handle(hc);
    CHECK(ac != NULL);
    CHECK_EQ_U64(tasks_abort_handle_id(ac), tasks_join_handle_id(hc));
    CHECK(!tasks_abort_handle_is_finished(ac));
    tasks_abort_handle_abort(ac);
    CHECK(tasks_abort_handle_is_finished(ac));
    check_cancelled_now(hc, &c, "C (abort handle)");
    tasks_abort_handle_abort(ac);
    tasks_join_handle_abort(hc);
    CHECK_EQ_INT(AT_LOAD(&c.drops), 1);
    tasks_abort_handle_free(ac);

    /* D: a poll task never polled */
    tasks_join_handle_abort(hd);
    check_cancelled_now(hd, &d, "D (poll task)");

    /* the worker is still busy the whole time */
    CHECK(!tasks_join_handle_is_finished(hbusy));
    CHECK_EQ_INT(AT_LOAD(&e.ran), 0);
    gate_open(&busy.go);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hbusy, JOIN_LONG, NULL));
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(he, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &e);
    CHECK_EQ_INT(AT_LOAD(&e.ran), 1);
    CHECK_EQ_INT(AT_LOAD(&e.drops), 1);

    /* blocking task queued behind a busy 1-thread blocking pool */
    tasks_builder *bld = tasks_builder_new();
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(bld, 1));
    CHECK_STATUS(TASKS_OK, tasks_builder_max_blocking_threads(bld, 1));
    tasks_runtime *rtb = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(bld, &rtb));
    tasks_builder_free(bld);
    busy_t bb;
    gate_init(&bb.started);
    gate_init(&bb.go);
    tasks_join_handle *hbb = NULL, *hq = NULL;
    arg_t q = {0, 0};
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rtb, busy_fn, &bb, NULL, &hbb));
    gate_wait(&bb.started);
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rtb, never, &q, &opts, &hq));
    tasks_join_handle_abort(hq);
    check_cancelled_now(hq, &q, "queued blocking task");
    gate_open(&bb.go);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hbb, JOIN_LONG, NULL));

    free_rt(rt);
    free_rt(rtb);
    /* nothing ran later either, and every drop_arg ran exactly once */
    CHECK_EQ_INT(b.ran + c.ran + d.ran + q.ran, 0);
    CHECK_EQ_INT(b.drops, 1);
    CHECK_EQ_INT(c.drops, 1);
    CHECK_EQ_INT(d.drops, 1);
    CHECK_EQ_INT(q.drops, 1);
    CHECK_EQ_INT(AT_LOAD(&g_drop_out), 0); /* cancelled tasks have no output; e's was taken */
    tasks_join_handle_free(hbusy);
    tasks_join_handle_free(hb);
    tasks_join_handle_free(hc);
    tasks_join_handle_free(hd);
    tasks_join_handle_free(he);
    tasks_join_handle_free(hbb);
    tasks_join_handle_free(hq);
    gate_destroy(&busy.started);
    gate_destroy(&busy.go);
    gate_destroy(&bb.started);
    gate_destroy(&bb.go);
    printf("abort_before_start: 4 queued tasks (task, abort handle, poll, blocking) cancelled before abort "
           "returned, drop_arg once, join CANCELLED at once, never ran\n");
    return 0;
}
