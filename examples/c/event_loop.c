/*
 * libtasks example: a local executor inside a poll()/eventfd event loop, together with the
 * multi-threaded runtime.
 *
 * The main thread owns an executor and runs a classic event loop: it sleeps in poll() on an
 * eventfd and, whenever the eventfd becomes readable, drains it and calls tasks_executor_run.
 * The executor's notify callback writes to that eventfd, so the loop wakes up exactly when one
 * of its tasks becomes ready, whichever thread made it ready.
 *
 * The work:
 *   1. A local task (running on the main thread) spawns a task on the multi-threaded runtime
 *      that computes a sum of squares (and takes a little while: it sleeps 20 ms first, on a
 *      runtime timer).
 *   2. The local task waits for it with tasks_join_handle_poll: PENDING until the worker task
 *      finishes; the finishing worker wakes the local task, which calls notify, which writes to
 *      the eventfd, which wakes poll(), and the loop runs the local task again.
 *   3. The local task prints the result and finishes; the loop sees no tasks left and exits.
 *
 * The program checks its own result (and that the local task only ever ran on the main thread)
 * and exits non-zero on a mismatch.
 *
 *   cc -std=c99 -Wall -Wextra -Werror -Iinclude examples/c/event_loop.c -Lbuild/lib -ltasks -lpthread
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tasks.h"

#define N 1000u
#define EXPECTED ((uint64_t)N * (N + 1) * (2 * N + 1) / 6) /* 1^2 + 2^2 + ... + N^2 */

/* ---- the runtime task: a poll task that sleeps 20 ms, then computes --------------------------- */

typedef struct compute {
    uint64_t n;
    int slept;
} compute_t;

static tasks_poll compute_poll(void *state, tasks_context *cx, void **output) {
    compute_t *c = state;
    if (!c->slept) {
        c->slept = 1;
        if (tasks_context_sleep(cx, 20 * 1000 * 1000) != TASKS_OK)
            return TASKS_POLL_FAILED;
        return TASKS_POLL_PENDING; /* woken by the runtime's timer */
    }
    uint64_t sum = 0;
    for (uint64_t i = 1; i <= c->n; i++)
        sum += i * i;
    *output = (void *)(uintptr_t)sum;
    return TASKS_POLL_READY;
}

static void free_state(void *state) { free(state); }

/* ---- the local task: runs on the main thread, awaits the runtime task ------------------------- */

typedef struct local {
    tasks_runtime *rt;
    tasks_join_handle *worker; /* the runtime task we wait for */
    pthread_t loop_thread;
    int polls;
    int off_thread_polls;
    uint64_t result;
    int failed;
} local_t;

static tasks_poll local_poll(void *state, tasks_context *cx, void **output) {
    local_t *l = state;
    l->polls++;
    if (!pthread_equal(pthread_self(), l->loop_thread))
        l->off_thread_polls++;

    if (l->worker == NULL) {
        compute_t *c = calloc(1, sizeof *c);
        if (c == NULL) {
            l->failed = 1;
            return TASKS_POLL_FAILED;
        }
        c->n = N;
        tasks_spawn_opts opts = {"sum-of-squares", free_state, NULL};
        tasks_status st = tasks_spawn_poll(l->rt, compute_poll, c, &opts, &l->worker);
        if (st != TASKS_OK) {
            fprintf(stderr, "event_loop: spawn on the runtime: %s\n", tasks_status_str(st));
            free(c);
            l->failed = 1;
            return TASKS_POLL_FAILED;
        }
        printf("local task: spawned the computation on the runtime (task %" PRIu64 ")\n",
               tasks_join_handle_id(l->worker));
    }

    void *out = NULL;
    tasks_status st = tasks_join_handle_poll(l->worker, cx, &out);
    if (st == TASKS_PENDING) {
        printf("local task: result not ready yet, waiting (poll %d)\n", l->polls);
        return TASKS_POLL_PENDING; /* the join handle wakes us when the worker task ends */
    }
    tasks_join_handle_free(l->worker);
    l->worker = NULL;
    if (st != TASKS_OK) {
        fprintf(stderr, "event_loop: the computation ended with %s\n", tasks_status_str(st));
        l->failed = 1;
        return TASKS_POLL_FAILED;
    }
    l->result = (uint64_t)(uintptr_t)out;
    printf("local task: sum of squares 1..%u = %" PRIu64 " (poll %d)\n", N, l->result, l->polls);
    *output = l;
    return TASKS_POLL_READY;
}

