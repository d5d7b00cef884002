"""libtasks: Python binding (ctypes) for the libtasks work-stealing task runtime.

    import libtasks
    with libtasks.Runtime(workers=4) as rt:
        h = rt.spawn(pow, 2, 10, name="pow")
        assert h.join() == 1024              # or: value = await h   (from any asyncio loop)
    libtasks.spawn(print, "on the default runtime").join()
    with libtasks.Executor(max_workers=4) as ex:   # a concurrent.futures.Executor
        print(list(ex.map(abs, [-1, -2])))

Tasks run Python callables on the runtime's worker threads (they take the GIL while they run
Python code, like any Python thread). Waits in C (join, join_next, shutdown) release the GIL.
A blocking wait on the main thread is done in slices of at most 50 ms so that Ctrl-C
(KeyboardInterrupt) is raised promptly.

The library is found as described in ``libtasks._lib`` (``LIBTASKS_PATH`` overrides);
``libtasks.library_path`` tells which file was loaded.
"""
from __future__ import annotations

import asyncio
import atexit
import concurrent.futures as _cf
import ctypes
import itertools
import os
import sys
import threading
import time
from ctypes import byref, c_uint64, c_void_p
from typing import (Any, Callable, Dict, Generator, Iterable, Iterator, List, Optional,
                    Tuple, TypeVar)

from . import _lib
from ._lib import fast as _fast
from ._lib import lib as _clib

__all__ = ["Runtime", "JoinHandle", "FinishedTask", "JoinSet", "Executor", "spawn",
           "spawn_blocking", "default_runtime", "metrics", "current_task_id",
           "current_task_name", "is_cancelled", "TasksError", "Cancelled", "Empty", "version",
           "library_path"]
__version__ = "0.1.0"

T = TypeVar("T")

library_path: str = _lib.path
_SLICE = 0.05  # seconds: longest uninterrupted wait on the main thread (Ctrl-C latency)
_SLICE_NS = int(_SLICE * 1e9)
_get_ident = threading.get_ident
_MAIN_IDENT = threading.main_thread().ident
_monotonic = time.monotonic


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------
class TasksError(RuntimeError):
    """An error status from the C API. ``status`` is the code, ``name`` e.g. TASKS_ERR_SHUTDOWN."""

    def __init__(self, status: int, what: str = "") -> None:
        self.status = status
        self.name = _lib.STATUS_NAMES.get(status, f"TASKS_STATUS_{status}")
        super().__init__(f"{what}: {self.name}" if what else self.name)


class Cancelled(_cf.CancelledError):
    """The task was aborted (or its runtime shut down) before it completed."""


class Empty(LookupError):
    """A JoinSet has no tasks left."""


class _InterpreterExit(BaseException):
    """Raised inside tasks still running Python code when the interpreter exits."""


def _check(st: int, what: str) -> int:
    if st < 0:
        raise TasksError(st, what)
    return st


def _ns(seconds: float) -> int:
    return max(0, min(int(seconds * 1e9), _lib.FOREVER - 1))


def version() -> str:
    """Version of the loaded libtasks.so, e.g. "0.1.0"."""
    return _fast.tasks_version().decode()


# ----------------------------------------------------------------------------------------------
# Tasks in flight and the C callbacks
# ----------------------------------------------------------------------------------------------
# key (the C task's `arg`) -> [fn, args, kwargs, slot] for spawn/JoinSet tasks, or
# (fn, args, kwargs, future, runtime) for Executor tasks. The entry is what keeps the callable
# and its arguments alive while the task is queued; the running task holds them in locals, so
# they are released as soon as it returns (or when it is cancelled: drop_arg / reaping).
_registry: Dict[int, Any] = {}
_next_key = itertools.count(1).__next__
_exiting = False                 # interpreter exit: callbacks run no more user code
_running: Dict[int, int] = {}    # thread ident -> depth of task code running on it
_cb_lock = threading.Lock()      # orders done-callback registration against completion

_PENDING, _OK, _FAILED = 0, 1, 2


