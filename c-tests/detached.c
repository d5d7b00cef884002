/* Detached tasks (out == NULL) of all three kinds: they all run (counted), each drop_arg runs exactly
   once (per task, not just in total), each non-NULL output is dropped with drop_output exactly once,
   drop_output is never called for a NULL output; a handle freed while its task is still running
   detaches it (it keeps running, its output is dropped); a handle freed after the task finished drops
   the untaken output. */
#include "check.h"

typedef struct targ {
    int index;
    int runs;  /* atomic */
    int drops; /* atomic */
} targ_t;

static long g_runs, g_drop_out, g_drop_out_null;
static long g_out_sum;

static void drop_arg(void *p) {
    targ_t *t = p;
    AT_ADD(&t->drops, 1);
}

static void drop_output(void *p) {
    if (p == NULL) {
        AT_ADD(&g_drop_out_null, 1);
        return;
    }
    AT_ADD(&g_out_sum, *(int *)p);
    AT_ADD(&g_drop_out, 1);
    free(p);
}

static int32_t work(void *arg, void **out) {
    targ_t *t = arg;
    AT_ADD(&t->runs, 1);
    AT_ADD(&g_runs, 1);
    if (t->index % 5 == 0)
        return 0; /* NULL output: drop_output must not be called for it */
    int *o = malloc(sizeof *o);
    CHECK(o != NULL);
    *o = t->index;
    *out = o;
    return (t->index % 7 == 0) ? 1 : 0; /* some failures: their payload is an output too */
}

static tasks_poll work_poll(void *state, tasks_context *cx, void **out) {
    (void)cx;
    return work(state, out) == 0 ? TASKS_POLL_READY : TASKS_POLL_FAILED;
}

static gate_t g_gate = GATE_INIT;
static gate_t g_started = GATE_INIT;
static int32_t slow(void *arg, void **out) {
    gate_open(&g_started);
    gate_wait(&g_gate);
    return work(arg, out);
}

int main(void) {
    const int n = (int)scale(30000);
    tasks_runtime *rt = make_rt(2);
    targ_t *args = calloc((size_t)n + 2, sizeof *args);
    CHECK(args != NULL);
    tasks_spawn_opts opts = {"detached", drop_arg, drop_output};
    long expect_outputs = 0, expect_sum = 0;
    for (int i = 0; i < n; i++) {
        args[i].index = i + 1;
        if ((i + 1) % 5 != 0) {
            expect_outputs++;
            expect_sum += i + 1;
        }
        int kind = i % 3;
        if (kind == 0)
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, work, &args[i], &opts, NULL));
        else if (kind == 1)
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, work_poll, &args[i], &opts, NULL));
        else if (i % 30 == 2) /* fewer blocking ones: they are slower */
            CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, work, &args[i], &opts, NULL));
        else
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, work, &args[i], &opts, NULL));
    }
    /* they run although nobody holds a handle */
    WAIT_UNTIL(AT_LOAD(&g_runs) == n);

    /* a handle freed while the task runs: detaches it, its output is dropped when it finishes */
    targ_t *ts = &args[n];
    ts->index = 1000001;
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, slow, ts, &opts, &h));
    gate_wait(&g_started);
    tasks_join_handle_free(h);
    gate_open(&g_gate);
    WAIT_UNTIL(AT_LOAD(&ts->runs) == 1);
    expect_outputs++;
    expect_sum += ts->index;

    /* a handle freed after the task finished: the untaken output is dropped */
    targ_t *tf = &args[n + 1];
    tf->index = 2000001;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, work, tf, &opts, &h));
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    tasks_join_handle_free(h);
    expect_outputs++;
    expect_sum += tf->index;

    free_rt(rt);
    /* after free: every drop_arg ran exactly once, every output dropped exactly once */
    CHECK_EQ_INT(AT_LOAD(&g_runs), n + 2);
    for (int i = 0; i < n + 2; i++) {
        if (args[i].runs != 1 || args[i].drops != 1)
            CHECK_FAIL_("task %d: ran %d times, drop_arg called %d times (expected 1 and 1)\n", args[i].index,
                        args[i].runs, args[i].drops);
    }
    CHECK_EQ_INT(AT_LOAD(&g_drop_out), expect_outputs);
    CHECK_EQ_INT(AT_LOAD(&g_out_sum), expect_sum);
    CHECK_EQ_INT(AT_LOAD(&g_drop_out_null), 0);
    free(args);
    printf("detached: %d detached tasks (3 kinds) ran once each, %d drop_arg once each, %ld outputs dropped once, "
           "NULL outputs never dropped\n",
           n + 2, n + 2, expect_outputs);
    return 0;
}
