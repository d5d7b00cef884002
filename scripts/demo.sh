#!/usr/bin/env bash
# Build everything with CMake (Rust library via cargo, C tests, examples, bindings) into build/
# and run the C demo (examples/c/demo.c).
#   scripts/demo.sh                  env: BUILD_DIR (default build), JOBS (default nproc)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$jobs"
echo
echo "== $build/examples/c/demo"
exec "$build/examples/c/demo"
