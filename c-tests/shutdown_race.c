/* Shutdown racing with spawns from 4 threads (all three kinds, some detached): every spawn either
   succeeds (then its task ran exactly once or was cancelled, never both, and its drop_arg ran exactly
   once) or returns TASKS_ERR_SHUTDOWN (then its drop_arg is never called and its out-pointer is not
   written); after shutdown returns every spawn fails; metrics: spawned == successful spawns ==
   completed + cancelled. */
#include "check.h"

#define NTHREADS 4

typedef struct targ {
    int ran;   /* atomic */
    int drops; /* atomic */
} targ_t;

static void drop_arg(void *p) {
    targ_t *t = p;
    AT_ADD(&t->drops, 1);
}
static int32_t fn(void *p, void **out) {
    targ_t *t = p;
    (void)out;
    AT_ADD(&t->ran, 1);
    return 0;
}
static tasks_poll poll_fn(void *p, tasks_context *cx, void **out) {
    (void)cx;
    fn(p, out);
    return TASKS_POLL_READY;
}

typedef struct spawner {
    tasks_runtime *rt;
    int cap;
    targ_t *args;
    tasks_join_handle **h;
    int32_t *status;
    int count;          /* attempts made (the last one failed with SHUTDOWN) */
    long *total_ok;     /* shared, atomic */
    int *shutdown_done; /* shared, atomic */
    int late_ok;        /* spawns that succeeded after shutdown had returned (must stay 0) */
} spawner_t;

static void *spawn_thread(void *p) {
    spawner_t *s = p;
    tasks_spawn_opts opts = {NULL, drop_arg, NULL};
    int dummy;
    for (;;) {
        if (s->count == s->cap) { /* out of slots: wait for the shutdown, then check once more */
            while (!AT_LOAD(s->shutdown_done))
                sched_yield();
            targ_t extra = {0, 0};
            tasks_join_handle *eh = (tasks_join_handle *)(void *)&dummy;
            CHECK_STATUS(TASKS_ERR_SHUTDOWN, tasks_spawn(s->rt, fn, &extra, &opts, &eh));
            CHECK_EQ_PTR(eh, &dummy);
            CHECK_EQ_INT(extra.drops, 0);
            return NULL;
        }
        int i = s->count;
        int after = AT_LOAD(s->shutdown_done);
        tasks_join_handle **outp = (i % 3 == 2) ? NULL : &s->h[i];
        s->h[i] = (tasks_join_handle *)(void *)&dummy;
        int32_t st;
        if (i % 5 == 4)
            st = tasks_spawn_poll(s->rt, poll_fn, &s->args[i], &opts, outp);
        else if (i % 40 == 7)
            st = tasks_spawn_blocking(s->rt, fn, &s->args[i], &opts, outp);
        else
            st = tasks_spawn(s->rt, fn, &s->args[i], &opts, outp);
        s->status[i] = st;
        s->count++;
        if (st == TASKS_OK) {
            if (after)
                s->late_ok++;
            if (outp == NULL)
                s->h[i] = NULL;
            AT_ADD(s->total_ok, 1);
        } else {
            CHECK_STATUS(TASKS_ERR_SHUTDOWN, st);
            CHECK_EQ_PTR(s->h[i], &dummy);
            s->h[i] = NULL;
            return NULL;
        }
    }
}

int main(void) {
    const int target = (int)scale(20000);
    const int cap = target * 10 + 10;
    tasks_runtime *rt = make_rt(2);
    long total_ok = 0;
    int shutdown_done = 0;
    spawner_t sp[NTHREADS];
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        memset(&sp[t], 0, sizeof sp[t]);
        sp[t].rt = rt;
        sp[t].cap = cap;
        sp[t].args = calloc((size_t)cap, sizeof(targ_t));
        sp[t].h = calloc((size_t)cap, sizeof(tasks_join_handle *));
        sp[t].status = calloc((size_t)cap, sizeof(int32_t));
        CHECK(sp[t].args && sp[t].h && sp[t].status);
        sp[t].total_ok = &total_ok;
        sp[t].shutdown_done = &shutdown_done;
        CHECK(pthread_create(&th[t], NULL, spawn_thread, &sp[t]) == 0);
    }
    WAIT_UNTIL(AT_LOAD(&total_ok) >= target);
    CHECK_STATUS(TASKS_OK, tasks_runtime_shutdown(rt, TASKS_FOREVER));
    AT_STORE(&shutdown_done, 1);
    for (int t = 0; t < NTHREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);

    long ok = 0, ran = 0, cancelled = 0;
    for (int t = 0; t < NTHREADS; t++) {
        spawner_t *s = &sp[t];
        CHECK_EQ_INT(s->late_ok, 0);
        for (int i = 0; i < s->count; i++) {
            targ_t *a = &s->args[i];
            if (s->status[i] != TASKS_OK) {
                CHECK_EQ_INT(a->ran, 0);
                CHECK_EQ_INT(a->drops, 0);
                continue;
            }
            ok++;
            /* shutdown returned OK: every task has ended */
            if (a->drops != 1 || a->ran > 1)
                CHECK_FAIL_("thread %d spawn %d: ran %d, drop_arg %d\n", t, i, a->ran, a->drops);
            if (a->ran)
                ran++;
            else
                cancelled++;
            if (s->h[i]) {
                int32_t st = tasks_join_handle_join(s->h[i], 0, NULL);
                CHECK_STATUS(a->ran ? TASKS_OK : TASKS_CANCELLED, st);
            }
        }
    }
    CHECK_EQ_INT(ok, AT_LOAD(&total_ok));
    tasks_metrics m = get_metrics(rt);
    CHECK_EQ_U64(m.spawned, ok);
    CHECK_EQ_U64(m.completed, ran);
    CHECK_EQ_U64(m.cancelled, cancelled);
    CHECK_EQ_U64(m.alive, 0);
    free_rt(rt);
    for (int t = 0; t < NTHREADS; t++) {
        for (int i = 0; i < sp[t].count; i++)
            if (sp[t].status[i] == TASKS_OK)
                tasks_join_handle_free(sp[t].h[i]);
        free(sp[t].args);
        free(sp[t].h);
        free(sp[t].status);
    }
    printf("shutdown_race: %ld spawns succeeded around the shutdown (%ld ran, %ld cancelled), every drop_arg once, "
           "failed spawns took nothing\n",
           ok, ran, cancelled);
    return 0;
}
