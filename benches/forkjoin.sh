#!/usr/bin/env bash
# Fork-join and data-parallel benchmarks: libtasks (benches/c/forkjoin.c over tasks_join2 /
# tasks_scope_run / tasks_parallel_for, and benches/c/bench.c for spawn_many_remote) against
# Rayon (benches/rayon), oneTBB (benches/tbb) and OpenMP (benches/omp), with the same number of
# worker threads, and prints one table (see benches/README.md, "Fork-join and data parallelism").
# A report, not a test: it prints numbers and never fails on a timing.
#
# Usage: benches/forkjoin.sh [WORKERS] [WORKLOAD...]
#   WORKERS   threads for every runtime (default: nproc)
#   WORKLOAD  only these: fib_join2 fib_scope pfor_add pfor_small spawn_many_remote
# Env: FJ_ROUNDS=R  run every program R times, alternating programs (default 3); each cell of the
#                   table is the median of the R results (each itself a median iteration)
#      BENCH_ITERS / BENCH_TIME_MS / BENCH_FIB_N  passed on to every program (see README.md)
#      FJ_NO_INSTALL=1  never apt-get install libtbb-dev (else: installed when missing, as root)
#      FJ_TIMEOUT=S  seconds one program may take on one workload (default 600); past it the cell
#                    stays empty and the table's notes say so
#      CC (default gcc), CXX (default g++)
# What is not available is skipped with a line saying so: libtasks' side until libtasks.so
# exports tasks_join2; oneTBB when its headers are missing and cannot be installed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workers=${1:-$(nproc)}
[ $# -gt 0 ] && shift
case $workers in
  '' | *[!0-9]* | 0) echo "forkjoin.sh: WORKERS must be a positive integer, got '$workers'" >&2; exit 2 ;;
esac
all="fib_join2 fib_scope pfor_add pfor_small spawn_many_remote"
for w in "$@"; do
  case " $all " in *" $w "*) ;; *) echo "forkjoin.sh: unknown workload '$w' (known: $all)" >&2; exit 2 ;; esac
