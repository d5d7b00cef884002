"""TaskGroup: structured fork-join for Python code, like asyncio.TaskGroup, over the C scope
(tasks_scope_run / tasks_scope_spawn / tasks_scope_cancel).

The C scope is callback-shaped: ``tasks_scope_run(rt, body, ctx)`` calls ``body(scope, ctx)``
and then waits for every task spawned into the scope; the scope pointer is valid until it
returns. A ``with`` block is enter/exit-shaped. So:

- ``__enter__`` starts a *runner* on the runtime's blocking pool (``spawn_blocking``): it calls
  ``tasks_scope_run`` (the GIL released), whose body publishes the scope pointer and then
  waits (the GIL released) until the group is *closed*: ``__exit__`` has begun and no task of
  the group is alive. ``__enter__`` returns once the pointer is published.
- ``spawn`` calls ``tasks_scope_spawn`` with that pointer from whatever thread it runs on (the
  block's, a task of the group, any other). Each call first *reserves* the group under its
  lock (counted as alive), so the body cannot return, and the pointer stays valid, while the C
  call runs; after the group is closed, spawn raises RuntimeError. ``cancel`` reserves the same
  way. No lock is held across a C call (a spawn into a cancelled scope runs the task's drop_arg,
  which takes the lock, on the spawning thread).
- A task's trampoline (``_core._run_task``) catches its exception, records it, and returns
  non-zero, which cancels the scope in C: tasks not started never run, running ones see
  ``is_cancelled()``. The task's drop_arg (``_core._drop_task``) ends its slot, and the group
  then counts it out and keeps its exception (completion order).
- ``__exit__`` cancels the scope if the block raised, closes the group, and joins the runner's
  JoinHandle: in slices on the main thread (Ctrl-C stays prompt; a KeyboardInterrupt cancels
  the scope and is raised at once, the tasks that are still running end in the background),
  and on a worker thread the join runs other tasks meanwhile (the group's own among them), so
  a TaskGroup inside a task never deadlocks, even on one worker.
- The body also returns (the scope is then cancelled) when the runner is cancelled, i.e. the
  runtime shuts down under an open group (``rt.close()`` inside the block, interpreter exit):
  later spawns raise TasksError(TASKS_ERR_SHUTDOWN).
"""
from __future__ import annotations

import functools
import sys
import threading
from types import TracebackType
from typing import Any, Callable, Dict, Generator, Generic, List, Optional, Type, TypeVar

from . import _core, _lib
from ._aio import await_slot
from ._core import FAILED, Cancelled, Slot, TasksError
from ._lib import fast as _fast
from ._lib import lib as _clib
from ._runtime import Runtime, current_runtime

T = TypeVar("T")

_POLL = 0.05  # seconds: how often an open group's body checks for the runtime's shutdown


class GroupTask(Generic[T]):
    """A task of a TaskGroup: ``result()`` (alias ``join``), ``exception()``, ``done()``,
    ``cancelled()``, ``await``. After the ``with`` block every task has ended. ``id`` is the
    task's id once it has started (0 before, and for a task cancelled before it started)."""

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


# key (the body's ctx) -> open group; key (a task's arg) -> its GroupTask until it starts.
_groups: Dict[int, "TaskGroup"] = {}
_starting: Dict[int, GroupTask[Any]] = {}


def _group_body(scope: Optional[int], key: Optional[int]) -> int:
    """tasks_scope_fn: publishes the scope, then holds it open until the group is closed."""
    try:
        g = _groups.get(key or 0)
        if g is None:  # pragma: no cover - every runner has its group
            return 1
        with g._cond:
            g._scope = scope
        g._ready.set()
        while True:
            with g._cond:
                if not (g._open or g._alive):
                    g._scope = None  # the pointer dies when tasks_scope_run returns
                    return 0
                if g._cond.wait(_POLL) or g._broken or not _fast.tasks_current_is_cancelled():
                    continue
                # The runner is cancelled: the runtime is shutting down under an open group.
                g._broken = True
                g._open = False
            # Without the lock: cancelling may run drop_args (which take it) on this thread.
            _fast.tasks_scope_cancel(scope)
    except BaseException:  # e.g. InterpreterExit raised into this thread at exit
        return 1


