/* Abort case (b): an idle poll task (its poll returned PENDING, it waits for a wake). On a 1-worker
   runtime, a follow-up task proves the poll has fully returned; then abort: when it returns, drop_arg
   has run once, is_finished is true, join -> CANCELLED at once; later wakes (from the main thread and a
   plain pthread, by_ref and consuming) do nothing: the task is never polled again. Done through the join
   handle and through an abort handle, with the worker idle and with it busy (the cancel needs no worker). */
#include "check.h"

typedef struct idle {
    int polls;      /* atomic */
    int drops;      /* atomic */
    tasks_waker *w; /* atomic, published by the poll */
} idle_t;

static void drop_arg(void *p) {
    idle_t *s = p;
    AT_ADD(&s->drops, 1);
}

static tasks_poll idle_poll(void *state, tasks_context *cx, void **out) {
    idle_t *s = state;
    (void)out;
    AT_ADD(&s->polls, 1);
    if (AT_LOAD(&s->w) == NULL)
        AT_STORE(&s->w, tasks_context_waker(cx));
    return TASKS_POLL_PENDING;
}

static int32_t nop(void *arg, void **out) {
    (void)arg;
    (void)out;
    return 0;
}

static void *wake_thread(void *p) {
    tasks_waker *w = p;
    tasks_waker_wake_by_ref(w);
    tasks_waker *c = tasks_waker_clone(w);
    tasks_waker_wake(c);
    return NULL;
}

static void one(tasks_runtime *rt, int use_abort_handle, int busy_worker) {
    tasks_spawn_opts opts = {"idle", drop_arg, NULL};
    idle_t s;
    memset(&s, 0, sizeof s);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, idle_poll, &s, &opts, &h));
    tasks_abort_handle *a = tasks_join_handle_abort_handle(h);
    CHECK(a != NULL);
    WAIT_UNTIL(AT_LOAD(&s.w) != NULL);
    /* one worker: when this task has run, the poll above has returned and the task is idle */
    tasks_join_handle *hn = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, nop, NULL, NULL, &hn));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hn, JOIN_LONG, NULL));
    tasks_join_handle_free(hn);
    busy_t busy;
    gate_init(&busy.started);
    gate_init(&busy.go);
    tasks_join_handle *hb = NULL;
    if (busy_worker) {
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, busy_fn, &busy, NULL, &hb));
        gate_wait(&busy.started);
    }
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    CHECK(!tasks_join_handle_is_finished(h));
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, NULL));
    CHECK_EQ_INT(AT_LOAD(&s.drops), 0);

    if (use_abort_handle)
        tasks_abort_handle_abort(a);
    else
        tasks_join_handle_abort(h);
    /* cancelled before abort returned */
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    CHECK(tasks_join_handle_is_finished(h));
    CHECK(tasks_abort_handle_is_finished(a));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, 0, NULL));
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(h, TASKS_FOREVER, NULL));

    /* later wakes do nothing */
    tasks_waker_wake_by_ref(s.w);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, wake_thread, s.w) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    tasks_join_handle_abort(h); /* again: harmless */
    tasks_abort_handle_abort(a);
    if (busy_worker) {
        gate_open(&busy.go);
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, JOIN_LONG, NULL));
        tasks_join_handle_free(hb);
    }
    /* let the worker run anything that might (wrongly) have been scheduled */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, nop, NULL, NULL, &hn));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hn, JOIN_LONG, NULL));
    tasks_join_handle_free(hn);
    sleep_ms(20);
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    CHECK_EQ_INT(AT_LOAD(&s.drops), 1);
    tasks_waker_wake(s.w); /* consumes the task's last waker */
    CHECK_EQ_INT(AT_LOAD(&s.polls), 1);
    tasks_abort_handle_free(a);
    tasks_join_handle_free(h);
    gate_destroy(&busy.started);
    gate_destroy(&busy.go);
}

int main(void) {
    tasks_runtime *rt = make_rt(1);
    one(rt, 0, 0);
    one(rt, 1, 0);
    one(rt, 0, 1);
    one(rt, 1, 1);
    free_rt(rt);
    printf("abort_idle_poll: idle poll task cancelled before abort returned (join handle / abort handle, worker "
           "idle / busy), drop_arg once, CANCELLED, later wakes ignored\n");
    return 0;
}