class _Slot:
    """The outcome of one task (kept by its handle; holds no reference to the callable)."""

    __slots__ = ("state", "value", "exc", "tb", "finished", "_cbs", "__weakref__")

    def __init__(self) -> None:
        self.state = _PENDING
        self.value: Any = None
        self.exc: Optional[BaseException] = None
        self.tb: Any = None
        self.finished = False
        self._cbs: Optional[List[Callable[["_Slot"], None]]] = None

    def finish(self) -> None:  # the task ended (ran, or cancelled before it ran)
        with _cb_lock:
            self.finished = True
            cbs, self._cbs = self._cbs, None
        if cbs:
            for cb in cbs:
                try:
                    cb(self)
                except Exception:  # pragma: no cover - a callback of ours never raises
                    pass

    def add_done_callback(self, cb: Callable[["_Slot"], None]) -> None:
        with _cb_lock:
            if not self.finished:
                if self._cbs is None:
                    self._cbs = []
                self._cbs.append(cb)
                return
        cb(self)

    def outcome(self) -> Any:
        """Value of a finished task; raises its exception or Cancelled."""
        if self.state == _OK:
            return self.value
        if self.state == _FAILED:
            if self.exc is None:
                raise TasksError(_lib.FAILED, "task failed")
            raise self.exc.with_traceback(self.tb)
        raise Cancelled("task cancelled")


