"""Issue 9, P6 / issue 11: TaskGroup (Python semantics, over the C scope tasks_scope_run):
waits for all, the first failure cancels the rest and is raised, several failures make an
ExceptionGroup."""
import sys
import threading
import time

import pytest

import libtasks


def test_waits_for_every_task(rt):
    done = []
    with libtasks.TaskGroup(rt) as g:
        hs = [g.spawn(lambda i=i: (time.sleep(0.01), done.append(i), i * i)[2]) for i in range(8)]
    assert sorted(done) == list(range(8))  # all ended when the block was left
    assert [h.result() for h in hs] == [i * i for i in range(8)]
    assert all(h.done() and not h.cancelled() for h in hs)


def test_first_failure_cancels_the_rest_and_is_raised():
    # One worker, tasks run in spawn order: `fail` raises, then `long` (if it started before the
    # group cancelled) holds the worker until it sees the cancellation, so the tasks queued
    # behind it can only be cancelled.
    with libtasks.Runtime(workers=1) as r:
        ran = []

        def fail():
            raise KeyError("first")

        def long():
            end = time.monotonic() + 10  # bounded: a missing cancel fails the test, no hang
            while not libtasks.is_cancelled() and time.monotonic() < end:
                time.sleep(0.001)
            return "saw cancel" if libtasks.is_cancelled() else "no cancel"
        with pytest.raises(KeyError, match="first"):
            with libtasks.TaskGroup(r) as g:
                g.spawn(fail)
                lg = g.spawn(long)
                queued = [g.spawn(ran.append, i) for i in range(5)]
        # Running when the group cancelled: asked to stop; else cancelled before it started.
        assert lg.cancelled() or lg.result() == "saw cancel"
        assert all(q.cancelled() for q in queued)  # queued: never ran
        assert ran == []


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is Python >= 3.11")
def test_several_failures_make_an_exception_group():
    with libtasks.Runtime(workers=2) as r:
        barrier = threading.Barrier(2, timeout=5)

        def fail(e):
            barrier.wait()  # both are running before either fails: neither can be cancelled
            raise e
        with pytest.raises(BaseExceptionGroup) as ei:  # noqa: F821
            with libtasks.TaskGroup(r) as g:
                g.spawn(fail, ValueError("a"))
                g.spawn(fail, TypeError("b"))
        assert sorted(type(e).__name__ for e in ei.value.exceptions) == ["TypeError", "ValueError"]


def test_exception_in_block_cancels_tasks():
    with libtasks.Runtime(workers=1) as r:
        gate = threading.Event()
        ran = []
        with pytest.raises(ZeroDivisionError):
            with libtasks.TaskGroup(r) as g:
                g.spawn(gate.wait, 5)
                q = g.spawn(ran.append, 1)
                1 / 0
        assert q.cancelled() and ran == []
        gate.set()


def test_tasks_spawn_into_their_group(rt):
    out = []
    with libtasks.TaskGroup(rt) as g:
        def parent():
            for i in range(3):
                g.spawn(out.append, i)
        g.spawn(parent)
    assert sorted(out) == [0, 1, 2]
    with pytest.raises(RuntimeError):
        g.spawn(print)  # the group is closed
    with pytest.raises(RuntimeError):
        libtasks.TaskGroup(rt).spawn(print)  # not entered


def test_default_runtime_and_awaitable():
    import asyncio
    with libtasks.TaskGroup() as g:
        h = g.spawn(pow, 3, 3)

    async def main():
        return await h
    assert asyncio.run(main()) == 27
    assert h.exception() is None


# -- issue 11: TaskGroup over the C scope -------------------------------------------------------
WAIT = 10  # seconds: far more than any of these takes; a hang fails instead of blocking


def test_results_and_ids(rt):
    with libtasks.TaskGroup(rt) as g:
        hs = [g.spawn(lambda i=i: (libtasks.current_task_id(), i)) for i in range(20)]
        named = g.spawn(libtasks.current_task_name, name="in-group")
    ids = [h.result()[0] for h in hs]
    assert [h.result()[1] for h in hs] == list(range(20))
    assert all(i != 0 for i in ids) and len(set(ids)) == 20  # scope tasks are tasks
    assert [h.id for h in hs] == ids
    assert named.result() == "in-group"
    assert "GroupTask" in repr(hs[0]) and "closed" in repr(g)


def test_many_tasks(rt):
    total = []
    lock = threading.Lock()

    def add(i):
        with lock:
            total.append(i)
    with libtasks.TaskGroup(rt) as g:
        for i in range(3000):
            g.spawn(add, i)
    assert sorted(total) == list(range(3000))


