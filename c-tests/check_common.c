/* The shared part of check.h that needs one definition: drop callbacks and their counters.
   Not a test: CMakeLists.txt builds every c-tests file named *_common.c into a library linked
   into every test (scripts/sanitize-c.sh does the same). */
#include "check.h"

long g_outputs_freed;
long g_args_dropped;

void drop_output_free(void *p) {
    CHECK(p != NULL);
    AT_ADD(&g_outputs_freed, 1);
    free(p);
}

void drop_arg_count(void *p) {
    (void)p;
    AT_ADD(&g_args_dropped, 1);
}
