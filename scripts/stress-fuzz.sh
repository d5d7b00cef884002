#!/usr/bin/env bash
# Coverage-guided fuzzing of the C API (scripts/heavy.sh fuzz): cargo-fuzz / libFuzzer on nightly,
# target fuzz/fuzz_targets/api_ops.rs (the stress harness's operation language, one driver thread).
# env: FUZZ_SECS (default 300), FUZZ_JOBS (parallel fuzzing processes, default 2),
#      FUZZ_SKIP / FUZZ_ALLOW_DEFECTS (as STRESS_SKIP / STRESS_ALLOW_DEFECTS), FUZZ_HANG (watchdog s).
# libFuzzer runs in fork mode and keeps going after a crash or a timeout, so one run collects
# every finding: each is saved under fuzz/artifacts/api_ops/ (rerun one with
# `cargo +nightly fuzz run api_ops fuzz/artifacts/api_ops/<file>`). Prints executions and findings;
# exits non-zero if there was any finding.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz" || exit 1

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz || exit 1
fi
secs=${FUZZ_SECS:-300}
mkdir -p corpus/api_ops artifacts/api_ops
before=$(find artifacts/api_ops -type f | wc -l)
log=$(mktemp)
echo "fuzz: api_ops for $secs s"
CARGO_BUILD_JOBS=${JOBS:-2} cargo +nightly fuzz run api_ops corpus/api_ops -- \
  -max_total_time="$secs" -fork="${FUZZ_JOBS:-2}" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
  -timeout=30 -max_len=512 -len_control=0 -print_final_stats=1 2>&1 | tee "$log" | grep -E '^#|INFO: fuzzing|crash|timeout|deadly|violation' | tail -n 40
status=${PIPESTATUS[0]}
after=$(find artifacts/api_ops -type f | wc -l)
# Fork mode's status lines: "#N: cov: C ft: F corp: K exec/s: E oom/timeout/crash: O/T/C time: Ts job: J dft_time: D"
last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n1)
execs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$last")
crashes=$(sed -n 's|.*oom/timeout/crash: \([0-9/]*\).*|\1|p' <<<"$last")
echo "fuzz: ${execs:-?} executions, oom/timeout/crash ${crashes:-?}, $((after - before)) new finding(s) in fuzz/artifacts/api_ops/ (exit $status)"
# Findings by kind: each new artifact replayed once, its violations reduced to their shape
# (numbers dropped). `FUZZ_PRINT=1 <binary> <artifact>` shows one's operation sequence.
bin=target/$(rustc -vV | sed -n 's/^host: //p')/release/api_ops
if [[ $after -gt $before && -x $bin ]]; then
  echo "fuzz: findings by kind (count of inputs):"
  find artifacts/api_ops -type f -newer "$log" | while read -r f; do
    FUZZ_HANG=5 timeout 60 "$bin" "$f" 2>&1 | grep -E '^\[[0-9]+x\]|stress watchdog|panicked|ERROR: AddressSanitizer' |
      sed -E 's/0x[0-9a-f]+/X/g; s/[0-9]+/N/g' | sort -u
  done | sort | uniq -c | sort -rn | head -n 20
  echo "fuzz: e.g. $(find artifacts/api_ops -type f -newer "$log" | head -n 1)"
fi
rm -f "$log"
[[ $((after - before)) -eq 0 && $status -eq 0 ]]
