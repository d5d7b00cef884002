"""Runtime: worker threads, a blocking pool and the tasks spawned on it; the default runtime
and the module-level spawn functions."""
from __future__ import annotations

import itertools
import threading
from ctypes import byref, c_void_p
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple, TypeVar

from . import _core, _lib
from ._core import TasksError, check, to_ns
from ._lib import fast as _fast
from ._lib import lib as _clib

if TYPE_CHECKING:
    from ._handle import JoinHandle

T = TypeVar("T")

live_runtimes: Dict[int, "Runtime"] = {}  # ptr -> runtime not yet freed (closed at exit)
runtimes_lock = threading.Lock()
_hook_keys = itertools.count(1).__next__


class Runtime:
    """A runtime: worker threads, a blocking pool and the tasks spawned on it.

    A context manager: leaving the ``with`` block closes it (waits for running tasks, cancels
    queued ones). A runtime that is never closed lives until the interpreter exits.
    Its threads are visible to Python as ``<thread_name>-<n>`` (default ``tasks-worker-<n>``).
    """

    def __init__(self, workers: Optional[int] = None, *, max_blocking_threads: Optional[int] = None,
                 blocking_keep_alive: Optional[float] = None, thread_name: Optional[str] = None,
                 stack_size: Optional[int] = None) -> None:
        self._init(workers, max_blocking_threads, blocking_keep_alive, thread_name, stack_size,
                   "{prefix}-{n}")

    def _init(self, workers: Optional[int], max_blocking_threads: Optional[int],
              blocking_keep_alive: Optional[float], thread_name: Optional[str],
              stack_size: Optional[int], py_name_format: str) -> None:
        if _core.exiting:
            raise TasksError(_lib.ERR_SHUTDOWN, "the interpreter is exiting")
        self._lock = threading.Lock()       # guards _ptr for short calls and its release
        self._wait_lock = threading.Lock()  # serializes shutdown waits and the free
        self._ptr: Optional[int] = None
        self._shut = False
        # Called (with no lock held) when queued tasks can no longer run: the Executor cancels
        # the futures whose tasks the C side dropped.
        self._on_reap: Optional[Callable[[], None]] = None
        prefix = thread_name or "tasks-worker"
        counter = itertools.count().__next__
        self._hook_key = _hook_keys()
        _core.thread_namers[self._hook_key] = lambda: py_name_format.format(prefix=prefix,
                                                                            n=counter())
        b = _fast.tasks_builder_new()
        if not b:
            raise MemoryError("tasks_builder_new")
        try:
            if workers is not None:
                if int(workers) < 1:
                    raise ValueError("workers must be >= 1")
                check(_fast.tasks_builder_worker_threads(b, int(workers)), "worker_threads")
            if max_blocking_threads is not None:
                if int(max_blocking_threads) < 1:
                    raise ValueError("max_blocking_threads must be >= 1")
                check(_fast.tasks_builder_max_blocking_threads(b, int(max_blocking_threads)),
                      "max_blocking_threads")
            if blocking_keep_alive is not None:
                check(_fast.tasks_builder_blocking_keep_alive(b, to_ns(blocking_keep_alive)),
                      "blocking_keep_alive")
            if thread_name is not None:
                check(_fast.tasks_builder_thread_name(b, thread_name.encode()), "thread_name")
            if stack_size is not None:
                check(_fast.tasks_builder_thread_stack_size(b, int(stack_size)), "stack_size")
            check(_fast.tasks_builder_on_thread_start(b, _core.C_THREAD_START, self._hook_key),
                  "on_thread_start")
            check(_fast.tasks_builder_on_thread_stop(b, _core.C_THREAD_STOP, self._hook_key),
                  "on_thread_stop")
            out = c_void_p()
            check(_clib.tasks_builder_build(b, byref(out)), "tasks_builder_build")
        except BaseException:
            _core.thread_namers.pop(self._hook_key, None)
            raise
        finally:
            _fast.tasks_builder_free(b)
        assert out.value is not None
        self._ptr = out.value
        self._id: int = out.value
        with runtimes_lock:
            live_runtimes[out.value] = self

    # -- spawning ------------------------------------------------------------------------------
    def _spawn(self, cfun: Any, extra: Tuple[Any, ...], fn: Callable[..., Any],
               args: Tuple[Any, ...], kwargs: Dict[str, Any],
               name: Optional[str]) -> "JoinHandle[Any]":
        from ._handle import JoinHandle
        key, slot = _core.register_call(fn, args, kwargs)
        out = c_void_p()
        with self._lock:
            ptr = self._ptr
            st = cfun(ptr, *extra, _core.C_RUN_TASK, key, _core.opts(name), byref(out)) if ptr \
                else _lib.ERR_SHUTDOWN
        if st != _lib.OK:
            _core.registry.pop(key, None)
            raise TasksError(st, "spawn")
        assert out.value is not None
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
        return self._spawn(_fast.tasks_spawn_after, (to_ns(delay),), fn, args, kwargs, name)

    def _spawn_raw(self, cfun: Any, key: int) -> int:
        """Spawns a detached task running cfun(key) (the Executor's own callbacks); the status."""
        with self._lock:
            ptr = self._ptr
            return int(_fast.tasks_spawn(ptr, cfun, key, None, None)) if ptr \
                else _lib.ERR_SHUTDOWN

    # -- state ---------------------------------------------------------------------------------
    def metrics(self) -> Dict[str, int]:
        """The runtime's counters (workers, spawned, completed, failed, cancelled, alive, polls,
        steals, parks, queue depths, blocking threads)."""
        m = _lib.Metrics()
        with self._lock:
            if not self._ptr:
                raise TasksError(_lib.ERR_SHUTDOWN, "runtime closed")
            _fast.tasks_runtime_metrics(self._ptr, byref(m))
        return {f[0]: int(getattr(m, f[0])) for f in _lib.Metrics._fields_}

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def _shutdown_call(self, ns: int) -> int:
        with self._wait_lock:
            if self._ptr is None:
                return _lib.OK
            self._shut = True
            return int(_clib.tasks_runtime_shutdown(self._ptr, ns))

    def shutdown(self, timeout: Optional[float] = None) -> bool:
        """Stops new spawns, cancels the tasks that have not started, asks running ones to stop
        (``is_cancelled()`` turns true in them) and waits up to ``timeout`` seconds (None: no
        limit) for them. Returns True when every task has ended. The runtime stays usable for
        metrics and joins; close() frees it."""
        st = _core.wait_sliced(self._shutdown_call, timeout, forever_ok=False)
        if st == _lib.TIMED_OUT or st == _lib.PENDING:
            return False
        check(st, "shutdown")
        self._reap()
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
        _core.thread_namers.pop(self._hook_key, None)  # every thread has exited
        with runtimes_lock:
            live_runtimes.pop(self._id, None)
        self._reap()

    def _reap(self) -> None:
        if self._on_reap is not None:
            self._on_reap()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._ptr is None else ("shut down" if self._shut else "running")
        return f"<libtasks.Runtime {self._id:#x} {state}>"


