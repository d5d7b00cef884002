/* A thousand runtimes (scaled) created (2 workers each), used (spawn a task and a blocking task, join
   them) and freed in a loop: no growth in threads (entries of /proc/self/task equal before and after),
   on_thread_start/stop called equally often after every free (every thread the runtime started has
   exited its loop when free returns), and a few tasks_runtime_new runtimes the same way. */
#include "check.h"

static long g_start, g_stop;
static void on_start(void *d) {
    CHECK(d == &g_start);
    AT_ADD(&g_start, 1);
}
static void on_stop(void *d) {
    CHECK(d == &g_stop);
    AT_ADD(&g_stop, 1);
}

static int32_t ident(void *p, void **out) {
    *out = p;
    return 0;
}

int main(void) {
    const int n = (int)scale(1000);
    const int before = count_threads();
    int max_seen = before;
    tasks_builder *b = tasks_builder_new();
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, 2));
    CHECK_STATUS(TASKS_OK, tasks_builder_on_thread_start(b, on_start, &g_start));
    CHECK_STATUS(TASKS_OK, tasks_builder_on_thread_stop(b, on_stop, &g_stop));
    for (int i = 0; i < n; i++) {
        tasks_runtime *rt = NULL;
        CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt));
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, ident, (void *)(intptr_t)(i + 1), NULL, &h));
        void *o = NULL;
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &o));
        CHECK_EQ_INT((intptr_t)o, i + 1);
        tasks_join_handle_free(h);
        if (i % 10 == 0) {
            CHECK_STATUS(TASKS_OK, tasks_spawn_blocking(rt, ident, (void *)(intptr_t)(i + 2), NULL, &h));
            CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, &o));
            CHECK_EQ_INT((intptr_t)o, i + 2);
            tasks_join_handle_free(h);
        }
        int now = count_threads();
        if (now > max_seen)
            max_seen = now;
        free_rt(rt);
        long st = AT_LOAD(&g_start), sp = AT_LOAD(&g_stop);
        if (st != sp)
            CHECK_FAIL_("after free of runtime %d: %ld threads started, %ld stopped\n", i, st, sp);
        CHECK(st >= 2L * (i + 1));
    }
    tasks_builder_free(b);
    const long started = AT_LOAD(&g_start);

    /* tasks_runtime_new: default settings */
    for (int i = 0; i < 20; i++) {
        tasks_runtime *rt = NULL;
        CHECK_STATUS(TASKS_OK, tasks_runtime_new(&rt));
        tasks_join_handle *h = NULL;
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, ident, NULL, NULL, &h));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
        tasks_join_handle_free(h);
        free_rt(rt);
    }

    /* a thread that has returned from pthread_join may linger in /proc for a moment; nothing may remain */
    WAIT_UNTIL(count_threads() <= before);
    const int after = count_threads();
    CHECK_EQ_INT(after, before);
    /* only one runtime's threads at a time ever existed */
    CHECK(max_seen <= before + 3 + 2);
    printf("many_runtimes: %d runtimes (2 workers) + 20 default runtimes created/used/freed; threads %d before, "
           "%d after (max %d); %ld thread starts == stops\n",
           n, before, after, max_seen, started);
    return 0;
}
