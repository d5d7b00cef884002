#!/usr/bin/env bash
# The library's unit tests under Miri (undefined-behaviour checker). Needs the nightly toolchain;
# installs the miri and rust-src components into it when they are missing.
#   scripts/miri.sh [cargo miri test args...]      env: MIRIFLAGS (set: one run with those flags)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "miri: installing miri + rust-src for the nightly toolchain"
  rustup component add miri rust-src --toolchain nightly
fi

# Two groups, each under the strictest model it passes:
#  - the task state machine (core::tests::task_unit, no crossbeam): Miri's default, Stacked
#    Borrows;
#  - everything else (the runtime uses crossbeam-deque): Tree Borrows. crossbeam-epoch is not
#    Stacked Borrows compatible (crossbeam-rs/crossbeam#545, #878; crossbeam's own CI runs Miri
#    with -Zmiri-tree-borrows), casts integers to pointers (permissive provenance), and its
#    global collector keeps garbage until process exit (-Zmiri-ignore-leaks; the C tests under
#    valgrind are the leak check for the runtime).
# With MIRIFLAGS set, or with test-name arguments, one run with those flags/arguments.
start=$SECONDS
status=0
if [[ -n ${MIRIFLAGS+x} || $# -gt 0 ]]; then
  echo "miri: MIRIFLAGS='${MIRIFLAGS:-}'"
  cargo +nightly miri test --lib "$@" || status=$?
else
  echo "miri: [1/2] task state machine, Stacked Borrows"
  MIRIFLAGS="" cargo +nightly miri test --lib core::tests::task_unit || status=$?
  echo "miri: [2/2] the rest, Tree Borrows"
  MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-permissive-provenance -Zmiri-ignore-leaks" \
    cargo +nightly miri test --lib -- --skip core::tests::task_unit --skip core::tests::loom_models || status=$?
fi
echo "miri: $( ((status == 0)) && echo ok || echo "FAILED (exit $status)" ) in $((SECONDS - start)) s"
exit $status
