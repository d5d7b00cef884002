/* tasks_runtime_shutdown with queued, idle and running tasks (2 workers, both busy with tasks that run until
   they see tasks_current_is_cancelled()):
   - shutdown returns OK once the running tasks ended; queued tasks never ran, their drop_arg ran exactly
     once by the time shutdown returned, join -> CANCELLED; the idle poll task -> CANCELLED, drop_arg once;
     the running ones saw the cancellation, their return values stand (OK with output / FAILED);
   - a running task trying to spawn during shutdown gets TASKS_ERR_SHUTDOWN (drop_arg not called);
   - spawning (all kinds) after shutdown -> TASKS_ERR_SHUTDOWN, drop_arg not called, out not written;
   - shutdown again -> OK; metrics reflect the outcome;
   - outputs nobody took are dropped exactly once (handle freed before / after runtime free). */
#include "check.h"

#define NQUEUED 50

typedef struct arg {
    int ran;   /* atomic */
    int drops; /* atomic */
} arg_t;

static void drop_arg(void *p) {
    arg_t *a = p;
    AT_ADD(&a->drops, 1);
}

static int32_t queued_fn(void *p, void **out) {
    arg_t *a = p;
    (void)out;
    AT_ADD(&a->ran, 1);
    return 0;
}
static tasks_poll queued_poll(void *p, tasks_context *cx, void **out) {
    (void)cx;
    queued_fn(p, out);
    return TASKS_POLL_READY;
}

typedef struct runner {
    arg_t a;
    gate_t started;
    int32_t ret;
    int saw_cancel;
    int32_t spawn_status;
    arg_t child; /* arg of the spawn attempted during shutdown */
} runner_t;

static int32_t running_fn(void *p, void **out) {
    runner_t *r = p;
    AT_ADD(&r->a.ran, 1);
    gate_open(&r->started);
    uint64_t t0 = now_ns();
    while (!tasks_current_is_cancelled()) {
        if (now_ns() - t0 > WAIT_LIMIT_NS)
            return 1000;
        sleep_ms(1);
    }
    r->saw_cancel = 1;
    tasks_spawn_opts o = {NULL, drop_arg, NULL};
    tasks_join_handle *h = NULL;
    r->spawn_status = tasks_spawn(NULL, queued_fn, &r->child, &o, &h);
    CHECK(h == NULL);
    int *v = malloc(sizeof *v);
    CHECK(v != NULL);
    *v = (int)r->ret;
    *out = v;
    return r->ret;
}

typedef struct idle {
    arg_t a;
    tasks_waker *w; /* atomic */
} idle_t;

static void idle_drop(void *p) {
    idle_t *i = p;
    AT_ADD(&i->a.drops, 1);
}
static tasks_poll idle_poll(void *p, tasks_context *cx, void **out) {
    idle_t *i = p;
    (void)out;
    AT_ADD(&i->a.ran, 1);
    AT_STORE(&i->w, tasks_context_waker(cx));
    return TASKS_POLL_PENDING;
}

