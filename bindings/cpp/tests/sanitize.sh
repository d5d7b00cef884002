#!/usr/bin/env bash
# The C++ binding's tests under AddressSanitizer + UndefinedBehaviorSanitizer: every test of
# bindings/cpp/tests, built as a separate project (run_other_compiler.cmake) against the
# already built library, with g++ and (if installed) clang++, at -O0 and at -O2.
#   bindings/cpp/tests/sanitize.sh [BUILD_DIR]        BUILD_DIR default: build (must be built)
# env: SANITIZE_COMPILERS (default "g++ clang++"), SANITIZE_OPTS (default "-O0 -O2"), JOBS (2).
# Too slow for scripts/test.sh (several minutes per configuration on 2 cores); scripts/heavy.sh
# runs it as a stage. Exits non-zero if any configuration fails; any sanitizer report fails its
# test (halt_on_error).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd) || { echo "sanitize.sh: no build directory" >&2; exit 2; }
lib=$(ls "$build"/lib/libtasks.so.*.*.* 2>/dev/null | head -1)
[[ -n $lib ]] || lib=$(ls "$build"/stage/libtasks.so.*.*.* 2>/dev/null | head -1)
if [[ -z $lib ]]; then
  lib=$(sed -n 's/^TASKS_SHARED_LIBRARY[^=]*=//p' "$build/CMakeCache.txt" 2>/dev/null | head -1)
fi
if [[ -z $lib || ! -e $lib ]]; then
  echo "sanitize.sh: libtasks.so not found under $build (build it first)" >&2
  exit 2
fi

# TASKS_NO_RECYCLE: the library allocates with the system allocator instead of mimalloc, so
# freed task blocks go back to free and ASan sees a use after free.
export TASKS_NO_RECYCLE=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"

failed=0
summary=()
for cxx in ${SANITIZE_COMPILERS:-g++ clang++}; do
  if ! command -v "$cxx" >/dev/null; then
    summary+=("$(printf '%-12s skipped (not installed)' "$cxx")")
    continue
  fi
  # The sanitizer runtimes are a separate package for clang (Debian: libclang-rt-N-dev).
  probe=$(mktemp -d)
  if ! echo 'int main() { return 0; }' | "$cxx" -fsanitize=address,undefined -x c++ - -o "$probe/a.out" 2>/dev/null; then
    rm -rf "$probe"
    summary+=("$(printf '%-12s FAILED (cannot link -fsanitize=address,undefined: sanitizer runtime not installed?)' "$cxx")")
    failed=$((failed + 1))
    continue
  fi
  rm -rf "$probe"
  for opt in ${SANITIZE_OPTS:--O0 -O2}; do
    name="$(basename "$cxx")${opt}"
    start=$SECONDS
    echo "==> sanitize: $name"
    if cmake "-DCXX=$(command -v "$cxx")" "-DSRC=$here" "-DBIN=$build/cpp-sanitize/$name" \
         "-DTASKS_SHARED_LIBRARY=$lib" "-DTASKS_INCLUDE_DIR=$root/include" \
         "-DCTEST=$(command -v ctest)" -DBUILD_TYPE=Sanitize "-DJOBS=${JOBS:-2}" \
         "-DCXXFLAGS=$flags $opt" "-DLDFLAGS=-fsanitize=address,undefined" \
         -P "$here/run_other_compiler.cmake"; then
      verdict=ok
    else
      verdict=FAILED
      failed=$((failed + 1))
    fi
    summary+=("$(printf '%-12s %-7s %5d s' "$name" "$verdict" $((SECONDS - start)))")
  done
done
echo
echo "==== sanitize.sh summary ===="
printf '  %s\n' "${summary[@]}"
exit $((failed > 0))
