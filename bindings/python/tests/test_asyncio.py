"""Awaiting JoinHandles from asyncio loops."""
import asyncio
import threading
import time

import pytest

import libtasks


def test_await_single_and_gather_1000(rt):
    async def main():
        assert await rt.spawn(lambda: 5) == 5
        hs = [rt.spawn(lambda i=i: i * 2) for i in range(1000)]
        return await asyncio.gather(*hs)
    assert asyncio.run(main()) == [i * 2 for i in range(1000)]


def test_gather_1000_on_default_runtime():
    async def main():
        return await asyncio.gather(*(libtasks.spawn(pow, i, 2) for i in range(1000)))
    assert asyncio.run(main()) == [i * i for i in range(1000)]


def test_await_does_not_block_loop(rt):
    ev = threading.Event()

    async def main():
        h = rt.spawn(ev.wait, 5)
        ticks = 0

        async def ticker():
            nonlocal ticks
            for _ in range(5):
                await asyncio.sleep(0.01)
                ticks += 1
            ev.set()  # the task can only finish after the loop ran the ticker
        r, _ = await asyncio.gather(h, ticker())
        return r, ticks
    assert asyncio.run(main()) == (True, 5)


def test_await_exception_and_cancelled():
    async def main(r):
        def bad():
            raise KeyError("k")
        with pytest.raises(KeyError):
            await r.spawn(bad)
        ev = threading.Event()
        b = r.spawn(ev.wait, 5)
        await asyncio.sleep(0.05)
        h = r.spawn(lambda: 1)
        h.abort()
        with pytest.raises(libtasks.Cancelled):
            await h
        ev.set()
        assert await b is True
    with libtasks.Runtime(workers=1) as r:
        asyncio.run(main(r))


def test_await_finished_handle_and_twice(rt):
    h = rt.spawn(lambda: "x")
    h.join()

    async def main():
        return await h, await h
    assert asyncio.run(main()) == ("x", "x")


def test_await_from_loops_in_other_threads(rt):
    results = {}

    def loop_thread(n):
        async def main():
            return await asyncio.gather(*(rt.spawn(lambda i=i: (n, i)) for i in range(100)))
        results[n] = asyncio.run(main())
    ts = [threading.Thread(target=loop_thread, args=(n,)) for n in range(3)]
    [t.start() for t in ts]
    [t.join(10) for t in ts]
    assert {n: results[n] for n in range(3)} == {n: [(n, i) for i in range(100)] for n in range(3)}


def test_tasks_awaited_concurrently_overlap(rt):
    # Checked by overlap, not by wall time (a loaded machine stretches time).
    def sleeper():
        start = time.monotonic()
        time.sleep(0.2)
        return start, time.monotonic()

    async def main():
        return await asyncio.gather(rt.spawn(sleeper), rt.spawn(sleeper))
    spans = asyncio.run(main())
    assert max(s for s, _ in spans) < min(e for _, e in spans)
