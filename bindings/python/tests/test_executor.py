"""libtasks.Executor as a concurrent.futures.Executor."""
import asyncio
import concurrent.futures as cf
import contextlib
import gc
import os
import threading
import time
import traceback
import weakref

import pytest

import libtasks


def test_is_executor_submit_result():
    with libtasks.Executor(max_workers=2) as ex:
        assert isinstance(ex, cf.Executor)
        f = ex.submit(pow, 2, 10)
        assert isinstance(f, cf.Future) and f.result(timeout=5) == 1024
        f = ex.submit(lambda a, b=0: a - b, 5, b=2)
        assert f.result(timeout=5) == 3
        assert ex.runtime.metrics()["workers"] == 2


def test_exception_with_traceback():
    def inner():
        raise ZeroDivisionError("zero")

    def outer():
        inner()
    with libtasks.Executor(max_workers=2) as ex:
        f = ex.submit(outer)
        with pytest.raises(ZeroDivisionError) as ei:
            f.result(timeout=5)
        assert isinstance(f.exception(), ZeroDivisionError)
        frames = traceback.extract_tb(ei.value.__traceback__)
        assert [fr.name for fr in frames][-2:] == ["outer", "inner"]
        pkg = os.path.dirname(libtasks.__file__)
        assert not [fr for fr in frames if fr.filename.startswith(pkg)]  # none of ours


def test_map_timeout_chunksize():
    with libtasks.Executor(max_workers=2) as ex:
        assert list(ex.map(lambda x: x * x, range(100))) == [x * x for x in range(100)]
        assert list(ex.map(lambda a, b: a + b, range(50), range(50, 100))) == [100 + 2 * x - 50 for x in range(50)]
        for cs in (2, 7, 100, 1000):
            assert list(ex.map(lambda a, b: a * b, range(53), range(53), chunksize=cs)) == \
                [x * x for x in range(53)]
        before = ex.runtime.metrics()["spawned"]
        assert list(ex.map(abs, range(-40, 0), chunksize=10)) == list(range(40, 0, -1))
        assert ex.runtime.metrics()["spawned"] - before <= 2  # 40 calls in <= max_workers runners
        with pytest.raises(ValueError):
            ex.map(abs, [1], chunksize=0)
        t = time.monotonic()
        with pytest.raises(cf.TimeoutError):
            list(ex.map(time.sleep, [0.5, 0.5], timeout=0.05))
        assert time.monotonic() - t < 0.45
        with pytest.raises(TimeoutError):  # builtin TimeoutError too
            list(ex.map(time.sleep, [0.5], timeout=0.01, chunksize=2))
        with pytest.raises(ZeroDivisionError):
            list(ex.map(lambda x: 1 / x, [1, 0, 2]))


def test_as_completed_order():
    with libtasks.Executor(max_workers=3) as ex:
        evs = [threading.Event() for _ in range(3)]
        fs = [ex.submit(evs[i].wait, 5) for i in range(3)]
        order = [1, 2, 0]

        def releaser():
            for k in order:
                evs[k].set()
                time.sleep(0.05)
        threading.Thread(target=releaser).start()
        done = list(cf.as_completed(fs, timeout=5))
        assert done == [fs[k] for k in order]
        assert all(f.result() is True for f in done)
        _, not_done = cf.wait(fs, timeout=0)
        assert not not_done


def test_run_in_executor():
    with libtasks.Executor(max_workers=2) as ex:
        async def main():
            loop = asyncio.get_running_loop()
            r = await asyncio.gather(*[loop.run_in_executor(ex, pow, i, 2) for i in range(200)])
            r2 = await loop.run_in_executor(ex, libtasks.current_task_id)
            return r, r2
        r, tid = asyncio.run(main())
        assert r == [i * i for i in range(200)] and tid > 0


def test_shutdown_wait_runs_pending():
    ex = libtasks.Executor(max_workers=1)
    fs = [ex.submit(time.sleep, 0.01) for _ in range(20)]
    ex.shutdown(wait=True)
    assert all(f.done() and not f.cancelled() for f in fs)
    assert ex.runtime.closed
    with pytest.raises(RuntimeError):
        ex.submit(lambda: 1)
    ex.shutdown()  # again: fine


def test_shutdown_cancel_futures():
    ex = libtasks.Executor(max_workers=1)
    ev = threading.Event()
    started = threading.Event()

    def first_fn():
        started.set()
        return ev.wait(5)

    first = ex.submit(first_fn)
    # Running before shutdown (a fixed sleep was not enough on a loaded machine: the first call
    # had not started, so cancel_futures rightly cancelled it).
    assert started.wait(10)
    ran = []
    rest = [ex.submit(ran.append, i) for i in range(10)]
    threading.Timer(0.1, ev.set).start()
    ex.shutdown(wait=True, cancel_futures=True)
    assert first.result() is True
    assert all(f.cancelled() for f in rest) and ran == []


@contextlib.contextmanager
def resubmitting_executor():
    """A 1-worker Executor whose queue never empties (a call that keeps re-submitting itself)
    while the block runs; stopped and shut down on exit."""
    stop = threading.Event()
    ex = libtasks.Executor(max_workers=1)

    def again():
        if not stop.is_set():
            ex.submit(again)
    try:
        ex.submit(again)
        time.sleep(0.05)
        yield ex
    finally:
        stop.set()
        ex.shutdown()


