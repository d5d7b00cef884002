"""libtasks.Executor vs concurrent.futures.ThreadPoolExecutor (same thread count) on many small calls.

Usage: python3 bench_executor.py [N] [THREADS]
"""
import concurrent.futures as cf
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libtasks  # noqa: E402


def small(x):
    return x + 1


def bench(ex, n):
    t = time.perf_counter()
    r = list(ex.map(small, range(n)))
    t_map = time.perf_counter() - t
    assert r[-1] == n
    t = time.perf_counter()
    fs = [ex.submit(small, i) for i in range(n)]
    s = sum(f.result() for f in fs)
    t_sub = time.perf_counter() - t
    assert s == n * (n + 1) // 2
    return t_map, t_sub


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else (os.cpu_count() or 4)
    with cf.ThreadPoolExecutor(max_workers=threads) as ex:
        tp = bench(ex, n)
    with libtasks.Executor(max_workers=threads) as ex:
        lt = bench(ex, n)
    print(f"{n} calls, {threads} threads (python {sys.version.split()[0]})")
    for i, what in enumerate(("map", "submit+result")):
        print(f"{what:14s} ThreadPoolExecutor {tp[i]:.3f} s ({n / tp[i]:,.0f}/s)   "
              f"libtasks.Executor {lt[i]:.3f} s ({n / lt[i]:,.0f}/s)   "
              f"ratio libtasks/threadpool time = {lt[i] / tp[i]:.2f}")


if __name__ == "__main__":
    main()
