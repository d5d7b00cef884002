"""Issue 9, P1: a call that submits to its own executor (or spawns on its own runtime) and then
waits for that work. The waiting task blocks its worker thread in Python code, so the spawned
work must be taken by another worker: each wait has a timeout, so that on a core where the work
stays stuck the test fails instead of hanging."""
import threading

import pytest

import libtasks

WAIT = 3  # seconds: far more than the work takes; a stuck spawn fails the test after this

pytestmark = pytest.mark.needs_core_fix_p1


def test_nested_submit_result():
    with libtasks.Executor(max_workers=2) as ex:
        def outer():
            return ex.submit(pow, 2, 5).result(timeout=WAIT)
        assert ex.submit(outer).result(timeout=2 * WAIT) == 32


def test_nested_submit_result_many_levels():
    with libtasks.Executor(max_workers=4) as ex:
        def level(n):
            if n == 0:
                return 0
            return 1 + ex.submit(level, n - 1).result(timeout=WAIT)
        assert ex.submit(level, 3).result(timeout=2 * WAIT) == 3


@pytest.mark.parametrize("n", [1, 10])
def test_map_inside_a_call(n):
    with libtasks.Executor(max_workers=2) as ex:
        def outer():
            return list(ex.map(abs, range(-n, 0), timeout=WAIT))
        assert ex.submit(outer).result(timeout=2 * WAIT) == list(range(n, 0, -1))


def test_spawn_then_event_wait():
    with libtasks.Runtime(workers=2) as rt:
        def outer():
            ev = threading.Event()
            h = libtasks.spawn(ev.set)  # on the caller's runtime
            assert ev.wait(WAIT), "the spawned task did not run while its spawner waited"
            return h.join(timeout=WAIT) is None
        assert rt.spawn(outer).join(timeout=2 * WAIT) is True
