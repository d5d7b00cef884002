"""Executor: a concurrent.futures.Executor over a libtasks runtime of its own, keeping the
promises ThreadPoolExecutor keeps (see the class docstring)."""
from __future__ import annotations

import concurrent.futures as _cf
import concurrent.futures.thread as _cft
import itertools
import logging
import threading
import weakref
from typing import Any, Callable, Iterable, Iterator, Optional, Set, Tuple, TypeVar

from . import _core, _lib
from ._core import monotonic
from ._lib import fast as _fast
from ._map import MapRun
from ._runtime import Runtime

T = TypeVar("T")

# ThreadPoolExecutor reports a failing initializer on this logger; code (and CPython's own
# tests) written for it look there.
_LOGGER = logging.getLogger("concurrent.futures")
_counter = itertools.count().__next__

# Set at interpreter exit once pending calls are being waited for (see _exit): like
# ThreadPoolExecutor, new calls are refused from then on.
exiting = False


class BrokenExecutor(_cft.BrokenThreadPool):
    """An initializer failed: the Executor runs no more calls. A
    concurrent.futures.BrokenExecutor (and ThreadPoolExecutor's BrokenThreadPool)."""


class ExecState:
    """What an Executor's calls share with it. Holds no reference to the Executor, so that the
    Executor can be garbage-collected while calls are pending (then this releases the runtime
    once they are done)."""

    def __init__(self, rt: Runtime, max_workers: int, initializer: Optional[Callable[..., Any]],
                 initargs: Tuple[Any, ...]) -> None:
        self.rt = rt
        self.max_workers = max_workers
        self.initializer = initializer
        self.initargs = initargs
        self.inited: Set[int] = set()       # threads that ran the initializer
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.pending = 0                    # calls and map runners not yet ended
        self.waiters = 0
        self.shutdown = False
        self.broken: Optional[str] = None
        self.maps: "weakref.WeakSet[MapRun]" = weakref.WeakSet()
        self.closing = False

    # -- accounting ----------------------------------------------------------------------------
    def admit(self, n: int) -> None:
        """Counts n new units of work, or raises as ThreadPoolExecutor.submit would."""
        with self.lock:
            if self.broken is not None:
                raise BrokenExecutor(self.broken)
            if self.shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if exiting:
                raise RuntimeError("cannot schedule new futures after interpreter shutdown")
            self.pending += n

    def done(self, n: int = 1) -> None:
        with self.lock:
            self.pending -= n
            if self.pending == 0 and self.waiters:
                self.idle.notify_all()

    def wait_idle(self, timeout: Optional[float] = None) -> bool:
        """Waits until every call submitted so far has ended (True), or `timeout` passed."""
        deadline = None if timeout is None else monotonic() + timeout
        with self.lock:
            self.waiters += 1
            try:
                while self.pending:
                    # Slices: signal handlers (Ctrl-C) run in between on the main thread.
                    left = _core._SLICE if deadline is None else deadline - monotonic()
                    if left <= 0:
                        return False
                    self.idle.wait(min(left, _core._SLICE))
            finally:
                self.waiters -= 1
        return True

    # -- calls that will never run -------------------------------------------------------------
    def _take_entries(self) -> Iterator[Any]:
        for k, v in list(_core.registry.items()):
            if type(v) is tuple and v[-1] is self:
                e = _core.registry.pop(k, None)
                if e is not None:
                    yield e

    def reap(self) -> None:
        """The runtime shut down: its queued tasks never run. Their futures are cancelled."""
        for e in self._take_entries():
            if len(e) == 5:
                e[3].cancel()
            else:
                e[0].cancel()
            self.done()

    def break_(self) -> None:
        """An initializer failed (ThreadPoolExecutor's _initializer_failed): pending calls fail
        with BrokenExecutor, and so will every later submit."""
        with self.lock:
            if self.broken is not None:
                return
            self.broken = ("A thread initializer failed, the thread pool is not usable "
                           "anymore")
        for e in self._take_entries():
            if len(e) == 5:
                if e[3].set_running_or_notify_cancel():
                    e[3].set_exception(BrokenExecutor(self.broken))
            else:
                e[0].fail(BrokenExecutor(self.broken))
            self.done()

    def prepare_thread(self) -> bool:
        """Before a call on this thread: the initializer, once per thread (ThreadPoolExecutor
        runs it as each worker starts). False if the executor is (or just got) broken."""
        if self.broken is not None:
            return False
        ident = _core.get_ident()
        if ident in self.inited:
            return True
        self.inited.add(ident)
        assert self.initializer is not None
        try:
            self.initializer(*self.initargs)
        except BaseException:
            _LOGGER.critical("Exception in initializer:", exc_info=True)
            self.break_()
            return False
        return True

    # -- release -------------------------------------------------------------------------------
    def close_when_idle(self) -> None:
        """In the background: waits for the calls left, then frees the runtime (its threads
        exit). For shutdown(wait=False) and for an Executor garbage-collected unshut."""
        with self.lock:
            self.shutdown = True
            if self.closing:
                return
            self.closing = True

        def closer() -> None:
            try:
                self.wait_idle()
                self.rt.close()
            except Exception:  # pragma: no cover - e.g. closed at interpreter exit meanwhile
                pass
            finally:
                live_states.discard(self)
        threading.Thread(target=closer, daemon=True, name="libtasks-executor-close").start()


