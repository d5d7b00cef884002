"""One Executor.map call: its elements, taken in order by a few runner tasks, and the
iterator over its results.

Why not one task per element: a task costs a spawn and a callback from C into Python; a runner
pays that once and then takes element after element (``chunksize`` at a time) while any are
left, so a map of small calls costs about a Python loop plus one lock hand-off per element that
someone is waiting for. Taking in order keeps ``map``'s element-by-element promises: results
come in input order, each exception is raised at its own element, the calls after a failing one
still run, and the elements not yet taken when the iterator is closed (or the executor shut
down with cancel_futures) are cancelled.
"""
from __future__ import annotations

import concurrent.futures as _cf
import itertools
import threading
from typing import Any, Callable, Generic, Iterator, List, Optional, Tuple, TypeVar

from ._core import monotonic, strip_tb

T = TypeVar("T")


class _Err:
    """An element's exception, as stored among the results."""

    __slots__ = ("exc", "tb")

    def __init__(self, exc: BaseException, tb: Any) -> None:
        self.exc, self.tb = exc, tb


_UNSET: Any = object()      # element not finished
_CANCELLED: Any = object()  # element cancelled before it was taken


class MapRun(Generic[T]):
    __slots__ = ("fn", "items", "n", "grab", "chunks", "results", "_take", "_cond", "_waiting",
                 "__weakref__")

    def __init__(self, fn: Callable[..., T], items: List[Tuple[Any, ...]], grab: int) -> None:
        self.fn: Optional[Callable[..., T]] = fn
        self.items: List[Any] = items
        self.n = len(items)
        self.grab = grab
        self.chunks = (self.n + grab - 1) // grab
        self.results: List[Any] = [_UNSET] * self.n
        # next() of an itertools.count is atomic (one C call under the GIL): each chunk is
        # taken by exactly one runner, or by cancel().
        self._take = itertools.count().__next__
        self._cond = threading.Condition(threading.Lock())
        self._waiting = -1  # the element the consumer sleeps on (-1: none)

    def _publish(self, i: int, r: Any) -> None:
        self.results[i] = r
        self.items[i] = None  # the arguments go as soon as the call is done
        # The consumer sets _waiting under the lock, then looks at results[i]: either it sees
        # r, or we see _waiting == i here and wake it (it holds the lock until it sleeps).
        if self._waiting == i:
            with self._cond:
                self._cond.notify_all()

    def drain(self) -> None:
        """A runner: runs the elements of the chunks it takes until none is left."""
        fn, items, n, grab = self.fn, self.items, self.n, self.grab
        if fn is None:
            return
        while True:
            c = self._take()
            if c >= self.chunks:
                return
            for i in range(c * grab, min(c * grab + grab, n)):
                r: Any
                try:
                    r = fn(*items[i])
                except BaseException as e:  # noqa: BLE001 - raised at its element
                    r = _Err(e, strip_tb(e))
                    del e
                self._publish(i, r)
                del r

    def _mark_rest(self, value: Any) -> None:
        while True:
            c = self._take()
            if c >= self.chunks:
                return
            for i in range(c * self.grab, min(c * self.grab + self.grab, self.n)):
                self._publish(i, value)

    def cancel(self) -> None:
        """The elements no runner has taken yet are cancelled (never run)."""
        self._mark_rest(_CANCELLED)

    def fail(self, exc: BaseException) -> None:
        """The elements no runner has taken yet fail with `exc` (a broken executor)."""
        self._mark_rest(_Err(exc, None))

    def _wait(self, i: int, end_time: Optional[float]) -> Any:
        with self._cond:
            self._waiting = i
            try:
                while self.results[i] is _UNSET:
                    if end_time is None:
                        self._cond.wait(0.05)  # slices: Ctrl-C lands on the main thread
                        continue
                    left = end_time - monotonic()
                    if left <= 0:
                        raise _cf.TimeoutError()
                    self._cond.wait(min(left, 0.05))
            finally:
                self._waiting = -1
        return self.results[i]

    def results_iter(self, end_time: Optional[float]) -> Iterator[T]:
        try:
            results = self.results
            for i in range(self.n):
                r = results[i]
                if r is _UNSET:
                    r = self._wait(i, end_time)
                results[i] = None
                if type(r) is _Err:
                    exc, tb = r.exc, r.tb
                    del r
                    raise exc.with_traceback(tb)
                if r is _CANCELLED:
                    raise _cf.CancelledError()
                # Yielded from a box, not from `r`: a suspended generator keeps its locals, and
                # the caller may want the result freed as soon as it drops it.
                box = [r]
                del r
                yield box.pop()
        finally:
            self.cancel()
            self.fn = None

