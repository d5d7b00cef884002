#!/usr/bin/env bash
# Runs every C test binary (build/c-tests/ctest_*), every C++ test binary
# (build/bindings/cpp/tests/cpp_*) and the demo under valgrind memcheck.
#   scripts/valgrind.sh [NAME_SUBSTRING...]     only the binaries whose name contains one of them
# env: BUILD_DIR (default build), TASKS_TEST_SCALE (default 0.1: the tests scale big counts down),
#      VALGRIND_TIMEOUT (seconds per binary, default 900), VALGRIND_DEMO=0 to leave out the demo.
# TASKS_NO_RECYCLE=1 (set here): the library allocates with the system allocator, which valgrind
# replaces, instead of mimalloc, whose heap memcheck does not see into (no leak or use-after-free
# reports from there).
# Fails if any run fails: a test failure, a memcheck error, or a definite leak.
# --max-stackframe=16M: tests that check big thread stacks (tasks_builder_thread_stack_size) use
# multi-MiB stack frames, which memcheck otherwise takes for a stack switch (false errors).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 1; }

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" -j "$jobs"

export TASKS_TEST_SCALE=${TASKS_TEST_SCALE:-0.1}
export TASKS_NO_RECYCLE=1
logs=$build/valgrind
rm -rf "$logs"
mkdir -p "$logs"

bins=("$build"/c-tests/ctest_*)
[[ -e ${bins[0]} ]] || bins=()
for b in "$build"/bindings/cpp/tests/cpp_*; do
  [[ -f $b && -x $b ]] && bins+=("$b")
done
if [[ ${VALGRIND_DEMO:-1} != 0 && -x $build/examples/c/demo ]]; then
  bins+=("$build/examples/c/demo")
fi
if [[ $# -gt 0 ]]; then
  selected=()
  for b in "${bins[@]}"; do
    for pat in "$@"; do
      if [[ $(basename "$b") == *"$pat"* ]]; then selected+=("$b"); break; fi
    done
  done
  bins=("${selected[@]+"${selected[@]}"}")
fi
if [[ ${#bins[@]} -eq 0 ]]; then
  echo "valgrind: no test binaries found under $build" >&2
  exit 1
fi

echo "valgrind: ${#bins[@]} binaries, TASKS_TEST_SCALE=$TASKS_TEST_SCALE, logs in $logs/"
passed=0
failed=()
start_all=$SECONDS
for bin in "${bins[@]}"; do
  name=$(basename "$bin")
  start=$SECONDS
  status=0
  timeout "${VALGRIND_TIMEOUT:-900}" \
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite --max-stackframe=16777216 --log-file="$logs/$name.valgrind.log" \
      "$bin" >"$logs/$name.out" 2>&1 || status=$?
  elapsed=$((SECONDS - start))
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$logs/$name.valgrind.log" | tail -n1)
  case $status in
    0) verdict=ok ;;
    99) verdict="FAILED (memcheck errors)" ;;
    124) verdict="FAILED (timed out after ${VALGRIND_TIMEOUT:-900} s)" ;;
    *) verdict="FAILED (exit $status)" ;;
  esac
  printf 'valgrind: %-32s %-28s %4d s  %s errors\n' "$name" "$verdict" "$elapsed" "${errors:-?}"
  if [[ $status -eq 0 ]]; then
    passed=$((passed + 1))
  else
    failed+=("$name")
    echo "---- $name: output (tail) ----"
    tail -n 20 "$logs/$name.out"
    echo "---- $name: valgrind log (tail) ----"
    tail -n 40 "$logs/$name.valgrind.log"
    echo "----"
  fi
done

echo "valgrind: ${passed} passed, ${#failed[@]} failed in $((SECONDS - start_all)) s${failed[*]:+: ${failed[*]}}"
[[ ${#failed[@]} -eq 0 ]]
