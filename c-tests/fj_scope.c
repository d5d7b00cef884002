/* tasks_scope_run / tasks_scope_spawn / tasks_scope_cancel (API.md, "Structured fork-join and data
 * parallelism").
 * - results: scope tasks write through pointers into the caller's frame; OK; scope tasks count in the
 *   metrics as tasks; drop_arg runs exactly once for every spawned task and every output is dropped with
 *   drop_output, all before tasks_scope_run returns; tasks spawn further tasks into the scope.
 * - failure: a failing task -> FAILED and cancels the rest (tasks not started never run, drop_arg runs);
 *   a failing body -> FAILED.
 * - tasks_scope_cancel: CANCELLED, running tasks see tasks_current_is_cancelled(), later spawns are accepted
 *   and their drop_arg runs at once.
 * - abort of the task calling tasks_scope_run: CANCELLED, its scope tasks see the cancellation.
 * - NULLs: TASKS_ERR_NULL; shut-down runtime: TASKS_ERR_SHUTDOWN with the body never called;
 *   tasks_scope_spawn on a runtime shut down meanwhile: TASKS_ERR_SHUTDOWN, arg not taken.
 * - from the main thread with rt NULL, from off-worker threads, inside tasks on 1 and 4 workers.
 * A watchdog turns a hang into a failure. */
#include "check.h"

typedef struct counts {
    long dropped_args, dropped_outputs, ran, saw_cancel, after_return;
    int returned; /* set once tasks_scope_run returned: a drop after that is a bug */
} counts_t;

static counts_t g;

static void reset(void) { memset(&g, 0, sizeof g); }

static void drop_arg(void *arg) {
    (void)arg;
    AT_ADD(&g.dropped_args, 1);
    if (AT_LOAD(&g.returned))
        AT_ADD(&g.after_return, 1);
}

static void drop_output(void *out) {
    CHECK(out != NULL);
    AT_ADD(&g.dropped_outputs, 1);
    if (AT_LOAD(&g.returned))
        AT_ADD(&g.after_return, 1);
}

static const tasks_spawn_opts k_opts = {"scope-task", drop_arg, drop_output};

/* ---- results ---- */
typedef struct sum_ctx {
    long *slots;
    int n;
    tasks_scope *scope;
} sum_ctx_t;

typedef struct slot_arg {
    sum_ctx_t *ctx;
    int i;
} slot_arg_t;

static int32_t fill_slot(void *arg, void **out) {
    slot_arg_t *a = arg;
    AT_ADD(&g.ran, 1);
    a->ctx->slots[a->i] = (long)a->i * 3;
    *out = (void *)1; /* an output nobody takes: dropped with drop_output */
    /* the even ones spawn a grandchild into the same scope */
    if (a->i % 2 == 0 && a->i + 1 < a->ctx->n) {
        slot_arg_t *next = &((slot_arg_t *)(a - a->i))[a->i + 1];
        CHECK_STATUS(TASKS_OK, tasks_scope_spawn(a->ctx->scope, fill_slot, next, &k_opts));
    }
    return 0;
}

typedef struct results {
    sum_ctx_t sum;
    slot_arg_t args[64];
    long slots[64];
} results_t;

static int32_t results_body(tasks_scope *scope, void *ctx) {
    results_t *r = ctx;
    r->sum.scope = scope;
    for (int i = 0; i < r->sum.n; i += 2)
        CHECK_STATUS(TASKS_OK, tasks_scope_spawn(scope, fill_slot, &r->args[i], &k_opts));
    return 0;
}

static void results(tasks_runtime *rt) {
    reset();
    results_t r;
    memset(&r, 0, sizeof r);
    r.sum.n = 64;
    r.sum.slots = r.slots;
    for (int i = 0; i < 64; i++) {
        r.args[i].ctx = &r.sum;
        r.args[i].i = i;
    }
    uint64_t spawned0 = rt ? get_metrics(rt).spawned : 0;
    CHECK_STATUS(TASKS_OK, tasks_scope_run(rt, results_body, &r));
    AT_STORE(&g.returned, 1);
    for (int i = 0; i < 64; i++)
        CHECK_EQ_INT(r.slots[i], i * 3);
    CHECK_EQ_INT(AT_LOAD(&g.ran), 64);
    CHECK_EQ_INT(AT_LOAD(&g.dropped_args), 64);
    CHECK_EQ_INT(AT_LOAD(&g.dropped_outputs), 64);
    if (rt)
        CHECK_EQ_U64(get_metrics(rt).spawned - spawned0, 64);
    sleep_ms(5);
    CHECK_EQ_INT(AT_LOAD(&g.after_return), 0);
}

/* ---- failure ---- */
typedef struct fail_ctx {
    gate_t failed;
    int fail_index;
} fail_ctx_t;

