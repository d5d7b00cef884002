#!/usr/bin/env bash
# The version number lives in Cargo.toml ([package] version) only. What derives from it:
#   - CMake's project(VERSION) (CMakeLists.txt reads Cargo.toml), hence libtasks.so.X.Y.Z, the
#     SONAME number, tasks.pc and tasksConfigVersion.cmake;
#   - the header's TASKS_VERSION_* macros (scripts/gen-header.sh) and tasks_version() (cargo).
# The copies that must be written out literally are checked here against Cargo.toml:
#   - the Python package: bindings/python/pyproject.toml [project] version and
#     libtasks.__version__ (bindings/python/libtasks/__init__.py);
#   - include/tasks.h's TASKS_VERSION_MAJOR/MINOR/PATCH (checked in; a quick, pointed check
#     besides scripts/check-header.sh);
#   - every `find_package(tasks X.Y` in the tracked files (README, examples/consumer, the C++
#     consumer test, tasksConfig.cmake.in): X.Y must be Cargo.toml's major.minor (0.x: only the
#     same minor version is compatible).
#   scripts/check-version.sh           check (scripts/test.sh stage `version`)
#   scripts/check-version.sh --print   print Cargo.toml's version and exit
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# `version = "..."` of the [package] table.
version=$(awk '
  /^[[:space:]]*\[/ { in_pkg = ($0 ~ /^[[:space:]]*\[package\][[:space:]]*$/); next }
  in_pkg && /^[[:space:]]*version[[:space:]]*=/ {
    if (match($0, /"[^"]*"/)) { print substr($0, RSTART + 1, RLENGTH - 2); exit }
  }' Cargo.toml)
if [[ ! $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)([-+].*)?$ ]]; then
  echo "check-version: FAIL: no version = \"X.Y.Z\" in Cargo.toml's [package] (got '$version')" >&2
  exit 1
fi
if [[ ${1:-} == --print ]]; then
  echo "$version"
  exit 0
fi
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]}

errors=0
bad() {
  echo "check-version: FAIL: $*" >&2
  errors=$((errors + 1))
}

# Python package.
py_proj=$(awk '
  /^[[:space:]]*\[/ { in_proj = ($0 ~ /^[[:space:]]*\[project\][[:space:]]*$/); next }
  in_proj && /^[[:space:]]*version[[:space:]]*=/ {
    if (match($0, /"[^"]*"/)) { print substr($0, RSTART + 1, RLENGTH - 2); exit }
  }' bindings/python/pyproject.toml)
[[ $py_proj == "$version" ]] ||
  bad "bindings/python/pyproject.toml: [project] version = \"$py_proj\", Cargo.toml has \"$version\""
py_init=$(sed -n 's/^__version__[[:space:]]*=[[:space:]]*["'\'']\([^"'\'']*\)["'\''].*/\1/p' \
  bindings/python/libtasks/__init__.py)
[[ $py_init == "$version" ]] ||
  bad "bindings/python/libtasks/__init__.py: __version__ = \"$py_init\", Cargo.toml has \"$version\""

# The checked-in header's macros.
for part in MAJOR:$major MINOR:$minor PATCH:$patch; do
  name=TASKS_VERSION_${part%%:*} want=${part#*:}
  got=$(sed -n "s/^#define $name \\([0-9]*\\)\$/\\1/p" include/tasks.h)
  [[ $got == "$want" ]] ||
    bad "include/tasks.h: $name is '$got', Cargo.toml says $want (run scripts/gen-header.sh)"
done

# find_package(tasks X.Y ...) in tracked files (outside a git work tree: all files but builds).
pattern='find_package\(tasks[[:space:]]+[0-9]'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  hits=$(git grep -nE "$pattern" -- ':!scripts/check-version.sh' || true)
else
  hits=$(grep -rnE --exclude-dir=target --exclude-dir='build*' --exclude-dir=.git \
           --exclude=check-version.sh "$pattern" . | sed 's|^\./||' || true)
fi
found=0
while IFS= read -r hit; do
  [[ $hit =~ ^([^:]*):([0-9]+):.*find_package\(tasks[[:space:]]+([0-9]+)\.([0-9]+) ]] || continue
  found=$((found + 1))
  if [[ ${BASH_REMATCH[3]} != "$major" || ${BASH_REMATCH[4]} != "$minor" ]]; then
    bad "${BASH_REMATCH[1]}:${BASH_REMATCH[2]}: find_package(tasks ${BASH_REMATCH[3]}.${BASH_REMATCH[4]} ...), Cargo.toml's version is $major.$minor.x"
  fi
done <<<"$hits"

if [[ $errors -gt 0 ]]; then
  echo "check-version: $errors place(s) disagree with Cargo.toml's version $version: update them" >&2
  exit 1
fi
echo "check-version: OK: $version everywhere (pyproject.toml, __version__, tasks.h, $found find_package(tasks ...))"
