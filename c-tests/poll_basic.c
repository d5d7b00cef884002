/* Poll tasks: READY and FAILED with outputs; YIELD 1000 times then READY is polled exactly 1001 times;
   tasks_context_id == tasks_current_id == tasks_join_handle_id on every poll; a wake from inside the
   poll (wake_by_ref on its own waker, then PENDING) makes exactly one more poll; many yielding tasks
   on a 1-worker runtime interleave (yield lets the others run) and all finish with exact poll counts. */
#include "check.h"

typedef struct ys {
    int target; /* yields before READY */
    int polls;
    uint64_t id_seen;
    int id_mismatch;
    int *order_log; /* optional shared log (1-worker runtime) */
    int *order_len;
    int index;
} ys_t;

static tasks_poll yielder(void *state, tasks_context *cx, void **out) {
    ys_t *s = state;
    uint64_t id = tasks_context_id(cx);
    if (id == 0 || id != tasks_current_id() || (s->id_seen != 0 && s->id_seen != id))
        s->id_mismatch++;
    s->id_seen = id;
    if (s->order_log)
        s->order_log[(*s->order_len)++] = s->index;
    s->polls++;
    if (s->polls <= s->target)
        return TASKS_POLL_YIELD;
    *out = (void *)(intptr_t)s->polls;
    return TASKS_POLL_READY;
}

static tasks_poll ready_now(void *state, tasks_context *cx, void **out) {
    (void)cx;
    *out = state;
    return TASKS_POLL_READY;
}

static tasks_poll failed_now(void *state, tasks_context *cx, void **out) {
    (void)cx;
    *out = state;
    return TASKS_POLL_FAILED;
}

static tasks_poll yield_then_fail(void *state, tasks_context *cx, void **out) {
    (void)cx;
    int *n = state;
    if (++*n < 3)
        return TASKS_POLL_YIELD;
    *out = n;
    return TASKS_POLL_FAILED;
}

typedef struct selfwake {
    int polls;
} selfwake_t;

static tasks_poll self_waking(void *state, tasks_context *cx, void **out) {
    selfwake_t *s = state;
    s->polls++;
    if (s->polls == 1) {
        tasks_waker *w = tasks_context_waker(cx);
        CHECK(w != NULL);
        tasks_waker_wake_by_ref(w); /* a wake during the poll: polled again after it returns */
        tasks_waker_wake_by_ref(w); /* coalesces with the first */
        tasks_waker_free(w);
        return TASKS_POLL_PENDING;
    }
    if (s->polls == 2) {
        tasks_waker *w = tasks_context_waker(cx);
        tasks_waker_wake(w); /* consuming wake during the poll */
        return TASKS_POLL_PENDING;
    }
    *out = s;
    return TASKS_POLL_READY;
}

typedef struct blk {
    gate_t *go, *started;
} blk_t;

static int32_t blocker(void *arg, void **out) {
    blk_t *b = arg;
    (void)out;
    gate_open(b->started);
    gate_wait(b->go);
    return 0;
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    tasks_join_handle *h = NULL;
    void *out = NULL;
    int payload = 1;

    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, ready_now, &payload, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &payload);
    tasks_join_handle_free(h);

    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, failed_now, &payload, NULL, &h));
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &payload);
    tasks_join_handle_free(h);

    int n = 0;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, yield_then_fail, &n, NULL, &h));
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &n);
    CHECK_EQ_INT(n, 3);
    tasks_join_handle_free(h);

    /* YIELD 1000 times, then READY: exactly 1001 polls */
    ys_t y;
    memset(&y, 0, sizeof y);
    y.target = 1000;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, yielder, &y, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_INT((intptr_t)out, 1001);
    CHECK_EQ_INT(y.polls, 1001);
    CHECK_EQ_INT(y.id_mismatch, 0);
    CHECK_EQ_U64(y.id_seen, tasks_join_handle_id(h));
    tasks_join_handle_free(h);

    /* wake during the poll -> exactly one more poll each time */
    selfwake_t sw = {0};
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, self_waking, &sw, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &sw);
    CHECK_EQ_INT(sw.polls, 3);
    tasks_join_handle_free(h);

    /* yield lets other tasks run: on one worker, 4 tasks yielding 50 times each interleave (no task runs all
       its polls back to back while others wait), and each is polled exactly 51 times */
    {
        tasks_runtime *rt1 = make_rt(1);
        enum { NT = 4, NY = 50 };
        static int log[NT * (NY + 1)];
        int len = 0;
        ys_t ts[NT];
        tasks_join_handle *hs[NT];
        /* block the worker so that all four are queued before any runs */
        gate_t go = GATE_INIT, started = GATE_INIT;
        memset(ts, 0, sizeof ts);
        for (int i = 0; i < NT; i++) {
            ts[i].target = NY;
            ts[i].order_log = log;
            ts[i].order_len = &len;
            ts[i].index = i;
        }
        blk_t b = {&go, &started};
        tasks_join_handle *hb = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt1, blocker, &b, NULL, &hb));
        gate_wait(&started);
        for (int i = 0; i < NT; i++)
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt1, yielder, &ts[i], NULL, &hs[i]));
        gate_open(&go);
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, JOIN_LONG, NULL));
        tasks_join_handle_free(hb);
        for (int i = 0; i < NT; i++) {
            CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs[i], JOIN_LONG, &out));
            CHECK_EQ_INT((intptr_t)out, NY + 1);
            CHECK_EQ_INT(ts[i].polls, NY + 1);
            CHECK_EQ_INT(ts[i].id_mismatch, 0);
            tasks_join_handle_free(hs[i]);
        }
        CHECK_EQ_INT(len, NT * (NY + 1));
        /* after every task has been polled once, no task finishes all its remaining polls before every
           other one has been polled again: check that each task's polls are not all consecutive */
        for (int i = 0; i < NT; i++) {
            int first = -1, last = -1;
            for (int k = 0; k < len; k++)
                if (log[k] == i) {
                    if (first < 0)
                        first = k;
                    last = k;
                }
            CHECK(last - first + 1 > NY + 1); /* someone else ran in between */
        }
        gate_destroy(&go);
        gate_destroy(&started);
        free_rt(rt1);
    }

    free_rt(rt);
    printf("poll_basic: READY/FAILED outputs, 1000 yields -> exactly 1001 polls, context id == task id, "
           "wake during poll -> one re-poll, yields interleave on one worker\n");
    return 0;
}