/* Inside a scope task: waits (up to 10 s) until the task sees its cancellation; counts it if it did. */
static void wait_for_cancel(void) {
    uint64_t t0 = now_ns();
    while (!tasks_current_is_cancelled() && now_ns() - t0 < 10 * SEC_NS)
        sleep_ns(200000);
    if (tasks_current_is_cancelled())
        AT_ADD(&g.saw_cancel, 1);
}

static fail_ctx_t g_fail;

static int32_t maybe_fail(void *arg, void **out) {
    intptr_t i = (intptr_t)arg;
    AT_ADD(&g.ran, 1);
    (void)out;
    if (i == g_fail.fail_index) {
        gate_open(&g_fail.failed);
        return 1;
    }
    /* wait (bounded) for the cancel the failure causes */
    wait_for_cancel();
    return 0;
}

static int32_t fail_body(tasks_scope *scope, void *ctx) {
    intptr_t n = (intptr_t)ctx;
    for (intptr_t i = 0; i < n; i++)
        CHECK_STATUS(TASKS_OK, tasks_scope_spawn(scope, maybe_fail, (void *)i, &k_opts));
    return 0;
}

static void failure(tasks_runtime *rt, int workers) {
    reset();
    gate_init(&g_fail.failed);
    g_fail.fail_index = 0;
    const intptr_t n = 200;
    CHECK_STATUS(TASKS_FAILED, tasks_scope_run(rt, fail_body, (void *)n));
    CHECK_EQ_INT(AT_LOAD(&g.dropped_args), n); /* every spawned task dropped exactly once */
    CHECK(AT_LOAD(&g.ran) >= 1);
    /* tasks running when the failure came saw the cancel; most never ran */
    CHECK_EQ_INT(AT_LOAD(&g.saw_cancel), AT_LOAD(&g.ran) - 1);
    CHECK(AT_LOAD(&g.ran) <= n);
    (void)workers;
    gate_destroy(&g_fail.failed);
}

static int32_t fill_slot_nop(void *arg, void **out) {
    (void)arg;
    (void)out;
    AT_ADD(&g.ran, 1);
    return 0;
}

static int32_t failing_body(tasks_scope *scope, void *ctx) {
    (void)ctx;
    CHECK_STATUS(TASKS_OK, tasks_scope_spawn(scope, fill_slot_nop, NULL, &k_opts));
    return 3;
}


/* ---- cancel ---- */
typedef struct cancel_ctx {
    gate_t running;
    int n_running;
} cancel_ctx_t;

static cancel_ctx_t g_cancel;

static int32_t wait_cancel(void *arg, void **out) {
    (void)arg;
    (void)out;
    AT_ADD(&g.ran, 1);
    gate_open(&g_cancel.running);
    wait_for_cancel();
    return 0;
}

static int32_t cancel_body(tasks_scope *scope, void *ctx) {
    (void)ctx;
    CHECK_STATUS(TASKS_OK, tasks_scope_spawn(scope, wait_cancel, NULL, &k_opts));
    gate_wait(&g_cancel.running);
    tasks_scope_cancel(scope);
    tasks_scope_cancel(scope); /* again: nothing */
    /* a spawn into the cancelled scope: accepted, drop_arg at once, never runs */
    long before = AT_LOAD(&g.dropped_args);
    CHECK_STATUS(TASKS_OK, tasks_scope_spawn(scope, fill_slot_nop, NULL, &k_opts));
    CHECK_EQ_INT(AT_LOAD(&g.dropped_args), before + 1);
    return 0;
}

static void cancel(tasks_runtime *rt) {
    reset();
    gate_init(&g_cancel.running);
    CHECK_STATUS(TASKS_CANCELLED, tasks_scope_run(rt, cancel_body, NULL));
    CHECK_EQ_INT(AT_LOAD(&g.ran), 1);
    CHECK_EQ_INT(AT_LOAD(&g.saw_cancel), 1);
    CHECK_EQ_INT(AT_LOAD(&g.dropped_args), 2);
    gate_destroy(&g_cancel.running);
}

/* ---- abort of the task calling tasks_scope_run ---- */
static int32_t abort_body(tasks_scope *scope, void *ctx) {
    (void)ctx;
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(TASKS_OK, tasks_scope_spawn(scope, wait_cancel, NULL, &k_opts));
    return 0;
}

static int32_t scope_task(void *arg, void **out) {
    (void)arg;
    *out = (void *)(intptr_t)tasks_scope_run(NULL, abort_body, NULL);
    return 0;
}

