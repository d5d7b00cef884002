/* Nesting of the fork-join calls inside each other and inside tasks never deadlocks (API.md, "Structured
 * fork-join and data parallelism"): join2 halves that each run a scope whose tasks run a parallel_for whose
 * subranges compute fib with recursive join2 — on a 1-worker and a 4-worker runtime, started inside a task
 * and from the main thread; a recursive "scope fib" (every level a scope of two tasks); and a
 * parallel_for whose bodies call tasks_block_in_place around a join2 (the core moves to another thread
 * while join2 halves are in flight). Every result is checked. A watchdog turns a hang into a failure. */
#include "check.h"

static int32_t fib(void *arg, void **out) {
    intptr_t n = (intptr_t)arg;
    if (n < 2) {
        *out = (void *)n;
        return 0;
    }
    void *a = NULL, *b = NULL;
    if (tasks_join2(fib, (void *)(n - 1), &a, fib, (void *)(n - 2), &b) != TASKS_OK)
        return 1;
    *out = (void *)((intptr_t)a + (intptr_t)b);
    return 0;
}

static intptr_t fib_seq(intptr_t n) { return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2); }

/* parallel_for body: cell[i] = fib(i % 16) via join2 */
typedef struct cells {
    long *v;
    uint64_t n;
} cells_t;

static int32_t fib_cells(void *ctx, uint64_t b, uint64_t e) {
    cells_t *c = ctx;
    for (uint64_t i = b; i < e; i++) {
        void *out = NULL;
        if (fib((void *)(intptr_t)(i % 16), &out) != 0)
            return 1;
        c->v[i] = (long)(intptr_t)out;
    }
    return 0;
}

/* scope task: a parallel_for over its own cells */
static int32_t loop_task(void *arg, void **out) {
    (void)out;
    return tasks_parallel_for(NULL, 0, ((cells_t *)arg)->n, 2, fib_cells, arg) == TASKS_OK ? 0 : 1;
}

typedef struct half {
    cells_t parts[4];
    long storage[4][100];
} half_t;

static int32_t half_body(tasks_scope *scope, void *ctx) {
    half_t *h = ctx;
    for (int i = 0; i < 4; i++)
        if (tasks_scope_spawn(scope, loop_task, &h->parts[i], NULL) != TASKS_OK)
            return 1;
    return 0;
}

static int32_t half_fn(void *arg, void **out) {
    (void)out;
    return tasks_scope_run(NULL, half_body, arg) == TASKS_OK ? 0 : 1;
}

static void check_half(half_t *h) {
    for (int p = 0; p < 4; p++)
        for (uint64_t i = 0; i < 100; i++)
            CHECK_EQ_INT(h->storage[p][i], fib_seq((intptr_t)(i % 16)));
}

static void init_half(half_t *h) {
    memset(h, 0, sizeof *h);
    for (int p = 0; p < 4; p++) {
        h->parts[p].v = h->storage[p];
        h->parts[p].n = 100;
    }
}

static int32_t whole(void *arg, void **out) {
    (void)arg;
    (void)out;
    half_t *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    CHECK(a != NULL && b != NULL);
    init_half(a);
    init_half(b);
    CHECK_STATUS(TASKS_OK, tasks_join2(half_fn, a, NULL, half_fn, b, NULL));
    check_half(a);
    check_half(b);
    free(a);
    free(b);
    return 0;
}

/* recursive scope fib: each level is a scope of two tasks writing into the parent's frame */
typedef struct sfib {
    intptr_t n, result;
} sfib_t;

static int32_t sfib_task(void *arg, void **out);

static int32_t sfib_body(tasks_scope *scope, void *ctx) {
    sfib_t *kids = ctx;
    if (tasks_scope_spawn(scope, sfib_task, &kids[0], NULL) != TASKS_OK)
        return 1;
    return tasks_scope_spawn(scope, sfib_task, &kids[1], NULL) == TASKS_OK ? 0 : 1;
}

static int32_t sfib_task(void *arg, void **out) {
    sfib_t *me = arg;
    (void)out;
    if (me->n < 2) {
        me->result = me->n;
        return 0;
    }
    sfib_t kids[2] = {{me->n - 1, 0}, {me->n - 2, 0}};
    if (tasks_scope_run(NULL, sfib_body, kids) != TASKS_OK)
        return 1;
    me->result = kids[0].result + kids[1].result;
    return 0;
}

/* block_in_place inside join2 halves */
typedef struct bip {
    intptr_t n;
    void *out;
} bip_t;

static void bip_inner(void *arg) {
    bip_t *b = arg;
    CHECK_STATUS(TASKS_OK, tasks_join2(fib, (void *)b->n, &b->out, fib, (void *)(b->n - 1), NULL));
}

static int32_t bip_body(void *ctx, uint64_t b, uint64_t e) {
    long *res = ctx;
    for (uint64_t i = b; i < e; i++) {
        bip_t x = {(intptr_t)(10 + i % 5), NULL};
        void *other = NULL;
        /* a: block_in_place (hands the core off) around a join2; b: plain join2 */
        CHECK_STATUS(TASKS_OK, tasks_block_in_place(bip_inner, &x));
        CHECK_STATUS(TASKS_OK, tasks_join2(fib, (void *)(intptr_t)12, &other, fib, (void *)(intptr_t)3, NULL));
        res[i] = (long)(intptr_t)x.out + (long)(intptr_t)other;
    }
    return 0;
}

static int32_t bip_task(void *arg, void **out) {
    (void)out;
    return tasks_parallel_for(NULL, 0, 40, 1, bip_body, arg) == TASKS_OK ? 0 : 1;
}

static void run_on(size_t workers) {
    tasks_runtime *rt = make_rt(workers);
    tasks_join_handle *h = NULL;
    watchdog_label("join2 > scope > parallel_for > join2, in a task");
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, whole, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);

    watchdog_label("scope fib");
    sfib_t top = {test_scale_factor() >= 1.0 ? 16 : 10, 0};
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, sfib_task, &top, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    CHECK_EQ_INT(top.result, fib_seq(top.n));

    watchdog_label("block_in_place inside join2 inside parallel_for");
    long res[40];
    memset(res, 0, sizeof res);
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, bip_task, res, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h);
    for (int i = 0; i < 40; i++)
        CHECK_EQ_INT(res[i], fib_seq(10 + i % 5) + fib_seq(12));
    free_rt(rt);
}

int main(void) {
    watchdog_start(240, "fj_nesting");
    run_on(1);
    run_on(4);
    watchdog_label("from the main thread (default runtime)");
    CHECK_STATUS(TASKS_OK, whole(NULL, NULL));
    watchdog_stop();
    printf("fj_nesting: join2/scope/parallel_for nested in each other and in tasks on 1 and 4 workers, "
           "scope fib, block_in_place inside join2\n");
    return 0;
}
