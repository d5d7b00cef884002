#!/usr/bin/env bash
# The whole test suite (what CI runs):
#   version   the copies of the version number agree with Cargo.toml (scripts/check-version.sh)
#   fmt       cargo fmt --check (the library and tools/gen-header)
#   clippy    cargo clippy --all-targets -- -D warnings
#   doc       cargo doc --document-private-items, warnings are errors (intra-doc links, HTML)
#   cargo     cargo test
#   loom      loom models, small bound (scripts/loom.sh, LOOM_MAX_PREEMPTIONS=2)
#   pyenv     build/pyvenv: a venv with pytest and mypy from PyPI for the Python tests
#             (scripts/python-env.sh; nothing is installed outside build/)
#   cmake     configure build/ (CMAKE_BUILD_TYPE=Release: cargo --release)
#   build     build build/: the library (cargo), C tests, examples, bindings
#   ctest     C tests, header checks, exported symbols, install test, demo, bench smoke runs,
#             C++ and Python tests
#   header    include/tasks.h is what scripts/gen-header.sh generates from the sources (cbindgen,
#             tools/gen-header), compared without touching the work tree (scripts/check-header.sh)
# env: TASKS_TEST_SKIP="loom fmt ..." leaves stages out; BUILD_DIR (default build); JOBS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
skip=" ${TASKS_TEST_SKIP:-} "

summary=()
current=""
start_all=$SECONDS

finish() {
  local rc=$?
  echo
  echo "==== scripts/test.sh summary ($((SECONDS - start_all)) s) ===="
  if [[ ${#summary[@]} -gt 0 ]]; then printf '  %s\n' "${summary[@]}"; fi
  if [[ $rc -ne 0 ]]; then
    echo "  ${current:-?}: FAILED (exit $rc)"
    echo "TEST SUITE FAILED"
  else
    echo "TEST SUITE PASSED"
  fi
}
trap finish EXIT

stage() {
  local name=$1 start=$SECONDS
  shift
  if [[ $skip == *" $name "* ]]; then
    summary+=("$(printf '%-7s skipped (TASKS_TEST_SKIP)' "$name")")
    return 0
  fi
  current=$name
  echo
  echo "==> [$name] $*"
  "$@"
  summary+=("$(printf '%-7s ok %6d s' "$name" $((SECONDS - start)))")
  current=""
}

stage version scripts/check-version.sh
# The header generator (tools/gen-header) is a workspace of its own: --all does not reach it.
fmt_check() {
  cargo fmt --all -- --check
  cargo fmt --manifest-path tools/gen-header/Cargo.toml -- --check
}
stage fmt fmt_check
stage clippy cargo clippy --all-targets -- -D warnings
stage doc env RUSTDOCFLAGS="-D warnings" cargo doc --document-private-items --no-deps --quiet
stage cargo cargo test
stage loom scripts/loom.sh
python_env() {
  local py
  py=$(scripts/python-env.sh "$build/pyvenv" | tail -n1)
  cmake_python=(-DLIBTASKS_PYTHON="$py")
}
cmake_python=()
stage pyenv python_env
stage cmake cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "${cmake_python[@]}"
stage build cmake --build "$build" -j "$jobs"
# (cd + ctest rather than `ctest --test-dir`, which needs CMake >= 3.20)
run_ctest() { (cd "$build" && ctest --output-on-failure -j2); }
stage ctest run_ctest
stage header scripts/check-header.sh
