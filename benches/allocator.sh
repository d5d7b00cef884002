#!/usr/bin/env bash
# Task-block recycling (src/core/task/recycle.rs) against mimalloc, measured side by side
# (benches/ALLOCATOR.md has the results). A report, not a test.
#
# Usage: benches/allocator.sh [ROUNDS] [WORKERS...]     (default: 5 rounds, workers 1 and 2)
# Env: ALLOC_WORKLOADS (default "spawn_many_local spawn_many_remote fib"), BENCH_TIME_MS / BENCH_ITERS.
#
# Builds libtasks twice (the default build, and `--features mimalloc` into target/mimalloc),
# links benches/c/bench.c without an rpath and picks the library with LD_LIBRARY_PATH, then in
# every round, for every worker count, runs these one after the other (the order rotates from
# round to round), and tokio's bench as the noise reference:
#   glibc+recycle     the default build (today)
#   glibc             the default build, TASKS_NO_RECYCLE=1
#   mimalloc          --features mimalloc, TASKS_NO_RECYCLE=1
#   mimalloc+recycle  --features mimalloc
# It prints, per workload and worker count: the median over rounds of ns/unit, the median of the
# per-round ratio to tokio (tokio measured in the same round), and tokio's spread.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-5}
[ $# -gt 0 ] && shift
workers=("$@")
[ ${#workers[@]} -gt 0 ] || workers=(1 2)
read -r -a workloads <<<"${ALLOC_WORKLOADS:-spawn_many_local spawn_many_remote fib}"
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/bench/alloc
mkdir -p "$out/glibc" "$out/mimalloc"

echo "== building libtasks (default, and --features mimalloc)" >&2
(cd "$root" && cargo build --release)
(cd "$root" && CARGO_TARGET_DIR="$target/mimalloc" cargo build --release --features mimalloc)
cp "$target/release/libtasks.so" "$out/glibc/libtasks.so.0"
cp "$target/mimalloc/release/libtasks.so" "$out/mimalloc/libtasks.so.0"
gcc -O2 -std=c11 -Wall -Wextra -Werror -I "$root/include" "$root/benches/c/bench.c" \
  -o "$out/bench" -L "$target/release" -ltasks -lpthread
CARGO_TARGET_DIR="$root/benches/tokio/target" \
  cargo build --release --manifest-path "$root/benches/tokio/Cargo.toml"
tokio_bin=$root/benches/tokio/target/release/tokio-bench

configs=(glibc+recycle glibc mimalloc mimalloc+recycle tokio)
run_config() { # config workers -> "<runtime> <workload> <value>" lines
  case $1 in
    glibc+recycle) LD_LIBRARY_PATH="$out/glibc" "$out/bench" "$2" "${workloads[@]}" ;;
    glibc) TASKS_NO_RECYCLE=1 LD_LIBRARY_PATH="$out/glibc" "$out/bench" "$2" "${workloads[@]}" ;;
    mimalloc) TASKS_NO_RECYCLE=1 LD_LIBRARY_PATH="$out/mimalloc" "$out/bench" "$2" "${workloads[@]}" ;;
    mimalloc+recycle) LD_LIBRARY_PATH="$out/mimalloc" "$out/bench" "$2" "${workloads[@]}" ;;
    tokio) "$tokio_bin" "$2" "${workloads[@]}" ;;
  esac
}

results=$out/results.txt
: >"$results"
n=${#configs[@]}
for r in $(seq 1 "$rounds"); do
  for w in "${workers[@]}"; do
    for i in $(seq 0 $((n - 1))); do
      c=${configs[$(((i + r - 1) % n))]}
      echo "== round $r/$rounds, $w workers: $c" >&2
      # stderr's "# <rt> <workload>: N iterations, median X ms/iteration, U <unit>/iteration, min Y ms"
      run_config "$c" "$w" 2>&1 >/dev/null | awk -v c="$c" -v r="$r" -v w="$w" '
        /^# [a-z]+ [a-z_]+: [0-9]+ iterations, median/ {
          sub(":", "", $3); print r, w, c, $3, $7 * 1e6 / $9, $12 * 1e6 / $9 }' \
        | tee -a "$results" >&2
    done
  done
done

for col in 5 6; do
echo
if [ $col = 5 ]; then what="median iteration"; else what="fastest iteration"; fi
echo "rounds: $rounds; ns per unit of each run's $what, median over rounds;"
echo "(x tokio) = median of the per-round ratio to tokio; tokio: median (min-max over rounds)"
printf "%-17s %2s" workload W
for c in "${configs[@]}"; do printf " | %-21s" "$c"; done
printf "\n"
awk -v cfgs="${configs[*]}" -v col=$col '
  { v[$2, $3, $4, $1] = $col; ws[$2] = 1; wl[$4] = 1; if ($1 > R) R = $1 }
  function med(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    nc = split(cfgs, c, " ")
    for (x in wl) for (w in ws) {
      printf "%-17s %2s", x, w
      for (k = 1; k <= nc; k++) {
        n = 0; m = 0
        for (r = 1; r <= R; r++) if ((w, c[k], x, r) in v) {
          a[++n] = v[w, c[k], x, r]
          if ((w, "tokio", x, r) in v && v[w, "tokio", x, r] > 0) b[++m] = v[w, c[k], x, r] / v[w, "tokio", x, r]
        }
        if (n == 0) { printf " | %-21s", "-"; continue }
        lo = a[1]; hi = a[1]; for (i = 1; i <= n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
        md = med(a, n)
        if (c[k] == "tokio") s = sprintf("%.1f (%.0f-%.0f)", md, lo, hi)
        else s = sprintf("%.1f (x%.2f)", md, m ? med(b, m) : 0)
        printf " | %-21s", s
      }
      printf "\n"
    }
  }' "$results" | sort
done
echo "(raw: $results: round workers config workload median-ns min-ns)"
