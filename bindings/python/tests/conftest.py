"""Tests import the package from this source tree (bindings/python); the library is found as
libtasks/_lib.py describes (ctest sets LIBTASKS_PATH to the CMake build's staged library)."""
import gc
import os
import subprocess
import sys
import textwrap

import pytest

PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PKG_DIR)

import libtasks  # noqa: E402


@pytest.fixture
def rt():
    with libtasks.Runtime(workers=2) as r:
        yield r


def wait_for(pred, timeout=5.0):
    """Polls pred() until true (for effects that land just after a wait returns)."""
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        gc.collect()
        time.sleep(0.005)
    return pred()


def child_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_DIR + os.pathsep + env.get("PYTHONPATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_py(code, timeout=60, **extra_env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=child_env(**extra_env),
                          timeout=timeout, capture_output=True, text=True)
