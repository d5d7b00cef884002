/* Regression test for issue 8, defect 5: the queue of a substitute worker (the one that stands in for a
 * worker inside tasks_block_in_place) could not be stolen from (its deque was not among the stealers),
 * and local_queue_depth did not count it.
 *
 * Contract (API.md, Runtimes and tasks_metrics): "No runnable task waits while a worker sleeps: a task
 * spawned from a worker is stealable and wakes an idle worker"; local_queue_depth / injection_queue_depth
 * count the tasks queued now.
 *
 * 2 workers. W1 runs Bw, which blocks; task A on W0 calls block_in_place(fn) and fn blocks, so a substitute
 * worker S stands in for W0. S runs task T, which spawns 8 children (they queue on S) and then:
 * - reads the metrics while nobody can run anything: the queued children must be counted
 *   (local_queue_depth + injection_queue_depth >= 7; the newest may sit in a LIFO slot);
 * - releases Bw and waits, without a library join, for the children: W1, now idle, must steal them
 *   (at least the 7 that are not in a LIFO slot) within 5 s. Before the fix none ran until T returned. */
#include "check.h"

#define CHILDREN 8
#define WAIT_NS (5 * SEC_NS)

typedef struct ctx {
    tasks_runtime *rt;
    gate_t bw_started, bw_release, a_in_fn, t_done;
    int children_ran;
    uint64_t queued_seen; /* local + injection depth seen by T */
    int stolen_in_time;
    int spawn_status;
} ctx_t;

static int32_t bw_fn(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    gate_open(&c->bw_started);
    gate_wait_for(&c->bw_release, 10 * SEC_NS);
    return 0;
}

static void a_blocking(void *arg) {
    ctx_t *c = arg;
    gate_open(&c->a_in_fn);
    gate_wait_for(&c->t_done, 20 * SEC_NS);
}

static int32_t a_fn(void *arg, void **out) {
    (void)out;
    return tasks_block_in_place(a_blocking, arg) == TASKS_OK ? 0 : 1;
}

static int32_t child_fn(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    AT_ADD(&c->children_ran, 1);
    return 0;
}

static int32_t t_fn(void *arg, void **out) {
    ctx_t *c = arg;
    (void)out;
    c->spawn_status = TASKS_OK;
    for (int i = 0; i < CHILDREN; i++) {
        tasks_status st = tasks_spawn(NULL, child_fn, c, NULL, NULL);
        if (st != TASKS_OK)
            c->spawn_status = (int)st;
    }
    tasks_metrics m = get_metrics(c->rt);
    c->queued_seen = m.local_queue_depth + m.injection_queue_depth;
    gate_open(&c->bw_release); /* W1 becomes idle: it must find the children */
    uint64_t start = now_ns();
    while (AT_LOAD(&c->children_ran) < CHILDREN - 1 && now_ns() - start < WAIT_NS)
        sleep_ms(1);
    c->stolen_in_time = AT_LOAD(&c->children_ran) >= CHILDREN - 1;
    gate_open(&c->t_done);
    return 0;
}

int main(void) {
    watchdog_start(30, "regress_substitute_queue_stealable");
    ctx_t c;
    memset(&c, 0, sizeof c);
    gate_init(&c.bw_started);
    gate_init(&c.bw_release);
    gate_init(&c.a_in_fn);
    gate_init(&c.t_done);
    c.rt = make_rt(2);

    tasks_join_handle *hb = NULL, *ha = NULL, *ht = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(c.rt, bw_fn, &c, NULL, &hb));
    CHECK(gate_wait_for(&c.bw_started, 10 * SEC_NS));
    CHECK_STATUS(TASKS_OK, tasks_spawn(c.rt, a_fn, &c, NULL, &ha));
    CHECK(gate_wait_for(&c.a_in_fn, 10 * SEC_NS));
    /* Both workers are now blocked: only the substitute can run T. */
    CHECK_STATUS(TASKS_OK, tasks_spawn(c.rt, t_fn, &c, NULL, &ht));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(ht, JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(ha, JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, JOIN_LONG, NULL));
    WAIT_UNTIL(AT_LOAD(&c.children_ran) == CHILDREN);
    tasks_join_handle_free(ht);
    tasks_join_handle_free(ha);
    tasks_join_handle_free(hb);

    CHECK_STATUS(TASKS_OK, c.spawn_status);
    printf("queued children counted by the metrics: %llu of %d; stolen while T waited: %s\n",
           (unsigned long long)c.queued_seen, CHILDREN, c.stolen_in_time ? "yes" : "no");
    fflush(stdout);
    int bad = 0;
    if (c.queued_seen < CHILDREN - 1) {
        fprintf(stderr, "%s: local_queue_depth + injection_queue_depth was %llu with %d children queued on the "
                        "substitute worker (expected >= %d)\n",
                __FILE__, (unsigned long long)c.queued_seen, CHILDREN, CHILDREN - 1);
        bad = 1;
    }
    if (!c.stolen_in_time) {
        fprintf(stderr, "%s: the idle worker did not steal the tasks queued on the substitute worker within %.0f s\n",
                __FILE__, (double)WAIT_NS / 1e9);
        bad = 1;
    }
    CHECK(!bad);
    free_rt(c.rt);
    gate_destroy(&c.bw_started);
    gate_destroy(&c.bw_release);
    gate_destroy(&c.a_in_fn);
    gate_destroy(&c.t_done);
    printf("ok\n");
    return 0;
}
