/* Regression test for issue 8, defect 15: a stale join handle (used after tasks_join_handle_free) silently
 * acted on whichever task reused its block, and there was no way to find such a bug: freed task blocks
 * were always recycled, so valgrind never saw the use after free.
 *
 * Contract (tasks.h, API.md): TASKS_NO_RECYCLE=1 in the environment (read once, before the library's first
 * allocation) makes the library allocate with the C library's malloc instead of mimalloc (whose heap valgrind
 * does not see into), so that valgrind and AddressSanitizer see a use of a freed handle in the user's program.
 *
 * The test re-executes itself under valgrind (memcheck) with TASKS_NO_RECYCLE=1 and the argument
 * --stale-use: that run spawns and joins a task, frees its handle, spawns more tasks (which would reuse a
 * freed block), then calls tasks_join_handle_is_finished and tasks_join_handle_id on the freed handle.
 * Valgrind must report an invalid read in tasks_join_handle_* (before the fix it reported nothing: the
 * block was recycled, not freed; since recycle.rs was replaced by mimalloc, a freed block goes back to
 * mimalloc unless TASKS_NO_RECYCLE selects the system allocator). Exit code 77 (skipped) when valgrind is
 * not installed; the ctest entry needs SKIP_RETURN_CODE 77 for that. */
#include <sys/stat.h>
#include <sys/wait.h>

#include "check.h"

static int32_t nop_fn(void *arg, void **out) {
    *out = arg;
    return 0;
}

/* Runs under valgrind: the user's bug, a use of a freed join handle. */
static int stale_use(void) {
    tasks_runtime *rt = make_rt(1);
    tasks_join_handle *h = NULL;
    CHECK_STATUS(TASKS_OK, tasks_spawn(rt, nop_fn, NULL, NULL, &h));
    CHECK_STATUS(TASKS_OK, tasks_join_handle_join(h, JOIN_LONG, NULL));
    tasks_join_handle_free(h); /* h is stale from here on */
    tasks_join_handle *more[8];
    for (int i = 0; i < 8; i++) {
        CHECK_STATUS(TASKS_OK, tasks_spawn(rt, nop_fn, NULL, NULL, &more[i]));
        CHECK_STATUS(TASKS_OK, tasks_join_handle_join(more[i], JOIN_LONG, NULL));
    }
    volatile bool finished = tasks_join_handle_is_finished(h); /* use after free */
    volatile uint64_t id = tasks_join_handle_id(h);            /* use after free */
    printf("stale handle: finished=%d id=%llu\n", (int)finished, (unsigned long long)id);
    for (int i = 0; i < 8; i++)
        tasks_join_handle_free(more[i]);
    free_rt(rt);
    return 0;
}

static int find_in_path(const char *name, char *out, size_t len) {
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/bin:/bin";
    while (*path != '\0') {
        const char *end = strchr(path, ':');
        size_t n = end != NULL ? (size_t)(end - path) : strlen(path);
        if (n > 0 && n + strlen(name) + 2 <= len) {
            memcpy(out, path, n);
            out[n] = '/';
            strcpy(out + n + 1, name);
            if (access(out, X_OK) == 0)
                return 1;
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--stale-use") == 0)
        return stale_use();

    char valgrind[4096];
    if (!find_in_path("valgrind", valgrind, sizeof valgrind)) {
        printf("valgrind is not installed: skipped\n");
        return 77;
    }
    watchdog_start(60, "regress_no_recycle_valgrind: the valgrind run");
    char log_path[] = "/tmp/regress_no_recycle_XXXXXX";
    int fd = mkstemp(log_path);
    CHECK(fd >= 0);
    close(fd);
    char log_arg[64];
    snprintf(log_arg, sizeof log_arg, "--log-file=%s", log_path);

    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        setenv("TASKS_NO_RECYCLE", "1", 1);
        char *args[] = {valgrind, "--tool=memcheck", "--error-exitcode=99", log_arg, argv[0], "--stale-use", NULL};
        execv(valgrind, args);
        _exit(127);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    watchdog_stop();

    FILE *f = fopen(log_path, "r");
    CHECK(f != NULL);
    static char log[1 << 20];
    size_t got = fread(log, 1, sizeof log - 1, f);
    log[got] = '\0';
    fclose(f);
    unlink(log_path);

    CHECK(WIFEXITED(status));
    if (strstr(log, "Memcheck") == NULL)
        CHECK_FAIL_("%s:%d: valgrind did not run (exit status %d); its log:\n%s\n", __FILE__, __LINE__,
                    WEXITSTATUS(status), log);
    const char *inv = strstr(log, "Invalid read");
    if (inv == NULL || strstr(inv, "tasks_join_handle_") == NULL)
        CHECK_FAIL_("%s:%d: with TASKS_NO_RECYCLE=1, valgrind saw no invalid read when the program used a freed "
                    "join handle (freed task blocks did not go back to free: is the system allocator selected?); "
                    "valgrind's log:\n%s\n",
                    __FILE__, __LINE__, log);
    printf("valgrind reported the use of the freed handle (exit status %d)\n", WEXITSTATUS(status));
    printf("ok\n");
    return 0;
}
