"""Finding and loading libtasks.so, and declaring its C ABI (include/tasks.h) for ctypes.

Search order for the shared library (the first one that exists and loads wins):

1. ``LIBTASKS_PATH``: a path to the library file, or to a directory holding ``libtasks.so``.
   When it is set, nothing else is tried (a wrong value is an ImportError, not a fallback).
2. The copy installed inside the package (``libtasks/libtasks.so``), placed there by
   ``pip install ./bindings/python`` (the build backend builds it with cargo, or bundles the
   file ``LIBTASKS_PATH`` names at build time).
3. When the package is imported from the source tree (``bindings/python`` of the repository):
   the newest of ``$CARGO_TARGET_DIR/release/libtasks.so``, ``<repo>/target/release/libtasks.so``
   and ``<repo>/build*/lib/libtasks.so`` (CMake builds).
4. The system's dynamic loader: ``libtasks.so.0`` / ``libtasks.so`` (``LD_LIBRARY_PATH``, the
   ldconfig cache, e.g. after ``cmake --install``), then ``ctypes.util.find_library("tasks")``.

Two handles on the same library are used: ``lib`` (ctypes.CDLL) releases the GIL during the
call, for everything that may wait (joins, shutdown, runtime build/free); ``fast``
(ctypes.PyDLL) keeps it, for short calls that never wait for another thread (spawn, abort,
is_finished, ids, metrics), which saves two GIL hand-offs per call.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_bool, c_char_p, c_int32, c_size_t,
                    c_uint64, c_void_p)
from pathlib import Path
from typing import Any, Iterator, List, Tuple

FOREVER = (1 << 64) - 1

OK, PENDING, TIMED_OUT, CANCELLED, FAILED, EMPTY = 0, 1, 2, 3, 4, 5
ERR_NULL, ERR_INVALID, ERR_SHUTDOWN, ERR_NO_TASK, ERR_WOULD_DEADLOCK = -1, -2, -3, -4, -5
ERR_WRONG_THREAD, ERR_NO_MEMORY, ERR_THREAD, ERR_INTERNAL = -6, -7, -8, -9
# The names and texts of the statuses come from the library (tasks_status_str): status_name()
# and status_text() below.

# int32_t (*)(void *arg, void **output). `output` is declared void* (same ABI): the binding
# never writes it (results stay on the Python side), and ctypes then builds no pointer object
# per call.
TASK_FN = CFUNCTYPE(c_int32, c_void_p, c_void_p)
DROP_FN = CFUNCTYPE(None, c_void_p)                         # void (*)(void *)
HOOK_FN = DROP_FN                                           # void (*)(void *data)
SCOPE_FN = CFUNCTYPE(c_int32, c_void_p, c_void_p)           # int32_t (*)(tasks_scope *, void *ctx)
RANGE_FN = CFUNCTYPE(c_int32, c_void_p, c_uint64, c_uint64)  # int32_t (*)(void *ctx, begin, end)


class SpawnOpts(Structure):
    _fields_ = [("name", c_char_p), ("drop_arg", DROP_FN), ("drop_output", DROP_FN)]


class Metrics(Structure):
    _fields_ = [("workers", c_size_t), ("blocking_threads", c_size_t),
                ("idle_blocking_threads", c_size_t), ("spawned", c_uint64),
                ("completed", c_uint64), ("failed", c_uint64), ("cancelled", c_uint64),
                ("alive", c_uint64), ("polls", c_uint64), ("steals", c_uint64),
                ("parks", c_uint64), ("injection_queue_depth", c_uint64),
                ("local_queue_depth", c_uint64)]


LIBNAME = "libtasks.so"
PKG_DIR = Path(__file__).resolve().parent


def _source_tree_candidates() -> List[str]:
    """Libraries built in the repository, when this package is its bindings/python."""
    root = PKG_DIR.parent.parent.parent  # <repo>/bindings/python/libtasks -> <repo>
    if not (root / "Cargo.toml").is_file() or not (root / "include" / "tasks.h").is_file():
        return []
    found = []
    tdir = os.environ.get("CARGO_TARGET_DIR")
    if tdir:
        found.append(os.path.join(tdir, "release", LIBNAME))
    found.append(str(root / "target" / "release" / LIBNAME))
    found.extend(sorted(glob.glob(str(root / "build*" / "lib" / LIBNAME))))
    existing = [p for p in found if os.path.isfile(p)]
    # The newest build first: a stale cargo or CMake build must not shadow a fresh one.
    return sorted(existing, key=lambda p: os.path.getmtime(p), reverse=True)


def candidates() -> Iterator[Tuple[str, str]]:
    """(how it was found, path or loader name), in search order."""
    env = os.environ.get("LIBTASKS_PATH")
    if env:
        p = Path(env)
        yield "LIBTASKS_PATH", str(p / LIBNAME) if p.is_dir() else env
        return
    bundled = PKG_DIR / LIBNAME
    if bundled.is_file():
        yield "bundled", str(bundled)
    for c in _source_tree_candidates():
        yield "source tree", c
    yield "system", "libtasks.so.0"
    yield "system", LIBNAME
    found = ctypes.util.find_library("tasks")
    if found:
        yield "system", found


def _load() -> Tuple[ctypes.CDLL, ctypes.PyDLL, str, str]:
    errors = []
    for how, path in candidates():
        try:
            return ctypes.CDLL(path), ctypes.PyDLL(path), path, how
        except OSError as e:
            errors.append(f"{how} {path}: {e}")
    raise ImportError(
        "libtasks: cannot load libtasks.so. Install the package with "
        "`pip install ./bindings/python` (it builds the library with cargo), build the "
        "repository (cargo build --release, or CMake), or set LIBTASKS_PATH to the library. "
        "Tried: " + "; ".join(errors))


lib, fast, path, found_by = _load()

_P = c_void_p
_PP = POINTER(c_void_p)
_U64P = POINTER(c_uint64)


def _decl(handle: ctypes.CDLL, name: str, res: Any, *args: Any) -> None:
    try:
        f = getattr(handle, name)
    except AttributeError as e:  # an old or foreign libtasks.so
        raise ImportError(f"libtasks: {path} lacks {name} (wrong library version?)") from e
    f.restype = res
    f.argtypes = list(args)


# May wait (the GIL is released during the call).
for _h in (lib,):
    _decl(_h, "tasks_builder_build", c_int32, _P, _PP)  # starts threads, which run our hooks
    _decl(_h, "tasks_runtime_shutdown", c_int32, _P, c_uint64)
    _decl(_h, "tasks_runtime_free", c_int32, _P)
    _decl(_h, "tasks_join_handle_join", c_int32, _P, c_uint64, _PP)
    _decl(_h, "tasks_join_set_join_next", c_int32, _P, c_uint64, _PP, _U64P)
    _decl(_h, "tasks_join_set_free", None, _P)
    # Structured fork-join: these wait for the work they started (and call back into Python).
    _decl(_h, "tasks_scope_run", c_int32, _P, SCOPE_FN, _P)
    _decl(_h, "tasks_join2", c_int32, TASK_FN, _P, _PP, TASK_FN, _P, _PP)
    _decl(_h, "tasks_parallel_for", c_int32, _P, c_uint64, c_uint64, c_uint64, RANGE_FN, _P)

# Short and never waiting for another thread: the GIL stays held. (An abort may run a task's
# drop_arg callback right here, on this thread: that is fine, it already holds the GIL.)
_decl(fast, "tasks_builder_new", _P)
_decl(fast, "tasks_builder_free", None, _P)
_decl(fast, "tasks_builder_worker_threads", c_int32, _P, c_size_t)
_decl(fast, "tasks_builder_max_blocking_threads", c_int32, _P, c_size_t)
_decl(fast, "tasks_builder_blocking_keep_alive", c_int32, _P, c_uint64)
_decl(fast, "tasks_builder_thread_name", c_int32, _P, c_char_p)
_decl(fast, "tasks_builder_thread_stack_size", c_int32, _P, c_size_t)
_decl(fast, "tasks_builder_on_thread_start", c_int32, _P, HOOK_FN, _P)
_decl(fast, "tasks_builder_on_thread_stop", c_int32, _P, HOOK_FN, _P)
_decl(fast, "tasks_runtime_metrics", None, _P, POINTER(Metrics))
_decl(fast, "tasks_spawn", c_int32, _P, TASK_FN, _P, POINTER(SpawnOpts), _PP)
_decl(fast, "tasks_spawn_blocking", c_int32, _P, TASK_FN, _P, POINTER(SpawnOpts), _PP)
_decl(fast, "tasks_spawn_after", c_int32, _P, c_uint64, TASK_FN, _P, POINTER(SpawnOpts), _PP)
_decl(fast, "tasks_join_handle_join", c_int32, _P, c_uint64, _PP)  # only with timeout 0
_decl(fast, "tasks_join_handle_abort", None, _P)
_decl(fast, "tasks_join_handle_is_finished", c_bool, _P)
_decl(fast, "tasks_join_handle_id", c_uint64, _P)
_decl(fast, "tasks_join_handle_free", None, _P)
_decl(fast, "tasks_join_set_new", c_int32, _P, _PP)
_decl(fast, "tasks_join_set_spawn", c_int32, _P, TASK_FN, _P, POINTER(SpawnOpts), _U64P)
_decl(fast, "tasks_join_set_len", c_size_t, _P)
_decl(fast, "tasks_join_set_join_next", c_int32, _P, c_uint64, _PP, _U64P)  # timeout 0 only
_decl(fast, "tasks_join_set_abort_all", None, _P)
# Into a cancelled scope the spawn runs the task's drop_arg right here (this thread has the GIL).
_decl(fast, "tasks_scope_spawn", c_int32, _P, TASK_FN, _P, POINTER(SpawnOpts))
_decl(fast, "tasks_scope_cancel", None, _P)
_decl(fast, "tasks_current_id", c_uint64)
_decl(fast, "tasks_current_name", c_char_p)
_decl(fast, "tasks_current_runtime", _P)
_decl(fast, "tasks_current_is_cancelled", c_bool)
_decl(fast, "tasks_status_str", c_char_p, c_int32)
_decl(fast, "tasks_version", c_char_p)


def status_text(status: int) -> str:
    """The library's text for a status (tasks_status_str), e.g.
    "TASKS_ERR_SHUTDOWN: the runtime is shut down"; for an unknown value, the library's text
    for unknown values."""
    return str(fast.tasks_status_str(status).decode())


def status_name(status: int) -> str:
    """The status's name, e.g. "TASKS_ERR_SHUTDOWN": the part of status_text before ": "
    ("TASKS_STATUS_<n>" for a value the library does not know)."""
    name, sep, _ = status_text(status).partition(": ")
    return name if sep and name.startswith("TASKS_") else f"TASKS_STATUS_{status}"

