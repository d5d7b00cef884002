#!/usr/bin/env bash
# The checked-in include/tasks.h must be exactly what scripts/gen-header.sh (cbindgen, through
# tools/gen-header) generates from the current sources. Generates into a temporary file and
# compares; the work tree is not changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

header=include/tasks.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

scripts/gen-header.sh "$tmp/tasks.h"

if [[ ! -f $header ]]; then
  echo "check-header: FAIL: $header is missing; generate it with scripts/gen-header.sh and commit it" >&2
  exit 1
fi
if ! diff -u --label "$header (checked in)" --label "$header (generated)" "$header" "$tmp/tasks.h" \
     >"$tmp/diff"; then
  head -n 80 "$tmp/diff"
  cat >&2 <<MSG
check-header: FAIL: $header differs from what the sources generate (diff above: - checked in,
  + generated). The header is generated, do not edit it by hand: run

      scripts/gen-header.sh

  review the change (git diff $header) and commit it.
MSG
  exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
   ! git ls-files --error-unmatch "$header" >/dev/null 2>&1; then
  echo "check-header: FAIL: $header is up to date but not tracked by git:   git add $header" >&2
  exit 1
fi
echo "check-header: OK: $header is up to date"
