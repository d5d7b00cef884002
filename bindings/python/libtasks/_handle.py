"""JoinHandle (a spawned task) and FinishedTask (a task a JoinSet returned)."""
from __future__ import annotations

import logging
from typing import Any, Callable, Generator, Generic, Optional, TypeVar

from . import _lib
from ._aio import await_slot
from ._core import FAILED, Cancelled, Slot, check, wait_sliced
from ._lib import fast as _fast
from ._lib import lib as _clib

T = TypeVar("T")
_log = logging.getLogger("libtasks")


class JoinHandle(Generic[T]):
    """The owner's handle on a task: join it (``join()`` or ``await``), abort it, ask about
    it. Dropping the handle detaches the task (it keeps running)."""

    __slots__ = ("_ptr", "_slot", "name", "_id", "_status", "__weakref__")

    def __init__(self, ptr: int, slot: Slot, name: Optional[str]) -> None:
        self._ptr: Optional[int] = ptr
        self._slot = slot
        self.name = name
        self._id: int = int(_fast.tasks_join_handle_id(ptr))
        self._status: Optional[int] = None

    @property
    def id(self) -> int:
        """The task's id (unique in the process, never 0)."""
        return self._id

    def _join_call(self, ns: int) -> int:
        if ns == 0:
            return int(_fast.tasks_join_handle_join(self._ptr, 0, None))
        return int(_clib.tasks_join_handle_join(self._ptr, ns, None))

    def _wait(self, timeout: Optional[float]) -> None:
        """Returns once the task has ended (its slot holds the outcome); TimeoutError if it did
        not within ``timeout`` seconds."""
        if self._status is not None or self._slot.finished:
            return
        st = self._join_call(0)
        if st == _lib.PENDING:
            st = wait_sliced(self._join_call, timeout, forever_ok=True)
        if st == _lib.TIMED_OUT or st == _lib.PENDING:
            raise TimeoutError(f"task {self._id} did not finish within {timeout} s")
        self._status = check(st, "join")

    def join(self, timeout: Optional[float] = None) -> T:
        """Waits for the task (up to ``timeout`` seconds; None: no limit) and returns its value.
        Re-raises the task's exception (with its traceback), raises Cancelled if it was
        aborted before it completed, TimeoutError if it did not finish in time."""
        self._wait(timeout)
        if self._status == _lib.CANCELLED or self._slot.cancelled():
            raise Cancelled(f"task {self._id} was cancelled")
        return self._slot.outcome()  # type: ignore[no-any-return]

    result = join

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """As concurrent.futures.Future.exception: waits like join, then returns the task's
        exception, or None if it completed; raises Cancelled if it was cancelled."""
        self._wait(timeout)
        if self._status == _lib.CANCELLED or self._slot.cancelled():
            raise Cancelled(f"task {self._id} was cancelled")
        if self._slot.state == FAILED:
            return self._slot.error()
        return None

    def add_done_callback(self, fn: Callable[["JoinHandle[T]"], object]) -> None:
        """Calls ``fn(handle)`` once the task has ended: at once if it has, else on the thread
        that ends it. As with concurrent.futures, an exception from ``fn`` is logged (logger
        "libtasks") and ignored. In ``fn``, join()/result() return without waiting."""
        def call(_s: Slot) -> None:
            try:
                fn(self)
            except Exception:
                _log.exception("exception calling callback for %r", self)
        self._slot.add_done_callback(call)

    def abort(self) -> None:
        """Requests cancellation: a task that has not started is cancelled at once; a running
        one sees is_cancelled() turn true (it is not interrupted). No effect once it ended."""
        _fast.tasks_join_handle_abort(self._ptr)

    def done(self) -> bool:
        """True once the task has ended (completed, failed or cancelled)."""
        return self._slot.finished or bool(_fast.tasks_join_handle_is_finished(self._ptr))

    def cancelled(self) -> bool:
        """True if the task ended by cancellation (it never completed)."""
        if self._slot.finished:
            return self._slot.cancelled()
        if self._status is None:
            if not _fast.tasks_join_handle_is_finished(self._ptr):
                return False
            self._status = check(_fast.tasks_join_handle_join(self._ptr, 0, None), "join")
        return self._status == _lib.CANCELLED

    def __await__(self) -> Generator[Any, None, T]:
        """``await handle`` from any asyncio loop: the loop is not blocked (the task's end is
        reported to the loop with call_soon_threadsafe). Cancelling the awaiting asyncio task
        aborts this task (asyncio's convention); ``await asyncio.shield(handle)`` does not."""
        return await_slot(self._slot, self.abort)

    def __del__(self, _free: Any = _fast.tasks_join_handle_free) -> None:
        p = self._ptr
        if p:
            self._ptr = None
            _free(p)

    def __repr__(self) -> str:
        return f"<libtasks.JoinHandle id={self._id} name={self.name!r} done={self.done()}>"


class FinishedTask:
    """A task that has ended, as JoinSet iteration returns it: ``join()`` (alias ``result()``)
    gives its value or raises like JoinHandle.join; ``await`` works too."""

    __slots__ = ("id", "name", "_status", "_slot")

    def __init__(self, id: int, name: Optional[str], status: int, slot: Slot) -> None:
        self.id, self.name, self._status, self._slot = id, name, status, slot

    def join(self, timeout: Optional[float] = None) -> Any:
        if self._status == _lib.CANCELLED:
            raise Cancelled(f"task {self.id} was cancelled")
        return self._slot.outcome()

    result = join

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        if self._status == _lib.CANCELLED:
            raise Cancelled(f"task {self.id} was cancelled")
        return None if self._status == _lib.OK else self._slot.error()

    def done(self) -> bool:
        return True

    def cancelled(self) -> bool:
        return self._status == _lib.CANCELLED

    def abort(self) -> None:
        """Does nothing: the task has ended."""

    def __await__(self) -> Generator[Any, None, Any]:
        if False:  # pragma: no cover - makes this a generator
            yield
        return self.join()

    def __repr__(self) -> str:
        return (f"<libtasks.FinishedTask id={self.id} name={self.name!r} "
                f"status={_lib.status_name(self._status)}>")

