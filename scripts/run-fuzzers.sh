#!/usr/bin/env bash
# Runs every libFuzzer target BUILD_DIR/fuzz/fuzz_<name> for SECONDS on its corpus
# (BUILD_DIR/fuzz/corpus/<name>, seeded by BUILD_DIR/fuzz/seed_<name> when that exists, with
# fuzz/<name>.dict when that exists) and prints executions and findings per target.
# Findings (crash-*, leak-*, timeout-*, oom-*) land in BUILD_DIR/fuzz/findings/<name>/.
# Exits non-zero when any target found something or failed to run.
set -euo pipefail

usage="usage: scripts/run-fuzzers.sh BUILD_DIR SECONDS"
build=${1:?$usage}
seconds=${2:?$usage}
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz_dir="$build/fuzz"

shopt -s nullglob
targets=()
for bin in "$fuzz_dir"/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] && targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "run-fuzzers: no fuzz_* binaries in $fuzz_dir (configure with -DKILN_FUZZ=ON and clang++)" >&2
  exit 1
fi

status=0
summary=()
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  name=${name#fuzz_}
  corpus="$fuzz_dir/corpus/$name"
  findings="$fuzz_dir/findings/$name"
  log="$fuzz_dir/logs/$name.log"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  if [ -x "$fuzz_dir/seed_$name" ]; then
    "$fuzz_dir/seed_$name" "$corpus"
  fi
  extra=()
  if [ -f "$root/fuzz/$name.dict" ]; then
    extra+=("-dict=$root/fuzz/$name.dict")
  fi
  marker=$(mktemp)
  echo "run-fuzzers: fuzz_$name for ${seconds}s on $(ls "$corpus" | wc -l) inputs (log: $log)"
  set +e
  "$bin" "$corpus" "${extra[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$findings/" -timeout=10 -rss_limit_mb=2048 -max_len=65536 >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  new=()
  while IFS= read -r f; do new+=("$f"); done < <(find "$findings" -type f -newer "$marker")
  rm -f "$marker"
  line="fuzz_$name: ${execs:-?} executions in ${seconds}s (${rate:-?}/s), corpus $(ls "$corpus" | wc -l) inputs, findings: ${#new[@]}"
  summary+=("$line")
  echo "$line"
  if [ "$rc" -ne 0 ] || [ ${#new[@]} -gt 0 ]; then
    status=1
    echo "run-fuzzers: fuzz_$name exited with $rc; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    for f in "${new[@]}"; do echo "  finding: $f (reproduce: $bin $f)" >&2; done
  fi
done

echo "== fuzzing summary =="
printf '%s\n' "${summary[@]}"
exit $status
