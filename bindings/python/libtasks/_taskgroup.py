"""TaskGroup: structured fork-join for Python code, like asyncio.TaskGroup.

Built on a JoinSet for now (the C structured scope, tasks_scope_run, borrows the caller's
stack and blocks inside one C call; a Python ``with`` block needs enter and exit as two calls).
"""
from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any, Callable, Generator, Generic, List, Optional, Type, TypeVar

from ._aio import await_slot
from ._core import FAILED, Cancelled, Slot
from ._joinset import JoinSet
from ._runtime import Runtime

T = TypeVar("T")


class GroupTask(Generic[T]):
    """A task of a TaskGroup: ``result()`` (alias ``join``), ``exception()``, ``done()``,
    ``cancelled()``, ``await``. After the ``with`` block every task has ended."""

    __slots__ = ("id", "name", "_slot")

    def __init__(self, id: int, name: Optional[str], slot: Slot) -> None:
        self.id, self.name, self._slot = id, name, slot

    def _wait(self, timeout: Optional[float]) -> None:
        if self._slot.finished:
            return
        ev = threading.Event()
        self._slot.add_done_callback(lambda _s: ev.set())
        if not ev.wait(timeout):
            raise TimeoutError(f"task {self.id} did not finish within {timeout} s")

    def result(self, timeout: Optional[float] = None) -> T:
        self._wait(timeout)
        if self._slot.cancelled():
            raise Cancelled(f"task {self.id} was cancelled")
        return self._slot.outcome()  # type: ignore[no-any-return]

    join = result

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        self._wait(timeout)
        if self._slot.cancelled():
            raise Cancelled(f"task {self.id} was cancelled")
        return self._slot.error() if self._slot.state == FAILED else None

    def done(self) -> bool:
        return self._slot.finished

    def cancelled(self) -> bool:
        return self._slot.cancelled()

    def __await__(self) -> Generator[Any, None, T]:
        return await_slot(self._slot, None)

    def __repr__(self) -> str:
        return f"<libtasks.GroupTask id={self.id} name={self.name!r} done={self.done()}>"


class TaskGroup:
    """``with TaskGroup(rt) as g: g.spawn(fn, *args)``: leaving the block waits for every task
    of the group. The first task that raises cancels the others (those not started never run;
    running ones see ``is_cancelled()``); its exception is then raised, or, when several tasks
    failed, a BaseExceptionGroup of all of them (Python >= 3.11; before: the first one). An
    exception leaving the block cancels the tasks too. Cancelled tasks are not failures."""

    def __init__(self, rt: Optional[Runtime] = None) -> None:
        self._rt = rt
        self._js: Optional[JoinSet] = None
        self._aborting = False

    def __enter__(self) -> "TaskGroup":
        if self._js is not None:
            raise RuntimeError("TaskGroup has already been entered")
        self._js = JoinSet(self._rt)
        return self

    def spawn(self, fn: Callable[..., T], *args: Any, name: Optional[str] = None,
              **kwargs: Any) -> GroupTask[T]:
        """Spawns ``fn(*args, **kwargs)`` into the group (also from its own tasks)."""
        js = self._js
        if js is None:
            raise RuntimeError("TaskGroup has not been entered")
        if self._aborting:
            raise RuntimeError("TaskGroup is shutting down")
        tid, slot = js._spawn_slot(fn, args, kwargs, name)
        return GroupTask(tid, name, slot)

    def _abort(self) -> None:
        self._aborting = True
        assert self._js is not None
        self._js.abort_all()

    def __exit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        js = self._js
        assert js is not None
        errors: List[BaseException] = []
        if ev is not None:
            self._abort()
        try:
            for t in js:  # completion order: the first failure is seen as soon as it happens
                if t.cancelled():
                    continue
                e = t.exception()
                if e is not None:
                    if not errors and not self._aborting:
                        self._abort()
                    errors.append(e)
        except BaseException:  # e.g. KeyboardInterrupt while waiting: cancel the rest
            self._abort()
            raise
        finally:
            js.close()
        if not errors:
            return  # the block's own exception (if any) propagates
        if ev is not None:
            errors.insert(0, ev)
        if len(errors) == 1:
            raise errors[0]
        if sys.version_info >= (3, 11):
            raise BaseExceptionGroup("unhandled errors in a TaskGroup", errors)
        raise errors[0]
