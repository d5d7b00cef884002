"""Runtime, spawn, JoinHandle, exceptions, cancellation, weakref release, metrics."""
import concurrent.futures as cf
import gc
import threading
import time
import traceback
import weakref

import pytest

import libtasks
from conftest import wait_for


class Obj:
    """A callable that can be weakly referenced."""

    def __init__(self, result=1):
        self.result = result

    def __call__(self, *args, **kwargs):
        return self.result


# -- spawn / join ----------------------------------------------------------------------------
def test_spawn_join_args_kwargs_name_id(rt):
    h = rt.spawn(lambda a, b=0: a + b, 1, b=2, name="adder")
    assert h.join() == 3
    assert h.name == "adder" and isinstance(h.id, int) and h.id > 0
    assert h.done() and not h.cancelled()
    assert h.join() == 3 and h.result() == 3  # joining again gives the same value
    assert "adder" in repr(h)
    ids = {rt.spawn(lambda: None).id for _ in range(50)}
    assert len(ids) == 50 and 0 not in ids


def test_unnamed_task_and_current_name(rt):
    h = rt.spawn(libtasks.current_task_name)
    assert h.name is None and h.join() is None
    assert rt.spawn(libtasks.current_task_name, name="named").join() == "named"
    assert libtasks.current_task_name() is None


def test_module_spawn_uses_default_runtime():
    d = libtasks.default_runtime()
    assert d is libtasks.default_runtime()
    before = d.metrics()["spawned"]
    assert libtasks.spawn(lambda x: x * 2, 21).join(timeout=5) == 42
    assert libtasks.spawn_blocking(lambda: "b").join(timeout=5) == "b"
    assert d.metrics()["spawned"] >= before + 2
    assert "alive" in libtasks.metrics()


def test_module_spawn_inside_task_uses_callers_runtime(rt):
    def outer():
        inner = libtasks.spawn(lambda: libtasks.current_task_id())
        return inner.join(), libtasks.metrics()["workers"]
    before = rt.metrics()["spawned"]
    inner_id, workers = rt.spawn(outer).join(timeout=5)
    assert inner_id > 0 and workers == 2
    assert rt.metrics()["spawned"] == before + 2


def test_spawn_blocking(rt):
    hs = [rt.spawn_blocking(time.sleep, 0.2) for _ in range(4)]  # more than the 2 workers
    t = time.monotonic()
    assert [h.join(timeout=5) for h in hs] == [None] * 4
    assert time.monotonic() - t < 0.7  # they ran side by side on the blocking pool
    assert rt.metrics()["blocking_threads"] >= 4


def test_spawn_after(rt):
    t = time.monotonic()
    h = rt.spawn_after(0.15, time.monotonic)
    assert h.join(timeout=5) - t >= 0.15
    h = rt.spawn_after(30, lambda: 1)
    h.abort()
    with pytest.raises(libtasks.Cancelled):
        h.join(timeout=1)


def test_fork_join_inside_tasks_one_worker():
    def fib(n):
        if n < 2:
            return n
        a = libtasks.spawn(fib, n - 1)
        return fib(n - 2) + a.join()
    with libtasks.Runtime(workers=1) as r:
        assert r.spawn(fib, 12).join(timeout=30) == 144


def test_current_task_id_and_is_cancelled(rt):
    h = rt.spawn(lambda: (libtasks.current_task_id(), libtasks.is_cancelled()))
    tid, c = h.join()
    assert tid == h.id and c is False
    assert libtasks.current_task_id() == 0 and libtasks.is_cancelled() is False


def test_non_callable_rejected(rt):
    with pytest.raises(TypeError):
        rt.spawn(42)


# -- exceptions ------------------------------------------------------------------------------
def test_exception_transport_with_traceback(rt):
    def inner():
        raise ValueError("boom")

    def outer():
        inner()
    h = rt.spawn(outer)
    with pytest.raises(ValueError, match="boom") as ei:
        h.join()
    names = [f.name for f in traceback.extract_tb(ei.value.__traceback__)]
    assert names[-2:] == ["outer", "inner"] and "_run_task" not in names
    with pytest.raises(ValueError) as ei2:  # again: the same exception, same traceback
        h.join()
    assert ei2.value is ei.value
    assert [f.name for f in traceback.extract_tb(ei2.value.__traceback__)] == names
    assert h.done() and not h.cancelled()


def test_exception_chain_and_base_exceptions(rt):
    def chained():
        try:
            {}["k"]
        except KeyError as e:
            raise RuntimeError("wrapped") from e
    with pytest.raises(RuntimeError) as ei:
        rt.spawn(chained).join()
    assert isinstance(ei.value.__cause__, KeyError)

    def interrupt():
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        rt.spawn(interrupt).join()
    assert rt.metrics()["failed"] == 2


