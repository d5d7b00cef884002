/* Regression test for issue 8, defect 6: inline joins had no stack check. A chain of ~10,500 nested FOREVER
 * joins on 1 worker with 2 MiB stacks overflowed the stack (SIGSEGV).
 *
 * Contract (API.md, Join handles and Runtimes): fork-join inside tasks never deadlocks, even with one
 * worker, and "helping never overflows the stack (it parks instead, as above)": a worker that may not
 * recurse further hands its work over (a substitute worker) and waits, so chains of any depth complete
 * with bounded stack per thread.
 *
 * 1 worker, 2 MiB stacks: task k spawns task k+1 and joins it FOREVER, 30,000 deep; every task must
 * complete and the chain's result must come back. Before the fix the process died with SIGSEGV (stack
 * overflow) at a depth around 10,500. Then the same with 2 workers. */
#include "check.h"

#define DEPTH 30000

static int ran;

/* A stack overflow kills the process with SIGSEGV: say what happened first. Every runtime thread gets
   an alternate signal stack (on_thread_start) so the handler can run on an overflowed thread. */
static void segv_handler(int sig) {
    static const char msg[] = "SIGSEGV in the 30,000-deep join chain: a runtime thread overflowed its stack "
                              "(inline joins without a stack bound)\n";
    (void)sig;
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    abort();
}

static void give_altstack(void *data) {
    stack_t ss;
    (void)data;
    memset(&ss, 0, sizeof ss);
    ss.ss_size = 64 * 1024;
    ss.ss_sp = malloc(ss.ss_size);
    if (ss.ss_sp != NULL && sigaltstack(&ss, NULL) != 0)
        free(ss.ss_sp);
}

static void drop_altstack(void *data) {
    stack_t old, off;
    (void)data;
    memset(&off, 0, sizeof off);
    off.ss_flags = SS_DISABLE;
    if (sigaltstack(&off, &old) == 0 && !(old.ss_flags & SS_DISABLE))
        free(old.ss_sp);
}

static int32_t chain_fn(void *arg, void **out) {
    uintptr_t d = (uintptr_t)arg;
    AT_ADD(&ran, 1);
    if (d == DEPTH) {
        *out = (void *)d;
        return 0;
    }
    tasks_join_handle *h = NULL;
    if (tasks_spawn(NULL, chain_fn, (void *)(d + 1), NULL, &h) != TASKS_OK)
        return 1;
    tasks_status st = tasks_join_handle_join(h, TASKS_FOREVER, out);
    tasks_join_handle_free(h);
    return st == TASKS_OK ? 0 : 1;
}

static void chain(size_t workers) {
    tasks_builder *b = tasks_builder_new();
    CHECK(b != NULL);
    CHECK_STATUS(TASKS_OK, tasks_builder_worker_threads(b, workers));
    CHECK_STATUS(TASKS_OK, tasks_builder_thread_stack_size(b, 2u << 20));
    CHECK_STATUS(TASKS_OK, tasks_builder_on_thread_start(b, give_altstack, NULL));
    CHECK_STATUS(TASKS_OK, tasks_builder_on_thread_stop(b, drop_altstack, NULL));
    tasks_runtime *rt = NULL;
    CHECK_STATUS(TASKS_OK, tasks_builder_build(b, &rt));
    tasks_builder_free(b);
    AT_STORE(&ran, 0);
    tasks_join_handle *h = NULL;
    void *out = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, chain_fn, (void *)(uintptr_t)0, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, TASKS_FOREVER, &out));
    tasks_join_handle_free(h);
    CHECK_EQ_U64((uintptr_t)out, DEPTH);
    CHECK_EQ_INT(AT_LOAD(&ran), DEPTH + 1);
    free_rt(rt);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = segv_handler;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    watchdog_start(30, "regress_inline_join_stack_depth: a 30,000-deep chain of FOREVER joins on 1 worker");
    chain(1);
    watchdog_start(30, "regress_inline_join_stack_depth: a 30,000-deep chain of FOREVER joins on 2 workers");
    chain(2);
    printf("ok\n");
    return 0;
}
