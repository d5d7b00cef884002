/* Cost of a join-set spawn + join_next compared with a plain spawn + join (a measurement: it prints ns
   per task and asserts only correctness). scale(200,000) trivial tasks, three rounds each, on a runtime
   with the default number of workers and on a 1-worker runtime:
   - plain: tasks_spawn with a handle for every task, then join + free every handle in spawn order;
   - set:   tasks_join_set_spawn every task, then join_next until TASKS_EMPTY.
   Every task's output is checked (sum), every status is TASKS_OK. */
#include "check.h"

static int32_t trivial(void *arg, void **out) {
    *out = arg;
    return 0;
}

static double plain_round(tasks_runtime *rt, size_t n, tasks_join_handle **h) {
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, trivial, (void *)(uintptr_t)(i + 1), NULL, &h[i]));
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        void *out = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h[i], JOIN_LONG, &out));
        sum += (uint64_t)(uintptr_t)out;
        tasks_join_handle_free(h[i]);
    }
    uint64_t t1 = now_ns();
    CHECK_EQ_U64(sum, (uint64_t)n * (n + 1) / 2);
    return (double)(t1 - t0) / (double)n;
}

static double set_round(tasks_runtime *rt, size_t n) {
    uint64_t t0 = now_ns();
    tasks_join_set *s = NULL;
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &s));
    for (size_t i = 0; i < n; i++)
        CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(s, trivial, (void *)(uintptr_t)(i + 1), NULL, NULL));
    uint64_t sum = 0;
    size_t got = 0;
    for (;;) {
        void *out = NULL;
        tasks_status st = tasks_join_set_join_next(s, JOIN_LONG, &out, NULL);
        if (st == TASKS_EMPTY)
            break;
        CHECK_STATUS(TASKS_OK, st);
        sum += (uint64_t)(uintptr_t)out;
        got++;
    }
    tasks_join_set_free(s);
    uint64_t t1 = now_ns();
    CHECK_EQ_U64(got, n);
    CHECK_EQ_U64(sum, (uint64_t)n * (n + 1) / 2);
    return (double)(t1 - t0) / (double)n;
}

static void measure(tasks_runtime *rt, const char *label) {
    const size_t n = (size_t)scale(200000);
    tasks_join_handle **h = calloc(n, sizeof *h);
    CHECK(h != NULL);
    double best_plain = 1e30, best_set = 1e30;
    for (int round = 0; round < 3; round++) {
        double p = plain_round(rt, n, h);
        double s = set_round(rt, n);
        if (p < best_plain)
            best_plain = p;
        if (s < best_set)
            best_set = s;
        printf("%s round %d: plain spawn+join %.0f ns/task, join-set spawn+join_next %.0f ns/task\n", label, round,
               p, s);
    }
    printf("%s best of 3 (%zu tasks): plain %.0f ns/task, join set %.0f ns/task (%.2fx)\n", label, n, best_plain,
           best_set, best_set / best_plain);
    free(h);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines survive an abort() */
    tasks_runtime *rt = NULL;
    CHECK_STATUS(TASKS_OK, tasks_runtime_new(&rt));
    tasks_metrics m = get_metrics(rt);
    char label[64];
    snprintf(label, sizeof label, "%zu workers", m.workers);
    measure(rt, label);
    free_rt(rt);
    rt = make_rt(1);
    measure(rt, "1 worker ");
    free_rt(rt);
    printf("svc_join_set_cost: OK\n");
    return 0;
}
