"""What every part of the binding shares: errors, the registry of calls in flight, the C
callbacks of spawn/JoinSet tasks, the runtime threads' start/stop hooks, and sliced waits."""
from __future__ import annotations

import concurrent.futures as _cf
import ctypes
import itertools
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _lib
from ._lib import fast as _fast

_SLICE = 0.05  # seconds: longest uninterrupted wait on the main thread (Ctrl-C latency)
_SLICE_NS = int(_SLICE * 1e9)
get_ident = threading.get_ident
MAIN_IDENT = threading.main_thread().ident
monotonic = time.monotonic

# Set at interpreter exit (see _exit): callbacks run no more user code, spawns are refused.
exiting = False


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------
class TasksError(RuntimeError):
    """An error status from the C API. ``status`` is the code, ``name`` e.g. TASKS_ERR_SHUTDOWN;
    the message is the library's text for it (tasks_status_str)."""

    def __init__(self, status: int, what: str = "") -> None:
        self.status = status
        self.name = _lib.status_name(status)
        text = _lib.status_text(status)
        if not text.startswith(self.name):  # a value the library does not know
            text = f"{self.name}: {text}"
        super().__init__(f"{what}: {text}" if what else text)


class Cancelled(_cf.CancelledError):
    """The task was aborted (or its runtime shut down) before it completed."""


class Empty(LookupError):
    """A JoinSet has no tasks left."""


class InterpreterExit(BaseException):
    """Raised inside tasks still running Python code when the interpreter exits."""


def check(st: int, what: str) -> int:
    if st < 0:
        raise TasksError(st, what)
    return st


def to_ns(seconds: float) -> int:
    return max(0, min(int(seconds * 1e9), _lib.FOREVER - 1))


# ----------------------------------------------------------------------------------------------
# Outcomes and the registry of calls in flight
# ----------------------------------------------------------------------------------------------
PENDING, OK, FAILED = 0, 1, 2
_cb_lock = threading.Lock()  # orders done-callback registration against completion


class Slot:
    """The outcome of one spawn/JoinSet task (kept by its handle; holds no reference to the
    callable). Once ``finished`` is set it is the whole truth about the task: OK or FAILED if
    it ran, still PENDING if it was cancelled before it ran."""

    __slots__ = ("state", "value", "exc", "tb", "finished", "_cbs", "__weakref__")

    def __init__(self) -> None:
        self.state = PENDING
        self.value: Any = None
        self.exc: Optional[BaseException] = None
        self.tb: Any = None
        self.finished = False
        self._cbs: Optional[List[Callable[["Slot"], None]]] = None

    def finish(self) -> None:  # the task ended (ran, or cancelled before it ran)
        with _cb_lock:
            self.finished = True
            cbs, self._cbs = self._cbs, None
        if cbs:
            for cb in cbs:
                cb(self)  # our callbacks never raise (user ones are wrapped by the handle)

    def add_done_callback(self, cb: Callable[["Slot"], None]) -> None:
        """cb(slot) once the task ended: at once (on this thread) if it has, else on the thread
        that ends it."""
        with _cb_lock:
            if not self.finished:
                if self._cbs is None:
                    self._cbs = []
                self._cbs.append(cb)
                return
        cb(self)

    def cancelled(self) -> bool:
        return self.finished and self.state == PENDING

    def error(self) -> BaseException:
        """The exception a join of this finished, failed or cancelled task raises, with the
        task's own traceback."""
        if self.state == FAILED:
            if self.exc is None:
                return TasksError(_lib.FAILED, "task failed")
            return self.exc.with_traceback(self.tb)
        return Cancelled("task cancelled")

    def outcome(self) -> Any:
        """Value of a finished task; raises its exception or Cancelled."""
        if self.state == OK:
            return self.value
        raise self.error()


# key (the C task's `arg`) -> [fn, args, kwargs, slot] for spawn/JoinSet tasks; Executor entries
# are described in _executor. The entry is what keeps the callable and its arguments alive
# while the task is queued; the running task holds them in locals, so they are released as soon
# as it returns (or when it is cancelled: drop_arg / reaping).
registry: Dict[int, Any] = {}
next_key = itertools.count(1).__next__
running: Dict[int, int] = {}  # thread ident -> depth of task code running on it (exit interrupts)


def register_call(fn: Callable[..., Any], args: Tuple[Any, ...],
                  kwargs: Dict[str, Any]) -> Tuple[int, Slot]:
    """Checks a call about to be spawned and keeps it alive in the registry until the task
    ends; returns its registry key and the slot its outcome goes to."""
    if not callable(fn):
        raise TypeError(f"{fn!r} is not callable")
    if exiting:
        raise TasksError(_lib.ERR_SHUTDOWN, "the interpreter is exiting")
    slot = Slot()
    key = next_key()
    registry[key] = [fn, args, kwargs, slot]
    return key, slot


def strip_tb(e: BaseException) -> Any:
    """The traceback from the task's own frames on: our frame (which references the callable
    and its arguments) is dropped."""
    tb = e.__traceback__
    if tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    e.__traceback__ = tb
    return tb


def enter() -> int:
    ident = get_ident()
    running[ident] = running.get(ident, 0) + 1
    return ident


def leave(ident: int) -> None:
    n = running.get(ident, 1) - 1
    if n:
        running[ident] = n
    else:
        running.pop(ident, None)


