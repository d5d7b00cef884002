#!/usr/bin/env bash
# Runs the scheduler benchmarks on libtasks (benches/c/bench.c over the C API) and on tokio
# (benches/tokio), one after the other with the same number of worker threads, and prints a table.
#
# Usage: benches/run.sh [WORKERS] [WORKLOAD...]
#   WORKERS   worker threads for both runtimes (default: nproc)
#   WORKLOAD  only these: spawn_many_remote spawn_many_local yield_many ping_pong chained_spawn fib
#             memory_pending (bytes of resident memory per waiting task)
# Env: BENCH_ITERS=R (exactly R measured iterations per workload) or BENCH_TIME_MS (default 1000:
#      iterate about that long per workload, at least 5 times); CC (default gcc).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workers=${1:-$(nproc)}
[ $# -gt 0 ] && shift
case $workers in
  '' | *[!0-9]* | 0) echo "run.sh: WORKERS must be a positive integer, got '$workers'" >&2; exit 2 ;;
esac
cc=${CC:-gcc}
target=${CARGO_TARGET_DIR:-$root/target}
rel=$target/release
out=$target/bench
mkdir -p "$out"

echo "== building libtasks (cargo build --release)" >&2
(cd "$root" && cargo build --release)
[ -f "$rel/libtasks.so" ] || { echo "run.sh: $rel/libtasks.so was not built" >&2; exit 1; }
# The library's SONAME is libtasks.so.0: that is the name the loader looks for at run time.
[ -e "$rel/libtasks.so.0" ] || ln -s libtasks.so "$rel/libtasks.so.0"

echo "== building the C bench" >&2
"$cc" -O2 -std=c11 -Wall -Wextra -Werror -I "$root/include" "$root/benches/c/bench.c" \
  -o "$out/libtasks-bench" -L "$rel" -Wl,-rpath,"$rel" -ltasks -lpthread

echo "== building the tokio bench (release)" >&2
CARGO_TARGET_DIR="$root/benches/tokio/target" \
  cargo build --release --manifest-path "$root/benches/tokio/Cargo.toml"
tokio_bin=$root/benches/tokio/target/release/tokio-bench

echo "== libtasks, $workers workers" >&2
"$out/libtasks-bench" "$workers" "$@" | tee "$out/libtasks.txt"
echo "== tokio, $workers workers" >&2
"$tokio_bin" "$workers" "$@" | tee "$out/tokio.txt"

echo
echo "workers: $workers; ns per unit (median iteration), memory_pending in bytes per task; ratio = libtasks / tokio, below 1 means libtasks is faster"
awk '
  BEGIN {
    unit["spawn_many_remote"] = "task"; unit["spawn_many_local"] = "task"; unit["yield_many"] = "yield"
    unit["ping_pong"] = "pair"; unit["chained_spawn"] = "task"; unit["fib"] = "task"
    unit["memory_pending"] = "bytes"
  }
  FILENAME == ARGV[1] { if ($1 == "libtasks") { lt[$2] = $3; order[++n] = $2 }; next }
  $1 == "tokio" { tk[$2] = $3; if (!($2 in lt)) order[++n] = $2 }
  END {
    printf "%-18s | %-5s | %16s | %13s | %6s\n", "workload", "unit", "libtasks ns/unit", "tokio ns/unit", "ratio"
    printf "%-18s-|-%-5s-|-%16s-|-%13s-|-%6s\n", "------------------", "-----", "----------------", "-------------", "------"
    for (i = 1; i <= n; i++) {
      w = order[i]
      a = (w in lt) ? lt[w] : "-"; b = (w in tk) ? tk[w] : "-"
      r = ((w in lt) && (w in tk) && tk[w] > 0) ? sprintf("%.2f", lt[w] / tk[w]) : "-"
      printf "%-18s | %-5s | %16s | %13s | %6s\n", w, unit[w], a, b, r
    }
  }' "$out/libtasks.txt" "$out/tokio.txt"
