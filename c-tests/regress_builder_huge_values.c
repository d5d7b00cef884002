/* Regression test for issue 8, defect 13: absurd builder values killed the process. worker_threads = 2^40
 * aborted it ("memory allocation failed"); SIZE_MAX panicked with a backtrace on stderr.
 *
 * Contract (API.md, Runtimes): "Out-of-range builder values (e.g. more workers than the machine can hold)
 * return TASKS_ERR_INVALID or TASKS_ERR_NO_MEMORY; the library never aborts the process on bad input."
 * Out-pointers are written only on success.
 *
 * For each value (2^40, SIZE_MAX, SIZE_MAX / 2) a child process (forked before any runtime exists) sets
 * tasks_builder_worker_threads(b, value) and, if that is accepted, calls tasks_builder_build: one of them
 * must return TASKS_ERR_INVALID or TASKS_ERR_NO_MEMORY, without writing the out-pointer. The child then
 * builds a 1-worker runtime and runs a task (the process is fine). The parent checks that the child exited
 * normally with status 0 and that it wrote nothing to stderr (no panic message or backtrace). */
#include <sys/wait.h>

#include "check.h"

static int32_t add_one(void *arg, void **out) {
    *out = (void *)((uintptr_t)arg + 1);
    return 0;
}

/* In the child; reports on stdout (stderr is what the parent checks). Returns the exit status. */
static int try_workers(size_t n) {
    tasks_builder *b = tasks_builder_new();
    if (b == NULL) {
        printf("tasks_builder_new returned NULL\n");
        return 1;
    }
    tasks_runtime *const sentinel = (tasks_runtime *)(uintptr_t)0x5e5e5e50;
    tasks_runtime *rt = sentinel;
    tasks_status st = tasks_builder_worker_threads(b, n);
    const char *where = "tasks_builder_worker_threads";
    if (st == TASKS_OK) {
        where = "tasks_builder_build";
        st = tasks_builder_build(b, &rt);
    }
    tasks_builder_free(b);
    int bad = 0;
    if (st != TASKS_ERR_INVALID && st != TASKS_ERR_NO_MEMORY) {
        printf("%zu workers: %s returned %s (expected TASKS_ERR_INVALID or TASKS_ERR_NO_MEMORY)\n", n, where,
               tasks_status_str(st));
        bad = 1;
    }
    if (st != TASKS_OK && rt != sentinel) {
        printf("%zu workers: the failed build wrote its out-pointer\n", n);
        bad = 1;
    }
    if (st == TASKS_OK && rt != sentinel)
        tasks_runtime_free(rt);
    /* The process carries on normally. */
    tasks_runtime *ok = make_rt(1);
    tasks_join_handle *h = NULL;
    void *out = NULL;
    if (tasks_spawn(ok, add_one, (void *)(uintptr_t)1, NULL, &h) != TASKS_OK ||
        tasks_join_handle_join(h, JOIN_LONG, &out) != TASKS_OK || out != (void *)(uintptr_t)2) {
        printf("%zu workers: a runtime built afterwards did not work\n", n);
        bad = 1;
    }
    tasks_join_handle_free(h);
    free_rt(ok);
    return bad;
}

static int check_value(size_t n, const char *name) {
    int errpipe[2];
    CHECK(pipe(errpipe) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(errpipe[0]);
        dup2(errpipe[1], 2);
        close(errpipe[1]);
        watchdog_start(20, "builder child");
        int rc = try_workers(n);
        fflush(stdout);
        _exit(rc);
    }
    close(errpipe[1]);
    char err[4096];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(errpipe[0], err + got, sizeof err - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == sizeof err - 1)
            break; /* enough to report */
    }
    err[got] = '\0';
    close(errpipe[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    int bad = 0;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "worker_threads = %s killed the process with signal %d\n", name, WTERMSIG(status));
        bad = 1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "worker_threads = %s: wrong result (see above)\n", name);
        bad = 1;
    }
    if (got != 0) {
        fprintf(stderr, "worker_threads = %s: the library wrote to stderr:\n----\n%s\n----\n", name, err);
        bad = 1;
    }
    if (!bad)
        printf("worker_threads = %s: refused cleanly\n", name);
    return bad;
}

int main(void) {
    watchdog_start(30, "regress_builder_huge_values");
    int bad = 0;
    bad += check_value((size_t)1 << 40, "2^40");
    bad += check_value(SIZE_MAX, "SIZE_MAX");
    bad += check_value(SIZE_MAX / 2, "SIZE_MAX / 2");
    if (bad)
        CHECK_FAIL_("%s: %d of 3 out-of-range worker counts were not refused with TASKS_ERR_INVALID / "
                    "TASKS_ERR_NO_MEMORY in a clean, surviving process\n",
                    __FILE__, bad);
    printf("ok\n");
    return 0;
}
