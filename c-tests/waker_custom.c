/* tasks_waker_new with custom wake/drop: wake is called synchronously by wake / wake_by_ref with the
   data pointer; drop runs exactly once, when the last clone goes (inside that _free or the consuming
   _wake call), never earlier; drop NULL is allowed; clones are usable from other threads. */
#include "check.h"

typedef struct cw {
    long wakes; /* atomic */
    long drops; /* atomic */
} cw_t;

static void cw_wake(void *d) {
    cw_t *c = d;
    AT_ADD(&c->wakes, 1);
}
static void cw_drop(void *d) {
    cw_t *c = d;
    AT_ADD(&c->drops, 1);
}

static void *clone_wake_thread(void *p) {
    tasks_waker *w = p;
    for (int i = 0; i < 1000; i++) {
        tasks_waker *c = tasks_waker_clone(w);
        CHECK(c != NULL);
        tasks_waker_wake_by_ref(c);
        if (i % 2)
            tasks_waker_wake(c);
        else
            tasks_waker_free(c);
    }
    tasks_waker_free(w);
    return NULL;
}

int main(void) {
    /* single waker, consumed by wake */
    cw_t a = {0, 0};
    tasks_waker *w = tasks_waker_new(cw_wake, &a, cw_drop);
    CHECK(w != NULL);
    CHECK_EQ_INT(a.wakes, 0);
    CHECK_EQ_INT(a.drops, 0);
    tasks_waker_wake_by_ref(w);
    CHECK_EQ_INT(a.wakes, 1); /* synchronous */
    CHECK_EQ_INT(a.drops, 0);
    tasks_waker_wake(w);
    CHECK_EQ_INT(a.wakes, 2);
    CHECK_EQ_INT(a.drops, 1); /* last reference consumed by wake */

    /* single waker, freed without waking */
    cw_t b = {0, 0};
    w = tasks_waker_new(cw_wake, &b, cw_drop);
    tasks_waker_free(w);
    CHECK_EQ_INT(b.wakes, 0);
    CHECK_EQ_INT(b.drops, 1);

    /* clones: drop only after the last one, whichever way it goes */
    cw_t c = {0, 0};
    w = tasks_waker_new(cw_wake, &c, cw_drop);
    tasks_waker *c1 = tasks_waker_clone(w);
    tasks_waker *c2 = tasks_waker_clone(c1);
    CHECK(c1 != NULL && c2 != NULL);
    CHECK(tasks_waker_will_wake(w, c1));
    CHECK(tasks_waker_will_wake(c2, w));
    CHECK_EQ_INT(c.wakes, 0);
    tasks_waker_free(w);
    CHECK_EQ_INT(c.drops, 0);
    tasks_waker_wake(c1); /* consumes c1, not the last */
    CHECK_EQ_INT(c.wakes, 1);
    CHECK_EQ_INT(c.drops, 0);
    tasks_waker_wake_by_ref(c2);
    CHECK_EQ_INT(c.wakes, 2);
    CHECK_EQ_INT(c.drops, 0);
    tasks_waker_free(c2); /* the last */
    CHECK_EQ_INT(c.wakes, 2);
    CHECK_EQ_INT(c.drops, 1);

    /* the last clone consumed by wake */
    cw_t d = {0, 0};
    w = tasks_waker_new(cw_wake, &d, cw_drop);
    c1 = tasks_waker_clone(w);
    tasks_waker_free(w);
    CHECK_EQ_INT(d.drops, 0);
    tasks_waker_wake(c1);
    CHECK_EQ_INT(d.wakes, 1);
    CHECK_EQ_INT(d.drops, 1);

    /* drop NULL is fine */
    cw_t e = {0, 0};
    w = tasks_waker_new(cw_wake, &e, NULL);
    CHECK(w != NULL);
    c1 = tasks_waker_clone(w);
    tasks_waker_wake(w);
    tasks_waker_wake(c1);
    CHECK_EQ_INT(e.wakes, 2);
    CHECK_EQ_INT(e.drops, 0);

    /* clones woken and dropped from several threads: exact totals, one drop */
    cw_t f = {0, 0};
    w = tasks_waker_new(cw_wake, &f, cw_drop);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        tasks_waker *mine = tasks_waker_clone(w);
        CHECK(mine != NULL);
        CHECK(pthread_create(&th[i], NULL, clone_wake_thread, mine) == 0);
    }
    tasks_waker_free(w);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    /* per thread: 1000 wake_by_ref + 500 consuming wakes */
    CHECK_EQ_INT(AT_LOAD(&f.wakes), 4 * 1500);
    CHECK_EQ_INT(AT_LOAD(&f.drops), 1);

    printf("waker_custom: wake synchronous with data, drop exactly once after the last clone (free or consuming "
           "wake), drop NULL ok, 4 threads x 1500 wakes exact\n");
    return 0;
}
