#!/usr/bin/env bash
# Verifying a 5M-row table: reshard verify against pt-table-checksum (Percona Toolkit, which
# checksums the source only) and against chunked server-side BIT_XOR(CRC32(...)) on both sides,
# on the same data in the same run; 1:1 and 1:2.
#
#   scripts/bench-verify.sh
#   ROWS=1000000 scripts/bench-verify.sh
#
# Restarts 3 local instances (2 GiB buffer pool each), makes `bench.orders` on instance 1 (kept
# between runs while it has ROWS rows), copies it with reshard copy to instance 2 (1:1) and to
# instances 2 and 3 sharded by id under hash (1:2), then times, one after the other:
#
#   reshard verify 1:1      --threads THREADS; own CPU seconds and peak RSS (GNU time)
#   reshard verify 1:2      the same against both shards
#   pt-table-checksum       the source only (it checks replicas by replication, not other
#                           servers): --recursion-method=none, default chunking (0.5 s chunks)
#   BIT_XOR(CRC32) chunks   50 primary-key chunks, each checksummed on the source and on the
#                           target (Spirit's query: COUNT(*) and BIT_XOR(CRC32(CONCAT_WS(...)))),
#                           2 chunks at a time
#
# and prints wall times, reshard's CPU per million rows and peak RSS, and the ratio of reshard's
# 1:1 wall time to pt-table-checksum's. Last, a table of 40 rows of 10 MB BLOBs is copied and
# verified, to show that peak RSS does not grow with the row size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ROWS=${ROWS:-5000000}
THREADS=${THREADS:-2}
local_instances
root=${RESHARD_DB_ROOT:-$PWD/.db}
s1=$base
s2=$((base + 1))
s3=$((base + 2))
src_sql() { sql_at "$s1" "$@"; }

ensure_build_tools
ensure_packages percona-toolkit time
echo "== restarting 3 instances" >&2
scripts/db.sh down >/dev/null 2>&1 || true
RESHARD_DB_INSTANCES=3 RESHARD_DB_BUFFER_POOL=2G RESHARD_DB_LOG_FILE=1G scripts/db.sh up
ensure_orders_table src_sql bench "$ROWS"
cargo build --release --quiet -p reshard-cli
reshard=target/release/reshard
src=$(dsn_at "$s1" bench)
one=$(dsn_at "$s2" bench_one)
half0=$(dsn_at "$s2" bench_half)
half1=$(dsn_at "$s3" bench_half)
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "== copying to the 1:1 and 1:2 targets" >&2
sql_at "$s2" -e "DROP DATABASE IF EXISTS bench_one; CREATE DATABASE bench_one; DROP DATABASE IF EXISTS bench_half; CREATE DATABASE bench_half"
sql_at "$s3" -e "DROP DATABASE IF EXISTS bench_half; CREATE DATABASE bench_half"
"$reshard" copy --source "$src" --target "$one" --tables orders --threads "$THREADS" --write-threads "$THREADS" >/dev/null 2>&1
"$reshard" copy --source "$src" --target "$half0" --target "$half1" --shard-by orders=id:hash --tables orders \
  --threads "$THREADS" --write-threads "$THREADS" >/dev/null 2>&1
src_sql -N -e "SELECT COUNT(*), SUM(LENGTH(note)) FROM bench.orders" >/dev/null # warm

# reshard verify with ARGS: "wall cpu_s rss_kb"; fails unless it exits 0.
run_verify() {
  local t0 t1 out
  t0=$(now)
  out=$(/usr/bin/time -f "cpu_s=%U+%S rss_kb=%M" "$reshard" verify --source "$src" --tables orders \
    --threads "$THREADS" "$@" 2>&1 >/dev/null | tail -1)
  t1=$(now)
  echo "$(elapsed "$t0" "$t1") $(sed -E 's/.*cpu_s=([0-9.]+)\+([0-9.]+).*/\1 \2/' <<<"$out" | awk '{ printf "%.2f", $1 + $2 }') \
$(sed -E 's/.*rss_kb=([0-9]+).*/\1/' <<<"$out")"
}

