"""parallel_for: a data-parallel loop over tasks_parallel_for."""
from __future__ import annotations

import operator
import threading
from typing import Any, Callable, Dict, List, Optional

from . import _core, _lib
from ._core import Cancelled, TasksError
from ._lib import fast as _fast
from ._lib import lib as _clib
from ._runtime import Runtime, current_runtime


class _Loop:
    __slots__ = ("fn", "chunked", "error", "lock")

    def __init__(self, fn: Callable[..., Any], chunked: bool) -> None:
        self.fn, self.chunked = fn, chunked
        self.error: List[BaseException] = []
        self.lock = threading.Lock()


_loops: Dict[int, _Loop] = {}


def _range_body(key: Optional[int], begin: int, end: int) -> int:
    """tasks_range_fn: runs one subrange; the first exception is kept, and stops the loop."""
    try:
        loop = _loops.get(key or 0)
        if loop is None or loop.error or _core.exiting:
            return 1
        try:
            if loop.chunked:
                loop.fn(begin, end)
            else:
                fn = loop.fn
                for i in range(begin, end):
                    fn(i)
            return 0
        except BaseException as e:  # noqa: BLE001 - raised by parallel_for
            _core.strip_tb(e)
            with loop.lock:
                if not loop.error:
                    loop.error.append(e)
            return 1
    except BaseException:  # pragma: no cover - never let an exception reach ctypes
        return 1


C_RANGE_BODY = _lib.RANGE_FN(_range_body)
_core.immortal(C_RANGE_BODY)


def _run(ptr: int, begin: int, end: int, grain: int, key: int) -> int:
    return int(_clib.tasks_parallel_for(ptr, begin, end, grain, C_RANGE_BODY, key))


def parallel_for(rt: Optional[Runtime], begin: int, end: int, fn: Callable[..., Any],
                 grain: int = 0, *, chunked: bool = False) -> None:
    """Calls ``fn(i)`` for every ``i`` in ``range(begin, end)`` exactly once, in parallel on the
    workers of ``rt`` (None: the calling task's runtime, else the default runtime), and returns
    when every call has returned. With ``chunked=True`` it calls ``fn(b, e)`` once per subrange
    ``[b, e)`` instead. The range is split adaptively (further only when idle workers steal a
    part); ``grain`` is the smallest subrange worth a separate piece (0: automatic).

    ``fn`` runs Python code under the GIL, so the loop pays off when ``fn`` spends its time with
    the GIL released (I/O, C extensions such as numpy, hashlib on large buffers). Inside a task
    of ``rt`` the calling thread takes part in the loop (nesting never deadlocks).

    The first exception stops the loop (no new subrange starts) and is raised once every
    running call has returned. Ctrl-C while the main thread waits stops the loop (no new
    subrange starts) and raises KeyboardInterrupt at once (running calls end in the
    background). ValueError for ``begin > end`` or negative bounds."""
    begin, end, grain = operator.index(begin), operator.index(end), operator.index(grain)
    if begin < 0 or end < 0 or grain < 0:
        raise ValueError("parallel_for: begin, end and grain must not be negative")
    if begin > end:
        raise ValueError(f"parallel_for: begin ({begin}) > end ({end})")
    if not callable(fn):
        raise TypeError(f"{fn!r} is not callable")
    if rt is None:
        rt = current_runtime()
    if begin == end:
        return
    ptr = rt._ptr
    if not ptr:
        raise TasksError(_lib.ERR_SHUTDOWN, "parallel_for: runtime closed")
    key = _core.next_key()
    loop = _Loop(fn, chunked)
    _loops[key] = loop
    try:
        if _core.get_ident() != _core.MAIN_IDENT or _fast.tasks_current_id():
            # A worker (it takes part) or another thread: one call, the GIL released.
            st = _run(ptr, begin, end, grain, key)
        else:
            # The main thread: the loop runs in a blocking-pool task joined in slices, so that
            # Ctrl-C is seen promptly; aborting that task stops the loop.
            h = rt.spawn_blocking(_run, ptr, begin, end, grain, key)
            try:
                st = h.join()
            except BaseException:
                # Raised at once: no new subrange starts, the running ones end in the
                # background (they hold what they use; the caller's frame is not borrowed).
                h.abort()
                raise
    finally:
        _loops.pop(key, None)
    if loop.error:
        e = loop.error[0]
        loop.error.clear()
        raise e
    if st == _lib.OK:
        return
    if st == _lib.CANCELLED:
        raise Cancelled("parallel_for cancelled")
    raise TasksError(st, "parallel_for")
