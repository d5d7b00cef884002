#!/usr/bin/env bash
# The randomized API-sequence stress harness (tests/stress_api.rs), large (scripts/heavy.sh stress
# and stress-tsan).
#   scripts/stress.sh            release build, STRESS_OPS (default 10,000,000) operations
#   scripts/stress.sh --tsan     ThreadSanitizer build (nightly, -Zbuild-std), STRESS_OPS default 200,000
# env: STRESS_SEED (default: random, printed), STRESS_OPS, STRESS_SECS (default 3000), STRESS_THREADS,
#      STRESS_SKIP / STRESS_ONLY / STRESS_ALLOW_DEFECTS (see tests/stress_api.rs), JOBS (cargo, default 2).
# Exits non-zero on any violation, hang (the watchdog) or ThreadSanitizer report.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

export STRESS_SEED=${STRESS_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
export STRESS_SECS=${STRESS_SECS:-3000}
jobs=${JOBS:-2}

if [[ ${1:-} == --tsan ]]; then
  host=$(rustc -vV | sed -n 's/^host: //p')
  if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src'; then
    rustup component add rust-src --toolchain nightly || exit 1
  fi
  export STRESS_OPS=${STRESS_OPS:-200000}
  # The watchdog's limit grows with TSan's slowdown.
  export STRESS_HANG=${STRESS_HANG:-60}
  log=$(mktemp)
  echo "stress-tsan: STRESS_SEED=$STRESS_SEED STRESS_OPS=$STRESS_OPS"
  # TASKS_NO_RECYCLE=1: the system allocator, not mimalloc (uninstrumented C: TSan would take its
  # reuse of a block across threads for a race; src/allocator.rs).
  RUSTFLAGS="-Zsanitizer=thread${RUSTFLAGS:+ $RUSTFLAGS}" RUSTDOCFLAGS="-Zsanitizer=thread" \
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0 second_deadlock_stack=1} TASKS_NO_RECYCLE=1 \
    cargo +nightly test -Zbuild-std --target "$host" --test stress_api -j "$jobs" \
      --target-dir "${CARGO_TARGET_DIR:-target}/tsan" -- --nocapture 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  reports=$(grep -c 'WARNING: ThreadSanitizer' "$log")
  rm -f "$log"
  echo "stress-tsan: exit $status, $reports ThreadSanitizer report(s)"
  [[ $status -eq 0 && $reports -eq 0 ]]
  exit
fi

export STRESS_OPS=${STRESS_OPS:-10000000}
echo "stress: STRESS_SEED=$STRESS_SEED STRESS_OPS=$STRESS_OPS"
cargo test --release --test stress_api -j "$jobs" -- --nocapture