def test_timeout(rt):
    ev = threading.Event()
    h = rt.spawn(ev.wait, 5)
    t = time.monotonic()
    with pytest.raises(TimeoutError):
        h.join(timeout=0.1)
    assert 0.09 <= time.monotonic() - t < 1
    with pytest.raises(TimeoutError):
        h.join(timeout=0)
    assert not h.done() and not h.cancelled()
    ev.set()
    assert h.join(timeout=5) is True  # the handle stays valid


# -- cancellation ----------------------------------------------------------------------------
def test_abort_queued_task_is_cancelled():
    with libtasks.Runtime(workers=1) as r:
        ev = threading.Event()
        blocker = r.spawn(ev.wait, 5)
        time.sleep(0.05)
        ran = []
        h = r.spawn(ran.append, 1)
        h.abort()
        assert h.done() and h.cancelled()  # cancelled before abort returned
        with pytest.raises(libtasks.Cancelled):
            h.join(timeout=5)
        with pytest.raises(cf.CancelledError):
            h.join()
        ev.set()
        assert blocker.join() is True
        assert ran == []
        assert r.metrics()["cancelled"] == 1


def test_abort_running_task_is_cooperative(rt):
    started = threading.Event()

    def loop():
        started.set()
        while not libtasks.is_cancelled():
            time.sleep(0.001)
        return "stopped"
    h = rt.spawn(loop)
    assert started.wait(5)
    h.abort()
    h.abort()  # a second abort does nothing
    assert h.join(timeout=5) == "stopped"  # whatever a running task returns stands
    assert not h.cancelled()


def test_abort_after_completion_changes_nothing(rt):
    h = rt.spawn(lambda: "v")
    assert h.join() == "v"
    h.abort()
    assert h.join() == "v" and not h.cancelled()


def test_shutdown_cancels_queued_and_refuses_spawns():
    r = libtasks.Runtime(workers=1)
    ev = threading.Event()
    running = r.spawn(ev.wait, 0.3)
    time.sleep(0.05)
    queued = r.spawn(lambda: 1)
    assert r.shutdown(timeout=5) is True
    assert running.join() is False  # ran to its end
    with pytest.raises(libtasks.Cancelled):
        queued.join()
    with pytest.raises(libtasks.TasksError) as ei:
        r.spawn(lambda: 1)
    assert ei.value.name == "TASKS_ERR_SHUTDOWN" and ei.value.status == -3
    assert "TASKS_ERR_SHUTDOWN" in str(ei.value)
    r.close()
    r.close()  # idempotent
    assert r.closed
    with pytest.raises(libtasks.TasksError):
        r.spawn(lambda: 1)
    assert queued.cancelled()  # handles outlive their runtime


def test_shutdown_timeout_and_is_cancelled_in_running_task():
    r = libtasks.Runtime(workers=1)
    release = threading.Event()
    seen = []

    def task():
        release.wait(5)
        seen.append(libtasks.is_cancelled())
    h = r.spawn(task)
    time.sleep(0.05)
    t = time.monotonic()
    assert r.shutdown(timeout=0.1) is False
    assert time.monotonic() - t < 1
    release.set()
    assert r.shutdown(timeout=5) is True
    assert seen == [True] and h.join() is None
    r.close()


def test_close_from_own_task_raises():
    with libtasks.Runtime(workers=1) as r:
        h = r.spawn(r.close)
        with pytest.raises(libtasks.TasksError) as ei:
            h.join(timeout=5)
        assert ei.value.name == "TASKS_ERR_WOULD_DEADLOCK"
        assert not r.closed


def test_builder_options_and_errors():
    with pytest.raises(ValueError):
        libtasks.Runtime(workers=0)
    with pytest.raises(libtasks.TasksError) as ei:
        libtasks.Runtime(workers=1, stack_size=1024)
    assert ei.value.name == "TASKS_ERR_INVALID"
    with libtasks.Runtime(workers=3, max_blocking_threads=1, thread_name="pyt",
                          blocking_keep_alive=0.5, stack_size=1 << 20) as r:
        assert r.metrics()["workers"] == 3
        def thread_name():
            with open(f"/proc/self/task/{threading.get_native_id()}/comm") as f:
                return f.read().strip()
        assert r.spawn(thread_name).join().startswith("pyt-")
        hs = [r.spawn_blocking(time.sleep, 0.05) for _ in range(3)]
        [h.join() for h in hs]
        assert r.metrics()["blocking_threads"] == 1


