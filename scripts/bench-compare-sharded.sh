#!/usr/bin/env bash
# Copying one 5M-row, ~1 GB table from one server to SHARDS servers: reshard copy (sharded by
# xxhash) against per-shard `mariadb-dump --where | mariadb` pipelines run in parallel, and against
# reshard's own 1:1 copy, on the same machine in the same run.
#
#   scripts/bench-compare-sharded.sh
#   ROWS=1000000 SHARDS=3 THREADS=2 scripts/bench-compare-sharded.sh   (SHARDS 2 or 3, THREADS 2)
#
# Restarts instances 1..SHARDS+1 with the settings of ../shared/reference/measured-limits.md
# (4 GiB buffer pool, 1 GiB redo log; binlog on, ROW, flush at commit 2, sync_binlog 0), keeps
# `bench.orders` on instance 1 (the table of scripts/bench-compare.sh), then runs one after the
# other, each into fresh `bench` databases on instances 2..SHARDS+1:
#
#   dump|load x N  one `mariadb-dump --single-transaction --where "id % N = k" | mariadb` per shard
#                  k, all at once: what an operator without a resharding tool would run
#                  (mydumper 0.10, the Debian 12 package, has no row filter, so it cannot split)
#   reshard 1:1    reshard copy into instance 2 alone: the single-target reference
#   reshard 1:N    reshard copy --shard-by orders=id:xxhash into the N targets (even ranges)
#
# and prints wall time, rows/s and the ratio to reshard 1:N's wall time, the servers' CPU during
# reshard 1:N (from /proc), and checks that the shards' row counts add up to the source's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ROWS=${ROWS:-5000000}
SHARDS=${SHARDS:-2}
THREADS=${THREADS:-2}
local_instances
root=${RESHARD_DB_ROOT:-$PWD/.db}
src_sql() { sql_at "$base" "$@"; }
dsn() { dsn_at "$1" bench; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
server_cpu() {
  local pid
  pid=$(cat "$root/instances/$1/mariadbd.pid")
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat"
}

ensure_build_tools
echo "== restarting instances 1..$((SHARDS + 1)) with the reference settings" >&2
scripts/db.sh down >/dev/null 2>&1 || true
RESHARD_DB_INSTANCES=$((SHARDS + 1)) RESHARD_DB_BUFFER_POOL=4G RESHARD_DB_LOG_FILE=1G scripts/db.sh up
ensure_orders_table src_sql bench "$ROWS"
cargo build --release --quiet -p reshard-cli
reshard=target/release/reshard
fresh_targets() { for ((k = 1; k <= SHARDS; k++)); do sql_at $((base + k)) -e "DROP DATABASE IF EXISTS bench; CREATE DATABASE bench"; done; }
shard_rows() { local sum=0 n; for ((k = 1; k <= SHARDS; k++)); do n=$(sql_at $((base + k)) -N -e "SELECT COUNT(*) FROM bench.orders"); sum=$((sum + n)); done; echo $sum; }
echo "== warming the source's buffer pool" >&2
src_sql -N -e "SELECT COUNT(*), SUM(LENGTH(note)) FROM bench.orders" >/dev/null

declare -A wall
echo "== $SHARDS x mariadb-dump --where | mariadb, in parallel" >&2
fresh_targets
t0=$(now)
for ((k = 0; k < SHARDS; k++)); do
  (mariadb-dump --no-defaults --protocol=tcp -h127.0.0.1 -P"$base" -u"$user" -p"$password" --single-transaction \
     --where "id % $SHARDS = $k" bench orders | sql_at $((base + k + 1)) bench) &
done
wait
wall[dump]=$(elapsed "$t0" "$(now)")
[ "$(shard_rows)" = "$ROWS" ] || echo "   (the dumps' shards do not add up to $ROWS rows)" >&2

echo "== reshard copy 1:1, $THREADS+$THREADS threads" >&2
fresh_targets
t0=$(now)
"$reshard" copy --source "$(dsn $base)" --target "$(dsn $((base + 1)))" --tables orders \
  --threads "$THREADS" --write-threads "$THREADS" >/dev/null 2>&1
wall[one]=$(elapsed "$t0" "$(now)")

echo "== reshard copy 1:$SHARDS, xxhash, $THREADS+$THREADS threads" >&2
fresh_targets
targets=()
declare -a before
for ((k = 0; k <= SHARDS; k++)); do before[k]=$(server_cpu $((k + 1))); done
for ((k = 1; k <= SHARDS; k++)); do targets+=(--target "$(dsn $((base + k)))"); done
t0=$(now)
summary=$("$reshard" copy --source "$(dsn $base)" "${targets[@]}" --tables orders --shard-by orders=id:xxhash \
  --threads "$THREADS" --write-threads "$THREADS" 2>/dev/null)
wall[sharded]=$(elapsed "$t0" "$(now)")
cpu=""
for ((k = 0; k <= SHARDS; k++)); do
  cpu+=" $(awk -v a="${before[k]}" -v b="$(server_cpu $((k + 1)))" 'BEGIN { printf "%.1f", b - a }')"
done
[ "$(shard_rows)" = "$ROWS" ] || echo "   (reshard's shards do not add up to $ROWS rows)" >&2

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "$summary"
printf "%-48s %8s %10s %16s\n" "copy of $ROWS rows to $SHARDS shards" "wall s" "rows/s" "x reshard 1:$SHARDS"
for tool in dump one sharded; do
  case $tool in
    dump) name="$SHARDS x mariadb-dump --where | mariadb, parallel" ;;
    one) name="reshard copy 1:1 (one target)" ;;
    sharded) name="reshard copy 1:$SHARDS, xxhash" ;;
  esac
  awk -v n="$name" -v w="${wall[$tool]}" -v r="$ROWS" -v base="${wall[sharded]}" \
    'BEGIN { printf "%-48s %8.2f %10.0f %16.2f\n", n, w, r / w, w / base }'
done
echo "servers' CPU s during reshard 1:$SHARDS (source, then targets):$cpu"
