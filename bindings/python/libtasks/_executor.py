"""Executor: a concurrent.futures.Executor over a libtasks runtime of its own, keeping the
promises ThreadPoolExecutor keeps (see the class docstring)."""
from __future__ import annotations

import concurrent.futures as _cf
import concurrent.futures.thread as _cft
import itertools
import collections
import logging
import sys
import threading
import weakref
from typing import (Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Set, Tuple,
                    TypeVar)

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
    """What an Executor's calls share with it: the queue of calls not started yet and the
    runner tasks draining it. Holds no reference to the Executor, so that the Executor can be
    garbage-collected while calls are pending (then this releases the runtime once they are
    done).

    Why runners: a task per call costs a spawn, a callback from C into Python and a GIL
    hand-off per call; a runner takes call after call from the queue within one callback, as a
    ThreadPoolExecutor thread does. At most ``max_workers`` runners are active; a submit starts
    one when fewer are (so a call blocked on a nested submit leaves the queue to the others).
    A runner hands over to a fresh task once it has run for two GIL switch intervals (at least
    RUNNER_SLICE_MIN; looked at every RUNNER_BUDGET calls), so that other tasks of the runtime
    get their turn on its worker. Not more often: the hand-over gives up the GIL and the worker
    takes it back at once, and CPython forces a switch to a thread waiting for the GIL only when
    the holder kept it for a whole switch interval (sys.getswitchinterval()). Runners that
    handed over every 256 calls (under a millisecond) starved every other Python thread
    (CPython's test_hang_global_shutdown_lock: a thread start took 3 s instead of 10 ms).
    A runner that finds the queue empty lingers for LINGER seconds (blocked on a lock of its
    own, listed in `sleepers`) before it ends: a program that submits a call, waits for it and
    submits the next (the common one-at-a-time pattern) then pays one lock hand-off per call,
    as with ThreadPoolExecutor, instead of a spawn and a callback from C. (Not
    queue.SimpleQueue.get with a timeout: in CPython 3.11, when another thread takes the item
    first, it retries with the time left, which can be negative, and then blocks forever.)
    """

    RUNNER_BUDGET = 256
    RUNNER_SLICE_MIN = 0.01  # seconds (see above)
    LINGER = 0.005
    START_WAIT = 0.01

    def __init__(self, rt: Runtime, max_workers: int, initializer: Optional[Callable[..., Any]],
                 initargs: Tuple[Any, ...]) -> None:
        self.rt = rt
        self.max_workers = max_workers
        self.initializer = initializer
        self.initargs = initargs
        self.inited: Set[int] = set()       # threads that ran the initializer
        # Items: (fn, args, kwargs, future) for submit, a MapRun for each runner a map wants.
        # deque.append/popleft are atomic: submit and runners take no lock per call.
        self.q: Deque[Any] = collections.deque()
        self.lock = threading.Lock()        # guards the runner counts below
        self.idle = threading.Condition(self.lock)
        self.sleepers: List[Any] = []       # locks of lingering runners (see run)
        self.starting: List[Any] = []       # locks of submitters waiting for a runner to start
        self.active = 0                     # runners spawned and not yet ended
        self.queued_runners = 0             # of which not started (reap: never will)
        self.waiters = 0
        self.shutdown = False
        self.broken: Optional[str] = None
        self.maps: "weakref.WeakSet[MapRun[Any]]" = weakref.WeakSet()  # being run
        self.closing = False
        self.key = _core.next_key()
        states[self.key] = self

    # -- runners -------------------------------------------------------------------------------
    def add_runners(self, want: int) -> bool:
        """Starts up to `want` runners, keeping at most max_workers active. False if the
        runtime refused a spawn (shut down).

        Off the runtime's own workers, each new runner is waited for (START_WAIT at most)
        until it has taken its first call, as ThreadPoolExecutor.submit waits for a new thread
        to start: a call submitted just before shutdown(cancel_futures=True) is then running,
        not cancelled. (On a worker the wait could only delay the caller's own worker.)"""
        handshake = _fast.tasks_current_runtime() != self.rt._ptr
        for _ in range(want):
            with self.lock:
                if self.active >= self.max_workers:
                    return True
                self.active += 1
                self.queued_runners += 1
            started = None
            if handshake:
                started = threading.Lock()
                started.acquire()
                self.starting.append(started)
            if not self._spawn_runner():
                with self.lock:
                    self.active -= 1
                    self.queued_runners -= 1
                    self._notify_idle()
                self._forget_start(started)
                return False
            if started is not None and not started.acquire(True, self.START_WAIT):
                self._forget_start(started)
        return True

    def _forget_start(self, started: Any) -> None:
        try:
            self.starting.remove(started)
        except ValueError:  # None, or a runner took it (and releases it, to nobody)
            pass

    def _greet(self) -> None:
        """A runner has taken its first call (or found none): one waiting submitter goes on."""
        try:
            self.starting.pop().release()
        except IndexError:
            pass

    def wake_all(self) -> None:
        """Shutdown: lingering runners look at the queue now, find it empty and end."""
        while self.sleepers:
            self.wake_one()

    def wake_one(self) -> None:
        try:
            self.sleepers.pop().release()
        except IndexError:  # the sleeper's linger ended meanwhile: it looks at the queue
            pass

    def _spawn_runner(self) -> bool:
        return self.rt._spawn_raw(_C_RUN_QUEUE, self.key) == _lib.OK

    def _notify_idle(self) -> None:  # with self.lock held
        if self.active == 0 and self.waiters:
            self.idle.notify_all()

    def run(self) -> None:
        """A runner (on a worker thread): runs queued calls until the queue is empty."""
        with self.lock:
            self.queued_runners -= 1
        if self.initializer is not None and not self.prepare_thread():
            with self.lock:
                self.active -= 1
                self._notify_idle()
            self._greet()
            return
        q = self.q
        popleft = q.popleft
        linger = self.LINGER
        budget = self.RUNNER_BUDGET
        slice_ends = monotonic() + max(self.RUNNER_SLICE_MIN, 2 * sys.getswitchinterval())
        sleepers = self.sleepers
        wake = threading.Lock()
        wake.acquire()  # held while not lingering: release() by a submit is the wake-up
        greet = True
        while True:
            try:
                item = popleft()
            except IndexError:
                if greet:
                    greet = False
                    self._greet()
                # Linger (list append/pop/remove are atomic: no lock). A submit appends its
                # call, then pops a sleeper and releases it; we list ourselves, then look at q:
                # either it sees us or we see its call (no wake-up is lost).
                if not self.shutdown:
                    sleepers.append(wake)
                    if q or not wake.acquire(True, linger):
                        try:
                            sleepers.remove(wake)
                        except ValueError:  # a submit popped us: its release() is coming
                            wake.acquire()
                if q:
                    continue
                with self.lock:
                    self.active -= 1
                    self._notify_idle()
                # Look again after leaving: a submit that saw us active (and so started no
                # runner) appended before we look here.
                if not q:
                    return
                with self.lock:
                    if self.active >= self.max_workers:
                        return
                    self.active += 1
                continue
            if type(item) is tuple:
                fn, args, kwargs, fut = item
                del item
                running = fut.set_running_or_notify_cancel()
                if greet:
                    greet = False
                    self._greet()
                if running:
                    try:
                        r = fn(*args, **kwargs) if kwargs else fn(*args)
                    except BaseException as e:  # noqa: BLE001 - the future's exception
                        del fn, args, kwargs  # released before anyone sees the future done
                        _core.strip_tb(e)
                        fut.set_exception(e)
                        del e
                    else:
                        del fn, args, kwargs
                        fut.set_result(r)
                        del r
                del fut
            else:
                if greet:
                    greet = False
                    self._greet()
                item.drain()
                del item
            budget -= 1
            if budget == 0:
                budget = self.RUNNER_BUDGET
                if q and monotonic() >= slice_ends:
                    with self.lock:
                        self.queued_runners += 1
                    if self._spawn_runner():
                        return  # the new runner takes over our place among the active
                    with self.lock:
                        self.queued_runners -= 1

    def wait_idle(self, timeout: Optional[float] = None) -> bool:
        """Waits until every call submitted so far has ended (True), or `timeout` passed."""
        deadline = None if timeout is None else monotonic() + timeout
        with self.lock:
            self.waiters += 1
            try:
                while self.active or self.q:
                    # Slices: signal handlers (Ctrl-C) run in between on the main thread, and
                    # a submit racing with the last runner's exit is seen.
                    left = _core._SLICE if deadline is None else deadline - monotonic()
                    if left <= 0:
                        return False
                    self.idle.wait(min(left, _core._SLICE))
            finally:
                self.waiters -= 1
        return True

    # -- calls that will never run -------------------------------------------------------------
    def _take_queue(self) -> Iterator[Any]:
        while True:
            try:
                yield self.q.popleft()
            except IndexError:
                return

    def cancel_pending(self) -> None:
        """shutdown(cancel_futures=True): the calls not started are cancelled."""
        for item in self._take_queue():
            if type(item) is tuple:
                item[3].cancel()
            else:
                item.cancel()
        for run in list(self.maps):
            run.cancel()

    def reap(self) -> None:
        """The runtime shut down: runners not started never will; cancel what they left."""
        with self.lock:
            self.active -= self.queued_runners
            self.queued_runners = 0
            self._notify_idle()
        self.cancel_pending()

    def break_(self) -> None:
        """An initializer failed (ThreadPoolExecutor's _initializer_failed): pending calls fail
        with BrokenExecutor, and so will every later submit."""
        with self.lock:
            if self.broken is not None:
                return
            self.broken = ("A thread initializer failed, the thread pool is not usable "
                           "anymore")
        for item in self._take_queue():
            if type(item) is tuple:
                if item[3].set_running_or_notify_cancel():
                    item[3].set_exception(BrokenExecutor(self.broken))
            else:
                item.fail(BrokenExecutor(self.broken))
        for run in list(self.maps):
            run.fail(BrokenExecutor(self.broken))

    def prepare_thread(self) -> bool:
        """Before the first call on this thread: the initializer (ThreadPoolExecutor runs it as
        each worker thread starts). False if the executor is (or just got) broken."""
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
    def released(self) -> None:
        """The runtime is freed: nothing of this executor can run any more."""
        live_states.discard(self)
        states.pop(self.key, None)

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
                self.released()
        threading.Thread(target=closer, daemon=True, name="libtasks-executor-close").start()


