"""Issue 9, P5: asyncio's conventions for JoinHandle and JoinSet: cancelling the awaiting
asyncio task aborts the libtasks task (asyncio.shield opts out), ``async for`` over a JoinSet,
add_done_callback and exception(), and tracebacks without the binding's own frames."""
import asyncio
import logging
import os
import threading
import time
import traceback

import pytest

import libtasks
from conftest import wait_for

PKG = os.path.dirname(libtasks.__file__)


def blocked_runtime():
    """A one-worker runtime whose worker is busy until the returned event is set, so that
    tasks spawned on it stay queued (not started)."""
    r = libtasks.Runtime(workers=1)
    gate, started = threading.Event(), threading.Event()

    def block():
        started.set()
        gate.wait(10)
    r.spawn(block)
    assert started.wait(5)
    return r, gate


def test_cancelling_the_awaiting_task_aborts_a_queued_task():
    r, gate = blocked_runtime()
    ran = []
    h = r.spawn(ran.append, 1)

    async def main():
        t = asyncio.ensure_future(h)
        await asyncio.sleep(0.02)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
    asyncio.run(main())
    assert h.done() and h.cancelled()  # aborted before it ran: it never will
    gate.set()
    r.close()
    assert ran == []


def test_cancelling_the_awaiting_task_signals_a_running_task(rt):
    started = threading.Event()

    def loop():
        started.set()
        while not libtasks.is_cancelled():
            time.sleep(0.001)
        return "saw abort"
    h = rt.spawn(loop)

    async def main():
        t = asyncio.ensure_future(h)
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
    asyncio.run(main())
    assert h.join(timeout=5) == "saw abort"  # a running task's result stands


def test_wait_for_timeout_aborts_but_shield_does_not():
    r, gate = blocked_runtime()
    h1, h2 = r.spawn(lambda: 1), r.spawn(lambda: 2)

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(h1, 0.05)
        assert h1.cancelled()
        inner = asyncio.ensure_future(h2)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(inner), 0.05)
        assert not h2.done() and not inner.done()
        gate.set()
        return await inner
    assert asyncio.run(main()) == 2
    r.close()


def test_async_for_over_join_set_in_completion_order():
    with libtasks.Runtime(workers=3) as r:
        js = libtasks.JoinSet(r)
        evs = [threading.Event() for _ in range(3)]
        ids = [js.spawn(lambda i=i: (evs[i].wait(5), i)[1]) for i in range(3)]
        order = [2, 0, 1]

        async def main():
            ticks = 0

            async def ticker():  # the loop is not blocked while the set is awaited
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.005)
                    ticks += 1
            tk = asyncio.ensure_future(ticker())
            evs[order[0]].set()
            got = []
            async for t in js:
                got.append((t.id, t.result()))
                if len(got) < 3:
                    await asyncio.sleep(0.02)
                    evs[order[len(got)]].set()
            tk.cancel()
            return got, ticks
        got, ticks = asyncio.run(main())
        assert got == [(ids[k], k) for k in order] and ticks >= 3
        assert len(js) == 0


def test_async_for_sees_failures_and_an_empty_set(rt):
    js = libtasks.JoinSet(rt)

    async def collect():
        out = []
        async for t in js:
            e = t.exception()
            out.append(type(e).__name__ if e else t.result())
        return out
    assert asyncio.run(collect()) == []
    js.spawn(lambda: 1 / 0)
    js.spawn(lambda: "ok")
    assert sorted(asyncio.run(collect())) == ["ZeroDivisionError", "ok"]


def test_add_done_callback(rt, caplog):
    gate = threading.Event()
    h = rt.spawn(gate.wait, 5)
    seen = []
    done = threading.Event()

    def cb(handle):
        seen.append((handle is h, handle.done(), handle.result()))
        done.set()

    def bad(_handle):
        raise RuntimeError("callback failed")
    h.add_done_callback(cb)
    h.add_done_callback(bad)
    assert seen == []
    gate.set()
    assert done.wait(5)
    assert seen == [(True, True, True)]
    h.add_done_callback(lambda hh: seen.append("late"))  # already done: called at once
    assert seen[-1] == "late"
    assert wait_for(lambda: any("exception calling callback" in r.getMessage()
                                for r in caplog.records))


def test_exception_method(rt):
    assert rt.spawn(lambda: 5).exception(timeout=5) is None
    e = rt.spawn(lambda: {}["k"]).exception(timeout=5)
    assert isinstance(e, KeyError)
    gate = threading.Event()
    h = rt.spawn(gate.wait, 5)
    with pytest.raises(TimeoutError):
        h.exception(timeout=0.05)
    gate.set()
    assert h.exception(timeout=5) is None
    r, g = blocked_runtime()
    q = r.spawn(lambda: 1)
    q.abort()
    with pytest.raises(libtasks.Cancelled):
        q.exception()
    g.set()
    r.close()


def test_traceback_through_await_has_no_binding_frames(rt):
    def inner():
        raise ValueError("deep")

    def outer():
        inner()

    async def main():
        await rt.spawn(outer)
    with pytest.raises(ValueError) as ei:
        asyncio.run(main())
    frames = traceback.extract_tb(ei.value.__traceback__)
    names = [f.name for f in frames]
    assert names[-3:] == ["main", "outer", "inner"], names
    assert not [f for f in frames if f.filename.startswith(PKG)], frames
