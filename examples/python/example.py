"""libtasks from Python: spawn, join sets, asyncio and the Executor.

Run: PYTHONPATH=bindings/python python3 examples/python/example.py   (or pip install ./bindings/python)
"""
import asyncio
import concurrent.futures as cf
import threading
import time

import libtasks


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main() -> None:
    with libtasks.Runtime(workers=4) as rt:
        h = rt.spawn(fib, 20, name="fib20")
        print(f"task {h.id} ({h.name}): fib(20) = {h.join()}")

        js = libtasks.JoinSet(rt)
        for n in (22, 5, 15):
            js.spawn(fib, n)
        print("join set, completion order:", [t.join() for t in js])

        def boom():
            raise ValueError("raised inside a task")
        try:
            rt.spawn(boom).join()
        except ValueError as e:
            print("exception transported:", e)

        def worker():  # cooperative cancellation: a running task is never interrupted
            n = 0
            while not libtasks.is_cancelled():
                n += 1
                time.sleep(0.001)
            return f"stopped after {n} rounds"
        w = rt.spawn(worker)
        time.sleep(0.05)
        w.abort()
        print("aborted while running:", w.join()[:12], "...")

        async def gather():
            return await asyncio.gather(*(rt.spawn(fib, n) for n in range(15)))
        print("awaited:", asyncio.run(gather()))

        async def as_they_finish():  # a JoinSet in an asyncio loop
            js = libtasks.JoinSet(rt)
            for n in (20, 2, 10):
                js.spawn(fib, n)
            return [t.result() async for t in js]
        print("async for:", asyncio.run(as_they_finish()))

        with libtasks.TaskGroup(rt) as g:  # waits for all; the first failure cancels the rest
            parts = [g.spawn(fib, n) for n in range(10, 14)]
        print("task group:", [p.result() for p in parts])
        print("metrics:", rt.metrics())

    with libtasks.Executor(max_workers=4, thread_name_prefix="fib") as ex:
        print("executor map:", list(ex.map(fib, range(10))))
        print("worker thread:", ex.submit(lambda: threading.current_thread().name).result())
        futs = [ex.submit(fib, n) for n in (18, 3, 12)]
        print("as_completed:", [f.result() for f in cf.as_completed(futs)])


if __name__ == "__main__":
    main()
