/* Scheduling fairness on a ONE-worker runtime (nothing may starve; only generous upper bounds):
   - two poll tasks waking each other in a ping-pong (the woken task is scheduled by the running one, the
     LIFO-slot case) do not starve a task spawned from outside (injector): it runs and stops them;
   - the same for a task spawned from inside (local queue) by one of the ping-pong tasks mid-game;
   - a task that YIELDs forever does not starve an outside spawn. */
#include "check.h"

typedef struct pp {
    int stop;              /* atomic */
    long pings;            /* atomic */
    tasks_waker *w[2];     /* atomic: each side's waker */
    int done[2];
} pp_t;

typedef struct side {
    pp_t *pp;
    int me;
    tasks_spawn_opts *spawn_inside; /* side 0 spawns the stopper from inside if set */
} side_t;

static int32_t stopper(void *p, void **out) {
    pp_t *pp = p;
    AT_STORE(&pp->stop, 1);
    *out = pp;
    return 0;
}

static tasks_join_handle *g_inside_h;

static tasks_poll ping(void *p, tasks_context *cx, void **out) {
    side_t *s = p;
    pp_t *pp = s->pp;
    if (AT_LOAD(&pp->w[s->me]) == NULL)
        AT_STORE(&pp->w[s->me], tasks_context_waker(cx));
    /* once the ping-pong is in full swing, spawn the stopper from inside (into the worker's local queue) */
    if (s->spawn_inside && g_inside_h == NULL && AT_LOAD(&pp->pings) >= 1000)
        CHECK_STATUS(TASKS_OK, tasks_spawn(NULL, stopper, pp, NULL, &g_inside_h));
    tasks_waker *other = AT_LOAD(&pp->w[1 - s->me]);
    if (AT_LOAD(&pp->stop)) {
        if (other)
            tasks_waker_wake_by_ref(other); /* let the other one see the stop too */
        *out = pp;
        return TASKS_POLL_READY;
    }
    AT_ADD(&pp->pings, 1);
    if (other)
        tasks_waker_wake_by_ref(other);
    else
        tasks_waker_wake_by_ref(AT_LOAD(&pp->w[s->me])); /* other side not started yet: keep going */
    return TASKS_POLL_PENDING;
}

static long ping_pong(int inside) {
    tasks_runtime *rt = make_rt(1);
    pp_t pp;
    memset(&pp, 0, sizeof pp);
    tasks_spawn_opts dummy = {NULL, NULL, NULL};
    side_t s0 = {&pp, 0, inside ? &dummy : NULL}, s1 = {&pp, 1, NULL};
    tasks_join_handle *h0 = NULL, *h1 = NULL, *hs = NULL;
    g_inside_h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, ping, &s0, NULL, &h0));
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, ping, &s1, NULL, &h1));
    if (!inside) {
        WAIT_UNTIL(AT_LOAD(&pp.pings) > 1000); /* the ping-pong is going on */
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, stopper, &pp, NULL, &hs));
        int32_t st = tasks_join_handle_join(hs, JOIN_LONG, NULL);
        if (st != TASKS_OK)
            CHECK_FAIL_("outside spawn starved by a ping-pong: join -> %s after %ld pings\n", tasks_status_str(st),
                        AT_LOAD(&pp.pings));
        tasks_join_handle_free(hs);
    }
    int32_t st0 = tasks_join_handle_join(h0, JOIN_LONG, NULL);
    int32_t st1 = tasks_join_handle_join(h1, JOIN_LONG, NULL);
    if (st0 != TASKS_OK || st1 != TASKS_OK)
        CHECK_FAIL_("%s spawn starved by a ping-pong: %s / %s after %ld pings\n", inside ? "inside" : "outside",
                    tasks_status_str(st0), tasks_status_str(st1), AT_LOAD(&pp.pings));
    if (inside) {
        CHECK(g_inside_h != NULL);
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(g_inside_h, JOIN_LONG, NULL));
        tasks_join_handle_free(g_inside_h);
    }
    tasks_join_handle_free(h0);
    tasks_join_handle_free(h1);
    tasks_waker_free(pp.w[0]);
    tasks_waker_free(pp.w[1]);
    free_rt(rt);
    return pp.pings;
}

static tasks_poll yield_forever(void *p, tasks_context *cx, void **out) {
    pp_t *pp = p;
    (void)cx;
    if (AT_LOAD(&pp->stop)) {
        *out = pp;
        return TASKS_POLL_READY;
    }
    AT_ADD(&pp->pings, 1);
    return TASKS_POLL_YIELD;
}

int main(void) {
    long a = ping_pong(0);
    long b = ping_pong(1);

    tasks_runtime *rt = make_rt(1);
    pp_t pp;
    memset(&pp, 0, sizeof pp);
    tasks_join_handle *hy = NULL, *hs = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, yield_forever, &pp, NULL, &hy));
    WAIT_UNTIL(AT_LOAD(&pp.pings) > 1000);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, stopper, &pp, NULL, &hs));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs, JOIN_LONG, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hy, JOIN_LONG, NULL));
    tasks_join_handle_free(hs);
    tasks_join_handle_free(hy);
    free_rt(rt);
    printf("fairness: outside spawn ran during a ping-pong (%ld pings), inside spawn ran during a ping-pong (%ld "
           "pings), outside spawn ran beside a task yielding forever (%ld yields)\n",
           a, b, pp.pings);
    return 0;
}
