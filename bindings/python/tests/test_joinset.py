"""JoinSet: completion order, join_next(timeout), abort_all, len, iteration, close."""
import threading
import time
import weakref

import pytest

import libtasks
from conftest import wait_for


def gated(ev, value):
    ev.wait(5)
    return value


def test_empty_and_len(rt):
    js = libtasks.JoinSet(rt)
    assert len(js) == 0
    with pytest.raises(libtasks.Empty):
        js.join_next()
    with pytest.raises(libtasks.Empty):
        js.join_next(timeout=0)
    tid = js.spawn(lambda: "fast", name="f")
    assert isinstance(tid, int) and tid > 0
    assert len(js) == 1
    t = js.join_next_task(timeout=5)
    assert (t.id, t.name, t.join(), t.done(), t.cancelled()) == (tid, "f", "fast", True, False)
    assert len(js) == 0
    assert list(js) == []
    js.close()


def test_completion_order_iteration():
    with libtasks.Runtime(workers=4) as r:
        js = libtasks.JoinSet(r)
        evs = [threading.Event() for _ in range(4)]
        ids = [js.spawn(gated, evs[i], i) for i in range(4)]
        assert len(js) == 4
        order = [2, 0, 3, 1]
        evs[order[0]].set()
        got = []
        for t in js:  # finished tasks, in the order they finish
            got.append((t.id, t.join()))
            assert len(js) == 4 - len(got)
            if len(got) < len(order):
                evs[order[len(got)]].set()  # let the next one finish
        assert got == [(ids[k], k) for k in order]
        assert len(js) == 0


def test_completion_order_released_from_another_thread():
    with libtasks.Runtime(workers=3) as r:
        js = libtasks.JoinSet(r)
        evs = [threading.Event() for _ in range(3)]
        for i in range(3):
            js.spawn(gated, evs[i], i)
        order = [1, 2, 0]

        def releaser():
            for k in order:
                evs[k].set()
                time.sleep(0.05)
        threading.Thread(target=releaser).start()
        assert [t.join() for t in js] == order


def test_join_next_values_exceptions_timeout(rt):
    js = libtasks.JoinSet(rt)
    ev = threading.Event()
    js.spawn(ev.wait, 5)
    t = time.monotonic()
    with pytest.raises(TimeoutError):
        js.join_next(timeout=0.1)
    assert 0.09 <= time.monotonic() - t < 1
    with pytest.raises(TimeoutError):
        js.join_next(timeout=0)
    assert len(js) == 1
    ev.set()
    assert js.join_next(timeout=5) is True
    js.spawn(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        js.join_next()
    assert len(js) == 0


def test_abort_all():
    with libtasks.Runtime(workers=1) as r:
        js = libtasks.JoinSet(r)
        ev = threading.Event()
        running = js.spawn(ev.wait, 0.3)
        time.sleep(0.05)
        queued = [js.spawn(lambda: 1) for _ in range(3)]
        js.abort_all()
        assert len(js) == 4  # aborted tasks stay in the set until joined
        res = {t.id: t for t in js}
        assert all(res[i].cancelled() for i in queued)
        for i in queued:
            with pytest.raises(libtasks.Cancelled):
                res[i].join()
        assert not res[running].cancelled() and res[running].join() is False
        js.close()


def test_close_aborts_and_releases():
    with libtasks.Runtime(workers=1) as r:
        ev = threading.Event()
        blocker = r.spawn(ev.wait, 5)
        time.sleep(0.05)

        class Obj:
            def __call__(self):
                return 1
        o = Obj()
        w = weakref.ref(o)
        with libtasks.JoinSet(r) as js:
            js.spawn(o)
            del o
            assert w() is not None
        assert w() is None  # the queued task was cancelled by close
        with pytest.raises(libtasks.TasksError):
            js.spawn(lambda: 1)
        assert len(js) == 0
        ev.set()
        blocker.join()


def test_wait_while_other_thread_spawns(rt):
    js = libtasks.JoinSet(rt)
    ev = threading.Event()
    js.spawn(ev.wait, 5)

    def later():
        time.sleep(0.1)
        js.spawn(lambda: "late")  # must not be blocked by the waiting join_next
    t = threading.Thread(target=later)
    t.start()
    assert js.join_next(timeout=5) == "late"
    t.join()
    ev.set()
    assert js.join_next(timeout=5) is True


def test_default_runtime_join_set_and_await():
    import asyncio
    js = libtasks.JoinSet()
    for i in range(5):
        js.spawn(lambda i=i: i)
    tasks = list(js)
    assert sorted(t.join() for t in tasks) == list(range(5))

    async def main():
        return [await t for t in tasks]
    assert sorted(asyncio.run(main())) == list(range(5))
    assert wait_for(lambda: len(js) == 0)
