#!/usr/bin/env bash
# Runs fuzz targets for SECONDS each (default 600), JOBS at a time (default 2), then
# minimises each target's corpus into fuzz/corpus/<target> and copies every crash, timeout
# or out-of-memory reproducer into fuzz/regressions/<target>. Logs: fuzz/logs/<target>.log.
# Usage: fuzz/run.sh [SECONDS] [JOBS] [TARGET...]   (needs a nightly toolchain and cargo-fuzz)
# The targets are built once, then run as binaries: editing the sources meanwhile does not
# rebuild them in the middle of a run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
JOBS=${2:-2}
shift $(( $# > 2 ? 2 : $# )) || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cargo +nightly fuzz list)
fi
mkdir -p fuzz/logs
cargo +nightly fuzz build -O >/dev/null
BIN_DIR=$PWD/fuzz/target/x86_64-unknown-linux-gnu/release
run() {
  local t=$1
  local work=fuzz/work/$t
  mkdir -p "$work" "fuzz/regressions/$t" "fuzz/artifacts/$t"
  cp -n fuzz/seeds/"$t"/* fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  # -timeout=1: an input that takes over a second is a hang; -rss_limit_mb: unbounded
  # allocation is a crash
  "$BIN_DIR/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$SECONDS_EACH" \
    -timeout=1 -rss_limit_mb=2048 -print_final_stats=1 "$work" >"fuzz/logs/$t.log" 2>&1 || true
  for f in fuzz/artifacts/"$t"/*; do
    [ -e "$f" ] && cp -n "$f" "fuzz/regressions/$t/"
  done
  # keep only what adds coverage
  local min=fuzz/work/$t.min
  rm -rf "$min" && mkdir -p "$min"
  "$BIN_DIR/$t" -merge=1 -set_cover_merge=1 "$min" "$work" >"fuzz/logs/$t.merge.log" 2>&1 || true
  rm -rf "fuzz/corpus/$t" && mkdir -p "fuzz/corpus/$t" && cp "$min"/* "fuzz/corpus/$t/"
  echo "$t: $(grep -E '^stat::number_of_executed_units' "fuzz/logs/$t.log" | tail -1),$(grep -E '^stat::average_exec_per_sec' "fuzz/logs/$t.log" | tail -1), $(grep -E 'DONE' "fuzz/logs/$t.log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+'), $(ls "fuzz/regressions/$t" | wc -l) reproducers, $(ls "fuzz/corpus/$t" | wc -l) inputs kept"
}
export -f run
export SECONDS_EACH BIN_DIR
printf '%s\n' "${TARGETS[@]}" | xargs -P "$JOBS" -I{} bash -c 'run {}'
