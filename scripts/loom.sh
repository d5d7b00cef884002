#!/usr/bin/env bash
# Loom model checks: the library's unit tests whose names contain "loom", built with --cfg loom.
#   scripts/loom.sh [FILTER] [cargo test args...] [-- test-binary args...]
# FILTER defaults to "loom". LOOM_MAX_PREEMPTIONS defaults to 2 (scripts/heavy.sh uses 3).
# Builds into target/loom so the normal build cache is not invalidated by the --cfg change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

filter=loom
if [[ $# -gt 0 && $1 != -* ]]; then
  filter=$1
  shift
fi

export RUSTFLAGS="--cfg loom${RUSTFLAGS:+ $RUSTFLAGS}"
export LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-2}
echo "loom: LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS filter=$filter"
exec cargo test --release --lib --target-dir "${CARGO_TARGET_DIR:-target}/loom" "$filter" "$@"
