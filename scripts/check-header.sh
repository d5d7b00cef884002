#!/usr/bin/env bash
# The checked-in include/tasks.h must be exactly what build.rs (cbindgen) generates from the
# current sources. Rebuilds (which rewrites the header), then compares with git.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

header=include/tasks.h

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-header: not a git work tree: nothing to compare $header with (skipped)"
  exit 0
fi

# Make cargo run build.rs again even if no input it watches changed (so a hand edit of the
# header is caught too): clean only this package's dev-profile artifacts, not its dependencies.
cargo clean -p tasks --quiet 2>/dev/null || true
cargo build --quiet

if ! git ls-files --error-unmatch "$header" >/dev/null 2>&1; then
  echo "check-header: FAIL: $header is not tracked by git; add the generated header:" >&2
  echo "    git add $header" >&2
  exit 1
fi
if ! git diff --exit-code --stat -- "$header"; then
  git --no-pager diff -- "$header" | head -n 80
  cat >&2 <<MSG
check-header: FAIL: $header differs from what build.rs generates from the sources.
  The header is generated (do not edit it by hand). The build just rewrote it: review the diff
  above, then commit it:   git add $header
MSG
  exit 1
fi
echo "check-header: OK: $header is up to date"
