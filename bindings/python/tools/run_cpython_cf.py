"""Runs CPython's own concurrent.futures tests for ThreadPoolExecutor against libtasks.Executor.

Usage: python3 tools/run_cpython_cf.py [PATH/TO/test_concurrent_futures.py] [NAME ...] [-NAME ...]

NAME: a test class or Class.test_method to run; -Class.test_method: leave that one out.

The test file is CPython's Lib/test/test_concurrent_futures.py of the running Python's version
(3.11: one file). Without a path, the installed test package's copy is used
(``import test.test_concurrent_futures``; Debian: the libpython3.X-testsuite package). It runs
the test classes whose name starts with ThreadPool (the executor tests; the process-pool ones
are not about us), or the CLASSes named with concurrent.futures.ThreadPoolExecutor replaced by libtasks.Executor in
this interpreter and in the ones the tests start (see cpython_cf/sitecustomize.py). The
library is found as usual (LIBTASKS_PATH, or the repository's build).
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)


def find_test_file(argv):
    if argv and argv[0].endswith(".py"):
        return argv.pop(0)
    try:
        import test.test_concurrent_futures as t  # noqa: F401
        return t.__file__
    except ImportError:
        sys.exit("run_cpython_cf: no test_concurrent_futures found: pass the path of CPython's "
                 f"Lib/test/test_concurrent_futures.py for Python {sys.version.split()[0]}")


def main():
    argv = sys.argv[1:]
    src = find_test_file(argv)
    with tempfile.TemporaryDirectory() as tmp:
        # A `test` package holding the file, that also finds the stdlib's test.support.
        pkg = os.path.join(tmp, "test")
        os.mkdir(pkg)
        with open(os.path.join(pkg, "__init__.py"), "w") as f:
            f.write("import os, sysconfig\n"
                    "__path__.append(os.path.join(sysconfig.get_paths()['stdlib'], 'test'))\n")
        shutil.copy(src, os.path.join(pkg, "test_concurrent_futures.py"))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [tmp, os.path.join(HERE, "cpython_cf"), PKG] +
            ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        # The tests start child interpreters with -I (which ignores PYTHONPATH, so they would
        # get neither libtasks nor this test file) unless the interpreter seems to need its
        # environment, which test.support decides from PYTHONHOME being set.
        if sys.prefix == sys.base_prefix:
            env.setdefault("PYTHONHOME", sys.base_prefix)
        # A hang dumps every thread's stack and ends the run (RUN_CPYTHON_CF_TIMEOUT seconds).
        code = ("import faulthandler, os, sys, unittest, concurrent.futures as cf, libtasks\n"
                "faulthandler.dump_traceback_later("
                "float(os.environ.get('RUN_CPYTHON_CF_TIMEOUT', '600')), exit=True)\n"
                "assert issubclass(cf.ThreadPoolExecutor, libtasks.Executor)\n"
                "import test.test_concurrent_futures as m\n"
                "names = sys.argv[1:] or sorted(n for n in dir(m) if n.startswith('ThreadPool'))\n"
                "skip = {n[1:] for n in names if n.startswith('-')}\n"
                "names = [n for n in names if not n.startswith('-')]\n"
                "suite = unittest.TestSuite(t for n in names for t in "
                "unittest.defaultTestLoader.loadTestsFromName(n, m) if t.id().split('.', 2)[2] "
                "not in skip)\n"
                "r = unittest.TextTestRunner(verbosity=2).run(suite)\n"
                "sys.stdout.flush(); sys.stderr.flush()\n"
                # A test that fails half-way can leave calls blocked forever (e.g. on a
                # semaphore it would have released), which interpreter exit would wait for.
                "os._exit(0 if r.wasSuccessful() else 1)\n")
        return subprocess.call([sys.executable, "-c", code] + argv, env=env, cwd=tmp)


if __name__ == "__main__":
    sys.exit(main())
