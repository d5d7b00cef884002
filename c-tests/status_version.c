/* Status codes and version: tasks_status_str for every code (non-NULL, non-empty, pairwise distinct),
   for unknown values (non-NULL), numeric values of the enums, tasks_version vs the header macros. */
#include "check.h"

int main(void) {
    /* The numeric values are part of the contract (other languages hard-code them). */
    CHECK_EQ_INT(TASKS_OK, 0);
    CHECK_EQ_INT(TASKS_PENDING, 1);
    CHECK_EQ_INT(TASKS_TIMED_OUT, 2);
    CHECK_EQ_INT(TASKS_CANCELLED, 3);
    CHECK_EQ_INT(TASKS_FAILED, 4);
    CHECK_EQ_INT(TASKS_EMPTY, 5);
    CHECK_EQ_INT(TASKS_ERR_NULL, -1);
    CHECK_EQ_INT(TASKS_ERR_INVALID, -2);
    CHECK_EQ_INT(TASKS_ERR_SHUTDOWN, -3);
    CHECK_EQ_INT(TASKS_ERR_NO_TASK, -4);
    CHECK_EQ_INT(TASKS_ERR_WOULD_DEADLOCK, -5);
    CHECK_EQ_INT(TASKS_ERR_WRONG_THREAD, -6);
    CHECK_EQ_INT(TASKS_ERR_NO_MEMORY, -7);
    CHECK_EQ_INT(TASKS_ERR_THREAD, -8);
    CHECK_EQ_INT(TASKS_ERR_INTERNAL, -9);
    CHECK_EQ_INT(TASKS_POLL_READY, 0);
    CHECK_EQ_INT(TASKS_POLL_PENDING, 1);
    CHECK_EQ_INT(TASKS_POLL_YIELD, 2);
    CHECK_EQ_INT(TASKS_POLL_FAILED, 3);
    CHECK(TASKS_FOREVER == UINT64_MAX);

    const int32_t known[] = {TASKS_OK,
                             TASKS_PENDING,
                             TASKS_TIMED_OUT,
                             TASKS_CANCELLED,
                             TASKS_FAILED,
                             TASKS_EMPTY,
                             TASKS_ERR_NULL,
                             TASKS_ERR_INVALID,
                             TASKS_ERR_SHUTDOWN,
                             TASKS_ERR_NO_TASK,
                             TASKS_ERR_WOULD_DEADLOCK,
                             TASKS_ERR_WRONG_THREAD,
                             TASKS_ERR_NO_MEMORY,
                             TASKS_ERR_THREAD,
                             TASKS_ERR_INTERNAL};
    const size_t nknown = sizeof known / sizeof known[0];
    const char *strs[sizeof known / sizeof known[0]];
    for (size_t i = 0; i < nknown; i++) {
        strs[i] = tasks_status_str(known[i]);
        CHECK(strs[i] != NULL);
        CHECK(strlen(strs[i]) > 0);
        /* static: the same pointer (or at least the same text) every time */
        CHECK(strcmp(strs[i], tasks_status_str(known[i])) == 0);
    }
    for (size_t i = 0; i < nknown; i++)
        for (size_t j = i + 1; j < nknown; j++) {
            if (strcmp(strs[i], strs[j]) == 0)
                CHECK_FAIL_("status %d and %d share the string \"%s\"\n", (int)known[i], (int)known[j], strs[i]);
        }

    const int32_t unknown[] = {6, 7, 42, 1000, -10, -11, -100, INT32_MAX, INT32_MIN};
    const size_t nunknown = sizeof unknown / sizeof unknown[0];
    for (size_t i = 0; i < nunknown; i++) {
        const char *s = tasks_status_str(unknown[i]);
        CHECK(s != NULL);
        CHECK(strlen(s) > 0);
        /* an unknown code must not be described as one of the known ones */
        for (size_t j = 0; j < nknown; j++)
            if (strcmp(s, strs[j]) == 0)
                CHECK_FAIL_("unknown status %d described as known status %d (\"%s\")\n", (int)unknown[i],
                            (int)known[j], s);
    }

    const char *v = tasks_version();
    CHECK(v != NULL);
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", TASKS_VERSION_MAJOR, TASKS_VERSION_MINOR, TASKS_VERSION_PATCH);
    if (strcmp(v, expect) != 0)
        CHECK_FAIL_("tasks_version() = \"%s\", header macros say \"%s\"\n", v, expect);
    CHECK_EQ_PTR(v, tasks_version());

    printf("status_version: %zu known codes distinct, %zu unknown codes handled, version %s\n", nknown, nunknown,
           v);
    return 0;
}