def _register_call(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Tuple[int, "_Slot"]:
    """Checks a call about to be spawned and keeps it alive in the registry until the task
    ends; returns its registry key and the slot its outcome goes to."""
    if not callable(fn):
        raise TypeError(f"{fn!r} is not callable")
    if _exiting:
        raise TasksError(_lib.ERR_SHUTDOWN, "the interpreter is exiting")
    slot = _Slot()
    key = _next_key()
    _registry[key] = [fn, args, kwargs, slot]
    return key, slot


def _strip_tb(e: BaseException) -> Any:
    """The traceback from the task's own frames on: our frame (which references the callable
    and its arguments) is dropped."""
    tb = e.__traceback__
    if tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    e.__traceback__ = tb
    return tb


def _enter() -> int:
    ident = _get_ident()
    _running[ident] = _running.get(ident, 0) + 1
    return ident


def _leave(ident: int) -> None:
    n = _running.get(ident, 1) - 1
    if n:
        _running[ident] = n
    else:
        _running.pop(ident, None)


def _run_task(key: int, output: Any) -> int:
    """tasks_fn of spawn/JoinSet tasks: runs fn(*args, **kwargs) and records the outcome."""
    try:
        entry = _registry.get(key)
        if entry is None or entry[0] is None:
            return 1
        fn, args, kwargs, slot = entry
        entry[0] = entry[1] = entry[2] = None  # the task owns them now
        del entry
        if _exiting:
            return 1
        ident = _enter()
        try:
            slot.value = fn(*args, **kwargs) if kwargs else fn(*args)
            slot.state = _OK
            return 0
        except BaseException as e:  # noqa: BLE001 - transported to the joiner
            slot.tb = _strip_tb(e)
            slot.exc = e
            slot.state = _FAILED
            return 1
        finally:
            _leave(ident)
    except BaseException:  # pragma: no cover - never let an exception reach ctypes
        return 1


def _drop_task(key: int) -> None:
    """drop_arg of spawn/JoinSet tasks: the task ended (ran, or was cancelled)."""
    try:
        entry = _registry.pop(key, None)
        if entry is not None:
            slot = entry[3]
            entry[:] = ()
            del entry
            slot.finish()
    except BaseException:  # pragma: no cover
        pass


def _run_future(key: int, output: Any) -> int:
    """tasks_fn of Executor tasks (no drop_arg: one GIL acquisition per task)."""
    try:
        entry = _registry.pop(key, None)
        if entry is None:
            return 1
        fn, args, kwargs, fut, _rt = entry
        del entry, _rt
        if _exiting:
            fut.cancel()
            return 1
        if not fut.set_running_or_notify_cancel():
            return 0
        ident = _enter()
        try:
            r = fn(*args, **kwargs) if kwargs else fn(*args)
        except BaseException as e:  # noqa: BLE001
            del fn, args, kwargs  # released before anyone sees the future done
            _leave(ident)
            _strip_tb(e)
            fut.set_exception(e)
            return 1
        del fn, args, kwargs
        _leave(ident)
        fut.set_result(r)
        return 0
    except BaseException:  # pragma: no cover
        return 1


# Each C thread of our runtimes keeps one Python thread state for its whole life (taken in the
# start hook, given back in the stop hook). Without it every callback from a C thread would
# create and destroy a thread state (slow, and threading.local / current_thread() would not
# persist between the tasks of one worker).
_pyapi = ctypes.pythonapi
_pyapi.PyGILState_Ensure.restype = ctypes.c_int
_pyapi.PyGILState_Ensure.argtypes = []
_pyapi.PyGILState_Release.restype = None
_pyapi.PyGILState_Release.argtypes = [ctypes.c_int]
_pyapi.PyThreadState_SetAsyncExc.restype = ctypes.c_int
_pyapi.PyThreadState_SetAsyncExc.argtypes = [ctypes.c_ulong, ctypes.py_object]
_gil_states: Dict[int, int] = {}


def _thread_start(_data: Any) -> None:
    try:
        _gil_states[_get_ident()] = _pyapi.PyGILState_Ensure()
    except BaseException:  # pragma: no cover
        pass


def _thread_stop(_data: Any) -> None:
    try:
        st = _gil_states.pop(_get_ident(), None)
        if st is not None:
            _pyapi.PyGILState_Release(st)
    except BaseException:  # pragma: no cover
        pass


_C_RUN_TASK = _lib.TASK_FN(_run_task)
_C_DROP_TASK = _lib.DROP_FN(_drop_task)
_C_RUN_FUTURE = _lib.TASK_FN(_run_future)
_C_THREAD_START = _lib.HOOK_FN(_thread_start)
_C_THREAD_STOP = _lib.HOOK_FN(_thread_stop)
_NULL_DROP = _lib.DROP_FN()
_OPTS_TASK = ctypes.pointer(_lib.SpawnOpts(None, _C_DROP_TASK, _NULL_DROP))
# The C side may call these until the process ends: make them immortal, so that module
# teardown at exit never frees a thunk a C thread could still jump to.
for _cb in (_C_RUN_TASK, _C_DROP_TASK, _C_RUN_FUTURE, _C_THREAD_START, _C_THREAD_STOP,
            _OPTS_TASK):
    _pyapi.Py_IncRef(ctypes.py_object(_cb))
del _cb


def _opts(name: Optional[str]) -> Any:
    if name is None:
        return _OPTS_TASK
    return ctypes.pointer(_lib.SpawnOpts(str(name).encode(), _C_DROP_TASK, _NULL_DROP))


def _wait_sliced(call: Callable[[int], int], timeout: Optional[float], forever_ok: bool) -> int:
    """Runs call(timeout_ns) (a C wait returning TIMED_OUT/PENDING while not done) until it
    returns something else or `timeout` passes. On the main thread it waits in slices so that
    signal handlers (Ctrl-C) run in between; elsewhere it waits in one call."""
    if timeout is not None and timeout <= 0:
        return call(0)
    main = _get_ident() == _MAIN_IDENT
    if not main:
        if timeout is None:
            if forever_ok:
                return call(_lib.FOREVER)
        else:
            return call(_ns(timeout))
    deadline = None if timeout is None else _monotonic() + timeout
    while True:
        if deadline is None:
            ns = _SLICE_NS
        else:
            left = deadline - _monotonic()
            if left <= 0:
                return call(0)
            ns = min(_SLICE_NS, _ns(left))
        st = call(ns)
        if st != _lib.TIMED_OUT and st != _lib.PENDING:
            return st


# ----------------------------------------------------------------------------------------------
# Runtime
# ----------------------------------------------------------------------------------------------
_live_runtimes: Dict[int, "Runtime"] = {}  # ptr -> runtime not yet freed (closed at exit)
_runtimes_lock = threading.Lock()


class Runtime:
    """A runtime: worker threads, a blocking pool and the tasks spawned on it.

    A context manager: leaving the ``with`` block closes it (waits for running tasks, cancels
    queued ones). A runtime that is never closed lives until the interpreter exits.
    """

    def __init__(self, workers: Optional[int] = None, *, max_blocking_threads: Optional[int] = None,
                 blocking_keep_alive: Optional[float] = None, thread_name: Optional[str] = None,
                 stack_size: Optional[int] = None) -> None:
        if _exiting:
            raise TasksError(_lib.ERR_SHUTDOWN, "the interpreter is exiting")
        self._lock = threading.Lock()       # guards _ptr for short calls and its release
        self._wait_lock = threading.Lock()  # serializes shutdown waits and the free
        self._ptr: Optional[int] = None
        self._shut = False
        b = _fast.tasks_builder_new()
        if not b:
            raise MemoryError("tasks_builder_new")
        try:
            if workers is not None:
                if int(workers) < 1:
                    raise ValueError("workers must be >= 1")
                _check(_fast.tasks_builder_worker_threads(b, int(workers)), "worker_threads")
            if max_blocking_threads is not None:
                if int(max_blocking_threads) < 1:
                    raise ValueError("max_blocking_threads must be >= 1")
                _check(_fast.tasks_builder_max_blocking_threads(b, int(max_blocking_threads)),
                       "max_blocking_threads")
            if blocking_keep_alive is not None:
                _check(_fast.tasks_builder_blocking_keep_alive(b, _ns(blocking_keep_alive)),
                       "blocking_keep_alive")
            if thread_name is not None:
                _check(_fast.tasks_builder_thread_name(b, thread_name.encode()), "thread_name")
            if stack_size is not None:
                _check(_fast.tasks_builder_thread_stack_size(b, int(stack_size)), "stack_size")
            _check(_fast.tasks_builder_on_thread_start(b, _C_THREAD_START, None), "on_thread_start")
            _check(_fast.tasks_builder_on_thread_stop(b, _C_THREAD_STOP, None), "on_thread_stop")
            out = c_void_p()
            _check(_clib.tasks_builder_build(b, byref(out)), "tasks_builder_build")
        finally:
            _fast.tasks_builder_free(b)
        self._ptr = out.value
        self._id = out.value
        with _runtimes_lock:
            _live_runtimes[out.value] = self

    # -- spawning ------------------------------------------------------------------------------
    def _spawn(self, cfun: Any, extra: tuple, fn: Callable[..., Any], args: tuple,
               kwargs: dict, name: Optional[str]) -> "JoinHandle":
        key, slot = _register_call(fn, args, kwargs)
        out = c_void_p()
        with self._lock:
            ptr = self._ptr
            st = cfun(ptr, *extra, _C_RUN_TASK, key, _opts(name), byref(out)) if ptr \
                else _lib.ERR_SHUTDOWN
        if st != _lib.OK:
            _registry.pop(key, None)
            raise TasksError(st, "spawn")
        return JoinHandle(out.value, slot, name)

    def spawn(self, fn: Callable[..., T], *args: Any, name: Optional[str] = None,
              **kwargs: Any) -> "JoinHandle[T]":
        """Runs ``fn(*args, **kwargs)`` as a task on a worker thread; returns its JoinHandle.
        Raises TasksError(TASKS_ERR_SHUTDOWN) once the runtime is shut down."""
        return self._spawn(_fast.tasks_spawn, (), fn, args, kwargs, name)

    def spawn_blocking(self, fn: Callable[..., T], *args: Any, name: Optional[str] = None,
                       **kwargs: Any) -> "JoinHandle[T]":
        """Runs ``fn(*args, **kwargs)`` on the runtime's blocking pool (for calls that block
        for long: the workers stay free)."""
        return self._spawn(_fast.tasks_spawn_blocking, (), fn, args, kwargs, name)

    def spawn_after(self, delay: float, fn: Callable[..., T], *args: Any,
                    name: Optional[str] = None, **kwargs: Any) -> "JoinHandle[T]":
        """Runs ``fn(*args, **kwargs)`` once ``delay`` seconds have passed (a timer, not a
        sleeping thread); aborting it before then cancels it at once."""
        return self._spawn(_fast.tasks_spawn_after, (_ns(delay),), fn, args, kwargs, name)

    def _spawn_future(self, fut: _cf.Future, fn: Callable[..., Any], args: tuple,
                      kwargs: dict) -> None:
        key = _next_key()
        _registry[key] = (fn, args, kwargs, fut, self)
        with self._lock:
            ptr = self._ptr
            st = _fast.tasks_spawn(ptr, _C_RUN_FUTURE, key, None, None) if ptr \
                else _lib.ERR_SHUTDOWN
        if st != _lib.OK:
            _registry.pop(key, None)
            raise TasksError(st, "spawn")

    # -- state ---------------------------------------------------------------------------------
    def metrics(self) -> Dict[str, int]:
        """The runtime's counters (workers, spawned, completed, failed, cancelled, alive, polls,
        steals, parks, queue depths, blocking threads)."""
        m = _lib.Metrics()
        with self._lock:
            if not self._ptr:
                raise TasksError(_lib.ERR_SHUTDOWN, "runtime closed")
            _fast.tasks_runtime_metrics(self._ptr, byref(m))
        return {f: getattr(m, f) for f, _ in _lib.Metrics._fields_}

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def _shutdown_call(self, ns: int) -> int:
        with self._wait_lock:
            if self._ptr is None:
                return _lib.OK
            self._shut = True
            return _clib.tasks_runtime_shutdown(self._ptr, ns)

    def shutdown(self, timeout: Optional[float] = None) -> bool:
        """Stops new spawns, cancels the tasks that have not started, asks running ones to stop
        (``is_cancelled()`` turns true in them) and waits up to ``timeout`` seconds (None: no
        limit) for them. Returns True when every task has ended. The runtime stays usable for
        metrics and joins; close() frees it."""
        st = _wait_sliced(self._shutdown_call, timeout, forever_ok=False)
        if st == _lib.TIMED_OUT or st == _lib.PENDING:
            return False
        _check(st, "shutdown")
        _reap(self)
        return True

    def close(self) -> None:
        """Shuts down (waiting without limit for running tasks) and frees the runtime's threads.
        Idempotent. Called from one of the runtime's own tasks: TasksError
        (TASKS_ERR_WOULD_DEADLOCK)."""
        if self._ptr is None:
            return
        self.shutdown(None)
        self._free()

    def _free(self) -> None:
        with self._wait_lock:
            with self._lock:
                ptr, self._ptr = self._ptr, None
            if ptr is None:
                return
            st = _clib.tasks_runtime_free(ptr)
            if st != _lib.OK:  # e.g. from one of its own threads: nothing was freed
                self._ptr = ptr
                raise TasksError(st, "tasks_runtime_free")
        with _runtimes_lock:
            _live_runtimes.pop(self._id, None)
        _reap(self)

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._ptr is None else ("shut down" if self._shut else "running")
        return f"<libtasks.Runtime {self._id:#x} {state}>"


def _reap(rt: Runtime) -> None:
    """Executor tasks of `rt` that will never run (their runtime shut down): cancel their
    futures and release their callables."""
    stale = [k for k, v in list(_registry.items()) if type(v) is tuple and v[4] is rt]
    for k in stale:
        entry = _registry.pop(k, None)
        if entry is not None:
            entry[3].cancel()


_default_runtime_obj: Optional[Runtime] = None
_default_lock = threading.Lock()


def default_runtime() -> Runtime:
    """The binding's default runtime (created on first use; TASKS_WORKER_THREADS or one worker
    per CPU). It is owned by Python, unlike the C library's process-wide default runtime, so
    that it can be shut down when the interpreter exits."""
    global _default_runtime_obj
    rt = _default_runtime_obj
    if rt is None:
        with _default_lock:
            rt = _default_runtime_obj
            if rt is None:
                rt = _default_runtime_obj = Runtime()
    return rt


def _current_runtime() -> Runtime:
    """The runtime of the calling task, else the default runtime."""
    p = _fast.tasks_current_runtime()
    if p:
        rt = _live_runtimes.get(p)
        if rt is not None:
            return rt
    return default_runtime()


def spawn(fn: Callable[..., T], *args: Any, name: Optional[str] = None,
          **kwargs: Any) -> "JoinHandle[T]":
    """Spawns on the calling task's runtime, or else on the default runtime."""
    return _current_runtime().spawn(fn, *args, name=name, **kwargs)


def spawn_blocking(fn: Callable[..., T], *args: Any, name: Optional[str] = None,
                   **kwargs: Any) -> "JoinHandle[T]":
    """spawn_blocking on the calling task's runtime, or else on the default runtime."""
    return _current_runtime().spawn_blocking(fn, *args, name=name, **kwargs)


def metrics(rt: Optional[Runtime] = None) -> Dict[str, int]:
    """Counters of ``rt`` (default: the calling task's runtime, else the default runtime)."""
    return (rt or _current_runtime()).metrics()


def current_task_id() -> int:
    """Id of the task running on this thread; 0 outside a task."""
    return _fast.tasks_current_id()


def current_task_name() -> Optional[str]:
    """Name of the task running on this thread; None if unnamed or outside a task."""
    n = _fast.tasks_current_name()
    return None if n is None else n.decode(errors="replace")


def is_cancelled() -> bool:
    """Inside a task: has abort (or runtime shutdown) been requested? False outside a task.
    Long-running tasks check it to stop early (a running task is never interrupted)."""
    return bool(_fast.tasks_current_is_cancelled())


# ----------------------------------------------------------------------------------------------
# Join handles
# ----------------------------------------------------------------------------------------------
def _settle(fut: "asyncio.Future[Any]", slot: _Slot) -> None:
    if fut.done():
        return
    try:
        fut.set_result(slot.outcome())
    except BaseException as e:  # noqa: BLE001 - the task's exception, or Cancelled
        fut.set_exception(e)


def _await_slot(slot: _Slot) -> Generator[Any, None, Any]:
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def done(s: _Slot) -> None:  # any thread (the task's drop_arg)
        try:
            loop.call_soon_threadsafe(_settle, fut, s)
        except RuntimeError:  # the loop is closed
            pass

    slot.add_done_callback(done)
    return (yield from fut.__await__())


class JoinHandle:
    """The owner's handle on a task: join it (``join()`` or ``await``), abort it, ask about
    it. Dropping the handle detaches the task (it keeps running)."""

    __slots__ = ("_ptr", "_slot", "name", "_id", "_status", "__weakref__")

    def __init__(self, ptr: int, slot: _Slot, name: Optional[str]) -> None:
        self._ptr = ptr
        self._slot = slot
        self.name = name
        self._id: int = _fast.tasks_join_handle_id(ptr)
        self._status: Optional[int] = None

    def __class_getitem__(cls, item: Any) -> Any:  # JoinHandle[int] in annotations
        return cls

    @property
    def id(self) -> int:
        """The task's id (unique in the process, never 0)."""
        return self._id

    def _join_call(self, ns: int) -> int:
        if ns == 0:
            return _fast.tasks_join_handle_join(self._ptr, 0, None)
        return _clib.tasks_join_handle_join(self._ptr, ns, None)

    def join(self, timeout: Optional[float] = None) -> Any:
        """Waits for the task (up to ``timeout`` seconds; None: no limit) and returns its value.
        Re-raises the task's exception (with its traceback), raises Cancelled if it was
        aborted before it completed, TimeoutError if it did not finish in time."""
        st = self._status
        if st is None:
            st = _fast.tasks_join_handle_join(self._ptr, 0, None)
            if st == _lib.PENDING:
                st = _wait_sliced(self._join_call, timeout, forever_ok=True)
            if st == _lib.TIMED_OUT or st == _lib.PENDING:
                raise TimeoutError(f"task {self._id} did not finish within {timeout} s")
            _check(st, "join")
            self._status = st
        if st == _lib.CANCELLED:
            raise Cancelled(f"task {self._id} was cancelled")
        return self._slot.outcome()

    result = join

    def abort(self) -> None:
        """Requests cancellation: a task that has not started is cancelled at once; a running
        one sees is_cancelled() turn true (it is not interrupted). No effect once it ended."""
        _fast.tasks_join_handle_abort(self._ptr)

    def done(self) -> bool:
        """True once the task has ended (completed, failed or cancelled)."""
        return bool(_fast.tasks_join_handle_is_finished(self._ptr))

    def cancelled(self) -> bool:
        """True if the task ended by cancellation (it never completed)."""
        if self._status is None:
            if not _fast.tasks_join_handle_is_finished(self._ptr):
                return False
            self._status = _check(_fast.tasks_join_handle_join(self._ptr, 0, None), "join")
        return self._status == _lib.CANCELLED

    def __await__(self) -> Generator[Any, None, Any]:
        """``await handle`` from any asyncio loop: the loop is not blocked (the task's end is
        reported to the loop with call_soon_threadsafe). Cancelling the awaiting coroutine
        does not abort the task."""
        return _await_slot(self._slot)

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

    def __init__(self, id: int, name: Optional[str], status: int, slot: _Slot) -> None:
        self.id, self.name, self._status, self._slot = id, name, status, slot

    def join(self, timeout: Optional[float] = None) -> Any:
        if self._status == _lib.CANCELLED:
            raise Cancelled(f"task {self.id} was cancelled")
        return self._slot.outcome()

    result = join

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
                f"status={_lib.STATUS_NAMES.get(self._status)}>")