def test_resubmitting_call_leaves_the_gil_to_other_threads():
    # CPython's test_hang_global_shutdown_lock: a call that keeps re-submitting itself must not
    # starve the program's other Python threads. ThreadPoolExecutor: ~10 ms per thread
    # start+join; a runner that gave up the GIL and took it back every few hundred calls never
    # let CPython's forced switch (after sys.getswitchinterval()) happen: ~3 s each.
    with resubmitting_executor():
        t0 = time.monotonic()
        started = 0
        while started < 10 and time.monotonic() - t0 < 5:
            t = threading.Thread(target=lambda: None)
            t.start()
            t.join()
            started += 1
        took = time.monotonic() - t0
    assert started == 10 and took < 2.5, (started, took)


def test_resubmitting_call_leaves_the_worker_to_other_tasks():
    # The runner hands its worker over now and then (RUNNER_SLICE): a task spawned on the
    # executor's 1-worker runtime runs even while the queue never empties.
    with resubmitting_executor() as ex:
        t0 = time.monotonic()
        assert ex.runtime.spawn(lambda: 7).join(timeout=10) == 7
        took = time.monotonic() - t0
    assert took < 5, took


def test_shutdown_no_wait():
    ex = libtasks.Executor(max_workers=1)
    fs = [ex.submit(time.sleep, 0.5) for _ in range(4)]
    t = time.monotonic()
    ex.shutdown(wait=False)
    assert time.monotonic() - t < 0.4  # waiting for even the first sleep would take 0.5 s
    with pytest.raises(RuntimeError):
        ex.submit(lambda: 1)
    assert [f.result(timeout=5) for f in fs] == [None] * 4
    rt = ex.runtime
    deadline = time.monotonic() + 5
    while not rt.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rt.closed


def test_future_cancel_before_start():
    with libtasks.Executor(max_workers=1) as ex:
        ev = threading.Event()
        b = ex.submit(ev.wait, 5)
        time.sleep(0.05)
        ran = []
        f = ex.submit(ran.append, 1)
        assert f.cancel() and f.cancelled()
        ev.set()
        assert b.result(5) is True
    assert ran == []


def test_released_after_call():
    class Obj:
        def __call__(self, x):
            return x
    with libtasks.Executor(max_workers=2) as ex:
        o, a = Obj(), Obj()
        wo, wa = weakref.ref(o), weakref.ref(a)
        f = ex.submit(o, a)
        del o, a
        assert f.result(timeout=5) is wa()
        assert wo() is None  # callable released before the future was completed
        f = None
        gc.collect()
        assert wa() is None


def test_shutdown_from_own_call_raises():
    with libtasks.Executor(max_workers=1) as ex:
        f = ex.submit(lambda: ex.shutdown(wait=True))
        with pytest.raises(RuntimeError):
            f.result(timeout=5)


# -- map: element by element, as concurrent.futures promises -----------------------------------
def test_map_exceptions_at_their_element_and_later_calls_still_run():
    ran = []

    def f(x):
        ran.append(x)
        if x in (3, 7):
            raise ValueError(x)
        return x * 10
    with libtasks.Executor(max_workers=2) as ex:
        it = ex.map(f, range(10))
        assert [next(it) for _ in range(3)] == [0, 10, 20]
        with pytest.raises(ValueError) as ei:
            next(it)
        assert ei.value.args == (3,)
        with pytest.raises(StopIteration):  # a map iterator ends at the first exception
            next(it)
    assert sorted(ran) == list(range(10))  # every call ran, also those after the failures


def test_map_closing_the_iterator_cancels_elements_not_started():
    gate = threading.Event()
    ran = []

    def f(x):
        if x == 1:
            gate.wait(5)
        ran.append(x)
        return x
    with libtasks.Executor(max_workers=1) as ex:
        it = ex.map(f, range(100))
        assert next(it) == 0
        time.sleep(0.05)
        it.close()  # element 1 is running; the others have not started
        gate.set()
    assert ran == [0, 1]


def test_map_results_in_order_under_uneven_durations():
    def f(x):
        time.sleep(0.001 * (x % 3))
        return x
    with libtasks.Executor(max_workers=3) as ex:
        assert list(ex.map(f, range(200), chunksize=4)) == list(range(200))
        assert list(ex.map(f, [])) == []


def test_map_iterator_keeps_no_results():
    class Obj:
        pass
    with libtasks.Executor(max_workers=2) as ex:
        for obj in ex.map(lambda _: Obj(), range(10)):
            w = weakref.ref(obj)
            del obj
            gc.collect()
            assert w() is None


def test_map_cancelled_by_shutdown_cancel_futures():
    gate = threading.Event()
    with libtasks.Executor(max_workers=1) as ex:
        blocker = ex.submit(gate.wait, 5)
        it = ex.map(abs, range(-5, 0))
        ex.shutdown(wait=False, cancel_futures=True)
        gate.set()
        with pytest.raises(cf.CancelledError):
            list(it)
        assert blocker.result(timeout=5) is True


def test_submit_then_cancel_futures_runs_the_first_call():
    # As with ThreadPoolExecutor, whose submit waits for a new thread to start: the call that
    # started a worker is running by the time submit returns, so it is not cancelled.
    ran = []
    ex = libtasks.Executor(max_workers=2)
    fs = [ex.submit(lambda i=i: (time.sleep(0.05), ran.append(i)), i) for i in range(20)]
    ex.shutdown(wait=True, cancel_futures=True)
    assert ran and not fs[0].cancelled() and fs[0].done()
    assert sum(f.cancelled() for f in fs) >= 10


def test_one_at_a_time_reuses_lingering_runners():
    with libtasks.Executor(max_workers=2) as ex:
        ex.submit(int).result()
        before = ex.runtime.metrics()["spawned"]
        for i in range(200):
            assert ex.submit(abs, -i).result(timeout=5) == i
        # Runners linger between calls submitted back to back: far fewer tasks than calls.
        assert ex.runtime.metrics()["spawned"] - before < 100
