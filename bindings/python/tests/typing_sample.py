"""Checked by test_typing.py with mypy --strict (not run): the public API as users write it."""
import asyncio
import concurrent.futures as cf
from typing import Iterator, List, Optional

import libtasks


def square(x: int) -> int:
    return x * x


def use(rt: libtasks.Runtime) -> int:
    h: libtasks.JoinHandle[int] = rt.spawn(square, 3, name="sq")
    v: int = h.join(timeout=1.0)
    e: Optional[BaseException] = h.exception()
    h.add_done_callback(lambda hh: print(hh.id))
    js = libtasks.JoinSet(rt)
    tid: int = js.spawn(square, 2)
    done: List[libtasks.FinishedTask] = list(js)
    with libtasks.TaskGroup(rt) as g:
        t: libtasks.GroupTask[int] = g.spawn(square, 4)
    with libtasks.Executor(max_workers=2, thread_name_prefix="p", initializer=print,
                           initargs=("x",)) as ex:
        f: "cf.Future[int]" = ex.submit(square, 5)
        it: Iterator[int] = ex.map(square, [1, 2], timeout=1.0, chunksize=2)
        n: int = ex.max_workers
    m: int = rt.metrics()["alive"]
    ok: bool = libtasks.is_cancelled() or rt.shutdown(timeout=0.1)
    print(e, tid, done, t.result(), f.result(), list(it), n, m, ok, libtasks.current_task_id())
    return v


async def awaiting(rt: libtasks.Runtime) -> int:
    r: int = await rt.spawn(square, 2)
    async for t in libtasks.JoinSet(rt):
        print(t.result())
    return r + await asyncio.shield(rt.spawn(square, 1))