live_states: Set[ExecState] = set()  # executors whose runtime is not freed yet (exit waits)


def _run_future(key: int, output: Any) -> int:
    """tasks_fn of submitted calls (no drop_arg: one GIL acquisition per call). The entry is
    (fn, args, kwargs, future, state)."""
    try:
        entry = _core.registry.pop(key, None)
        if entry is None:  # reaped, or failed by a broken initializer
            return 1
        fn, args, kwargs, fut, st = entry
        del entry
        try:
            if _core.exiting:
                fut.cancel()
                return 1
            if st.initializer is not None and not st.prepare_thread():
                if fut.set_running_or_notify_cancel():
                    fut.set_exception(BrokenExecutor(st.broken))
                return 1
            if not fut.set_running_or_notify_cancel():
                return 0
            ident = _core.enter()
            try:
                r = fn(*args, **kwargs) if kwargs else fn(*args)
            except BaseException as e:  # noqa: BLE001
                del fn, args, kwargs  # released before anyone sees the future done
                _core.leave(ident)
                _core.strip_tb(e)
                fut.set_exception(e)
                return 1
            del fn, args, kwargs
            _core.leave(ident)
            fut.set_result(r)
            return 0
        finally:
            st.done()
    except BaseException:  # pragma: no cover - never let an exception reach ctypes
        return 1


def _run_map(key: int, output: Any) -> int:
    """tasks_fn of map runners: each runs elements of one map call until none is left. The
    entry is (run, state)."""
    try:
        entry = _core.registry.pop(key, None)
        if entry is None:
            return 1
        run, st = entry
        del entry
        try:
            if _core.exiting:
                run.cancel()
                return 1
            if st.initializer is not None and not st.prepare_thread():
                run.fail(BrokenExecutor(st.broken))
                return 1
            ident = _core.enter()
            try:
                run.drain()
            finally:
                _core.leave(ident)
            return 0
        finally:
            st.done()
    except BaseException:  # pragma: no cover
        return 1


_C_RUN_FUTURE = _lib.TASK_FN(_run_future)
_C_RUN_MAP = _lib.TASK_FN(_run_map)
_core.immortal(_C_RUN_FUTURE, _C_RUN_MAP)


def _gc_release(st: ExecState) -> None:
    """The Executor was garbage-collected without shutdown(): as ThreadPoolExecutor does, the
    calls already submitted still run, then the threads go."""
    if not st.rt.closed:
        st.close_when_idle()