def _run_group_task(key: int, output: Any) -> int:
    """tasks_fn of group tasks: _core._run_task, with the task's id recorded first."""
    t = _starting.pop(key, None)
    if t is not None:
        t.id = int(_fast.tasks_current_id())
    return _core._run_task(key, output)


C_GROUP_BODY = _lib.SCOPE_FN(_group_body)
C_RUN_GROUP_TASK = _lib.TASK_FN(_run_group_task)
_core.immortal(C_GROUP_BODY, C_RUN_GROUP_TASK)


def _run_scope(key: int) -> int:
    """The runner (on the blocking pool): the scope's whole life; returns its status."""
    g = _groups.get(key)
    try:
        return int(_clib.tasks_scope_run(None, C_GROUP_BODY, key))
    finally:
        _groups.pop(key, None)
        if g is not None:
            g._ready.set()  # also when the body never ran (the runtime shut down)


class TaskGroup:
    """``with TaskGroup(rt) as g: g.spawn(fn, *args)``: leaving the block waits for every task
    of the group. The first task that raises cancels the others (those not started never run;
    running ones see ``is_cancelled()``); its exception is then raised, or, when several tasks
    failed, a BaseExceptionGroup of all of them (Python >= 3.11; before: the first one). An
    exception leaving the block cancels the tasks too. Cancelled tasks are not failures.

    Built on the C scope (tasks_scope_run): the group's tasks are tasks of one scope on ``rt``
    (default: the calling task's runtime, else the default runtime), and the scope is held open
    by a runner on ``rt``'s blocking pool while the block runs (see the module's notes).
    ``spawn`` works from the block, from the group's own tasks and from other threads until
    the group is closed (the block has been left and every task has ended). Spawning into a
    cancelled group (after a failure, or ``cancel()``) returns a task that is already
    cancelled and never runs. ``cancel()`` cancels the group: leaving the block then raises
    ``Cancelled`` (unless a task's exception came first: that one is raised)."""

    def __init__(self, rt: Optional[Runtime] = None) -> None:
        self._rt = rt
        self._cond = threading.Condition(threading.Lock())
        self._ready = threading.Event()
        self._entered = False
        self._open = False     # the block has not been left yet
        self._alive = 0        # tasks not yet dropped + spawn/cancel calls in progress
        self._broken = False   # the runtime shut down under the open group
        self._scope: Optional[int] = None
        self._failures: List[BaseException] = []
        self._cancel_requested = False
        self._runner: Any = None
        self._key = 0

    # -- reservations: the scope pointer stays valid while one is held ----------------------
    def _reserve(self) -> int:
        with self._cond:
            if not self._entered:
                raise RuntimeError("TaskGroup has not been entered")
            if self._broken:
                raise TasksError(_lib.ERR_SHUTDOWN, "TaskGroup: the runtime is shut down")
            if self._scope is None or not (self._open or self._alive):
                raise RuntimeError("TaskGroup is closed")
            self._alive += 1
            return self._scope

    def _unreserve(self, n: int = 1) -> None:
        with self._cond:
            self._alive -= n
            if not self._alive:
                self._cond.notify_all()

    def _task_done(self, slot: Slot, *, key: int) -> None:  # a task's drop_arg (any thread)
        _starting.pop(key, None)  # cancelled before it started
        with self._cond:
            if slot.state == FAILED:
                self._failures.append(slot.error())
            self._alive -= 1
            if not self._alive:
                self._cond.notify_all()

    # -- the block ----------------------------------------------------------------------------
    def __enter__(self) -> "TaskGroup":
        if self._entered:
            raise RuntimeError("TaskGroup has already been entered")
        rt = self._rt if self._rt is not None else current_runtime()
        self._key = _core.next_key()
        self._open = True
        _groups[self._key] = self
        try:
            self._runner = rt.spawn_blocking(_run_scope, self._key, name="libtasks.TaskGroup")
        except BaseException:
            _groups.pop(self._key, None)
            self._open = False
            raise
        try:
            self._ready.wait()
        except BaseException:  # Ctrl-C while the runner starts: it closes as soon as it opens
            with self._cond:
                self._open = False
                self._cond.notify_all()
            raise
        with self._cond:
            self._entered = True
            if self._scope is not None:
                return self
            self._open = False
        # The runner ended without a scope: the runtime shut down (or was shut down before
        # the runner started).
        st = self._runner_status()
        raise TasksError(st if st < 0 else _lib.ERR_SHUTDOWN, "TaskGroup")

    def _runner_status(self) -> int:
        try:
            return int(self._runner.join())
        except Cancelled:
            return _lib.CANCELLED

    def spawn(self, fn: Callable[..., T], *args: Any, name: Optional[str] = None,
              **kwargs: Any) -> GroupTask[T]:
        """Spawns ``fn(*args, **kwargs)`` into the group (also from its own tasks). Raises
        RuntimeError before ``__enter__`` and once the group is closed."""
        if not callable(fn):
            raise TypeError(f"{fn!r} is not callable")
        scope = self._reserve()
        try:
            key, slot = _core.register_call(fn, args, kwargs)
        except BaseException:
            self._unreserve()
            raise
        task: GroupTask[T] = GroupTask(0, name, slot)
        _starting[key] = task
        # Counted in (alive) before the C call, as the task may end, and be counted out by its
        # drop_arg, before the call returns; the reservation above is held until it returns.
        with self._cond:
            self._alive += 1
        slot.add_done_callback(functools.partial(self._task_done, key=key))
        st = _fast.tasks_scope_spawn(scope, C_RUN_GROUP_TASK, key, _core.opts(name))
        if st != _lib.OK:  # nothing was spawned: the call is ours again, its slot never ends
            _core.registry.pop(key, None)
            _starting.pop(key, None)
            self._unreserve(2)
            raise TasksError(st, "TaskGroup.spawn")
        self._unreserve()
        return task

    def cancel(self) -> None:
        """Cancels the group: tasks not started never run, running ones see ``is_cancelled()``,
        later spawns are cancelled at once; leaving the block raises Cancelled unless a task's
        exception came first. Does nothing once the group is closed."""
        try:
            scope = self._reserve()
        except (RuntimeError, TasksError):
            return
        try:
            self._cancel_requested = True
            _fast.tasks_scope_cancel(scope)
        finally:
            self._unreserve()

    def __exit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if ev is not None:
            try:
                scope = self._reserve()
            except (RuntimeError, TasksError):
                pass
            else:
                _fast.tasks_scope_cancel(scope)
                self._unreserve()
        with self._cond:
            self._open = False
            self._cond.notify_all()
        try:
            # JoinHandle's wait: sliced on the main thread; on a worker it runs other tasks.
            st = self._runner_status()
        except BaseException:  # e.g. KeyboardInterrupt while waiting: cancel the rest
            self._cancel_running()
            raise
        with self._cond:
            errors = list(self._failures)
        if st == _lib.OK or st == _lib.FAILED or st == _lib.CANCELLED:
            if not errors and st == _lib.FAILED:
                errors.append(TasksError(_lib.FAILED, "TaskGroup"))  # pragma: no cover
            if not errors:
                if ev is not None or st == _lib.OK:
                    return  # the block's own exception (if any) propagates
                raise Cancelled("TaskGroup cancelled" if self._cancel_requested
                                else "TaskGroup cancelled: the runtime shut down")
        else:
            errors.append(TasksError(st, "TaskGroup"))
        if ev is not None:
            errors.insert(0, ev)
        if len(errors) == 1:
            raise errors[0]
        if sys.version_info >= (3, 11):
            raise BaseExceptionGroup("unhandled errors in a TaskGroup", errors)  # noqa: F821
        raise errors[0]

    def _cancel_running(self) -> None:
        """Cancels the tasks still running after the block was left (while they are alive the
        scope is too)."""
        with self._cond:
            scope = self._scope if self._alive else None
            if scope is not None:
                self._alive += 1
        if scope is not None:
            try:
                _fast.tasks_scope_cancel(scope)
            finally:
                self._unreserve()

    def __repr__(self) -> str:
        state = ("not entered" if not self._entered else "open" if self._open
                 else "closing" if self._alive else "closed")
        return f"<libtasks.TaskGroup {state} tasks_alive={self._alive}>"
