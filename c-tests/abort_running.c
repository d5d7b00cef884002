/* Abort case (c): a running task is not interrupted.
   - run-to-completion (worker and blocking) tasks polling tasks_current_is_cancelled(): false before the
     abort, true after; they return early and whatever they return stands (OK with output / FAILED with
     payload); drop_arg is not called while they run (abort returns with drop_arg count 0), once after.
   - a poll task in the middle of its poll when abort is called: READY -> OK with output, FAILED -> FAILED
     with payload (the result stands); PENDING, YIELD, or PENDING after waking itself -> CANCELLED and it is
     never polled again. tasks_current_is_cancelled() is true inside the poll after the abort. */
#include "check.h"

typedef struct rarg {
    gate_t started;
    int first_cancelled;
    int saw_cancel;
    int drops; /* atomic */
    int32_t ret;
    int payload;
} rarg_t;

static void drop_arg_r(void *p) {
    rarg_t *r = p;
    AT_ADD(&r->drops, 1);
}

static int32_t loop_until_cancelled(void *p, void **out) {
    rarg_t *r = p;
    r->first_cancelled = tasks_current_is_cancelled();
    gate_open(&r->started);
    uint64_t t0 = now_ns();
    while (!tasks_current_is_cancelled()) {
        if (now_ns() - t0 > WAIT_LIMIT_NS)
            return 1000; /* never saw the cancellation */
        sleep_ms(1);
    }
    r->saw_cancel = 1;
    CHECK(tasks_current_is_cancelled()); /* stays true */
    *out = &r->payload;
    return r->ret;
}

static void run_to_completion_case(tasks_runtime *rt, int blocking, int32_t ret) {
    tasks_spawn_opts opts = {"runner", drop_arg_r, NULL};
    rarg_t r;
    memset(&r, 0, sizeof r);
    gate_init(&r.started);
    r.ret = ret;
    r.payload = 31;
    tasks_join_handle *h = NULL;
    if (blocking)
        CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, loop_until_cancelled, &r, &opts, &h));
    else
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, loop_until_cancelled, &r, &opts, &h));
    gate_wait(&r.started);
    CHECK(!r.first_cancelled);
    tasks_join_handle_abort(h);
    CHECK_EQ_INT(AT_LOAD(&r.drops), 0); /* still running: arg still in use */
    void *out = NULL;
    CHECK_STATUS(ret == 0 ? TASKS_OK : TASKS_FAILED, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &r.payload);
    CHECK(r.saw_cancel);
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    CHECK_EQ_INT(AT_LOAD(&r.drops), 1);
    tasks_join_handle_abort(h); /* finished: nothing happens */
    CHECK_STATUS(ret == 0 ? TASKS_OK : TASKS_FAILED, tasks_join_handle_join(h, 0, NULL));
    tasks_join_handle_free(h);
    CHECK_EQ_INT(AT_LOAD(&r.drops), 1);
    gate_destroy(&r.started);
}

/* ---------------------------------------------------------------- */
enum { M_READY, M_FAILED, M_PENDING, M_YIELD, M_SELFWAKE_PENDING };

typedef struct parg {
    gate_t in_poll, go;
    int mode;
    int polls; /* atomic */
    int drops; /* atomic */
    int cancelled_before, cancelled_after;
    int payload;
    tasks_waker *w;
} parg_t;

static void drop_arg_p(void *p) {
    parg_t *a = p;
    AT_ADD(&a->drops, 1);
}

