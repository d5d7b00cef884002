#!/usr/bin/env bash
# Makes the Python environment the Python binding's tests need: a virtual environment at
# $1 (default build/pyvenv) with pytest and mypy from PyPI, made from the system's python3 (so
# the tests run on the interpreter users have). Idempotent: an environment that already has
# both is left alone (no network needed then). Prints the environment's interpreter last.
#   PYTHON=python3.12 scripts/python-env.sh build/pyvenv    another interpreter
# Why a venv: Debian's system python refuses plain pip installs (PEP 668), and --user or
# --break-system-packages would change the machine; build/ is ours to write.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=${1:-build/pyvenv}
python=${PYTHON:-python3}
reqs=("pytest>=7,<10" "mypy>=1.8,<3")

have_tools() { "$venv/bin/python" -c 'import pytest, mypy' >/dev/null 2>&1; }
# Absolute (ctest runs it from the build directory), not resolved: the venv is found from the
# path it is started by.
abs_python() { echo "$(cd "$venv" && pwd)/bin/python"; }

if [[ -x $venv/bin/python ]] && have_tools; then
  abs_python
  exit 0
fi
if [[ ! -x $venv/bin/python ]]; then
  mkdir -p "$(dirname "$venv")"
  if ! "$python" -m venv "$venv" >&2; then
    rm -rf "$venv"
    echo "python-env: '$python -m venv' failed; on Debian/Ubuntu install python3-venv" \
         "(.ci/run does)" >&2
    exit 1
  fi
fi
echo "python-env: installing ${reqs[*]} into $venv (PyPI)" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]}" >&2
have_tools || { echo "python-env: pytest/mypy still not importable in $venv" >&2; exit 1; }
abs_python
