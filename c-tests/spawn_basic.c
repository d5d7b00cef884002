/* tasks_spawn / tasks_spawn_poll / tasks_spawn_blocking basics: output and status (0 -> OK with output,
   non-zero -> FAILED with the failure payload), opts NULL, the name (copied at spawn, visible through
   tasks_current_name, NULL when unnamed), tasks_current_id == tasks_join_handle_id, ids unique and
   non-zero, tasks_current_runtime inside == rt, current-task functions outside a task. */
#include "check.h"

#define NTASKS 200

typedef struct info {
    uint64_t id;
    tasks_runtime *rt;
    char name[64];
    int has_name;
    int cancelled;
} info_t;

static int32_t record(void *arg, void **out) {
    info_t *inf = arg;
    inf->id = tasks_current_id();
    inf->rt = tasks_current_runtime();
    const char *n = tasks_current_name();
    inf->has_name = n != NULL;
    if (n)
        snprintf(inf->name, sizeof inf->name, "%s", n);
    inf->cancelled = tasks_current_is_cancelled();
    *out = inf;
    return 0;
}

static tasks_poll record_poll(void *state, tasks_context *cx, void **out) {
    info_t *inf = state;
    CHECK_EQ_U64(tasks_context_id(cx), tasks_current_id());
    return record(inf, out) == 0 ? TASKS_POLL_READY : TASKS_POLL_FAILED;
}

static int32_t fail_with(void *arg, void **out) {
    *out = arg;
    return 7;
}

static int32_t ok_null(void *arg, void **out) {
    (void)arg;
    (void)out; /* leaves *out NULL */
    return 0;
}

static long g_seen_null_out;
static int32_t check_out_starts_null(void *arg, void **out) {
    (void)arg;
    if (*out == NULL)
        AT_ADD(&g_seen_null_out, 1);
    *out = (void *)(uintptr_t)0x1234;
    return 0;
}

static tasks_poll poll_failed(void *state, tasks_context *cx, void **out) {
    (void)cx;
    *out = state;
    return TASKS_POLL_FAILED;
}

