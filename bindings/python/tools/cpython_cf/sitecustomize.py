"""Loaded at start-up by every interpreter run_cpython_cf.py starts (this directory is on
PYTHONPATH): CPython's concurrent.futures tests, and the child interpreters some of them
start, get libtasks.Executor wherever they ask for ThreadPoolExecutor. A subclass of that
name, because tests build their child programs from ``executor_type.__name__``."""
import concurrent.futures
import concurrent.futures.thread

import libtasks


class ThreadPoolExecutor(libtasks.Executor):
    """libtasks.Executor, under the name the tests import."""


concurrent.futures.ThreadPoolExecutor = ThreadPoolExecutor  # type: ignore[misc]
concurrent.futures.thread.ThreadPoolExecutor = ThreadPoolExecutor  # type: ignore[misc]