# ----------------------------------------------------------------------------------------------
# Join sets
# ----------------------------------------------------------------------------------------------
class JoinSet:
    """Tasks on one runtime, joined in the order they finish. Closing it (or dropping it)
    aborts the tasks left. Thread-safe (calls are serialized)."""

    def __init__(self, rt: Optional[Runtime] = None) -> None:
        self._rt = rt if rt is not None else _current_runtime()
        self._lock = threading.Lock()
        self._ptr: Optional[int] = None
        self._slots: Dict[int, tuple] = {}
        out = c_void_p()
        with self._rt._lock:
            p = self._rt._ptr
            st = _fast.tasks_join_set_new(p, byref(out)) if p else _lib.ERR_SHUTDOWN
        _check(st, "tasks_join_set_new")
        self._ptr = out.value

    def spawn(self, fn: Callable[..., Any], *args: Any, name: Optional[str] = None,
              **kwargs: Any) -> int:
        """Spawns ``fn(*args, **kwargs)`` into the set; returns the task's id."""
        key, slot = _register_call(fn, args, kwargs)
        tid = c_uint64()
        with self._lock:
            if self._ptr is None:
                st = _lib.ERR_INVALID
            else:
                st = _fast.tasks_join_set_spawn(self._ptr, _C_RUN_TASK, key, _opts(name),
                                                byref(tid))
            if st == _lib.OK:
                self._slots[tid.value] = (slot, name)
        if st != _lib.OK:
            _registry.pop(key, None)
            raise TasksError(st, "JoinSet.spawn" if self._ptr else "JoinSet is closed")
        return tid.value

    def _next_call(self, tid: c_uint64, ns: int) -> int:
        with self._lock:
            if self._ptr is None:
                return _lib.EMPTY
            if ns == 0:
                return _fast.tasks_join_set_join_next(self._ptr, 0, None, byref(tid))
            return _clib.tasks_join_set_join_next(self._ptr, ns, None, byref(tid))

    def join_next_task(self, timeout: Optional[float] = None) -> FinishedTask:
        """The next task to finish, as a FinishedTask (completion order). Raises Empty if the
        set has no tasks left, TimeoutError if none finished within ``timeout`` seconds."""
        tid = c_uint64()
        st = self._next_call(tid, 0)
        if st == _lib.PENDING and (timeout is None or timeout > 0):
            # Sliced on every thread (not only the main one, where slices let Ctrl-C through):
            # the set's lock is never held for long, so spawn from another thread goes on.
            deadline = None if timeout is None else _monotonic() + timeout
            while True:
                if deadline is None:
                    ns = _SLICE_NS
                else:
                    ns = min(_SLICE_NS, _ns(deadline - _monotonic()))
                st = self._next_call(tid, ns)
                if (st != _lib.TIMED_OUT and st != _lib.PENDING) or ns == 0:
                    break
        if st == _lib.EMPTY:
            raise Empty("the join set has no tasks left")
        if st == _lib.TIMED_OUT or st == _lib.PENDING:
            raise TimeoutError(f"no task of the set finished within {timeout} s")
        _check(st, "join_next")
        with self._lock:
            slot, name = self._slots.pop(tid.value, (None, None))
        if slot is None:  # pragma: no cover - every task of the set has a slot
            slot = _Slot()
        return FinishedTask(tid.value, name, st, slot)

    def join_next(self, timeout: Optional[float] = None) -> Any:
        """Value of the next task to finish (raises as JoinHandle.join does); Empty if none
        left, TimeoutError if none finished within ``timeout`` seconds."""
        return self.join_next_task(timeout).join()

    def __iter__(self) -> Iterator[FinishedTask]:
        """The tasks as they finish (completion order) until the set is empty, like
        concurrent.futures.as_completed: ``for t in js: t.join()``."""
        while True:
            try:
                t = self.join_next_task(None)
            except Empty:
                return
            yield t

    def abort_all(self) -> None:
        """Aborts every task in the set; they stay in it, and join_next returns them
        (cancelled, or with their result if they finished anyway)."""
        with self._lock:
            if self._ptr is not None:
                _fast.tasks_join_set_abort_all(self._ptr)

    def __len__(self) -> int:
        """Tasks spawned into the set and not yet returned by join_next (finished or not)."""
        with self._lock:
            return 0 if self._ptr is None else _fast.tasks_join_set_len(self._ptr)

    def close(self) -> None:
        """Aborts the tasks left and frees the set. Idempotent."""
        with self._lock:
            p, self._ptr = self._ptr, None
            self._slots.clear()
        if p:
            _clib.tasks_join_set_free(p)

    def __del__(self, _free: Any = _clib.tasks_join_set_free) -> None:
        p = getattr(self, "_ptr", None)
        if p:
            self._ptr = None
            _free(p)

    def __enter__(self) -> "JoinSet":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<libtasks.JoinSet len={len(self)}>"