def _run_task(key: int, output: Any) -> int:
    """tasks_fn of spawn/JoinSet tasks: runs fn(*args, **kwargs) and records the outcome."""
    try:
        entry = registry.get(key)
        if entry is None or entry[0] is None:
            return 1
        fn, args, kwargs, slot = entry
        entry[0] = entry[1] = entry[2] = None  # the task owns them now
        del entry
        if exiting:
            return 1
        ident = enter()
        try:
            slot.value = fn(*args, **kwargs) if kwargs else fn(*args)
            slot.state = OK
            return 0
        except BaseException as e:  # noqa: BLE001 - transported to the joiner
            slot.tb = strip_tb(e)
            slot.exc = e
            slot.state = FAILED
            return 1
        finally:
            leave(ident)
    except BaseException:  # pragma: no cover - never let an exception reach ctypes
        return 1


def _drop_task(key: int) -> None:
    """drop_arg of spawn/JoinSet tasks: the task ended (ran, or was cancelled)."""
    try:
        entry = registry.pop(key, None)
        if entry is not None:
            slot = entry[3]
            entry[:] = ()
            del entry
            slot.finish()
    except BaseException:  # pragma: no cover
        pass


# ----------------------------------------------------------------------------------------------
# Runtime threads: one Python thread state and a Python-visible name each
# ----------------------------------------------------------------------------------------------
# Each C thread of our runtimes keeps one Python thread state for its whole life (taken in the
# start hook, given back in the stop hook). Without it every callback from a C thread would
# create and destroy a thread state (slow, and threading.local / current_thread() would not
# persist between the tasks of one worker).
pyapi = ctypes.pythonapi
pyapi.PyGILState_Ensure.restype = ctypes.c_int
pyapi.PyGILState_Ensure.argtypes = []
pyapi.PyGILState_Release.restype = None
pyapi.PyGILState_Release.argtypes = [ctypes.c_int]
pyapi.PyThreadState_SetAsyncExc.restype = ctypes.c_int
pyapi.PyThreadState_SetAsyncExc.argtypes = [ctypes.c_ulong, ctypes.py_object]
gil_states: Dict[int, int] = {}

# The `data` of a runtime's thread hooks -> a function giving each new thread of that runtime
# its Python name (threading.current_thread().name, logging's %(threadName)s).
thread_namers: Dict[int, Callable[[], str]] = {}


def _thread_start(data: Optional[int]) -> None:
    try:
        gil_states[get_ident()] = pyapi.PyGILState_Ensure()
        namer = thread_namers.get(data or 0)
        if namer is not None:
            # A foreign thread's current_thread() is a _DummyThread registered in threading's
            # table of live threads; it keeps this name for the thread's whole life.
            threading.current_thread().name = namer()
    except BaseException:  # pragma: no cover
        pass


def _thread_stop(_data: Optional[int]) -> None:
    try:
        ident = get_ident()
        # threading never forgets a foreign thread by itself (no Python code ends it): without
        # this, threading.enumerate()/active_count() would keep every runtime thread ever seen.
        active = getattr(threading, "_active", None)
        lock = getattr(threading, "_active_limbo_lock", None)
        if active is not None and lock is not None:
            with lock:
                t = active.get(ident)
                if isinstance(t, threading._DummyThread):
                    del active[ident]
        st = gil_states.pop(ident, None)
        if st is not None:
            pyapi.PyGILState_Release(st)
    except BaseException:  # pragma: no cover
        pass


C_RUN_TASK = _lib.TASK_FN(_run_task)
C_DROP_TASK = _lib.DROP_FN(_drop_task)
C_THREAD_START = _lib.HOOK_FN(_thread_start)
C_THREAD_STOP = _lib.HOOK_FN(_thread_stop)
NULL_DROP = _lib.DROP_FN()
OPTS_TASK = ctypes.pointer(_lib.SpawnOpts(None, C_DROP_TASK, NULL_DROP))


def immortal(*objs: Any) -> None:
    """The C side may call these until the process ends: module teardown at exit must never
    free a thunk a C thread could still jump to."""
    for o in objs:
        pyapi.Py_IncRef(ctypes.py_object(o))


immortal(C_RUN_TASK, C_DROP_TASK, C_THREAD_START, C_THREAD_STOP, OPTS_TASK)


def opts(name: Optional[str]) -> Any:
    if name is None:
        return OPTS_TASK
    return ctypes.pointer(_lib.SpawnOpts(str(name).encode(), C_DROP_TASK, NULL_DROP))


def wait_sliced(call: Callable[[int], int], timeout: Optional[float], forever_ok: bool) -> int:
    """Runs call(timeout_ns) (a C wait returning TIMED_OUT/PENDING while not done) until it
    returns something else or `timeout` passes. On the main thread it waits in slices so that
    signal handlers (Ctrl-C) run in between; elsewhere it waits in one call."""
    if timeout is not None and timeout <= 0:
        return call(0)
    main = get_ident() == MAIN_IDENT
    if not main:
        if timeout is None:
            if forever_ok:
                return call(_lib.FOREVER)
        else:
            return call(to_ns(timeout))
    deadline = None if timeout is None else monotonic() + timeout
    while True:
        if deadline is None:
            ns = _SLICE_NS
        else:
            left = deadline - monotonic()
            if left <= 0:
                return call(0)
            ns = min(_SLICE_NS, to_ns(left))
        st = call(ns)
        if st != _lib.TIMED_OUT and st != _lib.PENDING:
            return st


def version() -> str:
    """Version of the loaded libtasks.so, e.g. "0.1.0"."""
    return str(_fast.tasks_version().decode())
