#!/usr/bin/env bash
# The library's unit tests under Miri (undefined-behaviour checker). Needs the nightly toolchain;
# installs the miri and rust-src components into it when they are missing.
#   scripts/miri.sh [cargo miri test args...]      env: MIRIFLAGS (default: none)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "miri: installing miri + rust-src for the nightly toolchain"
  rustup component add miri rust-src --toolchain nightly
fi

# No flags by default (-Zmiri-strict-provenance, for one, is stricter than some dependencies are).
export MIRIFLAGS=${MIRIFLAGS:-}
echo "miri: MIRIFLAGS='$MIRIFLAGS'"
start=$SECONDS
status=0
cargo +nightly miri test --lib "$@" || status=$?
echo "miri: $( ((status == 0)) && echo ok || echo "FAILED (exit $status)" ) in $((SECONDS - start)) s"
exit $status