# ----------------------------------------------------------------------------------------------
# Executor
# ----------------------------------------------------------------------------------------------
class Executor(_cf.Executor):
    """A concurrent.futures.Executor whose calls run as libtasks tasks on a runtime of its own
    (``max_workers`` worker threads; default: one per CPU or TASKS_WORKER_THREADS). A drop-in
    for ThreadPoolExecutor: submit, map (timeout, chunksize), shutdown(wait, cancel_futures),
    and it works with asyncio's loop.run_in_executor and concurrent.futures.as_completed."""

    def __init__(self, max_workers: Optional[int] = None, thread_name_prefix: str = "") -> None:
        if max_workers is not None and max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self._rt = Runtime(workers=max_workers, thread_name=thread_name_prefix or None)
        self._shutdown = False
        self._shutdown_lock = threading.Lock()

    @property
    def runtime(self) -> Runtime:
        return self._rt

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> "_cf.Future[T]":
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        if _exiting:
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")
        fut: _cf.Future = _cf.Future()
        try:
            self._rt._spawn_future(fut, fn, args, kwargs)
        except TasksError as e:
            raise RuntimeError(f"cannot schedule new futures: {e}") from e
        return fut

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any], timeout: Optional[float] = None,
            chunksize: int = 1) -> Iterator[T]:
        """As Executor.map; with chunksize > 1 each task runs ``chunksize`` calls."""
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        if chunksize == 1:
            return super().map(fn, *iterables, timeout=timeout)
        it = zip(*iterables)

        def run_chunk(chunk: List[tuple]) -> List[T]:
            return [fn(*a) for a in chunk]

        def chunks() -> Iterator[List[tuple]]:
            while True:
                c = list(itertools.islice(it, chunksize))
                if not c:
                    return
                yield c

        results = super().map(run_chunk, chunks(), timeout=timeout)
        return itertools.chain.from_iterable(results)

    def _wait_idle(self) -> None:
        rt = self._rt
        delay = 0.0005
        while True:
            try:
                if rt.metrics()["alive"] == 0:
                    return
            except TasksError:
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuses new calls. cancel_futures: cancels the calls that have not started. wait:
        waits for the calls left, then frees the runtime (without wait, that happens in the
        background)."""
        with self._shutdown_lock:
            self._shutdown = True
        rt = self._rt
        if cancel_futures:
            for v in list(_registry.values()):
                if type(v) is tuple and v[4] is rt:
                    v[3].cancel()
        if wait:
            p = _fast.tasks_current_runtime()
            if p and p == rt._ptr:
                raise RuntimeError("Executor.shutdown(wait=True) called from one of its own calls")
            self._wait_idle()
            rt.close()
        elif not rt.closed:
            def closer() -> None:
                try:
                    self._wait_idle()
                    rt.close()
                except Exception:  # pragma: no cover - e.g. closed at interpreter exit
                    pass
            threading.Thread(target=closer, daemon=True, name="libtasks-executor-close").start()


# ----------------------------------------------------------------------------------------------
# Interpreter exit
# ----------------------------------------------------------------------------------------------
# C threads must never enter a Python callback once the interpreter finalizes: CPython < 3.14
# ends such a thread with pthread_exit, whose forced unwinding through the library's Rust frames
# aborts the process ("FATAL: exception not rethrown"). So at exit (atexit runs before
# finalization): callbacks stop running user code, every runtime we created is shut down
# (queued tasks cancelled), task code still running is interrupted (an exception raised in its
# thread), and the runtimes whose tasks all ended are freed, which joins all their threads.
# If some task is still stuck in a blocking call after LIBTASKS_EXIT_TIMEOUT seconds (default
# 1), it could re-enter Python during finalization: then, before Python 3.14, the process ends
# here with os._exit after flushing stdio (status: the sys.exit code, 1 after an uncaught
# exception, else 0).
_exit_code: List[Any] = [None]
_orig_sys_exit = sys.exit


def _recording_exit(code: Any = None) -> None:
    _exit_code[0] = code
    _orig_sys_exit(code)


sys.exit = _recording_exit


def _exit_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get("LIBTASKS_EXIT_TIMEOUT", "1")))
    except ValueError:
        return 1.0


def _interrupt_running() -> None:
    for ident in list(_running):
        if ident != _MAIN_IDENT:
            _pyapi.PyThreadState_SetAsyncExc(ident, ctypes.py_object(_InterpreterExit))


def _at_exit() -> None:
    global _exiting
    _exiting = True
    with _runtimes_lock:
        rts = list(_live_runtimes.values())
    deadline = _monotonic() + _exit_timeout()
    pending = []
    for rt in rts:
        try:
            if rt._shutdown_call(0) != _lib.OK:
                pending.append(rt)
        except Exception:  # pragma: no cover
            pass
    while pending and _monotonic() < deadline:
        _interrupt_running()
        pending = [rt for rt in pending if rt._shutdown_call(int(0.01e9)) != _lib.OK]
    for rt in rts:
        if rt not in pending:
            try:
                rt._free()
            except Exception:  # pragma: no cover
                pass
        else:
            _reap(rt)
    if not pending or sys.version_info >= (3, 14):
        return
    # Last resort (see above).
    code = _exit_code[0]
    if code is None:
        status = 1 if getattr(sys, "last_value", None) is not None else 0
    elif isinstance(code, int):
        status = code & 0xFF
    else:
        try:
            sys.stderr.write(f"{code}\n")
        except Exception:  # pragma: no cover
            pass
        status = 1
    if "logging" in sys.modules:
        try:
            sys.modules["logging"].shutdown()
        except Exception:  # pragma: no cover
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # pragma: no cover
            pass
    os._exit(status)


atexit.register(_at_exit)


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's runtime threads: its runtimes are unusable
    (spawns raise TasksError) and never touched again (not even freed); the default runtime
    is created afresh on first use."""
    global _default_runtime_obj, _cb_lock, _runtimes_lock, _default_lock
    _cb_lock, _runtimes_lock, _default_lock = threading.Lock(), threading.Lock(), threading.Lock()
    for rt in list(_live_runtimes.values()):
        rt._lock, rt._wait_lock = threading.Lock(), threading.Lock()
        rt._ptr = None
    _live_runtimes.clear()
    _registry.clear()
    _running.clear()
    _gil_states.clear()
    _default_runtime_obj = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