echo "== reshard verify 1:1" >&2
read -r w_one c_one r_one <<<"$(run_verify --target "$one")"
echo "== reshard verify 1:2" >&2
read -r w_half c_half r_half <<<"$(run_verify --target "$half0" --target "$half1" --shard-by orders=id:hash)"

echo "== pt-table-checksum of the source" >&2
src_sql -e "DROP DATABASE IF EXISTS percona"
t0=$(now)
PTDEBUG=0 pt-table-checksum "h=127.0.0.1,P=$s1,u=$user,p=$password" --databases bench --tables orders \
  --recursion-method=none --no-check-binlog-format --no-check-replication-filters \
  --replicate percona.checksums >/dev/null 2>&1 || true
w_pt=$(elapsed "$t0" "$(now)")
pt_chunks=$(src_sql -N -e "SELECT COUNT(*) FROM percona.checksums WHERE tbl = 'orders'" 2>/dev/null || echo 0)

echo "== BIT_XOR(CRC32) in 50 chunks on source and target" >&2
cols="id, customer_id, sku, status, qty, price, created_at, ISNULL(note), note, ISNULL(payload), payload, flag"
step=$(((ROWS + 49) / 50))
crc_chunk() { # port database chunk
  mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$1" -u"$user" -p"$password" -N -e \
    "SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS('#', $cols))) FROM \`$2\`.orders WHERE id > $3 * $step AND id <= ($3 + 1) * $step"
}
export -f crc_chunk
export user password step cols
t0=$(now)
seq 0 49 | xargs -P 2 -I{} bash -c "diff <(crc_chunk $s1 bench {}) <(crc_chunk $s2 bench_one {}) >/dev/null"
w_crc=$(elapsed "$t0" "$(now)")

echo "== 40 rows of 10 MB BLOBs: peak RSS of reshard verify" >&2
src_sql -e "DROP TABLE IF EXISTS bench.blobs; CREATE TABLE bench.blobs (id INT PRIMARY KEY, b LONGBLOB);
"
for i in $(seq 1 40); do
  src_sql -e "INSERT INTO bench.blobs VALUES ($i, REPEAT(CHAR(65 + $i % 26), 10 * 1024 * 1024))"
done
sql_at "$s2" -e "DROP TABLE IF EXISTS bench_one.blobs"
"$reshard" copy --source "$src" --target "$one" --tables blobs >/dev/null 2>&1
t0=$(now)
out=$(/usr/bin/time -f "rss_kb=%M" "$reshard" verify --source "$src" --target "$one" --tables blobs --threads "$THREADS" 2>&1 >/dev/null | tail -1)
w_blob=$(elapsed "$t0" "$(now)")
r_blob=$(sed -E 's/.*rss_kb=([0-9]+).*/\1/' <<<"$out")

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(mariadbd --version 2>/dev/null | awk '{ print $3 }' || echo mariadb)"
printf "%-52s %8s %10s\n" "verify of $ROWS rows" "wall s" "rows/s"
row() { awk -v n="$1" -v w="$2" -v r="$ROWS" 'BEGIN { printf "%-52s %8.2f %10.0f\n", n, w, r / w }'; }
row "reshard verify 1:1, $THREADS threads (names rows)" "$w_one"
row "reshard verify 1:2 (sources vs both shards, placement)" "$w_half"
row "pt-table-checksum, source only ($pt_chunks chunks)" "$w_pt"
row "BIT_XOR(CRC32) 50 chunks, source + target, 2 at a time" "$w_crc"
awk -v c="$c_one" -v r="$ROWS" -v k="$r_one" 'BEGIN { printf "reshard verify 1:1: %.2f CPU s per million rows, peak RSS %d MiB\n", c * 1e6 / r, k / 1024 }'
awk -v c="$c_half" -v r="$ROWS" -v k="$r_half" 'BEGIN { printf "reshard verify 1:2: %.2f CPU s per million rows, peak RSS %d MiB\n", c * 1e6 / r, k / 1024 }'
awk -v a="$w_one" -v b="$w_pt" 'BEGIN { printf "reshard verify 1:1 / pt-table-checksum wall time: %.2f\n", a / b }'
echo "40 x 10 MB BLOB rows: reshard verify ${w_blob} s, peak RSS $((r_blob / 1024)) MiB"
