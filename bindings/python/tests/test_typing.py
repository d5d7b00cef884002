"""Issue 9, P7: the package passes mypy --strict, and its types say what calls return (a
sample of the public API in use type-checks; a misuse is reported)."""
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import PKG_DIR

pytest.importorskip("mypy", reason="mypy is not installed (scripts/test.sh installs it)")


def mypy(*args, cwd=PKG_DIR):
    env = dict(os.environ, MYPYPATH=PKG_DIR)
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           "--cache-dir", os.devnull, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_package_and_public_api_pass_mypy_strict():
    r = mypy(os.path.join(PKG_DIR, "libtasks"), os.path.join(PKG_DIR, "tests", "typing_sample.py"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_misuse_is_reported(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent("""
        import libtasks
        def square(x: int) -> int:
            return x * x
        s: str = libtasks.spawn(square, 2).join()
        libtasks.Executor(max_workers="2")
    """))
    r = mypy(str(bad))
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'bad.py:5: error: Incompatible types in assignment' in r.stdout, r.stdout
    assert 'bad.py:6: error: Argument "max_workers"' in r.stdout, r.stdout
