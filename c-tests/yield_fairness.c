/* A yield lets every other ready task run before the yielder runs again, remote ones
 * included: on ONE worker, two poll tasks spawned from outside (so both start in the
 * injector) that yield five times each must alternate, not run back to back. */
#include "check.h"

static char order[16];
static int n_logged;

typedef struct yielder {
    char letter;
    int left;
} yielder;

static tasks_poll yield_poll(void *state, tasks_context *cx, void **output) {
    yielder *y = state;
    (void)cx;
    (void)output;
    order[AT_ADD(&n_logged, 1) - 1] = y->letter;
    return --y->left > 0 ? TASKS_POLL_YIELD : TASKS_POLL_READY;
}

static gate_t release_worker;

static int32_t hold_worker(void *arg, void **output) {
    (void)arg;
    (void)output;
    gate_wait(&release_worker);
    return 0;
}

int main(void) {
    tasks_runtime *rt = make_rt(1);
    gate_init(&release_worker);
    tasks_join_handle *hold = NULL, *ha = NULL, *hb = NULL;
    yielder a = {'a', 5}, b = {'b', 5};

    /* Keep the only worker busy so that both yielders are queued before either runs. */
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, hold_worker, NULL, NULL, &hold));
    WAIT_UNTIL(get_metrics(rt).polls == 1); /* counted as its run starts */
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, yield_poll, &a, NULL, &ha));
    CHECK_STATUS(TASKS_OK, tasks_spawn_poll(rt, yield_poll, &b, NULL, &hb));
    gate_open(&release_worker);

    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(ha, TASKS_FOREVER, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hb, TASKS_FOREVER, NULL));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hold, TASKS_FOREVER, NULL));
    printf("poll order: %s\n", order);
    CHECK_EQ_INT(AT_LOAD(&n_logged), 10);
    CHECK(strcmp(order, "ababababab") == 0);

    tasks_join_handle_free(ha);
    tasks_join_handle_free(hb);
    tasks_join_handle_free(hold);
    free_rt(rt);
    gate_destroy(&release_worker);
    return 0;
}
