#!/usr/bin/env bash
# Change application: reshard's applier against `mariadb-binlog | mariadb` replaying the same
# binlog range, on the same machine in the same run.
#
#   scripts/bench-apply.sh                 (CHANGES=1000000 row changes by default)
#   WORKLOAD=hot scripts/bench-apply.sh    (updates on a hot set of 20,000 rows instead)
#
# On the local instances (scripts/db.sh, as the tests run them): makes bench_apply.t (a typical
# row: BIGINT key, BIGINT with a secondary index, VARCHAR, DECIMAL, DATETIME(6)) with 3/5 ×
# CHANGES rows on instance 1 and copies it to instances 2 and 3 (reshard copy). Then, from a
# fresh binlog file on instance 1, runs the workload: CHANGES row changes in statements of 1000
# rows (each its own transaction), 40% updates, 40% inserts, 20% deletes, every change on a
# different key (so deduplication gains nothing: the worst case for reshard). WORKLOAD=hot sends
# the updates to the first 20,000 rows over and over instead (each updated about 20 times in
# 1M changes), as OLTP traffic does to its hot rows; inserts and deletes stay as they are. Then
# replays that binlog range:
#
#   mariadb-binlog  mariadb-binlog FILE --start-position --stop-position | mariadb, into instance 3
#   reshard         the applier (crates/engine/examples/apply_bench.rs: a move whose tables are
#                   already copied, from the start position until caught up), into instance 2
#
# and prints each one's wall time, changes/s and reshard's ratio; all three tables must end with
# the same contents (a checksum over every column of every row).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

CHANGES=${CHANGES:-1000000}
WORKLOAD=${WORKLOAD:-distinct}
HOT_ROWS=20000
base=${RESHARD_DB_PORT_BASE:-33061}
user=${RESHARD_DB_USER:-reshard}
password=${RESHARD_DB_PASSWORD:-reshard}
root=${RESHARD_DB_ROOT:-$PWD/.db}
db=bench_apply
sql() { local port=$1; shift; mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -u"$user" -p"$password" "$@"; }
dsn() { echo "mysql://$user:$password@127.0.0.1:$1/$db"; }
src=$base
mine=$((base + 1))
theirs=$((base + 2))
now() { date +%s.%N; }
# CPU seconds (user + system) instance $1's mariadbd has used so far (from /proc).
server_cpu() {
  local pid
  pid=$(cat "$root/instances/$1/mariadbd.pid")
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat"
}
cpu_used() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

ensure_build_tools
scripts/db.sh up >/dev/null
cargo build --release --quiet -p reshard-cli
cargo build --release --quiet -p reshard-engine --example apply_bench
reshard=target/release/reshard

rounds=$((CHANGES / 5000))
rows=$((rounds * 3000))
echo "== bench_apply.t with $rows rows on instance 1, copied to instances 2 and 3" >&2
for port in $src $mine $theirs; do sql "$port" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"; done
sql $src $db -e "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, k BIGINT NOT NULL, v VARCHAR(64) NOT NULL,
                                  n DECIMAL(12,2), ts DATETIME(6), KEY (k));
                 INSERT INTO t SELECT seq, seq * 7 % 100003, CONCAT('row ', seq), seq / 4, '2024-01-01' + INTERVAL seq SECOND
                 FROM seq_1_to_$rows"
$reshard copy --source "$(dsn $src)" --target "$(dsn $mine)" --tables t >/dev/null 2>&1
$reshard copy --source "$(dsn $src)" --target "$(dsn $theirs)" --tables t >/dev/null 2>&1

# The workload: in round r, updates of ids from 1 up, deletes of ids from 2/3 × rows up, inserts
# above rows: each key changed once.
workload=$(mktemp)
if [[ $WORKLOAD == hot ]]; then apply_workload "$rows" "$CHANGES" $HOT_ROWS; else apply_workload "$rows" "$CHANGES"; fi >"$workload"
sql $src -e "FLUSH BINARY LOGS"
read -r file start < <(sql $src -N -e "SHOW MASTER STATUS" | awk '{ print $1, $2 }')
echo "== workload ($WORKLOAD keys): $CHANGES row changes from $file:$start" >&2
sql $src $db <"$workload"
rm -f "$workload"
read -r end_file end < <(sql $src -N -e "SHOW MASTER STATUS" | awk '{ print $1, $2 }')
if [[ "$end_file" != "$file" ]]; then
  echo "bench-apply: the binlog rotated during the workload ($file -> $end_file); lower CHANGES" >&2
  exit 1
fi
echo "   binlog range: $((end - start)) bytes" >&2

echo "== mariadb-binlog | mariadb into instance 3" >&2
t0=$(now); c0=$(server_cpu 3); s0=$(server_cpu 1)
mariadb-binlog --no-defaults --start-position="$start" --stop-position="$end" "$root/instances/1/data/$file" |
  sql $theirs
t1=$(now); c1=$(server_cpu 3); s1=$(server_cpu 1)
theirs_s=$(elapsed "$t0" "$t1")
theirs_cpu="target $(cpu_used "$c0" "$c1") s, source $(cpu_used "$s0" "$s1") s" 

echo "== reshard's applier into instance 2" >&2
t0=$(now); c0=$(server_cpu 2); s0=$(server_cpu 1)
json=$(RUST_LOG=${RUST_LOG:-warn} target/release/examples/apply_bench "$(dsn $src)" "$(dsn $mine)" t "$file:$start")
t1=$(now); c1=$(server_cpu 2); s1=$(server_cpu 1)
mine_s=$(elapsed "$t0" "$t1")
mine_cpu="target $(cpu_used "$c0" "$c1") s, source $(cpu_used "$s0" "$s1") s" 

checksum() { sql "$1" $db -N -e "SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', id, k, v, IFNULL(n, 'N'), IFNULL(ts, 'N')))) FROM t"; }
want=$(checksum $src)
for port in $mine $theirs; do
  got=$(checksum "$port")
  if [[ "$got" != "$want" ]]; then
    echo "bench-apply: the table on port $port differs from the source's ($got, not $want)" >&2
    exit 1
  fi
done

rate() { awk -v n="$CHANGES" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
printf '%-16s %10s %14s   %s\n' "method" "seconds" "changes/s" "server CPU"
printf '%-16s %10s %14s   %s\n' "mariadb-binlog" "$theirs_s" "$(rate "$theirs_s")" "$theirs_cpu"
printf '%-16s %10s %14s   %s\n' "reshard" "$mine_s" "$(rate "$mine_s")" "$mine_cpu"
awk -v a="$theirs_s" -v b="$mine_s" 'BEGIN { printf "reshard is %.2fx the replay rate\n", a / b }'
echo "reshard: $json"
echo "tables identical: $want (rows, checksum)"
