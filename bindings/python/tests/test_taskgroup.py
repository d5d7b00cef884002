"""Issue 9, P6: TaskGroup (Python semantics on top of JoinSet): waits for all, the first
failure cancels the rest and is raised, several failures make an ExceptionGroup."""
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
