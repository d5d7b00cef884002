#!/usr/bin/env bash
# Generates the C header from the library's sources (src/ffi doc comments + cbindgen.toml, the
# version macros from Cargo.toml) with the tools/gen-header crate (cbindgen, pinned there).
#   scripts/gen-header.sh [OUTPUT]      default: include/tasks.h (the checked-in header)
# Run it after changing the C API, and commit include/tasks.h; scripts/check-header.sh (in
# scripts/test.sh) fails when the checked-in header is not what this generates.
# The tool builds into ${CARGO_TARGET_DIR:-target}/gen-header (once; later runs reuse it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

out=${1:-include/tasks.h}
[[ $out == /* ]] || out=$root/$out
target=${CARGO_TARGET_DIR:-$root/target}/gen-header

cargo run --quiet --manifest-path tools/gen-header/Cargo.toml --locked --target-dir "$target" \
  -- "$out"
