/* Regression test: a task that is the only task left in its own join set and waits for the set's
 * next task (tasks_join_set_join_next with a timeout) waited for itself: forever with TASKS_FOREVER.
 * Found by the C++ binding (a JoinSet destroyed inside one of its own tasks).
 *
 * Contract (API.md, Runtimes): "Every deadlock the library can see is refused with
 * TASKS_ERR_WOULD_DEADLOCK instead of hanging" -- here at once, with nothing taken; a 0 timeout
 * still answers TASKS_PENDING.
 *
 * The main thread spawns task T into set S and stays away from S (a join set is used from one thread
 * at a time) until T has made its calls: join_next(S, FOREVER) and join_next(S, 10 s) must return
 * TASKS_ERR_WOULD_DEADLOCK at once, join_next(S, 0) TASKS_PENDING. Then main joins T through S. */
#include "check.h"

typedef struct probe {
    tasks_join_set *set;
    gate_t go; /* opened once the spawn into the set has returned: the set is T's from then on */
    gate_t done;
    int forever_status, timed_status, zero_status;
    uint64_t elapsed_ns;
} probe_t;

static int32_t self_joiner(void *arg, void **out) {
    probe_t *p = arg;
    uint64_t id = 0, t0;
    void *got = NULL;
    (void)out;
    gate_wait(&p->go);
    t0 = now_ns();
    p->forever_status = (int)tasks_join_set_join_next(p->set, TASKS_FOREVER, &got, &id);
    p->timed_status = (int)tasks_join_set_join_next(p->set, 10 * SEC_NS, &got, &id);
    p->zero_status = (int)tasks_join_set_join_next(p->set, 0, &got, &id);
    p->elapsed_ns = now_ns() - t0;
    gate_open(&p->done);
    return 0;
}

static void run(size_t workers) {
    tasks_runtime *rt = make_rt(workers);
    probe_t p;
    uint64_t id = 0;
    memset(&p, 0, sizeof p);
    gate_init(&p.go);
    gate_init(&p.done);
    CHECK_STATUS(TASKS_OK, tasks_join_set_new(rt, &p.set));
    CHECK_STATUS(TASKS_OK, tasks_join_set_spawn(p.set, self_joiner, &p, NULL, NULL));
    gate_open(&p.go);
    watchdog_start(20, "a task joining its own join set");
    gate_wait(&p.done);
    watchdog_stop();
    CHECK_STATUS(TASKS_ERR_WOULD_DEADLOCK, p.forever_status);
    CHECK_STATUS(TASKS_ERR_WOULD_DEADLOCK, p.timed_status);
    CHECK_STATUS(TASKS_PENDING, p.zero_status);
    CHECK(p.elapsed_ns < 5 * SEC_NS); /* a wait for the timed call would take 10 s */
    CHECK_STATUS(TASKS_OK, tasks_join_set_join_next(p.set, TASKS_FOREVER, NULL, &id));
    CHECK_STATUS(TASKS_EMPTY, tasks_join_set_join_next(p.set, TASKS_FOREVER, NULL, &id));
    tasks_join_set_free(p.set);
    CHECK_STATUS(TASKS_OK, tasks_runtime_free(rt));
    gate_destroy(&p.go);
    gate_destroy(&p.done);
}

int main(void) {
    run(1);
    run(2);
    printf("regress_join_set_self_join: the last task of a set joining the set -> WOULD_DEADLOCK\n");
    return 0;
}