class Executor(_cf.Executor):
    """A concurrent.futures.Executor whose calls run as libtasks tasks on a runtime of its own
    (``max_workers`` worker threads; default: one per CPU or TASKS_WORKER_THREADS). A drop-in
    for ThreadPoolExecutor, with its promises:

    - submit/map/shutdown(wait, cancel_futures) behave alike; ``map`` runs the calls of one
      ``map`` in at most ``max_workers`` tasks that take elements in order as they go (results
      and exceptions still come element by element; ``chunksize`` elements per take);
    - calls already submitted run to completion before the interpreter exits, unless
      cancelled; submit is refused from then on;
    - an Executor garbage-collected without shutdown() lets its calls finish, then its threads
      exit;
    - ``initializer(*initargs)`` runs once in each worker thread before its first call; if it
      raises, the executor is broken: pending and later calls fail with BrokenExecutor;
    - worker threads carry Python-visible names ``<thread_name_prefix>_<n>`` (default prefix
      ``Executor-<k>``), for ``threading.current_thread().name`` and logging's ``%(threadName)s``;
    - a call may submit to its own executor and wait for the result (with max_workers >= 2, as
      with ThreadPoolExecutor).
    """

    def __init__(self, max_workers: Optional[int] = None, thread_name_prefix: str = "",
                 initializer: Optional[Callable[..., object]] = None,
                 initargs: Tuple[Any, ...] = ()) -> None:
        if max_workers is not None and max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        prefix = thread_name_prefix or f"Executor-{_counter()}"
        rt = Runtime.__new__(Runtime)
        rt._init(max_workers, None, None, prefix, None, "{prefix}_{n}")
        self._rt = rt
        self._max_workers: int = rt.metrics()["workers"]
        st = ExecState(rt, self._max_workers, initializer, tuple(initargs))
        rt._on_reap = st.reap
        self._state = st
        live_states.add(st)
        fin = weakref.finalize(self, _gc_release, st)
        fin.atexit = False  # at exit, _exit takes care of every runtime

    @property
    def runtime(self) -> Runtime:
        return self._rt

    @property
    def max_workers(self) -> int:
        """The number of worker threads."""
        return self._max_workers

    @property
    def _broken(self) -> Any:  # ThreadPoolExecutor's attribute: the reason, or False
        return self._state.broken or False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> "_cf.Future[T]":
        st = self._state
        st.admit(1)
        fut: _cf.Future[T] = _cf.Future()
        key = _core.next_key()
        _core.registry[key] = (fn, args, kwargs, fut, st)
        status = self._rt._spawn_raw(_C_RUN_FUTURE, key)
        if status != _lib.OK:
            if _core.registry.pop(key, None) is not None:
                st.done()
            raise RuntimeError(f"cannot schedule new futures: {_core.TasksError(status)}")
        return fut

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any], timeout: Optional[float] = None,
            chunksize: int = 1) -> Iterator[T]:
        """As Executor.map: every call is submitted at once; results come in order, each
        exception is raised at its element, ``timeout`` counts from this call. The calls run in
        at most ``max_workers`` tasks, each taking ``chunksize`` elements at a time."""
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        end_time = None if timeout is None else timeout + monotonic()
        run: MapRun = MapRun(fn, list(zip(*iterables)), chunksize)
        runners = min(run.chunks, self._max_workers)
        st = self._state
        st.admit(runners)
        st.maps.add(run)
        for i in range(runners):
            key = _core.next_key()
            _core.registry[key] = (run, st)
            status = self._rt._spawn_raw(_C_RUN_MAP, key)
            if status != _lib.OK:
                if _core.registry.pop(key, None) is not None:
                    st.done(runners - i)
                if i == 0:
                    raise RuntimeError(f"cannot schedule new futures: "
                                       f"{_core.TasksError(status)}")
                break  # the runners already spawned do all the work
        return run.results_iter(end_time)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuses new calls. cancel_futures: cancels the calls that have not started. wait:
        waits for the calls left, then frees the runtime (without wait, that happens in the
        background)."""
        st = self._state
        with st.lock:
            st.shutdown = True
        if cancel_futures:
            for v in list(_core.registry.values()):
                if type(v) is tuple and len(v) == 5 and v[4] is st:
                    v[3].cancel()
            for run in list(st.maps):
                run.cancel()
        if wait:
            p = _fast.tasks_current_runtime()
            if p and p == self._rt._ptr:
                raise RuntimeError("Executor.shutdown(wait=True) called from one of its own calls")
            st.wait_idle()
            self._rt.close()
            live_states.discard(st)
        elif not self._rt.closed:
            st.close_when_idle()

