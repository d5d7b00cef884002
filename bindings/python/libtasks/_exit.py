"""Interpreter exit and fork.

Exit happens in two steps:

1. Executors (as ThreadPoolExecutor, whose hook this mirrors): while the main thread finishes,
   before non-daemon threads are joined, new calls are refused and every call already
   submitted to an Executor runs to completion (a call that never returns keeps the process
   alive, as it would with ThreadPoolExecutor).
2. Runtimes (atexit): C threads must never enter a Python callback once the interpreter
   finalizes: CPython < 3.14 ends such a thread with pthread_exit, whose forced unwinding
   through the library's Rust frames aborts the process ("FATAL: exception not rethrown"). So
   callbacks stop running user code, every runtime we created is shut down (queued tasks
   cancelled), task code still running is interrupted (an exception raised in its thread), and
   the runtimes whose tasks all ended are freed, which joins all their threads. If some task
   is still stuck in a blocking call after LIBTASKS_EXIT_TIMEOUT seconds (default 1), it could
   re-enter Python during finalization: then, before Python 3.14, the process ends here with
   os._exit after flushing stdio (status: the sys.exit code, 1 after an uncaught exception,
   else 0).
"""
from __future__ import annotations

import atexit
import ctypes
import os
import sys
import threading
from typing import Any, List

from . import _core, _executor, _lib, _runtime
from ._core import MAIN_IDENT, monotonic


def _executors_at_exit() -> None:
    _executor.exiting = True
    for st in list(_executor.live_states):
        try:
            st.wait_idle()
        except Exception:  # pragma: no cover
            pass


_exit_code: List[Any] = [None]
_orig_sys_exit = sys.exit


def _recording_exit(code: Any = None) -> None:
    _exit_code[0] = code
    _orig_sys_exit(code)


def _exit_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get("LIBTASKS_EXIT_TIMEOUT", "1")))
    except ValueError:
        return 1.0


def _interrupt_running() -> None:
    for ident in list(_core.running):
        if ident != MAIN_IDENT:
            _core.pyapi.PyThreadState_SetAsyncExc(ident, ctypes.py_object(_core.InterpreterExit))


def _runtimes_at_exit() -> None:
    _core.exiting = True
    _executor.exiting = True
    with _runtime.runtimes_lock:
        rts = list(_runtime.live_runtimes.values())
    deadline = monotonic() + _exit_timeout()
    pending = []
    for rt in rts:
        try:
            if rt._shutdown_call(0) != _lib.OK:
                pending.append(rt)
        except Exception:  # pragma: no cover
            pass
    while pending and monotonic() < deadline:
        _interrupt_running()
        pending = [rt for rt in pending if rt._shutdown_call(int(0.01e9)) != _lib.OK]
    for rt in rts:
        if rt not in pending:
            try:
                rt._free()
            except Exception:  # pragma: no cover
                pass
        else:
            rt._reap()
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


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's runtime threads: its runtimes are unusable
    (spawns raise TasksError) and never touched again (not even freed); the default runtime
    is created afresh on first use."""
    _core._cb_lock = threading.Lock()
    _runtime.after_fork_in_child()
    _core.registry.clear()
    _core.running.clear()
    _core.gil_states.clear()
    _executor.live_states.clear()


def install() -> None:
    sys.exit = _recording_exit  # type: ignore[assignment]
    # threading's own exit hooks run before atexit's, while other threads still run: the hook
    # ThreadPoolExecutor uses. (Older Pythons without it: atexit, which runs ours LIFO, so
    # still before _runtimes_at_exit registered below.)
    atexit.register(_runtimes_at_exit)
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(_executors_at_exit)
    else:  # pragma: no cover
        atexit.register(_executors_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
