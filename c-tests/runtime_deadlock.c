/* Freeing or shutting down a runtime from one of its own threads returns TASKS_ERR_WOULD_DEADLOCK and
   changes nothing (the runtime keeps accepting and running tasks): from a run-to-completion task, a poll
   task and a blocking task. From a task of ANOTHER runtime it works (OK). free/shutdown of the default
   runtime return TASKS_ERR_INVALID. */
#include "check.h"

typedef struct res {
    int32_t free_st, shut_st, shut0_st;
} res_t;

static int32_t try_own(void *p, void **out) {
    res_t *r = p;
    tasks_runtime *rt = tasks_current_runtime();
    CHECK(rt != NULL);
    r->shut0_st = tasks_runtime_shutdown(rt, 0);
    r->shut_st = tasks_runtime_shutdown(rt, TASKS_FOREVER);
    r->free_st = tasks_runtime_free(rt);
    CHECK(!tasks_current_is_cancelled()); /* nothing was shut down */
    *out = r;
    return 0;
}

static tasks_poll try_own_poll(void *p, tasks_context *cx, void **out) {
    (void)cx;
    try_own(p, out);
    return TASKS_POLL_READY;
}

static int32_t one(void *p, void **out) {
    (void)p;
    *out = (void *)(intptr_t)1;
    return 0;
}

typedef struct other {
    tasks_runtime *victim;
    int32_t shut_st, free_st;
} other_t;

static int32_t free_other(void *p, void **out) {
    other_t *o = p;
    o->shut_st = tasks_runtime_shutdown(o->victim, TASKS_FOREVER);
    o->free_st = tasks_runtime_free(o->victim);
    *out = o;
    return 0;
}

static void check_alive(tasks_runtime *rt) {
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, one, NULL, NULL, &h));
    void *o = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &o));
    CHECK_EQ_INT((intptr_t)o, 1);
    tasks_join_handle_free(h);
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    const char *kinds[3] = {"task", "poll task", "blocking task"};
    for (int kind = 0; kind < 3; kind++) {
        res_t r = {99, 99, 99};
        tasks_join_handle *h = NULL;
        if (kind == 0)
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, try_own, &r, NULL, &h));
        else if (kind == 1)
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, try_own_poll, &r, NULL, &h));
        else
            CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, try_own, &r, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
        if (r.free_st != TASKS_ERR_WOULD_DEADLOCK || r.shut_st != TASKS_ERR_WOULD_DEADLOCK ||
            r.shut0_st != TASKS_ERR_WOULD_DEADLOCK)
            CHECK_FAIL_("from a %s of the runtime: shutdown(0) -> %s, shutdown(FOREVER) -> %s, free -> %s "
                        "(expected TASKS_ERR_WOULD_DEADLOCK)\n",
                        kinds[kind], tasks_status_str(r.shut0_st), tasks_status_str(r.shut_st),
                        tasks_status_str(r.free_st));
        check_alive(rt);
    }

    /* from a task of another runtime: allowed */
    tasks_runtime *victim = make_rt(1);
    check_alive(victim);
    other_t o = {victim, 99, 99};
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, free_other, &o, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_OK, o.shut_st);
    CHECK_STATUS(TASKS_OK, o.free_st);

    /* the default runtime */
    tasks_runtime *def = tasks_runtime_default();
    CHECK(def != NULL);
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_runtime_shutdown(def, 0));
    CHECK_STATUS(TASKS_ERR_INVALID, tasks_runtime_free(def));
    check_alive(def);
    check_alive(NULL);

    check_alive(rt);
    free_rt(rt);
    printf("runtime_deadlock: free/shutdown from own task/poll task/blocking task -> WOULD_DEADLOCK (runtime still "
           "works), from another runtime's task -> OK, default runtime -> INVALID\n");
    return 0;
}
