/* Regression test for issue 8, defect 11: tasks_executor_len read the spawned and finished counters
 * separately and subtracted: a task spawned and finished between the two reads made it return ~2^64
 * (49 of 72.9M reads under load).
 *
 * Contract (API.md, Local executor): tasks_executor_len is the number of tasks not yet finished, callable
 * from any thread: never above the number of tasks spawned into the executor.
 *
 * The owner thread spawns and runs tasks one at a time as fast as it can; a reader thread calls
 * tasks_executor_len in a loop and checks it against the number of spawns started so far. To make the
 * narrow window between the library's two reads likely, a third thread interrupts the reader with a signal
 * every ~100 us, and the handler stalls the reader for ~30 us while the owner keeps spawning and finishing.
 * Runs for 2 s (the bug showed within milliseconds). */
#include "check.h"

#define RUN_NS (2 * SEC_NS)

static tasks_executor *ex;
static uint64_t spawns_started; /* bumped before each tasks_executor_spawn */
static int stop;
static size_t bad_len;
static uint64_t bad_bound;
static int bad;
static uint64_t reads;

static void stall_handler(int sig) {
    uint64_t t0 = now_ns(); /* clock_gettime is async-signal-safe */
    (void)sig;
    while (now_ns() - t0 < 30000) {
    }
}

static void *reader_main(void *arg) {
    (void)arg;
    while (!AT_LOAD(&stop)) {
        size_t len = tasks_executor_len(ex);
        uint64_t bound = AT_LOAD(&spawns_started);
        reads++;
        if ((uint64_t)len > bound) {
            bad_len = len;
            bad_bound = bound;
            AT_STORE(&bad, 1);
            AT_STORE(&stop, 1);
        }
    }
    return NULL;
}

static void *interrupter_main(void *arg) {
    pthread_t reader = *(pthread_t *)arg;
    while (!AT_LOAD(&stop)) {
        pthread_kill(reader, SIGUSR1);
        sleep_ns(100000);
    }
    return NULL;
}

static int32_t nop_fn(void *arg, void **out) {
    (void)arg;
    (void)out;
    return 0;
}

int main(void) {
    watchdog_start(30, "regress_executor_len_bounded");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stall_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);

    CHECK_STATUS(TASKS_OK, tasks_executor_new(&ex));
    pthread_t reader, interrupter;
    CHECK(pthread_create(&reader, NULL, reader_main, NULL) == 0);
    CHECK(pthread_create(&interrupter, NULL, interrupter_main, &reader) == 0);
    uint64_t start = now_ns();
    while (!AT_LOAD(&stop) && now_ns() - start < RUN_NS) {
        for (int i = 0; i < 64; i++) {
            AT_ADD(&spawns_started, 1);
            CHECK_STATUS(TASKS_OK, tasks_executor_spawn(ex, nop_fn, NULL, NULL, NULL));
            tasks_executor_run(ex, 1);
        }
    }
    AT_STORE(&stop, 1);
    CHECK(pthread_join(interrupter, NULL) == 0);
    CHECK(pthread_join(reader, NULL) == 0);
    while (tasks_executor_len(ex) > 0)
        tasks_executor_run(ex, 64);
    tasks_executor_free(ex);
    printf("%llu spawns, %llu reads of tasks_executor_len\n", (unsigned long long)spawns_started,
           (unsigned long long)reads);
    if (bad)
        CHECK_FAIL_("%s:%d: tasks_executor_len returned %zu with only %llu tasks ever spawned into the executor "
                    "(the counters were read separately and subtracted)\n",
                    __FILE__, __LINE__, bad_len, (unsigned long long)bad_bound);
    printf("ok\n");
    return 0;
}