static void abort_caller(int workers) {
    tasks_runtime *rt = make_rt((size_t)workers);
    reset();
    gate_init(&g_cancel.running);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, scope_task, NULL, NULL, &h));
    gate_wait(&g_cancel.running);
    uint64_t t0 = now_ns();
    tasks_join_handle_abort(h);
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
    CHECK(now_ns() - t0 < 5 * SEC_NS);
    CHECK_STATUS(TASKS_CANCELLED, (int)(intptr_t)out);
    CHECK_EQ_INT(AT_LOAD(&g.dropped_args), 3);
    CHECK_EQ_INT(AT_LOAD(&g.saw_cancel), AT_LOAD(&g.ran));
    tasks_join_handle_free(h);
    free_rt(rt);
    gate_destroy(&g_cancel.running);
}

/* ---- NULLs and shutdown ---- */
static long g_body_calls;
static int32_t counting_body(tasks_scope *scope, void *ctx) {
    (void)scope;
    (void)ctx;
    AT_ADD(&g_body_calls, 1);
    return 0;
}

typedef struct sd {
    tasks_runtime *rt;
    int spawn_status;
} sd_t;

static void *shutdown_thread(void *arg) {
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown((tasks_runtime *)arg, TASKS_FOREVER));
    return NULL;
}

static int32_t spawn_after_shutdown_body(tasks_scope *scope, void *ctx) {
    sd_t *s = ctx;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, shutdown_thread, s->rt) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    long before = AT_LOAD(&g.dropped_args);
    s->spawn_status = (int)tasks_scope_spawn(scope, fill_slot_nop, NULL, &k_opts);
    CHECK_EQ_INT(AT_LOAD(&g.dropped_args), before); /* not taken */
    return 0;
}

static void nulls_and_shutdown(void) {
    CHECK_STATUS(TASKS_ERR_NULL, tasks_scope_run(NULL, NULL, NULL));
    CHECK_STATUS(TASKS_ERR_NULL, tasks_scope_spawn(NULL, fill_slot_nop, NULL, NULL));
    tasks_scope_cancel(NULL);
    reset();
    tasks_runtime *rt = make_rt(2);
    sd_t s = {rt, -1};
    CHECK_STATUS(TASKS_OK, tasks_scope_run(rt, spawn_after_shutdown_body, &s));
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, s.spawn_status);
    AT_STORE(&g_body_calls, 0);
    CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_scope_run(rt, counting_body, NULL));
    CHECK_EQ_INT(AT_LOAD(&g_body_calls), 0);
    free_rt(rt);
}

static int32_t null_fn_body(tasks_scope *scope, void *ctx) {
    (void)ctx;
    CHECK_STATUS(TASKS_ERR_NULL, tasks_scope_spawn(scope, NULL, NULL, &k_opts));
    return 0;
}

/* ---- inside tasks, off-worker threads ---- */
static int32_t scope_in_task(void *arg, void **out) {
    (void)out;
    results((tasks_runtime *)arg);
    return 0;
}

static void *thread_scope(void *arg) {
    (void)arg;
    results_t r;
    memset(&r, 0, sizeof r);
    r.sum.n = 64;
    r.sum.slots = r.slots;
    for (int i = 0; i < 64; i++) {
        r.args[i].ctx = &r.sum;
        r.args[i].i = i;
    }
    CHECK_STATUS(TASKS_OK, tasks_scope_run(NULL, results_body, &r));
    for (int i = 0; i < 64; i++)
        CHECK_EQ_INT(r.slots[i], i * 3);
    return NULL;
}

int main(void) {
    watchdog_start(240, "fj_scope");
    for (int w = 1; w <= 4; w += 3) {
        tasks_runtime *rt = make_rt((size_t)w);
        watchdog_label("results from main");
        results(rt);
        watchdog_label("results inside a task");
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, scope_in_task, NULL, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
        watchdog_label("failing task");
        failure(rt, w);
        watchdog_label("failing body");
        reset();
        CHECK_STATUS(TASKS_FAILED, tasks_scope_run(rt, failing_body, NULL));
        CHECK_EQ_INT(AT_LOAD(&g.dropped_args), 1);
        watchdog_label("cancel");
        cancel(rt);
        watchdog_label("NULL fn");
        CHECK_STATUS(TASKS_OK, tasks_scope_run(rt, null_fn_body, NULL));
        free_rt(rt);
        watchdog_label("abort of the caller");
        abort_caller(w);
    }
    watchdog_label("rt NULL from main");
    results(NULL);
    watchdog_label("off-worker threads");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, thread_scope, NULL) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    watchdog_label("NULLs and shutdown");
    nulls_and_shutdown();
    watchdog_stop();
    printf("fj_scope: results, drops, metrics, failure, cancel, abort of the caller, NULLs, shutdown, "
           "1/4 workers, main/task/threads\n");
    return 0;
}