static gate_t g_gate = GATE_INIT;
static gate_t g_started = GATE_INIT;
static int32_t blocker(void *arg, void **out) {
    (void)arg;
    (void)out;
    gate_open(&g_started);
    gate_wait(&g_gate);
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    void *out = NULL;
    tasks_join_handle *h = NULL;

    /* outside any task */
    CHECK_EQ_U64(tasks_current_id(), 0);
    CHECK(tasks_current_name() == NULL);
    CHECK(tasks_current_runtime() == NULL);
    CHECK(!tasks_current_is_cancelled());

    /* named run-to-completion task, opts with name only */
    info_t a;
    memset(&a, 0, sizeof a);
    tasks_spawn_opts named = {"alpha-task", NULL, NULL};
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, record, &a, &named, &h));
    CHECK(h != NULL);
    uint64_t hid = tasks_join_handle_id(h);
    CHECK(hid != 0);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_PTR(out, &a);
    CHECK_EQ_U64(a.id, hid);
    CHECK_EQ_U64(tasks_join_handle_id(h), hid); /* stable after completion */
    CHECK_EQ_PTR(a.rt, rt);
    CHECK(a.has_name);
    CHECK(strcmp(a.name, "alpha-task") == 0);
    CHECK(!a.cancelled);
    CHECK(tasks_join_handle_is_finished(h));
    tasks_join_handle_free(h);

    /* unnamed (opts NULL) */
    memset(&a, 0, sizeof a);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, record, &a, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_PTR(out, &a);
    CHECK(!a.has_name);
    CHECK_EQ_U64(a.id, tasks_join_handle_id(h));
    tasks_join_handle_free(h);

    /* opts with everything NULL */
    tasks_spawn_opts empty = {NULL, NULL, NULL};
    memset(&a, 0, sizeof a);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, record, &a, &empty, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_PTR(out, &a);
    CHECK(!a.has_name);
    tasks_join_handle_free(h);

    /* the name is copied at spawn: overwrite the buffer before the task runs (the worker is blocked) */
    {
        tasks_runtime *rt1 = make_rt(1);
        tasks_join_handle *hb = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt1, blocker, NULL, NULL, &hb));
        gate_wait(&g_started);
        char buf[32];
        strcpy(buf, "copied-name");
        tasks_spawn_opts o = {buf, NULL, NULL};
        memset(&a, 0, sizeof a);
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt1, record, &a, &o, &h));
        memset(buf, 'X', sizeof buf - 1);
        buf[sizeof buf - 1] = '\0';
        gate_open(&g_gate);
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &out));
        CHECK(a.has_name);
        CHECK(strcmp(a.name, "copied-name") == 0);
        CHECK_EQ_PTR(a.rt, rt1);
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
        tasks_join_handle_free(hb);
        free_rt(rt1);
    }

    /* failure: non-zero return -> FAILED, output = failure payload */
    int payload = 99;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, fail_with, &payload, NULL, &h));
    out = NULL;
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_PTR(out, &payload);
    tasks_join_handle_free(h);

    /* success with a NULL output */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, ok_null, NULL, NULL, &h));
    out = &payload;
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK(out == NULL);
    tasks_join_handle_free(h);

    /* *output starts as NULL */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, check_out_starts_null, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_PTR(out, (void *)(uintptr_t)0x1234);
    CHECK_EQ_INT(AT_LOAD(&g_seen_null_out), 1);
    tasks_join_handle_free(h);

    /* poll task: name, id, runtime, READY and FAILED */
    memset(&a, 0, sizeof a);
    tasks_spawn_opts pn = {"poll-named", NULL, NULL};
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, record_poll, &a, &pn, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_PTR(out, &a);
    CHECK_EQ_U64(a.id, tasks_join_handle_id(h));
    CHECK(a.id != 0);
    CHECK_EQ_PTR(a.rt, rt);
    CHECK(a.has_name && strcmp(a.name, "poll-named") == 0);
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, poll_failed, &payload, NULL, &h));
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_PTR(out, &payload);
    tasks_join_handle_free(h);

    /* blocking task: name, id, runtime, FAILED */
    memset(&a, 0, sizeof a);
    tasks_spawn_opts bn = {"blocking-named", NULL, NULL};
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, record, &a, &bn, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_PTR(out, &a);
    CHECK_EQ_U64(a.id, tasks_join_handle_id(h));
    CHECK_EQ_PTR(a.rt, rt);
    CHECK(a.has_name && strcmp(a.name, "blocking-named") == 0);
    tasks_join_handle_free(h);
    CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, fail_with, &payload, NULL, &h));
    CHECK_STATUS(TASKS_FAILED, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    CHECK_EQ_PTR(out, &payload);
    tasks_join_handle_free(h);

    /* ids: unique and non-zero over many tasks of all three kinds, equal to what the task saw */
    static info_t infos[NTASKS];
    tasks_join_handle *hs[NTASKS];
    uint64_t ids[NTASKS];
    memset(infos, 0, sizeof infos);
    for (int i = 0; i < NTASKS; i++) {
        if (i % 3 == 0)
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, record, &infos[i], NULL, &hs[i]));
        else if (i % 3 == 1)
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, record_poll, &infos[i], NULL, &hs[i]));
        else
            CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, record, &infos[i], NULL, &hs[i]));
        ids[i] = tasks_join_handle_id(hs[i]);
        CHECK(ids[i] != 0);
    }
    for (int i = 0; i < NTASKS; i++) {
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs[i], TASKS_FOREVER, &out));
        CHECK_EQ_PTR(out, &infos[i]);
        CHECK_EQ_U64(infos[i].id, ids[i]);
        CHECK_EQ_PTR(infos[i].rt, rt);
        tasks_join_handle_free(hs[i]);
    }
    qsort(ids, NTASKS, sizeof ids[0], cmp_u64);
    for (int i = 1; i < NTASKS; i++)
        CHECK(ids[i] != ids[i - 1]);

    /* ids are unique across runtimes too (process-wide) */
    {
        tasks_runtime *rt2 = make_rt(1);
        tasks_join_handle *h2 = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt2, ok_null, NULL, NULL, &h2));
        uint64_t id2 = tasks_join_handle_id(h2);
        CHECK(bsearch(&id2, ids, NTASKS, sizeof ids[0], cmp_u64) == NULL);
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h2, TASKS_FOREVER, NULL));
        tasks_join_handle_free(h2);
        free_rt(rt2);
    }

    /* still outside */
    CHECK_EQ_U64(tasks_current_id(), 0);
    CHECK(tasks_current_runtime() == NULL);
    free_rt(rt);
    printf("spawn_basic: OK/FAILED outputs for all three kinds, names (copied), %d unique ids == current id, "
           "current runtime\n",
           NTASKS);
    return 0;
}
