#!/usr/bin/env bash
# The heavy checks (not part of scripts/test.sh / CI: they take long and need nightly Rust):
#   loom      loom models with LOOM_MAX_PREEMPTIONS=3          (scripts/loom.sh)
#   miri      unit tests under Miri                            (scripts/miri.sh)
#   tsan      unit tests under ThreadSanitizer (nightly, -Zbuild-std)
#   valgrind  every C test binary under valgrind memcheck       (scripts/valgrind.sh)
#   stress    the API stress harness, >= 10M operations, release (scripts/stress.sh)
#   stress-tsan   the stress harness under ThreadSanitizer, fewer operations (scripts/stress.sh --tsan)
#   fuzz      cargo-fuzz of the same operation language, FUZZ_SECS (default 300) (scripts/stress-fuzz.sh)
#   csan-thread   the C tests against a -Zsanitizer=thread libtasks (scripts/sanitize-c.sh thread)
#   csan-address  the C tests against a -Zsanitizer=address libtasks (scripts/sanitize-c.sh address)
#   cppsan    the C++ tests under ASan+UBSan, g++ and clang++, -O0 and -O2 (bindings/cpp/tests/sanitize.sh)
#   scripts/heavy.sh [STAGE...]      default: all of them, in that order
# Every stage runs even if an earlier one failed; exits non-zero if any failed. A stage that runs
# longer than HEAVY_STAGE_TIMEOUT seconds (default 3600) is stopped and counts as failed (a hang).
# The sanitizer and valgrind stages run with TASKS_NO_RECYCLE=1: the library allocates with the
# system allocator, which the tools see, instead of mimalloc (uninstrumented C, whose reuse of a
# block across threads ThreadSanitizer would take for a race). Loom and Miri builds never use
# mimalloc (src/allocator.rs).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

tsan() {
  local host
  host=$(rustc -vV | sed -n 's/^host: //p')
  if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
    rustup component add rust-src --toolchain nightly || return 1
  fi
  RUSTFLAGS="-Zsanitizer=thread${RUSTFLAGS:+ $RUSTFLAGS}" RUSTDOCFLAGS="-Zsanitizer=thread" \
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0} TASKS_NO_RECYCLE=1 \
    cargo +nightly test -Zbuild-std --target "$host" --lib \
      --target-dir "${CARGO_TARGET_DIR:-target}/tsan"
}

run_stage() {
  case $1 in
    loom) LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-3} scripts/loom.sh ;;
    miri) scripts/miri.sh ;;
    tsan) tsan ;;
    valgrind) scripts/valgrind.sh ;;
    stress) scripts/stress.sh ;;
    stress-tsan) scripts/stress.sh --tsan ;;
    fuzz) scripts/stress-fuzz.sh ;;
    csan-thread) scripts/sanitize-c.sh thread ;;
    csan-address) scripts/sanitize-c.sh address ;;
    cppsan) bindings/cpp/tests/sanitize.sh "${BUILD_DIR:-build}" ;;
    *)
      echo "heavy: unknown stage '$1' (loom, miri, tsan, valgrind, stress, stress-tsan, fuzz, csan-thread, csan-address, cppsan)" >&2
      return 2
      ;;
  esac
}

if [[ ${1:-} == --stage ]]; then # internal: one stage, under `timeout` below
  run_stage "$2"
  exit
fi

stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(loom miri tsan valgrind stress stress-tsan fuzz csan-thread csan-address cppsan)

summary=()
failed=0
start_all=$SECONDS
for stage in "${stages[@]}"; do
  echo
  echo "==> heavy: $stage"
  start=$SECONDS
  status=0
  timeout "${HEAVY_STAGE_TIMEOUT:-3600}" "$0" --stage "$stage" || status=$?
  case $status in
    0) verdict=ok ;;
    124) verdict="TIMEOUT"; failed=$((failed + 1)) ;;
    *) verdict=FAILED; failed=$((failed + 1)) ;;
  esac
  line=$(printf '%-12s %-8s %5d s' "$stage" "$verdict" $((SECONDS - start)))
  echo "==> heavy: $line"
  summary+=("$line")
done

echo
echo "heavy checks (total $((SECONDS - start_all)) s):"
printf '  %s\n' "${summary[@]}"
exit $((failed > 0))
