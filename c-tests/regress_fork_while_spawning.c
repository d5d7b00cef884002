/* Regression test: fork() while the parent's threads spawn, join and park.
 *
 * Contract (API.md, Runtimes): in a child after fork() the default runtime starts afresh on first use and
 * runtimes created there work. Before the fix, children hung or crashed (SIGSEGV in a worker's park) in
 * about one fork out of eight: the library's locks were parking_lot's, whose contended paths share one
 * process-wide table of parked threads, and the join waiter table was process-wide too. fork() copies both
 * as they are, with bucket locks held by, and queues pointing at, parent threads that do not exist in the
 * child; the child's first contended lock or parked join then waited forever or followed a dead thread's
 * pointer. Now the locks are std's (one futex word each, no global state) and each fork generation has its
 * own waiter table.
 *
 * The parent keeps a runtime busy from two threads (batches of spawns joined from outside the runtime, so
 * the joiners park in the waiter table and the workers park between tasks) and forks repeatedly. Each
 * child, under a watchdog, builds a runtime, spawns and joins 200 tasks one by one from its main thread
 * (each join parks), joins a task on the default runtime and frees its runtime. Every child must exit 0. */
#include <sys/wait.h>

#include "check.h"

#define FORKS 150
#define BATCH 64

static int stop;

static int32_t small_work(void *arg, void **out) {
    (void)arg;
    void *p = malloc(32);
    free(p);
    *out = NULL;
    return 0;
}

static void *spawner(void *arg) {
    tasks_runtime *rt = arg;
    while (!AT_LOAD(&stop)) {
        tasks_join_handle *hs[BATCH];
        for (int i = 0; i < BATCH; i++)
            CHECK_STATUS(TASKS_OK, tasks_spawn(rt, small_work, NULL, NULL, &hs[i]));
        for (int i = 0; i < BATCH; i++) {
            CHECK_STATUS(TASKS_OK, tasks_join_handle_join(hs[i], TASKS_FOREVER, NULL));
            tasks_join_handle_free(hs[i]);
        }
    }
    return NULL;
}

/* Spawns small_work on rt (NULL: the default runtime) and joins it: 0, or the step that failed. */
static int spawn_and_join(tasks_runtime *rt) {
    tasks_join_handle *h = NULL;
    if (tasks_spawn(rt, small_work, NULL, NULL, &h) != TASKS_OK)
        return 1;
    tasks_status st = tasks_join_handle_join(h, TASKS_FOREVER, NULL);
    tasks_join_handle_free(h);
    return st == TASKS_OK ? 0 : 2;
}

/* Exit codes tell the parent which step failed; the watchdog aborts a hang (SIGABRT). */
static void child(void) {
    watchdog_start(10, "fork child: runtime use after fork");
    tasks_runtime *c = NULL;
    if (tasks_runtime_new(&c) != TASKS_OK)
        _exit(10);
    for (int k = 0; k < 200; k++) {
        int failed = spawn_and_join(c);
        if (failed)
            _exit(10 + failed);
    }
    int failed = spawn_and_join(NULL);
    if (failed)
        _exit(20 + failed);
    if (tasks_runtime_free(c) != TASKS_OK)
        _exit(30);
    _exit(0);
}

int main(void) {
    tasks_runtime *rt = make_rt(2);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&threads[i], NULL, spawner, rt) == 0);

    int bad = 0;
    int forks = (int)scale(FORKS);
    for (int f = 0; f < forks; f++) {
        sleep_ms(2); /* let the parent's threads get back into spawning, joining and parking */
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            child();
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            bad++;
            if (WIFSIGNALED(status))
                fprintf(stderr, "fork %d: child killed by signal %d\n", f, WTERMSIG(status));
            else
                fprintf(stderr, "fork %d: child exited with %d\n", f, WEXITSTATUS(status));
        }
    }

    AT_STORE(&stop, 1);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK_STATUS(TASKS_OK, tasks_runtime_free(rt));
    printf("%d forks, %d children failed\n", forks, bad);
    CHECK_EQ_INT(bad, 0);
    return 0;
}
