#!/usr/bin/env bash
# The library's allocator: mimalloc (the default build, src/allocator.rs) against the system
# allocator (the same library under TASKS_NO_RECYCLE=1), measured side by side
# (benches/ALLOCATOR.md has the results). A report, not a test.
#
# Usage: benches/allocator.sh [ROUNDS] [WORKERS...]     (default: 5 rounds, workers 1 and 2)
# Env: ALLOC_WORKLOADS (default "spawn_many_local spawn_many_remote fib"); bench.c's BENCH_TIME_MS,
#      BENCH_ITERS, BENCH_FIB_N; ALLOC_BASELINE=PATH: one more configuration, "baseline", the
#      libtasks.so at PATH as it is (e.g. another commit's release build); ALLOC_TOKIO=0 leaves
#      tokio out.
#
# Builds libtasks (cargo build --release), links benches/c/bench.c without an rpath and picks the
# library with LD_LIBRARY_PATH, then in every round, for every worker count, runs these one after
# the other (the order rotates from round to round), with tokio's bench as the noise reference:
#   mimalloc   the default build
#   system     the default build, TASKS_NO_RECYCLE=1 (the C library's malloc)
#   baseline   $ALLOC_BASELINE, when set
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
rm -rf "$out"
mkdir -p "$out/lib"

echo "== building libtasks (cargo build --release)" >&2
(cd "$root" && cargo build --release)
cp "$target/release/libtasks.so" "$out/lib/libtasks.so.0"
configs=(mimalloc system)
if [ -n "${ALLOC_BASELINE:-}" ]; then
  [ -f "$ALLOC_BASELINE" ] || { echo "allocator.sh: ALLOC_BASELINE=$ALLOC_BASELINE: no such file" >&2; exit 2; }
  mkdir -p "$out/baseline"
  cp "$ALLOC_BASELINE" "$out/baseline/libtasks.so.0"
  configs+=(baseline)
fi
gcc -O2 -std=c11 -Wall -Wextra -Werror -I "$root/include" "$root/benches/c/bench.c" \
  -o "$out/bench" -L "$target/release" -ltasks -lpthread
if [ "${ALLOC_TOKIO:-1}" != 0 ]; then
  CARGO_TARGET_DIR="$root/benches/tokio/target" \
    cargo build --release --manifest-path "$root/benches/tokio/Cargo.toml"
  tokio_bin=$root/benches/tokio/target/release/tokio-bench
  configs+=(tokio)
fi

run_config() { # config workers -> "<runtime> <workload> <value>" lines
  case $1 in
    mimalloc) env -u TASKS_NO_RECYCLE LD_LIBRARY_PATH="$out/lib" "$out/bench" "$2" "${workloads[@]}" ;;
    system) TASKS_NO_RECYCLE=1 LD_LIBRARY_PATH="$out/lib" "$out/bench" "$2" "${workloads[@]}" ;;
    baseline) env -u TASKS_NO_RECYCLE LD_LIBRARY_PATH="$out/baseline" "$out/bench" "$2" "${workloads[@]}" ;;
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
        else if (m) s = sprintf("%.1f (x%.2f)", md, med(b, m))
        else s = sprintf("%.1f", md)
        printf " | %-21s", s
      }
      printf "\n"
    }
  }' "$results" | sort
done

# Paired within each round: config / reference of the same round (baseline when there is one,
# else system), median over rounds; median iteration / fastest iteration.
ref=system
[ -n "${ALLOC_BASELINE:-}" ] && ref=baseline
echo
echo "paired: config / $ref in the same round, median over rounds (median iteration / fastest iteration)"
printf "%-17s %2s" workload W
for c in "${configs[@]}"; do [ "$c" = "$ref" ] || [ "$c" = tokio ] || printf " | %-13s" "$c"; done
printf "\n"
awk -v cfgs="${configs[*]}" -v ref="$ref" '
  { v5[$2, $3, $4, $1] = $5; v6[$2, $3, $4, $1] = $6; ws[$2] = 1; wl[$4] = 1; if ($1 > R) R = $1 }
  function med(a, n,    i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    nc = split(cfgs, c, " ")
    for (x in wl) for (w in ws) {
      printf "%-17s %2s", x, w
      for (k = 1; k <= nc; k++) {
        if (c[k] == ref || c[k] == "tokio") continue
        n = 0
        for (r = 1; r <= R; r++) if ((w, c[k], x, r) in v5 && (w, ref, x, r) in v5 && v5[w, ref, x, r] > 0) {
          n++; a[n] = v5[w, c[k], x, r] / v5[w, ref, x, r]; b[n] = v6[w, c[k], x, r] / v6[w, ref, x, r]
        }
        if (n == 0) printf " | %-13s", "-"
        else printf " | %-13s", sprintf("%.2f / %.2f", med(a, n), med(b, n))
      }
      printf "\n"
    }
  }' "$results" | sort
echo "(raw: $results: round workers config workload median-ns min-ns)"
