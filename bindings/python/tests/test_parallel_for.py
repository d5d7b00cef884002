"""Issue 11 (optional part): libtasks.parallel_for over tasks_parallel_for."""
import threading

import pytest

import libtasks

WAIT = 10


@pytest.mark.parametrize("n", [0, 1, 255, 256, 10000])
def test_every_index_exactly_once(rt, n):
    for grain in (0, 1, 7, 1000):
        seen = [0] * n
        libtasks.parallel_for(rt, 0, n, lambda i: seen.__setitem__(i, seen[i] + 1), grain)
        assert seen == [1] * n
        chunks = []
        lock = threading.Lock()

        def chunk(b, e):
            with lock:
                chunks.append((b, e))
        libtasks.parallel_for(rt, 0, n, chunk, grain, chunked=True)
        chunks.sort()
        assert all(b < e for b, e in chunks)
        assert [i for b, e in chunks for i in range(b, e)] == list(range(n))
        assert all(e - b >= min(grain, n) for b, e in chunks)


def test_bounds_and_default_runtime():
    out = []
    libtasks.parallel_for(None, 5, 8, out.append)
    assert sorted(out) == [5, 6, 7]
    with pytest.raises(ValueError):
        libtasks.parallel_for(None, 3, 2, print)
    with pytest.raises(ValueError):
        libtasks.parallel_for(None, -1, 2, print)
    with pytest.raises(TypeError):
        libtasks.parallel_for(None, 0, 2, 42)


def test_first_exception_stops_the_loop(rt):
    calls = []

    def body(i):
        calls.append(i)
        if i == 10:
            raise KeyError("at 10")
    with pytest.raises(KeyError, match="at 10"):
        libtasks.parallel_for(rt, 0, 100_000, body, 50)
    assert len(calls) < 100_000


def test_inside_tasks_and_groups_on_one_worker():
    with libtasks.Runtime(workers=1) as r:
        def inner(k):
            acc = []
            libtasks.parallel_for(None, 0, 100, acc.append)  # the task's runtime; it takes part
            return k + sum(acc)
        assert r.spawn(inner, 1).join(timeout=WAIT) == 1 + 4950
        with libtasks.TaskGroup(r) as g:
            hs = [g.spawn(inner, k) for k in range(3)]
        assert [h.result() for h in hs] == [4950 + k for k in range(3)]


def test_closed_runtime():
    r = libtasks.Runtime(workers=1)
    r.close()
    with pytest.raises(libtasks.TasksError):
        libtasks.parallel_for(r, 0, 10, print)


def test_ctrl_c_during_parallel_for():
    from test_process import _sigint_latencies, assert_prompt
    lat = _sigint_latencies("libtasks.parallel_for(rt, 0, 2, lambda i: ev.wait(60))")
    assert_prompt(lat)