static int32_t value_fn(void *p, void **out) {
    arg_t *a = p;
    AT_ADD(&a->ran, 1);
    int *v = malloc(sizeof *v);
    CHECK(v != NULL);
    *v = 1;
    *out = v;
    return 0;
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    tasks_spawn_opts opts = {NULL, drop_arg, drop_output_free};

    /* finished tasks with untaken outputs: one handle freed before shutdown, one kept until after free */
    arg_t f1 = {0, 0}, f2 = {0, 0};
    tasks_join_handle *hf1 = NULL, *hf2 = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, value_fn, &f1, &opts, &hf1));
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, value_fn, &f2, &opts, &hf2));
    WAIT_UNTIL(tasks_join_handle_is_finished(hf1) && tasks_join_handle_is_finished(hf2));
    tasks_join_handle_free(hf1);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);

    /* an idle poll task */
    idle_t idle;
    memset(&idle, 0, sizeof idle);
    tasks_spawn_opts iopts = {"idle", idle_drop, NULL};
    tasks_join_handle *hidle = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, idle_poll, &idle, &iopts, &hidle));
    WAIT_UNTIL(AT_LOAD(&idle.w) != NULL);

    /* both workers busy */
    runner_t r[2];
    tasks_join_handle *hr[2];
    tasks_spawn_opts ropts = {"runner", NULL, drop_output_free};
    for (int i = 0; i < 2; i++) {
        memset(&r[i], 0, sizeof r[i]);
        gate_init(&r[i].started);
        r[i].ret = i == 0 ? 0 : 4;
        r[i].spawn_status = 99;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, running_fn, &r[i], &ropts, &hr[i]));
    }
    for (int i = 0; i < 2; i++)
        gate_wait(&r[i].started);

    /* queued tasks (both kinds), some detached, some with handles freed already */
    static arg_t q[NQUEUED];
    tasks_join_handle *hq[NQUEUED];
    memset(q, 0, sizeof q);
    for (int i = 0; i < NQUEUED; i++) {
        tasks_join_handle **outp = (i % 5 == 4) ? NULL : &hq[i];
        hq[i] = NULL;
        if (i % 2)
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, queued_fn, &q[i], &opts, outp));
        else
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, queued_poll, &q[i], &opts, outp));
        if (i % 5 == 3) {
            tasks_join_handle_free(hq[i]);
            hq[i] = NULL;
        }
    }

    uint64_t t0 = now_ns();
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, 60 * SEC_NS));
    double took_ms = (double)(now_ns() - t0) / 1e6;

    /* queued: never ran, dropped once, CANCELLED */
    for (int i = 0; i < NQUEUED; i++) {
        if (AT_LOAD(&q[i].ran) != 0 || AT_LOAD(&q[i].drops) != 1)
            CHECK_FAIL_("queued task %d: ran %d times, drop_arg %d times after shutdown (expected 0 and 1)\n", i,
                        q[i].ran, q[i].drops);
        if (hq[i]) {
            CHECK(tasks_join_handle_is_finished(hq[i]));
            void *o = NULL;
            CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hq[i], 0, &o));
            CHECK(o == NULL);
        }
    }
    /* idle poll task: cancelled */
    CHECK_EQ_INT(AT_LOAD(&idle.a.ran), 1);
    CHECK_EQ_INT(AT_LOAD(&idle.a.drops), 1);
    CHECK_STATUS(TASKS_CANCELLED, tasks_join_handle_join(hidle, 0, NULL));
    tasks_waker_wake(idle.w); /* does nothing */
    /* running: saw the cancellation, results stand */
    for (int i = 0; i < 2; i++) {
        CHECK(r[i].saw_cancel);
        CHECK_STATUS(TASKS_ERR_SHUTDOWN, r[i].spawn_status);
        CHECK_EQ_INT(r[i].child.drops, 0);
        CHECK_EQ_INT(r[i].child.ran, 0);
        CHECK(tasks_join_handle_is_finished(hr[i]));
    }
    void *o = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hr[0], 0, &o));
    CHECK(o != NULL && *(int *)o == 0);
    free(o);
    /* hr[1]'s output (FAILED payload) stays untaken until after free */

    /* spawning after shutdown: refused, nothing taken */
    arg_t late = {0, 0};
    int dummy;
    tasks_join_handle *hl = (tasks_join_handle *)(void *)&dummy;
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_spawn(rt, queued_fn, &late, &opts, &hl));
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_spawn_poll(rt, queued_poll, &late, &opts, &hl));
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_spawn_blocking(rt, queued_fn, &late, &opts, &hl));
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_spawn(rt, queued_fn, &late, &opts, NULL));
    CHECK_EQ_PTR(hl, &dummy);
    CHECK_EQ_INT(late.drops, 0);
    CHECK_EQ_INT(late.ran, 0);

    /* shutdown again: nothing left, OK */
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, 0));
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, TASKS_FOREVER));

    /* metrics: 2 + 1 + 2 + NQUEUED spawned; completed 2 (f1, f2) + 1 (r0); failed 1 (r1); cancelled idle +
       queued */
    tasks_metrics m = get_metrics(rt);
    CHECK_EQ_U64(m.spawned, 5 + NQUEUED);
    CHECK_EQ_U64(m.completed, 3);
    CHECK_EQ_U64(m.failed, 1);
    CHECK_EQ_U64(m.cancelled, 1 + NQUEUED);
    CHECK_EQ_U64(m.alive, 0);

    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);
    free_rt(rt);
    CHECK_EQ_INT(late.drops, 0);
    /* f2 and r[1] outputs are still held by their handles: dropped when the handles are freed */
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);
    tasks_join_handle_free(hf2);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 2);
    o = NULL;
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(hr[1], 0, NULL)); /* output dropped by the NULL join */
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 3);
    tasks_join_handle_free(hr[1]);
    tasks_join_handle_free(hr[0]);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 3);
    for (int i = 0; i < NQUEUED; i++)
        tasks_join_handle_free(hq[i]);
    tasks_join_handle_free(hidle);
    for (int i = 0; i < NQUEUED; i++)
        CHECK_EQ_INT(q[i].drops, 1);
    CHECK_EQ_INT(f1.drops + f2.drops, 2);
    CHECK_EQ_INT(idle.a.drops, 1);
    for (int i = 0; i < 2; i++)
        gate_destroy(&r[i].started);
    printf("shutdown: OK in %.1f ms with 2 running (saw cancel, results stand, spawn refused), %d queued + 1 idle "
           "cancelled with drop_arg once, late spawns refused, outputs dropped once\n",
           took_ms, NQUEUED);
    return 0;
}
