#!/usr/bin/env bash
# The library's unit tests under Miri (undefined-behaviour checker). Needs the nightly toolchain;
# installs the miri and rust-src components into it when they are missing.
#   scripts/miri.sh [cargo miri test args...]      env: MIRIFLAGS (default: -Zmiri-tree-borrows)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "miri: installing miri + rust-src for the nightly toolchain"
  rustup component add miri rust-src --toolchain nightly
fi

# Default: Tree Borrows. crossbeam-epoch (under crossbeam-deque) is not Stacked Borrows
# compatible: Miri's default model reports UB inside it (crossbeam-epoch src/internal.rs, see
# crossbeam-rs/crossbeam#545 and #878; crossbeam's own CI runs Miri with -Zmiri-tree-borrows).
# No -Zmiri-strict-provenance either, for the same dependency. MIRIFLAGS= (set, empty) runs with
# no flags at all, i.e. Stacked Borrows.
export MIRIFLAGS=${MIRIFLAGS--Zmiri-tree-borrows}
echo "miri: MIRIFLAGS='$MIRIFLAGS'"
start=$SECONDS
status=0
cargo +nightly miri test --lib "$@" || status=$?
echo "miri: $( ((status == 0)) && echo ok || echo "FAILED (exit $status)" ) in $((SECONDS - start)) s"
exit $status
