"""libtasks from Python: structured fork-join with TaskGroup (over the C scope, tasks_scope_run).

A TaskGroup waits for every task spawned into it when the ``with`` block is left; the first
task that raises cancels the others (tasks not started never run, running ones see
``libtasks.is_cancelled()``) and its exception is raised; several failures make an
ExceptionGroup (Python >= 3.11). Tasks may spawn into their own group, and groups nest (also
inside tasks, on a single worker).

Run: PYTHONPATH=bindings/python python3 examples/python/taskgroup.py   (or pip install ./bindings/python)
Exits with status 1 if a result is not the expected one.
"""
import sys
import threading
import time

import libtasks


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def tree_sum(g: libtasks.TaskGroup, lo: int, hi: int, out: list, lock: threading.Lock) -> None:
    """Sums [lo, hi) by splitting it into tasks of the same group (tasks spawning tasks)."""
    if hi - lo <= 1000:
        s = sum(range(lo, hi))
        with lock:
            out.append(s)
        return
    mid = (lo + hi) // 2
    g.spawn(tree_sum, g, lo, mid, out, lock)
    g.spawn(tree_sum, g, mid, hi, out, lock)


def main() -> int:
    ok = True
    with libtasks.Runtime(workers=4) as rt:
        # Results: each task's value is there once the block has been left.
        with libtasks.TaskGroup(rt) as g:
            parts = [g.spawn(fib, n, name=f"fib{n}") for n in range(15, 20)]
        values = [p.result() for p in parts]
        print("results:", values)
        ok &= values == [fib(n) for n in range(15, 20)]

        # Tasks spawning into their own group.
        out: list = []
        lock = threading.Lock()
        with libtasks.TaskGroup(rt) as g:
            g.spawn(tree_sum, g, 0, 100_000, out, lock)
        print(f"tree sum: {sum(out)} from {len(out)} leaf tasks")
        ok &= sum(out) == sum(range(100_000))

        # The first failure cancels the rest: a long task sees is_cancelled() and stops early.
        def slow(i: int) -> str:
            end = time.monotonic() + 5
            while time.monotonic() < end:
                if libtasks.is_cancelled():
                    return f"slow {i} stopped early"
                time.sleep(0.001)
            return f"slow {i} ran to the end"

        def bad() -> None:
            time.sleep(0.01)
            raise ValueError("bad input")
        t0 = time.monotonic()
        try:
            with libtasks.TaskGroup(rt) as g:
                slows = [g.spawn(slow, i) for i in range(3)]
                g.spawn(bad)
        except ValueError as e:
            took = time.monotonic() - t0
            print(f"group raised {e!r} after {took:.2f} s;",
                  [s.result() if not s.cancelled() else "cancelled" for s in slows])
            ok &= took < 4
        else:
            print("the failure was not raised")
            ok = False

        # Nesting: each task of the outer group runs a group of its own.
        def squares(k: int) -> int:
            with libtasks.TaskGroup() as inner:  # the calling task's runtime
                hs = [inner.spawn(pow, i, 2) for i in range(k)]
            return sum(h.result() for h in hs)
        with libtasks.TaskGroup(rt) as g:
            sq = [g.spawn(squares, k) for k in (10, 20, 30)]
        print("nested:", [s.result() for s in sq])
        ok &= [s.result() for s in sq] == [sum(i * i for i in range(k)) for k in (10, 20, 30)]

    print("ok" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
