/* A task joining its own handle gets TASKS_ERR_WOULD_DEADLOCK (run-to-completion, poll and blocking
   tasks; FOREVER and a timed join); the handle is passed to the task through shared memory after spawn.
   The task then finishes normally and the outside join returns OK with its output. */
#include "check.h"

typedef struct self {
    tasks_join_handle *h; /* published by main after spawn */
    gate_t published;
    int32_t st_forever, st_timed;
    int finished_inside;
} self_t;

static int32_t self_join(void *arg, void **out) {
    self_t *s = arg;
    gate_wait(&s->published);
    CHECK_EQ_U64(tasks_join_handle_id(s->h), tasks_current_id());
    void *o = NULL;
    s->st_forever = tasks_join_handle_join(s->h, TASKS_FOREVER, &o);
    s->st_timed = tasks_join_handle_join(s->h, 10 * MS_NS, &o);
    CHECK(o == NULL);
    s->finished_inside = tasks_join_handle_is_finished(s->h);
    *out = s;
    return 0;
}

static tasks_poll self_join_poll(void *state, tasks_context *cx, void **out) {
    (void)cx;
    return self_join(state, out) == 0 ? TASKS_POLL_READY : TASKS_POLL_FAILED;
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    const char *kinds[3] = {"run-to-completion", "poll", "blocking"};
    for (int kind = 0; kind < 3; kind++) {
        self_t s;
        memset(&s, 0, sizeof s);
        gate_init(&s.published);
        s.st_forever = s.st_timed = 99;
        tasks_join_handle *h = NULL;
        if (kind == 0)
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, self_join, &s, NULL, &h));
        else if (kind == 1)
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, self_join_poll, &s, NULL, &h));
        else
            CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, self_join, &s, NULL, &h));
        __atomic_store_n(&s.h, h, __ATOMIC_SEQ_CST);
        gate_open(&s.published);
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
        CHECK_EQ_PTR(out, &s);
        if (s.st_forever != TASKS_ERR_WOULD_DEADLOCK || s.st_timed != TASKS_ERR_WOULD_DEADLOCK)
            CHECK_FAIL_("%s task joining itself: FOREVER -> %s, 10 ms -> %s (expected TASKS_ERR_WOULD_DEADLOCK)\n",
                        kinds[kind], tasks_status_str(s.st_forever), tasks_status_str(s.st_timed));
        CHECK(!s.finished_inside);
        tasks_join_handle_free(h);
        gate_destroy(&s.published);
    }
    free_rt(rt);
    printf("join_self: self-join -> TASKS_ERR_WOULD_DEADLOCK for run-to-completion, poll and blocking tasks\n");
    return 0;
}