def test_failure_cancels_tasks_not_started_and_later_spawns():
    with libtasks.Runtime(workers=1) as r:
        ran = []
        started = threading.Event()
        later = []

        def first():
            started.set()
            end = time.monotonic() + WAIT
            while not libtasks.is_cancelled() and time.monotonic() < end:
                time.sleep(0.001)
            # The scope is cancelled: spawning into it is accepted, the task never runs.
            later.append(g.spawn(ran.append, "late"))
            raise ValueError("after cancel")  # a failure after the cancellation still counts

        def fail():
            raise KeyError("boom")
        with pytest.raises(BaseException) as ei:
            with libtasks.TaskGroup(r) as g:
                g.spawn(first)
                assert started.wait(WAIT)
                queued = [g.spawn(ran.append, i) for i in range(10)]
                g.spawn(fail)  # queued behind the others: runs only if they are cancelled...
                g.cancel()     # ...which this does: so `fail` never runs either
        assert isinstance(ei.value, ValueError) and str(ei.value) == "after cancel"
        assert ran == []
        assert all(q.cancelled() for q in queued)
        assert later and later[0].cancelled() and later[0].done()
        with pytest.raises(libtasks.Cancelled):
            later[0].result()


def test_cancel_without_failure_raises_cancelled(rt):
    ran = []
    with pytest.raises(libtasks.Cancelled):
        with libtasks.TaskGroup(rt) as g:
            g.cancel()
            t = g.spawn(ran.append, 1)
    assert t.cancelled() and ran == []
    g.cancel()  # closed: nothing happens


def test_spawn_from_other_threads_and_from_tasks(rt):
    out = []
    lock = threading.Lock()

    def put(x):
        with lock:
            out.append(x)
    with libtasks.TaskGroup(rt) as g:
        ths = [threading.Thread(target=lambda k=k: [g.spawn(put, (k, i)) for i in range(50)])
               for k in range(4)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()

        def tree(depth):
            put(("tree", depth))
            if depth < 3:
                g.spawn(tree, depth + 1)
                g.spawn(tree, depth + 1)
        g.spawn(tree, 0)
    assert len(out) == 200 + 15
    assert sorted(x for x in out if x[0] != "tree") == sorted((k, i) for k in range(4) for i in range(50))


def test_nested_groups_inside_tasks_on_one_worker():
    # The outer task waits for its inner group on the only worker: the join of the group's
    # scope runner runs the inner tasks meanwhile, so this must not deadlock.
    with libtasks.Runtime(workers=1) as r:
        def inner(k):
            with libtasks.TaskGroup() as g:  # the calling task's runtime
                hs = [g.spawn(pow, k, i) for i in range(5)]
            return sum(h.result() for h in hs)

        with libtasks.TaskGroup(r) as outer:
            hs = [outer.spawn(inner, k) for k in range(1, 4)]
        assert [h.result() for h in hs] == [sum(k ** i for i in range(5)) for k in range(1, 4)]
        # Also from a task spawned outside any group, with a timeout guarding against a hang.
        assert r.spawn(inner, 2).join(timeout=WAIT) == 31


def test_nested_failure_propagates_through_groups(rt):
    def inner():
        with libtasks.TaskGroup() as g:
            g.spawn(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        with libtasks.TaskGroup(rt) as g:
            g.spawn(inner)


def test_callables_released(rt):
    import gc
    import weakref

    class Fn:
        def __call__(self):
            return 1
    f = Fn()
    ref = weakref.ref(f)
    with libtasks.TaskGroup(rt) as g:
        t = g.spawn(f)
    del f
    gc.collect()
    assert ref() is None and t.result() == 1  # the callable is not kept once the task ended


def test_runtime_closed_inside_the_block():
    r = libtasks.Runtime(workers=1)
    with pytest.raises((libtasks.Cancelled, libtasks.TasksError)):
        with libtasks.TaskGroup(r) as g:
            g.spawn(time.sleep, 0.01)
            r.close()  # the open group must not keep close() waiting forever
            with pytest.raises(libtasks.TasksError):
                g.spawn(print)
    with pytest.raises(libtasks.TasksError):
        libtasks.TaskGroup(r).__enter__()  # a closed runtime


def test_exit_from_a_non_main_thread(rt):
    res = []

    def body():
        with libtasks.TaskGroup(rt) as g:
            hs = [g.spawn(pow, 2, i) for i in range(10)]
        res.append(sum(h.result() for h in hs))
    th = threading.Thread(target=body)
    th.start()
    th.join(WAIT)
    assert res == [1023]


def test_ctrl_c_while_leaving_the_block():
    # One expression (the helper runs it as one statement): enter, spawn, exit. (Not exec():
    # a KeyboardInterrupt leaving exec'd code makes CPython end the process with SIGINT.)
    from test_process import _sigint_latencies, assert_prompt
    lat = _sigint_latencies("(lambda g: (g.spawn(ev.wait, 60), g.__exit__(None, None, None)))"
                            "(libtasks.TaskGroup(rt).__enter__())")
    assert_prompt(lat)