# -- keeping callables alive, and releasing them ---------------------------------------------
def test_callable_kept_alive_until_task_ends_then_released(rt):
    gate = threading.Event()
    fn, arg = Obj(), Obj()
    wf, wa = weakref.ref(fn), weakref.ref(arg)

    def wrapper(f, a):
        gate.wait(5)
        return f(a)
    h = rt.spawn(wrapper, fn, arg)
    del fn, arg
    gc.collect()
    assert wf() is not None and wa() is not None  # the task holds them while it runs
    gate.set()
    assert h.join() == 1
    assert wf() is None and wa() is None  # released as the task ended, before join returned


def test_released_after_failure_when_handle_dropped(rt):
    arg = Obj()
    wa = weakref.ref(arg)

    def fail(a):
        raise ValueError("x")
    h = rt.spawn(fail, arg)
    del arg
    with pytest.raises(ValueError):
        h.join()
    del h  # the exception (whose traceback holds the task's frame) goes with the handle
    assert wait_for(lambda: wa() is None)


def test_released_after_cancel():
    with libtasks.Runtime(workers=1) as r:
        ev = threading.Event()
        b = r.spawn(ev.wait, 5)
        time.sleep(0.05)
        fn, arg = Obj(), Obj()
        wf, wa = weakref.ref(fn), weakref.ref(arg)
        h = r.spawn(fn, arg)
        h2 = r.spawn(Obj(), arg)
        del fn, arg
        h.abort()
        assert wf() is None  # cancelled before abort returned, callable released
        assert wa() is not None  # still held by the second queued task
        assert r.shutdown(timeout=0) is False  # cancels h2 (queued); b still runs
        assert wa() is None
        with pytest.raises(libtasks.Cancelled):
            h2.join()
        ev.set()
        b.join()


def test_no_leak_over_many_tasks(rt):
    before = len(libtasks._registry)
    objs = [Obj(i) for i in range(500)]
    refs = [weakref.ref(o) for o in objs]
    hs = [rt.spawn(o) for o in objs]
    del objs
    assert [h.join() for h in hs] == list(range(500))
    detached = [weakref.ref(o) for o in [Obj() for _ in range(100)]]  # already dead
    for _ in range(100):
        rt.spawn(Obj())  # handle dropped at once: detached
    assert wait_for(lambda: len(libtasks._registry) == before)
    assert all(r() is None for r in refs) and all(r() is None for r in detached)
    m = rt.metrics()
    assert m["alive"] == 0 and m["completed"] >= 600


# -- GIL and metrics -------------------------------------------------------------------------
def test_join_releases_gil(rt):
    ev = threading.Event()
    h = rt.spawn(ev.wait, 5)
    counter = [0]

    def other():
        for _ in range(20):
            counter[0] += 1
            time.sleep(0.005)
        ev.set()
    t = threading.Thread(target=other)
    t.start()
    assert h.join(timeout=5) is True  # the other Python thread ran while main waited in C
    assert counter[0] == 20
    t.join()


def test_tasks_run_in_parallel_with_gil_released(rt):
    # Two tasks that block in C (time.sleep releases the GIL) overlap on two workers.
    # Checked by overlap, not by wall time (a loaded machine stretches time): both were
    # asleep at once, i.e. each started before the other ended.
    spans = []

    def sleeper():
        start = time.monotonic()
        time.sleep(0.3)
        spans.append((start, time.monotonic()))
    hs = [rt.spawn(sleeper) for _ in range(2)]
    [h.join() for h in hs]
    assert len(spans) == 2
    assert max(s for s, _ in spans) < min(e for _, e in spans)


def test_metrics(rt):
    for _ in range(5):
        rt.spawn(lambda: None).join()
    with pytest.raises(ZeroDivisionError):
        rt.spawn(lambda: 1 / 0).join()
    m = rt.metrics()
    assert m["workers"] == 2
    assert m["spawned"] == 6 and m["completed"] == 5 and m["failed"] == 1
    assert m["spawned"] == m["completed"] + m["failed"] + m["cancelled"] + m["alive"]
    assert m["polls"] >= 6
    assert set(m) >= {"steals", "parks", "injection_queue_depth", "local_queue_depth",
                      "idle_blocking_threads", "blocking_threads"}
    assert libtasks.metrics(rt)["spawned"] == 6


def test_errors_and_version():
    e = libtasks.TasksError(-3)
    assert e.name == "TASKS_ERR_SHUTDOWN" and e.status == -3 and "TASKS_ERR_SHUTDOWN" in str(e)
    assert issubclass(libtasks.Cancelled, cf.CancelledError)
    assert issubclass(libtasks.Empty, LookupError)
    assert issubclass(libtasks.TasksError, RuntimeError)
    assert libtasks.version().count(".") == 2
    assert libtasks.library_path.endswith(".so") or ".so." in libtasks.library_path
