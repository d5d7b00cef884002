"""JoinSet: tasks on one runtime, joined in the order they finish (also with ``async for``)."""
from __future__ import annotations

import asyncio
import threading
import weakref
from ctypes import byref, c_uint64, c_void_p
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Optional, Tuple

from . import _core, _lib
from ._core import Empty, Slot, TasksError, check, monotonic, to_ns
from ._handle import FinishedTask
from ._lib import fast as _fast
from ._lib import lib as _clib
from ._runtime import Runtime, current_runtime


class JoinSet:
    """Tasks on one runtime, joined in the order they finish. Closing it (or dropping it)
    aborts the tasks left. Thread-safe (calls are serialized)."""

    def __init__(self, rt: Optional[Runtime] = None) -> None:
        self._rt = rt if rt is not None else current_runtime()
        self._lock = threading.Lock()
        self._ptr: Optional[int] = None
        self._slots: Dict[int, Tuple[Slot, Optional[str]]] = {}
        # Wakers of `async for` loops waiting for a task of the set to end (see __anext__).
        # Its own lock: a task's end is reported from inside abort_all/close, with _lock held.
        self._listeners: List[Callable[[], None]] = []
        self._listen_lock = threading.Lock()
        self._notify_ref = _make_notifier(weakref.ref(self))
        out = c_void_p()
        with self._rt._lock:
            p = self._rt._ptr
            st = _fast.tasks_join_set_new(p, byref(out)) if p else _lib.ERR_SHUTDOWN
        check(st, "tasks_join_set_new")
        self._ptr = out.value

    def _spawn_slot(self, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any],
                    name: Optional[str]) -> Tuple[int, Slot]:
        key, slot = _core.register_call(fn, args, kwargs)
        tid = c_uint64()
        with self._lock:
            if self._ptr is None:
                st = _lib.ERR_INVALID
            else:
                st = _fast.tasks_join_set_spawn(self._ptr, _core.C_RUN_TASK, key,
                                                _core.opts(name), byref(tid))
            if st == _lib.OK:
                self._slots[tid.value] = (slot, name)
        if st != _lib.OK:
            _core.registry.pop(key, None)
            raise TasksError(st, "JoinSet.spawn" if self._ptr else "JoinSet is closed")
        slot.add_done_callback(self._notify_ref)  # weak: dropping the set still aborts
        return tid.value, slot

    def spawn(self, fn: Callable[..., Any], *args: Any, name: Optional[str] = None,
              **kwargs: Any) -> int:
        """Spawns ``fn(*args, **kwargs)`` into the set; returns the task's id."""
        return self._spawn_slot(fn, args, kwargs, name)[0]

    def _notify(self) -> None:  # a task of the set ended (any thread)
        with self._listen_lock:
            listeners, self._listeners = self._listeners, []
        for wake in listeners:
            wake()

    def _next_call(self, tid: c_uint64, ns: int) -> int:
        with self._lock:
            if self._ptr is None:
                return _lib.EMPTY
            if ns == 0:
                return int(_fast.tasks_join_set_join_next(self._ptr, 0, None, byref(tid)))
            return int(_clib.tasks_join_set_join_next(self._ptr, ns, None, byref(tid)))

    def join_next_task(self, timeout: Optional[float] = None) -> FinishedTask:
        """The next task to finish, as a FinishedTask (completion order). Raises Empty if the
        set has no tasks left, TimeoutError if none finished within ``timeout`` seconds."""
        tid = c_uint64()
        st = self._next_call(tid, 0)
        if st == _lib.PENDING and (timeout is None or timeout > 0):
            # Sliced on every thread (not only the main one, where slices let Ctrl-C through):
            # the set's lock is never held for long, so spawn from another thread goes on.
            deadline = None if timeout is None else monotonic() + timeout
            while True:
                if deadline is None:
                    ns = _core._SLICE_NS
                else:
                    ns = min(_core._SLICE_NS, to_ns(deadline - monotonic()))
                st = self._next_call(tid, ns)
                if (st != _lib.TIMED_OUT and st != _lib.PENDING) or ns == 0:
                    break
        if st == _lib.EMPTY:
            raise Empty("the join set has no tasks left")
        if st == _lib.TIMED_OUT or st == _lib.PENDING:
            raise TimeoutError(f"no task of the set finished within {timeout} s")
        check(st, "join_next")
        with self._lock:
            slot, name = self._slots.pop(tid.value, (None, None))
        if slot is None:  # pragma: no cover - every task of the set has a slot
            slot = Slot()
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

    def __aiter__(self) -> AsyncIterator[FinishedTask]:
        """``async for t in js``: the tasks as they finish, without blocking the loop."""
        return self._async_iter()

    async def _async_iter(self) -> AsyncIterator[FinishedTask]:
        loop = asyncio.get_running_loop()
        while True:
            ev = asyncio.Event()

            def wake() -> None:  # any thread
                try:
                    loop.call_soon_threadsafe(ev.set)
                except RuntimeError:  # the loop closed
                    pass
            # Listen first, then look: a task ending in between still wakes us.
            with self._listen_lock:
                self._listeners.append(wake)
            try:
                t = self.join_next_task(0)
            except Empty:
                return
            except TimeoutError:
                # A task's end is reported (drop_arg, which wakes us) just before the set can
                # return it: a task that has ended without being returned yet, before or after
                # we started to listen, is polled for briefly instead of waited for.
                if not self._any_ended():
                    await ev.wait()
                delay = 0.0002
                while True:
                    try:
                        t = self.join_next_task(0)
                        break
                    except TimeoutError:
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 0.01)
                    except Empty:  # pragma: no cover - closed meanwhile
                        return
            finally:
                with self._listen_lock:
                    if wake in self._listeners:
                        self._listeners.remove(wake)
            yield t

    def _any_ended(self) -> bool:
        with self._lock:
            return any(slot.finished for slot, _ in self._slots.values())

    def abort_all(self) -> None:
        """Aborts every task in the set; they stay in it, and join_next returns them
        (cancelled, or with their result if they finished anyway)."""
        with self._lock:
            if self._ptr is not None:
                _fast.tasks_join_set_abort_all(self._ptr)

    def __len__(self) -> int:
        """Tasks spawned into the set and not yet returned by join_next (finished or not)."""
        with self._lock:
            return 0 if self._ptr is None else int(_fast.tasks_join_set_len(self._ptr))

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


def _make_notifier(ref: "weakref.ReferenceType[JoinSet]") -> Callable[[Slot], None]:
    def notify(_slot: Slot) -> None:
        js = ref()
        if js is not None:
            js._notify()
    return notify
