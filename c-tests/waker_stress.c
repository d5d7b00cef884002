/* No wake is ever lost: 4 plain pthreads each do "event++; wake_by_ref" (or wake a fresh clone) many times
   on a poll task that returns PENDING until it has seen every event. If a wake were lost, the task would
   never see the last event and the join would time out. Also: polls <= wakes + 1 (no poll without a wake),
   and several such tasks run at once on a 2-worker runtime. */
#include "check.h"

#define NTHREADS 4

typedef struct st {
    long events; /* atomic */
    long target;
    long polls;  /* atomic */
    tasks_waker *w; /* atomic: published by the first poll */
} st_t;

static tasks_poll stress_poll(void *state, tasks_context *cx, void **out) {
    st_t *s = state;
    AT_ADD(&s->polls, 1);
    if (AT_LOAD(&s->w) == NULL)
        AT_STORE(&s->w, tasks_context_waker(cx));
    if (AT_LOAD(&s->events) == s->target) {
        *out = s;
        return TASKS_POLL_READY;
    }
    return TASKS_POLL_PENDING;
}

typedef struct th_arg {
    st_t *s;
    long n;
    int consume;
} th_arg_t;

static void *waker_thread(void *p) {
    th_arg_t *a = p;
    tasks_waker *w;
    while ((w = AT_LOAD(&a->s->w)) == NULL)
        sched_yield();
    for (long i = 0; i < a->n; i++) {
        AT_ADD(&a->s->events, 1);
        if (a->consume) {
            tasks_waker *c = tasks_waker_clone(w);
            CHECK(c != NULL);
            tasks_waker_wake(c);
        } else {
            tasks_waker_wake_by_ref(w);
        }
        if ((i & 63) == 0)
            sched_yield();
    }
    return NULL;
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    const long per_thread = (long)scale(20000);
    enum { NTASKS = 3 };
    st_t s[NTASKS];
    tasks_join_handle *h[NTASKS];
    th_arg_t args[NTASKS][NTHREADS];
    pthread_t th[NTASKS][NTHREADS];
    memset(s, 0, sizeof s);
    for (int t = 0; t < NTASKS; t++) {
        s[t].target = per_thread * NTHREADS;
        CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, stress_poll, &s[t], NULL, &h[t]));
    }
    for (int t = 0; t < NTASKS; t++)
        for (int i = 0; i < NTHREADS; i++) {
            args[t][i].s = &s[t];
            args[t][i].n = per_thread;
            args[t][i].consume = (i % 2);
            CHECK(pthread_create(&th[t][i], NULL, waker_thread, &args[t][i]) == 0);
        }
    long total_polls = 0;
    for (int t = 0; t < NTASKS; t++) {
        void *out = NULL;
        int32_t st = tasks_join_handle_join(h[t], JOIN_LONG, &out);
        if (st != TASKS_OK)
            CHECK_FAIL_("task %d: join -> %s; events %ld/%ld, polls %ld (a wake was lost?)\n", t,
                        tasks_status_str(st), AT_LOAD(&s[t].events), s[t].target, AT_LOAD(&s[t].polls));
        CHECK_EQ_PTR(out, &s[t]);
        for (int i = 0; i < NTHREADS; i++)
            CHECK(pthread_join(th[t][i], NULL) == 0);
        CHECK_EQ_INT(AT_LOAD(&s[t].events), s[t].target);
        CHECK(AT_LOAD(&s[t].polls) >= 2);
        CHECK(AT_LOAD(&s[t].polls) <= s[t].target + 1);
        total_polls += AT_LOAD(&s[t].polls);
        tasks_waker_free(s[t].w);
        tasks_join_handle_free(h[t]);
    }
    free_rt(rt);
    printf("waker_stress: %d tasks x %d threads x %ld wakes, no wake lost, %ld polls (<= wakes + 1)\n", NTASKS,
           NTHREADS, per_thread, total_polls);
    return 0;
}