/* ---- the event loop --------------------------------------------------------------------------- */

typedef struct loop {
    int efd;
    int notifies; /* only for the printout; written from any thread */
} loop_t;

/* Called by the library, from any thread, when a task of the executor becomes ready. */
static void notify(void *data) {
    loop_t *lp = data;
    uint64_t one = 1;
    __atomic_add_fetch(&lp->notifies, 1, __ATOMIC_RELAXED);
    /* an eventfd counter: a write never blocks unless the counter is about to overflow */
    while (write(lp->efd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

int main(void) {
    int rc = 1;
    loop_t lp = {-1, 0};
    tasks_runtime *rt = NULL;
    tasks_builder *b = NULL;
    tasks_executor *ex = NULL;
    tasks_join_handle *h = NULL;
    local_t local;
    memset(&local, 0, sizeof local);

    lp.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (lp.efd < 0) {
        perror("eventfd");
        return 1;
    }

    b = tasks_builder_new();
    if (b == NULL || tasks_builder_worker_threads(b, 2) != TASKS_OK || tasks_builder_build(b, &rt) != TASKS_OK) {
        fprintf(stderr, "event_loop: could not build the runtime\n");
        goto out;
    }
    if (tasks_executor_new(&ex) != TASKS_OK) {
        fprintf(stderr, "event_loop: could not create the executor\n");
        goto out;
    }
    tasks_executor_set_notify(ex, notify, &lp);

    local.rt = rt;
    local.loop_thread = pthread_self();
    tasks_status st = tasks_executor_spawn_poll(ex, local_poll, &local, NULL, &h);
    if (st != TASKS_OK) {
        fprintf(stderr, "event_loop: executor spawn: %s\n", tasks_status_str(st));
        goto out;
    }

    /* The loop: run what is ready; when nothing is, sleep in poll() until notify writes. */
    int wakeups = 0;
    while (tasks_executor_len(ex) > 0) {
        if (tasks_executor_run(ex, 64) > 0)
            continue; /* something ran: there may be more ready */
        struct pollfd pfd = {lp.efd, POLLIN, 0};
        int n = poll(&pfd, 1, 10 * 1000); /* a real loop would watch its sockets here too */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("poll");
            goto out;
        }
        if (n == 0) {
            fprintf(stderr, "event_loop: no wake-up for 10 s: a lost notify?\n");
            goto out;
        }
        uint64_t count;
        if (read(lp.efd, &count, sizeof count) < 0 && errno != EAGAIN) { /* drain */
            perror("read");
            goto out;
        }
        wakeups++;
    }
    printf("event loop: done after %d wake-up(s) from poll(), notify called %d time(s)\n", wakeups,
           __atomic_load_n(&lp.notifies, __ATOMIC_RELAXED));

    void *res = NULL;
    st = tasks_join_handle_join(h, 0, &res);
    if (st != TASKS_OK || res != &local) {
        fprintf(stderr, "event_loop: local task ended with %s\n", tasks_status_str(st));
        goto out;
    }
    if (local.failed || local.result != EXPECTED) {
        fprintf(stderr, "event_loop: result %" PRIu64 ", expected %" PRIu64 "\n", local.result, EXPECTED);
        goto out;
    }
    if (local.off_thread_polls != 0) {
        fprintf(stderr, "event_loop: the local task ran %d time(s) off the loop thread\n", local.off_thread_polls);
        goto out;
    }
    if (local.polls < 2 || wakeups < 1) {
        fprintf(stderr, "event_loop: expected the local task to wait (polls %d, wake-ups %d)\n", local.polls,
                wakeups);
        goto out;
    }
    printf("event_loop: OK\n");
    rc = 0;

out:
    tasks_join_handle_free(h);
    if (local.worker != NULL) {
        tasks_join_handle_abort(local.worker);
        tasks_join_handle_free(local.worker);
    }
    tasks_executor_free(ex);
    if (rt != NULL && tasks_runtime_free(rt) != TASKS_OK) {
        fprintf(stderr, "event_loop: runtime free failed\n");
        rc = 1;
    }
    tasks_builder_free(b);
    if (lp.efd >= 0)
        close(lp.efd);
    return rc;
}
