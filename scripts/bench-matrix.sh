#!/usr/bin/env bash
# `reshard bench` for every profile and 1, 2 and 4 targets, on the local instances.
#
#   scripts/bench-matrix.sh                      (all profiles, 1 2 4 targets, default rows)
#   PROFILES="narrow wide" TARGETS="1 4" ROWS=500000 THREADS=2 WRITE_THREADS=2 scripts/bench-matrix.sh
#
# The source is database bench_src on instance 1; targets are database bench_dst on instances 2,
# 3 and 4, and (the fourth) database bench_dst4 on instance 1. Each profile's table is generated
# once and reused for every target count (--reuse); it is dropped at the end. Prints one markdown
# row per run (the table docs/benchmarks.md quotes) and keeps each run's JSON report in
# target/bench-matrix/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

PROFILES=${PROFILES:-narrow wide text blob}
TARGETS=${TARGETS:-1 2 4}
THREADS=${THREADS:-4}
WRITE_THREADS=${WRITE_THREADS:-4}
local_instances

ensure_build_tools
command -v jq >/dev/null || { echo "bench-matrix.sh: needs jq (apt-get install jq)" >&2; exit 1; }
scripts/db.sh up >/dev/null
cargo build --release --quiet -p reshard-cli
sql_at $base -e "CREATE DATABASE IF NOT EXISTS bench_src; CREATE DATABASE IF NOT EXISTS bench_dst4"
for i in 1 2 3; do sql_at $((base + i)) -e "CREATE DATABASE IF NOT EXISTS bench_dst"; done
target_args() {
  local n=$1 args=()
  for ((i = 1; i <= n && i <= 3; i++)); do args+=(--target "$(dsn_at $((base + i)) bench_dst)"); done
  if ((n >= 4)); then args+=(--target "$(dsn_at $base bench_dst4)"); fi
  echo "${args[@]}"
}
out=target/bench-matrix
mkdir -p "$out"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); threads $THREADS, write threads $WRITE_THREADS"
echo
echo "| profile | targets | rows | MB | wall s | rows/s | MB/s | limiting stage (share per thread) | reshard CPU s per M rows | reshard cores | servers' cores (source; targets) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for profile in $PROFILES; do
  rows_arg=()
  [[ -n "${ROWS:-}" ]] && rows_arg=(--rows "$ROWS")
  for n in $TARGETS; do
    # shellcheck disable=SC2046
    ./target/release/reshard bench --json --reuse --source "$(dsn_at $base bench_src)" $(target_args "$n") \
      --profile "$profile" "${rows_arg[@]}" --threads "$THREADS" --write-threads "$WRITE_THREADS" \
      >"$out/$profile-$n.json" 2>"$out/$profile-$n.log"
    jq -r '"| \(.profile) | \(.targets | length) | \(.rows) | \(.row_bytes_read / 1e6 | floor) | \(.wall_seconds * 100 | round / 100) | \(.rows_per_second | round) | \(.mb_per_second * 10 | round / 10) | \(.limiting_stage.stage) (\(.limiting_stage.share_of_wall * 100 | round)%) | \(.cpu.reshard_seconds_per_million_rows * 100 | round / 100) | \(.cpu.reshard_cores * 100 | round / 100) | \([.cpu.servers[] | (.cores // 0) * 100 | round / 100] | map(tostring) | join("; ")) |"' "$out/$profile-$n.json"
  done
  sql_at $base bench_src -e "DROP TABLE IF EXISTS reshard_bench_$profile"
done
