"""libtasks.Executor vs concurrent.futures.ThreadPoolExecutor (same thread count) on many small calls.

Usage: python3 bench_executor.py [N] [THREADS] [ROUNDS]

Three forms, each timed for both executors in the same round: a round runs N calls per executor in
10 blocks of N/10, alternating executors block by block (and which goes first), so that a loaded
machine slows both alike. The printed ratio (libtasks time / ThreadPoolExecutor time, lower is
better) is the median over the rounds:
  map         list(ex.map(small, range(N)))
  submit-all  fs = [ex.submit(small, i) for i in range(N)], then every f.result()
  one-by-one  ex.submit(small, i).result() for each i (N // 5 calls: the slowest form)
"""
import concurrent.futures as cf
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libtasks  # noqa: E402


def small(x):
    return x + 1


def t_map(ex, n):
    t = time.perf_counter()
    r = list(ex.map(small, range(n)))
    dt = time.perf_counter() - t
    assert r[-1] == n and len(r) == n
    return dt


def t_submit_all(ex, n):
    t = time.perf_counter()
    fs = [ex.submit(small, i) for i in range(n)]
    s = sum(f.result() for f in fs)
    dt = time.perf_counter() - t
    assert s == n * (n + 1) // 2
    return dt


def t_one_by_one(ex, n):
    n //= 5
    t = time.perf_counter()
    s = 0
    for i in range(n):
        s += ex.submit(small, i).result()
    dt = time.perf_counter() - t
    assert s == n * (n + 1) // 2
    return dt


FORMS = (("map", t_map), ("submit-all", t_submit_all), ("one-by-one", t_one_by_one))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    ratios = {name: [] for name, _ in FORMS}
    times = {name: [] for name, _ in FORMS}
    with cf.ThreadPoolExecutor(max_workers=threads) as tp, \
            libtasks.Executor(max_workers=threads) as lt:
        for name, f in FORMS:  # warm-up: threads started, code paths hot
            f(tp, 1000), f(lt, 1000)
        blocks = 10
        for r in range(rounds):
            for name, f in FORMS:
                a = b = 0.0
                for k in range(blocks):
                    if (r + k) % 2:
                        b += f(lt, n // blocks)
                        a += f(tp, n // blocks)
                    else:
                        a += f(tp, n // blocks)
                        b += f(lt, n // blocks)
                ratios[name].append(b / a)
                times[name].append((a, b))
    print(f"{n} calls, {threads} workers, {rounds} rounds (python {sys.version.split()[0]})")
    for name, _ in FORMS:
        a = statistics.median(t for t, _ in times[name])
        b = statistics.median(t for _, t in times[name])
        print(f"{name:11s} ThreadPoolExecutor {a:.3f} s  libtasks.Executor {b:.3f} s  "
              f"ratio libtasks/threadpool = {statistics.median(ratios[name]):.2f} "
              f"(rounds: {', '.join(f'{x:.2f}' for x in ratios[name])})")


if __name__ == "__main__":
    main()
