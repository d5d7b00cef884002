#!/usr/bin/env bash
# Install test (ctest: install_consumer).
#   scripts/check-install.sh [BUILD_DIR] [CONSUMER_SRC]
# Installs BUILD_DIR (default: build) into a scratch prefix inside it, then configures, builds
# and runs examples/consumer against that prefix:
#   1. find_package(tasks X.Y REQUIRED) -> tasks::tasks and tasks::tasks_static
#   2. pkg-config: the consumer's CMake through pkg_check_modules, and a plain
#      `cc main.c $(pkg-config --cflags --libs tasks)`.
# Exits 77 (ctest: skipped) after step 1 when pkg-config (or $PKG_CONFIG) is not installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

build=$(cd "${1:-build}" && pwd)
consumer=$(cd "${2:-$root/examples/consumer}" && pwd)
cmake=${CMAKE_COMMAND:-cmake}
cc=${CC:-cc}
pkg_config=${PKG_CONFIG:-pkg-config}

work=$build/install-test
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"

fail() { echo "check-install: FAIL: $*" >&2; exit 1; }

echo "== cmake --install $build --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }

# The version is Cargo.toml's (CMake reads it from there); the SONAME number is its major.
version=$(scripts/check-version.sh --print)
version=${version%%[-+]*}
so_major=libtasks.so.${version%%.*}
so=$(find "$prefix" -name "libtasks.so.$version" | head -n1)
[[ -n $so ]] || fail "libtasks.so.$version not installed"
libdir=$(dirname "$so")
[[ -L $libdir/$so_major && $(readlink "$libdir/$so_major") == "libtasks.so.$version" ]] \
  || fail "$libdir/$so_major is not a symlink to libtasks.so.$version"
[[ -L $libdir/libtasks.so && $(readlink "$libdir/libtasks.so") == "$so_major" ]] \
  || fail "$libdir/libtasks.so is not a symlink to $so_major"
for f in "$libdir/libtasks.a" "$prefix/include/tasks.h" \
         "$libdir/cmake/tasks/tasksConfig.cmake" "$libdir/cmake/tasks/tasksConfigVersion.cmake" \
         "$libdir/pkgconfig/tasks.pc"; do
  [[ -f $f ]] || fail "missing $f"
done
echo "installed: $(cd "$prefix" && find . -type f -o -type l | sort | tr '\n' ' ')"

# Runs a consumer binary and checks it resolved libtasks from the install prefix.
run_consumer() {
  local exe=$1
  shift
  echo "== run $exe"
  env "$@" "$exe" || fail "$exe exited with $?"
  if [[ $(basename "$exe") != *static* ]] && command -v ldd >/dev/null; then
    local resolved
    resolved=$(env "$@" ldd "$exe" | awk '/libtasks\.so/ {print $3}')
    [[ $resolved == "$prefix"/* ]] || fail "$exe loaded libtasks from '$resolved', not from $prefix"
  fi
}

echo "== find_package(tasks): configure + build examples/consumer"
"$cmake" -S "$consumer" -B "$work/find_package" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" >"$work/find_package.log" 2>&1 \
  || { cat "$work/find_package.log"; fail "configure (find_package)"; }
tasks_dir=$(sed -n 's/^tasks_DIR:PATH=//p' "$work/find_package/CMakeCache.txt")
[[ $tasks_dir == "$prefix"/* ]] || fail "find_package found tasks in '$tasks_dir', not in $prefix"
"$cmake" --build "$work/find_package" >>"$work/find_package.log" 2>&1 \
  || { cat "$work/find_package.log"; fail "build (find_package)"; }
run_consumer "$work/find_package/consumer"
run_consumer "$work/find_package/consumer_static"

if ! command -v "$pkg_config" >/dev/null; then
  echo "check-install: $pkg_config not installed: the pkg-config half is SKIPPED"
  exit 77
fi
export PKG_CONFIG=$pkg_config

export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
flags=$("$pkg_config" --cflags --libs tasks) || fail "$pkg_config --cflags --libs tasks"
echo "$pkg_config --cflags --libs tasks: $flags"
pc_version=$("$pkg_config" --modversion tasks) || fail "$pkg_config --modversion tasks"
[[ $pc_version == "$version" ]] || fail "tasks.pc says version $pc_version, Cargo.toml $version"

echo "== pkg-config: configure + build examples/consumer"
"$cmake" -S "$consumer" -B "$work/pkg_config" -DCMAKE_BUILD_TYPE=Release \
  -DCONSUMER_USE_PKG_CONFIG=ON -DCMAKE_C_COMPILER="$cc" >"$work/pkg_config.log" 2>&1 \
  || { cat "$work/pkg_config.log"; fail "configure (pkg-config)"; }
"$cmake" --build "$work/pkg_config" >>"$work/pkg_config.log" 2>&1 \
  || { cat "$work/pkg_config.log"; fail "build (pkg-config)"; }
run_consumer "$work/pkg_config/consumer"

echo "== pkg-config: $cc main.c \$(pkg-config --cflags --libs tasks)"
# shellcheck disable=SC2086  # $flags is a list of words on purpose
"$cc" -std=c99 -Wall -Wextra -Werror -pedantic -D_POSIX_C_SOURCE=200809L \
  "$consumer/main.c" $flags -o "$work/consumer_direct" || fail "direct compile with pkg-config flags"
run_consumer "$work/consumer_direct" LD_LIBRARY_PATH="$libdir"

echo "check-install: OK"
