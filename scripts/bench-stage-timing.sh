#!/usr/bin/env bash
# What the per-stage timing costs: `reshard bench` with stage timing on and off, alternately, on
# the same table and servers.
#
#   scripts/bench-stage-timing.sh            (ROUNDS=5, PROFILE=narrow, ROWS=2000000, TARGETS=2)
#
# Source: database bench_src on instance 1; targets: bench_dst on instances 2 (and 3). Each round
# runs the copy twice, once timed and once with --no-stage-timing, in alternating order; prints
# each run's wall time, rows/s and reshard's CPU seconds per million rows (the client's own cost,
# which the servers' pace does not hide), then the medians per mode.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ROUNDS=${ROUNDS:-5}
PROFILE=${PROFILE:-narrow}
ROWS=${ROWS:-2000000}
TARGETS=${TARGETS:-2}
local_instances

ensure_build_tools
command -v jq >/dev/null || { echo "bench-stage-timing.sh: needs jq (apt-get install jq)" >&2; exit 1; }
scripts/db.sh up >/dev/null
cargo build --release --quiet -p reshard-cli
sql_at $base -e "CREATE DATABASE IF NOT EXISTS bench_src"
targets=()
for ((i = 1; i <= TARGETS; i++)); do
  sql_at $((base + i)) -e "CREATE DATABASE IF NOT EXISTS bench_dst"
  targets+=(--target "$(dsn_at $((base + i)) bench_dst)")
done
run() {
  ./target/release/reshard bench --json --reuse --source "$(dsn_at $base bench_src)" "${targets[@]}" \
    --profile "$PROFILE" --rows "$ROWS" "$@" 2>/dev/null |
    jq -r '"\(.settings.stage_timing) \(.wall_seconds) \(.rows_per_second | round) \(.cpu.reshard_seconds_per_million_rows)"'
}
results=$(mktemp)
run >/dev/null # generate the table, warm the buffer pools
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then run >>"$results"; run --no-stage-timing >>"$results"
  else run --no-stage-timing >>"$results"; run >>"$results"; fi
done
echo "timed wall_s rows/s cpu_s_per_M_rows"
cat "$results"
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for mode in true false; do
  echo "stage timing $mode: median rows/s $(awk -v m=$mode '$1 == m { print $3 }' "$results" | median)," \
    "median reshard CPU s per M rows $(awk -v m=$mode '$1 == m { print $4 }' "$results" | median)"
done
sql_at $base bench_src -e "DROP TABLE IF EXISTS reshard_bench_$PROFILE"
rm -f "$results"