done
want=("$@")
[ ${#want[@]} -gt 0 ] || read -r -a want <<<"$all"
wants() { case " ${want[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
fj_want=()
for w in "${want[@]}"; do [ "$w" = spawn_many_remote ] || fj_want+=("$w"); done

rounds=${FJ_ROUNDS:-3}
case $rounds in '' | *[!0-9]* | 0) echo "forkjoin.sh: FJ_ROUNDS must be a positive integer" >&2; exit 2 ;; esac
cc=${CC:-gcc}
cxx=${CXX:-g++}
target=${CARGO_TARGET_DIR:-$root/target}
rel=$target/release
out=$target/bench/forkjoin
mkdir -p "$out"
rm -f "$out"/round-*.txt

skipped=()
programs=() # "name:command words" (a program's name is its runtime column)

# ---- libtasks ----------------------------------------------------------------------------------
echo "== building libtasks (cargo build --release)" >&2
(cd "$root" && cargo build --release)
[ -f "$rel/libtasks.so" ] || { echo "forkjoin.sh: $rel/libtasks.so was not built" >&2; exit 1; }
[ -e "$rel/libtasks.so.0" ] || ln -s libtasks.so "$rel/libtasks.so.0"
if [ ${#fj_want[@]} -gt 0 ]; then
  if nm -D --defined-only "$rel/libtasks.so" | awk '{ print $NF }' | grep -qx tasks_join2; then
    defs=()
    grep -q 'tasks_join2' "$root/include/tasks.h" && defs+=(-DTASKS_HAVE_FORKJOIN)
    echo "== building the libtasks fork-join bench" >&2
    "$cc" -O2 -std=c11 -Wall -Wextra -Werror "${defs[@]}" -I "$root/include" "$root/benches/c/forkjoin.c" \
      -o "$out/libtasks-forkjoin" -L "$rel" -Wl,-rpath,"$rel" -ltasks -lpthread
    programs+=("libtasks-fj:$out/libtasks-forkjoin")
  else
    skipped+=("libtasks fork-join workloads: skipped: libtasks has no fork-join API yet (libtasks.so does not export tasks_join2)")
  fi
fi
if wants spawn_many_remote; then
  echo "== building the libtasks scheduler bench (benches/c/bench.c)" >&2
  "$cc" -O2 -std=c11 -Wall -Wextra -Werror -I "$root/include" "$root/benches/c/bench.c" \
    -o "$out/libtasks-bench" -L "$rel" -Wl,-rpath,"$rel" -ltasks -lpthread
  programs+=("libtasks-sched:$out/libtasks-bench")
fi

# ---- Rayon -------------------------------------------------------------------------------------
if [ ${#fj_want[@]} -gt 0 ]; then
  echo "== building the rayon bench (release)" >&2
  if CARGO_TARGET_DIR="$root/benches/rayon/target" \
       cargo build --release --manifest-path "$root/benches/rayon/Cargo.toml"; then
    programs+=("rayon:$root/benches/rayon/target/release/rayon-bench")
  else
    skipped+=("rayon: skipped: cargo could not build benches/rayon")
  fi
fi

# ---- oneTBB ------------------------------------------------------------------------------------
have_tbb() { printf '#include <oneapi/tbb/task_group.h>\n' | "$cxx" -std=c++17 -E -x c++ - >/dev/null 2>&1; }
if ! have_tbb && [ -z "${FJ_NO_INSTALL:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing libtbb-dev (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq libtbb-dev >&2 || { apt-get update -qq >&2 && apt-get install -y -qq libtbb-dev >&2; } || true
fi
if have_tbb; then
  echo "== building the oneTBB bench" >&2
  "$cxx" -O2 -std=c++17 -Wall -Wextra -Werror "$root/benches/tbb/bench.cpp" -o "$out/tbb-bench" -ltbb
  programs+=("tbb:$out/tbb-bench")
else
  skipped+=("tbb: skipped: oneTBB headers not found (apt-get install libtbb-dev, as root; FJ_NO_INSTALL was ${FJ_NO_INSTALL:-unset})")
fi

# ---- OpenMP ------------------------------------------------------------------------------------
if [ ${#fj_want[@]} -gt 0 ]; then
  echo "== building the OpenMP bench" >&2
  if "$cc" -O2 -std=c11 -fopenmp -Wall -Wextra -Werror "$root/benches/omp/bench.c" -o "$out/omp-bench"; then
    programs+=("omp:$out/omp-bench")
  else
    skipped+=("omp: skipped: $cc -fopenmp failed")
  fi
fi

# ---- run ---------------------------------------------------------------------------------------
# One process per program and workload (so a program that hangs on one workload loses only that
# cell), programs alternating within each workload, rounds outermost.
timeout_s=${FJ_TIMEOUT:-600}
supports() { # program workload
  case $1 in
    libtasks-sched) [ "$2" = spawn_many_remote ] ;;
    tbb) return 0 ;;
    *) [ "$2" != spawn_many_remote ] ;;
  esac
}
for r in $(seq 1 "$rounds"); do
  for w in "${want[@]}"; do
    for p in "${programs[@]}"; do
      name=${p%%:*}
      bin=${p#*:}
      supports "$name" "$w" || continue
      echo "== round $r/$rounds: $name $w, $workers workers" >&2
      set +e
      timeout "$timeout_s" "$bin" "$workers" "$w" | tee -a "$out/round-$r-$name.txt"
      rc=${PIPESTATUS[0]}
      set -e
      if [ "$rc" = 124 ]; then
        skipped+=("$name $w: round $r timed out after ${timeout_s}s (FJ_TIMEOUT)")
      elif [ "$rc" != 0 ]; then
        skipped+=("$name $w: round $r failed (exit status $rc)")
      fi
    done
  done
done

echo
for s in "${skipped[@]+"${skipped[@]}"}"; do echo "$s"; done
echo "workers: $workers; median of $rounds rounds (each a median iteration); lower is better;"
echo "ratios: libtasks / peer (below 1: libtasks is faster); best = the fastest of rayon, tbb, omp"
cat "$out"/round-*.txt | awk -v order="${want[*]}" '
  BEGIN {
    unit["fib_join2"] = "ns/call"; unit["fib_scope"] = "ns/call"; unit["pfor_add"] = "ns/elem"
    unit["pfor_small"] = "us/loop"; unit["spawn_many_remote"] = "ns/task"
    nw = split(order, w, " "); nc = split("libtasks rayon tbb omp serial", col, " ")
  }
  NF == 3 { k = $1 SUBSEP $2; v[k, ++cnt[k]] = $3 }
  function median(k,    n, i, j, t, a) {
    n = cnt[k]; if (n == 0) return ""
    for (i = 1; i <= n; i++) a[i] = v[k, i]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
  END {
    printf "%-17s | %-7s | %8s | %8s | %8s | %8s | %8s | %8s | %8s | %8s | %8s\n", "workload", "unit", \
      "libtasks", "rayon", "tbb", "omp", "serial", "lt/best", "lt/rayon", "lt/tbb", "lt/omp"
    printf "%-17s-|-%-7s-|-%8s-|-%8s-|-%8s-|-%8s-|-%8s-|-%8s-|-%8s-|-%8s-|-%8s\n", "-----------------", \
      "-------", "--------", "--------", "--------", "--------", "--------", "--------", "--------", "--------", "--------"
    for (i = 1; i <= nw; i++) {
      for (c = 1; c <= nc; c++) m[col[c]] = median(col[c] SUBSEP w[i])
      best = ""
      split("rayon tbb omp", peers, " ")
      for (p = 1; p <= 3; p++) if (m[peers[p]] != "" && (best == "" || m[peers[p]] + 0 < best + 0)) best = m[peers[p]]
      printf "%-17s | %-7s", w[i], unit[w[i]]
      for (c = 1; c <= nc; c++) printf " | %8s", (m[col[c]] == "" ? "-" : m[col[c]])
      printf " | %8s | %8s | %8s | %8s\n", ratio(m["libtasks"], best), ratio(m["libtasks"], m["rayon"]), \
        ratio(m["libtasks"], m["tbb"]), ratio(m["libtasks"], m["omp"])
    }
  }'
echo "(per-round results: $out/round-*.txt)"
