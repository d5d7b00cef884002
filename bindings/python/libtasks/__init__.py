"""libtasks: Python binding (ctypes) for the libtasks work-stealing task runtime.

    import libtasks
    with libtasks.Runtime(workers=4) as rt:
        h = rt.spawn(pow, 2, 10, name="pow")
        assert h.join() == 1024              # or: value = await h   (from any asyncio loop)
    libtasks.spawn(print, "on the default runtime").join()
    with libtasks.Executor(max_workers=4) as ex:   # a concurrent.futures.Executor
        print(list(ex.map(abs, [-1, -2])))
    with libtasks.TaskGroup() as g:                # waits for all; the first failure cancels
        g.spawn(print, "in a group")
    libtasks.parallel_for(None, 0, 100, fn)         # fn(i) for each i, in parallel

Tasks run Python callables on the runtime's worker threads (they take the GIL while they run
Python code, like any Python thread). Waits in C (join, join_next, shutdown) release the GIL.
A blocking wait on the main thread is done in slices of at most 50 ms so that Ctrl-C
(KeyboardInterrupt) is raised promptly.

The library is found as described in ``libtasks._lib`` (``LIBTASKS_PATH`` overrides);
``libtasks.library_path`` tells which file was loaded.

Modules: _core (errors, registry of calls, C callbacks, thread hooks), _runtime, _handle
(JoinHandle, FinishedTask), _aio (awaiting), _joinset, _taskgroup (over the C scope),
_forkjoin (parallel_for), _executor and _map
(concurrent.futures), _exit (interpreter exit, fork).
"""
from __future__ import annotations

from . import _exit, _lib
from ._core import Cancelled, Empty, TasksError, version
from ._core import registry as _registry  # noqa: F401 - tests look at the calls in flight
from ._executor import BrokenExecutor, Executor
from ._forkjoin import parallel_for
from ._handle import FinishedTask, JoinHandle
from ._joinset import JoinSet
from ._runtime import (Runtime, current_task_id, current_task_name, default_runtime,
                       is_cancelled, metrics, spawn, spawn_blocking)
from ._taskgroup import GroupTask, TaskGroup

__all__ = ["Runtime", "JoinHandle", "FinishedTask", "JoinSet", "TaskGroup", "GroupTask",
           "parallel_for", "Executor", "BrokenExecutor", "spawn", "spawn_blocking",
           "default_runtime", "metrics",
           "current_task_id", "current_task_name", "is_cancelled", "TasksError", "Cancelled",
           "Empty", "version", "library_path"]
# The package's version: Cargo.toml's, written out (scripts/check-version.sh checks this copy and
# pyproject.toml's). A literal rather than tasks_version() of the loaded library, so that it is
# the version of this distribution (as pip and importlib.metadata report it) and is known
# without loading anything; version() tells which library was actually loaded (LIBTASKS_PATH
# or a system libtasks may be another build).
__version__ = "0.1.0"

library_path: str = _lib.path

_exit.install()