_default_runtime_obj: Optional[Runtime] = None
default_lock = threading.Lock()


def default_runtime() -> Runtime:
    """The binding's default runtime (created on first use; TASKS_WORKER_THREADS or one worker
    per CPU). It is owned by Python, unlike the C library's process-wide default runtime, so
    that it can be shut down when the interpreter exits."""
    global _default_runtime_obj
    rt = _default_runtime_obj
    if rt is None:
        with default_lock:
            rt = _default_runtime_obj
            if rt is None:
                rt = _default_runtime_obj = Runtime()
    return rt


def after_fork_in_child() -> None:
    """A forked child has none of the parent's runtime threads: its runtimes are unusable
    (spawns raise TasksError) and never touched again (not even freed)."""
    global _default_runtime_obj, runtimes_lock, default_lock
    runtimes_lock, default_lock = threading.Lock(), threading.Lock()
    for rt in list(live_runtimes.values()):
        rt._lock, rt._wait_lock = threading.Lock(), threading.Lock()
        rt._ptr = None
    live_runtimes.clear()
    _default_runtime_obj = None


def current_runtime() -> Runtime:
    """The runtime of the calling task, else the default runtime."""
    p = _fast.tasks_current_runtime()
    if p:
        rt = live_runtimes.get(p)
        if rt is not None:
            return rt
    return default_runtime()


def spawn(fn: Callable[..., T], *args: Any, name: Optional[str] = None,
          **kwargs: Any) -> "JoinHandle[T]":
    """Spawns on the calling task's runtime, or else on the default runtime."""
    return current_runtime().spawn(fn, *args, name=name, **kwargs)


def spawn_blocking(fn: Callable[..., T], *args: Any, name: Optional[str] = None,
                   **kwargs: Any) -> "JoinHandle[T]":
    """spawn_blocking on the calling task's runtime, or else on the default runtime."""
    return current_runtime().spawn_blocking(fn, *args, name=name, **kwargs)


def metrics(rt: Optional[Runtime] = None) -> Dict[str, int]:
    """Counters of ``rt`` (default: the calling task's runtime, else the default runtime)."""
    return (rt or current_runtime()).metrics()


def current_task_id() -> int:
    """Id of the task running on this thread; 0 outside a task."""
    return int(_fast.tasks_current_id())


def current_task_name() -> Optional[str]:
    """Name of the task running on this thread; None if unnamed or outside a task."""
    n = _fast.tasks_current_name()
    return None if n is None else str(n.decode(errors="replace"))


def is_cancelled() -> bool:
    """Inside a task: has abort (or runtime shutdown) been requested? False outside a task.
    Long-running tasks check it to stop early (a running task is never interrupted)."""
    return bool(_fast.tasks_current_is_cancelled())
