/* tasks_join_handle_poll from a poll task on another task's handle: PENDING while the joined task runs
   (the waiting task is not polled again meanwhile), woken exactly when it ends (exactly one more poll),
   then OK with its output (and OK with NULL on a second poll; a later join from outside: OK, NULL);
   FAILED with payload; CANCELLED when the joined task is aborted; an already finished task gives its
   status on the first poll; registering from a second task replaces the first one's waker. */
#include "check.h"

typedef struct target {
    gate_t go;
    int value;
    int32_t ret;
} target_t;

static int32_t target_fn(void *arg, void **out) {
    target_t *t = arg;
    gate_wait(&t->go);
    *out = &t->value;
    return t->ret;
}

typedef struct waiter {
    tasks_join_handle *h;
    int polls;      /* atomic */
    int registered; /* atomic: polls that returned PENDING after tasks_join_handle_poll */
    int32_t status, status2;
    void *out, *out2;
} waiter_t;

static tasks_poll waiter_poll(void *state, tasks_context *cx, void **out) {
    waiter_t *w = state;
    AT_ADD(&w->polls, 1);
    void *o = NULL;
    int32_t st = tasks_join_handle_poll(w->h, cx, &o);
    if (st == TASKS_PENDING) {
        CHECK(o == NULL);
        AT_ADD(&w->registered, 1);
        return TASKS_POLL_PENDING;
    }
    w->status = st;
    w->out = o;
    /* polled again after completion: same status, output handed out once */
    void *o2 = &w->status2;
    w->status2 = tasks_join_handle_poll(w->h, cx, &o2);
    w->out2 = o2;
    *out = w;
    return TASKS_POLL_READY;
}

/* idle poll task (to be aborted): stores its waker so it "arranged to be woken" */
static tasks_waker *g_idle_waker;
static tasks_poll idle_poll(void *state, tasks_context *cx, void **out) {
    (void)state;
    (void)out;
    AT_STORE(&g_idle_waker, tasks_context_waker(cx));
    return TASKS_POLL_PENDING;
}

static void run_case(tasks_runtime *rt, int32_t ret, int32_t expect) {
    target_t t;
    gate_init(&t.go);
    t.value = 77;
    t.ret = ret;
    tasks_join_handle *ht = NULL, *hw = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, target_fn, &t, NULL, &ht));
    waiter_t w;
    memset(&w, 0, sizeof w);
    w.h = ht;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, waiter_poll, &w, NULL, &hw));
    WAIT_UNTIL(AT_LOAD(&w.registered) == 1);
    sleep_ms(30); /* a spurious wake would show up as a second poll (never a false failure) */
    CHECK_EQ_INT(AT_LOAD(&w.polls), 1);
    CHECK(!tasks_join_handle_is_finished(hw));
    gate_open(&t.go);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hw, JOIN_LONG, &out));
    CHECK_EQ_PTR(out, &w);
    CHECK_EQ_INT(AT_LOAD(&w.polls), 2); /* woken exactly once, when the target ended */
    CHECK_STATUS(expect, w.status);
    CHECK_EQ_PTR(w.out, &t.value);
    CHECK_STATUS(expect, w.status2);
    CHECK(w.out2 == NULL);
    /* the output went to the poller: join from outside sees the status and NULL */
    out = &w;
    CHECK_STATUS(expect, tasks_join_handle_join(ht, JOIN_LONG, &out));
    CHECK(out == NULL);
    tasks_join_handle_free(ht);
    tasks_join_handle_free(hw);
    gate_destroy(&t.go);
}

int main(void) {
    tasks_runtime *rt = make_rt(2);

    run_case(rt, 0, TASKS_OK);
    run_case(rt, 5, TASKS_FAILED);

    /* already finished: first poll answers */
    {
        target_t t;
        gate_init(&t.go);
        gate_open(&t.go);
        t.value = 1;
        t.ret = 0;
        tasks_join_handle *ht = NULL, *hw = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, target_fn, &t, NULL, &ht));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(ht, JOIN_LONG, NULL)); /* output taken (nothing to drop) */
        waiter_t w;
        memset(&w, 0, sizeof w);
        w.h = ht;
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, waiter_poll, &w, NULL, &hw));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hw, JOIN_LONG, NULL));
        CHECK_EQ_INT(AT_LOAD(&w.polls), 1);
        CHECK_STATUS(TASKS_OK, w.status);
        CHECK(w.out == NULL);
        tasks_join_handle_free(ht);
        tasks_join_handle_free(hw);
        gate_destroy(&t.go);
    }

    /* the joined task is cancelled (an idle poll task, aborted): the waiter is woken with CANCELLED */
    {
        tasks_join_handle *ht = NULL, *hw = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, idle_poll, NULL, NULL, &ht));
        WAIT_UNTIL(AT_LOAD(&g_idle_waker) != NULL);
        waiter_t w;
        memset(&w, 0, sizeof w);
        w.h = ht;
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, waiter_poll, &w, NULL, &hw));
        WAIT_UNTIL(AT_LOAD(&w.registered) == 1);
        tasks_join_handle_abort(ht);
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hw, JOIN_LONG, NULL));
        CHECK_EQ_INT(AT_LOAD(&w.polls), 2);
        CHECK_STATUS(TASKS_CANCELLED, w.status);
        CHECK(w.out == NULL);
        CHECK_STATUS(TASKS_CANCELLED, w.status2);
        CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(ht, 0, NULL));
        tasks_waker_free(g_idle_waker);
        g_idle_waker = NULL;
        tasks_join_handle_free(ht);
        tasks_join_handle_free(hw);
    }

    /* a second waiter's registration replaces the first one's: only the second is woken */
    {
        target_t t;
        gate_init(&t.go);
        t.value = 9;
        t.ret = 0;
        tasks_join_handle *ht = NULL, *ha = NULL, *hb = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, target_fn, &t, NULL, &ht));
        waiter_t wa, wb;
        memset(&wa, 0, sizeof wa);
        memset(&wb, 0, sizeof wb);
        wa.h = wb.h = ht;
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, waiter_poll, &wa, NULL, &ha));
        WAIT_UNTIL(AT_LOAD(&wa.registered) == 1);
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, waiter_poll, &wb, NULL, &hb));
        WAIT_UNTIL(AT_LOAD(&wb.registered) == 1);
        gate_open(&t.go);
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, JOIN_LONG, NULL));
        CHECK_EQ_INT(AT_LOAD(&wb.polls), 2);
        CHECK_STATUS(TASKS_OK, wb.status);
        CHECK_EQ_PTR(wb.out, &t.value);
        sleep_ms(30); /* the replaced waker must not fire (only detects a wrong extra poll) */
        CHECK_EQ_INT(AT_LOAD(&wa.polls), 1);
        /* wa was never woken: it is idle; abort cancels it */
        tasks_join_handle_abort(ha);
        CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(ha, JOIN_LONG, NULL));
        CHECK_EQ_INT(AT_LOAD(&wa.polls), 1);
        tasks_join_handle_free(ht);
        tasks_join_handle_free(ha);
        tasks_join_handle_free(hb);
        gate_destroy(&t.go);
    }

    free_rt(rt);
    printf("join_poll: PENDING then woken exactly once at the end (OK/FAILED/CANCELLED/already finished), output "
           "once, replaced registration not woken\n");
    return 0;
}
