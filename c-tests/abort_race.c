/* Abort racing with completion, and handle free racing with completion (thousands of tasks of the three
   kinds, aborted from another thread in a scrambled order while they run, queue or finish):
   - every join returns OK (with the task's own output) or CANCELLED, nothing else;
   - a run-to-completion or blocking task is CANCELLED only if its function never ran (a started one is
     never cancelled: its result stands), and when it ran, it ran exactly once;
   - every drop_arg runs exactly once; every output is freed exactly once, by the joiner or by drop_output
     (for handles freed without joining, possibly while the task is finishing). */
#include "check.h"

typedef struct targ {
    int index;
    int kind;  /* 0 run-to-completion, 1 poll (yields index % 3 times), 2 blocking */
    int ran;   /* atomic: calls of fn / polls */
    int drops; /* atomic */
} targ_t;

static long g_outputs_made;

static void drop_arg(void *p) {
    targ_t *t = p;
    AT_ADD(&t->drops, 1);
}

static void *make_output(int v) {
    int *o = malloc(sizeof *o);
    CHECK(o != NULL);
    *o = v;
    AT_ADD(&g_outputs_made, 1);
    return o;
}

static void some_work(void) {
    volatile unsigned x = 1;
    for (int i = 0; i < 2000; i++)
        x = x * 1664525u + 1013904223u;
}

static int32_t fn(void *p, void **out) {
    targ_t *t = p;
    AT_ADD(&t->ran, 1);
    some_work();
    *out = make_output(t->index);
    return 0;
}

static tasks_poll poll_fn(void *p, tasks_context *cx, void **out) {
    targ_t *t = p;
    (void)cx;
    int polls = AT_ADD(&t->ran, 1);
    some_work();
    if (polls <= t->index % 3)
        return TASKS_POLL_YIELD;
    *out = make_output(t->index);
    return TASKS_POLL_READY;
}

typedef struct aborter {
    tasks_abort_handle **ah;
    int n;
    gate_t go;
} aborter_t;

static void *abort_thread(void *p) {
    aborter_t *a = p;
    gate_wait(&a->go);
    /* a scrambled order: stride through the array with a step coprime to n */
    int step = 7919;
    while (a->n % step == 0)
        step++;
    for (int k = 0; k < a->n; k++) {
        int i = (int)(((long)k * step) % a->n);
        tasks_abort_handle *x = AT_LOAD(&a->ah[i]); /* NULL (ignored) if not spawned yet */
        tasks_abort_handle_abort(x);
        if (k % 3 == 0)
            tasks_abort_handle_abort(x); /* twice */
    }
    return NULL;
}

int main(void) {
    const int n = (int)scale(20000);
    tasks_runtime *rt = make_rt(3);
    targ_t *args = calloc((size_t)n, sizeof *args);
    tasks_join_handle **h = calloc((size_t)n, sizeof *h);
    tasks_abort_handle **ah = calloc((size_t)n, sizeof *ah);
    CHECK(args && h && ah);
    tasks_spawn_opts opts = {NULL, drop_arg, drop_output_free};
    aborter_t ab = {ah, n, GATE_INIT};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, abort_thread, &ab) == 0);
    for (int i = 0; i < n; i++) {
        args[i].index = i;
        args[i].kind = (i % 50 == 49) ? 2 : (i % 2);
        if (args[i].kind == 0)
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, fn, &args[i], &opts, &h[i]));
        else if (args[i].kind == 1)
            CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, poll_fn, &args[i], &opts, &h[i]));
        else
            CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, fn, &args[i], &opts, &h[i]));
        tasks_abort_handle *x = tasks_join_handle_abort_handle(h[i]);
        CHECK(x != NULL);
        AT_STORE(&ah[i], x);
        if (i == n / 4)
            gate_open(&ab.go); /* start aborting while spawning goes on */
    }
    gate_open(&ab.go);

    long ok = 0, cancelled = 0, freed = 0, taken = 0;
    for (int i = 0; i < n; i++) {
        if (i % 4 == 3) { /* free without joining, racing with completion */
            tasks_join_handle_free(h[i]);
            freed++;
            continue;
        }
        void *o = NULL;
        int32_t st = tasks_join_handle_join(h[i], JOIN_LONG, &o);
        if (st == TASKS_OK) {
            ok++;
            CHECK(o != NULL);
            CHECK_EQ_INT(*(int *)o, i);
            free(o);
            taken++;
            if (args[i].kind != 1)
                CHECK_EQ_INT(AT_LOAD(&args[i].ran), 1);
        } else if (st == TASKS_CANCELLED) {
            cancelled++;
            CHECK(o == NULL);
            if (args[i].kind != 1 && AT_LOAD(&args[i].ran) != 0)
                CHECK_FAIL_("task %d (kind %d) ran and was still reported CANCELLED\n", i, args[i].kind);
        } else {
            CHECK_FAIL_("task %d: join -> %s\n", i, tasks_status_str(st));
        }
        tasks_join_handle_free(h[i]);
    }
    CHECK(pthread_join(th, NULL) == 0);
    free_rt(rt);
    for (int i = 0; i < n; i++) {
        if (AT_LOAD(&args[i].drops) != 1)
            CHECK_FAIL_("task %d: drop_arg called %d times\n", i, args[i].drops);
        if (args[i].kind != 1 && args[i].ran > 1)
            CHECK_FAIL_("task %d ran %d times\n", i, args[i].ran);
        tasks_abort_handle_free(ah[i]);
    }
    CHECK_EQ_INT(AT_LOAD(&g_outputs_made), taken + AT_LOAD(&g_outputs_freed));
    free(args);
    free(h);
    free(ah);
    printf("abort_race: %d tasks aborted while running/finishing: %ld OK, %ld CANCELLED, %ld detached; drop_arg "
           "once each, %ld outputs = %ld taken + %ld dropped\n",
           n, ok, cancelled, freed, g_outputs_made, taken, g_outputs_freed);
    return 0;
}