states: Dict[int, ExecState] = {}    # key (the runners' C arg) -> state
live_states: Set[ExecState] = set()  # executors whose runtime is not freed yet (exit waits)


def _run_queue(key: int, output: Any) -> int:
    """tasks_fn of runners."""
    try:
        st = states.get(key)
        if st is not None:
            if _core.exiting:  # pragma: no cover - exit waited for every call first
                st.reap()
            else:
                st.run()
        return 0
    except BaseException:  # pragma: no cover - never let an exception reach ctypes
        return 1


_C_RUN_QUEUE = _lib.TASK_FN(_run_queue)
_core.immortal(_C_RUN_QUEUE)


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

    def _admit(self) -> ExecState:
        st = self._state
        if st.broken is not None:
            raise BrokenExecutor(st.broken)
        if st.shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        if exiting:
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")
        return st

    def _refused(self, item: Any) -> None:
        """No runner could be started (the runtime is shut down): the queued item is
        cancelled (a runner that still finds it skips it)."""
        if type(item) is tuple:
            item[3].cancel()
        else:
            item.cancel()
        raise RuntimeError("cannot schedule new futures after shutdown")

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> "_cf.Future[T]":
        st = self._admit()
        fut: _cf.Future[T] = _cf.Future()
        item = (fn, args, kwargs, fut)
        st.q.append(item)
        if st.sleepers:  # a lingering runner takes it
            st.wake_one()
        elif st.active < st.max_workers and not st.add_runners(1):
            self._refused(item)
        return fut

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any], timeout: Optional[float] = None,
            chunksize: int = 1) -> Iterator[T]:
        """As Executor.map: every call is submitted at once; results come in order, each
        exception is raised at its element, ``timeout`` counts from this call. The calls run in
        at most ``max_workers`` tasks, each taking ``chunksize`` elements at a time."""
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        end_time = None if timeout is None else timeout + monotonic()
        st = self._admit()
        run: MapRun[T] = MapRun(fn, list(zip(*iterables)), chunksize)
        want = min(run.chunks, self._max_workers)
        if want:
            st.maps.add(run)
            st.q.extend([run] * want)
            if not st.add_runners(want):
                self._refused(run)
        return run.results_iter(end_time)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuses new calls. cancel_futures: cancels the calls that have not started. wait:
        waits for the calls left, then frees the runtime (without wait, that happens in the
        background)."""
        st = self._state
        with st.lock:
            st.shutdown = True
        st.wake_all()
        if cancel_futures:
            st.cancel_pending()
        if wait:
            p = _fast.tasks_current_runtime()
            if p and p == self._rt._ptr:
                raise RuntimeError("Executor.shutdown(wait=True) called from one of its own calls")
            st.wait_idle()
            self._rt.close()
            st.released()
        elif not self._rt.closed:
            st.close_when_idle()
