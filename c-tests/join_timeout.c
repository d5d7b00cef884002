/* tasks_join_handle_join: timeout 0 on an unfinished task -> PENDING (output not written); a 20 ms
   timeout -> TIMED_OUT after >= 20 ms with the handle still valid; TASKS_FOREVER; a task finishing during
   a long timed join returns promptly; the output is handed out once (later joins: same status, NULL);
   join with output == NULL drops the output with drop_output (once, and never a NULL output); the same
   for FAILED; two threads joining one handle concurrently: both OK, exactly one gets the output. */
#include "check.h"

static int *new_int(int v) {
    int *p = malloc(sizeof *p);
    CHECK(p != NULL);
    *p = v;
    return p;
}

typedef struct gated {
    gate_t started, go;
    int value;
    int32_t ret;
} gated_t;

static int32_t gated_task(void *arg, void **out) {
    gated_t *g = arg;
    gate_open(&g->started);
    gate_wait(&g->go);
    *out = new_int(g->value);
    return g->ret;
}

static int32_t value_task(void *arg, void **out) {
    *out = new_int((int)(intptr_t)arg);
    return 0;
}

static int32_t fail_task(void *arg, void **out) {
    *out = new_int((int)(intptr_t)arg);
    return -1;
}

static int32_t null_task(void *arg, void **out) {
    (void)arg;
    (void)out;
    return 0;
}

static int32_t sleepy_task(void *arg, void **out) {
    sleep_ms((uint64_t)(intptr_t)arg);
    *out = new_int(5);
    return 0;
}

typedef struct joiner {
    tasks_join_handle *h;
    gate_t *go;
    int32_t status;
    void *out;
} joiner_t;

static void *join_thread(void *p) {
    joiner_t *j = p;
    gate_wait(j->go);
    j->status = tasks_join_handle_join(j->h, JOIN_LONG, &j->out);
    return NULL;
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    tasks_spawn_opts opts = {NULL, NULL, drop_output_free};
    tasks_join_handle *h = NULL;
    int sentinel;
    void *out;

    /* --- timeouts on an unfinished task --- */
    gated_t g;
    gate_init(&g.started);
    gate_init(&g.go);
    g.value = 11;
    g.ret = 0;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, gated_task, &g, &opts, &h));
    gate_wait(&g.started);
    out = &sentinel;
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, &out));
    CHECK_EQ_PTR(out, &sentinel); /* not written */
    uint64_t t0 = now_ns();
    CHECK_STATUS(TASKS_TIMED_OUT, tasks_join_handle_join(h, 20 * MS_NS, &out));
    uint64_t waited = now_ns() - t0;
    if (waited < 20 * MS_NS)
        CHECK_FAIL_("join with a 20 ms timeout returned TIMED_OUT after %llu ns\n", (unsigned long long)waited);
    CHECK_EQ_PTR(out, &sentinel);
    /* the handle stays valid */
    CHECK(!tasks_join_handle_is_finished(h));
    CHECK(tasks_join_handle_id(h) != 0);
    CHECK_STATUS(TASKS_TIMED_OUT, tasks_join_handle_join(h, 1 * MS_NS, &out));
    CHECK_STATUS(TASKS_PENDING, tasks_join_handle_join(h, 0, NULL)); /* output NULL, not finished */
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 0);
    gate_open(&g.go);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK(out != NULL && out != (void *)&sentinel);
    CHECK_EQ_INT(*(int *)out, 11);
    free(out);
    /* handed out once */
    out = &sentinel;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK(out == NULL);
    out = &sentinel;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 0, &out));
    CHECK(out == NULL);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 0, NULL));
    CHECK(tasks_join_handle_is_finished(h));
    tasks_join_handle_free(h);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 0); /* taken output is never dropped by the library */
    gate_destroy(&g.started);
    gate_destroy(&g.go);

    /* --- timeout 0 on a finished task returns its status --- */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, value_task, (void *)(intptr_t)3, &opts, &h));
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 0, &out));
    CHECK_EQ_INT(*(int *)out, 3);
    free(out);
    tasks_join_handle_free(h);

    /* --- a task finishing during a long timed join: returns promptly with OK --- */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, sleepy_task, (void *)(intptr_t)30, &opts, &h));
    t0 = now_ns();
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 300 * SEC_NS, &out));
    CHECK(now_ns() - t0 < 100 * SEC_NS);
    CHECK_EQ_INT(*(int *)out, 5);
    free(out);
    tasks_join_handle_free(h);

    /* --- join with output == NULL drops the output with drop_output, once --- */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, value_task, (void *)(intptr_t)4, &opts, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, NULL));
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);
    out = &sentinel;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK(out == NULL);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, NULL));
    tasks_join_handle_free(h);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);

    /* --- FAILED: payload handed out once; NULL output drops it --- */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, fail_task, (void *)(intptr_t)6, &opts, &h));
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_INT(*(int *)out, 6);
    free(out);
    out = &sentinel;
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK(out == NULL);
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, 0, NULL));
    tasks_join_handle_free(h);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 1);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, fail_task, (void *)(intptr_t)6, &opts, &h));
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, TASKS_FOREVER, NULL));
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 2);
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK(out == NULL);
    tasks_join_handle_free(h);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 2);

    /* --- a NULL output is never passed to drop_output --- */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, null_task, NULL, &opts, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, NULL));
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, null_task, NULL, &opts, &h));
    WAIT_UNTIL(tasks_join_handle_is_finished(h));
    tasks_join_handle_free(h);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 2);

    /* --- poll and blocking tasks: same join semantics --- */
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, value_task, (void *)(intptr_t)8, &opts, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_INT(*(int *)out, 8);
    free(out);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK(out == NULL);
    tasks_join_handle_free(h);

    /* --- two threads join one handle at once: both see OK, exactly one gets the output --- */
    const int rounds = (int)scale(200);
    for (int r = 0; r < rounds; r++) {
        gated_t gg;
        gate_init(&gg.started);
        gate_init(&gg.go);
        gg.value = r;
        gg.ret = (r % 2) ? 3 : 0;
        gate_t go = GATE_INIT;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, gated_task, &gg, &opts, &h));
        joiner_t j[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            j[i].h = h;
            j[i].go = &go;
            j[i].status = 99;
            j[i].out = NULL;
            CHECK(pthread_create(&th[i], NULL, join_thread, &j[i]) == 0);
        }
        gate_open(&go);
        gate_open(&gg.go);
        for (int i = 0; i < 2; i++)
            CHECK(pthread_join(th[i], NULL) == 0);
        int32_t expect = (r % 2) ? TASKS_FAILED : TASKS_OK;
        CHECK_STATUS(expect, j[0].status);
        CHECK_STATUS(expect, j[1].status);
        CHECK((j[0].out == NULL) != (j[1].out == NULL));
        int *got = j[0].out ? j[0].out : j[1].out;
        CHECK_EQ_INT(*got, r);
        free(got);
        tasks_join_handle_free(h);
        gate_destroy(&gg.started);
        gate_destroy(&gg.go);
        gate_destroy(&go);
    }
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 2);

    free_rt(rt);
    CHECK_EQ_INT(AT_LOAD(&g_outputs_freed), 2);
    printf("join_timeout: PENDING/TIMED_OUT(>=20ms, took %.1f ms)/FOREVER, output handed out once, NULL output "
           "drops via drop_output, %d concurrent double joins\n",
           (double)waited / 1e6, rounds);
    return 0;
}
