#!/usr/bin/env bash
# Exported-symbol check (ctest: exported_symbols).
#   scripts/check-symbols.sh [LIBTASKS_SO] [TASKS_H]
# Every dynamic symbol the shared library defines must be a tasks_* name declared in the header,
# and every function (and variable) the header declares must be exported. Prints the difference.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

so=${1:-target/release/libtasks.so}
header=${2:-include/tasks.h}
cc=${CC:-cc}
[[ -f $so ]] || { echo "check-symbols: no such library: $so" >&2; exit 1; }
[[ -f $header ]] || { echo "check-symbols: no such header: $header" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Symbols the library defines: code and data (T/t, D/d, B/b, R/r, W/w, V/v, i, u). Absolute
# symbols (A: version-script nodes) are not symbols anyone can link to.
nm -D --defined-only "$so" \
  | awk 'NF >= 3 && $2 ~ /^[TtDdBbRrWwVviu]$/ { sub(/@.*/, "", $3); print $3 }' \
  | sort -u >"$tmp/exported"

# Names the header declares. The preprocessor drops comments, include guards and the
# `extern "C"` block; then brace bodies (struct/enum definitions) are dropped, the text is cut
# into statements at ';', typedefs are skipped, and a statement's first `name(` is a function;
# an `extern` statement without one declares a variable (its last identifier).
"$cc" -E -P -x c "$header" -o "$tmp/pp.h"
tr '\n' ' ' <"$tmp/pp.h" \
  | sed -e ':a' -e 's/{[^{}]*}//g' -e 'ta' \
  | tr ';' '\n' \
  | sed -e 's/__attribute__ *((\([^()]\|([^()]*)\)*))//g' -e 's/^ *//' \
  | awk '
      /^typedef[ \t]/ || /^$/ { next }
      {
        if (match($0, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
          name = substr($0, RSTART, RLENGTH); sub(/[ \t]*\($/, "", name); print name
        } else if ($0 ~ /^extern[ \t]/) {
          line = $0; sub(/[ \t]*(=.*|\[.*)$/, "", line); n = split(line, w, /[^A-Za-z0-9_]+/)
          while (n > 0 && w[n] == "") n--
          if (n > 0) print w[n]
        }
      }' \
  | grep '^tasks_' | sort -u >"$tmp/declared" || true

n_exported=$(wc -l <"$tmp/exported")
n_declared=$(wc -l <"$tmp/declared")
if [[ $n_declared -eq 0 ]]; then
  echo "check-symbols: FAIL: found no tasks_* declarations in $header" >&2
  exit 1
fi

comm -23 "$tmp/exported" "$tmp/declared" >"$tmp/undeclared"
comm -13 "$tmp/exported" "$tmp/declared" >"$tmp/missing"

status=0
if [[ -s $tmp/undeclared ]]; then
  echo "check-symbols: FAIL: exported by $so but not declared in $header:"
  sed 's/^/  + /' "$tmp/undeclared"
  status=1
fi
if [[ -s $tmp/missing ]]; then
  echo "check-symbols: FAIL: declared in $header but not exported by $so:"
  sed 's/^/  - /' "$tmp/missing"
  status=1
fi
if [[ $status -eq 0 ]]; then
  echo "check-symbols: OK: $n_exported exported symbols == $n_declared declarations in $header"
fi
exit $status