static tasks_poll poll_during_abort(void *state, tasks_context *cx, void **out) {
    parg_t *a = state;
    if (AT_ADD(&a->polls, 1) > 1)
        CHECK_FAIL_("mode %d: polled again after abort\n", a->mode);
    a->cancelled_before = tasks_current_is_cancelled();
    gate_open(&a->in_poll);
    gate_wait(&a->go); /* main aborts us here */
    a->cancelled_after = tasks_current_is_cancelled();
    switch (a->mode) {
    case M_READY:
        *out = &a->payload;
        return TASKS_POLL_READY;
    case M_FAILED:
        *out = &a->payload;
        return TASKS_POLL_FAILED;
    case M_PENDING:
        a->w = tasks_context_waker(cx); /* arranged to be woken (never is) */
        return TASKS_POLL_PENDING;
    case M_YIELD:
        return TASKS_POLL_YIELD;
    default: {
        tasks_waker *w = tasks_context_waker(cx);
        tasks_waker_wake(w); /* would normally cause a re-poll */
        return TASKS_POLL_PENDING;
    }
    }
}

static void poll_case(tasks_runtime *rt, int mode, int32_t expect) {
    tasks_spawn_opts opts = {"poller", drop_arg_p, NULL};
    parg_t a;
    memset(&a, 0, sizeof a);
    gate_init(&a.in_poll);
    gate_init(&a.go);
    a.mode = mode;
    a.payload = 17;
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, poll_during_abort, &a, &opts, &h));
    tasks_abort_handle *ah = tasks_join_handle_abort_handle(h);
    gate_wait(&a.in_poll);
    if (mode % 2)
        tasks_abort_handle_abort(ah);
    else
        tasks_join_handle_abort(h);
    CHECK_EQ_INT(AT_LOAD(&a.drops), 0); /* the poll is running: nothing dropped yet */
    CHECK(!tasks_join_handle_is_finished(h));
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, NULL));
    gate_open(&a.go);
    void *out = NULL;
    int32_t st = tasks_join_handle_join(h, JOIN_LONG, &out);
    if (st != expect)
        CHECK_FAIL_("poll mode %d: join -> %s, expected %s\n", mode, tasks_status_str(st), tasks_status_str(expect));
    if (expect == TASKS_CANCELLED)
        CHECK(out == NULL);
    else
        CHECK_EQ_PTR(out, &a.payload);
    CHECK(!a.cancelled_before);
    CHECK(a.cancelled_after);
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    CHECK(tasks_abort_handle_is_finished(ah));
    CHECK_EQ_INT(AT_LOAD(&a.drops), 1);
    if (a.w) {
        tasks_waker_wake(a.w); /* cancelled: does nothing */
        a.w = NULL;
    }
    sleep_ms(10);
    CHECK_EQ_INT(AT_LOAD(&a.polls), 1);
    tasks_abort_handle_free(ah);
    tasks_join_handle_free(h);
    gate_destroy(&a.in_poll);
    gate_destroy(&a.go);
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    run_to_completion_case(rt, 0, 0);
    run_to_completion_case(rt, 0, 9);
    run_to_completion_case(rt, 1, 0);
    run_to_completion_case(rt, 1, 9);
    poll_case(rt, M_READY, TASKS_OK);
    poll_case(rt, M_FAILED, TASKS_FAILED);
    poll_case(rt, M_PENDING, TASKS_CANCELLED);
    poll_case(rt, M_YIELD, TASKS_CANCELLED);
    poll_case(rt, M_SELFWAKE_PENDING, TASKS_CANCELLED);
    /* the same on a 1-worker runtime (the cancel happens on the only worker) */
    tasks_runtime *rt1 = make_rt(1);
    run_to_completion_case(rt1, 0, 0);
    poll_case(rt1, M_READY, TASKS_OK);
    poll_case(rt1, M_PENDING, TASKS_CANCELLED);
    poll_case(rt1, M_YIELD, TASKS_CANCELLED);
    poll_case(rt1, M_SELFWAKE_PENDING, TASKS_CANCELLED);
    free_rt(rt1);
    free_rt(rt);
    printf("abort_running: running tasks see tasks_current_is_cancelled, their result stands (OK/FAILED, worker "
           "and blocking); poll READY/FAILED stand, PENDING/YIELD/self-woken PENDING -> CANCELLED, no re-poll\n");
    return 0;
}
