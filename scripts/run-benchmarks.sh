#!/bin/sh
# Runs every benchmark binary of a build: scripts/run-benchmarks.sh BUILD_DIR
# model_bench synthesizes its models once under BUILD_DIR/bench-models.
set -eu
build=${1:-build}
status=0
for bin in "$build"/bench/*_bench; do
  [ -x "$bin" ] || continue
  echo "== $(basename "$bin")"
  case "$(basename "$bin")" in
    model_bench) "$bin" "$build/bench-models" || status=1 ;;
    engine_bench) "$bin" "$build/bench-models" || status=1 ;;
    *) "$bin" || status=1 ;;
  esac
done
exit $status
