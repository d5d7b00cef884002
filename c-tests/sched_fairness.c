/* Scheduler fairness on ONE worker:
 * - two poll tasks that wake each other forever (each wake lands in the worker's LIFO slot)
 *   must not starve a third task sitting in the local queue;
 * - a task that keeps yielding and respawning work locally must not starve a task spawned from
 *   another thread (the injector is checked regularly). */
#include "check.h"

#include <stdlib.h>

static int stop_flag;
static uint64_t ping_polls;

static int32_t victim(void *arg, void **out);
static tasks_join_handle *victim_handle;

typedef struct pinger {
    tasks_waker *partner; /* set once both are spawned, guarded by `ready` */
    int ready;
} pinger;

static pinger pa, pb;
static tasks_waker *wa, *wb;
static int registered;

/* Each poll wakes the partner, then waits to be woken itself. */
static tasks_poll ping_poll(void *state, tasks_context *cx, void **output) {
    pinger *me = state;
    (void)output;
    AT_ADD(&ping_polls, 1);
    if (AT_LOAD(&stop_flag)) return TASKS_POLL_READY;
    if (!AT_LOAD(&me->ready)) {
        /* First poll: publish our waker, then wait for the partner's. */
        tasks_waker *w = tasks_context_waker(cx);
        CHECK(w != NULL);
        if (me == &pa) AT_STORE(&wa, w); else AT_STORE(&wb, w);
        AT_ADD(&registered, 1);
        AT_STORE(&me->ready, 1);
    }
    /* Mid ping-pong, spawn the victim from this worker: the next wake pushes it out of the
       LIFO slot into the local queue, behind the two tasks that keep waking each other. */
    if (me == &pa && AT_LOAD(&ping_polls) > 20 && !AT_LOAD(&victim_handle)) {
        tasks_join_handle *v;
        CHECK_STATUS(TASKS_OK, tasks_spawn(NULL, victim, NULL, NULL, &v));
        AT_STORE(&victim_handle, v);
    }
    tasks_waker *other = (me == &pa) ? AT_LOAD(&wb) : AT_LOAD(&wa);
    if (other) tasks_waker_wake_by_ref(other);
    return TASKS_POLL_PENDING;
}

static int victim_ran;
static int32_t victim(void *arg, void **out) {
    (void)arg; (void)out;
    AT_STORE(&victim_ran, 1);
    AT_STORE(&stop_flag, 1);
    /* Wake both so they observe the stop flag and finish. */
    tasks_waker_wake_by_ref(AT_LOAD(&wa));
    tasks_waker_wake_by_ref(AT_LOAD(&wb));
    return 0;
}

static int32_t starter(void *arg, void **out) {
    tasks_join_handle **hs = arg;
    (void)out;
    /* Spawned from the worker: the pingers go to its LIFO slot / local queue. */
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(NULL, ping_poll, &pa, NULL, &hs[0]));
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(NULL, ping_poll, &pb, NULL, &hs[1]));
    return 0;
}

static void lifo_ping_pong_does_not_starve_queue(void) {
    tasks_runtime *rt = make_rt(1);
    tasks_join_handle *hs[2] = {NULL, NULL};
    tasks_join_handle *st;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, starter, hs, NULL, &st));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(st, TASKS_FOREVER, NULL));
    WAIT_UNTIL(AT_LOAD(&registered) == 2);
    /* The pingers now wake each other endlessly on the single worker; one spawns the victim. */
    WAIT_UNTIL(AT_LOAD(&victim_handle) != NULL);
    tasks_join_handle *v = AT_LOAD(&victim_handle);
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(v, 30 * SEC_NS, NULL));
    CHECK(AT_LOAD(&victim_ran));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs[0], JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs[1], JOIN_LONG, NULL));
    CHECK(AT_LOAD(&ping_polls) > 4);
    tasks_waker_free(wa);
    tasks_waker_free(wb);
    tasks_join_handle_free(hs[0]);
    tasks_join_handle_free(hs[1]);
    tasks_join_handle_free(st);
    tasks_join_handle_free(v);
    free_rt(rt);
}

/* A yielder that never stops on its own: it only ends when the remote task has run. */
static int remote_ran;
static uint64_t hog_polls;
static tasks_poll hog(void *state, tasks_context *cx, void **output) {
    (void)state; (void)cx; (void)output;
    AT_ADD(&hog_polls, 1);
    return AT_LOAD(&remote_ran) ? TASKS_POLL_READY : TASKS_POLL_YIELD;
}

static int32_t local_spammer(void *arg, void **out) {
    (void)arg; (void)out;
    /* Detached local work: 50 tasks that each yield until the remote task ran. */
    for (int i = 0; i < 50; i++) CHECK_STATUS(TASKS_OK, tasks_spawn_poll(NULL, hog, NULL, NULL, NULL));
    return 0;
}

static int32_t remote_task(void *arg, void **out) {
    (void)arg; (void)out;
    AT_STORE(&remote_ran, 1);
    return 0;
}

static void local_work_does_not_starve_injector(void) {
    tasks_runtime *rt = make_rt(1);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, local_spammer, NULL, NULL, NULL));
    WAIT_UNTIL(AT_LOAD(&hog_polls) > 1000);
    tasks_join_handle *h;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, remote_task, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, 30 * SEC_NS, NULL));
    CHECK(AT_LOAD(&remote_ran));
    tasks_join_handle_free(h);
    free_rt(rt);
}

int main(void) {
    lifo_ping_pong_does_not_starve_queue();
    local_work_does_not_starve_injector();
    printf("sched_fairness: LIFO ping-pong (%llu polls) did not starve a queued task; "
           "local yielders (%llu polls) did not starve a remote spawn\n",
           (unsigned long long)AT_LOAD(&ping_polls), (unsigned long long)AT_LOAD(&hog_polls));
    return 0;
}
