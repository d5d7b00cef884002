/* Downstream smoke test: spawn one task on a fresh runtime and join it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tasks.h>

static int32_t answer(void *arg, void **output) {
    *output = (void *)((uintptr_t)arg + 1);
    return 0;
}

int main(void) {
    tasks_runtime *rt = NULL;
    tasks_join_handle *h = NULL;
    void *out = NULL;
    tasks_status st;

    char want[32];
    snprintf(want, sizeof want, "%d.%d.", TASKS_VERSION_MAJOR, TASKS_VERSION_MINOR);
    if (strncmp(tasks_version(), want, strlen(want)) != 0) { /* header and library must agree */
        fprintf(stderr, "header is %s*, library is %s\n", want, tasks_version());
        return 1;
    }
    st = tasks_runtime_new(&rt);
    if (st != TASKS_OK) {
        fprintf(stderr, "tasks_runtime_new: %s\n", tasks_status_str(st));
        return 1;
    }
    st = tasks_spawn(rt, answer, (void *)(uintptr_t)41, NULL, &h);
    if (st != TASKS_OK) {
        fprintf(stderr, "tasks_spawn: %s\n", tasks_status_str(st));
        return 1;
    }
    st = tasks_join_handle_join(h, TASKS_FOREVER, &out);
    tasks_join_handle_free(h);
    if (tasks_runtime_free(rt) != TASKS_OK || st != TASKS_OK || (uintptr_t)out != 42) {
        fprintf(stderr, "join: %s, output %lu\n", tasks_status_str(st), (unsigned long)(uintptr_t)out);
        return 1;
    }
    printf("consumer: libtasks %s ok (42)\n", tasks_version());
    return 0;
}
