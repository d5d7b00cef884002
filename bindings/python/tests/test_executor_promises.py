"""Issue 9, P2-P4: the concurrent.futures promises ThreadPoolExecutor keeps, kept by
libtasks.Executor: threads released on garbage collection, pending calls run before the
interpreter exits, initializer/initargs and BrokenExecutor, readable max_workers, thread names."""
import concurrent.futures as cf
import gc
import logging
import os
import re
import threading
import time

import pytest

import libtasks
from conftest import run_py, wait_for


def os_threads():
    return len(os.listdir("/proc/self/task"))


# -- P2: garbage collection releases the threads ----------------------------------------------
def test_gc_without_shutdown_releases_threads():
    gc.collect()
    base_os, base_py = os_threads(), threading.active_count()
    for _ in range(50):
        ex = libtasks.Executor(max_workers=2)
        assert ex.submit(pow, 2, 3).result(timeout=5) == 8
        assert list(ex.map(abs, [-1, -2])) == [1, 2]
        del ex
    assert wait_for(lambda: os_threads() <= base_os and threading.active_count() <= base_py,
                    timeout=30), (os_threads(), base_os, threading.active_count(), base_py)


def test_gc_lets_submitted_calls_finish_first():
    ex = libtasks.Executor(max_workers=1)
    rt = ex.runtime
    gate = threading.Event()
    ran = []
    first = ex.submit(gate.wait, 5)
    rest = [ex.submit(ran.append, i) for i in range(5)]
    del ex
    gc.collect()
    time.sleep(0.05)
    assert not rt.closed  # calls are pending: the runtime stays
    gate.set()
    assert first.result(timeout=5) is True
    assert [f.result(timeout=5) for f in rest] == [None] * 5 and ran == list(range(5))
    assert wait_for(lambda: rt.closed, timeout=10)


# -- P3: interpreter exit waits for pending calls ----------------------------------------------
def test_exit_runs_pending_calls_to_completion():
    code = """
        import sys, time, libtasks
        ex = libtasks.Executor(2)
        def work(i):
            time.sleep(0.2)
            sys.stdout.write(f"done {i}\\n")  # one write: lines from two threads do not mix
            sys.stdout.flush()
        for i in range(6):          # three rounds on two workers: most are queued at exit
            ex.submit(work, i)
        dropped = libtasks.Executor(1)
        dropped.submit(work, 99)    # garbage-collected below, before it ran
        del dropped
        print("main exits", flush=True)
    """
    r = run_py(code, timeout=60)
    assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr)
    lines = r.stdout.split("\n")
    assert lines[0] == "main exits"
    assert sorted(lines[1:-1]) == sorted(f"done {i}" for i in [0, 1, 2, 3, 4, 5, 99])


def test_exit_refuses_new_calls_like_thread_pool_executor():
    code = """
        import time, libtasks
        ex = libtasks.Executor(2)
        def outer():
            time.sleep(0.3)   # the main thread has finished by now
            try:
                ex.submit(print, "late")
            except RuntimeError as e:
                print("refused:", e, flush=True)
        ex.submit(outer)
    """
    r = run_py(code, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.strip() == "refused: cannot schedule new futures after interpreter shutdown"


def test_exit_keeps_cancelled_futures_cancelled():
    code = """
        import threading, libtasks
        ex = libtasks.Executor(1)
        gate = threading.Event()
        ex.submit(gate.wait, 5)
        ex.submit(print, "must not run").cancel()
        threading.Timer(0.2, gate.set).start()
        print("bye", flush=True)
    """
    r = run_py(code, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "bye" and r.stderr == "", r


# -- P4: initializer, BrokenExecutor, max_workers, thread names -------------------------------
_local = threading.local()


def _init(value):
    _local.value = value


def test_initializer_runs_in_each_worker_thread():
    with libtasks.Executor(max_workers=2, initializer=_init, initargs=("ready",)) as ex:
        gate = threading.Barrier(2, timeout=5)

        def both():  # two calls at once: one on each worker thread
            gate.wait()
            return _local.value, threading.get_ident()
        got = [f.result(timeout=5) for f in [ex.submit(both), ex.submit(both)]]
        assert [v for v, _ in got] == ["ready", "ready"] and got[0][1] != got[1][1]
        assert list(ex.map(lambda _: _local.value, range(20))) == ["ready"] * 20


def test_failing_initializer_breaks_the_executor(caplog):
    def bad_init():
        raise ValueError("error in initializer")
    with caplog.at_level(logging.CRITICAL, logger="concurrent.futures"):
        ex = libtasks.Executor(max_workers=2, initializer=bad_init)
        f = ex.submit(pow, 2, 2)
        with pytest.raises(cf.BrokenExecutor):
            f.result(timeout=5)
        assert wait_for(lambda: ex._broken)
        with pytest.raises(cf.BrokenExecutor):
            ex.submit(pow, 2, 2)
        with pytest.raises(libtasks.BrokenExecutor):
            ex.map(abs, [1])
        ex.shutdown()
    assert any("Exception in initializer:" in r.getMessage() and r.exc_info
               and "error in initializer" in str(r.exc_info[1]) for r in caplog.records)
    assert issubclass(libtasks.BrokenExecutor, cf.thread.BrokenThreadPool)


def test_pending_calls_fail_when_initializer_breaks():
    started = threading.Event()

    def slow_bad_init():
        started.set()
        time.sleep(0.2)
        raise ValueError("no")
    ex = libtasks.Executor(max_workers=1, initializer=slow_bad_init)
    fs = [ex.submit(pow, 2, i) for i in range(10)]
    it = ex.map(abs, [-1, -2])
    for f in fs:
        with pytest.raises(libtasks.BrokenExecutor):
            f.result(timeout=5)
    with pytest.raises(libtasks.BrokenExecutor):
        list(it)
    ex.shutdown()


def test_constructor_checks():
    with pytest.raises(ValueError):
        libtasks.Executor(max_workers=0)
    with pytest.raises(TypeError):
        libtasks.Executor(initializer=42)


def test_max_workers_readable():
    with libtasks.Executor(max_workers=3) as ex:
        assert ex.max_workers == 3 == ex.runtime.metrics()["workers"]
    with libtasks.Executor() as ex:
        assert ex.max_workers == ex.runtime.metrics()["workers"] >= 1


def test_thread_names_visible_to_python_and_logging(caplog):
    log = logging.getLogger("libtasks.test")

    def who():
        log.warning("hello")
        return threading.current_thread().name
    with caplog.at_level(logging.WARNING, logger="libtasks.test"):
        with libtasks.Executor(max_workers=2, thread_name_prefix="SpecialPool") as ex:
            names = set(ex.map(lambda _: who(), range(50)))
            names |= {ex.submit(who).result(timeout=5)}
            live = {t.name for t in threading.enumerate()}
    assert names and all(re.fullmatch(r"SpecialPool_[01]", n) for n in names), names
    assert names <= live
    assert {r.threadName for r in caplog.records} == names
    assert wait_for(lambda: not any(t.name.startswith("SpecialPool_")
                                    for t in threading.enumerate()))  # gone with the executor
    with libtasks.Executor(max_workers=2) as ex:
        assert re.fullmatch(r"Executor-\d+_[01]", ex.submit(who).result(timeout=5))
    with libtasks.Runtime(workers=2, thread_name="pyt") as rt:
        assert re.fullmatch(r"pyt-[01]", rt.spawn(who).join(timeout=5))
